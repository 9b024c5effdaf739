//! Google's Gemini API (Generative Language), both ways.
//!
//! - [`encode_request`]: a parsed Anthropic request → a `generateContent` body;
//! - [`GeminiStream`]: a `streamGenerateContent?alt=sse` stream → Anthropic SSE, chunk by chunk
//!   (the I/O-free [`Translator`] does the work; [`decode_body`] runs it over a whole body);
//! - [`upstream_error`]: Google's `{"error":{"code","message","status"}}` → Anthropic errors.
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

use serde::Deserialize;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;

use crate::messages::event::{new_message_id, new_tool_id};
use crate::messages::request::{
    Block, Content, JsonString, Role, Source, Thinking, ToolResultContent,
};
use crate::messages::signature::{Signer, ThinkingMac};
use crate::messages::sse::{SseFrame, SseParser};
use crate::messages::{
    ApiError, BlockStart, Delta, ErrorKind, MessageAccumulator, MessageResponse, MessagesRequest,
    StopReason, StreamEvent, Usage, tool_id,
};
use crate::providers::StreamDecoder;

/// The Gemini API.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";
/// The signature Google documents for a call whose own was lost (history from another model).
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";
/// Gemini takes at most five stop sequences.
const MAX_STOP: usize = 5;
/// Prefix of the tool ids made from an id Gemini gave (it goes back to Gemini).
const GEMINI_ID: &str = "toolu_gm_";
/// Why a signature is carried: for the part after its thinking block, or the one before.
const NEXT: char = 'n';
const PREVIOUS: char = 'p';

// ---------------------------------------------------------------------------------------------
// Models

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

// ---------------------------------------------------------------------------------------------
// Request wire types

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerateRequest<'r> {
    contents: Vec<ContentOut<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<SystemInstruction<'r>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolOut<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_config: Option<ToolConfig<'r>>,
    generation_config: GenerationConfig,
}

#[derive(Serialize)]
struct SystemInstruction<'r> {
    parts: [TextOnly<'r>; 1],
}

#[derive(Serialize)]
struct TextOnly<'r> {
    text: Cow<'r, str>,
}

#[derive(Serialize)]
struct ContentOut<'r> {
    role: &'static str,
    parts: Vec<PartOut<'r>>,
}

/// One part; exactly one of the data fields is set.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct PartOut<'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<Cow<'r, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inline_data: Option<Blob<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_data: Option<FileData<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_call: Option<FunctionCallOut<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_response: Option<FunctionResponseOut<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thought_signature: Option<String>,
}

impl<'r> PartOut<'r> {
    fn text(text: impl Into<Cow<'r, str>>) -> Self {
        PartOut {
            text: Some(text.into()),
            ..PartOut::default()
        }
    }

    fn is_call(&self) -> bool {
        self.function_call.is_some()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Blob<'r> {
    mime_type: &'r str,
    data: &'r str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileData<'r> {
    mime_type: &'static str,
    file_uri: &'r str,
}

#[derive(Serialize)]
struct FunctionCallOut<'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    name: &'r str,
    /// The tool input exactly as the client sent it.
    args: &'r RawValue,
}

#[derive(Serialize)]
struct FunctionResponseOut<'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    name: Cow<'r, str>,
    response: FunctionResult<'r>,
}

