//! Anthropic Messages request → OpenAI Chat Completions request body.
//!
//! The body is serialized straight from borrowed views of the parsed request: strings
//! and tool schemas are written from the client's bytes, never copied into a tree.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt::Write as _;

use super::vendors::{MaxTokensField, Quirks, ReasoningParam};
use crate::messages::request::{
    Block, Content, JsonString, Role, Source, Thinking, ToolResultContent,
};
use crate::messages::signature::Signer;
use crate::messages::{ApiError, MessagesRequest, tool_id};

/// OpenAI accepts at most four stop sequences.
const MAX_STOP: usize = 4;
/// OpenAI refuses a longer `user` (Claude Code's `metadata.user_id` is ~150 characters).
const MAX_USER: usize = 64;
/// OpenAI refuses longer tool call ids.
const MAX_TOOL_ID: usize = 64;
/// `reasoning_content` for an assistant turn whose own reasoning bgw cannot hand back (another
/// model wrote the turn, or its thinking block lost its signature): DeepSeek answers 400 to a
/// tool loop with a turn missing it, and treats an empty string as missing.
const NO_REASONING: &str = "(The reasoning for this step is not available.)";

#[derive(Serialize)]
struct ChatRequest<'r> {
    model: &'r str,
    messages: Vec<ChatMessage<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop: &'r [Cow<'r, str>],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ChatTool<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ChatToolChoice<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Cow<'r, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<OpenRouterReasoning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<ResponseFormat<'r>>,
}

#[derive(Serialize)]
struct ResponseFormat<'r> {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: JsonSchemaFormat<'r>,
}

#[derive(Serialize)]
struct JsonSchemaFormat<'r> {
    name: &'static str,
    schema: &'r RawValue,
}

/// Anthropic's `output_config.format`.
#[derive(serde::Deserialize)]
struct AnthropicFormat<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    schema: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct OpenRouterReasoning {
    effort: &'static str,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum ChatMessage<'r> {
    System {
        content: Cow<'r, str>,
    },
    User {
        content: UserContent<'r>,
    },
    Assistant {
        content: Option<Cow<'r, str>>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallOut<'r>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reasoning_content: Option<String>,
    },
    Tool {
        tool_call_id: Cow<'r, str>,
        content: Cow<'r, str>,
    },
}

#[derive(Serialize)]
#[serde(untagged)]
enum UserContent<'r> {
    Text(Cow<'r, str>),
    Parts(Vec<Part<'r>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'r> {
    Text {
        text: Cow<'r, str>,
    },
    ImageUrl {
        image_url: ImageUrl<'r>,
    },
    /// A PDF, as OpenAI's Chat Completions takes one (base64 in a `data:` URL).
    File {
        file: FileData<'r>,
    },
}

#[derive(Serialize)]
struct FileData<'r> {
    filename: Cow<'r, str>,
    file_data: ImageSrc<'r>,
}

#[derive(Serialize)]
struct ImageUrl<'r> {
    url: ImageSrc<'r>,
}

/// An image URL; base64 data is written as a `data:` URL without an intermediate copy.
enum ImageSrc<'r> {
    Url(&'r str),
    Data { media_type: &'r str, data: &'r str },
}

impl Serialize for ImageSrc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ImageSrc::Url(u) => s.serialize_str(u),
            ImageSrc::Data { media_type, data } => {
                s.collect_str(&format_args!("data:{media_type};base64,{data}"))
            }
        }
    }
}

#[derive(Serialize)]
struct ToolCallOut<'r> {
    id: Cow<'r, str>,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<'r>,
}

#[derive(Serialize)]
struct FunctionOut<'r> {
    name: &'r str,
    /// The tool input exactly as the client sent it, as a JSON string.
    arguments: &'r str,
}

#[derive(Serialize)]
struct ChatTool<'r> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionDef<'r>,
}

#[derive(Serialize)]
struct FunctionDef<'r> {
    name: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<JsonString<'r>>,
    /// The JSON Schema, byte for byte.
    parameters: &'r RawValue,
}

