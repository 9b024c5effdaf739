//! OpenAI's Responses API (`POST /responses`), both ways, for OpenAI's reasoning models.
//!
//! Chat Completions never returns the reasoning of o-series and gpt-5 models; the Responses API
//! streams a summary of it (`reasoning: {summary: "auto"}`), which becomes a thinking block, and
//! hands the reasoning itself back encrypted (`include: ["reasoning.encrypted_content"]` with
//! `store: false`) to be returned on later turns. Anthropic thinking blocks hold only text and a
//! signature, so the reasoning item's id and `encrypted_content` ride in bgw's signature
//! ([`crate::messages::signature`], the carrying form): when Claude Code sends the history
//! back, a block this provider and model signed becomes a `reasoning` item again; every other
//! thinking block is dropped.
//!
//! - [`encode_responses_request`]: a parsed Anthropic request → a `POST /responses` body;
//! - [`decode_responses_body`]: a whole response object → an Anthropic message;
//! - [`ResponsesStream`]: the typed SSE events (`response.output_text.delta`, …) → Anthropic SSE.
//!
//! Errors have the Chat Completions shape (`{"error":{…}}`): [`super::upstream_error`] reads them.
//! Lost on the way: `stop_sequences` and `top_k` (the Responses API has neither), `cache_control`,
//! server tools. Sources: https://platform.openai.com/docs/api-reference/responses ,
//! https://platform.openai.com/docs/api-reference/responses-streaming ,
//! https://platform.openai.com/docs/guides/reasoning (summaries, encrypted reasoning) ,
//! https://platform.openai.com/docs/guides/function-calling , https://platform.openai.com/docs/guides/pdf-files .

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use std::borrow::Cow;

use super::error::{WireError, truncate};
use super::request::{
    is_openai_reasoning_model, output_schema, pdf_name, reasoning_effort, upstream_tool_id,
};
use super::response::tool_input;
use super::vendors::Quirks;
use crate::messages::event::{new_message_id, new_tool_id};
use crate::messages::request::{Block, Content, JsonString, Role, Source, ToolResultContent};
use crate::messages::response::ContentOut;
use crate::messages::signature::{Signer, ThinkingMac};
use crate::messages::{
    ApiError, BlockStart, Delta, ErrorKind, MessageResponse, MessagesRequest, StopReason,
    StreamEvent, Usage, tool_id,
};
use crate::providers::blocks::Blocks;
use crate::providers::framed::{Frame, Framed, FramingError, SseFramer, Translate};

/// What a signature carries for a reasoning item: its id, a newline, its `encrypted_content`.
const CARRY_SEPARATOR: char = '\n';

// ---------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct ResponsesRequest<'r> {
    model: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<Cow<'r, str>>,
    input: Vec<Item<'r>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<FunctionTool<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ToolChoice<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<Reasoning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<TextConfig<'r>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    /// Nothing is kept at OpenAI: every request carries its whole history.
    store: bool,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    include: &'static [&'static str],
}

#[derive(Serialize)]
struct Reasoning {
    effort: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'static str>,
}

#[derive(Serialize)]
struct TextConfig<'r> {
    format: SchemaFormat<'r>,
}

#[derive(Serialize)]
struct SchemaFormat<'r> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    schema: &'r RawValue,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Item<'r> {
    Message {
        role: &'static str,
        content: Parts<'r>,
    },
    FunctionCall {
        call_id: Cow<'r, str>,
        name: &'r str,
        /// The tool input exactly as the client sent it, as a JSON string.
        arguments: &'r str,
    },
    FunctionCallOutput {
        call_id: Cow<'r, str>,
        output: Parts<'r>,
    },
    Reasoning {
        id: String,
        summary: Vec<SummaryText>,
        encrypted_content: String,
    },
}

#[derive(Serialize)]
struct SummaryText {
    #[serde(rename = "type")]
    kind: &'static str,
    text: String,
}

/// A message's content, or a function call's output: a string, or typed parts.
#[derive(Serialize)]
#[serde(untagged)]
enum Parts<'r> {
    Text(Cow<'r, str>),
    List(Vec<Part<'r>>),
}

#[derive(Serialize)]
#[serde(tag = "type")]
enum Part<'r> {
    #[serde(rename = "input_text")]
    Text { text: Cow<'r, str> },
    #[serde(rename = "input_image")]
    Image {
        image_url: Url<'r>,
        detail: &'static str,
    },
    #[serde(rename = "input_file")]
    File {
        #[serde(skip_serializing_if = "Option::is_none")]
        filename: Option<Cow<'r, str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_data: Option<Url<'r>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_url: Option<&'r str>,
    },
}

/// A URL; base64 data is written as a `data:` URL without an intermediate copy.
enum Url<'r> {
    Plain(&'r str),
    Data { media_type: &'r str, data: &'r str },
}

impl Serialize for Url<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Url::Plain(u) => s.serialize_str(u),
            Url::Data { media_type, data } => {
                s.collect_str(&format_args!("data:{media_type};base64,{data}"))
            }
        }
    }
}

