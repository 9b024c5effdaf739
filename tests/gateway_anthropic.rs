//! Anthropic passthrough, end to end: the body goes upstream byte for byte (only `model`
//! may change), `anthropic-*` headers travel verbatim, the stored key or else the client's
//! own credential authenticates, and the response comes back unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use support::mock::Part;
use support::sse::{self, names};
use support::{Bgw, Mock, Reply, anthropic, assert_contains, expect_error, expect_error_event};

const KEY: &str = "sk-ant-test-000000";

/// A body as Claude Code writes it, with spacing, key order and fields bgw does not know.
fn claude_code_body(model: &str, stream: bool) -> String {
    format!(
        r#"{{"model":"{model}","messages":[{{"role":"user","content":[{{"type":"text","text":"Hi \u00e9 \ud83d\ude00","cache_control":{{"type":"ephemeral"}}}}]}}],
  "system":[{{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.0"}},{{"type":"text","text":"You are Claude Code.","cache_control":{{"type":"ephemeral","ttl":"1h"}}}}],
  "tools":[{{"name":"Bash","description":"Run","input_schema":{{"type":"object","properties":{{}}}},"defer_loading":false}}],
  "metadata":{{"user_id":"user_abc_account__session_123"}},"max_tokens":32000,"thinking":{{"type":"adaptive"}},
  "output_config":{{"effort":"high"}},"context_management":{{"edits":[]}},"stream":{stream}}}"#
    )
}

const CLIENT_HEADERS: &[(&str, &str)] = &[
    ("anthropic-version", "2023-06-01"),
    (
        "anthropic-beta",
        "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27",
    ),
    ("anthropic-dangerous-direct-browser-access", "true"),
    ("user-agent", "claude-cli/2.1.0 (external, cli)"),
    ("x-app", "cli"),
];

fn gateway_with_key(mock: &Mock) -> Bgw {
    Bgw::keyed("anthropic", Some(KEY), &mock.url())
}

/// [`gateway_with_key`] that tries each request at most `attempts` times.
fn gateway_trying(mock: &Mock, attempts: &str) -> Bgw {
    Bgw::setup()
        .provider("anthropic", Some(KEY), &mock.url())
        .serve_args(&["--max-attempts", attempts])
        .start()
}

/// `POST path` as Claude Code sends it: its headers and its body for `model`.
async fn claude_code(bgw: &Bgw, path: &str, model: &str, stream: bool) -> support::Response {
    bgw.client()
        .post(path, CLIENT_HEADERS, claude_code_body(model, stream))
        .await
}

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    CLIENT_HEADERS.iter().chain(extra).copied().collect()
}

#[tokio::test]
async fn a_bare_claude_model_passes_through_byte_for_byte_with_the_stored_key() {
    let answer =
        serde_json::to_vec(&anthropic::message("claude-sonnet-4-5-20250929", "Hello!")).unwrap();
    let mock = Mock::start([Reply::body(200, "application/json", answer.clone())]).await;
    let bgw = gateway_with_key(&mock);
    let body = claude_code_body("claude-sonnet-4-5", false);
    let headers = with(&[("x-api-key", "sk-ant-client-should-not-travel")]);

    let resp = bgw
        .client()
        .post("/v1/messages?beta=true", &headers, body.clone())
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.bytes().await,
        answer,
        "the response body comes back unchanged"
    );

    let up = mock.only_request();
    assert_eq!(up.method, "POST");
    assert_eq!(up.path, "/v1/messages?beta=true");
    assert_eq!(up.text(), body, "the body is forwarded byte for byte");
    assert_eq!(up.header("x-api-key"), Some(KEY));
    assert_eq!(up.headers.get_all("x-api-key").iter().count(), 1);
    assert_eq!(up.header("authorization"), None);
    for (name, value) in CLIENT_HEADERS
        .iter()
        .filter(|(n, _)| n.starts_with("anthropic-"))
    {
        assert_eq!(
            up.header(name),
            Some(*value),
            "{name} is forwarded verbatim"
        );
    }
}

