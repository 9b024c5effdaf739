//! What keeps a running gateway safe and current: browsers and rebound host names are
//! refused, keys added while it runs are used at once, and a finished stream ends even
//! when the upstream keeps its connection open.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;
use support::bgw::command;
use support::mock::Part;
use support::sse::{anthropic, names, openai};
use support::{Bgw, Mock, Reply, assert_contains, expect_error, messages_request};

#[tokio::test]
async fn requests_from_a_web_page_are_refused() {
    let bgw = Bgw::start_bare();
    let body = serde_json::to_vec(&messages_request("openai/gpt-5", false)).unwrap();

    let resp = bgw
        .client()
        .post(
            "/v1/messages",
            &[("origin", "https://attacker.example")],
            body.clone(),
        )
        .await;
    let message = expect_error(resp, 403, "permission_error").await;
    assert_contains(&message, "does not answer browsers");

    let resp = bgw
        .client()
        .post(
            "/v1/messages",
            &[("host", "rebound.attacker.example:80")],
            body,
        )
        .await;
    let message = expect_error(resp, 403, "permission_error").await;
    assert_contains(&message, "rebound.attacker.example");
}

#[tokio::test]
async fn a_key_added_while_the_gateway_runs_is_used_without_a_restart() {
    let upstream = Mock::start([openai::reply("llama-3.3-70b-versatile", "hello", 10, 2)]).await;
    let bgw = Bgw::start_bare();
    let request = messages_request("groq/llama-3.3-70b-versatile", false);
    let before = bgw.client().messages(&request).await;
    expect_error(before, 401, "authentication_error").await;

    let added = command(bgw.data_dir())
        .args([
            "keys",
            "add",
            "groq",
            "--value",
            "gsk-test-reload-000000",
            "--base-url",
            &upstream.at("/openai/v1"),
        ])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    tokio::time::sleep(Duration::from_millis(400)).await;

    let after = bgw.client().messages(&request).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.json().await["content"][0]["text"], "hello");
    assert_eq!(
        upstream.only_request().header("authorization"),
        Some("Bearer gsk-test-reload-000000")
    );
}

#[tokio::test]
async fn a_finished_stream_ends_even_if_the_upstream_keeps_the_connection_open() {
    let upstream = Mock::start([Reply::sse_parts(vec![
        Part::Bytes(anthropic::text_stream("claude-sonnet-4-5", "done").into()),
        Part::Hang,
    ])])
    .await;
    let bgw = Bgw::setup()
        .provider("anthropic", Some("sk-ant-test-hang-0000"), &upstream.url())
        .serve_args(&["--upstream-timeout", "60"])
        .start();

    let events = bgw.client().hello_events("claude-sonnet-4-5").await;

    assert_eq!(names(&events).last().copied(), Some("message_stop"));
    assert!(
        upstream
            .wait_for_hangup(Duration::from_secs(2))
            .await
            .is_some(),
        "bgw let go of the upstream"
    );
}

#[tokio::test]
async fn a_finished_openai_stream_ends_at_done_even_if_the_connection_stays_open() {
    let upstream = Mock::start([Reply::sse_parts(vec![
        Part::Bytes(openai::text_stream("gpt-4.1", &["hi"], 5, 1).into()),
        Part::Hang,
    ])])
    .await;
    let bgw = Bgw::setup()
        .provider("openai", Some("sk-test-hang-00000000"), &upstream.at("/v1"))
        .serve_args(&["--upstream-timeout", "60"])
        .start();

    let events = bgw.client().hello_events("openai/gpt-4.1").await;

    assert_eq!(names(&events).last().copied(), Some("message_stop"));
}
