//! OpenAI Chat Completions behind the Anthropic Messages API: the real `bgw serve`
//! against a mock api.openai.com on 127.0.0.1, both directions of the translation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::sse::{self, block, json_fragments, message_delta, names, one_block_names, text_of};
use support::{Bgw, Event, Mock, Reply, openai, tool_request};

const MODEL: &str = "gpt-4o-mini";
const REQUESTED: &str = "openai/gpt-4o-mini";
const KEY: &str = "sk-test-openai-000000";

fn gateway(mock: &Mock) -> Bgw {
    Bgw::keyed("openai", Some(KEY), &mock.at("/v1"))
}

/// The OpenAI stream of one tool call whose arguments come in fragments of these sizes.
fn tool_call_stream(text: &[&str], id: &str, name: &str, args: &str, sizes: &[usize]) -> String {
    let mut s = openai::role(MODEL);
    for t in text {
        s.push_str(&openai::text(MODEL, t));
    }
    s.push_str(&openai::tool_start(MODEL, 0, id, name));
    for f in sse::fragments(args, sizes) {
        s.push_str(&openai::tool_args(MODEL, 0, &f));
    }
    s.push_str(&openai::end(MODEL, "tool_calls", 80, 25));
    s
}

/// Asserts each content block's events are contiguous: start, its deltas, stop.
fn assert_blocks_sequential(events: &[Event]) {
    let mut open: Option<u64> = None;
    let mut next = 0;
    for e in events
        .iter()
        .filter(|e| e.event.starts_with("content_block_"))
    {
        let v = e.json();
        let index = v["index"].as_u64().unwrap();
        match e.event.as_str() {
            "content_block_start" => {
                assert_eq!(open, None, "block {index} started while another was open");
                assert_eq!(index, next, "blocks are numbered from 0 in order");
                open = Some(index);
                next += 1;
            }
            "content_block_delta" => assert_eq!(open, Some(index), "delta outside its block: {v}"),
            "content_block_stop" => {
                assert_eq!(open, Some(index), "stop of a block that is not open: {v}");
                open = None;
            }
            other => panic!("unexpected event {other}"),
        }
    }
    assert_eq!(open, None, "a block was left open");
}

#[tokio::test]
async fn a_text_answer_comes_back_as_an_anthropic_message() {
    let mock = Mock::start([Reply::json(
        200,
        &openai::completion(MODEL, "Hello.", "stop", openai::usage_object(120, 7, 100)),
    )
    .header("x-request-id", "req_abc123")])
    .await;
    let bgw = gateway(&mock);

    let resp = bgw.client().hello(REQUESTED, false).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let body = resp.json().await;
    assert!(body["id"].as_str().unwrap().starts_with("msg_"), "{body}");
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], REQUESTED);
    assert_eq!(body["content"], json!([{"type": "text", "text": "Hello."}]));
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["stop_sequence"], Value::Null);
    // prompt_tokens includes the cached ones; Anthropic's input_tokens does not.
    assert_eq!(body["usage"]["input_tokens"], 20);
    assert_eq!(body["usage"]["cache_read_input_tokens"], 100);
    assert_eq!(body["usage"]["cache_creation_input_tokens"], 0);
    assert_eq!(body["usage"]["output_tokens"], 7);

    let up = mock.only_request();
    assert_eq!(up.method, "POST");
    assert_eq!(up.path, "/v1/chat/completions");
    assert_eq!(
        up.header("authorization"),
        Some("Bearer sk-test-openai-000000")
    );
    assert_eq!(up.header("content-type"), Some("application/json"));
    let sent = up.json();
    assert_eq!(sent["model"], MODEL);
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello."}
        ])
    );
    assert_eq!(sent["max_completion_tokens"], 1024);
    assert_eq!(
        sent.get("max_tokens"),
        None,
        "OpenAI takes max_completion_tokens only"
    );
    assert_ne!(sent["stream"], true);
}

