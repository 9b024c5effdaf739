//! SSE both ways: parsing what bgw sends the client, and writing what upstreams send bgw.
//!
//! The upstream builders follow the providers' documented wire formats (PROTOCOLS.md):
//! OpenAI `chat.completion` / `chat.completion.chunk` with `data: [DONE]` and the
//! `include_usage` chunk with `choices: []`; Azure's first chunk with `choices: []` and
//! `prompt_filter_results`; Anthropic `event:`/`data:` frames; each provider's error body.

use bytes::Bytes;
use serde_json::{Value, json};

/// One SSE event as the client received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The `event:` name (empty when the frame had none).
    pub event: String,
    /// The `data:` lines joined, as sent.
    pub data: String,
}

impl Event {
    /// The data as JSON (panics with the data when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| {
            panic!(
                "event `{}` carries no JSON ({e}): {}",
                self.event, self.data
            )
        })
    }
}

/// An incremental SSE parser (lines may arrive split anywhere).
#[derive(Debug, Default)]
pub struct EventParser {
    line: Vec<u8>,
    event: String,
    data: Vec<String>,
}

impl EventParser {
    /// Feeds bytes; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                let line = String::from_utf8(line).expect("SSE line is not UTF-8");
                self.line(line.strip_suffix('\r').unwrap_or(&line), &mut out);
            } else {
                self.line.push(b);
            }
        }
        out
    }

    /// The body ended; an unterminated event is an error of the stream, so it is returned
    /// only if complete (a test asserting the event list then sees what was cut).
    pub fn finish(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        if !self.line.is_empty() {
            let line =
                String::from_utf8(std::mem::take(&mut self.line)).expect("SSE line is not UTF-8");
            self.line(&line, &mut out);
        }
        if !self.data.is_empty() {
            out.push(Event {
                event: std::mem::take(&mut self.event),
                data: std::mem::take(&mut self.data).join("\n"),
            });
        }
        out
    }

    fn line(&mut self, line: &str, out: &mut Vec<Event>) {
        if line.is_empty() {
            if !self.data.is_empty() || !self.event.is_empty() {
                out.push(Event {
                    event: std::mem::take(&mut self.event),
                    data: std::mem::take(&mut self.data).join("\n"),
                });
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = value.to_owned(),
            "data" => self.data.push(value.to_owned()),
            _ => {}
        }
    }
}

/// Parses a whole SSE body.
pub fn parse(bytes: &[u8]) -> Vec<Event> {
    let mut p = EventParser::default();
    let mut all = p.feed(bytes);
    all.extend(p.finish());
    all
}

/// The event names, `ping`s left out (they may come anywhere).
pub fn names(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e.event.as_str())
        .filter(|n| *n != "ping")
        .collect()
}

/// Events other than `ping`.
pub fn without_pings(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .filter(|e| e.event != "ping")
        .cloned()
        .collect()
}

/// The events of the content block at `index`, from its start to its stop.
pub fn block(events: &[Event], index: u64) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e.event.starts_with("content_block_"))
        .map(Event::json)
        .filter(|v| v["index"] == index)
        .collect()
}

/// The `partial_json` fragments of the tool_use block at `index`.
pub fn json_fragments(events: &[Event], index: u64) -> Vec<String> {
    block(events, index)
        .iter()
        .filter(|v| v["delta"]["type"] == "input_json_delta")
        .map(|v| v["delta"]["partial_json"].as_str().unwrap().to_owned())
        .collect()
}

/// The text of the text block at `index`.
pub fn text_of(events: &[Event], index: u64) -> String {
    block(events, index)
        .iter()
        .filter(|v| v["delta"]["type"] == "text_delta")
        .map(|v| v["delta"]["text"].as_str().unwrap().to_owned())
        .collect()
}

/// The JSON of the `message_delta` event (panics when there is none).
pub fn message_delta(events: &[Event]) -> Value {
    events
        .iter()
        .find(|e| e.event == "message_delta")
        .unwrap_or_else(|| panic!("no message_delta in {events:#?}"))
        .json()
}