#[tokio::test]
async fn a_provider_prefix_is_stripped_and_only_the_model_bytes_change() {
    let mock = Mock::start([anthropic::reply("claude-haiku-4-5", "ok")]).await;
    let bgw = gateway_with_key(&mock);
    let body = claude_code_body("anthropic/claude-haiku-4-5", false);

    let resp = bgw
        .client()
        .post("/v1/messages", CLIENT_HEADERS, body.clone())
        .await;
    assert_eq!(resp.status, 200);
    let up = mock.only_request();
    assert_eq!(up.path, "/v1/messages");
    assert_eq!(
        up.text(),
        body.replacen(
            r#""model":"anthropic/claude-haiku-4-5""#,
            r#""model":"claude-haiku-4-5""#,
            1
        )
    );
}

#[tokio::test]
async fn a_streamed_answer_reaches_the_client_unchanged() {
    let stream = anthropic::text_stream("claude-sonnet-4-5-20250929", "Hello from Claude.");
    let mock = Mock::start([Reply::sse(sse::split(stream.as_bytes(), &[7, 100, 1, 33]))]).await;
    let bgw = gateway_with_key(&mock);

    let resp = claude_code(&bgw, "/v1/messages?beta=true", "claude-sonnet-4-5", true).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    let got = resp.bytes().await;
    assert_eq!(String::from_utf8_lossy(&got), stream);
    assert_eq!(mock.only_request().json()["stream"], true);
}

#[tokio::test]
async fn without_a_stored_key_the_clients_bearer_token_is_forwarded() {
    let mock = Mock::start([anthropic::reply("claude-sonnet-4-5", "hi")]).await;
    // `anthropic` with a base URL and no key: the client's own login goes there.
    let bgw = Bgw::keyed("anthropic", None, &mock.url());
    let token = "Bearer sk-ant-oat01-subscription-token";
    let resp = bgw
        .client()
        .post(
            "/v1/messages?beta=true",
            &with(&[("authorization", token)]),
            claude_code_body("claude-sonnet-4-5", false),
        )
        .await;
    assert_eq!(resp.status, 200);
    let up = mock.only_request();
    assert_eq!(up.header("authorization"), Some(token));
    assert_eq!(up.header("x-api-key"), None);
}

#[tokio::test]
async fn without_a_stored_key_the_clients_x_api_key_is_forwarded() {
    let mock = Mock::start([anthropic::reply("claude-sonnet-4-5", "hi")]).await;
    let bgw = Bgw::keyed("anthropic", None, &mock.url());
    let resp = bgw
        .client()
        .post(
            "/v1/messages",
            &with(&[("x-api-key", "sk-ant-api03-client-own-key")]),
            claude_code_body("anthropic/claude-sonnet-4-5", false),
        )
        .await;
    assert_eq!(resp.status, 200);
    let up = mock.only_request();
    assert_eq!(up.header("x-api-key"), Some("sk-ant-api03-client-own-key"));
    assert_eq!(up.header("authorization"), None);
    assert_eq!(up.header("anthropic-beta"), Some(CLIENT_HEADERS[1].1));
}

#[tokio::test]
async fn a_provider_of_your_own_never_receives_the_clients_anthropic_credential() {
    // Regression: a keyless `--compat anthropic` server got the user's Claude login.
    let mock = Mock::start([anthropic::reply("claude-sonnet-4-5", "hi")]).await;
    let bgw = Bgw::setup()
        .compat("myproxy", "anthropic", None, &mock.url())
        .start();
    let resp = bgw
        .client()
        .post(
            "/v1/messages",
            &with(&[
                ("authorization", "Bearer sk-ant-oat01-subscription-token"),
                ("x-api-key", "sk-ant-api03-client-own-key"),
            ]),
            claude_code_body("myproxy/claude-sonnet-4-5", false),
        )
        .await;
    assert_eq!(resp.status, 200);
    let up = mock.only_request();
    assert_eq!(up.header("authorization"), None);
    assert_eq!(up.header("x-api-key"), None);
}

