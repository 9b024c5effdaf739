//! Translation micro-benchmarks: the per-request and per-token work bgw adds.
//!
//! - `encode_claude_code_request`: parse a ~50 KB Claude Code request and encode it for OpenAI;
//!   `encode_claude_code_request_gemini` the same for Gemini (tool schemas lose `$schema`).
//! - `count_tokens_claude_code_request`: what `count_tokens` does for an OpenAI model: parse
//!   the same request, encode it for OpenAI and estimate the prompt tokens of that body.
//! - `decode_openai_stream_1000_chunks`: a 1,000-chunk Chat Completions stream (text, then a
//!   tool call in fragments) into Anthropic SSE bytes, fed one upstream chunk at a time;
//!   `decode_gemini_stream_1000_chunks` a Gemini stream of 1,000 chunks (thoughts, text, then a
//!   signed function call), its thinking signed as in the gateway.
//! - `anthropic_passthrough_body` / `anthropic_rewrite_model_only`: the body bgw forwards to
//!   Anthropic for the 50 KB request (the scan for foreign history included), against the
//!   bare model rewrite it costs on top of.

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};

use bgw::messages::MessagesRequest;
use bgw::messages::request::RequestHead;
use bgw::messages::signature::ThinkingKey;
use bgw::providers::StreamDecoder;
use bgw::providers::anthropic::{prepare_body, rewrite_model};
use bgw::providers::gemini::{self, GeminiStream};
use bgw::providers::openai::{ChatStream, Quirks, encode_request};
use bgw::tokens::{self, ToolStyle};

/// The captured Claude Code request if present, else the synthetic one of the same shape.
#[expect(
    clippy::panic,
    reason = "a benchmark without its fixture must stop loudly"
)]
fn claude_code_request() -> Vec<u8> {
    let root = env!("CARGO_MANIFEST_DIR");
    [
        "tests/fixtures/claude_code/request_first_turn.json",
        "tests/fixtures/openai/claude_code_like_request.json",
    ]
    .iter()
    .find_map(|p| std::fs::read(format!("{root}/{p}")).ok())
    .unwrap_or_else(|| panic!("no Claude Code request fixture under {root}/tests/fixtures"))
}

