//! OpenAI-compatible vendors, end to end: built-in rows (groq, mistral, deepseek,
//! openrouter, ollama) pointed at a mock with `--base-url`, and a provider of the
//! user's own added with `--compat openai`. Each is checked for its dialect.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::sse::{self, block, message_delta, names, text_of};
use support::{
    Bgw, Mock, Reply, assert_contains, expect_error, expect_error_event, openai, tool_request,
};

const GROQ_KEY: &str = "gsk_test_000000000000";

/// A gateway with the `groq` key calling this mock as Groq's `/openai/v1`.
fn groq(mock: &Mock) -> Bgw {
    Bgw::keyed("groq", Some(GROQ_KEY), &mock.at("/openai/v1"))
}

#[tokio::test]
async fn groq_is_called_at_its_base_url_with_a_bearer_key() {
    let model = "llama-3.3-70b-versatile";
    let mock = Mock::start([openai::reply(model, "Hi from Groq.", 40, 6)]).await;
    let bgw = groq(&mock);

    let resp = bgw.client().hello(&format!("groq/{model}"), false).await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    assert_eq!(
        body["content"],
        json!([{"type": "text", "text": "Hi from Groq."}])
    );
    assert_eq!(body["model"], "groq/llama-3.3-70b-versatile");

    let up = mock.only_request();
    assert_eq!(up.path, "/openai/v1/chat/completions");
    assert_eq!(
        up.header("authorization"),
        Some("Bearer gsk_test_000000000000")
    );
    let sent = up.json();
    assert_eq!(sent["model"], model);
    assert_eq!(sent["max_completion_tokens"], 1024);
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
}

#[tokio::test]
async fn groq_stream_usage_in_x_groq_is_reported() {
    let model = "llama-3.3-70b-versatile";
    let mut upstream = openai::opening(model, "Fast.");
    let mut finish = openai::chunk(model, json!({}), Some("stop"));
    finish["x_groq"] = json!({"id": "req_01jbd6g2qdfw2adyrt2az8hz4w", "usage": {
        "queue_time": 0.02, "prompt_tokens": 40, "prompt_time": 0.003, "completion_tokens": 10,
        "completion_time": 0.04, "total_tokens": 50, "total_time": 0.043}});
    upstream.push_str(&openai::frame(&finish));
    upstream.push_str(openai::DONE);
    let mock = Mock::start([Reply::sse(sse::split(upstream.as_bytes(), &[30]))]).await;
    let bgw = groq(&mock);

    let events = bgw.client().hello_events(&format!("groq/{model}")).await;
    assert_eq!(text_of(&events, 0), "Fast.");
    let delta = message_delta(&events);
    assert_eq!(delta["usage"]["input_tokens"], 40);
    assert_eq!(delta["usage"]["output_tokens"], 10);
    assert_eq!(names(&events).last(), Some(&"message_stop"));
}

#[tokio::test]
async fn groq_tool_use_failed_keeps_the_failed_generation() {
    let body = json!({"error": {"message": "Failed to call a function. Please adjust your prompt. See 'failed_generation' for more details.",
        "type": "invalid_request_error", "code": "tool_use_failed", "failed_generation": "<function=Bash>{\"command\": \"ls\"</function>"}});
    let mock = Mock::start([Reply::json(400, &body)]).await;
    let bgw = groq(&mock);
    let resp = bgw
        .client()
        .messages(&tool_request("groq/llama-3.3-70b-versatile", false))
        .await;
    let msg = expect_error(resp, 400, "invalid_request_error").await;
    assert_contains(&msg, "groq: Failed to call a function.");
    assert_contains(&msg, "<function=Bash>");
}

#[tokio::test]
async fn a_cut_vendor_stream_ends_with_an_error_naming_the_vendor() {
    let model = "llama-3.3-70b-versatile";
    let mock = Mock::start([Reply::sse([openai::opening(model, "Half")])]).await;
    let bgw = groq(&mock);
    let events = bgw.client().hello_events(&format!("groq/{model}")).await;
    let message = expect_error_event(&events, "api_error", "groq");
    assert!(
        !message.contains("openai"),
        "the error blames the wrong provider: {message}"
    );
}

