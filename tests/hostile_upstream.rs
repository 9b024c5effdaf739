//! Upstreams that send what no real provider would: nothing they send may exhaust bgw's
//! memory or stop it. The real `bgw serve` runs against hostile mocks on 127.0.0.1; each test
//! checks what the client sees, that bgw answers the next request as usual, and that the
//! process's peak memory (VmHWM, which only grows) stayed far below what the upstream offered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use bytes::Bytes;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use support::bgw::{command, owner_pid};
use support::mock::Part;
use support::sse::names;
use support::{Bgw, Mock, Reply, STEP, anthropic, assert_contains, expect_error_event, openai};

const ANTHROPIC_KEY: &str = "sk-ant-test-000000";

/// What each hostile upstream offers: far more than bgw may hold, so a gateway that kept it
/// would pass [`MEMORY_BOUND`]. bgw hangs up long before; the rest is never written.
const OFFERED: usize = 512 * 1024 * 1024;
/// One write of a hostile upstream.
const CHUNK: usize = 64 * 1024;
/// The peak memory allowed to `bgw serve` or its store owner: generous (a debug build, a
/// 16 MiB event held twice, the allocator's slack), and still far below [`OFFERED`].
const MEMORY_BOUND_KB: u64 = 300 * 1024;

/// The peak resident memory of process `pid`, in kB.
fn peak_memory_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status:\n{status}"))
}

#[track_caller]
fn assert_memory_bounded(pid: u32, what: &str) {
    let peak = peak_memory_kb(pid);
    assert!(
        peak < MEMORY_BOUND_KB,
        "{what} peaked at {} MiB of memory",
        peak / 1024
    );
}