/// Google's convention: `output` for what the function returned, `error` for its failure.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum FunctionResult<'r> {
    Output(Cow<'r, str>),
    Error(Cow<'r, str>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolOut<'r> {
    function_declarations: Vec<FunctionDeclaration<'r>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FunctionDeclaration<'r> {
    name: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<JsonString<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters_json_schema: Option<Cow<'r, RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig<'r> {
    function_calling_config: FunctionCallingConfig<'r>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FunctionCallingConfig<'r> {
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_function_names: Option<[&'r str; 1]>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop_sequences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_config: Option<ThinkingConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_json_schema: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_schema: Option<Value>,
}

#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct ThinkingConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_budget: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_level: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    include_thoughts: bool,
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// The path after the base URL: `/models/{model}:streamGenerateContent?alt=sse` for a stream,
/// `/models/{model}:generateContent` otherwise. A model name that could leave the path is refused.
pub fn path(model: &str, stream: bool) -> Result<String, ApiError> {
    let model = model.strip_prefix("models/").unwrap_or(model);
    let fits = !model.is_empty()
        && !model.contains("..")
        && model
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !fits {
        return Err(ApiError::invalid(format!(
            "`{model}` is not a Gemini model name (letters, digits, `-`, `_` and `.` only), for example `gemini/gemini-2.5-pro`"
        )));
    }
    Ok(if stream {
        format!("/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("/models/{model}:generateContent")
    })
}

/// Encodes `req` as a `generateContent` body for `model`. `own` recognises the thinking blocks
/// this provider and model signed, whose carried thought signatures go back on their parts.
pub fn encode_request(
    req: &MessagesRequest<'_>,
    model: &str,
    own: Option<&Signer>,
) -> Result<Vec<u8>, ApiError> {
    let family = Family::of(model);
    let mut conv = Conversation::new(own, family);
    for message in &req.messages {
        match message.role {
            Role::User => conv.user(&message.content)?,
            Role::Assistant => conv.assistant(&message.content),
            Role::System => conv.system(message.content.joined_text()),
        }
    }
    let contents = conv.finish();
    if contents.is_empty() {
        return Err(ApiError::invalid(
            "the request has no message with content to send: `messages` is empty or holds only empty turns",
        ));
    }
    let system_instruction = req
        .system
        .as_ref()
        .map(Content::joined_text)
        .filter(|t| !t.trim().is_empty())
        .map(|text| SystemInstruction {
            parts: [TextOnly { text }],
        });

    let declarations: Vec<FunctionDeclaration<'_>> = req
        .tools
        .iter()
        .flatten()
        .filter(|t| t.is_custom())
        .filter_map(|t| {
            let schema = t.input_schema?;
            let (parameters_json_schema, parameters) = if family.json_schema {
                (Some(without_schema_keyword(schema)), None)
            } else {
                (None, legacy_parameters(schema))
            };
            Some(FunctionDeclaration {
                name: &t.name,
                description: t.description,
                parameters_json_schema,
                parameters,
            })
        })
        .collect();
    let tool_config = match (&req.tool_choice, declarations.is_empty()) {
        (Some(choice), false) => {
            let (mode, allowed) = match (choice.kind.as_ref(), choice.name.as_deref()) {
                ("any", _) | ("tool", None) => ("ANY", None),
                ("tool", Some(name)) => ("ANY", Some([name])),
                ("none", _) => ("NONE", None),
                _ => ("AUTO", None),
            };
            Some(ToolConfig {
                function_calling_config: FunctionCallingConfig {
                    mode,
                    allowed_function_names: allowed,
                },
            })
        }
        _ => None,
    };

    let (response_mime_type, response_json_schema, response_schema) =
        match output_schema(req).filter(|_| declarations.is_empty()) {
            Some(schema) if family.json_schema => (
                Some("application/json"),
                Some(without_schema_keyword(schema).into_owned()),
                None,
            ),
            Some(schema) => (Some("application/json"), None, legacy_parameters(schema)),
            None => (None, None, None),
        };
    let stop = req.stop_sequences.as_deref().unwrap_or_default();
    let body = GenerateRequest {
        contents,
        system_instruction,
        tools: if declarations.is_empty() {
            Vec::new()
        } else {
            vec![ToolOut {
                function_declarations: declarations,
            }]
        },
        tool_config,
        generation_config: GenerationConfig {
            max_output_tokens: req.max_tokens,
            temperature: req.temperature,
            top_p: req.top_p,
            top_k: req.top_k,
            stop_sequences: stop
                .iter()
                .take(MAX_STOP)
                .map(|s| s.clone().into_owned())
                .collect(),
            thinking_config: thinking_config(req, family),
            response_mime_type,
            response_json_schema,
            response_schema,
        },
    };
    serde_json::to_vec(&body).map_err(|e| {
        ApiError::new(
            ErrorKind::Api,
            format!("could not encode the Gemini request: {e}"),
        )
    })
}

/// `thinkingConfig` for the client's `thinking` and `output_config.effort`.
///
/// Gemini 2.5 takes a token budget: the client's own (clamped to the model's range), else by
/// effort (low 2,048, medium 8,192, high dynamic, max the model's most), else dynamic (-1).
/// Gemini 3 takes a level: effort low/medium/high (max → high), or the budget bucketed as
/// bgw buckets it for OpenAI (below 4,096 low, below 16,384 medium, else high); a level the
/// model lacks moves up. Thinking on asks for thought summaries (`includeThoughts`). Thinking
/// off is budget 0 (or the lowest level) where the model allows it; nothing is sent when the
/// client says nothing.
fn thinking_config(req: &MessagesRequest<'_>, family: Family) -> Option<ThinkingConfig> {
    if !family.thinks {
        return None;
    }
    let effort = req
        .output_config
        .as_ref()
        .and_then(|c| c.effort.as_deref())
        .filter(|e| matches!(*e, "low" | "medium" | "high" | "max"));
    let budget = match req.thinking {
        Some(Thinking::Enabled { budget_tokens }) => budget_tokens,
        _ => None,
    };
    let on = matches!(
        req.thinking,
        Some(Thinking::Enabled { .. } | Thinking::Adaptive)
    ) || (req.thinking.is_none() && effort.is_some());
    if !on {
        if req.thinking != Some(Thinking::Disabled) {
            return None;
        }
        return if family.levels {
            Some(ThinkingConfig {
                thinking_budget: None,
                thinking_level: Some(if family.minimal_level {
                    "MINIMAL"
                } else {
                    "LOW"
                }),
                include_thoughts: false,
            })
        } else if family.can_stop_thinking {
            Some(ThinkingConfig {
                thinking_budget: Some(0),
                thinking_level: None,
                include_thoughts: false,
            })
        } else {
            None
        };
    }
    if family.levels {
        let level = match (effort, budget) {
            (Some("low"), _) => Some("LOW"),
            (Some("medium"), _) => Some("MEDIUM"),
            (Some(_), _) => Some("HIGH"),
            (None, Some(b)) if b < 4_096 => Some("LOW"),
            (None, Some(b)) if b < 16_384 => Some("MEDIUM"),
            (None, Some(_)) => Some("HIGH"),
            (None, None) => None,
        };
        let level = match level {
            Some("MEDIUM") if !family.medium_level => Some("HIGH"),
            other => other,
        };
        return Some(ThinkingConfig {
            thinking_budget: None,
            thinking_level: level,
            include_thoughts: true,
        });
    }
    let (low, high) = family.budget;
    let chosen = match (effort, budget) {
        (Some("low"), _) => 2_048,
        (Some("medium"), _) => 8_192,
        (Some("max"), _) => high,
        (Some(_), _) => -1,
        (None, Some(b)) => i64::try_from(b).unwrap_or(high),
        (None, None) => -1,
    };
    Some(ThinkingConfig {
        thinking_budget: Some(if chosen == -1 {
            -1
        } else {
            chosen.clamp(low, high)
        }),
        thinking_level: None,
        include_thoughts: true,
    })
}

/// `output_config.format`'s JSON schema, when it asks for JSON-schema output.
fn output_schema<'r>(req: &'r MessagesRequest<'_>) -> Option<&'r RawValue> {
    #[derive(Deserialize)]
    struct Format<'a> {
        #[serde(rename = "type", borrow)]
        kind: Cow<'a, str>,
        #[serde(default, borrow)]
        schema: Option<&'a RawValue>,
    }
    let raw = req.output_config.as_ref()?.format?;
    let format: Format<'r> = serde_json::from_str(raw.get()).ok()?;
    (format.kind == "json_schema").then_some(())?;
    format.schema
}

/// The schema without a top-level `$schema` (which Gemini refuses); untouched when absent.
/// The other members are copied as written (nothing below the top level is parsed or
/// reordered).
fn without_schema_keyword(schema: &RawValue) -> Cow<'_, RawValue> {
    if !schema.get().contains("\"$schema\"") {
        return Cow::Borrowed(schema);
    }
    let Ok(Members(members)) = serde_json::from_str::<Members<'_>>(schema.get()) else {
        return Cow::Borrowed(schema);
    };
    let mut out = String::with_capacity(schema.get().len());
    out.push('{');
    for (key, value) in members.iter().filter(|(k, _)| k != "$schema") {
        if out.len() > 1 {
            out.push(',');
        }
        // Serializing a string cannot fail.
        out.push_str(&serde_json::to_string(key).unwrap_or_default());
        out.push(':');
        out.push_str(value.get());
    }
    out.push('}');
    RawValue::from_string(out).map_or(Cow::Borrowed(schema), Cow::Owned)
}

/// The members of a JSON object in their order, values kept as written.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// Walks the Anthropic turns and builds Gemini contents: roles `user` and `model` only,
/// consecutive turns of one role merged, calls answered in the next user turn.
struct Conversation<'r, 'q> {
    own: Option<&'q Signer>,
    family: Family,
    out: Vec<ContentOut<'r>>,
    /// Tool names by the ids of the calls seen so far (a `functionResponse` needs the name).
    names: HashMap<&'r str, &'r str>,
    /// Calls of the last model turn still waiting for their response.
    unanswered: Vec<(&'r str, &'r str)>,
    /// System turns that arrived between calls and their responses.
    deferred: Vec<PartOut<'r>>,
    /// A signature for the next part of the model turn being built.
    pending_signature: Option<String>,
}

impl<'r, 'q> Conversation<'r, 'q> {
    fn new(own: Option<&'q Signer>, family: Family) -> Self {
        Conversation {
            own,
            family,
            out: Vec::new(),
            names: HashMap::new(),
            unanswered: Vec::new(),
            deferred: Vec::new(),
            pending_signature: None,
        }
    }

    /// Appends `part` to the last content if it has `role`, else to a new content.
    fn push(&mut self, role: &'static str, part: PartOut<'r>) {
        match self.out.last_mut() {
            Some(last) if last.role == role => last.parts.push(part),
            _ => {
                if role == "user" {
                    self.close_model_turn();
                }
                self.out.push(ContentOut {
                    role,
                    parts: vec![part],
                });
            }
        }
    }

    /// Claude Code's mid-conversation system turns: Gemini has no such role, so their text
    /// goes in place as user text (after the responses of calls still open).
    fn system(&mut self, text: Cow<'r, str>) {
        if text.trim().is_empty() {
            return;
        }
        if self.unanswered.is_empty() {
            self.push("user", PartOut::text(text));
        } else {
            self.deferred.push(PartOut::text(text));
        }
    }

    fn assistant(&mut self, content: &'r Content<'_>) {
        self.answer_the_rest();
        let blocks = match content {
            Content::Text(t) => {
                if !t.is_empty() {
                    self.model_part(PartOut::text(Cow::Borrowed(t.as_ref())));
                }
                return;
            }
            Content::Blocks(blocks) => blocks,
        };
        for block in blocks {
            match block {
                Block::Text { text } if !text.is_empty() => {
                    self.model_part(PartOut::text(Cow::Borrowed(text.as_ref())));
                }
                Block::ToolUse { id, name, input } => {
                    self.names.insert(id, name);
                    self.unanswered.push((id, name));
                    self.model_part(PartOut {
                        function_call: Some(FunctionCallOut {
                            id: gemini_call_id(id),
                            name,
                            args: input,
                        }),
                        ..PartOut::default()
                    });
                }
                Block::Thinking {
                    thinking,
                    signature: Some(signature),
                } => {
                    let Some(carried) = self.own.and_then(|own| own.carried(signature, thinking))
                    else {
                        // Another model's thinking, or Anthropic's: not this model's own.
                        continue;
                    };
                    for (why, sig) in carried_signatures(&carried) {
                        self.signature(why, sig);
                    }
                }
                // Unsigned thinking, redacted thinking, server tools: no Gemini form.
                _ => {}
            }
        }
    }

    /// Places a carried signature: on the part before (`p`), else on the next part.
    fn signature(&mut self, why: char, sig: String) {
        if why == PREVIOUS {
            if let Some(part) = self.model_parts_mut().and_then(|p| p.last_mut()) {
                if part.thought_signature.is_none() {
                    part.thought_signature = Some(sig);
                    return;
                }
            }
        }
        self.pending_signature = Some(sig);
    }

    fn model_parts_mut(&mut self) -> Option<&mut Vec<PartOut<'r>>> {
        self.out
            .last_mut()
            .filter(|c| c.role == "model")
            .map(|c| &mut c.parts)
    }

    fn model_part(&mut self, mut part: PartOut<'r>) {
        if let Some(sig) = self.pending_signature.take() {
            part.thought_signature = Some(sig);
        }
        self.push("model", part);
    }

    /// The model turn is over: a signature still waiting goes on its last part that has
    /// none; Gemini 3 gets the documented stand-in on a first call without a signature.
    fn close_model_turn(&mut self) {
        let pending = self.pending_signature.take();
        let needs = self.family.needs_signatures;
        let Some(parts) = self.model_parts_mut() else {
            return;
        };
        if let Some(sig) = pending {
            if let Some(last) = parts
                .iter_mut()
                .rev()
                .find(|p| p.thought_signature.is_none())
            {
                last.thought_signature = Some(sig);
            }
        }
        if needs {
            if let Some(first) = parts.iter_mut().find(|p| p.is_call()) {
                if first.thought_signature.is_none() {
                    first.thought_signature = Some(SKIP_SIGNATURE.to_owned());
                }
            }
        }
    }

    fn user(&mut self, content: &'r Content<'_>) -> Result<(), ApiError> {
        let blocks = match content {
            Content::Text(t) => {
                self.answer_the_rest();
                if !t.trim().is_empty() {
                    self.push("user", PartOut::text(Cow::Borrowed(t.as_ref())));
                }
                return Ok(());
            }
            Content::Blocks(blocks) => blocks,
        };
        let mut others = Vec::new();
        for block in blocks {
            match block {
                Block::ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                } => {
                    let mut attached = Vec::new();
                    let text = tool_result_text(content, &mut attached)?;
                    match self.names.get(tool_use_id.as_ref()).copied() {
                        Some(name) => {
                            self.unanswered
                                .retain(|(id, _)| *id != tool_use_id.as_ref());
                            let response = if *is_error {
                                FunctionResult::Error(text)
                            } else {
                                FunctionResult::Output(text)
                            };
                            self.push(
                                "user",
                                PartOut {
                                    function_response: Some(FunctionResponseOut {
                                        id: gemini_call_id(tool_use_id),
                                        name: Cow::Borrowed(name),
                                        response,
                                    }),
                                    ..PartOut::default()
                                },
                            );
                            if !attached.is_empty() {
                                others.push(PartOut::text(format!(
                                    "The {name} call returned this as well:"
                                )));
                            }
                        }
                        // A result whose call is gone from the history (compacted away):
                        // Gemini cannot take it as a response without a name, so it is text.
                        None => others.push(PartOut::text(format!(
                            "{} of an earlier tool call: {text}",
                            if *is_error { "Error" } else { "Result" }
                        ))),
                    }
                    others.append(&mut attached);
                }
                other => user_part(other, &mut others)?,
            }
        }
        self.answer_the_rest();
        for part in others {
            self.push("user", part);
        }
        Ok(())
    }

    /// Gives every call left unanswered a response (Gemini wants one per call), then
    /// releases the system text held back while calls were open.
    fn answer_the_rest(&mut self) {
        for (id, name) in std::mem::take(&mut self.unanswered) {
            self.push(
                "user",
                PartOut {
                    function_response: Some(FunctionResponseOut {
                        id: gemini_call_id(id),
                        name: Cow::Borrowed(name),
                        response: FunctionResult::Error(Cow::Borrowed(
                            "(no result was recorded for this tool call)",
                        )),
                    }),
                    ..PartOut::default()
                },
            );
        }
        for part in std::mem::take(&mut self.deferred) {
            self.push("user", part);
        }
    }

    fn finish(mut self) -> Vec<ContentOut<'r>> {
        self.close_model_turn();
        if !self.deferred.is_empty() {
            self.answer_the_rest();
        }
        self.out
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

/// Adds a user-side block as Gemini parts.
fn user_part<'r>(block: &'r Block<'_>, parts: &mut Vec<PartOut<'r>>) -> Result<(), ApiError> {
    match block {
        Block::Text { text } if !text.is_empty() => {
            parts.push(PartOut::text(Cow::Borrowed(text.as_ref())))
        }
        Block::Image { source } => parts.push(media(source, None)?),
        Block::Document { source, title } => match source {
            Source::Text { data } => parts.push(PartOut::text(match title {
                Some(title) => Cow::Owned(format!("{title}\n\n{data}")),
                None => Cow::Borrowed(data.as_ref()),
            })),
            Source::Base64 { .. } | Source::Url { .. } => {
                parts.push(media(source, Some("application/pdf"))?)
            }
            Source::Other { kind } => parts.push(PartOut::text(format!(
                "[a document given as `{kind}` is omitted: Gemini cannot read it from here]"
            ))),
        },
        _ => {}
    }
    Ok(())
}

/// An image or PDF: base64 data inline, a URL as `fileData` (Gemini fetches public and signed
/// URLs itself). A URL image must name its type by its extension.
fn media<'r>(
    source: &'r Source<'_>,
    document: Option<&'static str>,
) -> Result<PartOut<'r>, ApiError> {
    match source {
        Source::Base64 { media_type, data } => Ok(PartOut {
            inline_data: Some(Blob {
                mime_type: media_type,
                data,
            }),
            ..PartOut::default()
        }),
        Source::Url { url } => {
            let mime_type = document.or_else(|| image_type(url)).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Gemini needs the type of an image given by URL, and `{url}` does not end in .png, .jpg, .jpeg, .webp, .gif, .heic or .heif; attach the image itself instead"
                ))
            })?;
            Ok(PartOut {
                file_data: Some(FileData {
                    mime_type,
                    file_uri: url,
                }),
                ..PartOut::default()
            })
        }
        Source::Text { .. } | Source::Other { .. } => Ok(PartOut::text(
            "[image omitted: its source type cannot be sent to Gemini]",
        )),
    }
}

