//! Stream decoding, fed with fixtures in the wire shapes the providers document:
//! https://platform.openai.com/docs/api-reference/chat-streaming ,
//! https://platform.openai.com/docs/guides/function-calling (streaming tool calls) ,
//! https://api-docs.deepseek.com/guides/thinking_mode (`reasoning_content`) ,
//! https://learn.microsoft.com/en-us/azure/ai-foundry/openai/concepts/content-filter (Azure
//! filter-only chunks with empty `choices`) ,
//! https://openrouter.ai/docs/api-reference/streaming (comments, mid-stream errors) ,
//! https://console.groq.com/docs/openai (`x_groq.usage`).
use super::*;
use crate::messages::signature::{Origin, ThinkingKey};
use crate::messages::sse::SseParser;
use crate::providers::StreamDecoder;
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/openai/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Feeds `input` in pieces of `piece` bytes, then EOF; returns the Anthropic events as JSON.
fn decode(input: &[u8], piece: usize) -> Vec<Value> {
    decode_with(ChatStream::new("openai/gpt-5"), input, piece)
}

/// This install's key in the tests that sign.
fn key() -> std::sync::Arc<ThinkingKey> {
    std::sync::Arc::new(ThinkingKey::from_bytes(&[9; 32]))
}

/// As [`decode`], with thinking signed as DeepSeek's `deepseek-v4-pro`'s.
fn decode_signed(input: &[u8], piece: usize) -> Vec<Value> {
    let d = ChatStream::new("deepseek/deepseek-v4-pro")
        .signing_thinking(key().signer("deepseek", "deepseek-v4-pro"));
    decode_with(d, input, piece)
}

fn decode_with(mut d: ChatStream, input: &[u8], piece: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for p in input.chunks(piece) {
        d.feed(p, &mut out);
    }
    d.finish(&mut out);
    parse_sse(&out)
}

fn parse_sse(bytes: &[u8]) -> Vec<Value> {
    let mut parser = SseParser::new();
    let mut frames = Vec::new();
    parser.feed(bytes, &mut frames).unwrap();
    parser.finish(&mut frames);
    frames
        .into_iter()
        .map(|f| {
            let v: Value = serde_json::from_str(&f.data).unwrap();
            assert_eq!(
                f.event.as_deref(),
                v["type"].as_str(),
                "event name = JSON type"
            );
            v
        })
        .collect()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// Asserts the Anthropic stream grammar: message_start first; blocks opened with consecutive
/// indices, one at a time, deltas only into the open block and of its kind; message_delta then
/// message_stop last.
fn assert_valid(events: &[Value]) {
    let n = events.len();
    assert!(n >= 3, "{events:#?}");
    assert_eq!(events[0]["type"], "message_start");
    assert_eq!(events[n - 2]["type"], "message_delta");
    assert_eq!(events[n - 1]["type"], "message_stop");
    let mut open: Option<(u64, String)> = None;
    let mut signed = false;
    let mut next = 0;
    for e in &events[1..n - 2] {
        let index = e["index"].as_u64().unwrap_or(u64::MAX);
        match e["type"].as_str().unwrap() {
            "content_block_start" => {
                assert!(
                    open.is_none(),
                    "block {index} starts inside another: {events:#?}"
                );
                assert_eq!(index, next, "indices are consecutive");
                next += 1;
                signed = false;
                open = Some((
                    index,
                    e["content_block"]["type"].as_str().unwrap().to_owned(),
                ));
            }
            "content_block_delta" => {
                let (i, kind) = open.as_ref().expect("delta outside a block");
                assert_eq!(*i, index);
                assert!(!signed, "the signature is a thinking block's last delta");
                let want = match (kind.as_str(), e["delta"]["type"].as_str()) {
                    ("thinking", Some("signature_delta")) => {
                        signed = true;
                        "signature_delta"
                    }
                    ("text", _) => "text_delta",
                    ("tool_use", _) => "input_json_delta",
                    ("thinking", _) => "thinking_delta",
                    (other, _) => panic!("unexpected block {other}"),
                };
                assert_eq!(e["delta"]["type"], want);
            }
            "content_block_stop" => {
                assert_eq!(
                    open.take().map(|o| o.0),
                    Some(index),
                    "stop of a block not open"
                );
            }
            other => panic!("unexpected event {other} in the middle: {events:#?}"),
        }
    }
    assert!(open.is_none(), "a block is left open");
}

/// The content blocks the events build, tool inputs parsed from their concatenated deltas.
fn blocks(events: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut json = String::new();
    for e in events {
        match e["type"].as_str().unwrap() {
            "content_block_start" => {
                out.push(e["content_block"].clone());
                json.clear();
            }
            "content_block_delta" => {
                let b = out.last_mut().unwrap();
                let d = &e["delta"];
                match d["type"].as_str().unwrap() {
                    "text_delta" => {
                        b["text"] = Value::String(format!(
                            "{}{}",
                            b["text"].as_str().unwrap(),
                            d["text"].as_str().unwrap()
                        ));
                    }
                    "thinking_delta" => {
                        b["thinking"] = Value::String(format!(
                            "{}{}",
                            b["thinking"].as_str().unwrap(),
                            d["thinking"].as_str().unwrap()
                        ));
                    }
                    "signature_delta" => {
                        b["signature"] = Value::String(format!(
                            "{}{}",
                            b["signature"].as_str().unwrap(),
                            d["signature"].as_str().unwrap()
                        ));
                    }
                    "input_json_delta" => json.push_str(d["partial_json"].as_str().unwrap()),
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" => {
                let b = out.last_mut().unwrap();
                if b["type"] == "tool_use" {
                    b["input"] = if json.is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json:?}: {e}"))
                    };
                }
            }
            _ => {}
        }
    }
    out
}

