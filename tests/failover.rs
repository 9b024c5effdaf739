//! Failover, end to end: the real `bgw serve` with mock upstreams that fail in each way
//! (refused connection, 503 then success, 429 with retry-after, a hang past the first-byte
//! limit, a 404 on `/responses`), checking which upstream served each request, what the
//! client saw, and what the request log's row says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::bgw::log_rows as rows;
use support::mock::closed_port;
use support::sse::names;
use support::{Bgw, Mock, Reply, assert_contains, expect_error, messages_request, openai};

const MODEL: &str = "gpt-4o-mini";
const REQUESTED: &str = "openai/gpt-4o-mini";
/// A weight that makes a key the first choice all but once in a million.
const FIRST: &str = "1000000";

/// A gateway with two keys of `openai`: `a` (chosen first) and `b`, each at its own base URL.
fn two_keys(a_url: &str, b_url: &str, serve_args: &[&str]) -> Bgw {
    Bgw::setup()
        .key(&[
            "openai",
            "--name",
            "a",
            "--value",
            "sk-test-a-0000000000",
            "--base-url",
            a_url,
            "--weight",
            FIRST,
        ])
        .key(&[
            "openai",
            "--name",
            "b",
            "--value",
            "sk-test-b-0000000000",
            "--base-url",
            b_url,
        ])
        .serve_args(serve_args)
        .start()
}

fn served(text: &str) -> Reply {
    openai::reply(MODEL, text, 12, 3)
}

fn streamed(text: &str) -> Reply {
    Reply::sse([openai::text_stream(MODEL, &[text], 12, 3)])
}

/// Each attempt of a row as `key status-or-error`.
fn attempts(row: &Value) -> Vec<String> {
    row["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let what = match a["status"].as_u64() {
                Some(s) => s.to_string(),
                None => "no answer".into(),
            };
            format!("{} {what}", a["key"].as_str().unwrap_or("-"))
        })
        .collect()
}

#[tokio::test]
async fn a_refused_connection_moves_to_the_providers_other_key() {
    let b = Mock::start([served("Hello from b.")]).await;
    let bgw = two_keys(
        &format!("http://127.0.0.1:{}/v1", closed_port()),
        &b.at("/v1"),
        &[],
    );
    let resp = bgw.client().hello(REQUESTED, false).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-bgw-provider"), Some("openai"));
    assert_eq!(resp.header("x-bgw-model"), Some(MODEL));
    let body = resp.json().await;
    assert_eq!(body["content"][0]["text"], "Hello from b.");
    let row = &rows(bgw.data_dir(), 1)[0];
    assert_eq!(attempts(row), ["a no answer", "b 200"]);
    assert_contains(
        row["attempts"][0]["error"].as_str().unwrap(),
        "cannot reach",
    );
    assert_eq!(row["key"], "b", "the row names the key that answered");
}

#[tokio::test]
async fn a_503_is_tried_again_and_its_second_answer_served() {
    let mock = Mock::start([
        Reply::json(
            503,
            &openai::error("The server is overloaded", "server_error", None),
        ),
        streamed("Hello."),
    ])
    .await;
    let bgw = Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &mock.at("/v1"))
        .start();
    let events = bgw.client().hello_events(REQUESTED).await;
    assert_eq!(names(&events).last(), Some(&"message_stop"));
    assert_eq!(names(&events).iter().filter(|n| **n == "error").count(), 0);
    assert_eq!(mock.requests().len(), 2);
    assert_eq!(
        attempts(&rows(bgw.data_dir(), 1)[0]),
        ["openai 503", "openai 200"]
    );
}

#[tokio::test]
async fn a_429_cools_its_key_and_the_sibling_carries_the_load() {
    let limited = || {
        Reply::json(
            429,
            &openai::error(
                "Rate limit reached",
                "requests",
                Some("rate_limit_exceeded"),
            ),
        )
        .header("retry-after", "30")
    };
    let a = Mock::answering(move |_| limited()).await;
    let b = Mock::answering(|_| served("Hello from b.")).await;
    let bgw = two_keys(&a.at("/v1"), &b.at("/v1"), &[]);
    for _ in 0..5 {
        let resp = bgw.client().hello(REQUESTED, false).await;
        assert_eq!(resp.status, 200);
    }
    assert_eq!(
        a.requests().len(),
        1,
        "key a cools for its retry-after of 30 s"
    );
    assert_eq!(b.requests().len(), 5);
}

