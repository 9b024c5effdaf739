//! Your own prices (`bgw models price`) with the real binary: a model bgw cannot price is
//! logged with an unknown cost; once priced from another terminal, the running gateway's next
//! request costs exactly what the override says; removed, it is unknown again. Bad prices are
//! refused with a clear line and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use bgw::store::Store;
use bgw::store::logs::{LogQuery, LogRow, RequestId};
use serde_json::Value;
use support::{Bgw, Mock, Reply, assert_contains, bgw::command, messages_request, openai};

/// A model no catalog row prices.
const MODEL: &str = "openai/house-model-1";

/// Answers every chat request with 30 prompt and 2 completion tokens, streamed or not.
fn upstream() -> impl std::future::Future<Output = Mock> {
    Mock::answering(|req| {
        let body = req.json();
        let model = body["model"].as_str().unwrap_or("x").to_owned();
        if body["stream"] == Value::Bool(true) {
            Reply::sse([openai::text_stream(&model, &["Hel", "lo"], 30, 2)])
        } else {
            openai::reply(&model, "Hello", 30, 2)
        }
    })
}

/// Runs `bgw ARGS…` on the data dir.
fn bgw(dir: &Path, args: &[&str]) -> Output {
    command(dir).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Sends one request for [`MODEL`] through the gateway; the id of its log row (none with
/// `--no-log`).
async fn request(gw: &Bgw, stream: bool) -> Option<RequestId> {
    let resp = gw.client().messages(&messages_request(MODEL, stream)).await;
    assert_eq!(resp.status, 200);
    let id = resp.header("x-bgw-request-id").and_then(RequestId::parse);
    let text = resp.text().await;
    assert_contains(&text, "Hel");
    id
}

/// The log row of request `id`, once it is written.
fn row(store: &Store, id: Option<RequestId>) -> LogRow {
    let id = id.expect("the gateway names each request's row");
    let deadline = Instant::now() + support::STEP;
    loop {
        let rows = store.logs(&LogQuery::default()).unwrap();
        if let Some(r) = rows.into_iter().find(|r| r.id == id) {
            return r;
        }
        assert!(Instant::now() < deadline, "no row for request {id:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[track_caller]
fn assert_dollars(got: Option<f64>, want: f64) {
    let got = got.unwrap_or_else(|| panic!("no cost, want ${want}"));
    assert!((got - want).abs() < 1e-12, "cost ${got}, want ${want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_prices_the_next_request_of_a_running_gateway() {
    let mock = upstream().await;
    let gw = Bgw::setup()
        .provider("openai", Some("sk-test-000000000000"), &mock.at("/v1"))
        .start();
    let dir = gw.data_dir().to_owned();
    let store = Store::shared(&dir, support::bgw::bin().into());

    // Unknown to the catalog: the row's cost is unknown, never a silent $0.
    let first = request(&gw, false).await;
    assert_eq!(row(&store, first).cost, None);

    // Priced from another terminal while the gateway runs.
    let out = bgw(
        &dir,
        &[
            "models",
            "price",
            "set",
            MODEL,
            "--input",
            "100",
            "--output",
            "1000",
            "--note",
            "house rate",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_contains(&stderr(&out), "set your price for `openai/house-model-1`");
    // The change reaches the gateway within moments (its store watcher hears it); a request
    // that got there first is still unknown, never priced otherwise.
    let deadline = Instant::now() + support::STEP;
    let mut early = 0;
    let priced = loop {
        let id = request(&gw, false).await;
        let cost = row(&store, id).cost;
        if cost.is_some() {
            break cost;
        }
        early += 1;
        assert!(
            Instant::now() < deadline,
            "the price never reached the gateway"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // 30 input tokens at $100/M + 2 output tokens at $1000/M = $0.003 + $0.002.
    assert_dollars(priced, 0.005);
    let streamed = request(&gw, true).await;
    assert_dollars(row(&store, streamed).cost, 0.005);

    let out = bgw(&dir, &["models", "price", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = stdout(&out);
    let line = listed
        .lines()
        .find(|l| l.starts_with("openai/house-model-1 "))
        .unwrap_or_else(|| panic!("the override is not listed:\n{listed}"));
    for cell in ["$100.00", "$1000.00", "yours", "house rate"] {
        assert_contains(line, cell);
    }
    // `bgw models` lists the priced model with its price, marked as yours.
    let out = bgw(&dir, &["models", "--provider", "openai", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let models = stdout(&out);
    let listed: Value = models
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|m| m["id"] == MODEL)
        .unwrap_or_else(|| panic!("{MODEL} is not in `bgw models`:\n{models}"));
    assert_eq!(listed["price"]["input"], 100.0, "{listed}");
    assert_eq!(listed["price_source"], "override", "{listed}");

    // Removed: back to unknown.
    let out = bgw(&dir, &["models", "price", "rm", MODEL]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_contains(&stderr(&out), "unknown");
    let deadline = Instant::now() + support::STEP;
    let mut late = 0;
    loop {
        let id = request(&gw, false).await;
        match row(&store, id).cost {
            None => break,
            Some(c) => assert_dollars(Some(c), 0.005),
        }
        late += 1;
        assert!(
            Instant::now() < deadline,
            "the removal never reached the gateway"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = bgw(&dir, &["models", "price", "rm", MODEL]);
    assert_eq!(out.status.code(), Some(1));
    assert_contains(&stderr(&out), "no price for `openai/house-model-1`");

    // The end-of-session line adds up the rows: two priced (and any late), two unknown (and
    // any early).
    let line = gw.terminate();
    assert_contains(&line, &format!("bgw: {} requests", 4 + early + late));
    let dollars = bgw::catalog::Usd(0.005 * (2 + late) as f64);
    assert_contains(&line, &format!("{dollars} (+{} unpriced)", 2 + early));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_log_the_session_line_uses_the_override_too() {
    let mock = upstream().await;
    let gw = Bgw::setup()
        .provider("openai", Some("sk-test-000000000000"), &mock.at("/v1"))
        .serve_args(&["--no-log"])
        .start();
    let dir = gw.data_dir().to_owned();
    request(&gw, false).await;
    let out = bgw(
        &dir,
        &[
            "models", "price", "set", MODEL, "--input", "100", "--output", "1000",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Without rows to look at, a key added after the price tells when the gateway has re-read
    // its config: keys and prices are read together, so once the key works the price is in.
    // (Until then `house/any` has no provider and is refused before it counts.)
    let out = bgw(
        &dir,
        &[
            "keys",
            "add",
            "house",
            "--compat",
            "openai",
            "--value",
            "sk-house-000000000000",
            "--base-url",
            &mock.at("/v1"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let deadline = Instant::now() + support::STEP;
    loop {
        let resp = gw
            .client()
            .messages(&messages_request("house/any", false))
            .await;
        if resp.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new key never reached the gateway"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    request(&gw, true).await;
    // One unknown before the price, one unknown `house/any`, one at $0.005.
    let line = gw.terminate();
    assert_contains(&line, "bgw: 3 requests");
    assert_contains(&line, "$0.0050 (+2 unpriced)");
}

#[test]
fn a_price_that_is_not_one_is_refused_with_what_to_do() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let set = |target: &str, input: &str, output: &str| {
        bgw(
            dir,
            &[
                "models", "price", "set", target, "--input", input, "--output", output,
            ],
        )
    };
    for (out, says) in [
        (set("openai/gpt-4o", "-1", "2"), "`-1` is negative"),
        (set("openai/gpt-4o", "1", "NaN"), "`NaN` is not a price"),
        (set("openai/gpt-4o", "abc", "2"), "`abc` is not a number"),
        (set("gpt-4o", "1", "2"), "`gpt-4o` names no provider"),
        (set("/gpt-4o", "1", "2"), "not a valid provider name"),
        (
            set("openai/", "1", "2"),
            "names no model after the provider",
        ),
        (
            bgw(
                dir,
                &["models", "price", "set", "openai/gpt-4o", "--input", "1"],
            ),
            "--output",
        ),
    ] {
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.starts_with("error: "), "{err}");
        assert_contains(&err, says);
        assert!(!err.contains("panicked"), "{err}");
    }
    // Nothing was stored.
    let out = bgw(dir, &["models", "price", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");

    // A catalog model: what the override replaces is said, and `--all` shows both.
    let out = set("openai/gpt-4o", "3", "12");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_contains(&stderr(&out), "replaces bgw's $2.50 in, $10.00 out");
    // The cache price not given stays bgw's ($1.25), not the new input price.
    assert_contains(
        &stderr(&out),
        "set your price for `openai/gpt-4o`: $3.00 in, $12.00 out, $1.25 cache read",
    );
    let out = bgw(dir, &["models", "price", "list", "--all"]);
    let all = stdout(&out);
    assert_contains(&all, "bgw (not used: yours wins)");
    assert_contains(&all, "bgw's prices taken ");
    assert!(
        all.lines()
            .any(|l| l.starts_with("openai/gpt-4o ") && l.contains("$3.00")),
        "{all}"
    );
}
