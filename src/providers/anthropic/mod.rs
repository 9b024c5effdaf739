//! Anthropic's Messages API: the body passes through, only the model name changes.
//!
//! Also serves Claude on Azure AI Foundry and any Anthropic-format server, which
//! differ only in URL and auth header. The one exception to the byte copy is history that
//! other providers wrote and Anthropic would refuse ([`history`]).

mod cloud;
pub mod history;

pub use cloud::{Cloud, bedrock_count_body, for_cloud, from_cloud, vertex_count_body};

use serde::Deserialize;

use super::StreamDecoder;
use crate::messages::request::RequestHead;
use crate::messages::sse::{SseFrame, SseParser};
use crate::messages::{ApiError, Usage};

/// Anthropic's API.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The body for an Anthropic-format upstream: `model` replaced by `upstream_model` and every
/// other byte kept, unless the history holds what Anthropic refuses ([`history::mend`]).
pub fn prepare_body(body: &[u8], head: &RequestHead<'_>, upstream_model: &str) -> Vec<u8> {
    mended(body, upstream_model).unwrap_or_else(|| rewrite_model(body, head, upstream_model))
}

/// The body with its history mended, when it holds what Anthropic refuses; `None` when it
/// needs nothing (a cloud's encoding then reads the client's bytes as they are).
pub fn mended(body: &[u8], upstream_model: &str) -> Option<Vec<u8>> {
    if history::needs_mending(body) {
        history::mend(body, upstream_model)
    } else {
        None
    }
}

/// The body with `model` replaced by `upstream_model`; every other byte kept.
pub fn rewrite_model(body: &[u8], head: &RequestHead<'_>, upstream_model: &str) -> Vec<u8> {
    let raw = head.model.get();
    let current = serde_json::from_str::<&str>(raw).ok();
    if current == Some(upstream_model) {
        return body.to_vec();
    }
    // `raw` borrows from `body`, so its address gives its position.
    let start = raw.as_ptr() as usize - body.as_ptr() as usize;
    let end = start + raw.len();
    let quoted = serde_json::to_string(upstream_model).unwrap_or_default();
    let mut out = Vec::with_capacity(body.len() + quoted.len());
    out.extend_from_slice(&body[..start]);
    out.extend_from_slice(quoted.as_bytes());
    out.extend_from_slice(&body[end..]);
    out
}

#[derive(Deserialize)]
struct UsageOnly {
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct EventUsage<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default)]
    message: Option<UsageOnly>,
    #[serde(default)]
    usage: Option<Usage>,
}

/// The usage of a whole (non-streamed) response.
pub fn response_usage(body: &[u8]) -> Usage {
    serde_json::from_slice::<UsageOnly>(body)
        .ok()
        .and_then(|u| u.usage)
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct ErrorBody<'a> {
    #[serde(borrow)]
    error: Option<ErrorInner<'a>>,
    #[serde(default, borrow)]
    message: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ErrorInner<'a> {
    #[serde(default, borrow)]
    message: Option<std::borrow::Cow<'a, str>>,
}

/// The human message of an Anthropic-format error body.
pub fn error_message(body: &[u8]) -> String {
    let message = match serde_json::from_slice::<ErrorBody<'_>>(body) {
        Ok(ErrorBody {
            error: Some(ErrorInner { message: Some(m) }),
            ..
        })
        | Ok(ErrorBody {
            message: Some(m), ..
        }) => Some(m),
        _ => None,
    };
    // A blank message says nothing; the start of the body says more.
    match message {
        Some(m) if !m.trim().is_empty() => m.trim().to_owned(),
        _ => super::body_excerpt(body),
    }
}

