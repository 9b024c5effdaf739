//! Failures, end to end: upstream error statuses, timeouts, unreachable upstreams,
//! streams that break after they began, and clients that hang up mid-stream.
//! The real `bgw serve` runs against a mock OpenAI upstream on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};
use support::mock::{Part, closed_port};
use support::sse::{self, names, text_of};
use support::{Bgw, Mock, Reply, assert_contains, expect_error, expect_error_event, openai};

const MODEL: &str = "gpt-4o-mini";
const REQUESTED: &str = "openai/gpt-4o-mini";

/// A gateway that tries each request once: these tests are of how one failure reads
/// (tries again and failover are tests/failover.rs).
fn gateway_at(base_url: &str, serve_args: &[&str]) -> Bgw {
    let once = ["--max-attempts", "1"];
    Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), base_url)
        .serve_args(&[&once[..], serve_args].concat())
        .start()
}

fn gateway(mock: &Mock) -> Bgw {
    gateway_at(&mock.at("/v1"), &[])
}

/// Sends the same upstream error to a non-streamed and a streamed request; both must get
/// the Anthropic error JSON with `status` before any stream begins. Returns both messages.
async fn upstream_error(status: u16, body: &serde_json::Value, kind: &str) -> [String; 2] {
    let mock = Mock::start([Reply::json(status, body), Reply::json(status, body)]).await;
    // A gateway each: the first failure must not cool the key for the second request.
    let (first, second) = (gateway(&mock), gateway(&mock));
    // Claude Code retries 408/409/429 and 5xx; other 4xx will not fix themselves.
    let should_retry = if matches!(status, 400..=499) && !matches!(status, 408 | 409 | 429) {
        Some("false")
    } else {
        None
    };
    let plain = first.client().hello(REQUESTED, false).await;
    assert_eq!(plain.header("x-should-retry"), should_retry);
    let plain = expect_error(plain, status, kind).await;
    let streamed = second.client().hello(REQUESTED, true).await;
    assert_ne!(streamed.header("content-type"), Some("text/event-stream"));
    assert_eq!(streamed.header("x-should-retry"), should_retry);
    let streamed = expect_error(streamed, status, kind).await;
    assert_eq!(mock.requests().len(), 2);
    [plain, streamed]
}

#[tokio::test]
async fn upstream_400_keeps_its_message_prefixed_with_the_provider() {
    let message = "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.";
    let body = openai::error(message, "invalid_request_error", Some("invalid_value"));
    for got in upstream_error(400, &body, "invalid_request_error").await {
        assert_eq!(got, format!("openai: {message}"));
    }
}

#[tokio::test]
async fn an_upstream_context_overflow_reads_as_anthropics_prompt_is_too_long() {
    // Claude Code compacts on this exact sentence, reading the two numbers from it.
    let message = "This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.";
    let body = openai::error(
        message,
        "invalid_request_error",
        Some("context_length_exceeded"),
    );
    for got in upstream_error(400, &body, "invalid_request_error").await {
        assert_eq!(got, "prompt is too long: 130532 tokens > 128000 maximum");
    }
}

#[tokio::test]
async fn upstream_401_is_an_authentication_error() {
    let body = openai::error(
        "Incorrect API key provided: sk-test-****0000. You can find your API key at https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        Some("invalid_api_key"),
    );
    for got in upstream_error(401, &body, "authentication_error").await {
        assert_contains(&got, "openai: Incorrect API key provided");
    }
}

#[tokio::test]
async fn upstream_429_is_a_rate_limit_error() {
    let body = openai::error(
        "Rate limit reached for gpt-4o-mini in organization org-123 on tokens per min (TPM): Limit 200000, Used 199800, Requested 900. Please try again in 210ms.",
        "tokens",
        Some("rate_limit_exceeded"),
    );
    for got in upstream_error(429, &body, "rate_limit_error").await {
        assert_contains(&got, "openai: Rate limit reached for gpt-4o-mini");
    }
}

#[tokio::test]
async fn upstream_429_retry_after_reaches_the_client() {
    // Claude Code reads `retry-after` (integer seconds) to pace its retries.
    let body = openai::error(
        "Rate limit reached",
        "requests",
        Some("rate_limit_exceeded"),
    );
    let mock = Mock::start([Reply::json(429, &body).header("retry-after", "7")]).await;
    let bgw = gateway(&mock);
    let resp = bgw.client().hello(REQUESTED, false).await;
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("7"));
}

#[tokio::test]
async fn spent_quota_is_not_reported_as_a_retryable_rate_limit() {
    // OpenAI answers 429 `insufficient_quota` when the account has no credit: retrying
    // cannot help, so it must not reach Claude Code as a rate limit it will retry.
    let body = openai::error(
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        Some("insufficient_quota"),
    );
    let mock = Mock::start([Reply::json(429, &body)]).await;
    let bgw = gateway(&mock);
    let resp = bgw.client().hello(REQUESTED, false).await;
    let msg = expect_error(resp, 402, "billing_error").await;
    assert_contains(&msg, "exceeded your current quota");
}

#[tokio::test]
async fn upstream_500_is_an_api_error_with_its_status() {
    let body = openai::error(
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    );
    for got in upstream_error(500, &body, "api_error").await {
        assert_contains(&got, "openai: The server had an error");
    }
}

#[tokio::test]
async fn upstream_503_is_overloaded_with_its_status() {
    let body = openai::error(
        "The engine is currently overloaded, please try again later.",
        "server_error",
        None,
    );
    for got in upstream_error(503, &body, "overloaded_error").await {
        assert_contains(&got, "openai: The engine is currently overloaded");
    }
}