/// The image type a URL's path names by its extension.
fn image_type(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => return None,
    })
}

/// The text of a tool result; its images and PDFs go to `attached` (as parts after it).
fn tool_result_text<'r>(
    content: &'r ToolResultContent<'_>,
    attached: &mut Vec<PartOut<'r>>,
) -> Result<Cow<'r, str>, ApiError> {
    let text: Cow<'r, str> = match content {
        ToolResultContent::Empty => Cow::Borrowed(""),
        ToolResultContent::Text(t) => Cow::Borrowed(t.as_ref()),
        ToolResultContent::Blocks(blocks) => {
            let mut texts: Vec<&'r str> = Vec::new();
            for block in blocks {
                match block {
                    Block::Text { text } if !text.is_empty() => texts.push(text),
                    other => user_part(other, attached)?,
                }
            }
            match texts.as_slice() {
                [] => Cow::Borrowed(""),
                [one] => Cow::Borrowed(*one),
                many => Cow::Owned(many.join("\n\n")),
            }
        }
    };
    Ok(if text.trim().is_empty() {
        Cow::Borrowed("(no output)")
    } else {
        text
    })
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

// ---------------------------------------------------------------------------------------------
// Tool schemas for models before 2.5 (`parameters`, an OpenAPI 3.0 subset)