#[tokio::test]
async fn mistral_gets_max_tokens_no_stream_options_and_nine_character_tool_ids() {
    let model = "mistral-large-latest";
    let mock = Mock::start([Reply::sse([openai::text_stream(model, &["Done."], 20, 2)])]).await;
    let bgw = Bgw::keyed("mistral", Some("mistral-test-key-0000"), &mock.at("/v1"));
    let mut req = tool_request(&format!("mistral/{model}"), true);
    req["messages"] = json!([
        {"role": "user", "content": "List files."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "Bash", "input": {"command": "ls"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "a.txt"}]}
    ]);
    let events = bgw.client().events(&req).await;
    assert_eq!(text_of(&events, 0), "Done.");

    let up = mock.only_request();
    assert_eq!(up.path, "/v1/chat/completions");
    let sent = up.json();
    assert_eq!(sent["max_tokens"], 1024);
    assert_eq!(sent.get("max_completion_tokens"), None);
    assert_eq!(
        sent.get("stream_options"),
        None,
        "Mistral refuses unknown fields"
    );
    let call_id = sent["messages"][2]["tool_calls"][0]["id"].as_str().unwrap();
    assert!(
        call_id.len() == 9 && call_id.bytes().all(|b| b.is_ascii_alphanumeric()),
        "Mistral needs [a-zA-Z0-9]{{9}} ids, got {call_id}"
    );
    assert_eq!(sent["messages"][3]["role"], "tool");
    assert_eq!(sent["messages"][3]["tool_call_id"], call_id);
}

#[tokio::test]
async fn deepseek_reasoning_content_becomes_a_thinking_block() {
    let model = "deepseek-reasoner";
    let mut upstream = openai::role(model);
    for piece in ["The user", " greets me."] {
        upstream.push_str(&openai::frame(&openai::chunk(
            model,
            json!({"reasoning_content": piece, "content": null}),
            None,
        )));
    }
    upstream.push_str(&openai::text(model, "Hello!"));
    upstream.push_str(&openai::end(model, "stop", 12, 30));
    let mock = Mock::start([Reply::sse(sse::split(upstream.as_bytes(), &[21, 8]))]).await;
    let bgw = Bgw::keyed("deepseek", Some("sk-deepseek-test-0000"), &mock.url());

    let events = bgw
        .client()
        .hello_events(&format!("deepseek/{model}"))
        .await;
    let thinking = block(&events, 0);
    assert_eq!(thinking[0]["content_block"]["type"], "thinking");
    let text: String = thinking
        .iter()
        .filter(|v| v["delta"]["type"] == "thinking_delta")
        .map(|v| v["delta"]["thinking"].as_str().unwrap())
        .collect();
    assert_eq!(text, "The user greets me.");
    assert_eq!(block(&events, 1)[0]["content_block"]["type"], "text");
    assert_eq!(text_of(&events, 1), "Hello!");
    assert_eq!(mock.only_request().path, "/chat/completions");
}

#[tokio::test]
async fn openrouter_comment_lines_are_ignored_and_model_slashes_are_kept() {
    let model = "anthropic/claude-sonnet-4.5";
    let mut upstream = String::from(": OPENROUTER PROCESSING\n\n");
    upstream.push_str(&openai::role(model));
    upstream.push_str(": OPENROUTER PROCESSING\n\n");
    upstream.push_str(&openai::text(model, "Routed."));
    upstream.push_str(&openai::end(model, "stop", 9, 2));
    let mock = Mock::start([Reply::sse(sse::split(upstream.as_bytes(), &[11]))]).await;
    let bgw = Bgw::keyed(
        "openrouter",
        Some("sk-or-v1-test-0000"),
        &mock.at("/api/v1"),
    );

    let events = bgw
        .client()
        .hello_events(&format!("openrouter/{model}"))
        .await;
    assert_eq!(text_of(&events, 0), "Routed.");
    assert_eq!(names(&events).last(), Some(&"message_stop"));
    let up = mock.only_request();
    assert_eq!(up.path, "/api/v1/chat/completions");
    assert_eq!(up.json()["model"], model);
}

