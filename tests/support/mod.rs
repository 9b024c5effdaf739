//! Shared library for the integration tests that run the real `bgw` binary.
//!
//! - [`mock`]: a programmable HTTP/1.1 upstream on 127.0.0.1:0 that records every request;
//! - [`bgw`]: a `bgw serve` child process with its own temp data dir, killed on drop;
//! - [`claude`]: the real Claude Code CLI, its HOME, and a tmux driver;
//! - [`clouds`]: Vertex's and Bedrock's mock parts (token endpoint, event-stream, SigV4);
//! - [`client`]: a small HTTP client that reads streams incrementally and can hang up;
//! - [`sse`]: Anthropic SSE parsing and the upstream wire formats the mocks speak.
//!
//! Each test file pulls this in with `mod support;` and uses a part of it.
#![allow(
    dead_code,
    unused_imports,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod bgw;
pub mod claude;
pub mod client;
pub mod clouds;
pub mod files;
pub mod mock;
pub mod sse;

pub use bgw::Bgw;
pub use client::{Client, Response, SseStream};
pub use mock::{Mock, Recorded, Reply};
pub use sse::{Event, anthropic, openai};

use std::time::Duration;

/// The longest any single step of a test may take before it fails instead of hanging.
pub const STEP: Duration = Duration::from_secs(5);

use serde_json::{Value, json};

/// A small Messages request, shaped as Claude Code sends them (system blocks, a user turn).
pub fn messages_request(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are terse."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}],
        "stream": stream
    })
}

/// A request offering one tool, as Claude Code does.
pub fn tool_request(model: &str, stream: bool) -> Value {
    let mut v = messages_request(model, stream);
    v["tools"] = json!([{
        "name": "Bash",
        "description": "Run a shell command",
        "input_schema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"command": {"type": "string"}, "timeout": {"type": "number"}},
            "required": ["command"],
            "additionalProperties": false
        }
    }]);
    v
}

/// Asserts an Anthropic error response (status, `error.type`, shape); returns its message.
pub async fn expect_error(resp: Response, status: u16, kind: &str) -> String {
    let got_status = resp.status;
    let content_type = resp.header("content-type").unwrap_or("").to_owned();
    let body = resp.json().await;
    assert_eq!(
        (
            got_status,
            body["type"].as_str(),
            body["error"]["type"].as_str()
        ),
        (status, Some("error"), Some(kind)),
        "unexpected error response: {body}"
    );
    assert_eq!(content_type, "application/json");
    body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("error without a message: {body}"))
        .to_owned()
}

/// Asserts that `haystack` contains `needle`, showing both when it does not.
#[track_caller]
pub fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected {needle:?} in {haystack:?}"
    );
}

/// Asserts the stream ended with an `error` event of `kind` mentioning `needle`; returns its message.
#[track_caller]
pub fn expect_error_event(events: &[Event], kind: &str, needle: &str) -> String {
    let last = events
        .last()
        .unwrap_or_else(|| panic!("the stream sent no event"));
    assert_eq!(last.event, "error", "{events:#?}");
    let err = last.json();
    assert_eq!(
        (err["type"].as_str(), err["error"]["type"].as_str()),
        (Some("error"), Some(kind)),
        "unexpected error event: {err}"
    );
    let message = err["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("error event without a message: {err}"))
        .to_owned();
    assert_contains(&message, needle);
    message
}
