//! What a target can read: images and PDFs go only to models that take them.
//!
//! A request carrying an image for a model the catalog marks as text-only, or a PDF for an
//! upstream that cannot read PDFs, is refused before it is sent, with an error that names the
//! model and what to do, rather than an upstream error or a silent drop. Models the catalog
//! does not know are given the benefit of the doubt: their upstream decides.

use crate::catalog;
use crate::messages::request::{Block, Content, MessagesRequest, Source, ToolResultContent};
use crate::messages::{ApiError, ErrorKind};

use super::openai::Quirks;

/// What the request carries that not every model reads.
#[derive(Debug, Default, PartialEq, Eq)]
struct Carried {
    images: bool,
    pdfs: bool,
    pdf_urls: bool,
}

/// Refuses a request the target `provider/model` (speaking Chat Completions with `quirks`)
/// cannot read.
pub fn check(
    req: &MessagesRequest<'_>,
    provider: &str,
    model: &str,
    quirks: &Quirks,
) -> Result<(), ApiError> {
    check_with(req, provider, model, quirks, false)
}

/// As [`check`], for an upstream that may also take PDFs by URL (OpenAI's Responses API).
pub fn check_with(
    req: &MessagesRequest<'_>,
    provider: &str,
    model: &str,
    quirks: &Quirks,
    pdf_urls: bool,
) -> Result<(), ApiError> {
    let mut carried = carried(req);
    if pdf_urls {
        carried.pdfs |= carried.pdf_urls;
        carried.pdf_urls = false;
    }
    if carried == Carried::default() {
        return Ok(());
    }
    let vision = catalog::lookup(provider, model).map(|m| m.vision);
    let refuse = |what: &str, fix: &str| {
        Err(ApiError::new(
            ErrorKind::InvalidRequest,
            format!("`{provider}/{model}` cannot read {what}; {fix}"),
        ))
    };
    let switch = "switch with /model to a model that can (for example openai/gpt-4o or a Claude model), or remove it from the conversation";
    if carried.images && vision == Some(false) {
        return refuse("images", switch);
    }
    if carried.pdfs && (!quirks.pdf || vision == Some(false)) {
        return refuse("PDF documents", switch);
    }
    if carried.pdf_urls {
        return refuse(
            "PDFs given by URL (Chat Completions takes PDFs only as base64 data)",
            "attach the file itself, or switch with /model to a Claude model",
        );
    }
    Ok(())
}

fn carried(req: &MessagesRequest<'_>) -> Carried {
    let mut c = Carried::default();
    for m in &req.messages {
        if let Content::Blocks(blocks) = &m.content {
            for b in blocks {
                note(b, &mut c);
            }
        }
    }
    c
}

fn note(block: &Block<'_>, c: &mut Carried) {
    match block {
        Block::Image { .. } => c.images = true,
        Block::Document { source, .. } => match source {
            Source::Base64 { media_type, .. } if media_type == "application/pdf" => c.pdfs = true,
            Source::Url { .. } => c.pdf_urls = true,
            _ => {}
        },
        Block::ToolResult {
            content: ToolResultContent::Blocks(inner),
            ..
        } => {
            for b in inner {
                note(b, c);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(content: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "model": "x", "max_tokens": 10,
            "messages": [{"role": "user", "content": content}]
        }))
        .unwrap()
    }

    fn checked(body: &[u8], provider: &str, model: &str, quirks: &Quirks) -> Result<(), String> {
        let req = MessagesRequest::parse(body).unwrap();
        check(&req, provider, model, quirks).map_err(|e| {
            assert_eq!((e.status, e.kind), (400, ErrorKind::InvalidRequest));
            e.message
        })
    }

    fn image() -> serde_json::Value {
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}})
    }

    fn pdf() -> serde_json::Value {
        json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}})
    }

    #[test]
    fn an_image_for_a_text_only_model_is_refused_naming_it() {
        let body = request(json!([image(), {"type": "text", "text": "what is this?"}]));
        let err = checked(&body, "groq", "llama-3.3-70b-versatile", &Quirks::GENERIC).unwrap_err();
        assert!(
            err.starts_with(
                "`groq/llama-3.3-70b-versatile` cannot read images; switch with /model"
            ),
            "{err}"
        );
    }

    #[test]
    fn images_for_vision_models_and_unknown_models_pass() {
        let body = request(json!([image()]));
        assert_eq!(checked(&body, "openai", "gpt-4o", &Quirks::OPENAI), Ok(()));
        assert_eq!(
            checked(&body, "myvllm", "qwen-vl", &Quirks::GENERIC),
            Ok(())
        );
    }

    #[test]
    fn an_image_inside_a_tool_result_counts() {
        let body =
            request(json!([{"type": "tool_result", "tool_use_id": "t1", "content": [image()]}]));
        assert!(checked(&body, "groq", "llama-3.3-70b-versatile", &Quirks::GENERIC).is_err());
    }

    #[test]
    fn pdfs_go_only_to_upstreams_that_read_them() {
        let body = request(json!([pdf(), {"type": "text", "text": "summarize"}]));
        assert_eq!(checked(&body, "openai", "gpt-4o", &Quirks::OPENAI), Ok(()));
        let err = checked(&body, "myvllm", "qwen", &Quirks::GENERIC).unwrap_err();
        assert!(
            err.starts_with("`myvllm/qwen` cannot read PDF documents"),
            "{err}"
        );
    }

    #[test]
    fn a_pdf_by_url_cannot_go_to_chat_completions() {
        let body = request(
            json!([{"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}]),
        );
        let err = checked(&body, "openai", "gpt-4o", &Quirks::OPENAI).unwrap_err();
        assert!(err.contains("PDFs given by URL"), "{err}");
    }

    #[test]
    fn plain_text_is_never_checked() {
        let body = request(json!("hello"));
        assert_eq!(
            checked(&body, "groq", "llama-3.3-70b-versatile", &Quirks::GENERIC),
            Ok(())
        );
    }
}
