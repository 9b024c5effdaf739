//! Anthropic stream events, as every provider's decoder produces them.

use serde::Serialize;

use super::{ApiError, Usage};

/// Content blocks one answer may hold: far more than any model writes (a few dozen), few
/// enough that a broken upstream cannot make bgw or its client hold unbounded state.
pub const MAX_BLOCKS: usize = 4_096;

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    ToolUse,
    PauseTurn,
    Refusal,
}

/// How a content block begins.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockStart {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: serde_json::Map<String, serde_json::Value>,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
}

/// A piece of a content block.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    TextDelta { text: String },
    InputJsonDelta { partial_json: String },
    ThinkingDelta { thinking: String },
    SignatureDelta { signature: String },
}

/// One event of an Anthropic message stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    MessageStart {
        id: String,
        model: String,
        usage: Usage,
    },
    BlockStart {
        index: usize,
        block: BlockStart,
    },
    BlockDelta {
        index: usize,
        delta: Delta,
    },
    BlockStop {
        index: usize,
    },
    MessageDelta {
        stop_reason: Option<StopReason>,
        stop_sequence: Option<String>,
        usage: Usage,
    },
    MessageStop,
    Ping,
    Error(ApiError),
}

#[derive(Serialize)]
struct MessageStartBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: MessageHead<'a>,
}

#[derive(Serialize)]
struct MessageHead<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: [(); 0],
    stop_reason: Option<StopReason>,
    stop_sequence: Option<&'a str>,
    usage: &'a Usage,
}

#[derive(Serialize)]
struct IndexedBody<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_block: Option<&'a T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<&'a T>,
}

#[derive(Serialize)]
struct MessageDeltaBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    delta: StopBody<'a>,
    usage: &'a Usage,
}

#[derive(Serialize)]
struct StopBody<'a> {
    stop_reason: Option<StopReason>,
    stop_sequence: Option<&'a str>,
}

impl StreamEvent {
    /// The SSE event name (equal to the JSON `type`).
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::MessageStart { .. } => "message_start",
            StreamEvent::BlockStart { .. } => "content_block_start",
            StreamEvent::BlockDelta { .. } => "content_block_delta",
            StreamEvent::BlockStop { .. } => "content_block_stop",
            StreamEvent::MessageDelta { .. } => "message_delta",
            StreamEvent::MessageStop => "message_stop",
            StreamEvent::Ping => "ping",
            StreamEvent::Error(_) => "error",
        }
    }

    /// Appends the event as one SSE frame: `event: NAME\ndata: JSON\n\n`.
    pub fn write_sse(&self, out: &mut Vec<u8>) {
        if let StreamEvent::Error(e) = self {
            out.extend_from_slice(&e.to_sse());
            return;
        }
        let name = self.name();
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        let written = match self {
            StreamEvent::MessageStart { id, model, usage } => serde_json::to_writer(
                &mut *out,
                &MessageStartBody {
                    kind: name,
                    message: MessageHead {
                        id,
                        kind: "message",
                        role: "assistant",
                        model,
                        content: [],
                        stop_reason: None,
                        stop_sequence: None,
                        usage,
                    },
                },
            ),
            StreamEvent::BlockStart { index, block } => serde_json::to_writer(
                &mut *out,
                &IndexedBody {
                    kind: name,
                    index: *index,
                    content_block: Some(block),
                    delta: None,
                },
            ),
            StreamEvent::BlockDelta { index, delta } => serde_json::to_writer(
                &mut *out,
                &IndexedBody {
                    kind: name,
                    index: *index,
                    content_block: None,
                    delta: Some(delta),
                },
            ),
            StreamEvent::BlockStop { index } => serde_json::to_writer(
                &mut *out,
                &IndexedBody::<()> {
                    kind: name,
                    index: *index,
                    content_block: None,
                    delta: None,
                },
            ),
            StreamEvent::MessageDelta {
                stop_reason,
                stop_sequence,
                usage,
            } => serde_json::to_writer(
                &mut *out,
                &MessageDeltaBody {
                    kind: name,
                    delta: StopBody {
                        stop_reason: *stop_reason,
                        stop_sequence: stop_sequence.as_deref(),
                    },
                    usage,
                },
            ),
            StreamEvent::MessageStop | StreamEvent::Ping => {
                out.extend_from_slice(br#"{"type":""#);
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(br#""}"#);
                Ok(())
            }
            StreamEvent::Error(_) => Ok(()),
        };
        // Serializing these plain structs into a Vec cannot fail; keep the frame well-formed regardless.
        if written.is_err() {
            out.extend_from_slice(b"{}");
        }
        out.extend_from_slice(b"\n\n");
    }
}

/// A fresh `msg_…` id for translated responses.
pub fn new_message_id() -> String {
    format!("msg_bgw{}", random_suffix())
}

/// A fresh `toolu_…` id for tool calls that arrive without a usable id.
pub fn new_tool_id() -> String {
    format!("toolu_bgw{}", random_suffix())
}

/// 128 random bits drawn once per process (one `getrandom` call): ids made from it and a
/// counter are distinct without a system call per id on the request path.
pub(crate) fn process_seed() -> u128 {
    static SEED: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        let mut b = [0u8; 16];
        if getrandom::fill(&mut b).is_err() {
            // No OS randomness: the clock and process id still make this process's ids its own.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            return nanos ^ (u128::from(std::process::id()) << 64);
        }
        u128::from_le_bytes(b)
    })
}

