//! Amazon Bedrock's Converse API (`/model/{id}/converse` and `/converse-stream`), both ways.
//!
//! One job per file:
//! - `request`: [`encode_request`], a parsed Anthropic request → a Converse body;
//! - `response`: [`decode_body`], a whole Converse response → an Anthropic message;
//! - `stream`: [`Translator`], ConverseStream's events (already unframed from AWS's
//!   event stream) → Anthropic stream events, one event at a time, free of I/O;
//! - `error`: [`upstream_error`], Bedrock's `{"message"}` errors and stream exceptions →
//!   Anthropic errors;
//! - here: what both directions share (the model family, tool ids, carried reasoning).
//!
//! # Reasoning and its signatures
//!
//! Claude on Bedrock streams its reasoning as `reasoningContent` with a signature, or as
//! `redactedContent` (encrypted bytes); in a tool loop it wants both back, unchanged. Each
//! becomes an Anthropic thinking block signed by bgw ([`crate::messages::signature`]) whose
//! signature carries Bedrock's own signature (`s:…`) or the redacted bytes (`r:…`, base64 as
//! Bedrock sent them); a redacted block shows as thinking with no text. On replay a thinking
//! block goes back only when this very provider and model signed it, as the `reasoningContent`
//! it came from. Any other thinking (Anthropic's own, another model's, unsigned) is dropped: its
//! signature would not verify here. With thinking on, Claude insists that the assistant turn of
//! an ongoing tool loop start with its reasoning; when that reasoning was dropped the request
//! goes without thinking rather than be refused.
//!
//! # Usage
//!
//! Converse's `inputTokens` counts only the prompt tokens neither read from nor written to the
//! cache (`cacheReadInputTokens`, `cacheWriteInputTokens` are apart, and `totalTokens` is the
//! sum of all four counts), which is how Anthropic counts `input_tokens`: the numbers map one to
//! one. The API reference does not spell this out; AWS's invocation logs and the usage other
//! Converse clients report show it.

mod error;
mod request;
mod response;
mod stream;

use ring::digest;
use std::borrow::Cow;

use crate::messages::event::new_tool_id;
use crate::messages::tool_id;

pub use error::upstream_error;
pub use request::{encode_request, encode_request_with};
pub use response::decode_body;
pub use stream::Translator;

/// At most this many content blocks in one answer (a stream that opens more is broken).
/// Converse's longest tool id.
const MAX_TOOL_ID: usize = 64;
/// Prefix of a tool id made by hashing one Converse would refuse.
const HASHED_ID: &str = "bgwh_";

/// What a Bedrock model takes beyond the common Converse fields, from its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Family {
    /// An Anthropic Claude model: `additionalModelRequestFields` speak Anthropic's fields.
    anthropic: bool,
    /// `cachePoint` blocks accepted (Claude 3.5 Haiku, 3.7 Sonnet and later; Nova).
    caching: bool,
    /// `cachePoint.ttl` of one hour (Claude 4.5 and later).
    long_cache: bool,
    /// Extended thinking (Claude 3.7 and later).
    thinking: bool,
    /// Adaptive thinking (Claude 4.6 and later, where a fixed budget is deprecated or refused).
    adaptive: bool,
    /// `toolResult.status`, `image` and `document` inside tool results (Claude and Nova only).
    rich_tool_results: bool,
}

impl Family {
    /// The family of a model id, an inference profile id (`us.anthropic.…`) or an ARN ending in
    /// either. Opaque ids (application inference profiles) get the common Converse fields only.
    fn of(model: &str) -> Family {
        let id = model.to_ascii_lowercase();
        let id = id.rsplit('/').next().unwrap_or(&id);
        let nova = id.contains("amazon.nova");
        let Some((_, rest)) = id.split_once("anthropic.claude") else {
            return Family {
                caching: nova,
                rich_tool_results: nova,
                ..Family::default()
            };
        };
        let rest = rest.trim_start_matches('-');
        let version = claude_version(rest);
        Family {
            anthropic: true,
            caching: version >= (3, 7) || (version == (3, 5) && rest.contains("haiku")),
            long_cache: version >= (4, 5),
            thinking: version >= (3, 7),
            adaptive: version >= (4, 6),
            rich_tool_results: true,
        }
    }
}

/// Claude's version from the id after `anthropic.claude-`: `3-7-sonnet-…` and `sonnet-4-5-…`
/// alike. An id without one (`mythos-preview`) is a newer naming: the newest features.
fn claude_version(rest: &str) -> (u32, u32) {
    if rest.starts_with('v') || rest.starts_with("instant") {
        return (2, 0);
    }
    let small = |t: &str| t.parse::<u32>().ok().filter(|n| *n < 100);
    let tokens: Vec<&str> = rest.split('-').collect();
    match tokens.iter().position(|t| small(t).is_some()) {
        Some(i) => (
            small(tokens[i]).unwrap_or(0),
            tokens.get(i + 1).and_then(|t| small(t)).unwrap_or(0),
        ),
        None => (u32::MAX, 0),
    }
}

/// Whether Converse accepts `id` as a `toolUseId`: `[a-zA-Z0-9_.:-]{1,64}`.
fn is_converse_tool_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_TOOL_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// The `toolUseId` for a `tool_use` id of the history: the id Bedrock gave when bgw escaped it
/// for Anthropic, the id itself when Converse takes it, else a hash of it (the same for a call
/// and its result, so they still pair).
fn converse_tool_id(id: &str) -> Cow<'_, str> {
    let original = tool_id::original(id);
    if is_converse_tool_id(&original) {
        return original;
    }
    if is_converse_tool_id(id) {
        return Cow::Borrowed(id);
    }
    let hash = digest::digest(&digest::SHA256, id.as_bytes());
    let mut out = String::with_capacity(HASHED_ID.len() + 32);
    out.push_str(HASHED_ID);
    for b in &hash.as_ref()[..16] {
        out.push_str(&format!("{b:02x}"));
    }
    Cow::Owned(out)
}

/// The `tool_use` id for a Bedrock call: its id as Anthropic accepts it, or a fresh one.
fn anthropic_tool_id(id: Option<&str>) -> String {
    match id.filter(|i| !i.is_empty()) {
        Some(id) => tool_id::for_anthropic(id).into_owned(),
        None => new_tool_id(),
    }
}

/// What a bgw thinking block carries back to Bedrock.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Carried {
    /// Bedrock's signature over the reasoning text.
    Signature(String),
    /// Redacted reasoning, base64 as Bedrock sent it.
    Redacted(String),
}

impl Carried {
    /// The bytes a signature carries for this.
    fn to_bytes(&self) -> Vec<u8> {
        let (tag, value) = match self {
            Carried::Signature(s) => ("s:", s),
            Carried::Redacted(r) => ("r:", r),
        };
        let mut out = Vec::with_capacity(tag.len() + value.len());
        out.extend_from_slice(tag.as_bytes());
        out.extend_from_slice(value.as_bytes());
        out
    }

    /// What `bytes` (from [`Carried::to_bytes`]) stand for; `None` for anything else.
    fn from_bytes(bytes: &[u8]) -> Option<Carried> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (tag, value) = text.split_once(':')?;
        if value.is_empty() {
            return None;
        }
        match tag {
            "s" => Some(Carried::Signature(value.to_owned())),
            "r" => Some(Carried::Redacted(value.to_owned())),
            _ => None,
        }
    }
}

use crate::providers::truncate;

#[cfg(test)]
mod tests;