/// 1,000 `data:` frames: 899 text deltas, a tool call header and 97 argument fragments,
/// the finish chunk and the usage chunk; then `[DONE]`.
fn openai_stream_frames() -> Vec<Vec<u8>> {
    let head = r#"{"id":"chatcmpl-C3yLZb8RmQ1x0aVvKk2dT5nUe4Hfq","object":"chat.completion.chunk","created":1754930100,"model":"gpt-5-2025-08-07","service_tier":"default","system_fingerprint":null,"choices":[{"index":0,"delta":"#;
    let frame = |delta: &str, finish: &str, usage: &str| {
        format!("data: {head}{delta},\"logprobs\":null,\"finish_reason\":{finish}}}],\"usage\":{usage}}}\n\n").into_bytes()
    };
    let mut frames = Vec::with_capacity(1001);
    frames.push(frame(
        r#"{"role":"assistant","content":"","refusal":null}"#,
        "null",
        "null",
    ));
    for i in 0..899 {
        let word = [
            "The",
            " file",
            " \"main.rs\"",
            " defines",
            " a",
            " tokio",
            " runtime;",
            "\n",
        ][i % 8];
        frames.push(frame(
            &format!(r#"{{"content":{}}}"#, serde_json::json!(word)),
            "null",
            "null",
        ));
    }
    frames.push(frame(
        r#"{"tool_calls":[{"index":0,"id":"call_Qx8d2Lw1bN3pR7sT0vY5zA1c","type":"function","function":{"name":"Edit","arguments":""}}]}"#,
        "null",
        "null",
    ));
    let args = format!(
        r#"{{"file_path":"/src/main.rs","old_string":"{}","new_string":"{}"}}"#,
        "fn main() {\\n    run();\\n}".repeat(8),
        "async fn main() {\\n    run().await;\\n}".repeat(8)
    );
    let pieces = 97;
    let step = args.len().div_ceil(pieces);
    let mut rest = args.as_str();
    while !rest.is_empty() {
        let mut cut = step.min(rest.len());
        // Never split an escape sequence: fragments are valid JSON string contents on the wire.
        while rest.as_bytes()[..cut].ends_with(b"\\") {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        let delta = format!(
            r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":{}}}}}]}}"#,
            serde_json::json!(piece)
        );
        frames.push(frame(&delta, "null", "null"));
    }
    frames.push(frame("{}", "\"tool_calls\"", "null"));
    frames.push(
        br#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-5","choices":[],"usage":{"prompt_tokens":41230,"completion_tokens":1096,"total_tokens":42326,"prompt_tokens_details":{"cached_tokens":40960}}}

"#
        .to_vec(),
    );
    frames.push(b"data: [DONE]\n\n".to_vec());
    frames
}

#[expect(
    clippy::panic,
    reason = "a fixture that no longer parses must stop the benchmark"
)]
fn encode(c: &mut Criterion) {
    let body = claude_code_request();
    let mut group = c.benchmark_group("translate");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("encode_claude_code_request", |b| {
        b.iter(|| {
            let req = MessagesRequest::parse(black_box(&body)).map_err(|e| e.message);
            let req = match req {
                Ok(r) => r,
                Err(m) => panic!("fixture does not parse: {m}"),
            };
            black_box(encode_request(&req, "gpt-5", &Quirks::OPENAI, true).map(|v| v.len()))
        })
    });
    group.bench_function("encode_claude_code_request_gemini", |b| {
        b.iter(|| {
            let req = match MessagesRequest::parse(black_box(&body)) {
                Ok(r) => r,
                Err(e) => panic!("fixture does not parse: {}", e.message),
            };
            black_box(gemini::encode_request(&req, "gemini-2.5-pro", None).map(|v| v.len()))
        })
    });
    // The pieces, so the cost of each phase is shown rather than argued.
    group.bench_function("route_head_parse", |b| {
        b.iter(|| black_box(RequestHead::parse(black_box(&body)).map(|h| h.model.get().len())))
    });
    group.bench_function("full_parse_only", |b| {
        b.iter(|| black_box(MessagesRequest::parse(black_box(&body)).map(|r| r.messages.len())))
    });
    group.finish();
}

#[expect(
    clippy::panic,
    reason = "a fixture that no longer parses or encodes must stop the benchmark"
)]
fn count(c: &mut Criterion) {
    let body = claude_code_request();
    let mut group = c.benchmark_group("translate");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("count_tokens_claude_code_request", |b| {
        b.iter(|| {
            let req = match MessagesRequest::parse(black_box(&body)) {
                Ok(r) => r,
                Err(e) => panic!("fixture does not parse: {}", e.message),
            };
            let sent = match encode_request(&req, "gpt-5", &Quirks::OPENAI, false) {
                Ok(s) => s,
                Err(e) => panic!("fixture does not encode: {}", e.message),
            };
            black_box(tokens::chat_request(&sent, ToolStyle::TypeScript).map_err(|e| e.to_string()))
        })
    });
    // The text estimate alone, over the whole body.
    let text = String::from_utf8_lossy(&body).into_owned();
    group.bench_function("estimate_text_claude_code_request", |b| {
        b.iter(|| black_box(tokens::estimate_text(black_box(&text))))
    });
    group.finish();
}

fn decode(c: &mut Criterion) {
    let frames = openai_stream_frames();
    let total: usize = frames.iter().map(Vec::len).sum();
    // The benchmark only means something if the stream decodes to a complete message.
    let mut once = Vec::new();
    let mut stream = ChatStream::new("openai/gpt-5");
    for f in &frames {
        stream.feed(f, &mut once);
    }
    stream.finish(&mut once);
    let text = String::from_utf8_lossy(&once);
    assert!(frames.len() >= 1000, "{} frames", frames.len());
    assert!(
        text.contains("\"stop_reason\":\"tool_use\"")
            && text.ends_with("{\"type\":\"message_stop\"}\n\n")
    );
    assert!(!text.contains("event: error"));

    let mut group = c.benchmark_group("translate");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("decode_openai_stream_1000_chunks", |b| {
        let mut out = Vec::with_capacity(total * 2);
        b.iter(|| {
            out.clear();
            let mut stream = ChatStream::new("openai/gpt-5");
            for f in &frames {
                stream.feed(black_box(f), &mut out);
            }
            stream.finish(&mut out);
            black_box(out.len())
        })
    });
    group.finish();
}

