//! What the request log costs per request: the CPU a gateway's log writer (a thread of this
//! process) and the store's owner (`bgw store-owner`, its own process as in use) spend on a
//! row, without the network, the mock upstream and the load generator the load benchmark
//! shares the machine with, so a change to how rows are written can be judged in a minute.
//!
//! Each request carries the Claude Code fixture's 49 KB body with a newest message of its own
//! and a 3 KB streamed answer, as in the load benchmark; requests are handed over at a steady
//! pace. Modes (log off, rows only, rows with content) are interleaved in rounds; a mode's
//! cost is the CPU of this process and of the owner less that of the log-off round beside it.
//! Run with
//! `cargo bench --bench log_write`; `BGW_BENCH_REQUESTS` sets the requests per round. For the
//! release's build add `--target x86_64-unknown-linux-musl` (with
//! `CC_x86_64_unknown_linux_musl=gcc`).

// A benchmark stops at the first thing that is not as it should be.
#![allow(clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

/// The allocator the static release links (src/main.rs), so a musl build of this bench
/// measures what users run.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use bgw::messages::Usage;
use bgw::observe::{Answer, Pending, RequestLog};
use bgw::store::Store;
use bgw::store::logs::LogQuery;
use bytes::Bytes;

const FIXTURE: &str = "tests/fixtures/claude_code/request_first_turn.json";
const ROUNDS: usize = 7;
/// Requests handed over per second: about what the load benchmark's gateway answers.
const PACE: u64 = 5_000;
/// Where each body's request number goes (in its newest message).
const PLACE: &str = "in the current directory";

/// What a gateway's log keeps.
#[derive(Clone, Copy)]
enum Mode {
    Rows,
    Content,
}

/// The CPU time so far of process `pid` ("self" for this one): each thread's run time in
/// nanoseconds (its schedstat), as /proc/PID/stat counts only in 10 ms ticks. The threads that
/// matter (the log writers, the owner's) live as long as their process.
fn cpu(pid: &str) -> Duration {
    let mut ns = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            ns += stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(ns)
}

fn sse_answer() -> Vec<u8> {
    let mut s = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"gpt-4o\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12000,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    );
    for i in 0..20 {
        s.push_str(&format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"word{i} \"}}}}\n\n"));
    }
    s.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":21}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    s.into_bytes()
}

/// The pid of the process that owns the store in `dir`.
fn owner_pid(dir: &std::path::Path) -> Option<String> {
    let dir = dir.to_str()?;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid = e.file_name().to_string_lossy().into_owned();
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd);
        (cmd.contains("store-owner") && cmd.contains(dir)).then_some(pid)
    })
}

/// CPU spent in a round: by this process (the log writers, and making the requests) and by
/// the store's owner.
#[derive(Clone, Copy)]
struct Used {
    here: Duration,
    owner: Duration,
}

