//! `POST /v1/messages/count_tokens`: exact where the upstream counts, estimated elsewhere.
//!
//! Anthropic-format upstreams (Anthropic, Claude on Foundry) count exactly, and so do Claude
//! on Vertex (`count-tokens:rawPredict`) and on Bedrock (CountTokens). For OpenAI and
//! OpenAI-compatible targets the request is encoded as it would be sent, and the Chat
//! Completions body is counted by [`crate::tokens::chat_request`]: OpenAI's framing, tools
//! as the TypeScript namespace OpenAI models see, text by an estimate of o200k_base that
//! stays within a few percent of the real tokenizer (the module comment there says how, and
//! what it means for open-weight models, whose tokenizers differ). When an Anthropic
//! upstream cannot answer, the Anthropic request is estimated with the same text estimate;
//! Claude's tokenizer is not public, so that fallback is rougher.
//! Claude Code uses the count to decide when to compact, so once a request is routed it is
//! never refused: if nothing can count, the estimate answers.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use std::sync::Arc;

use super::Gateway;

use super::body::GatewayBody;
use super::messages::Routed;
use super::router::json;
use crate::messages::request::{Block, Content, ToolResultContent};
use crate::messages::{ApiError, MessagesRequest};
use crate::providers::Target;
use crate::providers::{self, Wire, anthropic, openai};
use crate::tokens::{self, ToolStyle, estimate_milli};

/// Tokens per image or document when its size is unknown (Anthropic's figure for an image
/// of about 1.15 megapixels).
const IMAGE_TOKENS: u64 = 1_600;
/// Framing of each Anthropic message, and of each tool definition.
const PER_MESSAGE: u64 = 4;
const PER_TOOL: u64 = 8;
/// The largest count answer read. It is one number (`{"input_tokens":N}`); a body much
/// bigger is no count, and is not read to its end: bgw estimates instead.
const MAX_COUNT_BODY: usize = 64 * 1024;

/// Handles one count request.
pub async fn handle<B: super::messages::InBody>(
    gateway: &Arc<Gateway>,
    req: Request<B>,
) -> Result<Response<GatewayBody>, ApiError> {
    let config = gateway.config().await;
    let routed = Routed::read(gateway, &config, req, None).await?;
    let target = routed.target();
    let wire = Wire::for_target(target, providers::Options::default());
    if matches!(wire, Wire::AnthropicVertex | Wire::AnthropicBedrock) {
        if let Some(exact) = ask_cloud(gateway, &routed, wire).await {
            return Ok(json(StatusCode::OK, exact));
        }
    }
    // Anthropic's own count endpoint.
    let anthropic_wire = wire == Wire::Anthropic;
    let own_login = target.provider.is_anthropic() && routed.who.client_auth.is_some();
    if anthropic_wire && (target.secret().is_some() || own_login) {
        if let Ok(prepared) = routed.prepare() {
            if let Some(exact) = ask_upstream(gateway, prepared).await {
                return Ok(json(StatusCode::OK, exact));
            }
        }
    }
    let body = &routed.body;
    let req = MessagesRequest::parse(body)?;
    // Claude on a cloud is estimated as Claude, not as a Chat Completions body.
    let chat = (!wire.is_anthropic()).then(|| estimate_chat(&req, target));
    let n = chat.flatten().unwrap_or_else(|| estimate(&req));
    Ok(json(StatusCode::OK, format!("{{\"input_tokens\":{n}}}")))
}

/// The estimate for the Chat Completions body bgw would send to `target`; `None` when the
/// request cannot be encoded for it (the request itself will say why).
pub fn estimate_chat(req: &MessagesRequest<'_>, target: &Target) -> Option<u64> {
    let model = target.upstream_model.as_str();
    let body = openai::encode_request(req, model, &target.quirks, false).ok()?;
    tokens::chat_request(&body, ToolStyle::for_model(target.kind, model)).ok()
}

/// Claude's exact count from a cloud: Vertex's `count-tokens:rawPredict` or Bedrock's
/// CountTokens, signed in as the request would be; `None` when it gives none.
async fn ask_cloud(gateway: &Gateway, routed: &Routed, wire: Wire) -> Option<Bytes> {
    let target = routed.target();
    let model = target.upstream_model.as_str();
    let (uri, body) = if wire == Wire::AnthropicVertex {
        let uri = providers::vertex::count_url(&target.base_url, &target.place).ok()?;
        let id = providers::vertex::claude_id(model);
        (uri, anthropic::vertex_count_body(&routed.body, &id).ok()?)
    } else {
        let region = target.place.region.as_deref()?;
        let uri = providers::bedrock::count_url(&target.base_url, model, region);
        let betas = routed
            .parts
            .headers
            .get_all("anthropic-beta")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim);
        let betas = providers::bedrock::betas(betas)
            .into_iter()
            .map(str::to_owned)
            .collect();
        (
            uri,
            anthropic::bedrock_count_body(&routed.body, betas).ok()?,
        )
    };
    let head = crate::messages::request::RequestHead::parse(&routed.body).ok()?;
    let inbound = providers::Inbound {
        body: &routed.body,
        head: &head,
        headers: &routed.parts.headers,
        query: None,
        client_auth: None,
        thinking: &routed.thinking,
    };
    let mut prepared = providers::Prepared {
        wire,
        stream: Some(false),
        uri,
        headers: vec![(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        )],
        body,
    };
    providers::endpoint::key_headers(target, wire, &inbound, &mut prepared.headers).ok()?;
    providers::endpoint::authorize(&mut prepared, target, &gateway.cloud_auth)
        .await
        .ok()?;
    ask(gateway, prepared.uri, prepared.headers, prepared.body).await
}