enum ChatToolChoice<'r> {
    Mode(&'static str),
    Function(&'r str),
}

impl Serialize for ChatToolChoice<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ChatToolChoice::Mode(m) => s.serialize_str(m),
            ChatToolChoice::Function(name) => {
                #[derive(Serialize)]
                struct Name<'n> {
                    name: &'n str,
                }
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("type", "function")?;
                map.serialize_entry("function", &Name { name })?;
                map.end()
            }
        }
    }
}

/// Encodes `req` as a Chat Completions body for `upstream_model`, taking no thinking block
/// of the history for its own (see [`encode_request_with`]).
pub fn encode_request(
    req: &MessagesRequest<'_>,
    upstream_model: &str,
    quirks: &Quirks,
    stream: bool,
) -> Result<Vec<u8>, ApiError> {
    encode_request_with(req, upstream_model, quirks, stream, None)
}

/// Encodes `req` as a Chat Completions body for `upstream_model`.
///
/// Thinking blocks never travel as text. Where the vendor wants its reasoning back
/// ([`Quirks::echo_reasoning`]), a block is returned as `reasoning_content` only when `own`
/// recognises it as written by this very provider and model; every other thinking and
/// `redacted_thinking` block is dropped.
pub fn encode_request_with(
    req: &MessagesRequest<'_>,
    upstream_model: &str,
    quirks: &Quirks,
    stream: bool,
    own: Option<&Signer>,
) -> Result<Vec<u8>, ApiError> {
    let reasoning_model = is_openai_reasoning_model(upstream_model);
    let mut conv = Conversation::new(quirks, own);
    if let Some(system) = &req.system {
        conv.system(system.joined_text());
    }
    for message in &req.messages {
        match message.role {
            Role::Assistant => conv.assistant(&message.content),
            Role::User => conv.user(&message.content),
            Role::System => conv.system(message.content.joined_text()),
        }
    }
    let messages = conv.finish();
    if messages.is_empty() {
        return Err(ApiError::invalid(
            "the request has no message with content to send: `messages` is empty or holds only empty turns",
        ));
    }

    let tools: Vec<ChatTool<'_>> = req
        .tools
        .iter()
        .flatten()
        .filter(|t| t.is_custom())
        .filter_map(|t| {
            Some(ChatTool {
                kind: "function",
                function: FunctionDef {
                    name: &t.name,
                    description: t.description,
                    parameters: t.input_schema?,
                },
            })
        })
        .collect();
    let (tool_choice, parallel_tool_calls) = match (&req.tool_choice, tools.is_empty()) {
        (Some(choice), false) => {
            let mapped = match choice.kind.as_ref() {
                "auto" => Some(ChatToolChoice::Mode("auto")),
                "any" => Some(ChatToolChoice::Mode("required")),
                "none" => Some(ChatToolChoice::Mode("none")),
                "tool" => Some(match choice.name.as_deref() {
                    Some(name) => ChatToolChoice::Function(name),
                    None => ChatToolChoice::Mode("required"),
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

    let effort = reasoning_effort(req);
    let (reasoning_effort, reasoning) = match quirks.reasoning {
        ReasoningParam::Effort if takes_reasoning_effort(upstream_model) => (effort, None),
        ReasoningParam::OpenRouter => (None, effort.map(|effort| OpenRouterReasoning { effort })),
        _ => (None, None),
    };
    let completion_field = match quirks.max_tokens {
        MaxTokensField::MaxCompletionTokens => true,
        MaxTokensField::MaxTokens => false,
        MaxTokensField::ByModel => reasoning_model,
    };
    let stop = req.stop_sequences.as_deref().unwrap_or_default();

    let body = ChatRequest {
        model: upstream_model,
        messages,
        max_completion_tokens: req.max_tokens.filter(|_| completion_field),
        max_tokens: req.max_tokens.filter(|_| !completion_field),
        // Reasoning models answer 400 to any non-default sampling value.
        temperature: req.temperature.filter(|_| !reasoning_model),
        top_p: req.top_p.filter(|_| !reasoning_model),
        stop: &stop[..stop.len().min(MAX_STOP)],
        stream,
        stream_options: (stream && quirks.stream_usage).then_some(StreamOptions {
            include_usage: true,
        }),
        tools,
        tool_choice,
        parallel_tool_calls,
        user: req
            .metadata
            .as_ref()
            .and_then(|m| m.user_id.as_deref())
            .filter(|u| quirks.user_field && !u.is_empty())
            .map(short_user),
        reasoning_effort,
        reasoning,
        response_format: response_format(req).filter(|_| quirks.json_schema),
    };
    crate::providers::encode_body(&body, req.body_len, "OpenAI")
}

/// Walks the Anthropic turns and builds OpenAI messages, keeping OpenAI's ordering rules:
/// an assistant message with `tool_calls` is followed directly by one `tool` message per call.
struct Conversation<'r, 'q> {
    quirks: &'q Quirks,
    /// Recognises the thinking this upstream wrote itself.
    own: Option<&'q Signer>,
    out: Vec<ChatMessage<'r>>,
    /// The assistant turn being gathered (consecutive assistant messages merge).
    text: Vec<&'r str>,
    calls: Vec<ToolCallOut<'r>>,
    thinking: String,
    /// Ids of the last assistant turn's calls still waiting for their `tool` message.
    unanswered: Vec<Cow<'r, str>>,
    /// System messages that arrived between tool calls and their results.
    deferred: Vec<ChatMessage<'r>>,
}

impl<'r, 'q> Conversation<'r, 'q> {
    fn new(quirks: &'q Quirks, own: Option<&'q Signer>) -> Self {
        Conversation {
            quirks,
            own,
            out: Vec::new(),
            text: Vec::new(),
            calls: Vec::new(),
            thinking: String::new(),
            unanswered: Vec::new(),
            deferred: Vec::new(),
        }
    }

    fn system(&mut self, text: Cow<'r, str>) {
        self.flush_assistant();
        if text.trim().is_empty() {
            return;
        }
        let message = ChatMessage::System { content: text };
        if self.unanswered.is_empty() {
            self.out.push(message);
        } else {
            self.deferred.push(message);
        }
    }

    fn assistant(&mut self, content: &'r Content<'_>) {
        match content {
            Content::Text(t) => self.push_assistant_text(t),
            Content::Blocks(blocks) => {
                for block in blocks {
                    match block {
                        Block::Text { text } => self.push_assistant_text(text),
                        Block::ToolUse { id, name, input } => self.calls.push(ToolCallOut {
                            id: upstream_tool_id(id, self.quirks),
                            kind: "function",
                            function: FunctionOut {
                                name,
                                arguments: input.get(),
                            },
                        }),
                        Block::Thinking {
                            thinking,
                            signature: Some(signature),
                        } if self.quirks.echo_reasoning
                            && self.own.is_some_and(|own| own.wrote(signature, thinking)) =>
                        {
                            self.thinking.push_str(thinking);
                        }
                        // Thinking from another model (or Anthropic) is not this model's own
                        // reasoning; other kinds have no OpenAI form.
                        _ => {}
                    }
                }
            }
        }
    }

    fn push_assistant_text(&mut self, text: &'r str) {
        if !text.is_empty() {
            self.text.push(text);
        }
    }

    fn flush_assistant(&mut self) {
        let thinking = std::mem::take(&mut self.thinking);
        if self.text.is_empty() && self.calls.is_empty() {
            return;
        }
        // Calls of an earlier assistant turn that never got results must be answered first.
        self.answer_the_rest();
        let content = match self.text.as_slice() {
            [] => None,
            [one] => Some(Cow::Borrowed(*one)),
            many => Some(Cow::Owned(many.join("\n\n"))),
        };
        self.text.clear();
        let tool_calls = std::mem::take(&mut self.calls);
        self.unanswered = tool_calls.iter().map(|c| c.id.clone()).collect();
        // Kept for now; `finish` decides which turns send it.
        let reasoning_content = (!thinking.is_empty()).then_some(thinking);
        self.out.push(ChatMessage::Assistant {
            content,
            tool_calls,
            reasoning_content,
        });
    }

    fn user(&mut self, content: &'r Content<'_>) {
        self.flush_assistant();
        let blocks = match content {
            Content::Text(t) => {
                self.answer_the_rest();
                if !t.trim().is_empty() {
                    self.out.push(ChatMessage::User {
                        content: UserContent::Text(Cow::Borrowed(t)),
                    });
                }
                return;
            }
            Content::Blocks(blocks) => blocks,
        };
        let mut parts = Vec::new();
        let mut result_images = Vec::new();
        for block in blocks {
            match block {
                Block::ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                } => {
                    let id = upstream_tool_id(tool_use_id, self.quirks);
                    let before = result_images.len();
                    let text = tool_result_text(content, *is_error, &mut result_images);
                    if result_images.len() > before {
                        let note = format!("The image output of tool call {id}:");
                        result_images.insert(before, Part::Text { text: note.into() });
                    }
                    self.unanswered.retain(|u| *u != id);
                    self.out.push(ChatMessage::Tool {
                        tool_call_id: id,
                        content: text,
                    });
                }
                other => push_part(other, &mut parts),
            }
        }
        self.answer_the_rest();
        result_images.append(&mut parts);
        match result_images.len() {
            0 => {}
            1 if matches!(result_images[0], Part::Text { .. }) => {
                if let Some(Part::Text { text }) = result_images.pop() {
                    self.out.push(ChatMessage::User {
                        content: UserContent::Text(text),
                    });
                }
            }
            _ => self.out.push(ChatMessage::User {
                content: UserContent::Parts(result_images),
            }),
        }
    }

    /// Gives every call left unanswered a `tool` message (OpenAI rejects a call without one),
    /// then releases system messages held back while calls were open.
    fn answer_the_rest(&mut self) {
        for id in std::mem::take(&mut self.unanswered) {
            self.out.push(ChatMessage::Tool {
                tool_call_id: id,
                content: Cow::Borrowed("(no result was recorded for this tool call)"),
            });
        }
        self.out.append(&mut self.deferred);
    }

    fn finish(mut self) -> Vec<ChatMessage<'r>> {
        self.flush_assistant();
        self.out.append(&mut self.deferred);
        if self.quirks.echo_reasoning {
            reasoning_for_tool_loops(&mut self.out);
        }
        self.out
    }
}

/// DeepSeek's rule for `reasoning_content` in the history: between two `user` messages where
/// the model called tools, every assistant message must carry its reasoning; elsewhere it is
/// ignored, so it is not sent. A turn without reasoning of its own gets [`NO_REASONING`].
/// (https://api-docs.deepseek.com/guides/thinking_mode , "Tool Calls".)
fn reasoning_for_tool_loops(messages: &mut [ChatMessage<'_>]) {
    for span in messages.split_mut(|m| matches!(m, ChatMessage::User { .. })) {
        let tool_loop = span.iter().any(
            |m| matches!(m, ChatMessage::Assistant { tool_calls, .. } if !tool_calls.is_empty()),
        );
        for m in span {
            if let ChatMessage::Assistant {
                reasoning_content, ..
            } = m
            {
                if !tool_loop {
                    *reasoning_content = None;
                } else if reasoning_content.is_none() {
                    *reasoning_content = Some(NO_REASONING.to_owned());
                }
            }
        }
    }
}

/// Adds a user-side block as an OpenAI content part; kinds without an OpenAI form are dropped.
fn push_part<'r>(block: &'r Block<'_>, parts: &mut Vec<Part<'r>>) {
    match block {
        Block::Text { text } if !text.is_empty() => parts.push(Part::Text {
            text: Cow::Borrowed(text),
        }),
        Block::Image { source } => parts.push(image_part(source)),
        Block::Document {
            source: Source::Base64 { media_type, data },
            title,
        } if media_type == "application/pdf" => parts.push(Part::File {
            file: FileData {
                filename: pdf_name(title.as_deref()),
                file_data: ImageSrc::Data { media_type, data },
            },
        }),
        Block::Document { source, title } => {
            let text = match (source, title) {
                (Source::Text { data }, None) => Cow::Borrowed(data.as_ref()),
                (Source::Text { data }, Some(title)) => Cow::Owned(format!("{title}\n\n{data}")),
                // PDFs and files: Chat Completions vendors mostly cannot read them; say so.
                (_, title) => Cow::Owned(format!(
                    "[document{}{} omitted: this model cannot read it]",
                    if title.is_some() { " " } else { "" },
                    title.as_deref().unwrap_or("")
                )),
            };
            parts.push(Part::Text { text });
        }
        _ => {}
    }
}

/// A file name for a PDF: its title (with `.pdf`), else `document.pdf`.
pub(super) fn pdf_name<'r>(title: Option<&'r str>) -> Cow<'r, str> {
    match title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t.to_ascii_lowercase().ends_with(".pdf") => Cow::Borrowed(t),
        Some(t) => Cow::Owned(format!("{t}.pdf")),
        None => Cow::Borrowed("document.pdf"),
    }
}