#[derive(Serialize)]
struct FunctionTool<'r> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<JsonString<'r>>,
    /// The JSON Schema, byte for byte.
    parameters: &'r RawValue,
    /// Claude Code's schemas do not meet strict mode's rules.
    strict: bool,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ToolChoice<'r> {
    Mode(&'static str),
    Function {
        #[serde(rename = "type")]
        kind: &'static str,
        name: &'r str,
    },
}

/// Encodes `req` as a Responses API body for `upstream_model`.
///
/// The system prompt becomes `instructions`; a `role: "system"` turn in the middle of the
/// conversation a `developer` message. A thinking block goes back as a `reasoning` item only
/// when `own` recognises it as written by this very provider and model and its signature
/// carries the encrypted reasoning; every other thinking and `redacted_thinking` block is
/// dropped.
///
/// `summaries: false` asks for no reasoning summary: OpenAI refuses summaries to organizations
/// it has not verified ([`refuses_reasoning_summaries`]); the reasoning then still travels
/// encrypted, only its text is not shown.
pub fn encode_responses_request(
    req: &MessagesRequest<'_>,
    upstream_model: &str,
    quirks: &Quirks,
    stream: bool,
    own: Option<&Signer>,
    summaries: bool,
) -> Result<Vec<u8>, ApiError> {
    let reasoning_model = is_openai_reasoning_model(upstream_model);
    let mut input = Input::new(quirks, own);
    for message in &req.messages {
        match message.role {
            Role::Assistant => input.assistant(&message.content),
            Role::User => input.user(&message.content),
            Role::System => input.system(message.content.joined_text()),
        }
    }
    let items = input.finish();
    if items.is_empty() {
        return Err(ApiError::invalid(
            "the request has no message with content to send: `messages` is empty or holds only empty turns",
        ));
    }
    let instructions = req
        .system
        .as_ref()
        .map(|s| s.joined_text())
        .filter(|s| !s.trim().is_empty());

    let tools: Vec<FunctionTool<'_>> = req
        .tools
        .iter()
        .flatten()
        .filter(|t| t.is_custom())
        .filter_map(|t| {
            Some(FunctionTool {
                kind: "function",
                name: &t.name,
                description: t.description,
                parameters: t.input_schema?,
                strict: false,
            })
        })
        .collect();
    let (tool_choice, parallel_tool_calls) = match (&req.tool_choice, tools.is_empty()) {
        (Some(choice), false) => {
            let mapped = match choice.kind.as_ref() {
                "auto" => Some(ToolChoice::Mode("auto")),
                "any" => Some(ToolChoice::Mode("required")),
                "none" => Some(ToolChoice::Mode("none")),
                "tool" => Some(match choice.name.as_deref() {
                    Some(name) => ToolChoice::Function {
                        kind: "function",
                        name,
                    },
                    None => ToolChoice::Mode("required"),
                }),
                _ => None,
            };
            let serial = choice.disable_parallel_tool_use == Some(true)
                && quirks.parallel_tool_calls
                && choice.kind != "none";
            (mapped, serial.then_some(false))
        }
        _ => (None, None),
    };

    let body = ResponsesRequest {
        model: upstream_model,
        instructions,
        input: items,
        tools,
        tool_choice,
        parallel_tool_calls,
        max_output_tokens: req.max_tokens,
        // Reasoning models answer 400 to any non-default sampling value.
        temperature: req.temperature.filter(|_| !reasoning_model),
        top_p: req.top_p.filter(|_| !reasoning_model),
        reasoning: reasoning_effort(req)
            .filter(|_| reasoning_model)
            .map(|effort| Reasoning {
                effort,
                summary: summaries.then_some("auto"),
            }),
        text: output_schema(req).map(|schema| TextConfig {
            format: SchemaFormat {
                kind: "json_schema",
                name: "output",
                schema,
            },
        }),
        stream,
        store: false,
        include: if reasoning_model {
            &["reasoning.encrypted_content"]
        } else {
            &[]
        },
    };
    crate::providers::encode_body(&body, req.body_len, "OpenAI Responses")
}

#[derive(Deserialize)]
struct ErrorParam<'a> {
    #[serde(borrow)]
    error: ParamOnly<'a>,
}

#[derive(Deserialize)]
struct ParamOnly<'a> {
    #[serde(default, borrow)]
    param: Option<Cow<'a, str>>,
}

/// Whether an error answer refuses reasoning summaries: OpenAI answers 400 with
/// `param: "reasoning.summary"` (code `unsupported_value`, "Your organization must be verified
/// to generate reasoning summaries") to organizations it has not verified. The same request
/// without a summary is accepted.
pub fn refuses_reasoning_summaries(status: u16, body: &[u8]) -> bool {
    status == 400
        && serde_json::from_slice::<ErrorParam<'_>>(body)
            .is_ok_and(|b| b.error.param.as_deref() == Some("reasoning.summary"))
}