/// The keys Gemini's `Schema` accepts; any other fails the whole request.
const SCHEMA_KEYS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "properties",
    "required",
    "items",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "anyOf",
    "propertyOrdering",
    "default",
    "example",
];

/// How deep `$ref`s are followed before a schema is cut short (recursive definitions), and how
/// many are inlined in all (a definition referring to itself twice would double at each level).
const MAX_REF_DEPTH: usize = 8;
const MAX_REFS: usize = 256;

/// A JSON Schema as Gemini's `parameters`: references inlined, `const` as a one-value enum,
/// type lists as `nullable` or `anyOf`, `oneOf` as `anyOf`, `allOf` merged, and every key it
/// does not know dropped. `None` for a schema with no properties (Gemini refuses an empty
/// OBJECT) or one that is not JSON.
fn legacy_parameters(schema: &RawValue) -> Option<Value> {
    let root: Value = serde_json::from_str(schema.get()).ok()?;
    let defs = root
        .get("$defs")
        .or_else(|| root.get("definitions"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut refs = 0;
    let cleaned = clean_schema(&root, &defs, 0, &mut refs);
    let has_properties = cleaned
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    has_properties.then_some(cleaned)
}

fn clean_schema(schema: &Value, defs: &Value, depth: usize, refs: &mut usize) -> Value {
    let Some(obj) = schema.as_object() else {
        return Value::Object(Map::new());
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return match defs.get(name) {
            Some(target) if depth < MAX_REF_DEPTH && *refs < MAX_REFS => {
                *refs += 1;
                clean_schema(target, defs, depth + 1, refs)
            }
            // A recursive definition, cut short: any object.
            _ => serde_json::json!({"type": "OBJECT"}),
        };
    }
    let mut merged = obj.clone();
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        for part in all {
            if let Some(part) = part.as_object() {
                for (k, v) in part {
                    match (k.as_str(), merged.get_mut(k)) {
                        ("properties", Some(Value::Object(props))) => {
                            if let Some(more) = v.as_object() {
                                props.extend(more.clone());
                            }
                        }
                        ("required", Some(Value::Array(req))) => {
                            if let Some(more) = v.as_array() {
                                req.extend(more.iter().cloned());
                            }
                        }
                        (_, Some(_)) => {}
                        (_, None) => {
                            merged.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
        }
    }
    let mut out = Map::new();
    for (key, value) in &merged {
        match key.as_str() {
            "type" => match value {
                Value::String(t) => {
                    out.insert("type".into(), Value::from(t.to_ascii_uppercase()));
                }
                Value::Array(types) => {
                    let named: Vec<&str> = types
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|t| *t != "null")
                        .collect();
                    if named.len() < types.len() {
                        out.insert("nullable".into(), Value::Bool(true));
                    }
                    match named.as_slice() {
                        [] => {}
                        [one] => {
                            out.insert("type".into(), Value::from(one.to_ascii_uppercase()));
                        }
                        many => {
                            let any: Vec<Value> = many
                                .iter()
                                .map(|t| {
                                    let mut m = Map::new();
                                    m.insert("type".into(), Value::from(t.to_ascii_uppercase()));
                                    Value::Object(m)
                                })
                                .collect();
                            out.insert("anyOf".into(), Value::Array(any));
                        }
                    }
                }
                _ => {}
            },
            "properties" => {
                if let Some(props) = value.as_object() {
                    let cleaned: Map<String, Value> = props
                        .iter()
                        .map(|(k, v)| (k.clone(), clean_schema(v, defs, depth, refs)))
                        .collect();
                    if !cleaned.is_empty() {
                        out.insert("properties".into(), Value::Object(cleaned));
                    }
                }
            }
            "items" => {
                let item = match value {
                    Value::Array(tuple) => tuple.first().cloned().unwrap_or(Value::Null),
                    other => other.clone(),
                };
                out.insert("items".into(), clean_schema(&item, defs, depth, refs));
            }
            "anyOf" | "oneOf" => {
                if let Some(options) = value.as_array() {
                    let cleaned: Vec<Value> = options
                        .iter()
                        .map(|o| clean_schema(o, defs, depth, refs))
                        .collect();
                    out.insert("anyOf".into(), Value::Array(cleaned));
                }
            }
            "const" => {
                if let Value::String(s) = value {
                    out.insert("enum".into(), Value::Array(vec![Value::from(s.clone())]));
                }
            }
            "enum" => {
                // Gemini's enums are strings.
                if let Some(values) = value.as_array() {
                    if values.iter().all(Value::is_string) {
                        out.insert("enum".into(), value.clone());
                    }
                }
            }
            "format" => {
                if matches!(
                    value.as_str(),
                    Some("enum" | "date-time" | "int32" | "int64" | "float" | "double")
                ) {
                    out.insert(key.clone(), value.clone());
                }
            }
            k if SCHEMA_KEYS.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    if out.contains_key("enum") && !out.contains_key("type") {
        out.insert("type".into(), Value::from("STRING"));
    }
    // `required` may only name properties that exist.
    if let Some(Value::Array(required)) = out.get("required").cloned() {
        let props = out.get("properties").and_then(Value::as_object);
        let kept: Vec<Value> = required
            .into_iter()
            .filter(|r| {
                r.as_str()
                    .is_some_and(|name| props.is_some_and(|p| p.contains_key(name)))
            })
            .collect();
        if kept.is_empty() {
            out.remove("required");
        } else {
            out.insert("required".into(), Value::Array(kept));
        }
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------------
// Response wire types

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateResponse<'a> {
    #[serde(default, borrow)]
    candidates: Option<Vec<Candidate<'a>>>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
    #[serde(default, borrow)]
    prompt_feedback: Option<PromptFeedback<'a>>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(default, borrow)]
    content: Option<CandidateContent<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    finish_message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct CandidateContent<'a> {
    #[serde(default, borrow)]
    parts: Vec<PartIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartIn<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    thought: bool,
    #[serde(default, borrow)]
    thought_signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function_call: Option<FunctionCallIn<'a>>,
}

#[derive(Deserialize)]
struct FunctionCallIn<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    args: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback<'a> {
    #[serde(default, borrow)]
    block_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
}

impl UsageMetadata {
    /// Anthropic counts: cached prompt tokens apart, thoughts counted as output.
    fn to_anthropic(self) -> Usage {
        let cached = self.cached_content_token_count.min(self.prompt_token_count);
        Usage {
            input_tokens: self.prompt_token_count - cached,
            output_tokens: self.candidates_token_count + self.thoughts_token_count,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: cached,
        }
    }
}

/// Finish reasons of the safety family: the answer was blocked.
fn is_blocked(reason: &str) -> bool {
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
fn is_abnormal(reason: &str) -> bool {
    matches!(
        reason,
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" | "OTHER"
    )
}

// ---------------------------------------------------------------------------------------------
// Stream translation

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Streaming,
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Nothing,
    Text(usize),
    Thinking(usize),
}

/// The pure state machine from `GenerateContentResponse` chunks to Anthropic events.
#[derive(Debug)]
struct Translator {
    message_id: String,
    model: String,
    phase: Phase,
    next_block: usize,
    open: Open,
    /// The open thinking block's signature, fed as its text streams.
    mac: Option<ThinkingMac>,
    /// Gemini signatures the open thinking block will carry.
    carried: Vec<(char, String)>,
    /// Signatures met inside the open text block, carried by a block right after it.
    after_text: Vec<String>,
    /// Blocks other than thinking emitted so far.
    content_blocks: usize,
    saw_tool: bool,
    finish_reason: Option<String>,
    finish_message: Option<String>,
    blocked_prompt: Option<String>,
    usage: Usage,
    signer: Option<Signer>,
}

impl Translator {
    /// A translator for a response to `requested_model` (echoed as the message's `model`).
    fn new(requested_model: &str, signer: Option<Signer>) -> Translator {
        Translator {
            message_id: new_message_id(),
            model: requested_model.to_owned(),
            phase: Phase::Waiting,
            next_block: 0,
            open: Open::Nothing,
            mac: None,
            carried: Vec::new(),
            after_text: Vec::new(),
            content_blocks: 0,
            saw_tool: false,
            finish_reason: None,
            finish_message: None,
            blocked_prompt: None,
            usage: Usage::default(),
            signer,
        }
    }

    /// Usage reported so far, in Anthropic terms.
    fn usage(&self) -> Usage {
        self.usage
    }

    /// Whether the response is complete or failed.
    fn ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// Takes the `data` of one SSE frame. `at_eof`: the frame was cut by the connection
    /// closing; if it does not parse, [`Translator::end`] reports the stream as cut short.
    fn data(&mut self, data: &str, at_eof: bool, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Ended {
            return;
        }
        let data = data.trim();
        if data.is_empty() {
            return;
        }
        match serde_json::from_str::<GenerateResponse<'_>>(data) {
            Ok(chunk) => self.chunk(chunk, out),
            Err(_) if at_eof => {}
            Err(e) => self.fail(
                ApiError::new(
                    ErrorKind::Api,
                    format!(
                        "{}: Gemini sent a stream chunk that is not valid JSON ({e}): {}",
                        self.model,
                        truncate(data, 200)
                    ),
                ),
                out,
            ),
        }
    }

    /// The upstream closed: the message ends if Gemini said why it finished, else it was cut.
    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        match self.phase {
            Phase::Ended => {}
            _ if self.finish_reason.is_some() || self.blocked_prompt.is_some() => {
                self.complete(out)
            }
            _ => self.fail(
                ApiError::new(
                    ErrorKind::Api,
                    format!(
                        "{}: the stream ended before the response was complete",
                        self.model
                    ),
                ),
                out,
            ),
        }
    }

    fn chunk(&mut self, chunk: GenerateResponse<'_>, out: &mut Vec<StreamEvent>) {
        if let Some(err) = chunk.error {
            let err = match serde_json::from_str::<GoogleError<'_>>(err.get()) {
                Ok(e) => google_error(e, None),
                Err(_) => ApiError::new(ErrorKind::Api, truncate(err.get(), MAX_MESSAGE)),
            };
            let err = prefixed(err, &self.model);
            self.fail(err, out);
            return;
        }
        if let Some(u) = chunk.usage_metadata {
            self.usage = u.to_anthropic();
        }
        self.start(out);
        let candidate = chunk.candidates.and_then(|c| c.into_iter().next());
        let Some(candidate) = candidate else {
            if let Some(reason) = chunk.prompt_feedback.and_then(|f| f.block_reason) {
                self.blocked_prompt = Some(reason.into_owned());
            }
            return;
        };
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            self.part(part, out);
        }
        if let Some(message) = candidate.finish_message {
            self.finish_message = Some(message.into_owned());
        }
        if let Some(reason) = candidate.finish_reason {
            self.finish_reason = Some(reason.into_owned());
            // Content is over: blocks close now; message_delta waits for the end.
            self.close_open(out);
        }
    }

    fn part(&mut self, part: PartIn<'_>, out: &mut Vec<StreamEvent>) {
        let signature = part
            .thought_signature
            .filter(|s| !s.is_empty())
            .map(Cow::into_owned);
        if part.thought {
            self.thinking(part.text.as_deref().unwrap_or(""), out);
            if let Some(sig) = signature {
                self.carried.push((NEXT, sig));
            }
            return;
        }
        if let Some(call) = part.function_call {
            self.signed_before(signature, out);
            self.tool_use(call, out);
            return;
        }
        let Some(text) = part.text else {
            // Parts bgw does not show (inline media, code execution): their signature, if
            // any, still goes back with the turn.
            if let Some(sig) = signature {
                self.signed_before(Some(sig), out);
            }
            return;
        };
        match (self.open, signature) {
            (Open::Text(index), sig) => {
                if let Some(sig) = sig {
                    self.after_text.push(sig);
                }
                if !text.is_empty() {
                    out.push(StreamEvent::BlockDelta {
                        index,
                        delta: Delta::TextDelta {
                            text: text.into_owned(),
                        },
                    });
                }
            }
            (_, sig) if text.is_empty() => match sig {
                // Only a signature, thoughts open: the thinking carries it.
                Some(sig) if matches!(self.open, Open::Thinking(_)) => {
                    self.carried.push((NEXT, sig))
                }
                // After other content: it belongs with what came before.
                Some(sig) if self.content_blocks > 0 => {
                    self.close_open(out);
                    self.signature_block(vec![(PREVIOUS, sig)], out);
                }
                Some(sig) => self.signed_before(Some(sig), out),
                None => {}
            },
            (_, sig) => {
                self.signed_before(sig, out);
                let index = self.open_block(
                    BlockStart::Text {
                        text: String::new(),
                    },
                    out,
                );
                self.content_blocks += 1;
                self.open = Open::Text(index);
                out.push(StreamEvent::BlockDelta {
                    index,
                    delta: Delta::TextDelta {
                        text: text.into_owned(),
                    },
                });
            }
        }
    }

    /// Closes the open block so the next one can start; a signature for the part about to
    /// start rides on the thinking just closed, or on an empty thinking block of its own.
    fn signed_before(&mut self, signature: Option<String>, out: &mut Vec<StreamEvent>) {
        match (self.open, signature) {
            (Open::Thinking(_), Some(sig)) => {
                self.carried.push((NEXT, sig));
                self.close_open(out);
            }
            (_, Some(sig)) => {
                self.close_open(out);
                self.signature_block(vec![(NEXT, sig)], out);
            }
            (_, None) => self.close_open(out),
        }
    }

    fn thinking(&mut self, text: &str, out: &mut Vec<StreamEvent>) {
        let index = match self.open {
            Open::Thinking(i) => i,
            _ => {
                self.close_open(out);
                self.mac = self.signer.as_ref().map(Signer::start_carrying);
                let i = self.open_block(
                    BlockStart::Thinking {
                        thinking: String::new(),
                        signature: String::new(),
                    },
                    out,
                );
                self.open = Open::Thinking(i);
                i
            }
        };
        if text.is_empty() {
            return;
        }
        if let Some(mac) = &mut self.mac {
            mac.update(text);
        }
        out.push(StreamEvent::BlockDelta {
            index,
            delta: Delta::ThinkingDelta {
                thinking: text.to_owned(),
            },
        });
    }

    /// An empty thinking block carrying `signatures` (only when signing: an unsigned block
    /// could carry nothing back).
    fn signature_block(&mut self, signatures: Vec<(char, String)>, out: &mut Vec<StreamEvent>) {
        let Some(signer) = &self.signer else {
            return;
        };
        let signature = signer.sign_carrying("", &carry(&signatures));
        let index = self.open_block(
            BlockStart::Thinking {
                thinking: String::new(),
                signature: String::new(),
            },
            out,
        );
        out.push(StreamEvent::BlockDelta {
            index,
            delta: Delta::SignatureDelta { signature },
        });
        out.push(StreamEvent::BlockStop { index });
    }

    fn tool_use(&mut self, call: FunctionCallIn<'_>, out: &mut Vec<StreamEvent>) {
        let name = call.name.map(Cow::into_owned).unwrap_or_default();
        let args = call
            .args
            .map(RawValue::get)
            .filter(|a| a.trim_start().starts_with('{'))
            .unwrap_or("{}");
        let index = self.open_block(
            BlockStart::ToolUse {
                id: anthropic_call_id(call.id.as_deref()),
                name,
                input: Map::new(),
            },
            out,
        );
        self.content_blocks += 1;
        self.saw_tool = true;
        out.push(StreamEvent::BlockDelta {
            index,
            delta: Delta::InputJsonDelta {
                partial_json: args.to_owned(),
            },
        });
        out.push(StreamEvent::BlockStop { index });
    }

    fn open_block(&mut self, block: BlockStart, out: &mut Vec<StreamEvent>) -> usize {
        let index = self.next_block;
        self.next_block += 1;
        out.push(StreamEvent::BlockStart { index, block });
        index
    }

    fn close_open(&mut self, out: &mut Vec<StreamEvent>) {
        match std::mem::replace(&mut self.open, Open::Nothing) {
            Open::Nothing => {}
            Open::Text(index) => {
                out.push(StreamEvent::BlockStop { index });
                let after = std::mem::take(&mut self.after_text);
                if !after.is_empty() {
                    let signatures = after.into_iter().map(|s| (PREVIOUS, s)).collect();
                    self.signature_block(signatures, out);
                }
            }
            Open::Thinking(index) => {
                let carried = carry(&std::mem::take(&mut self.carried));
                if let Some(mac) = self.mac.take() {
                    out.push(StreamEvent::BlockDelta {
                        index,
                        delta: Delta::SignatureDelta {
                            signature: mac.finish_carrying(&carried),
                        },
                    });
                }
                out.push(StreamEvent::BlockStop { index });
            }
        }
    }

    fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Waiting {
            self.phase = Phase::Streaming;
            out.push(StreamEvent::MessageStart {
                id: self.message_id.clone(),
                model: self.model.clone(),
                usage: Usage {
                    output_tokens: 0,
                    ..self.usage
                },
            });
        }
    }

    fn fail(&mut self, err: ApiError, out: &mut Vec<StreamEvent>) {
        self.phase = Phase::Ended;
        out.push(StreamEvent::Error(err));
    }

    /// Closes the content, says why Gemini stopped when that is not a plain end, and sends
    /// message_delta and message_stop.
    fn complete(&mut self, out: &mut Vec<StreamEvent>) {
        self.start(out);
        self.close_open(out);
        let reason = self.finish_reason.clone().unwrap_or_default();
        let note = if let Some(block) = &self.blocked_prompt {
            Some(format!(
                "(Gemini refused the prompt: block reason {block}.)"
            ))
        } else if is_blocked(&reason) || (is_abnormal(&reason) && !self.saw_tool) {
            let detail = self
                .finish_message
                .as_deref()
                .map(|m| format!(": {}", truncate(m.trim(), 300)))
                .unwrap_or_default();
            Some(format!(
                "(Gemini stopped this answer: finish reason {reason}{detail}.)"
            ))
        } else {
            None
        };
        if let Some(note) = note {
            let index = self.open_block(
                BlockStart::Text {
                    text: String::new(),
                },
                out,
            );
            out.push(StreamEvent::BlockDelta {
                index,
                delta: Delta::TextDelta { text: note },
            });
            out.push(StreamEvent::BlockStop { index });
        }
        let stop_reason = if self.blocked_prompt.is_some() || is_blocked(&reason) {
            StopReason::Refusal
        } else if reason == "MAX_TOKENS" {
            // A call cut short must not run as if it were complete.
            StopReason::MaxTokens
        } else if self.saw_tool {
            StopReason::ToolUse
        } else {
            StopReason::EndTurn
        };
        out.push(StreamEvent::MessageDelta {
            stop_reason: Some(stop_reason),
            stop_sequence: None,
            usage: self.usage,
        });
        out.push(StreamEvent::MessageStop);
        self.phase = Phase::Ended;
    }
}

/// Decodes a `streamGenerateContent?alt=sse` stream into Anthropic SSE bytes.
#[derive(Debug)]
pub struct GeminiStream {
    sse: SseParser,
    frames: Vec<SseFrame>,
    events: Vec<StreamEvent>,
    translator: Translator,
}

impl GeminiStream {
    /// A decoder for a response to `requested_model`; `signer` signs its thinking blocks.
    pub fn new(requested_model: &str, signer: Option<Signer>) -> GeminiStream {
        GeminiStream {
            sse: SseParser::new(),
            frames: Vec::new(),
            events: Vec::new(),
            translator: Translator::new(requested_model, signer),
        }
    }

    fn write(&mut self, out: &mut Vec<u8>) {
        for event in self.events.drain(..) {
            event.write_sse(out);
        }
    }
}

impl StreamDecoder for GeminiStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.sse.feed(chunk, &mut self.frames);
        for frame in self.frames.drain(..) {
            self.translator.data(&frame.data, false, &mut self.events);
        }
        self.write(out);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.sse.finish(&mut self.frames);
        for frame in self.frames.drain(..) {
            self.translator.data(&frame.data, true, &mut self.events);
        }
        self.translator.end(&mut self.events);
        self.write(out);
    }

    fn usage(&self) -> Usage {
        self.translator.usage()
    }

    fn done(&self) -> bool {
        self.translator.ended()
    }
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
            super::body_excerpt(body)
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Errors