/// Forwards the stream unchanged while reading its usage.
///
/// Whole events go out as soon as their blank line arrives; the event in progress is held
/// (at most [`MAX_EVENT`](crate::messages::sse::MAX_EVENT) bytes, the parser's limit), so
/// when the stream breaks the client gets the `error` event alone, never glued to half an
/// event it cannot read.
#[derive(Debug)]
pub struct PassthroughStream {
    provider: String,
    sse: SseParser,
    frames: Vec<SseFrame>,
    /// The bytes of the event in progress, not yet forwarded.
    held: Vec<u8>,
    usage: Usage,
    stopped: bool,
}

impl PassthroughStream {
    /// A passthrough of `provider`'s stream (named in the error if the stream is cut).
    pub fn new(provider: &str) -> Self {
        PassthroughStream {
            provider: provider.to_owned(),
            sse: SseParser::new(),
            frames: Vec::new(),
            held: Vec::new(),
            usage: Usage::default(),
            stopped: false,
        }
    }

    /// Ends the client's stream with `err`, unless it had ended.
    fn fail(&mut self, err: ApiError, out: &mut Vec<u8>) {
        self.held = Vec::new();
        if !self.stopped {
            self.stopped = true;
            out.extend_from_slice(&err.to_sse());
        }
    }

    fn read_frames(&mut self) {
        for frame in self.frames.drain(..) {
            // Only these events carry usage or end the stream; deltas are not parsed.
            if !matches!(
                frame.event.as_deref(),
                Some("message_start" | "message_delta" | "message_stop" | "error") | None
            ) {
                continue;
            }
            let Ok(ev) = serde_json::from_str::<EventUsage<'_>>(&frame.data) else {
                continue;
            };
            match ev.kind {
                "message_start" => {
                    if let Some(u) = ev.message.and_then(|m| m.usage) {
                        self.usage.merge_from(&u);
                    }
                }
                "message_delta" => {
                    if let Some(u) = ev.usage {
                        self.usage.merge_from(&u);
                    }
                }
                "message_stop" | "error" => self.stopped = true,
                _ => {}
            }
        }
    }
}