/// Walks the Anthropic turns and builds input items: every `function_call` gets its
/// `function_call_output` (OpenAI refuses a call without one), and a `reasoning` item stands
/// right before the item it led to (OpenAI refuses one without it).
struct Input<'r, 'q> {
    quirks: &'q Quirks,
    own: Option<&'q Signer>,
    items: Vec<Item<'r>>,
    /// Calls of the last assistant turn still waiting for their output.
    unanswered: Vec<Cow<'r, str>>,
    /// Developer messages that arrived while calls were waiting.
    deferred: Vec<Item<'r>>,
}

impl<'r, 'q> Input<'r, 'q> {
    fn new(quirks: &'q Quirks, own: Option<&'q Signer>) -> Self {
        Input {
            quirks,
            own,
            items: Vec::new(),
            unanswered: Vec::new(),
            deferred: Vec::new(),
        }
    }

    fn system(&mut self, text: Cow<'r, str>) {
        if text.trim().is_empty() {
            return;
        }
        let item = Item::Message {
            role: "developer",
            content: Parts::Text(text),
        };
        if self.unanswered.is_empty() {
            self.items.push(item);
        } else {
            self.deferred.push(item);
        }
    }

    fn assistant(&mut self, content: &'r Content<'_>) {
        self.answer_the_rest();
        let blocks = match content {
            Content::Text(t) => {
                if !t.trim().is_empty() {
                    self.items.push(assistant_text(Cow::Borrowed(t)));
                }
                return;
            }
            Content::Blocks(blocks) => blocks,
        };
        let mut text: Vec<&'r str> = Vec::new();
        let mut reasoning: Option<Item<'r>> = None;
        for block in blocks {
            match block {
                Block::Thinking {
                    thinking,
                    signature,
                } => {
                    self.flush_text(&mut text);
                    reasoning = self.reasoning_item(thinking, signature.as_deref());
                }
                Block::Text { text: t } if !t.is_empty() => {
                    if let Some(r) = reasoning.take() {
                        self.items.push(r);
                    }
                    text.push(t);
                }
                Block::ToolUse { id, name, input } => {
                    self.flush_text(&mut text);
                    if let Some(r) = reasoning.take() {
                        self.items.push(r);
                    }
                    let call_id = upstream_tool_id(id, self.quirks);
                    self.unanswered.push(call_id.clone());
                    self.items.push(Item::FunctionCall {
                        call_id,
                        name,
                        arguments: input.get(),
                    });
                }
                _ => {}
            }
        }
        self.flush_text(&mut text);
        // A reasoning item left last in its turn led to nothing that was kept: it is dropped.
    }

    /// The `reasoning` item for a thinking block this provider and model wrote, if its
    /// signature carries the reasoning itself.
    fn reasoning_item(&self, thinking: &str, signature: Option<&str>) -> Option<Item<'r>> {
        let carried = self.own?.carried(signature?, thinking)?;
        let carried = String::from_utf8(carried).ok()?;
        let (id, encrypted) = carried.split_once(CARRY_SEPARATOR)?;
        if id.is_empty() || encrypted.is_empty() {
            return None;
        }
        let summary = if thinking.is_empty() {
            Vec::new()
        } else {
            vec![SummaryText {
                kind: "summary_text",
                text: thinking.to_owned(),
            }]
        };
        Some(Item::Reasoning {
            id: id.to_owned(),
            summary,
            encrypted_content: encrypted.to_owned(),
        })
    }

    fn flush_text(&mut self, text: &mut Vec<&'r str>) {
        let joined = match text.as_slice() {
            [] => return,
            [one] => Cow::Borrowed(*one),
            many => Cow::Owned(many.join("\n\n")),
        };
        text.clear();
        self.items.push(assistant_text(joined));
    }

    fn user(&mut self, content: &'r Content<'_>) {
        let blocks = match content {
            Content::Text(t) => {
                self.answer_the_rest();
                if !t.trim().is_empty() {
                    self.items.push(Item::Message {
                        role: "user",
                        content: Parts::Text(Cow::Borrowed(t)),
                    });
                }
                return;
            }
            Content::Blocks(blocks) => blocks,
        };
        let mut parts = Vec::new();
        for block in blocks {
            match block {
                Block::ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                } => {
                    let call_id = upstream_tool_id(tool_use_id, self.quirks);
                    self.unanswered.retain(|u| *u != call_id);
                    self.items.push(Item::FunctionCallOutput {
                        call_id,
                        output: tool_output(content, *is_error),
                    });
                }
                other => push_part(other, &mut parts),
            }
        }
        self.answer_the_rest();
        if !parts.is_empty() {
            self.items.push(Item::Message {
                role: "user",
                content: single_text(parts),
            });
        }
    }

    /// Gives every call left unanswered an output, then releases held developer messages.
    fn answer_the_rest(&mut self) {
        for call_id in std::mem::take(&mut self.unanswered) {
            self.items.push(Item::FunctionCallOutput {
                call_id,
                output: Parts::Text(Cow::Borrowed("(no result was recorded for this tool call)")),
            });
        }
        self.items.append(&mut self.deferred);
    }

    fn finish(mut self) -> Vec<Item<'r>> {
        self.answer_the_rest();
        self.items
    }
}

