//! What checking a request against its budgets costs on the request path: finding the
//! budgets on its chain, bounding its worst case from the body (the Claude Code fixture's
//! 49 KB), and reserving that in each budget's slice. The store's owner runs as a thread of
//! this process; its round trips are counted apart, as they are not on every request's path
//! (a gateway asks only when its slice of a budget runs short).
//!
//! Printed: the percentiles of one admission (and of the part of it that bounds the request's
//! worst case from its body, and of one charge when a request ends), for a caller with budgets
//! on its key, team and in all (money and a rate limit) at 1,000 and 5,000 requests a second,
//! and for a caller with none; each body just copied (as a gateway has it, read from the
//! socket).
//! Run with `cargo bench --bench admit`; `BGW_BENCH_REQUESTS` sets the count.

// A benchmark stops at the first thing that is not as it should be.
#![allow(clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bgw::catalog::Pricing;
use bgw::govern::admit::{Budgets, Facts, admit};
use bgw::govern::lease::Leases;
use bgw::govern::period::{parse_count_limit, parse_money_limit};
use bgw::govern::scope::{BudgetId, Caller, Scope};
use bgw::messages::Usage;
use bgw::store::Store;
use bgw::store::logs::RequestId;

const FIXTURE: &str = "tests/fixtures/claude_code/request_first_turn.json";
/// Time between requests: 1,000 and 5,000 a second.
const PACES: [Duration; 2] = [Duration::from_micros(1000), Duration::from_micros(200)];

fn percentiles(name: &str, mut took: Vec<Duration>) {
    took.sort_unstable();
    let at = |p: f64| took[((took.len() as f64 * p) as usize).min(took.len() - 1)];
    println!(
        "{name:<34} p50 {:>7.1} µs   p99 {:>7.1} µs   p99.9 {:>7.1} µs   max {:>8.1} µs",
        at(0.50).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        at(0.999).as_secs_f64() * 1e6,
        took[took.len() - 1].as_secs_f64() * 1e6
    );
}

fn main() {
    let requests: usize = std::env::var("BGW_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let body = std::fs::read(FIXTURE).expect("the Claude Code fixture");
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = Store::new(dir.path());
    for (scope, name) in [
        (Scope::Key, "alice"),
        (Scope::Team, "eng"),
        (Scope::Global, ""),
    ] {
        store
            .edit_budget(&BudgetId::new(scope, name), |r| {
                r.money = Some(parse_money_limit("1000000/month").expect("a limit"));
                r.requests = Some(parse_count_limit("100M/minute").expect("a limit"));
                Ok(())
            })
            .expect("budgets set");
    }
    let budgets = Budgets::new(store.budgets().expect("budgets read"));
    let pricing = Arc::new(Pricing::builtin());
    let leases = Leases::start(&store);
    let alice = Caller {
        key: Some("alice".into()),
        team: Some("eng".into()),
        customer: None,
    };
    let nobody = Caller::default();
    let usage = Usage {
        input_tokens: 12_000,
        output_tokens: 800,
        ..Usage::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let none = Budgets::default();
        for (name, caller, budgets, pace) in [
            ("budgets, 1,000/s", &alice, &budgets, PACES[0]),
            ("budgets, 5,000/s", &alice, &budgets, PACES[1]),
            ("no budget on the chain", &nobody, &none, PACES[0]),
        ] {
            let start = Instant::now();
            let mut admitting = Vec::with_capacity(requests);
            let mut facting = Vec::with_capacity(requests);
            let mut charging = Vec::with_capacity(requests);
            for i in 0..requests {
                // The body as a gateway has it: just read from the socket into a buffer.
                let received = body.clone();
                let body = &received;
                let t = Instant::now();
                // As the gateway does it (`gateway::spend`): no budget, nothing more to do.
                let chain = budgets.chain(None, caller, "anthropic", None);
                let admitted = if chain.is_empty() {
                    None
                } else {
                    let tf = Instant::now();
                    let facts = Facts::of(body, "anthropic", "claude-sonnet-4-5", &pricing);
                    facting.push(tf.elapsed());
                    admit(&leases, &chain, &facts, bgw::store::now_ms())
                        .await
                        .expect("admitted")
                };
                admitting.push(t.elapsed());
                let t = Instant::now();
                if let Some(a) = admitted {
                    let cost = pricing.cost("anthropic", "claude-sonnet-4-5", &usage);
                    a.settle(RequestId::new(i as u64), &usage, cost, true);
                }
                charging.push(t.elapsed());
                // At a busy gateway's pace; every request's charge is committed by the owner
                // (a thread here), on the same two cores.
                let next = start + pace * (i as u32 + 1);
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            percentiles(&format!("admit ({name})"), admitting);
            if !facting.is_empty() {
                percentiles("  of which bounding the body", facting);
            }
            percentiles(&format!("charge ({name})"), charging);
        }
    });
    assert!(leases.flush(Duration::from_secs(30)), "charges written");
}
