//! Nothing panics on any input: mangled requests and upstream streams go through every
//! parser and translator, and each either works or returns an error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bgw::messages::request::RequestHead;
use bgw::messages::signature::ThinkingKey;
use bgw::messages::{ApiError, ErrorKind, MessagesRequest};
use bgw::providers::gemini::{self, GeminiStream};
use bgw::providers::openai::{
    ChatStream, Quirks, ResponsesStream, decode_response, decode_responses_body, encode_request,
    encode_responses_request, error_message,
};
use bgw::providers::{StreamDecoder, anthropic::PassthroughStream};
use std::sync::Arc;

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Truncations, byte flips, deleted and duplicated spans of `input`.
fn mutations(input: &[u8], count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed);
    let noise = [
        b'"', b'\\', b'{', b'}', b'[', b']', b':', b',', 0xff, 0xc3, b'0', b'-', b'e', b'n',
    ];
    (0..count)
        .map(|_| {
            let mut v = input.to_vec();
            match rng.below(4) {
                0 => v.truncate(rng.below(input.len())),
                1 => {
                    for _ in 0..1 + rng.below(4) {
                        let i = rng.below(v.len());
                        v[i] = noise[rng.below(noise.len())];
                    }
                }
                2 => {
                    let a = rng.below(v.len());
                    let b = (a + rng.below(64)).min(v.len());
                    v.drain(a..b);
                }
                _ => {
                    let a = rng.below(v.len());
                    let b = (a + rng.below(64)).min(v.len());
                    let span = v[a..b].to_vec();
                    let at = rng.below(v.len());
                    v.splice(at..at, span);
                }
            }
            v
        })
        .collect()
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn mangled_requests_parse_translate_or_fail_cleanly() {
    let original = fixture("claude_code/request_tool_result.json");
    let mut translated = 0;
    for body in mutations(&original, 3000, 0x5eed_0001) {
        let _ = RequestHead::parse(&body).and_then(|h| h.model_name().map(|m| m.len()));
        if let Ok(req) = MessagesRequest::parse(&body) {
            for quirks in [Quirks::OPENAI, Quirks::GENERIC] {
                if encode_request(&req, "gpt-5", &quirks, true).is_ok() {
                    translated += 1;
                }
            }
            let _ = encode_responses_request(&req, "gpt-5", &Quirks::OPENAI, true, None, true);
        }
    }
    assert!(
        translated > 0,
        "some mutations stay valid and must still translate"
    );
}

#[test]
fn mangled_upstream_streams_end_in_events_or_an_error_event() {
    let stream = fixture("openai/stream_parallel_interleaved.sse");
    for (n, input) in mutations(&stream, 2000, 0x5eed_0002)
        .into_iter()
        .enumerate()
    {
        let mut rng = Rng(n as u64 + 1);
        let mut decoder = ChatStream::new("openai/gpt-5");
        let mut out = Vec::new();
        let mut rest = input.as_slice();
        while !rest.is_empty() {
            let take = 1 + rng.below(9).min(rest.len() - 1);
            decoder.feed(&rest[..take], &mut out);
            rest = &rest[take..];
        }
        decoder.finish(&mut out);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("event: message_stop") || text.contains("event: error"),
            "case {n}: the client must always learn how the stream ended:\n{text}"
        );
    }
}

#[test]
fn mangled_responses_api_streams_end_in_events_or_an_error_event() {
    for name in [
        "openai/responses_stream_reasoning.sse",
        "openai/responses_stream_tool_calls.sse",
    ] {
        for (n, input) in mutations(&fixture(name), 1000, 0x5eed_0004)
            .into_iter()
            .enumerate()
        {
            let mut rng = Rng(n as u64 + 1);
            let mut decoder = ResponsesStream::new("openai/gpt-5");
            let mut out = Vec::new();
            let mut rest = input.as_slice();
            while !rest.is_empty() {
                let take = 1 + rng.below(9).min(rest.len() - 1);
                decoder.feed(&rest[..take], &mut out);
                rest = &rest[take..];
            }
            decoder.finish(&mut out);
            let text = String::from_utf8_lossy(&out);
            assert!(
                text.contains("event: message_stop") || text.contains("event: error"),
                "{name} case {n}: the client must always learn how the stream ended:\n{text}"
            );
        }
    }
}

