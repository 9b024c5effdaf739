//! What keeps a running gateway safe and current: browsers and rebound host names are
//! refused, keys added while it runs are used at once, and a finished stream ends even
//! when the upstream keeps its connection open.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use http::Method;
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
        .send(
            Method::POST,
            "/v1/messages",
            &[("origin", "https://attacker.example")],
            body.clone(),
        )
        .await;
    let message = expect_error(resp, 403, "permission_error").await;
    assert_contains(&message, "does not answer browsers");

    let resp = bgw
        .client()
        .send(
            Method::POST,
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
    let upstream = Mock::start([Reply::json(
        200,
        &openai::completion(
            "llama-3.3-70b-versatile",
            "hello",
            "stop",
            openai::usage_object(10, 2, 0),
        ),
    )])
    .await;
    let bgw = Bgw::start_bare();
    let request = messages_request("groq/llama-3.3-70b-versatile", false);
    let before = bgw.client().post_json("/v1/messages", &request).await;
    expect_error(before, 401, "authentication_error").await;

    let added = command(bgw.data_dir())
        .args([
            "keys",
            "add",
            "groq",
            "--value",
            "gsk-test-reload-000000",
            "--base-url",
            &format!("{}/openai/v1", upstream.url()),
        ])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    tokio::time::sleep(Duration::from_millis(400)).await;

    let after = bgw.client().post_json("/v1/messages", &request).await;
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
        .key(&[
            "anthropic",
            "--value",
            "sk-ant-test-hang-0000",
            "--base-url",
            &upstream.url(),
        ])
        .serve_args(&["--upstream-timeout", "60"])
        .start();

    let resp = bgw
        .client()
        .post_json("/v1/messages", &messages_request("claude-sonnet-4-5", true))
        .await;
    let events = resp.sse().all().await;

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
        Part::Bytes(openai::text_stream("gpt-5", &["hi"], 5, 1).into()),
        Part::Hang,
    ])])
    .await;
    let bgw = Bgw::setup()
        .key(&[
            "openai",
            "--value",
            "sk-test-hang-00000000",
            "--base-url",
            &format!("{}/v1", upstream.url()),
        ])
        .serve_args(&["--upstream-timeout", "60"])
        .start();

    let resp = bgw
        .client()
        .post_json("/v1/messages", &messages_request("openai/gpt-5", true))
        .await;
    let events = resp.sse().all().await;

    assert_eq!(names(&events).last().copied(), Some("message_stop"));
}
