//! Anthropic request → Converse body: the wire types, the conversation's turns, prompt-cache
//! points, tools, inference parameters and Claude's extra fields.
//!
//! Field by field, from the API reference (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html)
//! and its shapes (`ContentBlock`, `ToolResultBlock`, `CachePointBlock`, `ToolChoice`, …):
//! - turns must alternate and start with `user`: consecutive turns of one role are merged, and
//!   Claude Code's mid-conversation `system` turns become user text (after the results of any
//!   calls still open);
//! - every `toolUse` is answered in the next user turn, its `toolResult`s first; a call left
//!   unanswered gets an error result, a result whose call is gone becomes text;
//! - Converse insists on `toolConfig` whenever the history holds tool blocks, and has no
//!   `tool_choice` "none": with no tools declared, or `none`, the history's calls and results
//!   are written as text and no tool is offered;
//! - images and documents go as base64 `bytes` (Converse fetches nothing by URL: such a source
//!   is refused); a message holding a document also needs a text block;
//! - `cache_control` becomes a `cachePoint` right after its block, in `system`, `messages` and
//!   `tools`, for the models that cache;
//! - Claude's `thinking`, `top_k`, effort and betas go in `additionalModelRequestFields`.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use super::{Carried, Family, converse_tool_id};
use crate::messages::request::{
    Block, Content, JsonString, Role, Source, Thinking, ToolResultContent,
};
use crate::messages::signature::Signer;
use crate::messages::{ApiError, MessagesRequest};

/// The smallest thinking budget Claude takes.
const MIN_BUDGET: u64 = 1_024;
/// Longest document name kept (Converse allows 200).
const MAX_DOCUMENT_NAME: usize = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConverseRequest<'r> {
    messages: Vec<MessageOut<'r>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<SystemOut<'r>>,
    #[serde(skip_serializing_if = "InferenceConfig::is_empty")]
    inference_config: InferenceConfig<'r>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_config: Option<ToolConfig<'r>>,
    #[serde(skip_serializing_if = "Additional::is_empty")]
    additional_model_request_fields: Additional<'r>,
}

#[derive(Serialize)]
struct MessageOut<'r> {
    role: &'static str,
    content: Vec<BlockOut<'r>>,
}

