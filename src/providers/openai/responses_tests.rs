//! The Responses API translation, both ways. Fixtures follow the documented event sequences:
//! https://platform.openai.com/docs/api-reference/responses-streaming ,
//! https://platform.openai.com/docs/guides/reasoning#reasoning-summaries ,
//! https://platform.openai.com/docs/guides/function-calling#streaming ,
//! https://platform.openai.com/docs/api-reference/responses/object .
use super::*;
use crate::messages::MessageAccumulator;
use crate::messages::signature::ThinkingKey;
use crate::messages::sse::SseParser;
use crate::providers::StreamDecoder;
use serde_json::{Value, json};
use std::sync::Arc;

const ENC: &str = "gAAAAABosfDEn8Xw3rT0l2Jz6q-kVYgF1pZ0bqY4c2hT9mXe_PqR7sUvWxYz01234567890AbCdEfGhIjKlMnOpQrStUvWxYz==";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/openai/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn key() -> Arc<ThinkingKey> {
    Arc::new(ThinkingKey::from_bytes(&[5; 32]))
}

fn gpt5() -> Signer {
    key().signer("openai", "gpt-5")
}

/// Encodes a request body (JSON) for `gpt-5`, recognising gpt-5's own thinking.
fn encode(body: Value) -> Value {
    encode_for("gpt-5", body)
}

fn encode_for(model: &str, body: Value) -> Value {
    let bytes = serde_json::to_vec(&body).unwrap();
    let req = MessagesRequest::parse(&bytes).unwrap();
    let own = key().signer("openai", model);
    let stream = req.stream.unwrap_or(false);
    let out =
        encode_responses_request(&req, model, &Quirks::OPENAI, stream, Some(&own), true).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn request(messages: Value) -> Value {
    json!({"model": "openai/gpt-5", "max_tokens": 2048, "messages": messages})
}

/// Feeds `input` in pieces of `piece` bytes, then EOF; the Anthropic events as JSON.
fn decode(input: &[u8], piece: usize) -> Vec<Value> {
    let mut d = ResponsesStream::new("openai/gpt-5").signing_thinking(gpt5());
    let mut out = Vec::new();
    for p in input.chunks(piece) {
        d.feed(p, &mut out);
    }
    d.finish(&mut out);
    assert!(d.done());
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
            assert_eq!(f.event.as_deref(), v["type"].as_str());
            v
        })
        .collect()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e["type"].as_str().unwrap() {
            "content_block_start" => {
                format!("start:{}", e["content_block"]["type"].as_str().unwrap())
            }
            "content_block_delta" => format!("delta:{}", e["delta"]["type"].as_str().unwrap()),
            "content_block_stop" => "stop".to_owned(),
            other => other.to_owned(),
        })
        .collect()
}

/// The events as one message, as the client would assemble it.
fn message(events: &[Value]) -> Value {
    let mut acc = MessageAccumulator::new();
    for e in events {
        acc.push(&to_event(e));
    }
    let msg = acc.finish().unwrap();
    serde_json::from_slice(&msg.to_json()).unwrap()
}

fn to_event(e: &Value) -> StreamEvent {
    let index = e["index"].as_u64().unwrap_or(0) as usize;
    match e["type"].as_str().unwrap() {
        "message_start" => StreamEvent::MessageStart {
            id: e["message"]["id"].as_str().unwrap().to_owned(),
            model: e["message"]["model"].as_str().unwrap().to_owned(),
            usage: serde_json::from_value(e["message"]["usage"].clone()).unwrap(),
        },
        "content_block_start" => {
            let b = &e["content_block"];
            let block = match b["type"].as_str().unwrap() {
                "text" => BlockStart::Text {
                    text: String::new(),
                },
                "thinking" => BlockStart::Thinking {
                    thinking: String::new(),
                    signature: String::new(),
                },
                _ => BlockStart::ToolUse {
                    id: b["id"].as_str().unwrap().to_owned(),
                    name: b["name"].as_str().unwrap().to_owned(),
                    input: Default::default(),
                },
            };
            StreamEvent::BlockStart { index, block }
        }
        "content_block_delta" => {
            let d = &e["delta"];
            let s = |k: &str| d[k].as_str().unwrap().to_owned();
            let delta = match d["type"].as_str().unwrap() {
                "text_delta" => Delta::TextDelta { text: s("text") },
                "thinking_delta" => Delta::ThinkingDelta {
                    thinking: s("thinking"),
                },
                "signature_delta" => Delta::SignatureDelta {
                    signature: s("signature"),
                },
                _ => Delta::InputJsonDelta {
                    partial_json: s("partial_json"),
                },
            };
            StreamEvent::BlockDelta { index, delta }
        }
        "content_block_stop" => StreamEvent::BlockStop { index },
        "message_delta" => StreamEvent::MessageDelta {
            stop_reason: match e["delta"]["stop_reason"].as_str() {
                Some("tool_use") => Some(StopReason::ToolUse),
                Some("max_tokens") => Some(StopReason::MaxTokens),
                Some("refusal") => Some(StopReason::Refusal),
                Some(_) => Some(StopReason::EndTurn),
                None => None,
            },
            stop_sequence: None,
            usage: serde_json::from_value(e["usage"].clone()).unwrap(),
        },
        "message_stop" => StreamEvent::MessageStop,
        other => panic!("unexpected event {other}: {e}"),
    }
}