#[derive(Deserialize)]
struct ErrorEnvelope<'a> {
    #[serde(borrow)]
    error: GoogleError<'a>,
}

/// `google.rpc.Status` as the Gemini API sends it.
#[derive(Deserialize)]
struct GoogleError<'a> {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    details: Vec<ErrorDetail<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDetail<'a> {
    #[serde(rename = "@type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    /// `google.rpc.ErrorInfo`: `API_KEY_INVALID` and the like.
    #[serde(default, borrow)]
    reason: Option<Cow<'a, str>>,
    /// `google.rpc.RetryInfo`: `"30s"`, `"1.5s"`.
    #[serde(default, borrow)]
    retry_delay: Option<Cow<'a, str>>,
}

const MAX_MESSAGE: usize = 600;

/// The error for a non-2xx Gemini answer: the kind from Google's `status` (every key problem is
/// an authentication error, though Google says 400 for an invalid key and 403 for a leaked or
/// restricted one), a prompt over the window in the words Claude Code compacts on, and
/// `RetryInfo` as `retry-after`.
pub fn upstream_error(provider: &str, status: u16, body: &[u8]) -> ApiError {
    let text = String::from_utf8_lossy(body);
    let err = error_from_value(&text, Some(status));
    if err.kind == ErrorKind::InvalidRequest {
        if let Some(too_long) = super::too_long::refusal(provider, &err.message, None) {
            return too_long;
        }
    }
    prefixed(err, provider)
}