#[tokio::test]
async fn anthropic_version_is_added_when_the_client_sent_none() {
    let mock = Mock::start([anthropic::reply("claude-sonnet-4-5", "hi")]).await;
    let bgw = gateway_with_key(&mock);
    let resp = bgw
        .client()
        .post(
            "/v1/messages",
            &[],
            claude_code_body("claude-sonnet-4-5", false),
        )
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        mock.only_request().header("anthropic-version"),
        Some("2023-06-01")
    );
}

#[tokio::test]
async fn an_anthropic_error_keeps_its_status_type_and_message() {
    let mock = Mock::start([Reply::json(
        400,
        &anthropic::error(
            "invalid_request_error",
            "max_tokens: 999999 > 64000, which is the maximum allowed",
        ),
    )])
    .await;
    let bgw = gateway_with_key(&mock);
    let resp = claude_code(&bgw, "/v1/messages", "claude-sonnet-4-5", true).await;
    let msg = expect_error(resp, 400, "invalid_request_error").await;
    assert_contains(&msg, "max_tokens: 999999 > 64000");
    assert_eq!(mock.requests().len(), 1, "a 400 is not tried again");
}

#[tokio::test]
async fn a_529_is_tried_again_and_the_last_one_reaches_the_client_as_it_was() {
    let mock = Mock::start([
        Reply::json(529, &anthropic::error("overloaded_error", "Overloaded")),
        Reply::sse([anthropic::text_stream("claude-sonnet-4-5", "Paris.")]),
    ])
    .await;
    let bgw = gateway_with_key(&mock);
    let events = claude_code(&bgw, "/v1/messages", "claude-sonnet-4-5", true)
        .await
        .sse()
        .all()
        .await;
    assert_eq!(names(&events).last().copied(), Some("message_stop"));
    assert_eq!(mock.requests().len(), 2);

    let mock =
        Mock::answering(|_| Reply::json(529, &anthropic::error("overloaded_error", "Overloaded")))
            .await;
    let bgw = gateway_trying(&mock, "2");
    let resp = claude_code(&bgw, "/v1/messages", "claude-sonnet-4-5", true).await;
    let msg = expect_error(resp, 529, "overloaded_error").await;
    assert_contains(&msg, "Overloaded");
    assert_eq!(mock.requests().len(), 2, "--max-attempts 2");
}

#[tokio::test]
async fn an_error_event_mid_stream_passes_through() {
    let mut stream = anthropic::text_stream("claude-sonnet-4-5", "Par");
    let cut = stream.find("event: content_block_stop").unwrap();
    stream.truncate(cut);
    stream.push_str(&anthropic::frame(
        &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ));
    let mock = Mock::start([Reply::sse([stream.clone()])]).await;
    let bgw = gateway_with_key(&mock);
    let resp = claude_code(&bgw, "/v1/messages", "claude-sonnet-4-5", true).await;
    assert_eq!(resp.status, 200);
    assert_eq!(String::from_utf8_lossy(&resp.bytes().await), stream);
}