/// The event names of a whole answer with one block that got `deltas` deltas.
pub fn one_block_names(deltas: usize) -> Vec<&'static str> {
    let mut n = vec!["message_start", "content_block_start"];
    n.extend(std::iter::repeat_n("content_block_delta", deltas));
    n.extend(["content_block_stop", "message_delta", "message_stop"]);
    n
}

/// Cuts `bytes` into pieces whose sizes cycle through `sizes`.
pub fn split(bytes: &[u8], sizes: &[usize]) -> Vec<Bytes> {
    assert!(sizes.iter().all(|&n| n > 0));
    let mut out = Vec::new();
    let mut rest = bytes;
    for &n in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let n = n.min(rest.len());
        out.push(Bytes::copy_from_slice(&rest[..n]));
        rest = &rest[n..];
    }
    out
}

/// Cuts `s` into consecutive fragments whose sizes (in chars) cycle through `sizes`.
pub fn fragments(s: &str, sizes: &[usize]) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    for &n in sizes.iter().cycle() {
        if i >= chars.len() {
            break;
        }
        let end = (i + n).min(chars.len());
        out.push(chars[i..end].iter().collect());
        i = end;
    }
    out
}

/// OpenAI Chat Completions wire format (platform.openai.com/docs/api-reference/chat).
pub mod openai {
    use super::*;
    use crate::support::mock::{Part, Reply};

    pub const ID: &str = "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG";
    pub const CREATED: u64 = 1_741_570_283;

    /// One `data:` frame.
    pub fn frame(chunk: &Value) -> String {
        format!("data: {chunk}\n\n")
    }

    /// The stream terminator.
    pub const DONE: &str = "data: [DONE]\n\n";

    /// A `chat.completion.chunk` with one choice carrying `delta`.
    pub fn chunk(model: &str, delta: Value, finish_reason: Option<&str>) -> Value {
        json!({
            "id": ID, "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "system_fingerprint": "fp_eb9dce56a8",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
            "usage": null
        })
    }

    /// The first chunk: the role, empty content.
    pub fn role(model: &str) -> String {
        frame(&chunk(
            model,
            json!({"role": "assistant", "content": "", "refusal": null}),
            None,
        ))
    }

    /// A text delta.
    pub fn text(model: &str, text: &str) -> String {
        frame(&chunk(model, json!({"content": text}), None))
    }

    /// The first fragment of tool call `index`: id, type, name, empty arguments.
    pub fn tool_start(model: &str, index: u32, id: &str, name: &str) -> String {
        frame(&chunk(
            model,
            json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
            None,
        ))
    }

    /// A later fragment of tool call `index`: only arguments.
    pub fn tool_args(model: &str, index: u32, fragment: &str) -> String {
        frame(&chunk(
            model,
            json!({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}),
            None,
        ))
    }

    /// The finish chunk: empty delta and the reason.
    pub fn finish(model: &str, reason: &str) -> String {
        frame(&chunk(model, json!({}), Some(reason)))
    }

    /// The `stream_options.include_usage` chunk: `choices: []` and the usage.
    pub fn usage(model: &str, prompt: u64, completion: u64, cached: u64) -> String {
        frame(&json!({
            "id": ID, "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "system_fingerprint": "fp_eb9dce56a8", "choices": [],
            "usage": usage_object(prompt, completion, cached)
        }))
    }

    /// A `usage` object.
    pub fn usage_object(prompt: u64, completion: u64, cached: u64) -> Value {
        json!({
            "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
        })
    }

    /// A whole `chat.completion` with a text answer.
    pub fn completion(model: &str, text: &str, finish_reason: &str, usage: Value) -> Value {
        json!({
            "id": ID, "object": "chat.completion", "created": CREATED, "model": model,
            "choices": [{"index": 0,
                "message": {"role": "assistant", "content": text, "refusal": null, "annotations": []},
                "logprobs": null, "finish_reason": finish_reason}],
            "usage": usage, "service_tier": "default", "system_fingerprint": "fp_eb9dce56a8"
        })
    }

    /// An error body `{"error":{"message","type","param","code"}}`.
    pub fn error(message: &str, kind: &str, code: Option<&str>) -> Value {
        json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
    }