fn image_part<'r>(source: &'r Source<'_>) -> Part<'r> {
    let url = match source {
        Source::Base64 { media_type, data } => ImageSrc::Data { media_type, data },
        Source::Url { url } => ImageSrc::Url(url),
        Source::Text { .. } | Source::Other { .. } => {
            return Part::Text {
                text: Cow::Borrowed(
                    "[image omitted: its source type cannot be sent to this model]",
                ),
            };
        }
    };
    Part::ImageUrl {
        image_url: ImageUrl { url },
    }
}

/// The text of a tool result; its images go to `images` (they cannot ride in a `tool` message).
///
/// OpenAI tool messages have no error flag, so an error result is prefixed `Error: ` (unless
/// it already says so): otherwise the model would read a failure as the tool's normal output.
fn tool_result_text<'r>(
    content: &'r ToolResultContent<'_>,
    is_error: bool,
    images: &mut Vec<Part<'r>>,
) -> Cow<'r, str> {
    let text: Cow<'r, str> = match content {
        ToolResultContent::Empty => Cow::Borrowed(""),
        ToolResultContent::Text(t) => Cow::Borrowed(t),
        ToolResultContent::Blocks(blocks) => {
            let mut texts: Vec<Part<'r>> = Vec::new();
            for block in blocks {
                match block {
                    Block::Image { source } => images.push(image_part(source)),
                    other => push_part(other, &mut texts),
                }
            }
            // A PDF cannot ride in a `tool` message either: it goes with the images.
            let (attached, texts): (Vec<Part<'r>>, Vec<Part<'r>>) = texts
                .into_iter()
                .partition(|p| matches!(p, Part::File { .. }));
            images.extend(attached);
            let mut texts = texts.into_iter().filter_map(|p| match p {
                Part::Text { text } => Some(text),
                Part::ImageUrl { .. } | Part::File { .. } => None,
            });
            match (texts.next(), texts.next()) {
                (None, _) => Cow::Borrowed(""),
                (Some(one), None) => one,
                (Some(first), Some(second)) => {
                    let mut joined = format!("{first}\n\n{second}");
                    for t in texts {
                        joined.push_str("\n\n");
                        joined.push_str(&t);
                    }
                    Cow::Owned(joined)
                }
            }
        }
    };
    let text = if text.trim().is_empty() {
        // Several vendors reject an empty `tool` message.
        Cow::Borrowed(if images.is_empty() {
            "(no output)"
        } else {
            "(the output is the image in the next message)"
        })
    } else {
        text
    };
    if is_error && !text.starts_with("Error") {
        Cow::Owned(format!("Error: {text}"))
    } else {
        text
    }
}