/// A `ContentBlock` (a union: exactly one key).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum BlockOut<'r> {
    Text(Cow<'r, str>),
    Image(ImageOut<'r>),
    Document(DocumentOut<'r>),
    ToolUse(ToolUseOut<'r>),
    ToolResult(ToolResultOut<'r>),
    ReasoningContent(ReasoningOut<'r>),
    CachePoint(CachePoint),
}

/// A `SystemContentBlock`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum SystemOut<'r> {
    Text(Cow<'r, str>),
    CachePoint(CachePoint),
}

/// A `CachePointBlock`: the prompt up to here may be cached.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
struct CachePoint {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<&'static str>,
}

#[derive(Serialize)]
struct ImageOut<'r> {
    format: &'static str,
    source: BytesSource<'r>,
}

/// Base64 data, as the JSON protocol carries a blob.
#[derive(Serialize)]
struct BytesSource<'r> {
    bytes: &'r str,
}

#[derive(Serialize)]
struct DocumentOut<'r> {
    format: &'static str,
    name: String,
    source: BytesSource<'r>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseOut<'r> {
    tool_use_id: Cow<'r, str>,
    name: &'r str,
    /// The tool input exactly as the client sent it.
    input: &'r RawValue,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolResultOut<'r> {
    tool_use_id: Cow<'r, str>,
    content: Vec<ResultPart<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

/// A `ToolResultContentBlock`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum ResultPart<'r> {
    Text(Cow<'r, str>),
    Image(ImageOut<'r>),
    Document(DocumentOut<'r>),
}

/// A `ReasoningContentBlock`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum ReasoningOut<'r> {
    ReasoningText(ReasoningText<'r>),
    RedactedContent(String),
}

#[derive(Serialize)]
struct ReasoningText<'r> {
    text: &'r str,
    signature: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct InferenceConfig<'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop_sequences: Vec<&'r str>,
}

impl InferenceConfig<'_> {
    fn is_empty(&self) -> bool {
        self.max_tokens.is_none()
            && self.temperature.is_none()
            && self.top_p.is_none()
            && self.stop_sequences.is_empty()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig<'r> {
    tools: Vec<ToolOut<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ToolChoiceOut<'r>>,
}

/// A `Tool`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum ToolOut<'r> {
    ToolSpec(ToolSpec<'r>),
    CachePoint(CachePoint),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolSpec<'r> {
    name: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<JsonString<'r>>,
    input_schema: SchemaOut<'r>,
}

#[derive(Serialize)]
struct SchemaOut<'r> {
    /// The JSON Schema exactly as the client sent it.
    json: &'r RawValue,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum ToolChoiceOut<'r> {
    Auto(Empty),
    Any(Empty),
    Tool(Named<'r>),
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Named<'r> {
    name: &'r str,
}

/// `additionalModelRequestFields`: Anthropic's own fields, for Claude.
#[derive(Serialize, Default)]
struct Additional<'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<ThinkingOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_config: Option<EffortOut<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    anthropic_beta: Vec<&'r str>,
}

impl Additional<'_> {
    fn is_empty(&self) -> bool {
        self.thinking.is_none()
            && self.output_config.is_none()
            && self.top_k.is_none()
            && self.anthropic_beta.is_empty()
    }
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ThinkingOut {
    Enabled { budget_tokens: u64 },
    Adaptive,
}

#[derive(Serialize)]
struct EffortOut<'r> {
    effort: &'r str,
}

/// Encodes `req` as a Converse body for `model`. `own` recognises the thinking blocks this
/// provider and model signed, whose reasoning goes back as Bedrock gave it.
pub fn encode_request(
    req: &MessagesRequest<'_>,
    model: &str,
    own: Option<&Signer>,
) -> Result<Vec<u8>, ApiError> {
    encode_request_with(req, model, own, &[])
}

/// As [`encode_request`], with the client's `anthropic-beta` flags: those Bedrock's Claude
/// takes go in `anthropic_beta` (the 1M context window, interleaved thinking), the rest are
/// left out, as Bedrock refuses flags it does not know.
pub fn encode_request_with(
    req: &MessagesRequest<'_>,
    model: &str,
    own: Option<&Signer>,
    betas: &[&str],
) -> Result<Vec<u8>, ApiError> {
    let family = Family::of(model);
    let marks = if family.caching {
        Marks::read(req.body)
    } else {
        Marks::default()
    };
    let cache_point = |mark: Option<&Marked>| {
        let control = mark.and_then(|m| m.cache_control.as_ref())?;
        let long = family.long_cache && control.ttl.as_deref() == Some("1h");
        Some(CachePoint {
            kind: "default",
            ttl: long.then_some("1h"),
        })
    };
    let (tools, tool_choice) = tools(req, &marks, &cache_point)?;
    let structured = !tools.is_empty();
    let mut conv = Conversation::new(own, family, structured);
    for (i, message) in req.messages.iter().enumerate() {
        let message_marks = marks.messages.get(i).map(|m| m.content.0.as_slice());
        let point = |j: usize| cache_point(message_marks.and_then(|m| m.get(j)));
        match message.role {
            Role::User => conv.user(&message.content, &point)?,
            Role::Assistant => conv.assistant(&message.content, &point),
            Role::System => conv.system(&message.content, &point),
        }
    }
    let messages = conv.finish();
    if messages.is_empty() {
        return Err(ApiError::invalid(
            "the request has no message with content to send: `messages` is empty or holds only empty turns",
        ));
    }
    let mut additional = Additional::default();
    if family.anthropic {
        additional.top_k = req.top_k;
        additional.anthropic_beta = super::super::betas(betas.iter().copied());
        if reasoning_leads_tool_loop(&messages) {
            let (thinking, effort) = thinking(req, family);
            additional.thinking = thinking;
            additional.output_config = effort.map(|effort| EffortOut { effort });
        }
    }
    let body = ConverseRequest {
        messages,
        system: system(req, &marks, &cache_point),
        inference_config: InferenceConfig {
            max_tokens: req.max_tokens.filter(|m| *m > 0),
            temperature: req.temperature,
            top_p: req.top_p,
            stop_sequences: req
                .stop_sequences
                .iter()
                .flatten()
                .map(|s| s.as_ref())
                .filter(|s| !s.is_empty())
                .collect(),
        },
        tool_config: (!tools.is_empty()).then_some(ToolConfig { tools, tool_choice }),
        additional_model_request_fields: additional,
    };
    crate::providers::encode_body(&body, req.body_len, "Bedrock Converse")
}

/// `system` as text blocks, each followed by its cache point.
fn system<'r>(
    req: &'r MessagesRequest<'_>,
    marks: &Marks,
    cache_point: &impl Fn(Option<&Marked>) -> Option<CachePoint>,
) -> Vec<SystemOut<'r>> {
    let mut out = Vec::new();
    match &req.system {
        None => {}
        Some(Content::Text(t)) if !t.trim().is_empty() => {
            out.push(SystemOut::Text(Cow::Borrowed(t.as_ref())));
        }
        Some(Content::Text(_)) => {}
        Some(Content::Blocks(blocks)) => {
            for (j, block) in blocks.iter().enumerate() {
                if let Block::Text { text } = block {
                    if !text.trim().is_empty() {
                        out.push(SystemOut::Text(Cow::Borrowed(text.as_ref())));
                    }
                }
                let mark = marks.system.as_ref().and_then(|m| m.0.get(j));
                if let Some(point) = cache_point(mark) {
                    if matches!(out.last(), Some(SystemOut::Text(_))) {
                        out.push(SystemOut::CachePoint(point));
                    }
                }
            }
        }
    }
    out
}

/// The declared client tools (each followed by its cache point) and the choice among them;
/// none at all when the client declared none or chose `none`.
fn tools<'r>(
    req: &'r MessagesRequest<'_>,
    marks: &Marks,
    cache_point: &impl Fn(Option<&Marked>) -> Option<CachePoint>,
) -> Result<(Vec<ToolOut<'r>>, Option<ToolChoiceOut<'r>>), ApiError> {
    let choice = req.tool_choice.as_ref();
    if choice.is_some_and(|c| c.kind == "none") {
        return Ok((Vec::new(), None));
    }
    let mut out = Vec::new();
    for (k, tool) in req.tools.iter().flatten().enumerate() {
        if let (true, Some(schema)) = (tool.is_custom(), tool.input_schema) {
            out.push(ToolOut::ToolSpec(ToolSpec {
                name: &tool.name,
                // Converse refuses an empty description.
                description: tool.description.filter(|d| d.raw().get() != "\"\""),
                input_schema: SchemaOut { json: schema },
            }));
        }
        let mark = marks.tools.as_ref().and_then(|m| m.get(k));
        if let Some(point) = cache_point(mark) {
            if matches!(out.last(), Some(ToolOut::ToolSpec(_))) {
                out.push(ToolOut::CachePoint(point));
            }
        }
    }
    if out.is_empty() {
        return Ok((out, None));
    }
    let choice = match choice.map(|c| (c.kind.as_ref(), c.name.as_deref())) {
        Some(("auto", _)) => Some(ToolChoiceOut::Auto(Empty {})),
        Some(("any", _)) => Some(ToolChoiceOut::Any(Empty {})),
        Some(("tool", Some(name))) => Some(ToolChoiceOut::Tool(Named { name })),
        Some(("tool", None)) => {
            return Err(ApiError::invalid(
                "`tool_choice` of type `tool` needs the `name` of the tool to call",
            ));
        }
        _ => None,
    };
    Ok((out, choice))
}

/// Claude's `thinking` for what the client asked, in the form the model takes: adaptive from
/// Claude 4.6 on (a fixed budget is deprecated there and refused from 4.7), a budget below
/// `max_tokens` before; with the effort to send beside adaptive thinking.
fn thinking<'r>(
    req: &'r MessagesRequest<'_>,
    family: Family,
) -> (Option<ThinkingOut>, Option<&'r str>) {
    if !family.thinking {
        return (None, None);
    }
    let effort = req.output_config.as_ref().and_then(|o| o.effort.as_deref());
    let budget = match req.thinking {
        None | Some(Thinking::Disabled) => return (None, None),
        Some(_) if family.adaptive => return (Some(ThinkingOut::Adaptive), effort),
        Some(Thinking::Enabled { budget_tokens }) => budget_tokens.unwrap_or(16_384),
        Some(Thinking::Adaptive) => match effort {
            Some("low") => 2_048,
            Some("medium") => 8_192,
            Some("max") => 32_768,
            _ => 16_384,
        },
    };
    let budget = match req.max_tokens {
        // No room for thinking below the answer's own limit.
        Some(max) if max <= MIN_BUDGET => return (None, None),
        Some(max) => budget.clamp(MIN_BUDGET, max - 1),
        None => budget.max(MIN_BUDGET),
    };
    (
        Some(ThinkingOut::Enabled {
            budget_tokens: budget,
        }),
        None,
    )
}

/// Whether thinking may be on: Claude refuses it when the assistant turn of an ongoing tool
/// loop does not start with its reasoning, which is so when that reasoning came from another
/// provider and was dropped. The turn starts at the first assistant message after the last
/// user message that is not a tool result (later steps of the loop need no reasoning).
fn reasoning_leads_tool_loop(messages: &[MessageOut<'_>]) -> bool {
    let answers = |m: &MessageOut<'_>| {
        m.role == "user"
            && m.content
                .iter()
                .any(|b| matches!(b, BlockOut::ToolResult(_)))
    };
    let Some(last) = messages.last() else {
        return true;
    };
    if !answers(last) {
        return true;
    }
    // Back over (assistant step, its results) pairs to the step that opened the turn.
    let Some(mut first) = messages.len().checked_sub(2) else {
        return true;
    };
    while first >= 2 && answers(&messages[first - 1]) && messages[first - 2].role == "assistant" {
        first -= 2;
    }
    messages.get(first).is_none_or(|m| {
        m.role != "assistant" || matches!(m.content.first(), Some(BlockOut::ReasoningContent(_)))
    })
}

/// Walks the Anthropic turns and builds Converse messages (see the module doc).
struct Conversation<'r, 'q> {
    own: Option<&'q Signer>,
    family: Family,
    /// Tools are declared: calls and results stay structured (else they are written as text).
    structured: bool,
    out: Vec<MessageOut<'r>>,
    /// Tool names by the ids of the calls seen so far.
    names: HashMap<&'r str, &'r str>,
    /// Calls of the last assistant turn still waiting for their result.
    unanswered: Vec<&'r str>,
    /// System turns that arrived between calls and their results, with their cache points.
    deferred: Vec<(Cow<'r, str>, Option<CachePoint>)>,
    /// Document names used so far (Converse wants each distinct).
    documents: Vec<String>,
}

impl<'r, 'q> Conversation<'r, 'q> {
    fn new(own: Option<&'q Signer>, family: Family, structured: bool) -> Self {
        Conversation {
            own,
            family,
            structured,
            out: Vec::new(),
            names: HashMap::new(),
            unanswered: Vec::new(),
            deferred: Vec::new(),
            documents: Vec::new(),
        }
    }

    /// Appends `block` to the last message if it has `role`, else to a new message.
    fn push(&mut self, role: &'static str, block: BlockOut<'r>) {
        match self.out.last_mut() {
            Some(last) if last.role == role => last.content.push(block),
            _ => self.out.push(MessageOut {
                role,
                content: vec![block],
            }),
        }
    }

    /// A cache point at the end of what is built so far (never first, never twice in a row).
    fn mark(&mut self, point: Option<CachePoint>) {
        let (Some(point), Some(last)) = (point, self.out.last_mut()) else {
            return;
        };
        if !matches!(last.content.last(), None | Some(BlockOut::CachePoint(_))) {
            last.content.push(BlockOut::CachePoint(point));
        }
    }

    /// Claude Code's mid-conversation system turns, as user text in place (after the results
    /// of calls still open).
    fn system(&mut self, content: &'r Content<'_>, point: &impl Fn(usize) -> Option<CachePoint>) {
        let text = content.joined_text();
        if text.trim().is_empty() {
            return;
        }
        let last = match content {
            Content::Blocks(blocks) => blocks.len().saturating_sub(1),
            Content::Text(_) => usize::MAX,
        };
        if self.unanswered.is_empty() {
            self.push("user", BlockOut::Text(text));
            self.mark(point(last));
        } else {
            self.deferred.push((text, point(last)));
        }
    }

    fn assistant(
        &mut self,
        content: &'r Content<'_>,
        point: &impl Fn(usize) -> Option<CachePoint>,
    ) {
        self.answer_the_rest();
        let blocks = match content {
            Content::Text(t) => {
                if !t.trim().is_empty() {
                    self.push("assistant", BlockOut::Text(Cow::Borrowed(t.as_ref())));
                }
                return;
            }
            Content::Blocks(blocks) => blocks,
        };
        for (j, block) in blocks.iter().enumerate() {
            match block {
                Block::Text { text } if !text.trim().is_empty() => {
                    self.push("assistant", BlockOut::Text(Cow::Borrowed(text.as_ref())));
                }
                Block::ToolUse { id, name, input } => {
                    self.names.insert(id, name);
                    if self.structured {
                        self.unanswered.push(id);
                        self.push(
                            "assistant",
                            BlockOut::ToolUse(ToolUseOut {
                                tool_use_id: converse_tool_id(id),
                                name,
                                input,
                            }),
                        );
                    } else {
                        let text = format!("(tool call: {name} {})", input.get());
                        self.push("assistant", BlockOut::Text(Cow::Owned(text)));
                    }
                }
                Block::Thinking {
                    thinking,
                    signature: Some(signature),
                } => {
                    // Only this model's own reasoning, as Bedrock gave it; anything else would
                    // not verify here.
                    let carried = self
                        .own
                        .and_then(|own| own.carried(signature, thinking))
                        .and_then(|bytes| Carried::from_bytes(&bytes));
                    let reasoning = match carried {
                        Some(Carried::Signature(signature)) => {
                            ReasoningOut::ReasoningText(ReasoningText {
                                text: thinking.as_ref(),
                                signature,
                            })
                        }
                        Some(Carried::Redacted(data)) => ReasoningOut::RedactedContent(data),
                        None => continue,
                    };
                    self.push("assistant", BlockOut::ReasoningContent(reasoning));
                }
                // Unsigned or redacted thinking from elsewhere, server tools: no Converse form.
                _ => {}
            }
            self.mark(point(j));
        }
    }

    fn user(
        &mut self,
        content: &'r Content<'_>,
        point: &impl Fn(usize) -> Option<CachePoint>,
    ) -> Result<(), ApiError> {
        let blocks = match content {
            Content::Text(t) => {
                self.answer_the_rest();
                if !t.trim().is_empty() {
                    self.push("user", BlockOut::Text(Cow::Borrowed(t.as_ref())));
                }
                return Ok(());
            }
            Content::Blocks(blocks) => blocks,
        };
        // Results first (Claude wants them before anything else in the turn), then the rest.
        let mut others: Vec<(BlockOut<'r>, Option<CachePoint>)> = Vec::new();
        for (j, block) in blocks.iter().enumerate() {
            match block {
                Block::ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                } => {
                    let name = self.names.get(tool_use_id.as_ref()).copied();
                    let open = self
                        .unanswered
                        .iter()
                        .position(|id| *id == tool_use_id.as_ref());
                    let mut attached = Vec::new();
                    match open {
                        Some(at) => {
                            self.unanswered.remove(at);
                            let result =
                                self.tool_result(tool_use_id, content, *is_error, &mut attached)?;
                            self.push("user", BlockOut::ToolResult(result));
                            self.mark(point(j));
                            if !attached.is_empty() {
                                let name = name.unwrap_or("tool");
                                let note = format!("The {name} call returned this as well:");
                                others.push((BlockOut::Text(Cow::Owned(note)), None));
                            }
                        }
                        // Tools are off, or the call is gone from the history (compacted away):
                        // Converse takes a result only right after its call, so it is text.
                        None => {
                            let text = result_text(content, &mut attached);
                            let text = match (name, *is_error) {
                                (Some(name), false) => format!("(tool result: {name}) {text}"),
                                (Some(name), true) => format!("(tool error: {name}) {text}"),
                                (None, false) => format!("(result of an earlier tool call) {text}"),
                                (None, true) => format!("(error of an earlier tool call) {text}"),
                            };
                            others.push((BlockOut::Text(Cow::Owned(text)), point(j)));
                        }
                    }
                    for part in attached {
                        if let Some(media) = self.media(part)? {
                            others.push((media.into_block(), None));
                        }
                    }
                }
                other => {
                    if let Some(block) = self.user_block(other)? {
                        others.push((block, point(j)));
                    }
                }
            }
        }
        self.answer_the_rest();
        for (block, point) in others {
            self.push("user", block);
            self.mark(point);
        }
        Ok(())
    }

    /// A `toolResult`: its text, and its images and documents where the model takes them
    /// (else they go to `attached`, sent after the results).
    fn tool_result(
        &mut self,
        id: &'r str,
        content: &'r ToolResultContent<'_>,
        is_error: bool,
        attached: &mut Vec<&'r Block<'r>>,
    ) -> Result<ToolResultOut<'r>, ApiError> {
        let rich = self.family.rich_tool_results;
        let mut parts = Vec::new();
        match content {
            ToolResultContent::Empty => {}
            ToolResultContent::Text(t) => {
                if !t.trim().is_empty() {
                    parts.push(ResultPart::Text(Cow::Borrowed(t.as_ref())));
                }
            }
            ToolResultContent::Blocks(blocks) => {
                for block in blocks {
                    match block {
                        Block::Text { text } if !text.trim().is_empty() => {
                            parts.push(ResultPart::Text(Cow::Borrowed(text.as_ref())));
                        }
                        Block::Image { .. } | Block::Document { .. } if !rich => {
                            attached.push(block)
                        }
                        Block::Image { .. } | Block::Document { .. } => {
                            parts.extend(self.media(block)?.map(Media::into_result_part));
                        }
                        _ => {}
                    }
                }
            }
        }
        if parts.is_empty() {
            parts.push(ResultPart::Text(Cow::Borrowed("(no output)")));
        }
        let status = if rich {
            is_error.then_some("error")
        } else {
            if is_error {
                parts.insert(0, ResultPart::Text(Cow::Borrowed("Error:")));
            }
            None
        };
        Ok(ToolResultOut {
            tool_use_id: converse_tool_id(id),
            content: parts,
            status,
        })
    }

    /// A user-side block as a Converse block (`None` for blocks with no Converse form).
    fn user_block(&mut self, block: &'r Block<'_>) -> Result<Option<BlockOut<'r>>, ApiError> {
        Ok(match block {
            Block::Text { text } if !text.trim().is_empty() => {
                Some(BlockOut::Text(Cow::Borrowed(text.as_ref())))
            }
            _ => self.media(block)?.map(Media::into_block),
        })
    }

    /// An image or a document in the form Converse takes; `None` for any other block.
    fn media(&mut self, block: &'r Block<'_>) -> Result<Option<Media<'r>>, ApiError> {
        match block {
            Block::Image { source } => image(source).map(Some),
            Block::Document { source, title } => self.document(source, title.as_deref()).map(Some),
            _ => Ok(None),
        }
    }

    /// A document: a `document` block of a file format Converse reads, plain text inline, and
    /// anything else named as left out.
    fn document(
        &mut self,
        source: &'r Source<'_>,
        title: Option<&str>,
    ) -> Result<Media<'r>, ApiError> {
        match source {
            Source::Base64 { media_type, data } => {
                let format = document_format(media_type).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "Bedrock's Converse API cannot read a document of type `{media_type}`: it takes PDF, CSV, DOC, DOCX, XLS, XLSX, HTML, TXT and Markdown; convert it, or remove it from the conversation"
                    ))
                })?;
                Ok(Media::Document(DocumentOut {
                    format,
                    name: self.document_name(title),
                    source: BytesSource { bytes: data },
                }))
            }
            Source::Url { .. } => Err(ApiError::invalid(
                "Bedrock's Converse API cannot fetch a document given by URL (it takes the file's bytes, or an S3 location); attach the file itself",
            )),
            Source::Text { data } => Ok(Media::Text(match title {
                Some(title) => Cow::Owned(format!("{title}\n\n{data}")),
                None => Cow::Borrowed(data.as_ref()),
            })),
            Source::Other { kind } => Ok(Media::Text(Cow::Owned(format!(
                "[a document given as `{kind}` is omitted: Bedrock cannot read it from here]"
            )))),
        }
    }

    /// A name Converse accepts (letters, digits, single spaces, `-`, `()`, `[]`), distinct.
    fn document_name(&mut self, title: Option<&str>) -> String {
        let mut name = String::new();
        for c in title.unwrap_or("").chars() {
            if name.len() >= MAX_DOCUMENT_NAME {
                break;
            }
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '(' | ')' | '[' | ']') {
                name.push(c);
            } else if !name.is_empty() && !name.ends_with(' ') {
                name.push(' ');
            }
        }
        let name = name.trim_end();
        let base = if name.is_empty() { "document" } else { name };
        let mut unique = base.to_owned();
        let mut n = 1;
        while self.documents.contains(&unique) {
            n += 1;
            unique = format!("{base} ({n})");
        }
        self.documents.push(unique.clone());
        unique
    }

    /// Gives every call left unanswered an error result (Claude wants one per call), then
    /// releases the system text held back while calls were open.
    fn answer_the_rest(&mut self) {
        let status = self.family.rich_tool_results.then_some("error");
        for id in std::mem::take(&mut self.unanswered) {
            self.push(
                "user",
                BlockOut::ToolResult(ToolResultOut {
                    tool_use_id: converse_tool_id(id),
                    content: vec![ResultPart::Text(Cow::Borrowed(
                        "(no result was recorded for this tool call)",
                    ))],
                    status,
                }),
            );
        }
        for (text, point) in std::mem::take(&mut self.deferred) {
            self.push("user", BlockOut::Text(text));
            self.mark(point);
        }
    }

    /// The messages, in the shape Converse accepts (see the module doc).
    fn finish(mut self) -> Vec<MessageOut<'r>> {
        if !self.deferred.is_empty() {
            self.answer_the_rest();
        }
        let mut out = self.out;
        // Converse wants a text block beside a document.
        for message in &mut out {
            let has_document = message
                .content
                .iter()
                .any(|b| matches!(b, BlockOut::Document(_)));
            let has_text = message
                .content
                .iter()
                .any(|b| matches!(b, BlockOut::Text(_)));
            if has_document && !has_text {
                message
                    .content
                    .push(BlockOut::Text(Cow::Borrowed("(document attached)")));
            }
        }
        // A final assistant turn (a prefill) may not end in white space.
        if let Some(last) = out.last_mut().filter(|m| m.role == "assistant") {
            if let Some(BlockOut::Text(t)) = last.content.last_mut() {
                let trimmed = t.trim_end();
                if trimmed.len() != t.len() {
                    *t = Cow::Owned(trimmed.to_owned());
                }
            }
        }
        out.retain(|m| {
            m.content
                .iter()
                .any(|b| !matches!(b, BlockOut::CachePoint(_)))
        });
        // The conversation must open with the user.
        if out.first().is_some_and(|m| m.role == "assistant") {
            out.insert(
                0,
                MessageOut {
                    role: "user",
                    content: vec![BlockOut::Text(Cow::Borrowed("(continue)"))],
                },
            );
        }
        out
    }
}

