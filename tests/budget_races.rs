//! Budgets under the races a review of the ledger found: two gateways, requests in flight, a
//! store owner killed mid-stream, a limit lowered while slices are out. Each request here
//! costs exactly its worst case (the upstream answers with `max_tokens` tokens, at $0.001 an
//! output token and nothing for input), so any overshoot shows as spent above the limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::bgw::{command, owner_pid};
use support::mock::Part;
use support::{Bgw, Mock, Reply, assert_contains, messages_request, openai};

const MODEL: &str = "gpt-4o-mini";
const REQUESTED: &str = "openai/gpt-4o-mini";
/// A dollar in the ledger's nanodollars.
const DOLLAR: u64 = 1_000_000_000;

fn bgw(dir: &Path, args: &[&str]) {
    let out = command(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "`bgw {}`: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Answers with as many completion tokens as `max_completion_tokens` allows; a stream takes
/// `stream_ms`, event by event.
async fn upstream(stream_ms: u64) -> Mock {
    Mock::answering(move |req| {
        let body = req.json();
        let max = body["max_completion_tokens"].as_u64().unwrap_or(1);
        if body["stream"] == Value::Bool(true) {
            let mut parts = vec![Part::Bytes(openai::role(MODEL).into())];
            for _ in 0..10 {
                parts.push(Part::Sleep(Duration::from_millis(stream_ms / 10)));
                parts.push(Part::Bytes(openai::text(MODEL, "tick").into()));
            }
            parts.push(Part::Bytes(openai::end(MODEL, "stop", 0, max).into()));
            Reply::sse_parts(parts)
        } else {
            openai::reply(MODEL, "Hello", 0, max)
        }
    })
    .await
}

/// A gateway to `mock` with a global budget of `limit` dollars a month.
fn gateway(mock: &Mock, limit: &str) -> Bgw {
    let gw = Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &mock.at("/v1"))
        .start();
    bgw(
        gw.data_dir(),
        &[
            "models", "price", "set", REQUESTED, "--input", "0", "--output", "1000",
        ],
    );
    bgw(
        gw.data_dir(),
        &["budget", "set", "global", &format!("{limit}/month")],
    );
    gw
}

/// A request whose worst case (and cost) is `max_tokens` × $0.001.
fn request(max_tokens: u64, stream: bool) -> Value {
    let mut r = messages_request(REQUESTED, stream);
    r["max_tokens"] = json!(max_tokens);
    r
}

/// The global budget's spent, in nanodollars, once charges have settled.
async fn spent(dir: &Path) -> u64 {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = command(dir).args(["budget", "--json"]).output().unwrap();
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    all.iter()
        .find(|b| b["scope"] == "global" && b["metric"] == "usd")
        .map(|b| b["spent"].as_u64().unwrap())
        .unwrap()
}

fn kill9(pid: u32) {
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

/// Sends a stream on its own task; its status and the number of events it got.
fn stream_in_background(
    client: support::Client,
    max_tokens: u64,
) -> tokio::task::JoinHandle<(u16, usize)> {
    tokio::spawn(async move {
        let resp = client.messages(&request(max_tokens, true)).await;
        let status = resp.status;
        let events = if status == 200 {
            resp.sse().all().await.len()
        } else {
            0
        };
        (status, events)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gateway_that_asks_for_room_keeps_its_own_slice() {
    // Regression: the asking gateway answered its own recall and gave away the room it had.
    let mock = upstream(100).await;
    let a = gateway(&mock, "1");
    let b = Bgw::serve_at(a.data_dir(), &[]);
    assert_eq!(a.client().messages(&request(100, false)).await.status, 200);
    assert_eq!(b.client().messages(&request(100, false)).await.status, 200);
    // $0.20 spent of $1.00: a request that may cost $0.80 fits.
    assert_eq!(a.client().messages(&request(800, false)).await.status, 200);
    assert_eq!(spent(a.data_dir()).await, DOLLAR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn room_granted_to_a_waiting_request_is_not_given_back_as_idle() {
    // Regression: with a stream running over a second, the room granted to the next request
    // went back to the owner as idle before that request took it.
    let mock = upstream(4000).await;
    let a = gateway(&mock, "1");
    let first = stream_in_background(a.client(), 100);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(a.client().messages(&request(500, false)).await.status, 200);
    assert_eq!(first.await.unwrap().0, 200);
    assert_eq!(spent(a.data_dir()).await, 600_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_store_owner_grants_no_one_what_a_stream_in_flight_holds() {
    // Regression: a new owner knew nothing of what the gateways of the one before held.
    let mock = upstream(4000).await;
    let a = gateway(&mock, "1");
    let b = Bgw::serve_at(a.data_dir(), &[]);
    // A's stream may cost the whole budget, and will.
    let first = stream_in_background(a.client(), 1000);
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill9(owner_pid(a.data_dir()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = b.client().messages(&request(1000, true)).await;
    assert_eq!(second.status, 429);
    assert_eq!(first.await.unwrap().0, 200);
    assert_eq!(spent(a.data_dir()).await, DOLLAR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_release_is_never_counted_twice_across_a_new_owner() {
    // Regression: an idle slice given back after the owner died was given back again after
    // registering with the new one, which then forgot part of a stream in flight.
    let mock = upstream(6000).await;
    let a = gateway(&mock, "1");
    let b = Bgw::serve_at(a.data_dir(), &[]);
    let first = stream_in_background(a.client(), 600);
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill9(owner_pid(a.data_dir()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = b.client().messages(&request(450, true)).await;
    assert_eq!(second.status, 429, "$0.60 held in flight leaves no $0.45");
    assert_eq!(first.await.unwrap().0, 200);
    assert_eq!(spent(a.data_dir()).await, 600_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lowered_limit_admits_nothing_more_from_slices_granted_before() {
    let mock = upstream(100).await;
    let a = gateway(&mock, "1");
    assert_eq!(a.client().messages(&request(100, false)).await.status, 200);
    bgw(a.data_dir(), &["budget", "set", "global", "0.05/month"]);
    for _ in 0..4 {
        assert_eq!(a.client().messages(&request(100, false)).await.status, 429);
    }
    assert_eq!(spent(a.data_dir()).await, 100_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn room_held_by_requests_in_flight_is_a_refusal_to_retry_in_a_moment() {
    let mock = upstream(2000).await;
    let a = gateway(&mock, "1");
    let first = stream_in_background(a.client(), 600);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = a.client().messages(&request(600, false)).await;
    assert_eq!(refused.status, 429);
    // Claude Code may send it again: the room comes back when the stream ends.
    assert_eq!(refused.header("x-should-retry"), None);
    assert_eq!(refused.header("retry-after"), Some("5"));
    assert_eq!(refused.header("anthropic-ratelimit-unified-status"), None);
    let message = support::expect_error(refused, 429, "rate_limit_error").await;
    assert_contains(
        &message,
        "the budget of global is held by requests in flight: $0.00 spent and $0.6000 reserved of $1.00 this month, and this request may need $0.6000; try again in a moment",
    );
    assert_eq!(first.await.unwrap().0, 200);
}