fn last(events: &[Value]) -> &Value {
    events.last().unwrap()
}

fn message_delta(events: &[Value]) -> &Value {
    &events[events.len() - 2]
}

#[test]
fn text_stream_becomes_one_text_block_with_final_usage() {
    let events = decode(&fixture("stream_text.sse"), 4096);
    assert_valid(&events);
    let start = &events[0]["message"];
    assert_eq!(start["model"], "openai/gpt-5");
    assert!(start["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        start["usage"]["input_tokens"], 0,
        "input usage is not known yet"
    );
    assert_eq!(
        blocks(&events),
        [json!({"type":"text","text":"Hello there!"})]
    );
    assert_eq!(
        message_delta(&events),
        &json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},
                "usage":{"input_tokens":19,"output_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}})
    );
}

fn expected_tool_blocks() -> Vec<Value> {
    vec![
        json!({"type":"text","text":"I'll look first."}),
        json!({"type":"tool_use","id":"call_Qx8d2Lw1bN3pR7sT0vY5zA1c","name":"Bash",
               "input":{"command":"ls -la src/","description":"List the sources"}}),
        json!({"type":"tool_use","id":"call_M2kP9sV4xC7nB1qW6eR3tY8u","name":"Read",
               "input":{"file_path":"/tmp/say \"héllo\" {x}.txt","limit":20}}),
    ]
}

#[test]
fn tool_call_fragments_in_any_split_build_valid_sequential_blocks() {
    let input = fixture("stream_tool_calls.sse");
    for piece in 1..=7 {
        let events = decode(&input, piece);
        assert_valid(&events);
        assert_eq!(
            blocks(&events),
            expected_tool_blocks(),
            "piece size {piece}"
        );
        assert_eq!(message_delta(&events)["delta"]["stop_reason"], "tool_use");
    }
}

#[test]
fn cached_prompt_tokens_are_reported_as_cache_reads() {
    let events = decode(&fixture("stream_tool_calls.sse"), 4096);
    assert_eq!(
        message_delta(&events)["usage"],
        json!({"input_tokens":152,"output_tokens":96,"cache_creation_input_tokens":0,"cache_read_input_tokens":3968})
    );
}

#[test]
fn interleaved_parallel_calls_are_buffered_into_sequential_blocks() {
    let input = fixture("stream_parallel_interleaved.sse");
    for piece in 1..=7 {
        let events = decode(&input, piece);
        assert_valid(&events);
        assert_eq!(
            blocks(&events),
            [
                json!({"type":"tool_use","id":"chatcmpl-tool-a1","name":"Glob","input":{"pattern":"**/*.rs"}}),
                json!({"type":"tool_use","id":"chatcmpl-tool-b2","name":"Grep","input":{"pattern":"fn main","path":"src"}}),
            ],
            "piece size {piece}"
        );
        // Usage rode in the finish chunk (no stream_options).
        assert_eq!(message_delta(&events)["usage"]["input_tokens"], 812);
    }
}

#[test]
fn a_waiting_call_opens_as_soon_as_the_open_one_is_complete() {
    // Regression guard for latency: the second call must not wait for the end of the stream.
    let input = String::from_utf8(fixture("stream_parallel_interleaved.sse")).unwrap();
    let frames: Vec<&str> = input.split_inclusive("\n\n").collect();
    let mut d = ChatStream::new("m");
    let mut out = Vec::new();
    for f in &frames[..5] {
        d.feed(f.as_bytes(), &mut out);
    }
    let events = parse_sse(&out);
    assert_eq!(
        types(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta"
        ]
    );
    assert_eq!(
        events[6]["delta"]["partial_json"],
        "{\"pattern\": \"fn main\", "
    );
}

#[test]
fn deepseek_reasoning_opens_a_thinking_block_closed_before_the_text() {
    let events = decode(&fixture("stream_reasoning.sse"), 13);
    assert_valid(&events);
    assert_eq!(
        blocks(&events),
        [
            json!({"type":"thinking","thinking":"Compare 9.11 and 9.8: 0.80 > 0.11.","signature":""}),
            json!({"type":"text","text":"9.8 is greater."}),
        ]
    );
    assert!(
        !events
            .iter()
            .any(|e| e["delta"]["type"] == "signature_delta"),
        "no signature is invented"
    );
    assert_eq!(message_delta(&events)["usage"]["output_tokens"], 40);
}

#[test]
fn deepseek_reasoning_ends_with_a_bgw_signature_that_verifies() {
    for piece in [1, 13, 4096] {
        let events = decode_signed(&fixture("stream_reasoning.sse"), piece);
        assert_valid(&events);
        let b = blocks(&events);
        assert_eq!(b[0]["thinking"], "Compare 9.11 and 9.8: 0.80 > 0.11.");
        assert_eq!(b[1], json!({"type":"text","text":"9.8 is greater."}));
        // As Anthropic does: one signature_delta, right before the block's stop.
        let stop = events
            .iter()
            .position(|e| e["type"] == "content_block_stop")
            .unwrap();
        assert_eq!(events[stop - 1]["delta"]["type"], "signature_delta");
        assert_eq!(events[stop - 1]["index"], 0);
        let signature = b[0]["signature"].as_str().unwrap();
        assert!(
            signature.starts_with("bgw1.deepseek.deepseek-v4-pro."),
            "{signature}"
        );
        assert_eq!(
            key().verify(signature, "Compare 9.11 and 9.8: 0.80 > 0.11."),
            Some(Origin {
                provider: "deepseek",
                model: "deepseek-v4-pro"
            })
        );
        assert_eq!(key().verify(signature, "Compare 9.11 and 9.8."), None);
    }
}

#[test]
fn reasoning_held_behind_an_incomplete_call_is_signed_too() {
    let input = concat!(
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"Bash\",\"arguments\":\"{\\\"command\\\":\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"then check\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"ls\\\"}\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    );
    let events = decode_signed(input.as_bytes(), 7);
    assert_valid(&events);
    let b = blocks(&events);
    assert_eq!(b[0]["type"], "tool_use");
    assert_eq!(b[1]["thinking"], "then check");
    let signature = b[1]["signature"].as_str().unwrap();
    assert!(key().verify(signature, "then check").is_some());
}

#[test]
fn tool_call_ids_outside_anthropics_pattern_reach_the_client_escaped() {
    // Kimi K2's ids, `functions.NAME:INDEX`
    // (https://github.com/MoonshotAI/Kimi-K2/blob/main/docs/tool_call_guidance.md).
    let events = tool_stream(&[
        r#"{"index":0,"id":"functions.Write:0","type":"function","function":{"name":"Write","arguments":"{\"file_path\":"}}"#,
        r#"{"index":0,"id":"functions.Write:0","function":{"arguments":"\"a.txt\"}"}}"#,
        r#"{"index":1,"id":"functions.Read:1","type":"function","function":{"name":"Read","arguments":"{}"}}"#,
    ]);
    let b = blocks(&events);
    assert_eq!(
        b,
        [
            json!({"type":"tool_use","id":"bgwx_functions_2EWrite_3A0","name":"Write","input":{"file_path":"a.txt"}}),
            json!({"type":"tool_use","id":"bgwx_functions_2ERead_3A1","name":"Read","input":{}}),
        ]
    );
}

#[test]
fn azure_filter_only_chunks_with_empty_choices_are_skipped() {
    let events = decode(&fixture("stream_azure.sse"), 64);
    assert_valid(&events);
    assert_eq!(types(&events)[0], "message_start");
    assert_eq!(
        blocks(&events),
        [json!({"type":"text","text":"The capital of France is Paris."})]
    );
    assert_eq!(message_delta(&events)["delta"]["stop_reason"], "end_turn");
    assert_eq!(message_delta(&events)["usage"]["input_tokens"], 14);
}

#[test]
fn openrouter_comments_reasoning_and_stop_with_a_tool_call() {
    let events = decode(&fixture("stream_openrouter.sse"), 5);
    assert_valid(&events);
    assert_eq!(
        blocks(&events),
        [
            json!({"type":"thinking","thinking":"The user wants the date.","signature":""}),
            json!({"type":"tool_use","id":"call_Zr4Nq8Yt2Wm6Ks1Lp9Dx3Hv7","name":"Bash","input":{"command":"date"}}),
        ]
    );
    let delta = message_delta(&events);
    assert_eq!(
        delta["delta"]["stop_reason"], "tool_use",
        "`stop` with a tool call is tool_use"
    );
    assert_eq!(delta["usage"]["cache_read_input_tokens"], 1280);
    assert_eq!(delta["usage"]["input_tokens"], 220);
}

#[test]
fn a_mid_stream_error_ends_the_stream_with_an_error_event() {
    let events = decode(&fixture("stream_error_midstream.sse"), 9);
    assert_eq!(
        types(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "error"
        ]
    );
    assert_eq!(
        last(&events),
        &json!({"type":"error","error":{"type":"api_error","message":"openai/gpt-5: Provider disconnected unexpectedly"}})
    );
}

#[test]
fn openai_style_overload_error_chunk_maps_to_overloaded() {
    let events = decode(
        b"data: {\"error\":{\"message\":\"The server is overloaded\",\"type\":\"server_error\",\"code\":\"overloaded\"}}\n\n",
        7,
    );
    assert_eq!(types(&events), ["error"]);
    assert_eq!(last(&events)["error"]["type"], "overloaded_error");
}

#[test]
fn eof_without_finish_reason_is_an_error_not_a_normal_stop() {
    let input = fixture("stream_tool_calls.sse");
    let text = String::from_utf8(input).unwrap();
    let cut = text
        .find("\"tool_calls\"}")
        .map_or(text.len() / 2, |i| i - 300);
    let events = decode(&text.as_bytes()[..cut], 11);
    assert_eq!(events[0]["type"], "message_start");
    assert_eq!(
        last(&events),
        &json!({"type":"error","error":{"type":"api_error","message":"openai/gpt-5: the stream ended before the response was complete"}})
    );
    assert!(!types(&events).contains(&"message_stop"));
}

#[test]
fn an_empty_upstream_is_an_error_too() {
    assert_eq!(types(&decode(b"", 1)), ["error"]);
}

#[test]
fn eof_after_finish_reason_without_done_ends_normally() {
    let text = String::from_utf8(fixture("stream_text.sse")).unwrap();
    let without_done = text.replace("data: [DONE]\n\n", "");
    let events = decode(without_done.as_bytes(), 3);
    assert_valid(&events);
    assert_eq!(message_delta(&events)["usage"]["output_tokens"], 3);
}

#[test]
fn done_alone_still_makes_a_complete_message() {
    let events = decode(b"data: [DONE]\n\n", 2);
    assert_eq!(
        types(&events),
        ["message_start", "message_delta", "message_stop"]
    );
}

#[test]
fn nothing_after_done_is_read() {
    let events = decode(
        b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n",
        4,
    );
    assert_valid(&events);
    assert_eq!(blocks(&events), [json!({"type":"text","text":"a"})]);
}

#[test]
fn each_feed_emits_what_it_completes() {
    let mut d = ChatStream::new("m");
    let mut out = Vec::new();
    d.feed(
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n",
        &mut out,
    );
    assert!(out.is_empty(), "the frame is not complete yet");
    d.feed(b"\n", &mut out);
    assert_eq!(
        types(&parse_sse(&out)),
        [
            "message_start",
            "content_block_start",
            "content_block_delta"
        ]
    );
    out.clear();
    d.feed(
        b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        &mut out,
    );
    assert_eq!(
        types(&parse_sse(&out)),
        ["content_block_stop"],
        "blocks close at finish_reason"
    );
    out.clear();
    d.feed(b"data: [DONE]\n\n", &mut out);
    assert_eq!(types(&parse_sse(&out)), ["message_delta", "message_stop"]);
}

fn tool_stream(chunks: &[&str]) -> Vec<Value> {
    let mut input = String::new();
    for c in chunks {
        input.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[");
        input.push_str(c);
        input.push_str("]}}]}\n\n");
    }
    input.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n");
    let events = decode(input.as_bytes(), 4096);
    assert_valid(&events);
    events
}

#[test]
fn missing_index_continues_the_current_call() {
    let events = tool_stream(&[
        r#"{"id":"c1","function":{"name":"Bash","arguments":"{\"command\":"}}"#,
        r#"{"function":{"arguments":"\"pwd\"}"}}"#,
    ]);
    assert_eq!(
        blocks(&events),
        [json!({"type":"tool_use","id":"c1","name":"Bash","input":{"command":"pwd"}})]
    );
}

#[test]
fn missing_index_with_a_new_id_is_the_next_call() {
    let events = tool_stream(&[
        r#"{"id":"c1","function":{"name":"Bash","arguments":"{}"}}"#,
        r#"{"id":"c2","function":{"name":"Read","arguments":"{\"file_path\":\"a\"}"}}"#,
    ]);
    let b = blocks(&events);
    assert_eq!(b.len(), 2);
    assert_eq!(
        (b[0]["id"].as_str(), b[1]["id"].as_str()),
        (Some("c1"), Some("c2"))
    );
}

#[test]
fn index_zero_reused_with_a_new_id_is_a_new_call() {
    let events = tool_stream(&[
        r#"{"index":0,"id":"c1","function":{"name":"Bash","arguments":"{\"command\":\"ls\"}"}}"#,
        r#"{"index":0,"id":"c2","function":{"name":"Bash","arguments":"{\"command\":\"pwd\"}"}}"#,
    ]);
    let b = blocks(&events);
    assert_eq!(b[0]["input"], json!({"command":"ls"}));
    assert_eq!(b[1]["input"], json!({"command":"pwd"}));
}

#[test]
fn repeated_ids_on_every_fragment_are_the_same_call() {
    let events = tool_stream(&[
        r#"{"index":0,"id":"c1","type":"function","function":{"name":"Bash","arguments":"{\"command\""}}"#,
        r#"{"index":0,"id":"c1","type":"function","function":{"arguments":":\"ls\"}"}}"#,
    ]);
    assert_eq!(
        blocks(&events),
        [json!({"type":"tool_use","id":"c1","name":"Bash","input":{"command":"ls"}})]
    );
}

#[test]
fn a_call_without_id_gets_a_fresh_tool_id() {
    let events = tool_stream(&[r#"{"index":0,"function":{"name":"Bash","arguments":"{}"}}"#]);
    assert!(
        blocks(&events)[0]["id"]
            .as_str()
            .unwrap()
            .starts_with("toolu_")
    );
}

#[test]
fn a_call_with_no_arguments_has_an_empty_input() {
    let events =
        tool_stream(&[r#"{"index":0,"id":"c1","function":{"name":"TodoRead","arguments":""}}"#]);
    assert_eq!(blocks(&events)[0]["input"], json!({}));
}

#[test]
fn text_during_an_incomplete_call_is_held_until_after_the_tool_blocks() {
    let input = concat!(
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"Bash\",\"arguments\":\"{\\\"command\\\":\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"note\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"ls\\\"}\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    );
    let events = decode(input.as_bytes(), 6);
    assert_valid(&events);
    assert_eq!(
        blocks(&events),
        [
            json!({"type":"tool_use","id":"c1","name":"Bash","input":{"command":"ls"}}),
            json!({"type":"text","text":"note"}),
        ]
    );
}

#[test]
fn mistral_whole_calls_in_the_finish_chunk() {
    let input = br#"data: {"id":"a1b2","object":"chat.completion.chunk","created":1754930400,"model":"mistral-large-latest","choices":[{"index":0,"delta":{"tool_calls":[{"id":"D681PevKs","function":{"name":"Bash","arguments":"{\"command\": \"ls\"}"},"index":0}]},"finish_reason":"tool_calls","logprobs":null}],"usage":{"prompt_tokens":90,"total_tokens":110,"completion_tokens":20}}

data: [DONE]

"#;
    let events = decode(input, 3);
    assert_valid(&events);
    assert_eq!(
        blocks(&events),
        [json!({"type":"tool_use","id":"D681PevKs","name":"Bash","input":{"command":"ls"}})]
    );
    assert_eq!(message_delta(&events)["usage"]["input_tokens"], 90);
}

#[test]
fn groq_usage_in_x_groq_is_read() {
    let input = br#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"x_groq":{"id":"req_1","usage":{"queue_time":0.01,"prompt_tokens":24,"prompt_time":0.002,"completion_tokens":377,"completion_time":0.3,"total_tokens":401,"total_time":0.31}}}

data: [DONE]

"#;
    let events = decode(input, 4096);
    assert_eq!(message_delta(&events)["usage"]["output_tokens"], 377);
}

#[test]
fn content_filter_finish_is_a_refusal_and_length_is_max_tokens() {
    for (reason, want) in [("content_filter", "refusal"), ("length", "max_tokens")] {
        let input = format!(
            "data: {{\"choices\":[{{\"delta\":{{\"content\":\"x\"}},\"finish_reason\":\"{reason}\"}}]}}\n\ndata: [DONE]\n\n"
        );
        let events = decode(input.as_bytes(), 4096);
        assert_eq!(message_delta(&events)["delta"]["stop_reason"], want);
    }
}

#[test]
fn a_malformed_chunk_is_an_error_event() {
    let events = decode(
        b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {not json\n\n",
        4096,
    );
    let err = last(&events);
    assert_eq!(err["type"], "error");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
}

#[test]
fn ollama_bare_string_error_in_a_stream() {
    let events = decode(
        b"data: {\"error\":\"model requires more system memory\"}\n\n",
        4096,
    );
    assert_eq!(
        last(&events)["error"]["message"],
        "openai/gpt-5: model requires more system memory"
    );
}

#[test]
fn usage_is_reported_to_the_gateway() {
    let mut d = ChatStream::new("m");
    let mut out = Vec::new();
    d.feed(&fixture("stream_tool_calls.sse"), &mut out);
    d.finish(&mut out);
    assert_eq!(
        d.usage(),
        Usage {
            cache_creation: None,
            input_tokens: 152,
            output_tokens: 96,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 3968
        }
    );
}

#[test]
fn json_scan_sees_braces_inside_strings_and_escapes() {
    let mut s = JsonScan::default();
    s.feed(r#"{"a":"}{\"}","b":[1,{"c":2}]"#);
    assert!(!s.complete);
    s.feed("}");
    assert!(s.complete);
    let mut scalar = JsonScan::default();
    scalar.feed("\"{}\"");
    assert!(!scalar.complete, "a top-level string is never complete");
}

#[test]
fn endless_data_lines_end_the_stream_with_one_error() {
    let mut d = ChatStream::new("openai/gpt-5");
    let mut out = Vec::new();
    let opening = r#"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}"#;
    d.feed(format!("{opening}\n\n").as_bytes(), &mut out);
    // `data:` lines that never end their event, until the decoder gives up.
    let junk = b"data: {\"choices\":[]}\n".repeat(4096);
    let mut fed = 0;
    while !d.done() {
        d.feed(&junk, &mut out);
        fed += junk.len();
        assert!(fed <= 2 * crate::messages::sse::MAX_EVENT, "it never ended");
    }
    d.feed(&junk, &mut out);
    d.finish(&mut out);
    let events = parse_sse(&out);
    assert_eq!(
        types(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "error"
        ]
    );
    assert_eq!(
        events[3]["error"]["message"],
        "openai/gpt-5: the upstream sent an event larger than 16 MiB (a broken stream); bgw ended the stream there"
    );
}