/// The id sent upstream for a client tool id: the vendor's own id when bgw escaped it for
/// Anthropic ([`tool_id::original`]); unchanged when the upstream accepts it, else a
/// deterministic hash, so a call and its result always map to the same id.
pub(super) fn upstream_tool_id<'r>(id: &'r str, quirks: &Quirks) -> Cow<'r, str> {
    match tool_id::original(id) {
        Cow::Borrowed(id) => fitted_tool_id(id, quirks),
        Cow::Owned(original) => Cow::Owned(fitted_tool_id(&original, quirks).into_owned()),
    }
}

fn fitted_tool_id<'r>(id: &'r str, quirks: &Quirks) -> Cow<'r, str> {
    if quirks.short_tool_ids {
        if id.len() == 9 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Cow::Borrowed(id)
        } else {
            Cow::Owned(base62(mix(fnv1a(id.as_bytes())), 9))
        }
    } else if id.is_empty() || id.len() > MAX_TOOL_ID {
        Cow::Owned(format!("call_{:016x}", mix(fnv1a(id.as_bytes()))))
    } else {
        Cow::Borrowed(id)
    }
}

/// `user` within OpenAI's 64-character limit: kept when it fits, else a stable hash.
fn short_user(user: &str) -> Cow<'_, str> {
    if user.len() <= MAX_USER {
        Cow::Borrowed(user)
    } else {
        let mut s = String::with_capacity(36);
        s.push_str("bgw-");
        let _ = write!(s, "{:016x}", mix(fnv1a(user.as_bytes())));
        let _ = write!(
            s,
            "{:016x}",
            mix(fnv1a(user.as_bytes()) ^ 0x9e37_79b9_7f4a_7c15)
        );
        Cow::Owned(s)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// splitmix64's finalizer: spreads FNV's bits so every output digit depends on every input byte.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn base62(mut n: u64, len: usize) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..len)
        .map(|_| {
            let c = ALPHABET[(n % 62) as usize];
            n /= 62;
            char::from(c)
        })
        .collect()
}