    /// A whole text stream: role, the text in pieces, finish `stop`, usage, `[DONE]`.
    pub fn text_stream(model: &str, pieces: &[&str], prompt: u64, completion: u64) -> String {
        let mut s = role(model);
        for p in pieces {
            s.push_str(&text(model, p));
        }
        s.push_str(&end(model, "stop", prompt, completion));
        s
    }

    /// The start of a text stream: the role chunk, then one text delta.
    pub fn opening(model: &str, first_text: &str) -> String {
        role(model) + &text(model, first_text)
    }

    /// The same start as [`opening`], each chunk its own write.
    pub fn opening_parts(model: &str, first_text: &str) -> Vec<Part> {
        vec![
            Part::Bytes(role(model).into()),
            Part::Bytes(text(model, first_text).into()),
        ]
    }

    /// The end of a stream: the finish chunk, the usage chunk (nothing cached), `[DONE]`.
    pub fn end(model: &str, reason: &str, prompt: u64, completion: u64) -> String {
        finish(model, reason) + &usage(model, prompt, completion, 0) + DONE
    }

    /// A 200 `chat.completion` answering `text` with finish `stop` (nothing cached).
    pub fn reply(model: &str, text: &str, prompt: u64, output: u64) -> Reply {
        Reply::json(
            200,
            &completion(model, text, "stop", usage_object(prompt, output, 0)),
        )
    }
}

/// Azure OpenAI's additions to the OpenAI stream (learn.microsoft.com, content filtering).
pub mod azure {
    use super::*;

    pub const ID: &str = "chatcmpl-AAt9xkXyZ1Qw2Er3Ty4Ui5Op6As7D";

    fn safe() -> Value {
        json!({"hate": {"filtered": false, "severity": "safe"}, "self_harm": {"filtered": false, "severity": "safe"},
               "sexual": {"filtered": false, "severity": "safe"}, "violence": {"filtered": false, "severity": "safe"}})
    }

    /// A chunk with one choice, carrying Azure's per-choice `content_filter_results`.
    pub fn chunk(delta: Value, finish_reason: Option<&str>) -> String {
        let filters = if delta.get("content").is_some_and(|c| c != "") {
            safe()
        } else {
            json!({})
        };
        super::openai::frame(&json!({
            "created": 1_727_113_720, "id": ID, "model": "gpt-4o-2024-08-06", "object": "chat.completion.chunk",
            "system_fingerprint": "fp_5050236cbd",
            "choices": [{"content_filter_results": filters, "delta": delta, "finish_reason": finish_reason, "index": 0, "logprobs": null}]
        }))
    }

    /// The filter-only chunk Azure sends after the finish chunk.
    pub fn trailing_filter_chunk() -> String {
        super::openai::frame(&json!({
            "created": 1_727_113_720, "id": ID, "model": "gpt-4o-2024-08-06", "object": "chat.completion.chunk",
            "system_fingerprint": "fp_5050236cbd",
            "choices": [{"content_filter_offsets": {"check_offset": 35, "start_offset": 35, "end_offset": 58},
                "content_filter_results": safe(), "finish_reason": null, "index": 0}]
        }))
    }

    /// The usage chunk (`choices: []`).
    pub fn usage(prompt: u64, completion: u64) -> String {
        super::openai::frame(&json!({
            "created": 1_727_113_720, "id": ID, "model": "gpt-4o-2024-08-06", "object": "chat.completion.chunk",
            "system_fingerprint": "fp_5050236cbd", "choices": [],
            "usage": {"completion_tokens": completion, "prompt_tokens": prompt, "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": 0}}
        }))
    }

    /// A whole `chat.completion` with Azure's filter results.
    pub fn completion(text: &str, prompt: u64, completion: u64) -> Value {
        json!({
            "choices": [{"content_filter_results": safe(), "finish_reason": "stop", "index": 0, "logprobs": null,
                "message": {"content": text, "refusal": null, "role": "assistant"}}],
            "created": 1_727_113_720, "id": ID, "model": "gpt-4o-2024-08-06", "object": "chat.completion",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": safe()}],
            "system_fingerprint": "fp_5050236cbd",
            "usage": {"completion_tokens": completion, "prompt_tokens": prompt, "total_tokens": prompt + completion}
        })
    }

    /// The 400 Azure answers when the prompt trips the content filter.
    pub fn content_filter_error() -> Value {
        json!({"error": {
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
            "type": null, "param": "prompt", "code": "content_filter", "status": 400,
            "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
                "hate": {"filtered": false, "severity": "safe"}, "sexual": {"filtered": true, "severity": "medium"}}}}})
    }

    /// The first chunk Azure sends: no choices, only the prompt's filter results.
    pub fn prompt_filter_chunk() -> String {
        super::openai::frame(&json!({
            "choices": [], "created": 0, "id": "", "model": "", "object": "",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {
                "hate": {"filtered": false, "severity": "safe"},
                "self_harm": {"filtered": false, "severity": "safe"},
                "sexual": {"filtered": false, "severity": "safe"},
                "violence": {"filtered": false, "severity": "safe"}}}]
        }))
    }
}