#[expect(
    clippy::panic,
    reason = "a fixture that no longer parses must stop the benchmark"
)]
fn passthrough(c: &mut Criterion) {
    let body = claude_code_request();
    let head = match RequestHead::parse(&body) {
        Ok(h) => h,
        Err(e) => panic!("fixture does not parse: {}", e.message),
    };
    let mut group = c.benchmark_group("translate");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("anthropic_passthrough_body", |b| {
        b.iter(|| black_box(prepare_body(black_box(&body), &head, "claude-sonnet-4-5-x")))
    });
    group.bench_function("anthropic_rewrite_model_only", |b| {
        b.iter(|| {
            black_box(rewrite_model(
                black_box(&body),
                &head,
                "claude-sonnet-4-5-x",
            ))
        })
    });
    group.finish();
}

/// 1,000 Gemini `data:` frames: 300 thought chunks, 699 text chunks, then a function call with
/// its thought signature, the finish reason and usage.
fn gemini_stream_frames() -> Vec<Vec<u8>> {
    let frame = |parts: &str, tail: &str| {
        format!("data: {{\"candidates\":[{{\"content\":{{\"parts\":{parts},\"role\":\"model\"}},\"index\":0{tail}}}],\"usageMetadata\":{{\"promptTokenCount\":50000,\"candidatesTokenCount\":700,\"thoughtsTokenCount\":300,\"totalTokenCount\":51000}},\"modelVersion\":\"gemini-2.5-pro\",\"responseId\":\"bench\"}}\r\n\r\n").into_bytes()
    };
    let mut frames = Vec::with_capacity(1000);
    for _ in 0..300 {
        frames.push(frame(
            r#"[{"text":" weighing the options,","thought":true}]"#,
            "",
        ));
    }
    for _ in 0..699 {
        frames.push(frame(r#"[{"text":" the runtime starts here;"}]"#, ""));
    }
    frames.push(frame(
        r#"[{"functionCall":{"name":"Read","args":{"file_path":"/src/main.rs"}},"thoughtSignature":"CiQBcsjafDNqE6bXd4mZBk7vhc1ps2Kkq8sbjIXHJcGRmIo1OOgKYAFyyNp8X9Ya9Pz0Bv6qVE2AmSgHzvFcd0Gg9YcA"}]"#,
        r#","finishReason":"STOP""#,
    ));
    frames
}

fn decode_gemini(c: &mut Criterion) {
    let frames = gemini_stream_frames();
    let total: usize = frames.iter().map(Vec::len).sum();
    let key = std::sync::Arc::new(ThinkingKey::from_bytes(&[1; 32]));
    let signer = key.signer("gemini", "gemini-2.5-pro");
    let mut once = Vec::new();
    let mut stream = GeminiStream::new("gemini/gemini-2.5-pro", Some(signer.clone()));
    for f in &frames {
        stream.feed(f, &mut once);
    }
    stream.finish(&mut once);
    let text = String::from_utf8_lossy(&once);
    assert!(
        text.contains("\"stop_reason\":\"tool_use\"")
            && text.contains("signature_delta")
            && text.ends_with("{\"type\":\"message_stop\"}\n\n")
    );
    assert!(!text.contains("event: error"));

    let mut group = c.benchmark_group("translate");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("decode_gemini_stream_1000_chunks", |b| {
        let mut out = Vec::with_capacity(total * 2);
        b.iter(|| {
            out.clear();
            let mut stream = GeminiStream::new("gemini/gemini-2.5-pro", Some(signer.clone()));
            for f in &frames {
                stream.feed(black_box(f), &mut out);
            }
            stream.finish(&mut out);
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, encode, count, decode, decode_gemini, passthrough);
criterion_main!(benches);