fn assistant_text(text: Cow<'_, str>) -> Item<'_> {
    // A plain string: an assistant message's parts would have to be `output_text`.
    Item::Message {
        role: "assistant",
        content: Parts::Text(text),
    }
}

/// Parts as a plain string when they are one text.
fn single_text(mut parts: Vec<Part<'_>>) -> Parts<'_> {
    if parts.len() == 1 && matches!(parts[0], Part::Text { .. }) {
        if let Some(Part::Text { text }) = parts.pop() {
            return Parts::Text(text);
        }
    }
    Parts::List(parts)
}

/// Adds a user-side block as an input part; kinds without a Responses form are dropped.
fn push_part<'r>(block: &'r Block<'_>, parts: &mut Vec<Part<'r>>) {
    match block {
        Block::Text { text } if !text.is_empty() => parts.push(Part::Text {
            text: Cow::Borrowed(text),
        }),
        Block::Image { source } => parts.push(match source {
            Source::Base64 { media_type, data } => Part::Image {
                image_url: Url::Data { media_type, data },
                detail: "auto",
            },
            Source::Url { url } => Part::Image {
                image_url: Url::Plain(url),
                detail: "auto",
            },
            Source::Text { .. } | Source::Other { .. } => Part::Text {
                text: Cow::Borrowed(
                    "[image omitted: its source type cannot be sent to this model]",
                ),
            },
        }),
        Block::Document { source, title } => parts.push(match source {
            Source::Base64 { media_type, data } => Part::File {
                filename: Some(pdf_name(title.as_deref())),
                file_data: Some(Url::Data { media_type, data }),
                file_url: None,
            },
            Source::Url { url } => Part::File {
                filename: None,
                file_data: None,
                file_url: Some(url),
            },
            Source::Text { data } => Part::Text {
                text: match title {
                    None => Cow::Borrowed(data.as_ref()),
                    Some(title) => Cow::Owned(format!("{title}\n\n{data}")),
                },
            },
            Source::Other { kind } => Part::Text {
                text: Cow::Owned(format!(
                    "[document{}{} omitted: its source type `{kind}` cannot be sent to this model]",
                    if title.is_some() { " " } else { "" },
                    title.as_deref().unwrap_or("")
                )),
            },
        }),
        _ => {}
    }
}

/// A tool result as a `function_call_output`: a string, or parts when it holds images or
/// files (the Responses API takes both). An error result starts `Error: ` (there is no error
/// flag), unless it already says so.
fn tool_output<'r>(content: &'r ToolResultContent<'_>, is_error: bool) -> Parts<'r> {
    let mut parts = match content {
        ToolResultContent::Empty => Vec::new(),
        ToolResultContent::Text(t) => vec![Part::Text {
            text: Cow::Borrowed(t),
        }],
        ToolResultContent::Blocks(blocks) => {
            let mut parts = Vec::new();
            for b in blocks {
                push_part(b, &mut parts);
            }
            parts
        }
    };
    let all_text = parts.iter().all(|p| matches!(p, Part::Text { .. }));
    if all_text {
        let texts: Vec<Cow<'r, str>> = parts
            .into_iter()
            .filter_map(|p| match p {
                Part::Text { text } => Some(text),
                _ => None,
            })
            .collect();
        let text = match texts.len() {
            0 => Cow::Borrowed(""),
            1 => texts.into_iter().next().unwrap_or_default(),
            _ => Cow::Owned(texts.join("\n\n")),
        };
        let text = if text.trim().is_empty() {
            Cow::Borrowed("(no output)")
        } else {
            text
        };
        return Parts::Text(mark_error(text, is_error));
    }
    if is_error {
        match parts.first_mut() {
            Some(Part::Text { text }) => {
                *text = mark_error(std::mem::take(text), true);
            }
            _ => parts.insert(
                0,
                Part::Text {
                    text: Cow::Borrowed("Error:"),
                },
            ),
        }
    }
    Parts::List(parts)
}

fn mark_error(text: Cow<'_, str>, is_error: bool) -> Cow<'_, str> {
    if is_error && !text.starts_with("Error") {
        Cow::Owned(format!("Error: {text}"))
    } else {
        text
    }
}

// ---------------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------------

/// A response object (a whole body, or inside `response.completed` and its kin).
#[derive(Deserialize)]
struct ResponseObject<'a> {
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default, borrow)]
    incomplete_details: Option<IncompleteDetails<'a>>,
    #[serde(default, borrow)]
    error: Option<WireError<'a>>,
    /// Read only for whole bodies (a stream has given every item already).
    #[serde(default, borrow)]
    output: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct IncompleteDetails<'a> {
    #[serde(default, borrow)]
    reason: Option<Cow<'a, str>>,
}