/// Hands `n` requests to `log` (none when it is `None`) at [`PACE`], waits until they are
/// written, and gives the CPU it took.
fn round(
    log: Option<&RequestLog>,
    owner: &str,
    body: &str,
    at: usize,
    answer: &[u8],
    n: u64,
) -> Used {
    static NUMBER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-claude-code-session-id",
        http::HeaderValue::from_static("8c4f2a7e-0d1b-4c3e-9f5a-1a2b3c4d5e6f"),
    );
    let usage = Usage {
        input_tokens: 12_000,
        output_tokens: 21,
        ..Usage::default()
    };
    let (here, there) = (cpu("self"), cpu(owner));
    let start = Instant::now();
    for i in 0..n {
        let number = NUMBER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut bytes = body.as_bytes().to_vec();
        bytes[at..at + 16].copy_from_slice(format!("{number:016}").as_bytes());
        let bytes = Bytes::from(bytes);
        let keep = log.is_some_and(RequestLog::keeps_content);
        let mut pending = Pending::start(&headers, keep);
        pending.body(&bytes, "openai/gpt-4o");
        pending.streamed(true);
        let answer = if keep {
            Answer::Sse(answer.to_vec())
        } else {
            Answer::None
        };
        let finished = pending.finish(200, None, usage, answer);
        match log {
            Some(log) => log.submit(finished),
            None => drop(finished),
        }
        drop(bytes);
        let due = start + Duration::from_micros((i + 1) * 1_000_000 / PACE);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    if let Some(log) = log {
        assert_eq!(log.flush(Duration::from_secs(60)), 0, "rows left unwritten");
    }
    Used {
        here: cpu("self") - here,
        owner: cpu(owner) - there,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: u64 = std::env::var("BGW_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000);
    let fixture = std::fs::read(FIXTURE).expect("the Claude Code request fixture");
    let value: serde_json::Value = serde_json::from_slice(&fixture).expect("fixture is JSON");
    let compact = serde_json::to_string(&value).expect("fixture serializes");
    let body = compact.replacen(PLACE, &format!("{PLACE} (request 0000000000000000)"), 1);
    let at = body
        .find("(request ")
        .expect("the fixture has a newest message")
        + 9;
    let answer = sse_answer();
    println!(
        "request log (writer here, owner its own process): {} byte bodies, {} byte streamed answers, {n} requests a round at {PACE}/s, {ROUNDS} rounds",
        body.len(),
        answer.len()
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    let exe = std::env::var("BGW_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_bgw").into());
    let store = Store::shared(&data, exe.into());
    let rows_log = RequestLog::start(&store, false);
    let content_log = RequestLog::start(&store, true);
    // Warm up: the owner starts and opens the file, each writer learns the chunks once.
    round(Some(&content_log), "self", &body, at, &answer, 200);
    round(Some(&rows_log), "self", &body, at, &answer, 200);
    let owner = owner_pid(&data).expect("the store's owner process");

    let per_request = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    // Per mode: each round's extra CPU per request here and in the owner.
    let mut extra: Vec<(Mode, Vec<(f64, f64)>)> =
        vec![(Mode::Rows, vec![]), (Mode::Content, vec![])];
    let mut base = Vec::new();
    for _ in 0..ROUNDS {
        let off = round(None, &owner, &body, at, &answer, n);
        base.push(per_request(off.here));
        for (mode, costs) in &mut extra {
            let log = match mode {
                Mode::Rows => &rows_log,
                Mode::Content => &content_log,
            };
            let used = round(Some(log), &owner, &body, at, &answer, n);
            costs.push((
                per_request(used.here) - per_request(off.here),
                per_request(used.owner) - per_request(off.owner),
            ));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "  log off: {:.1} µs of CPU per request (making the request and its answer)",
        median(base)
    );
    for (mode, costs) in &extra {
        let total: Vec<f64> = costs.iter().map(|(h, o)| h + o).collect();
        let shown: Vec<String> = total.iter().map(|c| format!("{c:.1}")).collect();
        println!(
            "  {:<18} +{:.1} µs per request: log writer +{:.1}, owner +{:.1} (medians; rounds: {})",
            match mode {
                Mode::Rows => "rows only:",
                Mode::Content => "rows with content:",
            },
            median(total.clone()),
            median(costs.iter().map(|c| c.0).collect()),
            median(costs.iter().map(|c| c.1).collect()),
            shown.join(", ")
        );
    }

    // Content's own cost (the decision on the request log's target: the 5% applies to rows;
    // keeping content is reported as its own figure).
    let medians: Vec<f64> = extra
        .iter()
        .map(|(_, costs)| median(costs.iter().map(|(h, o)| h + o).collect()))
        .collect();
    if let [rows, content] = medians[..] {
        println!(
            "  content alone:     +{:.1} µs per request (rows with content less rows only)",
            content - rows
        );
    }

    // Every row is in the store, and every content row's content with it.
    let rows = store
        .logs(&LogQuery {
            limit: None,
            ..LogQuery::default()
        })
        .expect("the rows read back");
    let expected = 2 * (200 + ROUNDS as u64 * n);
    assert_eq!(rows.len() as u64, expected, "rows in the store");
    let with_content = rows.iter().filter(|r| r.has_content).count() as u64;
    assert_eq!(with_content, 200 + ROUNDS as u64 * n, "rows with content");
    let newest = rows.iter().find(|r| r.has_content).expect("a content row");
    let content = store
        .log_content(newest.id)
        .expect("content reads")
        .expect("content kept");
    assert_eq!(content.request.len(), body.len());
    println!(
        "  rows in the store: {} ({} with content); the file is {} MB",
        rows.len(),
        with_content,
        std::fs::metadata(store.path()).map_or(0, |m| m.len() / 1_000_000)
    );
}
