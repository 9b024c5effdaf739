//! ConverseStream events → Anthropic stream events, by the pure [`Translator`]: it takes one
//! event (its `:event-type` and JSON payload, already unframed from AWS's event stream) at a
//! time and returns the Anthropic events it completes.
//!
//! The events, from https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html :
//! `messageStart{role}`, then per block `contentBlockStart` (tool calls only: text and reasoning
//! start with their first delta), `contentBlockDelta` (`text`, `toolUse.input` JSON fragments,
//! `reasoningContent` `text`/`signature`/`redactedContent`) and `contentBlockStop`, then
//! `messageStop{stopReason}` and last `metadata{usage,metrics}`. Every payload may carry a random
//! padding key `p`; unknown keys and unknown events are ignored.
//!
//! Bedrock's block indexes only name blocks: each new one (or a delta of another kind) opens
//! the next Anthropic block, one at a time, at most [`MAX_BLOCKS`]. The usage comes after
//! `messageStop`, so `message_delta` (stop reason and usage) waits for `metadata`, or for the end
//! of the stream when it never comes.

use serde::Deserialize;
use serde_json::Map;
use serde_json::value::RawValue;
use std::borrow::Cow;

use super::error::{context_window_exceeded, exception_error, malformed};
use super::{Carried, anthropic_tool_id, truncate};
use crate::messages::event::new_message_id;
use crate::messages::signature::{Signer, ThinkingMac};
use crate::messages::usage::CacheCreation;
use crate::messages::{ApiError, BlockStart, Delta, ErrorKind, StopReason, StreamEvent, Usage};
use crate::providers::blocks::{Blocks, MAX_BLOCKS};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStartEvent<'a> {
    #[serde(default)]
    content_block_index: u64,
    #[serde(default, borrow)]
    start: Option<StartIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartIn<'a> {
    #[serde(default, borrow)]
    tool_use: Option<ToolStartIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolStartIn<'a> {
    #[serde(default, borrow)]
    tool_use_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaEvent<'a> {
    #[serde(default)]
    content_block_index: u64,
    #[serde(default, borrow)]
    delta: Option<DeltaIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaIn<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_use: Option<ToolDeltaIn<'a>>,
    #[serde(default, borrow)]
    reasoning_content: Option<ReasoningDeltaIn<'a>>,
}

#[derive(Deserialize)]
struct ToolDeltaIn<'a> {
    #[serde(default, borrow)]
    input: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningDeltaIn<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    redacted_content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStopEvent {
    #[serde(default)]
    content_block_index: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStopEvent<'a> {
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    additional_model_response_fields: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct MetadataEvent {
    #[serde(default)]
    usage: Option<TokenUsage>,
}

/// `TokenUsage`, in a whole response and in `metadata`.
#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct TokenUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_write_input_tokens: Option<u64>,
    #[serde(default)]
    cache_details: Vec<CacheDetail>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct CacheDetail {
    #[serde(default)]
    ttl: String,
    #[serde(default)]
    input_tokens: u64,
}

impl TokenUsage {
    /// Anthropic's counts: Converse's `inputTokens` already leaves out cache reads and writes
    /// (see the module doc of `converse`).
    pub(super) fn to_anthropic(&self) -> Usage {
        let cache_creation = (!self.cache_details.is_empty()).then(|| {
            let of = |ttl: &str| {
                self.cache_details
                    .iter()
                    .filter(|d| d.ttl == ttl)
                    .map(|d| d.input_tokens)
                    .sum()
            };
            CacheCreation {
                ephemeral_5m_input_tokens: of("5m"),
                ephemeral_1h_input_tokens: of("1h"),
            }
        });
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0),
            output_tokens: self.output_tokens.unwrap_or(0),
            cache_creation_input_tokens: self.cache_write_input_tokens.unwrap_or(0),
            cache_read_input_tokens: self.cache_read_input_tokens.unwrap_or(0),
            cache_creation,
        }
    }
}