/// The model name without a `vendor/` prefix (OpenRouter's `openai/gpt-5`), lowercased.
fn base_model(model: &str) -> String {
    model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase()
}

/// OpenAI reasoning models (o1, o3, o4-mini, gpt-5…): they take `max_completion_tokens` and
/// `reasoning_effort`, and refuse sampling parameters. `gpt-5-chat-*` is a plain chat model.
pub(super) fn is_openai_reasoning_model(model: &str) -> bool {
    let m = base_model(model);
    let o_series = ["o1", "o3", "o4"].iter().any(|p| {
        m.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
    });
    o_series || (m.starts_with("gpt-5") && !m.contains("-chat"))
}

/// Models that accept `reasoning_effort`: OpenAI's reasoning models and the open gpt-oss ones.
fn takes_reasoning_effort(model: &str) -> bool {
    is_openai_reasoning_model(model) || base_model(model).starts_with("gpt-oss")
}

/// `output_config.format` (Claude Code asks for JSON titles with it) as a JSON-schema response format.
fn response_format<'r>(req: &'r MessagesRequest<'_>) -> Option<ResponseFormat<'r>> {
    Some(ResponseFormat {
        kind: "json_schema",
        json_schema: JsonSchemaFormat {
            name: "output",
            schema: output_schema(req)?,
        },
    })
}