// --- encoding -------------------------------------------------------------------------------

#[test]
fn system_becomes_instructions_and_the_request_is_stateless() {
    let sent = encode(json!({
        "model": "openai/gpt-5", "max_tokens": 32000, "stream": true,
        "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "Say hello."}],
        "temperature": 0.2, "top_p": 0.9, "top_k": 5, "stop_sequences": ["END"],
        "metadata": {"user_id": "u"}
    }));
    assert_eq!(
        sent,
        json!({
            "model": "gpt-5",
            "instructions": "You are terse.",
            "input": [{"type": "message", "role": "user", "content": "Say hello."}],
            "max_output_tokens": 32000,
            "stream": true,
            "store": false,
            "include": ["reasoning.encrypted_content"]
        }),
        "sampling parameters and stop sequences are dropped for reasoning models"
    );
}

#[test]
fn a_chat_model_keeps_its_sampling_and_asks_for_no_reasoning() {
    let sent = encode_for(
        "gpt-4.1",
        json!({"model": "m", "max_tokens": 10, "temperature": 0.2, "thinking": {"type": "enabled", "budget_tokens": 2000},
               "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(sent["temperature"], 0.2);
    assert_eq!(sent.get("reasoning"), None);
    assert_eq!(sent.get("include"), None);
}

#[test]
fn thinking_settings_map_to_reasoning_effort_with_summaries() {
    let effort = |extra: Value| {
        let mut body = request(json!([{"role": "user", "content": "hi"}]));
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        encode(body).get("reasoning").cloned()
    };
    assert_eq!(
        effort(json!({"thinking": {"type": "enabled", "budget_tokens": 2000}})),
        Some(json!({"effort": "low", "summary": "auto"}))
    );
    assert_eq!(
        effort(json!({"thinking": {"type": "enabled", "budget_tokens": 31999}})),
        Some(json!({"effort": "high", "summary": "auto"}))
    );
    assert_eq!(
        effort(json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}})),
        Some(json!({"effort": "high", "summary": "auto"}))
    );
    assert_eq!(
        effort(json!({"thinking": {"type": "adaptive"}})),
        Some(json!({"effort": "medium", "summary": "auto"}))
    );
    assert_eq!(effort(json!({"thinking": {"type": "disabled"}})), None);
    assert_eq!(effort(json!({})), None);
}