impl StreamDecoder for PassthroughStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let fed = self.sse.feed(chunk, &mut self.frames);
        self.read_frames();
        let whole = self.sse.whole_in_last_chunk();
        if whole > 0 {
            out.append(&mut self.held);
            out.extend_from_slice(&chunk[..whole]);
        }
        match fed {
            Ok(()) => self.held.extend_from_slice(&chunk[whole..]),
            Err(too_large) => {
                let err = too_large.to_api_error(&self.provider);
                self.fail(err, out);
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.sse.finish(&mut self.frames);
        self.read_frames();
        if self.stopped {
            // The last event, without its blank line, was the end.
            out.append(&mut self.held);
        } else {
            let err = ApiError::new(
                crate::messages::ErrorKind::Api,
                format!(
                    "{}: the stream ended before the response was complete",
                    self.provider
                ),
            );
            self.fail(err, out);
        }
    }

    fn usage(&self) -> Usage {
        self.usage
    }

    fn done(&self) -> bool {
        self.stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_model_bytes_change() {
        let body = br#"{"model" : "anthropic/claude-x", "messages":[{"role":"user","content":"model"}],"z":1}"#;
        let head = RequestHead::parse(body).unwrap();
        let out = rewrite_model(body, &head, "claude-x");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model" : "claude-x", "messages":[{"role":"user","content":"model"}],"z":1}"#
        );
    }

    #[test]
    fn unchanged_model_keeps_the_body() {
        let body = br#"{"model":"claude-x","messages":[]}"#;
        let head = RequestHead::parse(body).unwrap();
        assert_eq!(rewrite_model(body, &head, "claude-x"), body.to_vec());
    }

    #[test]
    fn passthrough_reads_usage_and_forwards_bytes() {
        let stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":42}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let mut d = PassthroughStream::new("anthropic");
        let mut out = Vec::new();
        for piece in stream.as_bytes().chunks(7) {
            d.feed(piece, &mut out);
        }
        d.finish(&mut out);
        assert_eq!(out, stream.as_bytes());
        assert_eq!(
            d.usage(),
            Usage {
                cache_creation: None,
                input_tokens: 10,
                output_tokens: 42,
                cache_read_input_tokens: 5,
                cache_creation_input_tokens: 0
            }
        );
    }

    #[test]
    fn only_whole_events_go_out() {
        let stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\nevent: ping\r\ndata: {\"type\":\"ping\"}\r\n\r\n";
        let mut d = PassthroughStream::new("anthropic");
        let mut out = Vec::new();
        for piece in stream.as_bytes().chunks(5) {
            d.feed(piece, &mut out);
            let sent = String::from_utf8_lossy(&out);
            assert!(
                sent.is_empty() || sent.ends_with("\n\n") || sent.ends_with("\r\n\r\n"),
                "half an event went out: {sent:?}"
            );
        }
        assert_eq!(out, stream.as_bytes());
    }

    #[test]
    fn an_event_too_large_ends_the_stream_with_only_the_error() {
        let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n";
        let mut d = PassthroughStream::new("anthropic");
        let mut out = Vec::new();
        d.feed(start.as_bytes(), &mut out);
        let junk = b"data: xxxxxxxxxxxxxxxxxxxxxxxx\n".repeat(2048);
        let mut fed = 0;
        d.feed(b"event: content_block_delta\n", &mut out);
        while !d.done() {
            d.feed(&junk, &mut out);
            fed += junk.len();
            assert!(d.held.len() <= crate::messages::sse::MAX_EVENT);
            assert!(fed <= 2 * crate::messages::sse::MAX_EVENT, "it never ended");
        }
        d.feed(&junk, &mut out);
        d.finish(&mut out);
        let sent = String::from_utf8_lossy(&out);
        let (before, error) = sent.split_at(start.len());
        assert_eq!(before, start);
        assert!(error.starts_with("event: error\n"), "{error:.200}");
        assert!(
            error.contains("anthropic: the upstream sent an event larger than 16 MiB"),
            "{error:.200}"
        );
        assert_eq!(
            error.matches("event:").count(),
            1,
            "one error, nothing else"
        );
    }

    #[test]
    fn a_cut_stream_ends_with_an_error_event() {
        let mut d = PassthroughStream::new("anthropic");
        let mut out = Vec::new();
        d.feed(b"event: ping\ndata: {\"type\":\"ping\"}\n\n", &mut out);
        d.finish(&mut out);
        assert!(String::from_utf8_lossy(&out).contains("event: error"));
    }

    #[test]
    fn a_last_frame_without_its_blank_line_still_ends_the_stream() {
        let mut d = PassthroughStream::new("azure");
        let mut out = Vec::new();
        d.feed(
            b"event: message_stop\ndata: {\"type\":\"message_stop\"}",
            &mut out,
        );
        d.finish(&mut out);
        assert!(d.done());
        assert!(!String::from_utf8_lossy(&out).contains("event: error"));
    }

    #[test]
    fn a_cut_stream_names_its_provider() {
        let mut d = PassthroughStream::new("azure");
        let mut out = Vec::new();
        d.finish(&mut out);
        assert!(String::from_utf8_lossy(&out).contains("azure: the stream ended"));
    }

    #[test]
    fn error_message_is_read_from_either_shape() {
        assert_eq!(
            error_message(br#"{"type":"error","error":{"type":"x","message":"bad"}}"#),
            "bad"
        );
        assert_eq!(error_message(br#"{"message":"denied"}"#), "denied");
    }

    #[test]
    fn a_blank_error_message_gives_the_body_instead() {
        // Regression: `{"error":{"message":""}}` became the error `anthropic: `, saying nothing.
        let body = br#"{"type":"error","error":{"type":"api_error","message":" \n "}}"#;
        assert_eq!(
            error_message(body),
            r#"{"type":"error","error":{"type":"api_error","message":" \n "}}"#
        );
        assert_eq!(
            error_message(br#"{"error":{"message":""}}"#),
            r#"{"error":{"message":""}}"#
        );
    }
}