#[tokio::test]
async fn a_hang_past_the_first_byte_limit_moves_on() {
    let a = Mock::start([Reply::Hang]).await;
    let b = Mock::start([streamed("Hello from b.")]).await;
    let bgw = two_keys(&a.at("/v1"), &b.at("/v1"), &["--first-byte-timeout", "1"]);
    let events = bgw.client().hello_events(REQUESTED).await;
    assert_eq!(names(&events).last(), Some(&"message_stop"));
    let row = &rows(bgw.data_dir(), 1)[0];
    assert_eq!(attempts(row), ["a no answer", "b 200"]);
    assert_contains(
        row["attempts"][0]["error"].as_str().unwrap(),
        "--first-byte-timeout",
    );
}

#[tokio::test]
async fn a_400_is_not_tried_elsewhere() {
    let a = Mock::start([Reply::json(
        400,
        &openai::error("Invalid 'messages'", "invalid_request_error", None),
    )])
    .await;
    let b = Mock::start([served("never")]).await;
    let bgw = two_keys(&a.at("/v1"), &b.at("/v1"), &[]);
    let resp = bgw.client().hello(REQUESTED, false).await;
    expect_error(resp, 400, "invalid_request_error").await;
    assert_eq!(b.requests().len(), 0);
}

#[tokio::test]
async fn a_proxy_without_the_responses_api_is_spoken_to_in_chat_completions_from_then_on() {
    let mock = Mock::answering(|r| {
        if r.path.ends_with("/responses") {
            Reply::json(404, &json!({"error": {"message": "Not Found"}}))
        } else {
            openai::reply("gpt-5", "Hello.", 12, 3)
        }
    })
    .await;
    let bgw = Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &mock.at("/v1"))
        .start();
    for _ in 0..2 {
        let resp = bgw.client().hello("openai/gpt-5", false).await;
        assert_eq!(resp.status, 200);
    }
    let paths: Vec<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/responses",
            "/v1/chat/completions",
            "/v1/chat/completions"
        ]
    );
    let first = &rows(bgw.data_dir(), 2)[1];
    assert_contains(
        first["attempts"][0]["error"].as_str().unwrap(),
        "answered 404 to the Responses API",
    );
}

#[tokio::test]
async fn when_every_target_cools_down_the_client_gets_a_529_naming_the_soonest() {
    let mock = Mock::answering(|_| {
        Reply::json(
            503,
            &openai::error("The server is overloaded", "server_error", None),
        )
    })
    .await;
    let bgw = Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &mock.at("/v1"))
        .serve_args(&["--max-attempts", "3"])
        .start();
    // Three failures in a row open the breaker.
    let resp = bgw.client().hello(REQUESTED, false).await;
    expect_error(resp, 503, "overloaded_error").await;
    assert_eq!(mock.requests().len(), 3);
    let resp = bgw.client().hello(REQUESTED, false).await;
    let retry_after: u64 = resp.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (20..=30).contains(&retry_after),
        "retry-after {retry_after}"
    );
    let msg = expect_error(resp, 529, "overloaded_error").await;
    assert_contains(
        &msg,
        "every target for `openai/gpt-4o-mini` is cooling down",
    );
    assert_contains(&msg, "The server is overloaded");
    assert_eq!(mock.requests().len(), 3, "a cooling target is not asked");
}