/// The upstream's exact count; `None` when it gives none (unreachable, an error status,
/// silent past the upstream timeout, or a body that is no count or over [`MAX_COUNT_BODY`]).
async fn ask_upstream(gateway: &Gateway, prepared: providers::Prepared) -> Option<Bytes> {
    let uri = prepared
        .uri
        .replacen("/v1/messages", "/v1/messages/count_tokens", 1);
    ask(gateway, uri, prepared.headers, prepared.body).await
}

/// Posts a count request; the count in Anthropic's shape (Bedrock answers `inputTokens`).
async fn ask(
    gateway: &Gateway,
    uri: String,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    body: Vec<u8>,
) -> Option<Bytes> {
    let mut builder = Request::post(uri);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let req = builder.body(Full::new(Bytes::from(body))).ok()?;
    let resp = tokio::time::timeout(
        gateway.settings.upstream_timeout,
        gateway.client.request(req),
    )
    .await
    .ok()?
    .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let bytes = tokio::time::timeout(
        gateway.settings.upstream_timeout,
        Limited::new(resp.into_body(), MAX_COUNT_BODY).collect(),
    )
    .await
    .ok()?
    .ok()?
    .to_bytes();
    #[derive(serde::Deserialize)]
    struct Count {
        #[serde(alias = "inputTokens")]
        input_tokens: u64,
    }
    let count: Count = serde_json::from_slice(&bytes).ok()?;
    Some(Bytes::from(format!(
        "{{\"input_tokens\":{}}}",
        count.input_tokens
    )))
}

/// The estimate of an Anthropic request: its text (system, messages, tool inputs and
/// results, tool names, descriptions and schemas) by [`tokens::estimate_text`], 4 tokens per message
/// and 8 per tool of framing, [`IMAGE_TOKENS`] per image or document.
pub fn estimate(req: &MessagesRequest<'_>) -> u64 {
    // Thousandths of a token, rounded once at the end.
    let mut n = 0u64;
    if let Some(system) = &req.system {
        content_tokens(system, &mut n);
    }
    for m in &req.messages {
        n += PER_MESSAGE * 1000;
        content_tokens(&m.content, &mut n);
    }
    for t in req.tools.iter().flatten() {
        n += PER_TOOL * 1000 + estimate_milli(&t.name);
        n += t.description.map_or(0, |d| estimate_milli(&d.text()));
        n += t.input_schema.map_or(0, |s| estimate_milli(s.get()));
    }
    (n + 500) / 1000
}

fn content_tokens(content: &Content<'_>, n: &mut u64) {
    match content {
        Content::Text(t) => *n += estimate_milli(t),
        Content::Blocks(blocks) => blocks_tokens(blocks, n),
    }
}

fn blocks_tokens(blocks: &[Block<'_>], n: &mut u64) {
    for b in blocks {
        *n += match b {
            Block::Text { text } => estimate_milli(text),
            Block::Image { .. } | Block::Document { .. } => IMAGE_TOKENS * 1000,
            Block::ToolUse { name, input, .. } => {
                estimate_milli(name) + estimate_milli(input.get())
            }
            Block::ToolResult { content, .. } => match content {
                ToolResultContent::Empty => 0,
                ToolResultContent::Text(t) => estimate_milli(t),
                ToolResultContent::Blocks(inner) => {
                    blocks_tokens(inner, n);
                    0
                }
            },
            Block::Thinking { thinking, .. } => estimate_milli(thinking),
            Block::RedactedThinking { .. } | Block::Other { .. } => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_counts_text_messages_and_tools() {
        let body = br#"{"model":"claude-sonnet-4-5","system":"You are terse.","messages":[{"role":"user","content":"Hello there"}],
            "tools":[{"name":"T","description":"d","input_schema":{"type":"object"}}]}"#;
        let req = MessagesRequest::parse(body).unwrap();
        // Text: about 4 + 2 + (1 + 1 + 6) tokens; framing: 4 for the message, 8 for the tool.
        assert_eq!(estimate(&req), 26);
    }
}