/// Responses `usage`: `input_tokens` includes cached ones, `output_tokens` the reasoning.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    cache_write_tokens: Option<u64>,
}

impl WireUsage {
    fn to_anthropic(self) -> Usage {
        let details = self.input_tokens_details.unwrap_or_default();
        let read = details.cached_tokens.unwrap_or(0).min(self.input_tokens);
        let written = details
            .cache_write_tokens
            .unwrap_or(0)
            .min(self.input_tokens - read);
        Usage {
            cache_creation: None,
            input_tokens: self.input_tokens - read - written,
            output_tokens: self.output_tokens,
            cache_creation_input_tokens: written,
            cache_read_input_tokens: read,
        }
    }
}

/// One output item: `reasoning`, `message` or `function_call` (others are ignored).
#[derive(Deserialize)]
struct OutputItem<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    call_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    encrypted_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    summary: Option<Vec<TextPart<'a>>>,
    #[serde(default, borrow)]
    content: Option<Vec<TextPart<'a>>>,
}

#[derive(Deserialize)]
struct TextPart<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    refusal: Option<Cow<'a, str>>,
}

impl OutputItem<'_> {
    /// What a signature carries for this reasoning item, if OpenAI gave its encrypted content.
    fn carried(&self) -> Option<String> {
        let id = self.id.as_deref().filter(|i| !i.is_empty())?;
        let encrypted = self
            .encrypted_content
            .as_deref()
            .filter(|e| !e.is_empty())?;
        Some(format!("{id}{CARRY_SEPARATOR}{encrypted}"))
    }
}

/// The stop reason of a finished response.
fn stop_reason(response: &ResponseObject<'_>, saw_tool: bool) -> StopReason {
    let incomplete =
        response.status.as_deref() == Some("incomplete") || response.incomplete_details.is_some();
    let reason = response
        .incomplete_details
        .as_ref()
        .and_then(|d| d.reason.as_deref());
    match reason {
        Some("max_output_tokens") if incomplete => StopReason::MaxTokens,
        Some("content_filter") if incomplete => StopReason::Refusal,
        _ if saw_tool => StopReason::ToolUse,
        _ => StopReason::EndTurn,
    }
}

/// The error of a failed response (`response.failed`, or a body with `status: "failed"`).
fn failure(response: &ResponseObject<'_>, model: &str) -> ApiError {
    match &response.error {
        Some(e) => e.to_api_error(model),
        None => ApiError::new(
            ErrorKind::Api,
            format!("{model}: the upstream response failed without saying why"),
        ),
    }
}

/// Decodes a whole Responses API body; `model` in the result is `requested_model`, and
/// `signer` signs the thinking block made of each reasoning item, carrying its encrypted
/// reasoning.
pub fn decode_responses_body(
    body: &[u8],
    requested_model: &str,
    signer: Option<&Signer>,
) -> Result<MessageResponse, ApiError> {
    let parsed: ResponseObject<'_> = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ErrorKind::Api,
            format!(
                "{requested_model}: the upstream answered with a body that is not a response object ({e}): {}",
                super::super::body_excerpt(body)
            ),
        )
    })?;
    if parsed.error.is_some() || parsed.status.as_deref() == Some("failed") {
        return Err(failure(&parsed, requested_model));
    }
    let Some(output) = parsed.output else {
        return Err(ApiError::new(
            ErrorKind::Api,
            format!(
                "{requested_model}: the upstream answered with a body that is not a response object (no `output`): {}",
                super::super::body_excerpt(body)
            ),
        ));
    };
    let items: Vec<OutputItem<'_>> = serde_json::from_str(output.get()).map_err(|e| {
        ApiError::new(
            ErrorKind::Api,
            format!("{requested_model}: the upstream response has unreadable output ({e})"),
        )
    })?;
    let mut content = Vec::new();
    let mut saw_tool = false;
    for item in &items {
        match item.kind.as_ref() {
            "reasoning" => {
                let texts: Vec<&str> = item
                    .summary
                    .iter()
                    .flatten()
                    .filter_map(|p| p.text.as_deref())
                    .filter(|t| !t.is_empty())
                    .collect();
                let thinking = texts.join("\n\n");
                let carried = item.carried();
                let signature = match (signer, &carried) {
                    (Some(s), Some(c)) => s.sign_carrying(&thinking, c.as_bytes()),
                    (Some(s), None) if !thinking.is_empty() => s.sign_carrying(&thinking, &[]),
                    _ => String::new(),
                };
                if !thinking.is_empty() || !signature.is_empty() {
                    content.push(ContentOut::Thinking {
                        thinking,
                        signature,
                    });
                }
            }
            "message" => {
                let text: String = item
                    .content
                    .iter()
                    .flatten()
                    .filter_map(|p| match p.kind.as_deref() {
                        Some("refusal") => p.refusal.as_deref(),
                        _ => p.text.as_deref(),
                    })
                    .collect();
                if !text.is_empty() {
                    content.push(ContentOut::Text { text });
                }
            }
            "function_call" => {
                saw_tool = true;
                content.push(ContentOut::ToolUse {
                    id: anthropic_call_id(item.call_id.as_deref()),
                    name: item.name.as_deref().unwrap_or_default().to_owned(),
                    input: tool_input(item.arguments.as_deref().unwrap_or("")),
                });
            }
            _ => {}
        }
    }
    Ok(MessageResponse {
        id: new_message_id(),
        kind: "message",
        role: "assistant",
        model: requested_model.to_owned(),
        content,
        stop_reason: Some(stop_reason(&parsed, saw_tool)),
        stop_sequence: None,
        usage: parsed.usage.unwrap_or_default().to_anthropic(),
    })
}