/// Anthropic Messages wire format (docs.anthropic.com/en/api/messages, /streaming).
pub mod anthropic {
    use super::*;
    use crate::support::mock::Reply;

    /// A 200 whole (non-streamed) text answer.
    pub fn reply(model: &str, text: &str) -> Reply {
        Reply::json(200, &message(model, text))
    }

    /// One `event:`/`data:` frame.
    pub fn frame(data: &Value) -> String {
        format!(
            "event: {}\ndata: {data}\n\n",
            data["type"].as_str().unwrap()
        )
    }

    /// A whole streamed text answer, as api.anthropic.com writes it.
    pub fn text_stream(model: &str, text: &str) -> String {
        let mut s = String::new();
        s.push_str(&frame(&json!({"type": "message_start", "message": {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}}})));
        s.push_str(&frame(&json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
        s.push_str(&frame(&json!({"type": "ping"})));
        s.push_str(&frame(&json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})));
        s.push_str(&frame(&json!({"type": "content_block_stop", "index": 0})));
        s.push_str(&frame(&json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 15}})));
        s.push_str(&frame(&json!({"type": "message_stop"})));
        s
    }

    /// A whole (non-streamed) text answer.
    pub fn message(model: &str, text: &str) -> Value {
        json!({
            "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        })
    }

    /// An error body.
    pub fn error(kind: &str, message: &str) -> Value {
        json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
    }
}

/// OpenAI Responses API stream events
/// (platform.openai.com/docs/api-reference/responses-streaming), for its reasoning models.
pub mod responses {
    use super::*;

    /// One event frame: `event: TYPE` and its JSON.
    pub fn event(v: &Value) -> String {
        format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap())
    }

    /// `response.created` for `model`.
    pub fn created(model: &str) -> String {
        event(
            &json!({"type": "response.created", "sequence_number": 0, "response": {
            "id": "resp_e2e", "object": "response", "status": "in_progress", "model": model,
            "output": [], "usage": null, "store": false}}),
        )
    }

    /// A reasoning item at `output_index`: its summary streamed in `pieces`, then `done` with
    /// its encrypted content.
    pub fn reasoning(output_index: u32, id: &str, pieces: &[&str], encrypted: &str) -> String {
        let mut s = event(
            &json!({"type": "response.output_item.added", "output_index": output_index,
            "item": {"id": id, "type": "reasoning", "summary": []}}),
        );
        for p in pieces {
            s += &event(
                &json!({"type": "response.reasoning_summary_text.delta", "item_id": id,
                "output_index": output_index, "summary_index": 0, "delta": p}),
            );
        }
        s += &event(
            &json!({"type": "response.output_item.done", "output_index": output_index,
            "item": {"id": id, "type": "reasoning", "encrypted_content": encrypted,
                     "summary": [{"type": "summary_text", "text": pieces.concat()}]}}),
        );
        s
    }

    /// A function call at `output_index`, its arguments in `fragments`.
    pub fn function_call(
        output_index: u32,
        id: &str,
        call_id: &str,
        name: &str,
        fragments: &[String],
    ) -> String {
        let item = json!({"id": id, "type": "function_call", "status": "in_progress", "arguments": "", "call_id": call_id, "name": name});
        let mut s = event(
            &json!({"type": "response.output_item.added", "output_index": output_index, "item": item}),
        );
        for f in fragments {
            s += &event(
                &json!({"type": "response.function_call_arguments.delta", "item_id": id, "output_index": output_index, "delta": f}),
            );
        }
        let args = fragments.concat();
        s += &event(
            &json!({"type": "response.function_call_arguments.done", "item_id": id, "output_index": output_index, "arguments": args}),
        );
        let mut done = item.clone();
        done["arguments"] = json!(args);
        done["status"] = json!("completed");
        s += &event(
            &json!({"type": "response.output_item.done", "output_index": output_index, "item": done}),
        );
        s
    }

    /// An assistant message at `output_index`, its text in `pieces`.
    pub fn text(output_index: u32, id: &str, pieces: &[&str]) -> String {
        let mut s = event(
            &json!({"type": "response.output_item.added", "output_index": output_index,
            "item": {"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
        );
        for p in pieces {
            s += &event(
                &json!({"type": "response.output_text.delta", "item_id": id, "output_index": output_index, "content_index": 0, "delta": p}),
            );
        }
        s += &event(
            &json!({"type": "response.output_item.done", "output_index": output_index,
            "item": {"id": id, "type": "message", "status": "completed", "role": "assistant",
                     "content": [{"type": "output_text", "text": pieces.concat(), "annotations": []}]}}),
        );
        s
    }

    /// A whole text answer: streamed events, or the response object.
    pub fn answer(
        model: &str,
        text: &str,
        stream: bool,
        input: u64,
        output: u64,
    ) -> crate::support::mock::Reply {
        use crate::support::mock::Reply;
        if stream {
            Reply::sse([
                created(model),
                self::text(0, "msg_answer", &[text]),
                completed(input, output, 0),
            ])
        } else {
            Reply::json(
                200,
                &json!({"id": "resp_e2e", "object": "response", "status": "completed", "model": model,
                "output": [{"id": "msg_answer", "type": "message", "status": "completed", "role": "assistant",
                            "content": [{"type": "output_text", "text": text, "annotations": []}]}],
                "usage": {"input_tokens": input, "input_tokens_details": {"cached_tokens": 0},
                          "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": input + output}}),
            )
        }
    }

    /// `response.completed` with this usage.
    pub fn completed(input: u64, output: u64, cached: u64) -> String {
        event(
            &json!({"type": "response.completed", "response": {"id": "resp_e2e", "object": "response", "status": "completed",
            "usage": {"input_tokens": input, "input_tokens_details": {"cached_tokens": cached},
                      "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": input + output}}}),
        )
    }
}

/// Gemini API `streamGenerateContent?alt=sse` wire format
/// (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent): each
/// `data:` is a whole `GenerateContentResponse` holding only the new parts; no `[DONE]`.
pub mod gemini {
    use super::*;

    /// Every part of every `contents` turn of a request, with its turn's role.
    pub fn request_parts(request: &Value) -> Vec<(String, Value)> {
        request["contents"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| {
                let role = c["role"].as_str().unwrap_or("").to_owned();
                c["parts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |p| (role.clone(), p))
            })
            .collect()
    }

    /// One `data:` frame (Google ends them with a blank CRLF line).
    pub fn frame(chunk: &Value) -> String {
        format!("data: {chunk}\r\n\r\n")
    }

    /// A `GenerateContentResponse` with these parts (and a finish reason and usage, if given).
    pub fn chunk(model: &str, parts: Value, finish: Option<&str>, usage: Option<Value>) -> Value {
        let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
        if let Some(f) = finish {
            candidate["finishReason"] = json!(f);
        }
        let mut c = json!({"candidates": [candidate], "modelVersion": model, "responseId": "r1"});
        if let Some(u) = usage {
            c["usageMetadata"] = u;
        }
        c
    }

    /// `usageMetadata` (cumulative in a stream).
    pub fn usage(prompt: u64, candidates: u64, thoughts: u64) -> Value {
        json!({"promptTokenCount": prompt, "candidatesTokenCount": candidates,
               "thoughtsTokenCount": thoughts, "totalTokenCount": prompt + candidates + thoughts})
    }

    /// A `google.rpc.Status` error body.
    pub fn error(code: u16, status: &str, message: &str) -> Value {
        json!({"error": {"code": code, "message": message, "status": status}})
    }
}
