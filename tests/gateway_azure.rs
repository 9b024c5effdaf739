//! Azure, end to end: OpenAI deployments (dated and v1 paths, `api-key` auth, Azure's
//! filter-only chunks) and Claude on Azure AI Foundry (Anthropic Messages passthrough).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use support::sse::{self, azure, message_delta, names, one_block_names, text_of};
use support::{Bgw, Mock, Reply, anthropic, assert_contains, expect_error};

const KEY: &str = "azure-test-key-0000000000";

fn gateway(base_url: &str) -> Bgw {
    Bgw::keyed("azure", Some(KEY), base_url)
}

#[tokio::test]
async fn an_openai_deployment_is_called_on_its_dated_path_with_the_api_key_header() {
    let mock = Mock::start([Reply::json(
        200,
        &azure::completion("Hello from Azure.", 14, 5),
    )])
    .await;
    let bgw = gateway(&mock.url());

    let resp = bgw.client().hello("azure/gpt-4o", false).await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    assert_eq!(body["type"], "message");
    assert_eq!(body["model"], "azure/gpt-4o");
    assert_eq!(
        body["content"],
        json!([{"type": "text", "text": "Hello from Azure."}])
    );
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(
        (
            body["usage"]["input_tokens"].as_u64(),
            body["usage"]["output_tokens"].as_u64()
        ),
        (Some(14), Some(5))
    );

    let up = mock.only_request();
    assert_eq!(up.method, "POST");
    assert_eq!(
        up.path,
        "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(up.header("api-key"), Some(KEY));
    assert_eq!(up.header("authorization"), None);
    let sent = up.json();
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(
        sent["messages"][1],
        json!({"role": "user", "content": "Say hello."})
    );
}

#[tokio::test]
async fn the_api_version_in_the_base_url_is_used() {
    let mock = Mock::start([Reply::json(200, &azure::completion("ok", 1, 1))]).await;
    let bgw = gateway(&format!("{}?api-version=2025-04-01-preview", mock.url()));
    let resp = bgw.client().hello("azure/o4-mini", false).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        mock.only_request().path,
        "/openai/deployments/o4-mini/chat/completions?api-version=2025-04-01-preview"
    );
}

#[tokio::test]
async fn a_v1_base_url_sends_the_deployment_as_the_body_model() {
    let mock = Mock::start([Reply::json(200, &azure::completion("ok", 1, 1))]).await;
    let bgw = gateway(&mock.at("/openai/v1"));
    let resp = bgw.client().hello("azure/my-gpt5-deployment", false).await;
    assert_eq!(resp.status, 200);
    let up = mock.only_request();
    assert_eq!(up.path, "/openai/v1/chat/completions");
    assert_eq!(up.header("api-key"), Some(KEY));
    assert_eq!(up.json()["model"], "my-gpt5-deployment");
}

#[tokio::test]
async fn an_azure_stream_with_filter_only_chunks_is_translated() {
    let mut upstream = azure::prompt_filter_chunk();
    upstream.push_str(&azure::chunk(
        json!({"content": "", "refusal": null, "role": "assistant"}),
        None,
    ));
    for piece in ["Hello", " from", " Azure."] {
        upstream.push_str(&azure::chunk(json!({"content": piece}), None));
    }
    upstream.push_str(&azure::chunk(json!({}), Some("stop")));
    upstream.push_str(&azure::trailing_filter_chunk());
    upstream.push_str(&azure::usage(14, 8));
    upstream.push_str(sse::openai::DONE);
    let mock = Mock::start([Reply::sse(sse::split(upstream.as_bytes(), &[50, 13, 200]))]).await;
    let bgw = gateway(&mock.url());

    let resp = bgw.client().hello("azure/gpt-4o", true).await;
    assert_eq!(resp.status, 200);
    let events = resp.sse().all().await;
    assert_eq!(names(&events), one_block_names(3));
    assert_eq!(text_of(&events, 0), "Hello from Azure.");
    let delta = message_delta(&events);
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["input_tokens"], 14);
    assert_eq!(delta["usage"]["output_tokens"], 8);

    let up = mock.only_request();
    assert_eq!(
        up.path,
        "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(up.json()["stream"], true);
}

#[tokio::test]
async fn a_filtered_prompt_is_a_400_with_azures_message() {
    let mock = Mock::start([Reply::json(400, &azure::content_filter_error())]).await;
    let bgw = gateway(&mock.url());
    let resp = bgw.client().hello("azure/gpt-4o", false).await;
    let msg = expect_error(resp, 400, "invalid_request_error").await;
    assert_contains(&msg, "azure: The response was filtered");
}

#[tokio::test]
async fn a_claude_deployment_goes_to_foundrys_anthropic_endpoint() {
    let mock = Mock::start([Reply::json(
        200,
        &anthropic::message("claude-haiku-4-5", "Hi from Foundry."),
    )])
    .await;
    let bgw = gateway(&mock.url());
    let body = r#"{"model":"azure/claude-haiku-4-5","max_tokens":512,"messages":[{"role":"user","content":"Hi"}],"thinking":{"type":"enabled","budget_tokens":1024}}"#;
    let headers = [
        ("anthropic-version", "2023-06-01"),
        ("anthropic-beta", "interleaved-thinking-2025-05-14"),
    ];

    let resp = bgw.client().post("/v1/messages", &headers, body).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json().await["content"][0]["text"], "Hi from Foundry.");

    let up = mock.only_request();
    assert_eq!(up.path, "/anthropic/v1/messages");
    assert_eq!(up.header("api-key"), Some(KEY));
    assert_eq!(up.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        up.header("anthropic-beta"),
        Some("interleaved-thinking-2025-05-14")
    );
    assert_eq!(
        up.text(),
        body.replacen("azure/claude-haiku-4-5", "claude-haiku-4-5", 1)
    );
}

#[tokio::test]
async fn a_claude_deployment_streams_through_unchanged() {
    let stream = anthropic::text_stream("claude-haiku-4-5", "Streamed from Foundry.");
    let mock = Mock::start([Reply::sse(sse::split(stream.as_bytes(), &[64, 3]))]).await;
    let bgw = gateway(&mock.at("/anthropic"));
    let body = r#"{"model":"azure/claude-haiku-4-5","max_tokens":512,"messages":[{"role":"user","content":"Hi"}],"stream":true}"#;
    let resp = bgw
        .client()
        .post("/v1/messages", &[("anthropic-version", "2023-06-01")], body)
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(String::from_utf8_lossy(&resp.bytes().await), stream);
    assert_eq!(mock.only_request().path, "/anthropic/v1/messages");
}