/// The id Claude Code gets for an OpenAI `call_id` (in Anthropic's pattern; invented if absent).
fn anthropic_call_id(call_id: Option<&str>) -> String {
    match call_id.filter(|c| !c.is_empty()) {
        Some(c) => tool_id::for_anthropic(c).into_owned(),
        None => new_tool_id(),
    }
}

// ---------------------------------------------------------------------------------------------
// Stream
// ---------------------------------------------------------------------------------------------

/// One streaming event; only the fields bgw reads.
#[derive(Deserialize)]
struct WireEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    delta: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    item_id: Option<Cow<'a, str>>,
    #[serde(default)]
    summary_index: Option<u64>,
    #[serde(default, borrow)]
    item: Option<OutputItem<'a>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    response: Option<ResponseObject<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Open {
    Nothing,
    Text {
        index: usize,
        item: String,
    },
    Thinking {
        index: usize,
        item: String,
    },
    Tool {
        index: usize,
        item: String,
        sent: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Streaming,
    Ended,
}

/// The pure state machine from Responses stream events to Anthropic events.
///
/// OpenAI streams output items one after another (`response.output_item.added` … `.done`),
/// so each maps to one Anthropic block opened when its first content arrives: reasoning
/// summary text → `thinking` (summary parts joined by a blank line; signed at the item's
/// `done`, carrying its encrypted content), output text and refusals → `text`, a function call
/// → `tool_use` (its arguments as `input_json_delta`s).
#[derive(Debug)]
pub struct Translator {
    message_id: String,
    model: String,
    phase: Phase,
    blocks: Blocks,
    open: Open,
    /// The summary part the open thinking block is in.
    summary_index: Option<u64>,
    saw_tool: bool,
    usage: Usage,
    signer: Option<Signer>,
    mac: Option<ThinkingMac>,
}

impl Translator {
    fn new(requested_model: &str) -> Translator {
        Translator {
            message_id: new_message_id(),
            model: requested_model.to_owned(),
            phase: Phase::Waiting,
            blocks: Blocks::default(),
            open: Open::Nothing,
            summary_index: None,
            saw_tool: false,
            usage: Usage::default(),
            signer: None,
            mac: None,
        }
    }

