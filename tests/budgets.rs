//! Budgets with the real binary: what a budget admits, how a refusal reads to Claude Code,
//! the usage headers it warns from, rate limits, and how each request is charged (streamed
//! or whole, cut by the client, cached, across killed processes), once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};
use support::bgw::{command, log_rows as rows, owner_pid};
use support::mock::Part;
use support::{Bgw, Mock, Reply, anthropic, assert_contains, messages_request, openai};

const MODEL: &str = "gpt-4o-mini";
const REQUESTED: &str = "openai/gpt-4o-mini";

/// Runs `bgw ARGS…` on the data dir, which must succeed.
fn bgw(dir: &Path, args: &[&str]) -> Output {
    let out = command(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "`bgw {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Answers every chat request with 100 prompt and `completion` completion tokens, streamed
/// (event by event) or whole, as the request asks.
async fn upstream(completion: u64) -> Mock {
    Mock::answering(move |req| {
        let body = req.json();
        if body["stream"] == Value::Bool(true) {
            Reply::sse([
                openai::role(MODEL),
                openai::text(MODEL, "Hel"),
                openai::text(MODEL, "lo"),
                openai::end(MODEL, "stop", 100, completion),
            ])
        } else {
            openai::reply(MODEL, "Hello", 100, completion)
        }
    })
    .await
}

/// A gateway whose OpenAI key calls `mock`, with gpt-4o-mini priced so that input is free and
/// output costs $0.001 a token: a request's worst case is then its `max_tokens` × $0.001.
fn gateway(mock: &Mock) -> Bgw {
    let bgw = Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &mock.at("/v1"))
        .start();
    bgw_price(bgw.data_dir(), "0", "1000");
    bgw
}

fn bgw_price(dir: &Path, input: &str, output: &str) {
    bgw(
        dir,
        &[
            "models", "price", "set", REQUESTED, "--input", input, "--output", output,
        ],
    );
}

/// A small request whose answer may have at most `max_tokens` tokens.
fn request(max_tokens: u64, stream: bool) -> Value {
    let mut r = messages_request(REQUESTED, stream);
    r["max_tokens"] = json!(max_tokens);
    r
}

/// `bgw budget --json`.
fn budgets(dir: &Path) -> Vec<Value> {
    let out = bgw(dir, &["budget", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What the budget of `scope` has spent, in dollars, once it has been `want` (charges reach
/// the ledger a moment after the answer); the last value read otherwise.
fn spent_reaching(dir: &Path, scope: &str, want: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = budgets(dir);
        let spent = all
            .iter()
            .find(|b| b["scope"] == scope && b["metric"] == "usd")
            .map(|b| b["spent"].as_u64().unwrap() as f64 / 1e9)
            .unwrap_or_else(|| panic!("no {scope} budget in {all:?}"));
        if (spent - want).abs() < 1e-9 || Instant::now() > deadline {
            return spent;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn a_budget_admits_what_fits_and_refuses_the_rest_with_a_message_claude_code_prints() {
    let mock = upstream(50).await;
    let gw = gateway(&mock);
    bgw(gw.data_dir(), &["budget", "set", "global", "0.12/month"]);

    // Worst case $0.10 fits $0.12; it costs $0.05.
    let first = gw.client().messages(&request(100, false)).await;
    assert_eq!(first.status, 200);
    assert_eq!(spent_reaching(gw.data_dir(), "global", 0.05), 0.05);

    // $0.05 spent + a worst case of $0.10 would pass $0.12.
    let refused = gw.client().messages(&request(100, false)).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("x-should-retry"), Some("false"));
    assert!(
        refused
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    let unified = |name: &str| {
        refused
            .header(&format!("anthropic-ratelimit-unified-{name}"))
            .map(str::to_owned)
    };
    assert_eq!(unified("status").as_deref(), Some("rejected"));
    assert_eq!(
        unified("overage-disabled-reason").as_deref(),
        Some("org_spend_cap_reached")
    );
    assert_eq!(unified("overage-period").as_deref(), Some("monthly"));
    assert!(unified("reset").unwrap().parse::<u64>().unwrap() > 1_700_000_000);
    // No claim: with one, Claude Code would print its own message instead of bgw's.
    assert_eq!(unified("representative-claim"), None);
    let message = support::expect_error(refused, 429, "rate_limit_error").await;
    assert_contains(
        &message,
        "the budget of global has $0.0700 left of $0.1200 this month, and this request may cost up to $0.1000",
    );
    assert_contains(&message, " · resets 20");
    assert_contains(
        &message,
        ":00 UTC · to raise it: `bgw budget set global AMOUNT/month`",
    );
    assert_eq!(
        mock.requests().len(),
        1,
        "the refused request reached no provider"
    );

    // Raised from another terminal, the running gateway admits the next request.
    bgw(gw.data_dir(), &["budget", "set", "global", "1/month"]);
    let after = gw.client().messages(&request(100, false)).await;
    assert_eq!(after.status, 200);
    assert_eq!(spent_reaching(gw.data_dir(), "global", 0.10), 0.10);
}

#[tokio::test]
async fn past_the_warning_threshold_responses_carry_the_headers_claude_code_warns_from() {
    let mock = upstream(100).await;
    let gw = gateway(&mock);
    bgw(
        gw.data_dir(),
        &["budget", "set", "global", "0.30/month", "--warn", "60"],
    );
    let mut seen = Vec::new();
    for spent in [0.0, 0.10, 0.20] {
        assert_eq!(spent_reaching(gw.data_dir(), "global", spent), spent);
        let resp = gw.client().messages(&request(100, false)).await;
        assert_eq!(resp.status, 200);
        let h = |name: &str| {
            resp.header(&format!("anthropic-ratelimit-unified-{name}"))
                .unwrap_or("-")
                .to_owned()
        };
        seen.push([
            h("status"),
            h("representative-claim"),
            h("overage-status"),
            h("overage-utilization"),
            h("overage-surpassed-threshold"),
        ]);
        assert_eq!(h("reset"), h("overage-reset"));
        assert!(h("reset").parse::<u64>().unwrap() > 1_700_000_000);
    }
    assert_eq!(
        seen,
        [
            ["allowed", "overage", "allowed", "0.00", "-"],
            ["allowed", "overage", "allowed", "0.33", "-"],
            [
                "allowed_warning",
                "overage",
                "allowed_warning",
                "0.67",
                "0.60"
            ],
        ]
    );
}

#[tokio::test]
async fn a_caller_with_no_budget_on_its_chain_is_never_refused_nor_told_of_one() {
    let mock = upstream(50).await;
    let gw = gateway(&mock);
    bgw(
        gw.data_dir(),
        &["budget", "set", "provider", "groq", "0.000001/month"],
    );
    for _ in 0..3 {
        let resp = gw.client().messages(&request(100, false)).await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("anthropic-ratelimit-unified-status"), None);
    }
}

#[tokio::test]
async fn a_rate_limit_refuses_with_retry_after_and_a_refused_request_uses_no_quota() {
    let mock = upstream(50).await;
    let gw = gateway(&mock);
    bgw(
        gw.data_dir(),
        &["budget", "set", "global", "--rate", "2/day"],
    );
    for _ in 0..2 {
        assert_eq!(gw.client().messages(&request(100, false)).await.status, 200);
    }
    let refused = gw.client().messages(&request(100, false)).await;
    // Claude Code waits out `retry-after` and sends it again: no `x-should-retry: false`.
    assert_eq!(refused.header("x-should-retry"), None);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
    let message = support::expect_error(refused, 429, "rate_limit_error").await;
    assert_contains(
        &message,
        "the rate limit of global is reached: 2 of 2 requests per day",
    );
    assert_eq!(mock.requests().len(), 2);

    bgw(
        gw.data_dir(),
        &["budget", "set", "global", "--rate", "3/day"],
    );
    assert_eq!(gw.client().messages(&request(100, false)).await.status, 200);
    assert_eq!(gw.client().messages(&request(100, false)).await.status, 429);
}

#[tokio::test]
async fn a_model_without_a_price_is_refused_under_a_money_budget_never_counted_as_free() {
    let mock = upstream(50).await;
    let gw = gateway(&mock);
    bgw(gw.data_dir(), &["budget", "set", "global", "10/month"]);
    let mut body = request(100, false);
    body["model"] = json!("openai/house-model-1");
    let resp = gw.client().messages(&body).await;
    let message = support::expect_error(resp, 400, "invalid_request_error").await;
    assert_contains(&message, "`openai/house-model-1` has no known price");
    assert_contains(
        &message,
        "`bgw models price set openai/house-model-1 --input X --output Y`",
    );
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn streamed_and_whole_answers_of_one_request_cost_the_same() {
    let mock = upstream(50).await;
    let gw = gateway(&mock);
    bgw(gw.data_dir(), &["budget", "set", "global", "10/month"]);
    let whole = gw.client().messages(&request(100, false)).await;
    assert_eq!(whole.status, 200);
    let events = gw.client().events(&request(100, true)).await;
    assert_eq!(events.last().unwrap().event, "message_stop");
    assert_eq!(spent_reaching(gw.data_dir(), "global", 0.10), 0.10);
    let costs: Vec<f64> = rows(gw.data_dir(), 2)
        .iter()
        .map(|r| r["cost"].as_f64().unwrap())
        .collect();
    assert_eq!(costs, [0.05, 0.05]);
}

// Multi-threaded: the test blocks while it waits for the row, and the mock and the client's
// hang-up must go on meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_the_client_cuts_is_charged_its_input_and_the_output_it_got() {
    // The provider sends the start of an answer, then more, slowly: the client gives up
    // after the first words (and bgw sees it has gone at its next write).
    let mut parts = openai::opening_parts(MODEL, "The first words of a long answer");
    for _ in 0..100 {
        parts.push(Part::Sleep(Duration::from_millis(100)));
        parts.push(Part::Bytes(openai::text(MODEL, " more").into()));
    }
    let mock = Mock::start([Reply::sse_parts(parts)]).await;
    let gw = gateway(&mock);
    bgw_price(gw.data_dir(), "1000", "1000");
    bgw(gw.data_dir(), &["budget", "set", "global", "10/month"]);
    let mut stream = gw.client().messages(&request(100, true)).await.sse();
    while let Some(e) = stream.next().await {
        if e.event == "content_block_delta" {
            break;
        }
    }
    stream.hang_up();
    let row = rows(gw.data_dir(), 1).remove(0);
    assert_eq!(row["error"]["kind"], "client_closed", "{row}");
    let (input, output) = (
        row["usage"]["input_tokens"].as_u64().unwrap(),
        row["usage"]["output_tokens"].as_u64().unwrap(),
    );
    assert!(input > 20, "the input was estimated from the body: {row}");
    assert!(
        (5..=12).contains(&output),
        "the output the client got: {row}"
    );
    let cost = row["cost"].as_f64().unwrap();
    assert_eq!(cost, (input + output) as f64 * 0.001);
    assert_eq!(spent_reaching(gw.data_dir(), "global", cost), cost);
}

#[tokio::test]
async fn cache_writes_and_reads_are_charged_at_their_own_prices() {
    // Claude Sonnet 4.5: input $3, output $15, cache reads $0.30, 1-hour cache writes $6.
    let mut message = anthropic::message("claude-sonnet-4-5", "Hi.");
    message["usage"] = json!({
        "input_tokens": 1000, "output_tokens": 500,
        "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 4000,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 2000}
    });
    let mock = Mock::start([Reply::json(200, &message)]).await;
    let gw = Bgw::setup()
        .provider("anthropic", Some("sk-ant-test-0000000000"), &mock.url())
        .start();
    bgw(gw.data_dir(), &["budget", "set", "global", "10/month"]);
    let mut body = messages_request("claude-sonnet-4-5", false);
    body["system"][0]["cache_control"] = json!({"type": "ephemeral", "ttl": "1h"});
    assert_eq!(gw.client().messages(&body).await.status, 200);
    // 1000 × $3 + 2000 × $6 + 4000 × $0.30 + 500 × $15, per million.
    let want = 0.0237;
    assert!((spent_reaching(gw.data_dir(), "global", want) - want).abs() < 1e-9);
}

#[tokio::test]
async fn spend_survives_the_store_owner_and_the_gateway_being_killed() {
    let mock = upstream(50).await;
    let gw = gateway(&mock);
    let dir = gw.data_dir().to_owned();
    bgw(&dir, &["budget", "set", "global", "10/month"]);
    for _ in 0..3 {
        assert_eq!(gw.client().messages(&request(100, false)).await.status, 200);
    }
    assert_eq!(spent_reaching(&dir, "global", 0.15), 0.15);

    kill9(owner_pid(&dir));
    assert_eq!(spent_reaching(&dir, "global", 0.15), 0.15);
    assert_eq!(gw.client().messages(&request(100, false)).await.status, 200);
    assert_eq!(spent_reaching(&dir, "global", 0.20), 0.20);

    // (`gw` keeps the data dir, which goes with it.)
    kill9(gw.pid());
    let again = Bgw::serve_at(&dir, &[]);
    assert_eq!(spent_reaching(&dir, "global", 0.20), 0.20);
    assert_eq!(
        again.client().messages(&request(100, false)).await.status,
        200
    );
    assert_eq!(spent_reaching(&dir, "global", 0.25), 0.25);
}

fn kill9(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// 50 streams at once from two gateways sharing one budget whose worst cases fit 10 of them:
/// exactly 10 are served, each is charged once, and the ledger stays within the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_streams_from_two_gateways_never_overspend() {
    // Each answer streams for two seconds, so every admission is decided while all the
    // admitted requests still hold their worst case.
    let mock = Mock::answering(|_| {
        let mut parts = vec![Part::Bytes(openai::role(MODEL).into())];
        for _ in 0..10 {
            parts.push(Part::Sleep(Duration::from_millis(200)));
            parts.push(Part::Bytes(openai::text(MODEL, "tick").into()));
        }
        parts.push(Part::Bytes(openai::end(MODEL, "stop", 100, 50).into()));
        Reply::sse_parts(parts)
    })
    .await;
    let a = gateway(&mock);
    let dir = a.data_dir().to_owned();
    let b = Bgw::serve_at(&dir, &[]);
    // Worst case $0.10 each: $1.05 holds 10 of them; each costs $0.05 in the end.
    bgw(&dir, &["budget", "set", "global", "1.05/month"]);

    let mut tasks = Vec::new();
    for i in 0..50 {
        let client = if i % 2 == 0 { a.client() } else { b.client() };
        tasks.push(tokio::spawn(async move {
            let resp = client.messages(&request(100, true)).await;
            let status = resp.status;
            if status == 200 {
                let events = resp.sse().all().await;
                assert_eq!(events.last().unwrap().event, "message_stop");
            }
            status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let served = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((served, refused), (10, 40), "{statuses:?}");
    assert_eq!(mock.requests().len(), 10);
    assert_eq!(spent_reaching(&dir, "global", 0.50), 0.50);
    drop(b);
}

#[tokio::test]
async fn a_stream_that_costs_more_than_its_worst_case_is_allowed_to_finish() {
    // The provider writes 200 tokens where `max_tokens` allowed 100: a stream that crosses the
    // limit is not cut; it is charged what it cost, and the budget then refuses.
    let mock = upstream(200).await;
    let gw = gateway(&mock);
    bgw(gw.data_dir(), &["budget", "set", "global", "0.12/month"]);
    let events = gw.client().events(&request(100, true)).await;
    assert_eq!(events.last().unwrap().event, "message_stop");
    assert_eq!(spent_reaching(gw.data_dir(), "global", 0.20), 0.20);
    let refused = gw.client().messages(&request(100, false)).await;
    let message = support::expect_error(refused, 429, "rate_limit_error").await;
    assert_contains(&message, "is spent: $0.2000 of $0.1200 this month");
}

#[tokio::test]
async fn a_token_limit_on_a_provider_key_counts_input_and_output() {
    let mock = upstream(50).await;
    let gw = gateway(&mock);
    // The OpenAI key is named `openai`: 300 tokens a day, 150 a request (100 in, 50 out).
    bgw(
        gw.data_dir(),
        &[
            "budget",
            "set",
            "provider-key",
            "openai",
            "--tokens",
            "300/day",
        ],
    );
    for _ in 0..2 {
        assert_eq!(gw.client().messages(&request(100, false)).await.status, 200);
    }
    let refused = gw.client().messages(&request(100, false)).await;
    assert!(refused.header("retry-after").is_some());
    let message = support::expect_error(refused, 429, "rate_limit_error").await;
    assert_contains(
        &message,
        "the rate limit of provider-key openai is reached: 300 of 300 tokens per day",
    );
    assert_eq!(mock.requests().len(), 2);
}
