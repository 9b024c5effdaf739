//! `streamGenerateContent?alt=sse` → Anthropic events: the pure [`Translator`] takes one
//! `GenerateContentResponse` at a time; [`GeminiStream`] only frames SSE around it.

use serde_json::Map;
use serde_json::value::RawValue;
use std::borrow::Cow;

use super::error::{GoogleError, MAX_MESSAGE, google_error, prefixed};
use super::response::{FunctionCallIn, GenerateResponse, PartIn, is_abnormal, is_blocked};
use super::{NEXT, PREVIOUS, anthropic_call_id, carry, truncate};
use crate::messages::event::new_message_id;
use crate::messages::signature::{Signer, ThinkingMac};
use crate::messages::{ApiError, BlockStart, Delta, ErrorKind, StopReason, StreamEvent, Usage};
use crate::providers::blocks::Blocks;
use crate::providers::framed::{Frame, Framed, FramingError, SseFramer, Translate};

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
pub struct Translator {
    message_id: String,
    model: String,
    phase: Phase,
    blocks: Blocks,
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
    pub(super) fn new(requested_model: &str, signer: Option<Signer>) -> Translator {
        Translator {
            message_id: new_message_id(),
            model: requested_model.to_owned(),
            phase: Phase::Waiting,
            blocks: Blocks::default(),
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
    pub(super) fn usage(&self) -> Usage {
        self.usage
    }

    /// Whether the response is complete or failed.
    pub(super) fn ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// Takes the `data` of one SSE frame. `at_eof`: the frame was cut by the connection
    /// closing; if it does not parse, [`Translator::end`] reports the stream as cut short.
    pub(super) fn data(&mut self, data: &str, at_eof: bool, out: &mut Vec<StreamEvent>) {
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
    pub(super) fn end(&mut self, out: &mut Vec<StreamEvent>) {
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
        Blocks::stop_thinking(index, Some(signature), out);
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
        Blocks::stop(index, out);
    }

    fn open_block(&mut self, block: BlockStart, out: &mut Vec<StreamEvent>) -> usize {
        self.blocks.start(block, out)
    }

    fn close_open(&mut self, out: &mut Vec<StreamEvent>) {
        match std::mem::replace(&mut self.open, Open::Nothing) {
            Open::Nothing => {}
            Open::Text(index) => {
                Blocks::stop(index, out);
                let after = std::mem::take(&mut self.after_text);
                if !after.is_empty() {
                    let signatures = after.into_iter().map(|s| (PREVIOUS, s)).collect();
                    self.signature_block(signatures, out);
                }
            }
            Open::Thinking(index) => {
                let carried = carry(&std::mem::take(&mut self.carried));
                let signature = self.mac.take().map(|mac| mac.finish_carrying(&carried));
                Blocks::stop_thinking(index, signature, out);
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
            Blocks::stop(index, out);
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
pub type GeminiStream = Framed<SseFramer, Translator>;

impl GeminiStream {
    /// A decoder for a response to `requested_model`; `signer` signs its thinking blocks.
    pub fn new(requested_model: &str, signer: Option<Signer>) -> GeminiStream {
        Framed::with(
            SseFramer::default(),
            Translator::new(requested_model, signer),
        )
    }
}

impl Translate for Translator {
    fn frame(&mut self, frame: &Frame, last: bool, out: &mut Vec<StreamEvent>) {
        Translator::data(self, &frame.data, last, out);
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
