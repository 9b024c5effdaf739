//! Anthropic request → `generateContent` body: the wire types, the model turns, thinking,
//! tool declarations and the URL path.

use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;

use super::schema::{legacy_parameters, without_schema_keyword};
use super::{Family, PREVIOUS, SKIP_SIGNATURE, carried_signatures, gemini_call_id};
use crate::messages::request::{
    Block, Content, JsonString, Role, Source, Thinking, ToolResultContent,
};
use crate::messages::signature::Signer;
use crate::messages::{ApiError, MessagesRequest};

/// Gemini takes at most five stop sequences.
const MAX_STOP: usize = 5;

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
    crate::providers::encode_body(&body, req.body_len, "Gemini")
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
