//! A Chat Completions stream → Anthropic stream events.
//!
//! [`Translator`] is a pure state machine: it takes the `data:` of one SSE frame and returns
//! the Anthropic events it completes. [`ChatStream`] only frames bytes with the SSE parser.
//!
//! # Tool calls that interleave
//!
//! OpenAI streams each call's fragments under its `index`, one call after another; some
//! vendors interleave indices. Anthropic blocks must not interleave, so one block is open at
//! a time and every OpenAI index maps to exactly one `tool_use` block:
//! - a call's block opens when its first named fragment arrives, unless another call's block
//!   is open and its JSON arguments are not yet complete; then the new call waits, its
//!   arguments buffered;
//! - a tool block is closed as soon as another block needs to open and its arguments are a
//!   complete JSON object (tracked by a small scanner, strings and escapes included); waiting
//!   calls then open in order of first appearance, their buffer sent as the first delta;
//! - text or reasoning arriving while an incomplete call is open is held and sent after the
//!   tool blocks; at `finish_reason`, `[DONE]` or EOF everything still open or waiting is
//!   flushed in that order.
//!
//! Output is therefore always sequential and valid; in the sequential (OpenAI) case nothing
//! is delayed.
//!
//! # Thinking
//!
//! Reasoning deltas become a thinking block. With a [`Signer`], the block ends as Anthropic's
//! do: a `signature_delta` (bgw's signature over the whole text) right before its
//! `content_block_stop`.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

use super::error::error_from_raw;
use super::response::{FirstChoice, WireUsage, stop_reason};
use crate::messages::event::{new_message_id, new_tool_id};
use crate::messages::signature::{Signer, ThinkingMac};
use crate::messages::{ApiError, BlockStart, Delta, ErrorKind, StreamEvent, Usage, tool_id};
use crate::providers::blocks::Blocks;
use crate::providers::framed::{Frame, Framed, FramingError, SseFramer, Translate};

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    choices: FirstChoice<ChunkChoice<'a>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
    /// Groq puts stream usage here.
    #[serde(default)]
    x_groq: Option<XGroq>,
}

#[derive(Deserialize)]
struct XGroq {
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ChunkChoice<'a> {
    #[serde(default, borrow)]
    delta: Option<ChunkDelta<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ChunkDelta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    refusal: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCallDelta<'a>>>,
}

#[derive(Deserialize)]
struct ToolCallDelta<'a> {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct FunctionDelta<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

/// Tells when streamed arguments form a complete JSON object.
#[derive(Debug, Default)]
struct JsonScan {
    depth: u32,
    in_string: bool,
    escape: bool,
    started: bool,
    object: bool,
    complete: bool,
}