    /// `at_eof`: the frame was cut by the connection closing; if it does not parse it is the
    /// torn end of the stream, reported by [`Translator::end`].
    fn frame(&mut self, data: &str, at_eof: bool, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Ended {
            return;
        }
        let data = data.trim();
        if data.is_empty() || data == "[DONE]" {
            return;
        }
        match serde_json::from_str::<WireEvent<'_>>(data) {
            Ok(event) => self.event(event, data, out),
            Err(_) if at_eof => {}
            Err(e) => self.fail(
                ApiError::new(
                    ErrorKind::Api,
                    format!(
                        "{}: the upstream stream sent an event that is not valid JSON ({e}): {}",
                        self.model,
                        truncate(data, 200)
                    ),
                ),
                out,
            ),
        }
    }

    fn event(&mut self, event: WireEvent<'_>, data: &str, out: &mut Vec<StreamEvent>) {
        let item_id = event.item_id.as_deref().unwrap_or_default();
        match event.kind.as_ref() {
            "error" => {
                let err = match serde_json::from_str::<WireError<'_>>(data) {
                    Ok(e) => e.to_api_error(&self.model),
                    Err(_) => ApiError::new(
                        ErrorKind::Api,
                        format!("{}: the upstream stream failed", self.model),
                    ),
                };
                self.fail(err, out);
            }
            "response.failed" => {
                let err = match &event.response {
                    Some(r) => failure(r, &self.model),
                    None => failure(&empty_response(), &self.model),
                };
                self.fail(err, out);
            }
            "response.completed" | "response.incomplete" => {
                self.start(out);
                let response = event.response.unwrap_or_else(empty_response);
                if let Some(u) = response.usage {
                    self.usage = u.to_anthropic();
                }
                self.close_open(out);
                out.push(StreamEvent::MessageDelta {
                    stop_reason: Some(stop_reason(&response, self.saw_tool)),
                    stop_sequence: None,
                    usage: self.usage,
                });
                out.push(StreamEvent::MessageStop);
                self.phase = Phase::Ended;
            }
            "response.output_item.added" => {
                self.start(out);
                if let Some(item) = event.item {
                    if item.kind == "function_call" {
                        self.open_tool(&item, out);
                    } else {
                        self.close_open(out);
                    }
                }
            }
            "response.reasoning_summary_text.delta" => {
                self.start(out);
                let delta = event.delta.unwrap_or_default();
                if delta.is_empty() {
                    return;
                }
                let index = self.ensure_thinking(item_id, out);
                let part = event.summary_index.unwrap_or(0);
                let separator = self.summary_index.is_some_and(|p| p != part);
                self.summary_index = Some(part);
                if separator {
                    self.thinking_delta(index, "\n\n".to_owned(), out);
                }
                self.thinking_delta(index, delta.into_owned(), out);
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                self.start(out);
                let delta = event.delta.unwrap_or_default();
                if delta.is_empty() {
                    return;
                }
                let index = self.ensure_text(item_id, out);
                out.push(StreamEvent::BlockDelta {
                    index,
                    delta: Delta::TextDelta {
                        text: delta.into_owned(),
                    },
                });
            }
            "response.function_call_arguments.delta" => {
                if let Some(delta) = event.delta.filter(|d| !d.is_empty()) {
                    self.arguments(item_id, &delta, out);
                }
            }
            "response.function_call_arguments.done" => {
                if !self.tool_sent(item_id) {
                    if let Some(args) = event.arguments.filter(|a| !a.is_empty()) {
                        self.arguments(item_id, &args, out);
                    }
                }
            }
            "response.output_item.done" => {
                if let Some(item) = event.item {
                    self.item_done(&item, out);
                }
            }
            // response.created, .in_progress, content parts, annotations, …
            _ => self.start(out),
        }
    }

    fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Waiting {
            self.phase = Phase::Streaming;
            out.push(StreamEvent::MessageStart {
                id: self.message_id.clone(),
                model: self.model.clone(),
                usage: self.usage,
            });
        }
    }

    fn fail(&mut self, err: ApiError, out: &mut Vec<StreamEvent>) {
        self.phase = Phase::Ended;
        out.push(StreamEvent::Error(err));
    }

    /// The upstream closed; without `response.completed` (or its kin) the response is cut short.
    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        if self.phase != Phase::Ended {
            self.fail(
                ApiError::new(
                    ErrorKind::Api,
                    format!(
                        "{}: the stream ended before the response was complete",
                        self.model
                    ),
                ),
                out,
            );
        }
    }

    fn open_block(&mut self, block: BlockStart, out: &mut Vec<StreamEvent>) -> usize {
        self.blocks.start(block, out)
    }

    fn ensure_text(&mut self, item: &str, out: &mut Vec<StreamEvent>) -> usize {
        if let Open::Text { index, item: open } = &self.open {
            if open == item {
                return *index;
            }
        }
        self.close_open(out);
        let index = self.open_block(
            BlockStart::Text {
                text: String::new(),
            },
            out,
        );
        self.open = Open::Text {
            index,
            item: item.to_owned(),
        };
        index
    }

    fn ensure_thinking(&mut self, item: &str, out: &mut Vec<StreamEvent>) -> usize {
        if let Open::Thinking { index, item: open } = &self.open {
            if open == item {
                return *index;
            }
        }
        self.close_open(out);
        // Starts unsigned, as Anthropic's do; the signature comes last (`close_thinking`).
        self.mac = self.signer.as_ref().map(Signer::start_carrying);
        self.summary_index = None;
        let index = self.open_block(
            BlockStart::Thinking {
                thinking: String::new(),
                signature: String::new(),
            },
            out,
        );
        self.open = Open::Thinking {
            index,
            item: item.to_owned(),
        };
        index
    }

    fn thinking_delta(&mut self, index: usize, thinking: String, out: &mut Vec<StreamEvent>) {
        if let Some(mac) = &mut self.mac {
            mac.update(&thinking);
        }
        out.push(StreamEvent::BlockDelta {
            index,
            delta: Delta::ThinkingDelta { thinking },
        });
    }

    /// Ends a thinking block: its signature (carrying `carried`), if signing, then its stop.
    fn close_thinking(&mut self, index: usize, carried: &[u8], out: &mut Vec<StreamEvent>) {
        let signature = self.mac.take().map(|mac| mac.finish_carrying(carried));
        Blocks::stop_thinking(index, signature, out);
    }

    fn open_tool(&mut self, item: &OutputItem<'_>, out: &mut Vec<StreamEvent>) {
        self.close_open(out);
        let index = self.open_block(
            BlockStart::ToolUse {
                id: anthropic_call_id(item.call_id.as_deref()),
                name: item.name.as_deref().unwrap_or_default().to_owned(),
                input: serde_json::Map::new(),
            },
            out,
        );
        self.saw_tool = true;
        self.open = Open::Tool {
            index,
            item: item.id.as_deref().unwrap_or_default().to_owned(),
            sent: false,
        };
        if let Some(args) = item.arguments.as_deref().filter(|a| !a.is_empty()) {
            let id = item.id.as_deref().unwrap_or_default().to_owned();
            self.arguments(&id, args, out);
        }
    }

    /// Arguments of the open call; a fragment for a call no longer open cannot be placed.
    fn arguments(&mut self, item: &str, args: &str, out: &mut Vec<StreamEvent>) {
        if let Open::Tool {
            index,
            item: open,
            sent,
        } = &mut self.open
        {
            if open == item {
                *sent = true;
                out.push(StreamEvent::BlockDelta {
                    index: *index,
                    delta: Delta::InputJsonDelta {
                        partial_json: args.to_owned(),
                    },
                });
            }
        }
    }

    fn tool_sent(&self, item: &str) -> bool {
        matches!(&self.open, Open::Tool { item: open, sent, .. } if open == item && *sent)
    }

    fn item_done(&mut self, item: &OutputItem<'_>, out: &mut Vec<StreamEvent>) {
        let id = item.id.as_deref().unwrap_or_default();
        match item.kind.as_ref() {
            "reasoning" => {
                let carried = item.carried();
                let open_here = matches!(&self.open, Open::Thinking { item, .. } if item == id);
                if !open_here {
                    // No summary streamed; the block is still worth having when it carries
                    // the reasoning for the next turn.
                    if carried.is_none() || self.signer.is_none() {
                        return;
                    }
                    self.ensure_thinking(id, out);
                }
                if let Open::Thinking { index, .. } =
                    std::mem::replace(&mut self.open, Open::Nothing)
                {
                    let carried = carried.unwrap_or_default();
                    self.close_thinking(index, carried.as_bytes(), out);
                }
            }
            "function_call" => {
                if !self.tool_sent(id) {
                    if let Some(args) = item.arguments.as_deref().filter(|a| !a.is_empty()) {
                        self.arguments(id, args, out);
                    }
                }
                if matches!(&self.open, Open::Tool { item, .. } if item == id) {
                    self.close_open(out);
                }
            }
            "message" => {
                if matches!(&self.open, Open::Text { item, .. } if item == id) {
                    self.close_open(out);
                }
            }
            _ => {}
        }
    }

    fn close_open(&mut self, out: &mut Vec<StreamEvent>) {
        match std::mem::replace(&mut self.open, Open::Nothing) {
            Open::Nothing => {}
            Open::Thinking { index, .. } => self.close_thinking(index, &[], out),
            Open::Text { index, .. } | Open::Tool { index, .. } => {
                Blocks::stop(index, out);
            }
        }
    }
}

