//! A whole (non-streamed) Messages response, and the accumulator that builds one from events.

use serde::Serialize;
use serde_json::value::RawValue;

use super::{ApiError, BlockStart, Delta, StopReason, StreamEvent, Usage};

/// A complete response body.
#[derive(Debug, Clone, Serialize)]
pub struct MessageResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: String,
    pub content: Vec<ContentOut>,
    pub stop_reason: Option<StopReason>,
    pub stop_sequence: Option<String>,
    pub usage: Usage,
}

/// One block of a response.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentOut {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Box<RawValue>,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
}

impl MessageResponse {
    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[derive(Debug)]
enum Open {
    Text(String),
    Tool {
        id: String,
        name: String,
        json: String,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
}

/// Builds a [`MessageResponse`] from stream events (non-stream decoding and log reassembly).
#[derive(Debug, Default)]
pub struct MessageAccumulator {
    id: String,
    model: String,
    blocks: Vec<Option<Open>>,
    content: Vec<(usize, ContentOut)>,
    stop_reason: Option<StopReason>,
    stop_sequence: Option<String>,
    usage: Usage,
    error: Option<ApiError>,
}

impl MessageAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one event.
    pub fn push(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::MessageStart { id, model, usage } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
                self.usage.merge_from(usage);
            }
            StreamEvent::BlockStart { index, block } => {
                if self.blocks.len() <= *index {
                    self.blocks.resize_with(index + 1, || None);
                }
                self.blocks[*index] = Some(match block {
                    BlockStart::Text { text } => Open::Text(text.clone()),
                    BlockStart::ToolUse { id, name, .. } => Open::Tool {
                        id: id.clone(),
                        name: name.clone(),
                        json: String::new(),
                    },
                    BlockStart::Thinking {
                        thinking,
                        signature,
                    } => Open::Thinking {
                        thinking: thinking.clone(),
                        signature: signature.clone(),
                    },
                });
            }
            StreamEvent::BlockDelta { index, delta } => {
                match (self.blocks.get_mut(*index).and_then(Option::as_mut), delta) {
                    (Some(Open::Text(t)), Delta::TextDelta { text }) => t.push_str(text),
                    (Some(Open::Tool { json, .. }), Delta::InputJsonDelta { partial_json }) => {
                        json.push_str(partial_json)
                    }
                    (
                        Some(Open::Thinking { thinking, .. }),
                        Delta::ThinkingDelta { thinking: t },
                    ) => thinking.push_str(t),
                    (
                        Some(Open::Thinking { signature, .. }),
                        Delta::SignatureDelta { signature: s },
                    ) => signature.push_str(s),
                    _ => {}
                }
            }
            StreamEvent::BlockStop { index } => {
                if let Some(open) = self.blocks.get_mut(*index).and_then(Option::take) {
                    self.content.push((*index, close(open)));
                }
            }
            StreamEvent::MessageDelta {
                stop_reason,
                stop_sequence,
                usage,
            } => {
                self.stop_reason = *stop_reason;
                self.stop_sequence.clone_from(stop_sequence);
                self.usage.merge_from(usage);
            }
            StreamEvent::Error(e) => self.error = Some(e.clone()),
            StreamEvent::MessageStop | StreamEvent::Ping => {}
        }
    }

    /// The usage seen so far.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// The finished message, or the error the stream ended with.
    pub fn finish(mut self) -> Result<MessageResponse, ApiError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        for (index, open) in self.blocks.iter_mut().enumerate() {
            if let Some(open) = open.take() {
                self.content.push((index, close(open)));
            }
        }
        self.content.sort_by_key(|(i, _)| *i);
        Ok(MessageResponse {
            id: self.id,
            kind: "message",
            role: "assistant",
            model: self.model,
            content: self.content.into_iter().map(|(_, c)| c).collect(),
            stop_reason: self.stop_reason,
            stop_sequence: self.stop_sequence,
            usage: self.usage,
        })
    }
}

fn close(open: Open) -> ContentOut {
    match open {
        Open::Text(text) => ContentOut::Text { text },
        Open::Tool { id, name, json } => {
            let json = if json.trim().is_empty() {
                "{}".to_owned()
            } else {
                json
            };
            let input = RawValue::from_string(json).unwrap_or_else(|_| empty_object());
            ContentOut::ToolUse { id, name, input }
        }
        Open::Thinking {
            thinking,
            signature,
        } => ContentOut::Thinking {
            thinking,
            signature,
        },
    }
}

/// `{}` as a raw value (a tool call whose input was empty or not JSON).
pub(crate) fn empty_object() -> Box<RawValue> {
    // "{}" is valid JSON, so this never falls back; the fallback keeps the signature total.
    RawValue::from_string("{}".to_owned()).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_one_message() {
        let mut acc = MessageAccumulator::new();
        let events = [
            StreamEvent::MessageStart {
                id: "msg_1".into(),
                model: "m".into(),
                usage: Usage {
                    input_tokens: 3,
                    ..Usage::default()
                },
            },
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::Text {
                    text: String::new(),
                },
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::TextDelta { text: "hel".into() },
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::TextDelta { text: "lo".into() },
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::BlockStart {
                index: 1,
                block: BlockStart::ToolUse {
                    id: "toolu_1".into(),
                    name: "Bash".into(),
                    input: Default::default(),
                },
            },
            StreamEvent::BlockDelta {
                index: 1,
                delta: Delta::InputJsonDelta {
                    partial_json: "{\"command\":".into(),
                },
            },
            StreamEvent::BlockDelta {
                index: 1,
                delta: Delta::InputJsonDelta {
                    partial_json: "\"ls\"}".into(),
                },
            },
            StreamEvent::BlockStop { index: 1 },
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::ToolUse),
                stop_sequence: None,
                usage: Usage {
                    output_tokens: 9,
                    ..Usage::default()
                },
            },
            StreamEvent::MessageStop,
        ];
        for e in &events {
            acc.push(e);
        }
        let msg = acc.finish().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&msg.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id":"msg_1","type":"message","role":"assistant","model":"m",
                "content":[{"type":"text","text":"hello"},{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}}],
                "stop_reason":"tool_use","stop_sequence":null,
                "usage":{"input_tokens":3,"output_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}
            })
        );
    }
}
