//! How fast the request log answers `bgw logs` over a large store.
//!
//! Fills a fresh store with `BGW_BENCH_ROWS` rows (default 1,000,000) spread over 30 days and
//! six providers, through the owner as gateways write them, then times the queries `bgw logs`
//! makes. Run with `cargo bench --bench log_query`.

use std::time::{Duration, Instant};

use bgw::messages::Usage;
use bgw::store::Store;
use bgw::store::logs::{Entry, LogQuery, LogRow, LoggedError, RequestId, StatusFilter};
use bgw::store::stats::StatsBy;

const PROVIDERS: [(&str, &str); 6] = [
    ("openai", "gpt-4o"),
    ("anthropic", "claude-sonnet-4-5"),
    ("groq", "llama-3.3-70b-versatile"),
    ("gemini", "gemini-2.5-pro"),
    ("azure", "claude-haiku-4-5"),
    ("deepseek", "deepseek-chat"),
];
const DAY_MS: u64 = 24 * 3600 * 1000;

fn row(i: u64, now_ms: u64, rows: u64) -> LogRow {
    // A cheap, repeatable scatter so providers, sessions and errors interleave in time.
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    let (provider, model) = PROVIDERS[(h % PROVIDERS.len() as u64) as usize];
    let failed = h % 50 == 0;
    LogRow {
        id: RequestId::new(now_ms - 30 * DAY_MS + i * (30 * DAY_MS / rows)),
        run: format!("{:x}-1a2b3c", i / 5_000),
        session: Some(format!("8c4f2a7e-0d1b-4c3e-9f5a-{:012x}", i / 200)),
        caller: None,
        requested_model: format!("{provider}/{model}"),
        provider: provider.into(),
        upstream_model: model.into(),
        key: Some(provider.into()),
        status: if failed { 429 } else { 200 },
        error: failed.then(|| LoggedError {
            kind: "rate_limit_error".into(),
            message: "Rate limit reached for requests per minute".into(),
        }),
        stream: true,
        usage: Usage {
            input_tokens: 1_200 + h % 40_000,
            output_tokens: 40 + h % 900,
            cache_read_input_tokens: h % 30_000,
            ..Usage::default()
        },
        cost: Some((h % 1000) as f64 / 10_000.0),
        first_byte_us: Some(300_000 + h % 900_000),
        total_us: 1_500_000 + h % 9_000_000,
        attempts: vec![],
        rule: None,
        rule_errors: Vec::new(),
        has_content: false,
    }
}

fn fill(store: &Store, rows: u64, now_ms: u64) -> Duration {
    let start = Instant::now();
    let batch = 5_000;
    let mut i = 0;
    while i < rows {
        let entries: Vec<Entry> = (i..(i + batch).min(rows))
            .map(|i| Entry {
                row: row(i, now_ms, rows),
                content: None,
            })
            .collect();
        if let Err(e) = store.append(&entries) {
            eprintln!("filling the store failed: {e}");
            std::process::exit(1);
        }
        i += batch;
    }
    start.elapsed()
}

/// The median of `runs` timings of `f`, and what it returned the last time.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    times.sort();
    match last {
        Some(v) => (times[runs / 2], v),
        None => unreachable_runs(),
    }
}

fn unreachable_runs() -> ! {
    eprintln!("time() needs at least one run");
    std::process::exit(1)
}

fn main() {
    let rows: u64 = std::env::var("BGW_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("no temporary directory: {e}");
            std::process::exit(1);
        }
    };
    let store = Store::new(dir.path());
    let now_ms = bgw::store::now_ms();
    let filled = fill(&store, rows, now_ms);
    let size = std::fs::metadata(store.path())
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "filled {rows} rows in {:.1} s ({:.1} µs/row), file {:.0} MB",
        filled.as_secs_f64(),
        filled.as_micros() as f64 / rows as f64,
        size as f64 / 1e6
    );

    let run = |name: &str, query: LogQuery| {
        let (t, n) = time(7, || store.logs(&query).map(|r| r.len()).unwrap_or(0));
        println!("{name:<52} {:>8.2} ms  ({n} rows)", t.as_secs_f64() * 1e3);
    };
    let newest = |q: LogQuery| LogQuery {
        limit: Some(50),
        ..q
    };
    run("bgw logs (newest 50)", newest(LogQuery::default()));
    run(
        "bgw logs --provider groq (newest 50)",
        newest(LogQuery {
            provider: Some("groq".into()),
            ..LogQuery::default()
        }),
    );
    run(
        "bgw logs --provider groq --status error",
        newest(LogQuery {
            provider: Some("groq".into()),
            status: Some(StatusFilter::Error),
            ..LogQuery::default()
        }),
    );
    run(
        "bgw logs --model deepseek-chat --since 2h",
        newest(LogQuery {
            model: Some("deepseek-chat".into()),
            since_ms: Some(now_ms - 2 * 3600 * 1000),
            ..LogQuery::default()
        }),
    );
    run(
        "bgw logs --provider groq --until 20d ago (deep)",
        newest(LogQuery {
            provider: Some("groq".into()),
            until_ms: Some(now_ms - 20 * DAY_MS),
            ..LogQuery::default()
        }),
    );
    run(
        "bgw logs --provider nobody (no match)",
        newest(LogQuery {
            provider: Some("nobody".into()),
            ..LogQuery::default()
        }),
    );
    run(
        "bgw logs --provider groq --since 1d --limit all",
        LogQuery {
            provider: Some("groq".into()),
            since_ms: Some(now_ms - DAY_MS),
            ..LogQuery::default()
        },
    );
    let stats = |name: &str, query: LogQuery, by: StatsBy| {
        let (t, n) = time(3, || {
            store.log_stats(&query, by).map(|r| r.len()).unwrap_or(0)
        });
        println!("{name:<52} {:>8.2} ms  ({n} groups)", t.as_secs_f64() * 1e3);
    };
    stats(
        "bgw logs stats --since 1d --by provider",
        LogQuery {
            since_ms: Some(now_ms - DAY_MS),
            ..LogQuery::default()
        },
        StatsBy::Provider,
    );
    stats(
        "bgw logs stats --since 7d --by provider",
        LogQuery {
            since_ms: Some(now_ms - 7 * DAY_MS),
            ..LogQuery::default()
        },
        StatsBy::Provider,
    );
}