#[test]
fn without_summaries_the_effort_is_still_sent() {
    let bytes = serde_json::to_vec(
        &json!({"model": "m", "max_tokens": 10, "thinking": {"type": "adaptive"},
        "messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    let req = MessagesRequest::parse(&bytes).unwrap();
    let out = encode_responses_request(&req, "gpt-5", &Quirks::OPENAI, true, None, false).unwrap();
    let sent: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(sent["reasoning"], json!({"effort": "medium"}));
    assert_eq!(sent["include"], json!(["reasoning.encrypted_content"]));
}

#[test]
fn an_unverified_organizations_summary_refusal_is_recognised() {
    // As OpenAI words it (seen in many client bug reports).
    let body = br#"{"error":{"message":"Your organization must be verified to generate reasoning summaries. Please go to: https://platform.openai.com/settings/organization/general and click on Verify Organization. If you just verified, it can take up to 15 minutes for access to propagate.","type":"invalid_request_error","param":"reasoning.summary","code":"unsupported_value"}}"#;
    assert!(refuses_reasoning_summaries(400, body));
    assert!(!refuses_reasoning_summaries(429, body));
    let other = br#"{"error":{"message":"bad","type":"invalid_request_error","param":"input","code":null}}"#;
    assert!(!refuses_reasoning_summaries(400, other));
    assert!(!refuses_reasoning_summaries(400, b"<html>"));
}

#[test]
fn images_and_pdfs_become_input_parts() {
    let sent = encode(request(json!([{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "document", "title": "Report", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
        {"type": "document", "title": "Notes", "source": {"type": "text", "media_type": "text/plain", "data": "plain notes"}},
        {"type": "text", "text": "What do these show?"}
    ]}])));
    assert_eq!(
        sent["input"],
        json!([{"type": "message", "role": "user", "content": [
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
            {"type": "input_image", "image_url": "https://example.com/cat.jpg", "detail": "auto"},
            {"type": "input_file", "filename": "Report.pdf", "file_data": "data:application/pdf;base64,JVBERi0xLjQ="},
            {"type": "input_file", "file_url": "https://example.com/a.pdf"},
            {"type": "input_text", "text": "Notes\n\nplain notes"},
            {"type": "input_text", "text": "What do these show?"}
        ]}])
    );
}

#[test]
fn a_tool_loop_becomes_calls_and_outputs_with_errors_and_images() {
    let sent = encode(json!({
        "model": "openai/gpt-5", "max_tokens": 1000,
        "tools": [{"name": "Bash", "description": "Run a shell command",
                   "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"], "additionalProperties": false}},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
        "messages": [
            {"role": "user", "content": "List and screenshot."},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Running both."},
                {"type": "tool_use", "id": "call_A1", "name": "Bash", "input": {"command": "ls"}},
                {"type": "tool_use", "id": "toolu_B2", "name": "Bash", "input": {"command": "shot"}},
                {"type": "tool_use", "id": "bgwx_functions_2EBash_3A2", "name": "Bash", "input": {"command": "x"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_A1", "content": "ls: cannot access: No such file", "is_error": true},
                {"type": "tool_result", "tool_use_id": "toolu_B2", "content": [
                    {"type": "text", "text": "shot.png"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}
                ]},
                {"type": "text", "text": "Go on."}
            ]}
        ]
    }));
    assert_eq!(
        sent["tools"],
        json!([{"type": "function", "name": "Bash", "description": "Run a shell command",
                "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"], "additionalProperties": false},
                "strict": false}]),
        "server tools are dropped"
    );
    assert_eq!(sent["tool_choice"], "auto");
    assert_eq!(sent["parallel_tool_calls"], false);
    assert_eq!(
        sent["input"],
        json!([
            {"type": "message", "role": "user", "content": "List and screenshot."},
            {"type": "message", "role": "assistant", "content": "Running both."},
            {"type": "function_call", "call_id": "call_A1", "name": "Bash", "arguments": "{\"command\":\"ls\"}"},
            {"type": "function_call", "call_id": "toolu_B2", "name": "Bash", "arguments": "{\"command\":\"shot\"}"},
            {"type": "function_call", "call_id": "functions.Bash:2", "name": "Bash", "arguments": "{\"command\":\"x\"}"},
            {"type": "function_call_output", "call_id": "call_A1", "output": "Error: ls: cannot access: No such file"},
            {"type": "function_call_output", "call_id": "toolu_B2", "output": [
                {"type": "input_text", "text": "shot.png"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBO", "detail": "auto"}
            ]},
            {"type": "function_call_output", "call_id": "functions.Bash:2", "output": "(no result was recorded for this tool call)"},
            {"type": "message", "role": "user", "content": "Go on."}
        ])
    );
}

