//! A whole Converse response (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax)
//! → an Anthropic message, through the same [`Translator`] a stream goes through, so both
//! answer alike.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

use super::stream::{Piece, TokenUsage, Translator};
use crate::messages::signature::Signer;
use crate::messages::{ApiError, ErrorKind, MessageAccumulator, MessageResponse};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseResponse<'a> {
    #[serde(default, borrow)]
    output: Option<OutputIn<'a>>,
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<TokenUsage>,
    #[serde(default, borrow)]
    additional_model_response_fields: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct OutputIn<'a> {
    #[serde(default, borrow)]
    message: Option<MessageIn<'a>>,
}

#[derive(Deserialize)]
struct MessageIn<'a> {
    #[serde(default, borrow)]
    content: Vec<ContentIn<'a>>,
}

/// A `ContentBlock` of the answer; the kinds bgw does not show are skipped.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentIn<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_use: Option<ToolUseIn<'a>>,
    #[serde(default, borrow)]
    reasoning_content: Option<ReasoningIn<'a>>,
    #[serde(default, borrow)]
    citations_content: Option<CitationsIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseIn<'a> {
    #[serde(default, borrow)]
    tool_use_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningIn<'a> {
    #[serde(default, borrow)]
    reasoning_text: Option<ReasoningTextIn<'a>>,
    #[serde(default, borrow)]
    redacted_content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ReasoningTextIn<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    signature: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct CitationsIn<'a> {
    #[serde(default, borrow)]
    content: Vec<CitedIn<'a>>,
}

#[derive(Deserialize)]
struct CitedIn<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

/// Decodes a whole Converse body; `model` in the result is `requested_model`, thinking blocks
/// are signed by `signer`.
pub fn decode_body(
    body: &[u8],
    requested_model: &str,
    signer: Option<&Signer>,
) -> Result<MessageResponse, ApiError> {
    let response = serde_json::from_slice::<ConverseResponse<'_>>(body)
        .ok()
        .filter(|r| r.output.is_some() || r.stop_reason.is_some())
        .ok_or_else(|| not_a_response(requested_model, body))?;
    let mut translator = Translator::new(requested_model, signer.cloned());
    let mut events = Vec::new();
    translator.start(&mut events);
    let content = response
        .output
        .and_then(|o| o.message)
        .map(|m| m.content)
        .unwrap_or_default();
    for (i, block) in content.iter().enumerate() {
        let c = i as u64;
        if let Some(text) = &block.text {
            translator.piece(c, Piece::Text(text), &mut events);
        }
        if let Some(call) = &block.tool_use {
            let name = call.name.as_deref().unwrap_or("");
            translator.tool_start(c, call.tool_use_id.as_deref(), name, &mut events);
            let input = call.input.map_or("{}", RawValue::get);
            translator.piece(c, Piece::ToolInput(input), &mut events);
        }
        if let Some(reasoning) = &block.reasoning_content {
            if let Some(r) = &reasoning.reasoning_text {
                let text = r.text.as_deref().unwrap_or("");
                translator.piece(c, Piece::Reasoning(text), &mut events);
                if let Some(signature) = &r.signature {
                    translator.piece(c, Piece::Signature(signature), &mut events);
                }
            }
            if let Some(data) = &reasoning.redacted_content {
                translator.piece(c, Piece::Redacted(data), &mut events);
            }
        }
        for cited in block.citations_content.iter().flat_map(|c| &c.content) {
            if let Some(text) = &cited.text {
                translator.piece(c, Piece::Text(text), &mut events);
            }
        }
        translator.block_stop(c, &mut events);
    }
    let reason = response.stop_reason.as_deref().unwrap_or("end_turn");
    translator.message_stop(
        reason,
        response.additional_model_response_fields,
        &mut events,
    );
    translator.metadata(&response.usage.unwrap_or_default(), &mut events);
    translator.end(&mut events);
    let mut acc = MessageAccumulator::new();
    for e in &events {
        acc.push(e);
    }
    acc.finish()
}

fn not_a_response(model: &str, body: &[u8]) -> ApiError {
    ApiError::new(
        ErrorKind::Api,
        format!(
            "{model}: Bedrock answered with a body that is not a Converse response: {}",
            crate::providers::body_excerpt(body)
        ),
    )
}