#[tokio::test]
async fn ollama_needs_no_key_and_sends_no_authorization() {
    let mock = Mock::start([openai::reply("llama3.2", "Local.", 5, 1)]).await;
    let bgw = Bgw::keyed("ollama", None, &mock.at("/v1"));
    let resp = bgw.client().hello("ollama/llama3.2", false).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json().await["content"][0]["text"], "Local.");
    let up = mock.only_request();
    assert_eq!(up.path, "/v1/chat/completions");
    assert_eq!(up.header("authorization"), None);
}

#[tokio::test]
async fn a_user_added_compat_provider_routes_to_its_base_url() {
    let model = "Qwen/Qwen3-Coder-30B-A3B-Instruct";
    let mock = Mock::start([
        openai::reply(model, "From vLLM.", 15, 3),
        Reply::sse([openai::text_stream(model, &["Stream", "ed."], 15, 2)]),
    ])
    .await;
    let bgw = Bgw::setup()
        .compat(
            "myvllm",
            "openai",
            Some("vllm-secret-0000"),
            &mock.at("/v1"),
        )
        .start();
    let client = bgw.client();

    let resp = client
        .messages(&tool_request(&format!("myvllm/{model}"), false))
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json().await["content"],
        json!([{"type": "text", "text": "From vLLM."}])
    );
    let events = client.hello_events(&format!("myvllm/{model}")).await;
    assert_eq!(text_of(&events, 0), "Streamed.");

    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    for up in &requests {
        assert_eq!(up.path, "/v1/chat/completions");
        assert_eq!(up.header("authorization"), Some("Bearer vllm-secret-0000"));
        assert_eq!(
            up.json()["model"],
            model,
            "only the first slash splits provider from model"
        );
    }
    let first = requests[0].json();
    // What every compatible server accepts: `max_tokens`, no `parallel_tool_calls`, no `user`.
    assert_eq!(first["max_tokens"], 1024);
    assert_eq!(first.get("parallel_tool_calls"), None);
    assert_eq!(first.get("user"), None);
    assert_eq!(first["tools"][0]["function"]["name"], "Bash");
    assert_eq!(requests[1].json()["stream"], true);
}

#[tokio::test]
async fn a_user_added_compat_provider_without_a_key_sends_no_authorization() {
    let mock = Mock::start([openai::reply("local", "ok", 1, 1)]).await;
    let bgw = Bgw::setup()
        .compat("lmstudio", "openai", None, &mock.at("/v1"))
        .start();
    let resp = bgw.client().hello("lmstudio/local", false).await;
    assert_eq!(resp.status, 200);
    assert_eq!(mock.only_request().header("authorization"), None);
}

#[tokio::test]
async fn a_vendor_error_names_the_vendor() {
    let body: Value = json!({"object": "error", "message": "The model `nope` does not exist.", "type": "NotFoundError", "param": null, "code": 404});
    let mock = Mock::start([Reply::json(404, &body)]).await;
    let bgw = Bgw::setup()
        .compat("myvllm", "openai", None, &mock.at("/v1"))
        .start();
    let resp = bgw.client().hello("myvllm/nope", false).await;
    let msg = expect_error(resp, 404, "not_found_error").await;
    assert_eq!(msg, "myvllm: The model `nope` does not exist.");
}

#[tokio::test]
async fn an_image_for_a_text_only_model_is_refused_before_it_is_sent() {
    let mock = Mock::start([]).await;
    let bgw = groq(&mock);
    let body = json!({
        "model": "groq/llama-3.3-70b-versatile", "max_tokens": 100,
        "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "text", "text": "What is in this screenshot?"}
        ]}]
    });
    let msg = expect_error(
        bgw.client().messages(&body).await,
        400,
        "invalid_request_error",
    )
    .await;
    assert_contains(
        &msg,
        "`groq/llama-3.3-70b-versatile` cannot read images; switch with /model",
    );
    assert!(mock.requests().is_empty(), "nothing reached Groq");
}