fn empty_response<'a>() -> ResponseObject<'a> {
    ResponseObject {
        status: None,
        usage: None,
        incomplete_details: None,
        error: None,
        output: None,
    }
}

/// Decodes a Responses API SSE stream into Anthropic SSE bytes.
pub type ResponsesStream = Framed<SseFramer, Translator>;

impl ResponsesStream {
    /// A decoder for a response to `requested_model` (echoed as the message's `model`); its
    /// thinking blocks are unsigned unless [`ResponsesStream::signing_thinking`] is used.
    pub fn new(requested_model: &str) -> ResponsesStream {
        Framed::with(SseFramer::default(), Translator::new(requested_model))
    }

    /// Signs every thinking block with `signer`, carrying the encrypted reasoning.
    pub fn signing_thinking(mut self, signer: Signer) -> ResponsesStream {
        self.translator.signer = Some(signer);
        self
    }
}

impl Translate for Translator {
    fn frame(&mut self, frame: &Frame, last: bool, out: &mut Vec<StreamEvent>) {
        Translator::frame(self, &frame.data, last, out);
    }

    fn broken(&mut self, error: &FramingError, out: &mut Vec<StreamEvent>) {
        if self.phase != Phase::Ended {
            let err = error.to_api_error(&self.model);
            self.fail(err, out);
        }
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        Translator::end(self, out);
    }

    fn usage(&self) -> Usage {
        self.usage
    }

    fn ended(&self) -> bool {
        self.phase == Phase::Ended
    }
}

#[cfg(test)]
#[path = "responses_tests.rs"]
mod tests;
