//! The response a client read from a stream, rebuilt as one Messages body for the log.
//!
//! The gateway keeps a copy of the SSE bytes it wrote; the log writer (off the request path)
//! folds them back into the message they spelled, as Anthropic's SDKs do.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The most content blocks rebuilt. A block's index is whatever the upstream wrote (a
/// passthrough stream is logged as Anthropic-format servers sent it), so blocks are kept by
/// index in a map, never a list as long as the largest index; and their number is bounded,
/// since a hostile stream could open a block per event. Real answers hold a few dozen
/// blocks (text, thinking, tool calls); 4096 is far past any, and small to hold.
use super::event::MAX_BLOCKS;

/// A content block being rebuilt: the block, and a tool call's arguments as they arrive.
struct Block {
    block: Map<String, Value>,
    partial_json: Option<String>,
}

/// The message `sse` (Anthropic server-sent events) spelled; an `error` event ends up under
/// `"error"`. Bytes that hold no message at all come back as they are, in a JSON string.
/// Blocks past [`MAX_BLOCKS`] are left out, and the message says how many.
pub fn assemble(sse: &[u8]) -> Value {
    let mut message: Option<Map<String, Value>> = None;
    let mut blocks: BTreeMap<u64, Block> = BTreeMap::new();
    let mut left_out: u64 = 0;
    let mut error: Option<Value> = None;
    for data in events(sse) {
        let Ok(event) = serde_json::from_slice::<Value>(&data) else {
            continue;
        };
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => {
                message = event.get("message").and_then(Value::as_object).cloned();
            }
            "content_block_start" => {
                if blocks.len() >= MAX_BLOCKS && !blocks.contains_key(&index) {
                    left_out += 1;
                    continue;
                }
                // A block that is not an object is no block (and could not take a delta).
                let Some(block) = event.get("content_block").and_then(Value::as_object) else {
                    continue;
                };
                let block = block.clone();
                let partial_json = matches!(
                    block.get("type").and_then(Value::as_str),
                    Some("tool_use" | "server_tool_use")
                )
                .then(String::new);
                blocks.insert(
                    index,
                    Block {
                        block,
                        partial_json,
                    },
                );
            }
            "content_block_delta" => {
                let (
                    Some(Block {
                        block,
                        partial_json,
                    }),
                    Some(delta),
                ) = (blocks.get_mut(&index), event.get("delta"))
                else {
                    continue;
                };
                let text = |k: &str| delta.get(k).and_then(Value::as_str).unwrap_or("");
                match delta.get("type").and_then(Value::as_str).unwrap_or("") {
                    "text_delta" => append(block, "text", text("text")),
                    "thinking_delta" => append(block, "thinking", text("thinking")),
                    "signature_delta" => {
                        block.insert("signature".into(), text("signature").into());
                    }
                    "input_json_delta" => {
                        if let Some(buf) = partial_json {
                            buf.push_str(text("partial_json"));
                        }
                    }
                    "citations_delta" => {
                        if let Some(c) = delta.get("citation") {
                            match block.get_mut("citations").and_then(Value::as_array_mut) {
                                Some(list) => list.push(c.clone()),
                                None => {
                                    block.insert("citations".into(), json!([c]));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(Block {
                    block,
                    partial_json,
                }) = blocks.get_mut(&index)
                {
                    if let Some(buf) = partial_json.take() {
                        let input = if buf.trim().is_empty() {
                            json!({})
                        } else {
                            serde_json::from_str(&buf).unwrap_or(Value::String(buf))
                        };
                        block.insert("input".into(), input);
                    }
                }
            }
            "message_delta" => {
                let Some(m) = message.as_mut() else { continue };
                if let Some(delta) = event.get("delta").and_then(Value::as_object) {
                    for (k, v) in delta {
                        m.insert(k.clone(), v.clone());
                    }
                }
                if let Some(usage) = event.get("usage").and_then(Value::as_object) {
                    let entry = m.entry("usage").or_insert_with(|| json!({}));
                    if let Some(u) = entry.as_object_mut() {
                        for (k, v) in usage {
                            if !v.is_null() {
                                u.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
            }
            "error" => error = event.get("error").cloned(),
            _ => {}
        }
    }
    // A tool call cut off mid-arguments keeps what arrived.
    let content = blocks
        .into_values()
        .map(|mut b| {
            if let Some(buf) = b.partial_json {
                b.block.insert("input".into(), Value::String(buf));
            }
            Value::Object(b.block)
        })
        .collect();
    match message {
        Some(mut m) => {
            m.insert("content".into(), Value::Array(content));
            if left_out > 0 {
                m.insert("bgw_blocks_left_out".into(), json!(left_out));
            }
            if let Some(e) = error {
                m.insert("error".into(), e);
            }
            Value::Object(m)
        }
        None => match error {
            Some(e) => json!({"type": "error", "error": e}),
            None => Value::String(String::from_utf8_lossy(sse).into_owned()),
        },
    }
}

fn append(block: &mut Map<String, Value>, field: &str, more: &str) {
    match block.get_mut(field) {
        Some(Value::String(s)) => s.push_str(more),
        _ => {
            block.insert(field.into(), more.into());
        }
    }
}

/// The `data` of each event (its `data:` lines joined by newlines).
fn events(sse: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut data = Vec::new();
    let mut lines = sse.split(|&b| b == b'\n').peekable();
    std::iter::from_fn(move || {
        loop {
            let Some(line) = lines.next() else {
                return (!data.is_empty()).then(|| std::mem::take(&mut data));
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                if !data.is_empty() {
                    return Some(std::mem::take(&mut data));
                }
            } else if let Some(rest) = line.strip_prefix(b"data:") {
                if !data.is_empty() {
                    data.push(b'\n');
                }
                data.extend_from_slice(rest.strip_prefix(b" ").unwrap_or(rest));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_thinking_and_a_tool_call_come_back_whole() {
        let sse = concat!(
            "event: message_start\n",
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"openai/gpt-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\n",
            "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me \"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"see.\"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}\n\n",
            "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: ping\ndata: {\"type\":\"ping\"}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Writing \"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"it.\"}}\n\n",
            "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"Write\",\"input\":{}}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"file_path\\\":\"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"a.txt\\\"}\"}}\n\n",
            "data: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
            "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":40}}\n\n",
            "data: {\"type\":\"message_stop\"}\n\n",
        );
        let m = assemble(sse.as_bytes());
        assert_eq!(
            m,
            json!({
                "id": "msg_1", "type": "message", "role": "assistant", "model": "openai/gpt-5",
                "content": [
                    {"type": "thinking", "thinking": "Let me see.", "signature": "sig"},
                    {"type": "text", "text": "Writing it."},
                    {"type": "tool_use", "id": "call_1", "name": "Write", "input": {"file_path": "a.txt"}}
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": 40}
            })
        );
    }

    #[test]
    fn a_stream_that_failed_keeps_what_arrived_and_the_error() {
        let sse = concat!(
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[],\"usage\":{}}}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"Bash\",\"input\":{}}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"comm\"}}\n\n",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"openai: the connection broke mid-stream\"}}\n\n",
        );
        let m = assemble(sse.as_bytes());
        assert_eq!(m["content"][0]["input"], "{\"comm");
        assert_eq!(m["error"]["type"], "api_error");
        let only_error = assemble(b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}\n\n");
        assert_eq!(only_error["error"]["type"], "overloaded_error");
    }

    fn frame(v: Value) -> String {
        format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap_or(""))
    }

    fn start() -> String {
        frame(json!({"type": "message_start", "message": {"id": "m", "content": [], "usage": {}}}))
    }

    fn text_block(index: Value, text: &str) -> String {
        frame(
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        ) + &frame(
            json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}),
        ) + &frame(json!({"type": "content_block_stop", "index": index}))
    }

    #[test]
    fn huge_block_indexes_size_nothing() {
        // Regression: `index: 4000000000` resized a list to four billion blocks (the store
        // owner aborted), and `u64::MAX` overflowed `index + 1`.
        let sse = start()
            + &text_block(json!(4_000_000_000u64), "far")
            + &text_block(json!(u64::MAX), "farthest")
            + &text_block(json!(0), "near");
        let m = assemble(sse.as_bytes());
        assert_eq!(
            m["content"],
            json!([
                {"type": "text", "text": "near"},
                {"type": "text", "text": "far"},
                {"type": "text", "text": "farthest"}
            ])
        );
    }

    #[test]
    fn indexes_that_are_not_counts_read_as_zero() {
        let sse = start() + &text_block(json!(-1), "a") + &text_block(json!("7"), "b");
        let m = assemble(sse.as_bytes());
        // Both wrote block 0; the second start replaced the first.
        assert_eq!(m["content"], json!([{"type": "text", "text": "b"}]));
    }

    #[test]
    fn blocks_past_the_limit_are_left_out_and_counted() {
        let mut sse = start();
        for i in 0..MAX_BLOCKS as u64 + 10 {
            sse += &text_block(json!(i * 1_000_000_007), "x");
        }
        sse += &frame(json!({"type": "message_stop"}));
        let m = assemble(sse.as_bytes());
        assert_eq!(m["content"].as_array().map(Vec::len), Some(MAX_BLOCKS));
        assert_eq!(m["bgw_blocks_left_out"], 10);
    }

    #[test]
    fn a_block_that_is_not_an_object_takes_no_delta() {
        // Regression: a text delta into `"content_block": [1, 2]` panicked (a key set on a list).
        let sse = start()
            + &frame(json!({"type": "content_block_start", "index": 0, "content_block": [1, 2]}))
            + &frame(
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}),
            )
            + &frame(
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "s"}}),
            )
            + &frame(json!({"type": "content_block_start", "index": 1, "content_block": "text"}))
            + &frame(json!({"type": "content_block_stop", "index": 1}));
        assert_eq!(assemble(sse.as_bytes())["content"], json!([]));
    }
}