#[test]
fn tool_choice_variants() {
    let choice = |c: Value| {
        let mut body = request(json!([{"role": "user", "content": "hi"}]));
        body["tools"] = json!([{"name": "Bash", "input_schema": {"type": "object"}}]);
        body["tool_choice"] = c;
        let sent = encode(body);
        (
            sent["tool_choice"].clone(),
            sent.get("parallel_tool_calls").cloned(),
        )
    };
    assert_eq!(choice(json!({"type": "auto"})), (json!("auto"), None));
    assert_eq!(choice(json!({"type": "any"})), (json!("required"), None));
    assert_eq!(choice(json!({"type": "none"})), (json!("none"), None));
    assert_eq!(
        choice(json!({"type": "tool", "name": "Bash", "disable_parallel_tool_use": true})),
        (
            json!({"type": "function", "name": "Bash"}),
            Some(json!(false))
        )
    );
    assert_eq!(
        choice(json!({"type": "none", "disable_parallel_tool_use": true})),
        (json!("none"), None)
    );
}

#[test]
fn mid_conversation_system_turns_become_developer_messages() {
    let sent = encode(request(json!([
        {"role": "user", "content": "a"},
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": "b"}
    ])));
    assert_eq!(
        sent["input"][1],
        json!({"type": "message", "role": "developer", "content": "Be brief."})
    );
}

#[test]
fn only_this_models_carried_reasoning_goes_back_as_a_reasoning_item() {
    let own = gpt5();
    let carried = format!("rs_1{CARRY_SEPARATOR}{ENC}");
    let mine = own.sign_carrying("Check the file.", carried.as_bytes());
    let mine_empty = own.sign_carrying("", format!("rs_2{CARRY_SEPARATOR}{ENC}").as_bytes());
    let other_model = key()
        .signer("openai", "o3")
        .sign_carrying("Check the file.", carried.as_bytes());
    let plain = own.sign("Check the file.");
    let turn = |thinking: &str, signature: &str| {
        json!({"role": "assistant", "content": [
            {"type": "thinking", "thinking": thinking, "signature": signature},
            {"type": "tool_use", "id": "call_1", "name": "Read", "input": {"file_path": "a"}}
        ]})
    };
    let result = json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "x"}]});
    let items = |assistant: Value| {
        let sent = encode(request(
            json!([{"role": "user", "content": "go"}, assistant, result.clone()]),
        ));
        sent["input"].as_array().unwrap()[1..].to_vec()
    };
    let call = json!({"type": "function_call", "call_id": "call_1", "name": "Read", "arguments": "{\"file_path\":\"a\"}"});
    assert_eq!(
        items(turn("Check the file.", &mine)),
        vec![
            json!({"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Check the file."}], "encrypted_content": ENC}),
            call.clone(),
            json!({"type": "function_call_output", "call_id": "call_1", "output": "x"}),
        ]
    );
    assert_eq!(
        items(turn("", &mine_empty))[0],
        json!({"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": ENC}),
        "reasoning without a summary still goes back"
    );
    for (why, thinking, signature) in [
        ("another model", "Check the file.", other_model.as_str()),
        ("nothing carried", "Check the file.", plain.as_str()),
        ("edited text", "Check the files.", mine.as_str()),
        ("Anthropic's", "Check the file.", "EqQBCkgIARABGAIiQL2Zs1o9"),
        ("unsigned", "Check the file.", ""),
    ] {
        assert_eq!(items(turn(thinking, signature))[0], call, "{why}");
    }
    let redacted = json!({"role": "assistant", "content": [
        {"type": "redacted_thinking", "data": "abc"},
        {"type": "tool_use", "id": "call_1", "name": "Read", "input": {"file_path": "a"}}
    ]});
    assert_eq!(items(redacted)[0], call);
}

#[test]
fn reasoning_with_nothing_after_it_in_its_turn_is_dropped() {
    let sig = gpt5().sign_carrying("t", format!("rs_1{CARRY_SEPARATOR}{ENC}").as_bytes());
    let sent = encode(request(json!([
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": sig}]},
        {"role": "user", "content": "again"}
    ])));
    assert_eq!(
        sent["input"],
        json!([
            {"type": "message", "role": "user", "content": "go"},
            {"type": "message", "role": "user", "content": "again"}
        ])
    );
}

#[test]
fn an_empty_conversation_is_refused() {
    let bytes = serde_json::to_vec(&request(json!([{"role": "user", "content": ""}]))).unwrap();
    let req = MessagesRequest::parse(&bytes).unwrap();
    let err =
        encode_responses_request(&req, "gpt-5", &Quirks::OPENAI, false, None, true).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
}

// --- streams ---------------------------------------------------------------------------------