#[tokio::test]
async fn a_session_keeps_its_key_across_fifty_turns_of_a_weighted_split() {
    let a = Mock::answering(|_| served("a")).await;
    let b = Mock::answering(|_| served("b")).await;
    let bgw = Bgw::setup()
        .key(&[
            "openai",
            "--name",
            "a",
            "--value",
            "sk-test-a-0000000000",
            "--base-url",
            &a.at("/v1"),
            "--weight",
            "70",
        ])
        .key(&[
            "openai",
            "--name",
            "b",
            "--value",
            "sk-test-b-0000000000",
            "--base-url",
            &b.at("/v1"),
            "--weight",
            "30",
        ])
        .start();
    let body = messages_request(REQUESTED, false).to_string();
    let session = [(
        "x-claude-code-session-id",
        "5f1c9a52-1f7e-4c2b-9d36-0c1e4f1b2a77",
    )];
    for _ in 0..50 {
        let resp = bgw
            .client()
            .post("/v1/messages", &session, body.clone())
            .await;
        assert_eq!(resp.status, 200);
    }
    let (on_a, on_b) = (a.requests().len(), b.requests().len());
    assert!(
        (on_a, on_b) == (50, 0) || (on_a, on_b) == (0, 50),
        "one session, one key: {on_a} on a, {on_b} on b"
    );
    // Requests of no session spread by weight.
    for _ in 0..40 {
        bgw.client().post("/v1/messages", &[], body.clone()).await;
    }
    assert!(a.requests().len() > on_a && b.requests().len() > on_b);
}

#[tokio::test]
async fn a_stream_whose_first_event_is_overloaded_moves_on_unseen() {
    let overloaded = format!(
        "event: error\ndata: {}\n\n",
        support::anthropic::error("overloaded_error", "Overloaded")
    );
    let a = Mock::start([Reply::sse([overloaded])]).await;
    let b = Mock::start([Reply::sse([support::anthropic::text_stream(
        "claude-sonnet-4-5",
        "Hello from b.",
    )])])
    .await;
    let bgw = Bgw::setup()
        .key(&[
            "anthropic",
            "--name",
            "a",
            "--value",
            "sk-ant-test-a-000000",
            "--base-url",
            &a.url(),
            "--weight",
            FIRST,
        ])
        .key(&[
            "anthropic",
            "--name",
            "b",
            "--value",
            "sk-ant-test-b-000000",
            "--base-url",
            &b.url(),
        ])
        .start();
    let events = bgw.client().hello_events("claude-sonnet-4-5").await;
    assert!(!names(&events).contains(&"error"), "{:?}", names(&events));
    assert_eq!(support::sse::text_of(&events, 0), "Hello from b.");
    let row = &rows(bgw.data_dir(), 1)[0];
    assert_eq!(attempts(row), ["a 200", "b 200"]);
    assert_contains(row["attempts"][0]["error"].as_str().unwrap(), "Overloaded");
}

#[tokio::test]
async fn a_request_that_fails_everywhere_is_logged_under_the_last_target_tried() {
    let a =
        Mock::answering(|_| Reply::json(503, &openai::error("down", "server_error", None))).await;
    let b = Mock::answering(|_| Reply::json(503, &openai::error("down too", "server_error", None)))
        .await;
    let bgw = two_keys(&a.at("/v1"), &b.at("/v1"), &["--max-attempts", "2"]);
    let resp = bgw.client().hello(REQUESTED, false).await;
    let msg = expect_error(resp, 503, "overloaded_error").await;
    assert_contains(&msg, "down too");
    let row = &rows(bgw.data_dir(), 1)[0];
    assert_eq!(attempts(row), ["a 503", "b 503"]);
    assert_eq!(row["key"], "b");
}

#[tokio::test]
async fn with_no_other_target_a_slow_first_byte_is_waited_for() {
    // A local model loading: the answer's headers come after the first-byte limit.
    let slow = Reply::sse_parts(vec![
        support::mock::Part::Sleep(Duration::from_millis(1500)),
        support::mock::Part::Bytes(openai::text_stream(MODEL, &["Loaded."], 12, 3).into()),
    ]);
    let mock = Mock::start([slow]).await;
    let bgw = Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &mock.at("/v1"))
        .serve_args(&["--first-byte-timeout", "1"])
        .start();
    let events = bgw.client().hello_events(REQUESTED).await;
    assert_eq!(support::sse::text_of(&events, 0), "Loaded.");
    assert_eq!(mock.requests().len(), 1, "waited for, not sent again");
}