/// 24 base-62 characters, distinct for every id this process makes: a per-process
/// random seed (one `getrandom` call) mixed with a counter, instead of a system call
/// per id on the request path.
fn random_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = process_seed() as u64;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(24);
    for half in [
        splitmix(seed ^ n),
        splitmix(seed.rotate_left(32) ^ n ^ 0x9E37),
    ] {
        let mut x = half;
        for _ in 0..12 {
            out.push(char::from(ALPHABET[(x % 62) as usize]));
            x /= 62;
        }
    }
    out
}

/// A well-mixed 64-bit hash of `x` (SplitMix64's finaliser).
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sse(e: StreamEvent) -> String {
        let mut out = Vec::new();
        e.write_sse(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn message_start_has_the_full_message_head() {
        let text = sse(StreamEvent::MessageStart {
            id: "msg_1".into(),
            model: "openai/gpt-5".into(),
            usage: Usage {
                input_tokens: 5,
                ..Usage::default()
            },
        });
        assert_eq!(
            text,
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"openai/gpt-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}\n\n"
        );
    }

    #[test]
    fn tool_use_start_and_json_delta() {
        let start = sse(StreamEvent::BlockStart {
            index: 1,
            block: BlockStart::ToolUse {
                id: "toolu_1".into(),
                name: "Write".into(),
                input: Default::default(),
            },
        });
        assert_eq!(
            start,
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Write\",\"input\":{}}}\n\n"
        );
        let delta = sse(StreamEvent::BlockDelta {
            index: 1,
            delta: Delta::InputJsonDelta {
                partial_json: "{\"a\"".into(),
            },
        });
        assert_eq!(
            delta,
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\"\"}}\n\n"
        );
    }

    #[test]
    fn stop_events() {
        assert_eq!(
            sse(StreamEvent::BlockStop { index: 0 }),
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        );
        assert_eq!(
            sse(StreamEvent::MessageStop),
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
        let delta = sse(StreamEvent::MessageDelta {
            stop_reason: Some(StopReason::ToolUse),
            stop_sequence: None,
            usage: Usage {
                output_tokens: 7,
                ..Usage::default()
            },
        });
        assert!(delta.contains("{\"stop_reason\":\"tool_use\",\"stop_sequence\":null}"));
    }

    #[test]
    fn ids_are_distinct() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| new_tool_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert_ne!(new_tool_id(), new_tool_id());
        assert!(new_message_id().starts_with("msg_"));
    }
}