/// An image or a document, as Converse takes it.
enum Media<'r> {
    Image(ImageOut<'r>),
    Document(DocumentOut<'r>),
    Text(Cow<'r, str>),
}

impl<'r> Media<'r> {
    fn into_block(self) -> BlockOut<'r> {
        match self {
            Media::Image(i) => BlockOut::Image(i),
            Media::Document(d) => BlockOut::Document(d),
            Media::Text(t) => BlockOut::Text(t),
        }
    }

    fn into_result_part(self) -> ResultPart<'r> {
        match self {
            Media::Image(i) => ResultPart::Image(i),
            Media::Document(d) => ResultPart::Document(d),
            Media::Text(t) => ResultPart::Text(t),
        }
    }
}

/// An image as Converse takes it: base64 bytes of a PNG, JPEG, GIF or WebP.
fn image<'r>(source: &'r Source<'_>) -> Result<Media<'r>, ApiError> {
    match source {
        Source::Base64 { media_type, data } => {
            let format = match media_type.as_ref() {
                "image/png" => "png",
                "image/jpeg" | "image/jpg" => "jpeg",
                "image/gif" => "gif",
                "image/webp" => "webp",
                other => {
                    return Err(ApiError::invalid(format!(
                        "Bedrock's Converse API takes PNG, JPEG, GIF and WebP images, not `{other}`; convert the image, or remove it from the conversation"
                    )));
                }
            };
            Ok(Media::Image(ImageOut {
                format,
                source: BytesSource { bytes: data },
            }))
        }
        Source::Url { .. } => Err(ApiError::invalid(
            "Bedrock's Converse API cannot fetch an image given by URL (it takes the image's bytes, or an S3 location); attach the image itself",
        )),
        Source::Text { .. } | Source::Other { .. } => Ok(Media::Text(Cow::Borrowed(
            "[image omitted: its source type cannot be sent to Bedrock]",
        ))),
    }
}