#[tokio::test]
async fn an_upstream_error_that_is_not_json_is_quoted() {
    let mock = Mock::start([Reply::body(
        502,
        "text/html",
        "<html><body>502 Bad Gateway</body></html>",
    )])
    .await;
    let bgw = gateway(&mock);
    let resp = bgw.client().hello(REQUESTED, false).await;
    let msg = expect_error(resp, 502, "api_error").await;
    assert_contains(&msg, "openai: ");
    assert_contains(&msg, "502 Bad Gateway");
}

#[tokio::test]
async fn a_silent_upstream_times_out_with_a_504() {
    let mock = Mock::start([Reply::Hang, Reply::Hang]).await;
    let bgw = gateway_at(&mock.at("/v1"), &["--upstream-timeout", "1"]);
    let client = bgw.client();
    for stream in [false, true] {
        let started = Instant::now();
        let resp = client.hello(REQUESTED, stream).await;
        let elapsed = started.elapsed();
        let msg = expect_error(resp, 504, "timeout_error").await;
        assert_contains(&msg, "openai");
        assert_contains(&msg, "--upstream-timeout");
        assert!(
            elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3),
            "timed out after {elapsed:?}"
        );
    }
}

#[tokio::test]
async fn a_stream_that_goes_silent_ends_with_a_timeout_error_event() {
    let mut parts = openai::opening_parts(MODEL, "Thinking");
    parts.push(Part::Hang);
    let mock = Mock::start([Reply::sse_parts(parts)]).await;
    let bgw = gateway_at(&mock.at("/v1"), &["--upstream-timeout", "1"]);
    let events = bgw.client().hello_events(REQUESTED).await;
    expect_error_event(&events, "timeout_error", "openai");
    assert_eq!(text_of(&events, 0), "Thinking");
    assert!(!names(&events).contains(&"message_stop"));
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_5xx_naming_the_provider() {
    let port = closed_port();
    let bgw = gateway_at(&format!("http://127.0.0.1:{port}/v1"), &[]);
    let client = bgw.client();
    for stream in [false, true] {
        let resp = client.hello(REQUESTED, stream).await;
        assert!((500..600).contains(&resp.status), "status {}", resp.status);
        let status = resp.status;
        let msg = expect_error(resp, status, "api_error").await;
        assert_contains(&msg, "openai");
        assert_contains(&msg, &format!("127.0.0.1:{port}"));
    }
}

#[tokio::test]
async fn an_error_chunk_mid_stream_becomes_an_error_event() {
    let mut upstream = openai::opening(MODEL, "Partial");
    upstream.push_str(&openai::text(MODEL, " answer"));
    upstream.push_str(&openai::frame(&openai::error(
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    )));
    let mock = Mock::start([Reply::sse(sse::split(upstream.as_bytes(), &[31, 8]))]).await;
    let bgw = gateway(&mock);
    let resp = bgw.client().hello(REQUESTED, true).await;
    assert_eq!(resp.status, 200);
    let events = resp.sse().all().await;
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "error"
        ]
    );
    assert_eq!(text_of(&events, 0), "Partial answer");
    expect_error_event(&events, "api_error", "The server had an error");
}

#[tokio::test]
async fn a_connection_cut_mid_stream_becomes_an_error_event() {
    let mut parts = openai::opening_parts(MODEL, "Half a");
    parts.extend([Part::Sleep(Duration::from_millis(20)), Part::Abort]);
    let mock = Mock::start([Reply::sse_parts(parts)]).await;
    let bgw = gateway(&mock);
    let events = bgw.client().hello_events(REQUESTED).await;
    let n = names(&events);
    assert_eq!(n.last(), Some(&"error"), "{events:#?}");
    assert!(!n.contains(&"message_stop"));
    assert_eq!(text_of(&events, 0), "Half a");
    expect_error_event(&events, "api_error", "openai");
}

#[tokio::test]
async fn a_stream_that_ends_without_finish_reason_or_done_becomes_an_error_event() {
    let mock = Mock::start([Reply::sse([openai::opening(MODEL, "Cut sh")])]).await;
    let bgw = gateway(&mock);
    let events = bgw.client().hello_events(REQUESTED).await;
    let n = names(&events);
    assert_eq!(n.last(), Some(&"error"), "{events:#?}");
    assert!(!n.contains(&"message_stop") && !n.contains(&"message_delta"));
    expect_error_event(&events, "api_error", "openai");
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_stream_cancels_the_upstream_request() {
    let mut parts = vec![Part::Bytes(openai::role(MODEL).into())];
    for i in 0..40 {
        parts.push(Part::Bytes(
            openai::text(MODEL, &format!("word{i} ")).into(),
        ));
        parts.push(Part::Sleep(Duration::from_millis(100)));
    }
    parts.push(Part::Bytes(openai::finish(MODEL, "stop").into()));
    parts.push(Part::Bytes(openai::DONE.into()));
    let total_chunks = 42;
    let mock = Mock::start([Reply::sse_parts(parts)]).await;
    let bgw = gateway(&mock);
    let client = bgw.client();

    let mut stream = client.hello(REQUESTED, true).await.sse();
    loop {
        let e = stream
            .next()
            .await
            .expect("the stream ended before any text");
        if e.event == "content_block_delta" {
            break;
        }
    }
    let hung_up_at = Instant::now();
    stream.hang_up();

    let waited = mock.wait_for_hangup(Duration::from_secs(2)).await;
    assert!(
        waited.is_some(),
        "bgw kept reading the upstream stream 2 s after its client left ({} of {total_chunks} chunks sent)",
        mock.chunks_sent()
    );
    assert!(hung_up_at.elapsed() < Duration::from_secs(2));
    assert!(mock.chunks_sent() < total_chunks);
    assert_eq!(mock.completed(), 0);

    // The gateway is still fine.
    assert_eq!(client.get("/health").await.status, 200);
}