/// `opening`, then `data:` lines of `line` bytes each that never end their event (no blank
/// line), in [`CHUNK`]-byte writes, [`OFFERED`] bytes in all.
fn endless_data_lines(opening: Vec<Part>, line: usize) -> Reply {
    let mut one = b"data: ".to_vec();
    one.resize(line - 1, b'x');
    one.push(b'\n');
    let chunk = Bytes::from(one.repeat(CHUNK / line));
    let mut parts = opening;
    parts.extend((0..OFFERED / chunk.len()).map(|_| Part::Bytes(chunk.clone())));
    Reply::sse_parts(parts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_stream_of_endless_data_lines_ends_in_an_error_and_bgw_answers_on() {
    let model = "gpt-4o";
    let mock = Mock::start([
        endless_data_lines(openai::opening_parts(model, "Hel"), 1024),
        Reply::sse([openai::text_stream(model, &["Hello"], 12, 2)]),
    ])
    .await;
    let gw = Bgw::keyed("openai", Some("sk-test-000000000000"), &mock.at("/v1"));

    let events = gw.client().hello_events("openai/gpt-4o").await;
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "error"
        ]
    );
    expect_error_event(
        &events,
        "api_error",
        "openai/gpt-4o: the upstream sent an event larger than 16 MiB",
    );
    assert!(
        mock.wait_for_hangup(STEP).await.is_some(),
        "bgw let go of the upstream"
    );
    assert_memory_bounded(gw.pid(), "bgw serve");

    let events = gw.client().hello_events("openai/gpt-4o").await;
    assert_eq!(names(&events).last(), Some(&"message_stop"));
    assert_eq!(support::sse::text_of(&events, 0), "Hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_stream_of_endless_data_lines_before_content_is_tried_again_unseen() {
    let model = "claude-sonnet-4-5";
    let whole = anthropic::text_stream(model, "Hello");
    // The passthrough's opening event, then a delta whose `data:` lines never end.
    let opening = whole.split_inclusive("\n\n").next().unwrap().to_owned();
    let hostile = endless_data_lines(
        vec![
            Part::Bytes(opening.into()),
            Part::Bytes("event: content_block_delta\n".into()),
        ],
        64,
    );
    let mock = Mock::start([hostile, Reply::sse([whole])]).await;
    let gw = Bgw::keyed("anthropic", Some(ANTHROPIC_KEY), &mock.url());

    // The broken event came before any content: the client never sees it, and gets the
    // answer of the second try.
    let events = gw.client().hello_events(model).await;
    assert_eq!(names(&events).last(), Some(&"message_stop"));
    assert_eq!(support::sse::text_of(&events, 0), "Hello");
    assert!(
        mock.wait_for_hangup(STEP).await.is_some(),
        "bgw let go of the upstream"
    );
    assert_memory_bounded(gw.pid(), "bgw serve");
    let row = gw.client().get("/v1/models").await;
    assert_eq!(row.status, 200, "bgw answers on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_tokens_answer_too_large_to_be_a_count_falls_back_to_the_estimate() {
    // It starts as a count would, then pads without end.
    let mut parts = vec![Part::Bytes(
        r#"{"input_tokens": 777777, "padding": ""#.into(),
    )];
    let pad = Bytes::from(vec![b'x'; CHUNK]);
    parts.extend((0..OFFERED / CHUNK).map(|_| Part::Bytes(pad.clone())));
    let hostile = Reply::Stream {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        parts,
    };
    let mock = Mock::start([hostile, Reply::json(200, &json!({"input_tokens": 2095}))]).await;
    let gw = Bgw::keyed("anthropic", Some(ANTHROPIC_KEY), &mock.url());
    let body = json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hello, Claude"}]});

    let resp = gw
        .client()
        .post_json("/v1/messages/count_tokens", &body)
        .await;
    assert_eq!(resp.status, 200);
    let estimated = resp.json().await["input_tokens"].as_u64().unwrap();
    assert!(
        estimated > 0 && estimated < 100,
        "bgw's own estimate of a short request, not the upstream's number: {estimated}"
    );
    assert!(
        mock.wait_for_hangup(STEP).await.is_some(),
        "bgw stopped reading the body"
    );
    assert_memory_bounded(gw.pid(), "bgw serve");

    let resp = gw
        .client()
        .post_json("/v1/messages/count_tokens", &body)
        .await;
    assert_eq!(resp.json().await, json!({"input_tokens": 2095}));
}

/// Runs `bgw ARGS…` on `dir`; its stdout, or a panic with its stderr.
#[track_caller]
fn bgw_ok(dir: &Path, args: &[&str]) -> String {
    let out = command(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "`bgw {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether process `pid` is alive (and not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_with_an_absurd_block_index_is_logged_and_shown() {
    let model = "claude-sonnet-4-5";
    let frame = |v: Value| anthropic::frame(&v);
    let far = 4_000_000_000u64;
    let stream = [
        frame(json!({"type": "message_start", "message": {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 25, "output_tokens": 1}}})),
        frame(
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        frame(
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
        ),
        frame(json!({"type": "content_block_stop", "index": 0})),
        frame(
            json!({"type": "content_block_start", "index": far, "content_block": {"type": "text", "text": ""}}),
        ),
        frame(
            json!({"type": "content_block_delta", "index": far, "delta": {"type": "text_delta", "text": " from afar"}}),
        ),
        frame(json!({"type": "content_block_stop", "index": far})),
        frame(
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 5}}),
        ),
        frame(json!({"type": "message_stop"})),
    ];
    let mock = Mock::start([Reply::sse(stream)]).await;
    let gw = Bgw::keyed("anthropic", Some(ANTHROPIC_KEY), &mock.url());
    let dir = gw.data_dir().to_owned();

    let resp = gw
        .client()
        .messages(&support::messages_request(model, true))
        .await;
    let id = resp.header("x-bgw-request-id").unwrap().to_owned();
    let events = resp.sse().all().await;
    assert_eq!(
        names(&events).last(),
        Some(&"message_stop"),
        "passed through"
    );

    // The row is written just after the answer.
    let deadline = Instant::now() + STEP;
    while !bgw_ok(&dir, &["logs", "--json"]).contains(&id) {
        assert!(Instant::now() < deadline, "the request was not logged");
        std::thread::sleep(Duration::from_millis(50));
    }
    let owner = owner_pid(&dir);
    let shown: Value =
        serde_json::from_str(&bgw_ok(&dir, &["logs", "show", &id, "--json"])).unwrap();
    assert_eq!(
        shown["response"]["content"],
        json!([{"type": "text", "text": "Hello"}, {"type": "text", "text": " from afar"}])
    );
    assert_contains(&bgw_ok(&dir, &["logs", "show", &id]), "from afar");
    assert!(
        alive(owner) && owner_pid(&dir) == owner,
        "the store owner lives on"
    );
    assert_memory_bounded(owner, "the store owner");
}