#[test]
fn mangled_responses_api_bodies_decode_or_fail_cleanly() {
    for body in mutations(&fixture("openai/responses_body.json"), 1000, 0x5eed_0005) {
        let _ = decode_responses_body(&body, "openai/gpt-5", None);
    }
}

#[test]
fn mangled_upstream_bodies_decode_or_fail_cleanly() {
    for name in [
        "openai/response_tool_calls.json",
        "openai/response_azure.json",
        "openai/error_429.json",
    ] {
        for body in mutations(&fixture(name), 1000, 0x5eed_0003) {
            let _ = decode_response(&body, "openai/gpt-5");
            let _ = error_message(&body);
        }
    }
}

#[test]
fn anthropic_passthrough_survives_garbage() {
    let cut = ApiError::new(
        ErrorKind::Api,
        "anthropic: the stream ended before the response was complete",
    )
    .to_sse();
    let mut rng = Rng(7);
    for _ in 0..500 {
        let junk: Vec<u8> = (0..rng.below(400)).map(|_| rng.next() as u8).collect();
        let mut d = PassthroughStream::new("anthropic");
        let mut out = Vec::new();
        d.feed(&junk, &mut out);
        d.finish(&mut out);
        // Whole events go out as sent; a torn last one is dropped, so that the client
        // reads the error alone rather than glued to half an event.
        let (forwarded, failed) = match out.strip_suffix(cut.as_slice()) {
            Some(head) => (head, true),
            None => (out.as_slice(), false),
        };
        assert!(junk.starts_with(forwarded));
        assert!(
            failed || forwarded == junk,
            "a stream that did not fail is whole"
        );
    }
}

#[test]
fn mangled_requests_translate_for_gemini_or_fail_cleanly() {
    let own = Arc::new(ThinkingKey::from_bytes(&[3; 32])).signer("gemini", "gemini-3-pro-preview");
    let mut translated = 0;
    for body in mutations(
        &fixture("claude_code/request_tool_result.json"),
        1500,
        0x5eed_0006,
    ) {
        if let Ok(req) = MessagesRequest::parse(&body) {
            for model in [
                "gemini-3-pro-preview",
                "gemini-2.5-flash",
                "gemini-2.0-flash",
            ] {
                if gemini::encode_request(&req, model, Some(&own)).is_ok() {
                    translated += 1;
                }
            }
        }
    }
    assert!(
        translated > 0,
        "some mutations stay valid and must still translate"
    );
}

#[test]
fn mangled_gemini_streams_end_in_events_or_an_error_event() {
    let key = Arc::new(ThinkingKey::from_bytes(&[3; 32]));
    for name in [
        "gemini/stream_thoughts_text.sse",
        "gemini/stream_function_calls_signed.sse",
        "gemini/stream_text_signed_last.sse",
    ] {
        for (n, input) in mutations(&fixture(name), 700, 0x5eed_0007)
            .into_iter()
            .enumerate()
        {
            let mut rng = Rng(n as u64 + 1);
            let signer = key.signer("gemini", "gemini-3-pro-preview");
            let mut decoder = GeminiStream::new("gemini/gemini-3-pro-preview", Some(signer));
            let mut out = Vec::new();
            let mut rest = input.as_slice();
            while !rest.is_empty() {
                let take = 1 + rng.below(9).min(rest.len() - 1);
                decoder.feed(&rest[..take], &mut out);
                rest = &rest[take..];
            }
            decoder.finish(&mut out);
            let text = String::from_utf8_lossy(&out);
            assert!(
                text.contains("event: message_stop") || text.contains("event: error"),
                "{name} case {n}: the client must always learn how the stream ended:\n{text}"
            );
        }
    }
}

#[test]
fn mangled_gemini_bodies_and_errors_decode_or_fail_cleanly() {
    for name in [
        "gemini/response_function_call.json",
        "gemini/response_prompt_blocked.json",
        "gemini/error_429.json",
        "gemini/error_400_api_key.json",
    ] {
        for body in mutations(&fixture(name), 700, 0x5eed_0008) {
            let _ = gemini::decode_body(&body, "gemini/gemini-2.5-flash", None);
            let _ = gemini::upstream_error("gemini", 400, &body);
        }
    }
}