/// The JSON schema of `output_config.format`, when it asks for JSON-schema output.
pub(super) fn output_schema<'r>(req: &'r MessagesRequest<'_>) -> Option<&'r RawValue> {
    let raw = req.output_config.as_ref()?.format?;
    let format: AnthropicFormat<'r> = serde_json::from_str(raw.get()).ok()?;
    (format.kind == "json_schema").then_some(())?;
    format.schema
}

/// The `reasoning_effort` bucket for the client's thinking settings.
///
/// `output_config.effort` wins: low/medium/high map to themselves and `max` to `high` (the
/// highest value every reasoning model accepts). Otherwise `thinking.budget_tokens` buckets:
/// below 4,096 → low, below 16,384 → medium, else high (Claude Code's default budget of
/// 31,999 lands on high). Adaptive thinking without an effort, or a missing budget → medium,
/// OpenAI's own default. Thinking disabled or absent, and no effort → nothing is sent.
pub(super) fn reasoning_effort(req: &MessagesRequest<'_>) -> Option<&'static str> {
    let from_effort = req
        .output_config
        .as_ref()
        .and_then(|c| c.effort.as_deref())
        .and_then(|e| match e {
            "low" => Some("low"),
            "medium" => Some("medium"),
            "high" | "max" => Some("high"),
            _ => None,
        });
    from_effort.or(match req.thinking {
        Some(Thinking::Enabled {
            budget_tokens: Some(b),
        }) if b < 4_096 => Some("low"),
        Some(Thinking::Enabled {
            budget_tokens: Some(b),
        }) if b < 16_384 => Some("medium"),
        Some(Thinking::Enabled {
            budget_tokens: Some(_),
        }) => Some("high"),
        Some(Thinking::Enabled {
            budget_tokens: None,
        })
        | Some(Thinking::Adaptive) => Some("medium"),
        Some(Thinking::Disabled) | None => None,
    })
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "claude_code_tests.rs"]
mod claude_code_tests;