/// The `DocumentFormat` of a media type.
fn document_format(media_type: &str) -> Option<&'static str> {
    Some(match media_type {
        "application/pdf" => "pdf",
        "text/csv" => "csv",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "text/html" => "html",
        "text/plain" => "txt",
        "text/markdown" => "md",
        _ => return None,
    })
}

/// The text of a tool result written out as text; its images and documents go to `attached`.
fn result_text<'r>(
    content: &'r ToolResultContent<'_>,
    attached: &mut Vec<&'r Block<'r>>,
) -> Cow<'r, str> {
    let text: Cow<'r, str> = match content {
        ToolResultContent::Empty => Cow::Borrowed(""),
        ToolResultContent::Text(t) => Cow::Borrowed(t.as_ref()),
        ToolResultContent::Blocks(blocks) => {
            let mut texts: Vec<&'r str> = Vec::new();
            for block in blocks {
                match block {
                    Block::Text { text } if !text.trim().is_empty() => texts.push(text),
                    Block::Image { .. } | Block::Document { .. } => attached.push(block),
                    _ => {}
                }
            }
            match texts.as_slice() {
                [one] => Cow::Borrowed(*one),
                many => Cow::Owned(many.join("\n\n")),
            }
        }
    };
    if text.trim().is_empty() {
        Cow::Borrowed("(no output)")
    } else {
        text
    }
}

