//! The response a client read from a stream, rebuilt as one Messages body for the log.
//!
//! The gateway keeps a copy of the SSE bytes it wrote; the log writer (off the request path)
//! folds them back into the message they spelled, as Anthropic's SDKs do.

use serde_json::{Map, Value, json};

/// The message `sse` (Anthropic server-sent events) spelled; an `error` event ends up under
/// `"error"`. Bytes that hold no message at all come back as they are, in a JSON string.
pub fn assemble(sse: &[u8]) -> Value {
    let mut message: Option<Map<String, Value>> = None;
    let mut blocks: Vec<Value> = Vec::new();
    let mut partial_json: Vec<Option<String>> = Vec::new();
    let mut error: Option<Value> = None;
    for data in events(sse) {
        let Ok(event) = serde_json::from_slice::<Value>(&data) else {
            continue;
        };
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => {
                message = event.get("message").and_then(Value::as_object).cloned();
            }
            "content_block_start" => {
                if blocks.len() <= index {
                    blocks.resize(index + 1, Value::Null);
                    partial_json.resize(index + 1, None);
                }
                let block = event.get("content_block").cloned().unwrap_or(Value::Null);
                if matches!(
                    block.get("type").and_then(Value::as_str),
                    Some("tool_use" | "server_tool_use")
                ) {
                    partial_json[index] = Some(String::new());
                }
                blocks[index] = block;
            }
            "content_block_delta" => {
                let (Some(block), Some(delta)) = (blocks.get_mut(index), event.get("delta")) else {
                    continue;
                };
                let text = |k: &str| delta.get(k).and_then(Value::as_str).unwrap_or("");
                match delta.get("type").and_then(Value::as_str).unwrap_or("") {
                    "text_delta" => append(block, "text", text("text")),
                    "thinking_delta" => append(block, "thinking", text("thinking")),
                    "signature_delta" => {
                        block["signature"] = Value::String(text("signature").to_owned());
                    }
                    "input_json_delta" => {
                        if let Some(Some(buf)) = partial_json.get_mut(index) {
                            buf.push_str(text("partial_json"));
                        }
                    }
                    "citations_delta" => {
                        if let Some(c) = delta.get("citation") {
                            match block.get_mut("citations").and_then(Value::as_array_mut) {
                                Some(list) => list.push(c.clone()),
                                None => block["citations"] = json!([c]),
                            }
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let (Some(block), Some(Some(buf))) =
                    (blocks.get_mut(index), partial_json.get_mut(index))
                {
                    let input = if buf.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(buf).unwrap_or_else(|_| Value::String(buf.clone()))
                    };
                    block["input"] = input;
                    partial_json[index] = None;
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
    for (block, buf) in blocks.iter_mut().zip(&partial_json) {
        if let Some(buf) = buf {
            block["input"] = Value::String(buf.clone());
        }
    }
    match message {
        Some(mut m) => {
            m.insert(
                "content".into(),
                Value::Array(blocks.into_iter().filter(|b| !b.is_null()).collect()),
            );
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

fn append(block: &mut Value, field: &str, more: &str) {
    match block.get_mut(field) {
        Some(Value::String(s)) => s.push_str(more),
        _ => block[field] = Value::String(more.to_owned()),
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
}