#[tokio::test]
async fn a_streamed_text_answer_is_translated_event_by_event() {
    let upstream = openai::text_stream(MODEL, &["Hel", "lo", ", wor", "ld."], 31, 4);
    let mock = Mock::start([Reply::sse(sse::split(
        upstream.as_bytes(),
        &[9, 23, 4, 71, 2],
    ))])
    .await;
    let bgw = gateway(&mock);

    let resp = bgw.client().hello(REQUESTED, true).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    let events = resp.sse().all().await;
    assert_eq!(names(&events), one_block_names(4));
    let start = events[0].json();
    assert_eq!(start["message"]["type"], "message");
    assert_eq!(start["message"]["role"], "assistant");
    assert_eq!(start["message"]["model"], REQUESTED);
    assert_eq!(start["message"]["content"], json!([]));
    assert!(start["message"]["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        block(&events, 0)[0]["content_block"],
        json!({"type": "text", "text": ""})
    );
    assert_eq!(text_of(&events, 0), "Hello, world.");
    let delta = message_delta(&events);
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["input_tokens"], 31);
    assert_eq!(delta["usage"]["output_tokens"], 4);

    let sent = mock.only_request().json();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn a_tool_call_streamed_in_tiny_fragments_arrives_as_exact_input_json() {
    let args = r#"{"command":"ls -la /tmp && echo \"done ✓\"","timeout":30000}"#;
    let upstream = tool_call_stream(
        &[],
        "call_q1w2e3r4",
        "Bash",
        args,
        &[1, 3, 7, 2, 5, 4, 6, 1, 1],
    );
    // SSE frames are also cut mid-line, across separate writes.
    let chunks = sse::split(upstream.as_bytes(), &[17, 5, 40, 3, 64, 11, 1]);
    let mock = Mock::start([Reply::sse(chunks)]).await;
    let bgw = gateway(&mock);

    let events = bgw.client().events(&tool_request(REQUESTED, true)).await;
    let fragments = sse::fragments(args, &[1, 3, 7, 2, 5, 4, 6, 1, 1]);
    assert_eq!(names(&events), one_block_names(fragments.len()));

    let start = &block(&events, 0)[0];
    assert_eq!(start["content_block"]["type"], "tool_use");
    assert_eq!(start["content_block"]["name"], "Bash");
    assert_eq!(start["content_block"]["input"], json!({}));
    assert!(
        start["content_block"]["id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{start}"
    );
    assert_eq!(
        json_fragments(&events, 0),
        fragments,
        "each upstream fragment is one input_json_delta"
    );
    assert_eq!(json_fragments(&events, 0).concat(), args);

    let delta = message_delta(&events);
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(delta["usage"]["output_tokens"], 25);
    assert_eq!(delta["usage"]["input_tokens"], 80);
}

#[tokio::test]
async fn text_then_a_tool_call_become_two_blocks_in_order() {
    let args = r#"{"file_path":"/etc/hosts"}"#;
    let upstream = tool_call_stream(
        &["Let me ", "look."],
        "call_9f8e7d",
        "Read",
        args,
        &[2, 7, 1],
    );
    let mock = Mock::start([Reply::sse(sse::split(upstream.as_bytes(), &[29, 7]))]).await;
    let bgw = gateway(&mock);

    let events = bgw.client().events(&tool_request(REQUESTED, true)).await;
    let first_stop = events
        .iter()
        .position(|e| e.event == "content_block_stop")
        .unwrap();
    assert_eq!(
        names(&events[..first_stop + 1]),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop"
        ]
    );
    assert_blocks_sequential(&events);
    assert_eq!(text_of(&events, 0), "Let me look.");
    let tool = &block(&events, 1)[0];
    assert_eq!(tool["content_block"]["type"], "tool_use");
    assert_eq!(tool["content_block"]["name"], "Read");
    assert_eq!(json_fragments(&events, 1).concat(), args);
    let n = names(&events);
    assert_eq!(n[n.len() - 2..], ["message_delta", "message_stop"]);
    let delta = message_delta(&events);
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
}

/// Two calls under index 0 and 1; `interleave` alternates their fragments as some vendors do.
fn parallel_stream(interleave: bool) -> String {
    let a = sse::fragments(r#"{"file_path":"/etc/hosts"}"#, &[3, 1, 5]);
    let b = sse::fragments(r#"{"command":"pwd"}"#, &[2, 4]);
    let mut s = openai::role(MODEL);
    if interleave {
        s.push_str(&openai::tool_start(MODEL, 0, "call_aaa111", "Read"));
        s.push_str(&openai::tool_start(MODEL, 1, "call_bbb222", "Bash"));
        for i in 0..a.len().max(b.len()) {
            if let Some(f) = a.get(i) {
                s.push_str(&openai::tool_args(MODEL, 0, f));
            }
            if let Some(f) = b.get(i) {
                s.push_str(&openai::tool_args(MODEL, 1, f));
            }
        }
    } else {
        s.push_str(&openai::tool_start(MODEL, 0, "call_aaa111", "Read"));
        for f in &a {
            s.push_str(&openai::tool_args(MODEL, 0, f));
        }
        s.push_str(&openai::tool_start(MODEL, 1, "call_bbb222", "Bash"));
        for f in &b {
            s.push_str(&openai::tool_args(MODEL, 1, f));
        }
    }
    s.push_str(&openai::end(MODEL, "tool_calls", 50, 40));
    s
}

async fn assert_two_tool_blocks(interleave: bool) {
    let upstream = parallel_stream(interleave);
    let mock = Mock::start([Reply::sse(sse::split(upstream.as_bytes(), &[13, 51, 2]))]).await;
    let bgw = gateway(&mock);
    let events = bgw.client().events(&tool_request(REQUESTED, true)).await;

    assert_blocks_sequential(&events);
    let starts: Vec<Value> = events
        .iter()
        .filter(|e| e.event == "content_block_start")
        .map(|e| e.json()["content_block"].clone())
        .collect();
    assert_eq!(starts.len(), 2, "{events:#?}");
    assert_eq!(
        (starts[0]["type"].as_str(), starts[0]["name"].as_str()),
        (Some("tool_use"), Some("Read"))
    );
    assert_eq!(
        (starts[1]["type"].as_str(), starts[1]["name"].as_str()),
        (Some("tool_use"), Some("Bash"))
    );
    assert_ne!(starts[0]["id"], starts[1]["id"]);
    assert_eq!(
        json_fragments(&events, 0).concat(),
        r#"{"file_path":"/etc/hosts"}"#
    );
    assert_eq!(json_fragments(&events, 1).concat(), r#"{"command":"pwd"}"#);
    let n = names(&events);
    assert_eq!(n[0], "message_start");
    assert_eq!(n[n.len() - 2..], ["message_delta", "message_stop"]);
    let delta = message_delta(&events);
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn two_parallel_tool_calls_streamed_one_after_the_other_become_two_blocks() {
    assert_two_tool_blocks(false).await;
}

#[tokio::test]
async fn two_parallel_tool_calls_with_interleaved_fragments_become_two_whole_blocks() {
    assert_two_tool_blocks(true).await;
}

#[tokio::test]
async fn a_non_streamed_tool_call_becomes_a_tool_use_block() {
    let completion = json!({
        "id": openai::ID, "object": "chat.completion", "created": openai::CREATED, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "refusal": null,
            "tool_calls": [{"id": "call_xyz789", "type": "function",
                "function": {"name": "Bash", "arguments": "{\"command\":\"git status\"}"}}]},
            "logprobs": null, "finish_reason": "tool_calls"}],
        "usage": openai::usage_object(90, 18, 0)
    });
    let mock = Mock::start([Reply::json(200, &completion)]).await;
    let bgw = gateway(&mock);
    let body = bgw
        .client()
        .messages(&tool_request(REQUESTED, false))
        .await
        .json()
        .await;
    assert_eq!(body["stop_reason"], "tool_use");
    let content = body["content"].as_array().unwrap();
    assert_eq!(content.len(), 1, "{body}");
    assert_eq!(content[0]["type"], "tool_use");
    assert_eq!(content[0]["name"], "Bash");
    assert_eq!(content[0]["input"], json!({"command": "git status"}));

    let sent = mock.only_request().json();
    assert_eq!(
        sent["tools"],
        json!([{"type": "function", "function": {
            "name": "Bash", "description": "Run a shell command",
            "parameters": tool_request(REQUESTED, false)["tools"][0]["input_schema"]}}])
    );
}

#[tokio::test]
async fn a_tool_call_id_comes_back_to_the_upstream_unchanged_in_the_next_turn() {
    let args = r#"{"command":"ls"}"#;
    let upstream = tool_call_stream(&[], "call_roundtrip01", "Bash", args, &[4]);
    let mock = Mock::start([
        Reply::sse([upstream]),
        openai::reply(MODEL, "Two files.", 120, 3),
    ])
    .await;
    let bgw = gateway(&mock);
    let client = bgw.client();
    let events = client.events(&tool_request(REQUESTED, true)).await;
    let id = block(&events, 0)[0]["content_block"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Claude Code sends the history back with the block's id and the tool's result.
    let mut next = tool_request(REQUESTED, false);
    next["messages"] = json!([
        {"role": "user", "content": "List the files."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": "Bash", "input": {"command": "ls"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "a.txt\nb.txt"}]}
    ]);
    let resp = client.messages(&next).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json().await["content"][0]["text"], "Two files.");

    let sent = mock.requests()[1].json();
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(
        messages[0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(
        messages[1],
        json!({"role": "user", "content": "List the files."})
    );
    assert_eq!(messages[2]["role"], "assistant");
    let call = &messages[2]["tool_calls"][0];
    assert_eq!(
        call["id"], "call_roundtrip01",
        "the upstream sees its own call id again"
    );
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "Bash");
    let sent_args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(sent_args, json!({"command": "ls"}));
    assert_eq!(
        messages[3],
        json!({"role": "tool", "tool_call_id": "call_roundtrip01", "content": "a.txt\nb.txt"})
    );
    assert_eq!(messages.len(), 4);
}

#[tokio::test]
async fn a_stream_without_done_still_completes_when_the_finish_and_usage_came() {
    let mut upstream = openai::opening(MODEL, "Hi.");
    upstream.push_str(&openai::finish(MODEL, "stop"));
    upstream.push_str(&openai::usage(MODEL, 10, 2, 0));
    let mock = Mock::start([Reply::sse([upstream])]).await;
    let bgw = gateway(&mock);
    let events = bgw.client().hello_events(REQUESTED).await;
    let n = names(&events);
    assert_eq!(
        n[n.len() - 2..],
        ["message_delta", "message_stop"],
        "{events:#?}"
    );
    assert!(!n.contains(&"error"));
}

#[tokio::test]
async fn finish_reason_length_is_max_tokens() {
    let mock = Mock::start([Reply::json(
        200,
        &openai::completion(
            MODEL,
            "Once upon a",
            "length",
            openai::usage_object(10, 3, 0),
        ),
    )])
    .await;
    let bgw = gateway(&mock);
    let body = bgw.client().hello(REQUESTED, false).await.json().await;
    assert_eq!(body["stop_reason"], "max_tokens");
}

#[tokio::test]
async fn events_reach_the_client_as_they_arrive_not_when_the_stream_ends() {
    // The upstream sends its first words and then nothing: if bgw buffered the stream,
    // the client would never see them.
    let mut parts = openai::opening_parts(MODEL, "First words");
    parts.push(support::mock::Part::Hang);
    let mock = Mock::start([Reply::sse_parts(parts)]).await;
    let bgw = gateway(&mock);
    let mut stream = bgw.client().hello(REQUESTED, true).await.sse();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let e = stream.next().await.expect("the stream ended early");
        if e.event != "ping" {
            seen.push(e);
        }
    }
    assert_eq!(
        names(&seen),
        [
            "message_start",
            "content_block_start",
            "content_block_delta"
        ]
    );
    assert_eq!(text_of(&seen, 0), "First words");
    stream.hang_up();
}

#[tokio::test]
async fn a_vendor_that_says_stop_after_a_tool_call_still_gets_tool_use() {
    // Some OpenAI-compatible servers end a tool call with `finish_reason: "stop"`.
    let mut upstream = openai::role(MODEL);
    upstream.push_str(&openai::tool_start(MODEL, 0, "call_stop01", "Bash"));
    upstream.push_str(&openai::tool_args(MODEL, 0, r#"{"command":"pwd"}"#));
    upstream.push_str(&openai::end(MODEL, "stop", 10, 5));
    let mock = Mock::start([Reply::sse([upstream])]).await;
    let bgw = gateway(&mock);
    let events = bgw.client().events(&tool_request(REQUESTED, true)).await;
    let delta = message_delta(&events);
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(json_fragments(&events, 0).concat(), r#"{"command":"pwd"}"#);
}