#[test]
fn a_reasoning_summary_streams_as_a_signed_thinking_block_before_the_text() {
    let input = fixture("responses_stream_reasoning.sse");
    let mut first = None;
    for piece in [1, 7, 4096] {
        let events = decode(&input, piece);
        assert_eq!(
            types(&events),
            [
                "message_start",
                "start:thinking",
                "delta:thinking_delta",
                "delta:thinking_delta",
                "delta:thinking_delta",
                "delta:thinking_delta",
                "delta:thinking_delta",
                "delta:thinking_delta",
                "delta:signature_delta",
                "stop",
                "start:text",
                "delta:text_delta",
                "delta:text_delta",
                "delta:text_delta",
                "stop",
                "message_delta",
                "message_stop"
            ],
            "pieces of {piece}"
        );
        let msg = message(&events);
        let mut without_id = msg.clone();
        without_id["id"] = json!("msg_X");
        if let Some(first) = &first {
            assert_eq!(&without_id, first, "the same at every split");
        }
        first = Some(without_id);
        let thinking = msg["content"][0]["thinking"].as_str().unwrap();
        assert_eq!(
            thinking,
            "**Comparing decimals**\n\nCompare 9.11 and 9.8 digit by digit.\n\n**Answering**\n\n9.8 is larger."
        );
        let signature = msg["content"][0]["signature"].as_str().unwrap();
        assert!(gpt5().wrote(signature, thinking), "{signature}");
        assert_eq!(
            gpt5().carried(signature, thinking),
            Some(format!("rs_68b1f0c3e5a08190b6f1\n{ENC}").into_bytes())
        );
        assert_eq!(
            msg["content"][1],
            json!({"type": "text", "text": "9.8 is larger."})
        );
        assert_eq!(msg["model"], "openai/gpt-5");
        assert_eq!(msg["stop_reason"], "end_turn");
        assert_eq!(
            msg["usage"],
            json!({"input_tokens": 206, "output_tokens": 412, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024})
        );
    }
}

#[test]
fn two_function_calls_with_fragmented_arguments_become_tool_use_blocks() {
    let input = fixture("responses_stream_tool_calls.sse");
    for piece in [1, 7, 4096] {
        let events = decode(&input, piece);
        let msg = message(&events);
        assert_eq!(msg["content"][0]["type"], "thinking");
        assert_eq!(msg["content"][0]["thinking"], "", "no summary was streamed");
        let signature = msg["content"][0]["signature"].as_str().unwrap();
        assert_eq!(
            gpt5().carried(signature, ""),
            Some(format!("rs_68b1f1a0c1d88190aa01\n{ENC}").into_bytes()),
            "the block carries the encrypted reasoning all the same"
        );
        assert_eq!(
            msg["content"].as_array().unwrap()[1..],
            [
                json!({"type": "tool_use", "id": "call_Xq3dRk1bT9aZ", "name": "Read", "input": {"file_path": "/src/main.rs"}}),
                json!({"type": "tool_use", "id": "call_Yb7eSm2cU0bA", "name": "Bash", "input": {"command": "cargo test -q", "timeout": 120000}})
            ]
        );
        assert_eq!(msg["stop_reason"], "tool_use");
        assert_eq!(msg["usage"]["output_tokens"], 160);
        let fragments = events
            .iter()
            .filter(|e| e["delta"]["type"] == "input_json_delta")
            .count();
        assert_eq!(
            fragments, 9,
            "each argument fragment is passed on as it comes"
        );
    }
}

#[test]
fn the_carried_reasoning_returns_as_the_reasoning_item_on_the_next_turn() {
    let msg = message(&decode(&fixture("responses_stream_tool_calls.sse"), 4096));
    let sent = encode(request(json!([
        {"role": "user", "content": "Run the tests."},
        {"role": "assistant", "content": msg["content"]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_Xq3dRk1bT9aZ", "content": "fn main() {}"},
            {"type": "tool_result", "tool_use_id": "call_Yb7eSm2cU0bA", "content": "ok"}
        ]}
    ])));
    assert_eq!(
        sent["input"][1],
        json!({"type": "reasoning", "id": "rs_68b1f1a0c1d88190aa01", "summary": [], "encrypted_content": ENC})
    );
    assert_eq!(sent["input"][2]["call_id"], "call_Xq3dRk1bT9aZ");
    assert_eq!(sent["input"][3]["call_id"], "call_Yb7eSm2cU0bA");
}