/// The same error, its message prefixed with `source` (the provider, or the model asked for).
fn prefixed(mut err: ApiError, source: &str) -> ApiError {
    err.message = format!("{source}: {}", err.message);
    err
}

/// An error body (`{"error":…}`, or a one-element array of it) as an Anthropic error whose
/// message is Google's own, unprefixed. `http` is the status the answer came with, if any.
fn error_from_value(body: &str, http: Option<u16>) -> ApiError {
    // Serde would read an array positionally into a struct: each shape is tried by its look.
    let parsed = if body.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<ErrorEnvelope<'_>>>(body)
            .map_err(|_| ())
            .and_then(|v| v.into_iter().next().map(|e| e.error).ok_or(()))
    } else {
        serde_json::from_str::<ErrorEnvelope<'_>>(body)
            .map(|e| e.error)
            .map_err(|_| ())
    };
    match parsed {
        Ok(e) => google_error(e, http),
        Err(()) => ApiError::new(
            ErrorKind::from_status(http.unwrap_or(500)),
            super::body_excerpt(body.as_bytes()),
        ),
    }
}

/// A `google.rpc.Status` as an Anthropic error (message unprefixed); `http` as in
/// [`error_from_value`].
fn google_error(e: GoogleError<'_>, http: Option<u16>) -> ApiError {
    let status = http.or(e.code).unwrap_or(500);
    let message = e
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map_or_else(
            || {
                format!(
                    "error {status} ({})",
                    e.status.as_deref().unwrap_or("no details")
                )
            },
            |m| truncate(m, MAX_MESSAGE),
        );
    let key_invalid = e.details.iter().any(|d| {
        d.reason
            .as_deref()
            .is_some_and(|r| r == "API_KEY_INVALID" || r == "API_KEY_EXPIRED")
    }) || message.contains("API key not valid");
    let kind = if key_invalid {
        ErrorKind::Authentication
    } else {
        match e.status.as_deref() {
            Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE") => {
                ErrorKind::InvalidRequest
            }
            // Google says PERMISSION_DENIED for keys: leaked, restricted, or for a project
            // without the API; each is fixed by another key, as a missing one is.
            Some("UNAUTHENTICATED" | "PERMISSION_DENIED") => ErrorKind::Authentication,
            Some("NOT_FOUND") => ErrorKind::NotFound,
            Some("RESOURCE_EXHAUSTED") => ErrorKind::RateLimit,
            Some("UNAVAILABLE") => ErrorKind::Overloaded,
            Some("DEADLINE_EXCEEDED") => ErrorKind::Timeout,
            Some("INTERNAL" | "UNKNOWN" | "CANCELLED" | "ABORTED" | "DATA_LOSS") => ErrorKind::Api,
            _ => ErrorKind::from_status(status),
        }
    };
    // Keep Google's status where it already says the same class, else Anthropic's.
    let status = if ErrorKind::from_status(status) == kind {
        status
    } else {
        kind.status()
    };
    let retry_after = e
        .details
        .iter()
        .filter(|d| d.kind.as_deref().is_some_and(|k| k.ends_with("RetryInfo")))
        .find_map(|d| d.retry_delay.as_deref().and_then(seconds));
    ApiError {
        status,
        kind,
        message,
        retry_after,
    }
}

/// Whole seconds (rounded up) from a protobuf duration such as `"30s"` or `"1.5s"`.
fn seconds(duration: &str) -> Option<u64> {
    let secs: f64 = duration.trim().strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| secs.ceil() as u64)
}

/// At most `max` bytes of `s`, cut at a char boundary, with `…` when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
#[path = "gemini_tests.rs"]
mod tests;