/// Where the request asks for prompt caching: `cache_control` on system blocks, message
/// blocks and tools, read again from the body (the shared parse skips it).
#[derive(Deserialize, Default)]
struct Marks {
    #[serde(default)]
    system: Option<MarkList>,
    #[serde(default)]
    messages: Vec<MarkedMessage>,
    #[serde(default)]
    tools: Option<Vec<Marked>>,
}

impl Marks {
    /// The marks in `body`; none when it cannot be read (caching is only an optimisation).
    fn read(body: &[u8]) -> Marks {
        serde_json::from_slice(body).unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct MarkedMessage {
    #[serde(default)]
    content: MarkList,
}

#[derive(Deserialize)]
struct Marked {
    #[serde(default)]
    cache_control: Option<CacheControl>,
}

#[derive(Deserialize)]
struct CacheControl {
    #[serde(default)]
    ttl: Option<String>,
}

/// A content list's marks, one per block (a plain string content has none).
#[derive(Default)]
struct MarkList(Vec<Marked>);

impl<'de> Deserialize<'de> for MarkList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = MarkList;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of content blocks")
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<MarkList, E> {
                Ok(MarkList::default())
            }

            fn visit_unit<E: de::Error>(self) -> Result<MarkList, E> {
                Ok(MarkList::default())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MarkList, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(m) = seq.next_element()? {
                    out.push(m);
                }
                Ok(MarkList(out))
            }
        }
        d.deserialize_any(ListVisitor)
    }
}