#[test]
fn an_incomplete_response_stops_at_max_tokens() {
    let events = decode(&fixture("responses_stream_incomplete.sse"), 7);
    let msg = message(&events);
    assert_eq!(
        msg["content"],
        json!([{"type": "text", "text": "The first part of a long"}])
    );
    assert_eq!(msg["stop_reason"], "max_tokens");
    assert_eq!(msg["usage"]["output_tokens"], 64);
}

#[test]
fn a_failed_response_or_an_error_event_ends_in_an_anthropic_error() {
    let events = decode(&fixture("responses_stream_failed.sse"), 7);
    assert_eq!(types(&events), ["message_start", "error"]);
    assert_eq!(events[1]["error"]["type"], "api_error");
    assert_eq!(
        events[1]["error"]["message"],
        "openai/gpt-5: The model failed to generate a response."
    );
    let events = decode(&fixture("responses_stream_error.sse"), 7);
    assert_eq!(types(&events), ["message_start", "error"]);
    assert_eq!(events[1]["error"]["type"], "rate_limit_error");
    assert!(
        events[1]["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("openai/gpt-5: Rate limit reached for gpt-5")
    );
}

#[test]
fn a_stream_cut_before_completion_is_an_error() {
    let input = fixture("responses_stream_reasoning.sse");
    let cut = &input[..input.len() / 2];
    let events = decode(cut, 4096);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ended before the response was complete")
    );
}

#[test]
fn a_stream_that_is_not_json_is_an_error() {
    let events = decode(b"event: response.created\ndata: {oops\n\n", 4096);
    assert_eq!(types(&events), ["error"]);
}

// --- whole bodies ----------------------------------------------------------------------------

#[test]
fn a_whole_response_becomes_thinking_text_and_tool_use() {
    let msg = decode_responses_body(
        &fixture("responses_body.json"),
        "openai/gpt-5",
        Some(&gpt5()),
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&msg.to_json()).unwrap();
    let thinking = v["content"][0]["thinking"].as_str().unwrap();
    assert_eq!(thinking, "**Planning**\n\nRead the file first.");
    let signature = v["content"][0]["signature"].as_str().unwrap();
    assert_eq!(
        gpt5().carried(signature, thinking),
        Some(format!("rs_68b1f3a1\n{ENC}").into_bytes())
    );
    assert_eq!(
        v["content"].as_array().unwrap()[1..],
        [
            json!({"type": "text", "text": "Let me read it."}),
            json!({"type": "tool_use", "id": "call_Zc8fTn3dV1cB", "name": "Read", "input": {"file_path": "/src/lib.rs"}})
        ]
    );
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 388, "output_tokens": 75, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 512})
    );
}

#[test]
fn whole_bodies_incomplete_failed_and_garbage() {
    let body = br#"{"id":"resp_1","object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","text":"Part","annotations":[]}]}],"usage":{"input_tokens":5,"output_tokens":9}}"#;
    let msg = decode_responses_body(body, "openai/o3", None).unwrap();
    assert_eq!(msg.stop_reason, Some(StopReason::MaxTokens));
    let body = br#"{"id":"resp_1","object":"response","status":"failed","error":{"code":"server_error","message":"boom"},"output":[]}"#;
    let err = decode_responses_body(body, "openai/o3", None).unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::Api, "openai/o3: boom")
    );
    let err = decode_responses_body(b"<html>", "openai/o3", None).unwrap_err();
    assert!(err.message.contains("<html>"), "{}", err.message);
    let chat = br#"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi."},"finish_reason":"stop"}]}"#;
    let err = decode_responses_body(chat, "openai/o3", None).unwrap_err();
    assert!(
        err.message.contains("not a response object"),
        "{}",
        err.message
    );
    let body = br#"{"status":"completed","output":[{"type":"message","content":[{"type":"refusal","refusal":"I can't help with that."}]}]}"#;
    let msg = decode_responses_body(body, "openai/o3", None).unwrap();
    let v: Value = serde_json::from_slice(&msg.to_json()).unwrap();
    assert_eq!(v["content"][0]["text"], "I can't help with that.");
}
