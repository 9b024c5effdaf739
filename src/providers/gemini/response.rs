//! `GenerateContentResponse` wire types (a whole body and each stream chunk share them),
//! usage and finish reasons, and [`decode_body`] for a whole answer.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

use super::stream::Translator;
use crate::messages::signature::Signer;
use crate::messages::{ApiError, ErrorKind, MessageAccumulator, MessageResponse, Usage};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GenerateResponse<'a> {
    #[serde(default, borrow)]
    pub(super) candidates: Option<Vec<Candidate<'a>>>,
    #[serde(default)]
    pub(super) usage_metadata: Option<UsageMetadata>,
    #[serde(default, borrow)]
    pub(super) prompt_feedback: Option<PromptFeedback<'a>>,
    #[serde(default, borrow)]
    pub(super) error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Candidate<'a> {
    #[serde(default, borrow)]
    pub(super) content: Option<CandidateContent<'a>>,
    #[serde(default, borrow)]
    pub(super) finish_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(super) finish_message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub(super) struct CandidateContent<'a> {
    #[serde(default, borrow)]
    pub(super) parts: Vec<PartIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PartIn<'a> {
    #[serde(default, borrow)]
    pub(super) text: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(super) thought: bool,
    #[serde(default, borrow)]
    pub(super) thought_signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(super) function_call: Option<FunctionCallIn<'a>>,
}

#[derive(Deserialize)]
pub(super) struct FunctionCallIn<'a> {
    #[serde(default, borrow)]
    pub(super) id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(super) name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(super) args: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PromptFeedback<'a> {
    #[serde(default, borrow)]
    pub(super) block_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub(super) struct UsageMetadata {
    #[serde(default)]
    pub(super) prompt_token_count: u64,
    #[serde(default)]
    pub(super) candidates_token_count: u64,
    #[serde(default)]
    pub(super) thoughts_token_count: u64,
    #[serde(default)]
    pub(super) cached_content_token_count: u64,
}

impl UsageMetadata {
    /// Anthropic counts: cached prompt tokens apart, thoughts counted as output.
    pub(super) fn to_anthropic(self) -> Usage {
        let cached = self.cached_content_token_count.min(self.prompt_token_count);
        Usage {
            cache_creation: None,
            input_tokens: self.prompt_token_count - cached,
            output_tokens: self.candidates_token_count + self.thoughts_token_count,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: cached,
        }
    }
}

/// Finish reasons of the safety family: the answer was blocked.
pub(super) fn is_blocked(reason: &str) -> bool {
    matches!(
        reason,
        "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "LANGUAGE"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
            | "IMAGE_RECITATION"
    )
}

/// Finish reasons that end a turn abnormally without a refusal: said in a note.
pub(super) fn is_abnormal(reason: &str) -> bool {
    matches!(
        reason,
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" | "OTHER"
    )
}

/// Decodes a whole `generateContent` body; `model` in the result is `requested_model`.
pub fn decode_body(
    body: &[u8],
    requested_model: &str,
    signer: Option<&Signer>,
) -> Result<MessageResponse, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| not_a_response(requested_model, body))?;
    if serde_json::from_str::<GenerateResponse<'_>>(text).is_err() {
        return Err(not_a_response(requested_model, body));
    }
    let mut translator = Translator::new(requested_model, signer.cloned());
    let mut events = Vec::new();
    translator.data(text, false, &mut events);
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
            "{model}: Gemini answered with a body that is not a GenerateContentResponse: {}",
            crate::providers::body_excerpt(body)
        ),
    )
}