/// A piece of a content block.
#[derive(Debug, Clone, Copy)]
pub(super) enum Piece<'p> {
    Text(&'p str),
    /// A fragment of a tool call's JSON input.
    ToolInput(&'p str),
    Reasoning(&'p str),
    /// Bedrock's signature over the reasoning of the block.
    Signature(&'p str),
    /// Redacted reasoning, base64.
    Redacted(&'p str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Streaming,
    /// `messageStop` came; `message_delta` waits for the usage.
    Stopped,
    Ended,
}

#[derive(Debug)]
enum Kind {
    Text,
    Tool,
    Thinking {
        /// What Bedrock gave to send back with the reasoning.
        signature: String,
        redacted: String,
    },
}

impl Kind {
    fn same(&self, other: &Kind) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// The open Anthropic block and the Bedrock block it shows.
#[derive(Debug)]
struct Open {
    converse: u64,
    index: usize,
    kind: Kind,
}

/// The pure state machine from ConverseStream events to Anthropic events.
#[derive(Debug)]
pub struct Translator {
    message_id: String,
    model: String,
    phase: Phase,
    blocks: Blocks,
    open: Option<Open>,
    /// Text and tool blocks emitted so far (thinking aside).
    content_blocks: usize,
    saw_tool: bool,
    stop_reason: Option<StopReason>,
    stop_sequence: Option<String>,
    usage: Usage,
    saw_usage: bool,
    signer: Option<Signer>,
    /// The open thinking block's signature in the making (with a signer).
    mac: Option<ThinkingMac>,
}

impl Translator {
    /// A translator for a response to `requested_model` (echoed as the message's `model`);
    /// `signer` signs its thinking blocks.
    pub fn new(requested_model: &str, signer: Option<Signer>) -> Translator {
        Translator {
            message_id: new_message_id(),
            model: requested_model.to_owned(),
            phase: Phase::Waiting,
            blocks: Blocks::default(),
            open: None,
            content_blocks: 0,
            saw_tool: false,
            stop_reason: None,
            stop_sequence: None,
            usage: Usage::default(),
            saw_usage: false,
            signer,
            mac: None,
        }
    }

    /// Usage reported so far, in Anthropic terms.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Whether the response is complete or failed: nothing more will be emitted.
    pub fn ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// Takes one event: its `:event-type` and JSON payload.
    pub fn event(&mut self, event_type: &str, payload: &[u8], out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Ended {
            return;
        }
        let parsed = match event_type {
            "messageStart" => {
                self.start(out);
                Ok(())
            }
            "contentBlockStart" => parse(payload).map(|e: BlockStartEvent<'_>| {
                if let Some(tool) = e.start.and_then(|s| s.tool_use) {
                    let name = tool.name.as_deref().unwrap_or("");
                    self.tool_start(
                        e.content_block_index,
                        tool.tool_use_id.as_deref(),
                        name,
                        out,
                    );
                }
            }),
            "contentBlockDelta" => parse(payload).map(|e: DeltaEvent<'_>| {
                let c = e.content_block_index;
                let Some(delta) = e.delta else {
                    return;
                };
                if let Some(text) = &delta.text {
                    self.piece(c, Piece::Text(text), out);
                }
                if let Some(input) = delta.tool_use.as_ref().and_then(|t| t.input.as_deref()) {
                    self.piece(c, Piece::ToolInput(input), out);
                }
                if let Some(r) = &delta.reasoning_content {
                    if let Some(text) = &r.text {
                        self.piece(c, Piece::Reasoning(text), out);
                    }
                    if let Some(signature) = &r.signature {
                        self.piece(c, Piece::Signature(signature), out);
                    }
                    if let Some(data) = &r.redacted_content {
                        self.piece(c, Piece::Redacted(data), out);
                    }
                }
            }),
            "contentBlockStop" => {
                parse(payload).map(|e: BlockStopEvent| self.block_stop(e.content_block_index, out))
            }
            "messageStop" => parse(payload).map(|e: MessageStopEvent<'_>| {
                let reason = e.stop_reason.as_deref().unwrap_or("end_turn");
                self.message_stop(reason, e.additional_model_response_fields, out);
            }),
            "metadata" => parse(payload).map(|e: MetadataEvent| {
                if let Some(usage) = e.usage {
                    self.metadata(&usage, out);
                }
            }),
            // The exceptions are members of the same stream union.
            t if t.ends_with("Exception") => {
                self.exception(t, payload, out);
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = parsed {
            let err = ApiError::new(
                ErrorKind::Api,
                format!(
                    "{}: Bedrock sent a `{event_type}` event bgw cannot read ({e}): {}",
                    self.model,
                    truncate(&String::from_utf8_lossy(payload), 200)
                ),
            );
            self.fail(err, out);
        }
    }

    /// Takes an exception the stream ended with (`:message-type: exception`): an Anthropic
    /// `error` event of the matching type.
    pub fn exception(&mut self, exception_type: &str, payload: &[u8], out: &mut Vec<StreamEvent>) {
        if self.phase != Phase::Ended {
            let err = exception_error(&self.model, exception_type, payload);
            self.fail(err, out);
        }
    }

    /// The upstream closed: the message ends if Bedrock said why it stopped, else it was cut.
    pub fn end(&mut self, out: &mut Vec<StreamEvent>) {
        match self.phase {
            Phase::Ended => {}
            Phase::Stopped => self.complete(out),
            Phase::Waiting | Phase::Streaming => self.fail(
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

    /// Sends `message_start` once.
    pub(super) fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Waiting {
            self.phase = Phase::Streaming;
            out.push(StreamEvent::MessageStart {
                id: self.message_id.clone(),
                model: self.model.clone(),
                usage: Usage::default(),
            });
        }
    }

    /// A tool call begins (Bedrock names it before its input streams).
    pub(super) fn tool_start(
        &mut self,
        converse: u64,
        id: Option<&str>,
        name: &str,
        out: &mut Vec<StreamEvent>,
    ) {
        self.start(out);
        if self.phase != Phase::Streaming {
            return;
        }
        self.close_open(out);
        let block = BlockStart::ToolUse {
            id: anthropic_tool_id(id),
            name: name.to_owned(),
            input: Map::new(),
        };
        self.open_block(converse, Kind::Tool, block, out);
    }

    /// A piece of Bedrock block `converse`: into its open Anthropic block, or a new one.
    pub(super) fn piece(&mut self, converse: u64, piece: Piece<'_>, out: &mut Vec<StreamEvent>) {
        self.start(out);
        if self.phase != Phase::Streaming {
            return;
        }
        let kind = match piece {
            Piece::Text(t)
            | Piece::ToolInput(t)
            | Piece::Reasoning(t)
            | Piece::Signature(t)
            | Piece::Redacted(t)
                if t.is_empty() =>
            {
                return;
            }
            Piece::Text(_) => Kind::Text,
            Piece::ToolInput(_) => Kind::Tool,
            Piece::Reasoning(_) | Piece::Signature(_) | Piece::Redacted(_) => Kind::Thinking {
                signature: String::new(),
                redacted: String::new(),
            },
        };
        let fits = self
            .open
            .as_ref()
            .is_some_and(|o| o.converse == converse && o.kind.same(&kind));
        if !fits {
            if matches!(kind, Kind::Tool) {
                let err = ApiError::new(
                    ErrorKind::Api,
                    format!(
                        "{}: Bedrock streamed the input of a tool call it never started (block {converse})",
                        self.model
                    ),
                );
                self.fail(err, out);
                return;
            }
            self.close_open(out);
            let block = match kind {
                Kind::Text => BlockStart::Text {
                    text: String::new(),
                },
                _ => BlockStart::Thinking {
                    thinking: String::new(),
                    signature: String::new(),
                },
            };
            if !self.open_block(converse, kind, block, out) {
                return;
            }
        }
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let index = open.index;
        let delta = match (piece, &mut open.kind) {
            (Piece::Text(t), _) => Delta::TextDelta { text: t.to_owned() },
            (Piece::ToolInput(json), _) => Delta::InputJsonDelta {
                partial_json: json.to_owned(),
            },
            (Piece::Reasoning(t), Kind::Thinking { .. }) => {
                if let Some(mac) = &mut self.mac {
                    mac.update(t);
                }
                Delta::ThinkingDelta {
                    thinking: t.to_owned(),
                }
            }
            (Piece::Signature(s), Kind::Thinking { signature, .. }) => {
                signature.push_str(s);
                return;
            }
            (Piece::Redacted(r), Kind::Thinking { redacted, .. }) => {
                redacted.push_str(r);
                return;
            }
            _ => return,
        };
        out.push(StreamEvent::BlockDelta { index, delta });
    }

    /// Bedrock block `converse` is complete.
    pub(super) fn block_stop(&mut self, converse: u64, out: &mut Vec<StreamEvent>) {
        if self.open.as_ref().is_some_and(|o| o.converse == converse) {
            self.close_open(out);
        }
    }

    /// Bedrock says why it stopped; `fields` are its `additionalModelResponseFields`.
    pub(super) fn message_stop(
        &mut self,
        reason: &str,
        fields: Option<&RawValue>,
        out: &mut Vec<StreamEvent>,
    ) {
        self.start(out);
        if self.phase != Phase::Streaming {
            return;
        }
        self.close_open(out);
        let stop = match reason {
            // Nothing was written: the prompt alone filled the window.
            "model_context_window_exceeded" if self.blocks.started() == 0 => {
                let err = context_window_exceeded(&self.model);
                self.fail(err, out);
                return;
            }
            // The answer filled it: cut short, as by `max_tokens`.
            "model_context_window_exceeded" | "max_tokens" => StopReason::MaxTokens,
            "malformed_model_output" | "malformed_tool_use" => {
                let err = malformed(&self.model, reason);
                self.fail(err, out);
                return;
            }
            "guardrail_intervened" | "content_filtered" => {
                if self.content_blocks == 0 {
                    let note = format!("(Bedrock stopped this answer: stop reason {reason}.)");
                    self.note(&note, out);
                }
                StopReason::Refusal
            }
            "stop_sequence" => {
                self.stop_sequence = fields.and_then(stop_sequence);
                StopReason::StopSequence
            }
            _ if self.saw_tool => StopReason::ToolUse,
            _ => StopReason::EndTurn,
        };
        self.stop_reason = Some(stop);
        self.phase = Phase::Stopped;
        if self.saw_usage {
            self.complete(out);
        }
    }

    /// The usage (ConverseStream's `metadata`, after `messageStop`).
    pub(super) fn metadata(&mut self, usage: &TokenUsage, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Ended {
            return;
        }
        self.usage = usage.to_anthropic();
        self.saw_usage = true;
        if self.phase == Phase::Stopped {
            self.complete(out);
        }
    }

    /// Opens an Anthropic block showing Bedrock block `converse`; `false` when there are
    /// too many (the response fails).
    fn open_block(
        &mut self,
        converse: u64,
        kind: Kind,
        block: BlockStart,
        out: &mut Vec<StreamEvent>,
    ) -> bool {
        if self.blocks.full() {
            let err = ApiError::new(
                ErrorKind::Api,
                format!(
                    "{}: Bedrock sent more than {MAX_BLOCKS} content blocks in one answer",
                    self.model
                ),
            );
            self.fail(err, out);
            return false;
        }
        match &kind {
            Kind::Thinking { .. } => self.mac = self.signer.as_ref().map(Signer::start_carrying),
            Kind::Tool => {
                self.saw_tool = true;
                self.content_blocks += 1;
            }
            Kind::Text => self.content_blocks += 1,
        }
        let index = self.blocks.start(block, out);
        self.open = Some(Open {
            converse,
            index,
            kind,
        });
        true
    }

    /// Closes the open block; a thinking block first gets its signature, carrying what
    /// Bedrock needs back with it.
    fn close_open(&mut self, out: &mut Vec<StreamEvent>) {
        let Some(open) = self.open.take() else {
            return;
        };
        if let (
            Kind::Thinking {
                signature,
                redacted,
            },
            Some(mac),
        ) = (open.kind, self.mac.take())
        {
            let carried = if !redacted.is_empty() {
                Some(Carried::Redacted(redacted))
            } else if !signature.is_empty() {
                Some(Carried::Signature(signature))
            } else {
                None
            };
            let bytes = carried.map(|c| c.to_bytes()).unwrap_or_default();
            return Blocks::stop_thinking(open.index, Some(mac.finish_carrying(&bytes)), out);
        }
        Blocks::stop(open.index, out);
    }

    /// A text block of bgw's own, saying why an answer is empty.
    fn note(&mut self, text: &str, out: &mut Vec<StreamEvent>) {
        let block = BlockStart::Text {
            text: String::new(),
        };
        if self.open_block(u64::MAX, Kind::Text, block, out) {
            if let Some(open) = &self.open {
                out.push(StreamEvent::BlockDelta {
                    index: open.index,
                    delta: Delta::TextDelta {
                        text: text.to_owned(),
                    },
                });
            }
            self.close_open(out);
        }
    }

    fn fail(&mut self, err: ApiError, out: &mut Vec<StreamEvent>) {
        self.phase = Phase::Ended;
        self.open = None;
        self.mac = None;
        out.push(StreamEvent::Error(err));
    }

    /// Sends `message_delta` (stop reason and usage) and `message_stop`.
    fn complete(&mut self, out: &mut Vec<StreamEvent>) {
        out.push(StreamEvent::MessageDelta {
            stop_reason: Some(self.stop_reason.unwrap_or(StopReason::EndTurn)),
            stop_sequence: self.stop_sequence.take(),
            usage: self.usage,
        });
        out.push(StreamEvent::MessageStop);
        self.phase = Phase::Ended;
    }
}

fn parse<'p, T: Deserialize<'p>>(payload: &'p [u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(payload)
}

/// The stop sequence Claude matched, from `additionalModelResponseFields.stop_sequence`.
fn stop_sequence(fields: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Fields {
        #[serde(default)]
        stop_sequence: Option<String>,
    }
    serde_json::from_str::<Fields>(fields.get())
        .ok()?
        .stop_sequence
}