#[tokio::test]
async fn a_stream_cut_before_its_content_is_tried_again_unseen() {
    let cut = vec![
        Part::Bytes(anthropic::frame(&json!({"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 3, "output_tokens": 1}}}))
        .into()),
        Part::Sleep(std::time::Duration::from_millis(10)),
        Part::Abort,
    ];
    let mock = Mock::start([
        Reply::sse_parts(cut.clone()),
        Reply::sse([anthropic::text_stream("claude-sonnet-4-5", "Paris.")]),
    ])
    .await;
    let bgw = gateway_with_key(&mock);
    let events = claude_code(&bgw, "/v1/messages", "claude-sonnet-4-5", true)
        .await
        .sse()
        .all()
        .await;
    assert_eq!(
        names(&events)
            .iter()
            .filter(|n| **n == "message_start")
            .count(),
        1
    );
    assert_eq!(names(&events).last().copied(), Some("message_stop"));

    // With no try left, the client gets the failure as an HTTP error it may retry.
    let mock = Mock::start([Reply::sse_parts(cut)]).await;
    let bgw = gateway_trying(&mock, "1");
    let resp = claude_code(&bgw, "/v1/messages", "claude-sonnet-4-5", true).await;
    let msg = expect_error(resp, 502, "api_error").await;
    assert_contains(
        &msg,
        "anthropic: the connection broke before the answer began",
    );
}

#[tokio::test]
async fn a_stream_cut_after_its_content_began_ends_with_an_error_event() {
    let mut stream = anthropic::text_stream("claude-sonnet-4-5", "Par");
    let cut = stream.find("event: content_block_stop").unwrap();
    stream.truncate(cut);
    let mock = Mock::start([Reply::sse_parts(vec![
        Part::Bytes(stream.into()),
        Part::Sleep(std::time::Duration::from_millis(10)),
        Part::Abort,
    ])])
    .await;
    let bgw = gateway_with_key(&mock);
    let events = claude_code(&bgw, "/v1/messages", "claude-sonnet-4-5", true)
        .await
        .sse()
        .all()
        .await;
    assert_eq!(names(&events).last().copied(), Some("error"));
    expect_error_event(&events, "api_error", "anthropic");
    assert_eq!(
        mock.requests().len(),
        1,
        "content reached the client: no second try"
    );
}

#[tokio::test]
async fn count_tokens_is_asked_of_anthropic_when_a_key_is_stored() {
    let mock = Mock::start([Reply::json(200, &json!({"input_tokens": 2095}))]).await;
    let bgw = gateway_with_key(&mock);
    let body = r#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hello, Claude"}],"system":"Be brief."}"#;
    let resp = bgw
        .client()
        .post("/v1/messages/count_tokens?beta=true", CLIENT_HEADERS, body)
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json().await, json!({"input_tokens": 2095}));
    let up = mock.only_request();
    assert_eq!(up.method, "POST");
    assert_eq!(up.path, "/v1/messages/count_tokens?beta=true");
    assert_eq!(up.header("x-api-key"), Some(KEY));
    assert_eq!(up.header("anthropic-beta"), Some(CLIENT_HEADERS[1].1));
    assert_eq!(up.text(), body);
}

#[tokio::test]
async fn count_tokens_falls_back_to_an_estimate_when_anthropic_cannot_count() {
    let mock = Mock::start([Reply::json(
        500,
        &anthropic::error("api_error", "Internal server error"),
    )])
    .await;
    let bgw = gateway_with_key(&mock);
    let body = json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hello, Claude"}]});
    let resp = bgw
        .client()
        .post_json("/v1/messages/count_tokens", &body)
        .await;
    assert_eq!(resp.status, 200);
    let n = resp.json().await["input_tokens"].as_u64().unwrap();
    assert!(n > 0);
    assert_eq!(mock.requests().len(), 1, "anthropic was asked first");
}

#[tokio::test]
async fn anthropics_rate_limit_and_request_id_headers_reach_the_client() {
    let reply = anthropic::reply("claude-sonnet-4-5", "hi")
        .header("request-id", "req_011CUpassthrough")
        .header("anthropic-ratelimit-unified-status", "allowed")
        .header("x-upstream-internal", "not for the client");
    let mock = Mock::start([reply]).await;
    let bgw = gateway_with_key(&mock);

    let resp = claude_code(&bgw, "/v1/messages", "claude-sonnet-4-5", false).await;

    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("request-id"), Some("req_011CUpassthrough"));
    assert_eq!(
        resp.header("anthropic-ratelimit-unified-status"),
        Some("allowed")
    );
    assert_eq!(resp.header("x-upstream-internal"), None);
}
