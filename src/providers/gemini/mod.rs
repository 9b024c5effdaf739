//! Google's Gemini API (Generative Language), both ways.
//!
//! One job per file:
//! - `request`: [`encode_request`], a parsed Anthropic request → a `generateContent` body, and
//!   [`path`], the URL path for a model;
//! - `schema`: tool and output schemas in the form each model takes;
//! - `response`: the `GenerateContentResponse` wire types and [`decode_body`] for a whole body;
//! - `stream`: [`GeminiStream`], a `streamGenerateContent?alt=sse` stream → Anthropic SSE, chunk
//!   by chunk (the I/O-free `Translator` does the work, for whole bodies too);
//! - `error`: [`upstream_error`], Google's `{"error":{"code","message","status"}}` → Anthropic
//!   errors;
//! - `models`: [`model_page`], one page of `GET /models`, for `bgw models`;
//! - here: what both directions share (the model `Family`, call ids, carried signatures).
//!
//! # Thoughts and thought signatures
//!
//! Parts marked `thought: true` (thought summaries, asked for with `includeThoughts`) stream as
//! an Anthropic thinking block, signed by bgw ([`crate::messages::signature`]). Gemini also
//! hands out `thoughtSignature`s: opaque strings on the first `functionCall` part of a step, or
//! on a text part, that it wants back on the same part in later requests (Gemini 3 refuses a
//! tool loop whose calls lost theirs). Anthropic blocks have no field for them, so they ride
//! in the bytes a bgw signature carries, on a thinking block placed where the signed part was:
//! - a signature bound for the part that *follows* the thinking block (`n`): the thinking that
//!   preceded a call or a text, or an empty thinking block when there were no thoughts;
//! - a signature bound for the part that *precedes* it (`p`): Gemini streams text signatures
//!   on a text chunk, often the last, when the text block is already open, so an empty thinking
//!   block right after the text carries it.
//!
//! On replay (Claude Code sends every block back) a thinking block is kept only when this very
//! provider and model signed it; its text is not sent (Google's own CLI drops thoughts from the
//! history too), its signatures go back on their parts. Thinking from any other model is
//! dropped. Gemini 3 still needs a signature on the first call of each model turn, which a
//! history from another model lacks: there the value Google documents for that case,
//! [`SKIP_SIGNATURE`], stands in.
//!
//! # Tool calls
//!
//! Calls arrive whole (never in fragments) and mostly without an id: each becomes a `tool_use`
//! with a fresh `toolu_…` id, or `toolu_gm_…` around the id Gemini gave, which goes back to
//! it. A `functionResponse` needs the function's name, taken from the `tool_use` of the same id
//! in the history. Schemas go as `parametersJsonSchema` (real JSON Schema) to Gemini 2.5 and
//! later, and as a cleaned OpenAPI-subset `parameters` to older models.

mod error;
mod models;
mod request;
mod response;
mod schema;
mod stream;

use crate::messages::event::new_tool_id;
use crate::messages::tool_id;

pub use error::{error_message, retry_delay, upstream_error};
pub use models::{ListedModel, ModelPage, model_page, models_url};
pub use request::{encode_request, path};
pub use response::decode_body;
pub use stream::GeminiStream;

/// The Gemini API.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";
/// The signature Google documents for a call whose own was lost (history from another model).
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";
/// Prefix of the tool ids made from an id Gemini gave (it goes back to Gemini).
const GEMINI_ID: &str = "toolu_gm_";
/// Why a signature is carried: for the part after its thinking block, or the one before.
const NEXT: char = 'n';
const PREVIOUS: char = 'p';

/// What a Gemini model takes, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Family {
    /// `thinkingLevel` (Gemini 3 and later) rather than `thinkingBudget` (2.5).
    levels: bool,
    /// Thinking configurable at all (2.5 and later).
    thinks: bool,
    /// `parametersJsonSchema` accepted (2.5 and later); else a cleaned `parameters`.
    json_schema: bool,
    /// Signatures required on the first call of each model turn (Gemini 3 and later).
    needs_signatures: bool,
    /// 2.5 Pro cannot stop thinking; Flash and Flash-Lite can (budget 0).
    can_stop_thinking: bool,
    /// `MINIMAL` thinking (Flash models of Gemini 3), `MEDIUM` (all but 3.0 Pro).
    minimal_level: bool,
    medium_level: bool,
    /// `thinkingBudget` range for 2.5 models.
    budget: (i64, i64),
}

impl Family {
    fn of(model: &str) -> Family {
        let name = model
            .rsplit('/')
            .next()
            .unwrap_or(model)
            .to_ascii_lowercase();
        let pro = name.contains("pro");
        let version = name
            .strip_prefix("gemini-")
            .map(|rest| {
                let digits: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                let mut parts = digits.split('.');
                let major = parts.next().and_then(|m| m.parse::<u32>().ok());
                let minor = parts
                    .next()
                    .and_then(|m| m.parse::<u32>().ok())
                    .unwrap_or(0);
                // `gemini-flash-latest` and the like name the newest models.
                major.map_or((u32::MAX, 0), |m| (m, minor))
            })
            .unwrap_or((0, 0));
        let modern = version >= (2, 5);
        let three = version >= (3, 0);
        let budget = if pro {
            (128, 32_768)
        } else if name.contains("lite") {
            (512, 24_576)
        } else {
            (1, 24_576)
        };
        Family {
            levels: three,
            thinks: modern,
            json_schema: modern,
            needs_signatures: three,
            can_stop_thinking: !pro,
            minimal_level: !pro,
            medium_level: !(pro && version == (3, 0)),
            budget,
        }
    }
}

/// The id Gemini gave a call, for a `tool_use` id bgw made from it; `None` for every other id.
fn gemini_call_id(id: &str) -> Option<String> {
    id.strip_prefix(GEMINI_ID)
        .map(|rest| tool_id::original(rest).into_owned())
}

/// The `tool_use` id for a Gemini call: around Gemini's id when it gave one, else fresh.
fn anthropic_call_id(id: Option<&str>) -> String {
    match id.filter(|i| !i.is_empty()) {
        Some(id) => format!("{GEMINI_ID}{}", tool_id::for_anthropic(id)),
        None => new_tool_id(),
    }
}

/// The signatures a bgw thinking block carries: lines `n:SIG` or `p:SIG`.
fn carried_signatures(carried: &[u8]) -> Vec<(char, String)> {
    let Ok(text) = std::str::from_utf8(carried) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let (why, sig) = line.split_once(':')?;
            let why = match why {
                "n" => NEXT,
                "p" => PREVIOUS,
                _ => return None,
            };
            (!sig.is_empty()).then(|| (why, sig.to_owned()))
        })
        .collect()
}

/// The bytes a thinking block carries for these signatures.
fn carry(signatures: &[(char, String)]) -> Vec<u8> {
    let mut out = String::new();
    for (why, sig) in signatures {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push(*why);
        out.push(':');
        out.push_str(sig);
    }
    out.into_bytes()
}

use crate::providers::truncate;

#[cfg(test)]
mod tests;