impl JsonScan {
    fn feed(&mut self, s: &str) {
        for b in s.bytes() {
            if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b' ' | b'\n' | b'\r' | b'\t' => {}
                b'{' | b'[' => {
                    if !self.started {
                        self.started = true;
                        self.object = b == b'{';
                    }
                    self.depth += 1;
                }
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.complete |= self.depth == 0 && self.object;
                }
                _ => {
                    // A top-level scalar is never taken as complete: arguments are objects.
                    self.started = true;
                    self.in_string = b == b'"';
                }
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum SlotState {
    Waiting,
    Open,
    Closed,
}

/// One OpenAI tool call (one `index`), and its Anthropic block once opened.
#[derive(Debug)]
struct ToolSlot {
    index: u32,
    id: String,
    /// Whether `id` came from the upstream (else invented).
    upstream_id: bool,
    name: Option<String>,
    state: SlotState,
    /// Arguments received while waiting.
    buffer: String,
    scan: JsonScan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Nothing,
    Text(usize),
    Thinking(usize),
    Tool { slot: usize, block: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Streaming,
    Ended,
}

/// The pure state machine from Chat Completions chunks to Anthropic events.
#[derive(Debug)]
pub struct Translator {
    message_id: String,
    model: String,
    phase: Phase,
    blocks: Blocks,
    open: Open,
    slots: Vec<ToolSlot>,
    last_slot: Option<usize>,
    held_text: String,
    held_thinking: String,
    finish_reason: Option<String>,
    saw_tool: bool,
    usage: Usage,
    /// Signs thinking blocks; without one they end unsigned.
    signer: Option<Signer>,
    /// The signature of the open thinking block, fed as its text streams.
    mac: Option<ThinkingMac>,
}

impl Translator {
    /// A translator for a response to `requested_model`.
    pub(super) fn new(requested_model: &str) -> Translator {
        Translator {
            message_id: new_message_id(),
            model: requested_model.to_owned(),
            phase: Phase::Waiting,
            blocks: Blocks::default(),
            open: Open::Nothing,
            slots: Vec::new(),
            last_slot: None,
            held_text: String::new(),
            held_thinking: String::new(),
            finish_reason: None,
            saw_tool: false,
            usage: Usage::default(),
            signer: None,
            mac: None,
        }
    }

    /// Signs every thinking block with `signer`.
    pub(super) fn sign_with(&mut self, signer: Signer) {
        self.signer = Some(signer);
    }

    /// Usage reported so far, in Anthropic terms.
    pub(super) fn usage(&self) -> Usage {
        self.usage
    }

    /// `at_eof`: the frame was cut by the connection closing; if it does not parse it is the
    /// torn end of the stream, reported by [`Translator::end`], not a malformed chunk.
    fn frame(&mut self, data: &str, at_eof: bool, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Ended {
            return;
        }
        let data = data.trim();
        if data.is_empty() {
            return;
        }
        if data == "[DONE]" {
            self.complete(out);
            return;
        }
        match serde_json::from_str::<Chunk<'_>>(data) {
            Ok(chunk) => self.chunk(chunk, out),
            Err(_) if at_eof => {}
            Err(e) => self.fail(
                ApiError::new(
                    ErrorKind::Api,
                    format!(
                        "{}: the upstream stream sent a chunk that is not valid JSON ({e}): {}",
                        self.model,
                        super::error::truncate(data, 200)
                    ),
                ),
                out,
            ),
        }
    }

    /// Whether the response is complete or failed.
    pub(super) fn ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// The upstream closed. Without a `finish_reason` (or `[DONE]`) the response is cut short.
    pub(super) fn end(&mut self, out: &mut Vec<StreamEvent>) {
        match self.phase {
            Phase::Ended => {}
            _ if self.finish_reason.is_some() => self.complete(out),
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

    fn chunk(&mut self, chunk: Chunk<'_>, out: &mut Vec<StreamEvent>) {
        if let Some(err) = chunk.error {
            self.fail(error_from_raw(err, &self.model), out);
            return;
        }
        if let Some(u) = chunk.usage.or(chunk.x_groq.and_then(|g| g.usage)) {
            self.usage.merge_from(&u.to_anthropic());
        }
        self.start(out);
        let Some(choice) = chunk.choices.0 else {
            return;
        };
        if let Some(delta) = choice.delta {
            let reasoning = delta.reasoning_content.or(delta.reasoning);
            if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
                self.thinking(r.into_owned(), out);
            }
            for text in [delta.content, delta.refusal].into_iter().flatten() {
                if !text.is_empty() {
                    self.text(text.into_owned(), out);
                }
            }
            for call in delta.tool_calls.into_iter().flatten() {
                self.tool_fragment(call, out);
            }
        }
        if let Some(reason) = choice.finish_reason {
            self.finish_reason = Some(reason.into_owned());
            // Content is over: close blocks now; message_delta waits for the usage chunk.
            self.flush_all(out);
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

    /// Closes all content and sends message_delta and message_stop.
    fn complete(&mut self, out: &mut Vec<StreamEvent>) {
        self.start(out);
        self.flush_all(out);
        out.push(StreamEvent::MessageDelta {
            stop_reason: Some(stop_reason(self.finish_reason.as_deref(), self.saw_tool)),
            stop_sequence: None,
            usage: self.usage,
        });
        out.push(StreamEvent::MessageStop);
        self.phase = Phase::Ended;
    }

    /// Whether the open block is a call whose arguments are still coming.
    fn tool_incomplete(&self) -> bool {
        matches!(self.open, Open::Tool { slot, .. } if !self.slots[slot].scan.complete)
    }

    fn text(&mut self, text: String, out: &mut Vec<StreamEvent>) {
        let index = match self.open {
            Open::Text(i) => i,
            _ if self.tool_incomplete() => {
                self.held_text.push_str(&text);
                return;
            }
            _ => {
                self.close_open(out);
                let i = self.open_block(
                    BlockStart::Text {
                        text: String::new(),
                    },
                    out,
                );
                self.open = Open::Text(i);
                i
            }
        };
        out.push(StreamEvent::BlockDelta {
            index,
            delta: Delta::TextDelta { text },
        });
    }

    fn thinking(&mut self, thinking: String, out: &mut Vec<StreamEvent>) {
        let index = match self.open {
            Open::Thinking(i) => i,
            _ if self.tool_incomplete() => {
                self.held_thinking.push_str(&thinking);
                return;
            }
            _ => {
                self.close_open(out);
                let i = self.open_thinking(out);
                self.open = Open::Thinking(i);
                i
            }
        };
        if let Some(mac) = &mut self.mac {
            mac.update(&thinking);
        }
        out.push(StreamEvent::BlockDelta {
            index,
            delta: Delta::ThinkingDelta { thinking },
        });
    }

    fn open_thinking(&mut self, out: &mut Vec<StreamEvent>) -> usize {
        // Starts unsigned, as Anthropic's do; the signature comes last (`close_thinking`).
        self.mac = self.signer.as_ref().map(Signer::start);
        self.open_block(
            BlockStart::Thinking {
                thinking: String::new(),
                signature: String::new(),
            },
            out,
        )
    }

    /// Ends a thinking block: its signature, if any, then its stop.
    fn close_thinking(&mut self, index: usize, out: &mut Vec<StreamEvent>) {
        Blocks::stop_thinking(index, self.mac.take().map(ThinkingMac::finish), out);
    }

    fn tool_fragment(&mut self, call: ToolCallDelta<'_>, out: &mut Vec<StreamEvent>) {
        let (name, arguments) = match call.function {
            Some(f) => (f.name, f.arguments),
            None => (None, None),
        };
        let slot = self.slot_for(call.index, call.id.as_deref(), name.is_some());
        self.last_slot = Some(slot);
        let s = &mut self.slots[slot];
        if s.name.is_none() {
            s.name = name.filter(|n| !n.is_empty()).map(Cow::into_owned);
        }
        let args = arguments.unwrap_or_default();
        match s.state {
            SlotState::Open => {
                if !args.is_empty() {
                    s.scan.feed(&args);
                    if let Open::Tool { block, .. } = self.open {
                        out.push(StreamEvent::BlockDelta {
                            index: block,
                            delta: Delta::InputJsonDelta {
                                partial_json: args.into_owned(),
                            },
                        });
                    }
                }
            }
            SlotState::Waiting => {
                s.scan.feed(&args);
                s.buffer.push_str(&args);
            }
            // A fragment for a call already closed cannot be placed any more; it can only be
            // trailing whitespace after complete JSON (the close rule), so it is dropped.
            SlotState::Closed => {}
        }
        self.advance(out);
    }

    /// The slot an OpenAI fragment belongs to, created if new.
    fn slot_for(&mut self, index: Option<u32>, id: Option<&str>, named: bool) -> usize {
        let id = id.filter(|i| !i.is_empty());
        let found = match index {
            Some(k) => self.slots.iter().rposition(|s| s.index == k).filter(|&i| {
                // A new id with a name under a known index is a new call (vendors that send
                // index 0 for every call); a repeated id is the same call.
                let s = &self.slots[i];
                !(named && s.upstream_id && id.is_some_and(|id| id != s.id))
            }),
            None => match id {
                Some(id) => self.slots.iter().position(|s| s.id == id),
                None => self
                    .last_slot
                    .or(if self.slots.is_empty() { None } else { Some(0) }),
            },
        };
        if let Some(i) = found {
            return i;
        }
        let index = index.unwrap_or(self.slots.len() as u32);
        let (id, upstream_id) = match id {
            Some(id) if !self.slots.iter().any(|s| s.id == id) => (id.to_owned(), true),
            _ => (new_tool_id(), false),
        };
        self.slots.push(ToolSlot {
            index,
            id,
            upstream_id,
            name: None,
            state: SlotState::Waiting,
            buffer: String::new(),
            scan: JsonScan::default(),
        });
        self.slots.len() - 1
    }

    /// Opens waiting calls, in order, while the open block may be closed.
    fn advance(&mut self, out: &mut Vec<StreamEvent>) {
        while !self.tool_incomplete() {
            let Some(next) = self
                .slots
                .iter()
                .position(|s| s.state == SlotState::Waiting && s.name.is_some())
            else {
                return;
            };
            self.close_open(out);
            self.open_tool(next, out);
        }
    }

    fn open_tool(&mut self, slot: usize, out: &mut Vec<StreamEvent>) {
        let s = &mut self.slots[slot];
        s.state = SlotState::Open;
        let block = BlockStart::ToolUse {
            id: tool_id::for_anthropic(&s.id).into_owned(),
            name: s.name.clone().unwrap_or_default(),
            input: serde_json::Map::new(),
        };
        let buffered = std::mem::take(&mut s.buffer);
        let index = self.open_block(block, out);
        self.saw_tool = true;
        self.open = Open::Tool { slot, block: index };
        if !buffered.is_empty() {
            out.push(StreamEvent::BlockDelta {
                index,
                delta: Delta::InputJsonDelta {
                    partial_json: buffered,
                },
            });
        }
    }

    fn open_block(&mut self, block: BlockStart, out: &mut Vec<StreamEvent>) -> usize {
        self.blocks.start(block, out)
    }

    fn close_open(&mut self, out: &mut Vec<StreamEvent>) {
        let index = match std::mem::replace(&mut self.open, Open::Nothing) {
            Open::Nothing => return,
            Open::Thinking(i) => return self.close_thinking(i, out),
            Open::Text(i) => i,
            Open::Tool { slot, block } => {
                self.slots[slot].state = SlotState::Closed;
                block
            }
        };
        Blocks::stop(index, out);
    }

    /// Content is over: closes the open block, then sends waiting calls and held text.
    fn flush_all(&mut self, out: &mut Vec<StreamEvent>) {
        self.close_open(out);
        while let Some(next) = self
            .slots
            .iter()
            .position(|s| s.state == SlotState::Waiting && s.name.is_some())
        {
            self.open_tool(next, out);
            self.close_open(out);
        }
        // A call that never got a name cannot be run; it is dropped.
        for s in &mut self.slots {
            s.state = SlotState::Closed;
        }
        if !self.held_thinking.is_empty() {
            let thinking = std::mem::take(&mut self.held_thinking);
            let i = self.open_thinking(out);
            if let Some(mac) = &mut self.mac {
                mac.update(&thinking);
            }
            out.push(StreamEvent::BlockDelta {
                index: i,
                delta: Delta::ThinkingDelta { thinking },
            });
            self.close_thinking(i, out);
        }
        if !self.held_text.is_empty() {
            let text = std::mem::take(&mut self.held_text);
            let i = self.open_block(
                BlockStart::Text {
                    text: String::new(),
                },
                out,
            );
            out.push(StreamEvent::BlockDelta {
                index: i,
                delta: Delta::TextDelta { text },
            });
            Blocks::stop(i, out);
        }
    }
}

/// Decodes a Chat Completions SSE stream into Anthropic SSE bytes.
pub type ChatStream = Framed<SseFramer, Translator>;

impl ChatStream {
    /// A decoder for a response to `requested_model` (echoed as the message's `model`); its
    /// thinking blocks are unsigned unless [`ChatStream::signing_thinking`] is used.
    pub fn new(requested_model: &str) -> ChatStream {
        Framed::with(SseFramer::default(), Translator::new(requested_model))
    }

    /// Signs every thinking block with `signer` (a `signature_delta` before its stop).
    pub fn signing_thinking(mut self, signer: Signer) -> ChatStream {
        self.translator.sign_with(signer);
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
        Translator::usage(self)
    }

    fn ended(&self) -> bool {
        Translator::ended(self)
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
