//! Routing rules, end to end: `bgw route` against the real store, and a running `bgw serve`
//! that uses rules added, changed and removed while it runs, with mock upstreams.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::path::Path;
use support::bgw::log_rows;
use support::{Bgw, Mock, Reply, assert_contains, messages_request, openai};

const GROQ_MODEL: &str = "llama-3.3-70b-versatile";

fn bgw(dir: &Path, args: &[&str]) -> std::process::Output {
    support::bgw::command(dir).args(args).output().unwrap()
}

/// Runs `bgw ARGS`, which must succeed; its stdout and stderr.
fn ok(dir: &Path, args: &[&str]) -> (String, String) {
    let out = bgw(dir, args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "bgw {args:?} failed: {stderr}");
    (stdout, stderr)
}

/// Runs `bgw ARGS`, which must fail with exit code 2; its stderr.
fn refused(dir: &Path, args: &[&str]) -> String {
    let out = bgw(dir, args);
    assert_eq!(out.status.code(), Some(2), "bgw {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn answering(text: &'static str, model: &'static str) -> impl Fn(&support::Recorded) -> Reply {
    move |_| openai::reply(model, text, 12, 3)
}

/// A gateway with `openai` at one mock and `groq` at another.
async fn two_providers() -> (Bgw, Mock, Mock) {
    let a = Mock::answering(answering("from openai", "gpt-4o-mini")).await;
    let b = Mock::answering(answering("from groq", GROQ_MODEL)).await;
    let gw = Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &a.at("/v1"))
        .provider("groq", Some("gsk-test-groq-0000000"), &b.at("/v1"))
        .start();
    (gw, a, b)
}

async fn ask(gw: &Bgw, headers: &[(&str, &str)]) -> support::Response {
    let body = messages_request("openai/gpt-4o-mini", false).to_string();
    gw.client().post("/v1/messages", headers, body).await
}

#[test]
fn a_condition_is_checked_when_the_rule_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let typo = refused(
        d,
        &[
            "route",
            "add",
            "low",
            "--when",
            "budget.usd_pct > 85.0",
            "--to",
            "openai/gpt-4o-mini",
        ],
    );
    assert_contains(&typo, "unknown variable `budget.usd_pct` at column 1");
    assert_contains(&typo, "did you mean `budget.used_pct`?");
    let syntax = refused(
        d,
        &[
            "route",
            "add",
            "x",
            "--when",
            "model == \"a\" &&",
            "--to",
            "openai/gpt-4o-mini",
        ],
    );
    assert_contains(&syntax, "syntax error");
    assert_contains(&syntax, "column 16");
    let typed = refused(
        d,
        &[
            "route",
            "add",
            "x",
            "--when",
            "model > 3",
            "--to",
            "openai/gpt-4o-mini",
        ],
    );
    assert_contains(&typed, "model > 3");
    let provider = refused(
        d,
        &["route", "add", "x", "--when", "true", "--to", "nope/m"],
    );
    assert_contains(&provider, "unknown provider `nope`");
    let weights = refused(
        d,
        &[
            "route",
            "add",
            "x",
            "--when",
            "true",
            "--to",
            "openai/a=70,groq/b",
        ],
    );
    assert_contains(&weights, "has no weight");
    let (out, _) = ok(d, &["route", "list", "--json"]);
    assert_eq!(out, "", "nothing was stored");
}

#[test]
fn rules_are_listed_shown_toggled_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "route",
            "add",
            "ab-test",
            "--when",
            "tier == \"sonnet\"",
            "--to",
            "openai/gpt-4o=0.7,groq/llama-3.1-70b-versatile=0.3",
        ],
    );
    ok(
        d,
        &[
            "route",
            "add",
            "late",
            "--when",
            "time.hour >= 22",
            "--to",
            "openai/gpt-4o-mini",
            "--priority",
            "5",
        ],
    );
    let (shown, _) = ok(d, &["route", "show", "ab-test", "--json"]);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["to"][0]["weight"], 0.7);
    assert_eq!(shown["to"][1]["target"], "groq/llama-3.1-70b-versatile");
    let names = |d: &Path| -> Vec<String> {
        ok(d, &["route", "list", "--json"])
            .0
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(names(d), ["late", "ab-test"], "higher priority first");
    ok(d, &["route", "disable", "late"]);
    assert_eq!(names(d), ["ab-test", "late"], "a disabled rule comes last");
    let (table, _) = ok(d, &["route", "list"]);
    assert_contains(
        &table,
        "openai/gpt-4o 70%, groq/llama-3.1-70b-versatile 30%",
    );
    ok(d, &["route", "rm", "late"]);
    assert_eq!(names(d), ["ab-test"]);
    let gone = bgw(d, &["route", "rm", "late"]);
    assert_eq!(gone.status.code(), Some(1));
}

#[tokio::test]
async fn a_rule_added_while_the_gateway_runs_routes_the_next_request() {
    let (gw, a, b) = two_providers().await;
    let review = [("x-task", "review")];
    let resp = ask(&gw, &review).await;
    assert_eq!(resp.header("x-bgw-provider"), Some("openai"));
    ok(
        gw.data_dir(),
        &[
            "route",
            "add",
            "reviews",
            "--when",
            "\"x-task\" in headers && headers[\"x-task\"] == \"review\"",
            "--to",
            &format!("groq/{GROQ_MODEL}"),
        ],
    );
    let resp = ask(&gw, &review).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-bgw-provider"), Some("groq"));
    assert_eq!(resp.header("x-bgw-model"), Some(GROQ_MODEL));
    assert_eq!(resp.header("x-bgw-rule"), Some("reviews"));
    // Without the header the rule does not match.
    assert_eq!(ask(&gw, &[]).await.header("x-bgw-provider"), Some("openai"));
    ok(gw.data_dir(), &["route", "disable", "reviews"]);
    assert_eq!(
        ask(&gw, &review).await.header("x-bgw-provider"),
        Some("openai")
    );
    assert_eq!(b.requests().len(), 1);
    assert_eq!(a.requests().len(), 3);
    let row = log_rows(gw.data_dir(), 4)[0].clone();
    assert!(row.get("rule").is_none(), "{row}");
}

#[tokio::test]
async fn a_rules_fallback_serves_when_its_target_fails() {
    let a = Mock::answering(|_| {
        Reply::json(
            503,
            &openai::error("The server is overloaded", "server_error", None),
        )
    })
    .await;
    let b = Mock::answering(answering("from groq", GROQ_MODEL)).await;
    let gw = Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &a.at("/v1"))
        .provider("groq", Some("gsk-test-groq-0000000"), &b.at("/v1"))
        .start();
    ok(
        gw.data_dir(),
        &[
            "route",
            "add",
            "resilient",
            "--when",
            "model == \"openai/gpt-4o-mini\"",
            "--to",
            "openai/gpt-4o-mini",
            "--fallback",
            &format!("groq/{GROQ_MODEL}"),
        ],
    );
    let resp = ask(&gw, &[]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-bgw-provider"), Some("groq"));
    let row = log_rows(gw.data_dir(), 1)[0].clone();
    assert_eq!(row["rule"], "resilient");
    assert_eq!(row["provider"], "groq");
    let statuses: Vec<Value> = row["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses, [Value::from(503), Value::from(200)]);
}

#[tokio::test]
async fn a_weighted_split_keeps_each_session_on_one_target_and_spreads_the_rest() {
    let (gw, a, b) = two_providers().await;
    ok(
        gw.data_dir(),
        &[
            "route",
            "add",
            "split",
            "--when",
            "true",
            "--to",
            &format!("openai/gpt-4o-mini=70,groq/{GROQ_MODEL}=30"),
        ],
    );
    let body = messages_request("openai/gpt-4o-mini", false).to_string();
    for session in ["s-1", "s-2", "s-3"] {
        let (a0, b0) = (a.requests().len(), b.requests().len());
        for _ in 0..10 {
            let headers = [("x-claude-code-session-id", session)];
            assert_eq!(
                gw.client()
                    .post("/v1/messages", &headers, body.clone())
                    .await
                    .status,
                200
            );
        }
        let (da, db) = (a.requests().len() - a0, b.requests().len() - b0);
        assert!(
            (da, db) == (10, 0) || (da, db) == (0, 10),
            "{session}: {da} on openai, {db} on groq"
        );
    }
    for _ in 0..60 {
        gw.client().post("/v1/messages", &[], body.clone()).await;
    }
    assert!(
        a.requests().len() > 10 && b.requests().len() > 3,
        "{} / {}",
        a.requests().len(),
        b.requests().len()
    );
}

#[test]
fn route_test_says_which_rule_matches_and_why_the_others_did_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["keys", "add", "openai", "--value", "sk-test-openai-000000"],
    );
    ok(
        d,
        &["keys", "add", "groq", "--value", "gsk-test-groq-0000000"],
    );
    ok(
        d,
        &[
            "route",
            "add",
            "big",
            "--when",
            "tokens.input > 100000",
            "--to",
            &format!("groq/{GROQ_MODEL}"),
            "--priority",
            "9",
        ],
    );
    ok(
        d,
        &[
            "route",
            "add",
            "reviews",
            "--when",
            "\"x-task\" in headers && headers[\"x-task\"] == \"review\"",
            "--to",
            "openai/gpt-4o",
            "--fallback",
            &format!("groq/{GROQ_MODEL}"),
        ],
    );
    let (out, _) = ok(
        d,
        &[
            "route",
            "test",
            "--model",
            "openai/gpt-5",
            "--header",
            "x-task=review",
            "--tokens",
            "12000",
        ],
    );
    assert_contains(
        &out,
        "no    big                  false: tokens.input > 100000",
    );
    assert_contains(&out, "yes   reviews");
    assert_contains(
        &out,
        "1. openai/gpt-4o (key openai)\n  2. groq/llama-3.3-70b-versatile (key groq)",
    );
    ok(
        d,
        &[
            "route",
            "add",
            "nokey",
            "--when",
            "model == \"openai/gpt-4.1\"",
            "--to",
            "openai/gpt-4.1",
            "--fallback",
            "mistral/mistral-large-latest",
        ],
    );
    let (out, _) = ok(d, &["route", "test", "--model", "openai/gpt-4.1"]);
    assert_contains(
        &out,
        "(mistral/mistral-large-latest is skipped: no key for provider `mistral`)",
    );
    let (out, _) = ok(d, &["route", "test", "--model", "openai/gpt-5"]);
    assert_contains(&out, "no rule matches");
    assert_contains(&out, "1. openai/gpt-5 (key openai)");
}

#[tokio::test]
async fn a_rule_that_fails_to_evaluate_is_skipped_and_logged_never_failing_the_request() {
    let (gw, a, b) = two_providers().await;
    // No guard: without the header, `headers["x-task"]` has no value to compare.
    ok(
        gw.data_dir(),
        &[
            "route",
            "add",
            "unguarded",
            "--when",
            "headers[\"x-task\"] == \"review\"",
            "--to",
            &format!("groq/{GROQ_MODEL}"),
        ],
    );
    let resp = ask(&gw, &[]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-bgw-provider"), Some("openai"));
    let row = log_rows(gw.data_dir(), 1)[0].clone();
    assert!(row.get("rule").is_none());
    assert_contains(
        row["rule_errors"][0].as_str().unwrap(),
        "rule `unguarded` skipped",
    );
    assert_eq!((a.requests().len(), b.requests().len()), (1, 0));
    // With the header it matches.
    assert_eq!(
        ask(&gw, &[("x-task", "review")]).await.header("x-bgw-rule"),
        Some("unguarded")
    );
}

#[tokio::test]
async fn a_fallback_with_a_provider_budget_outside_the_admitted_chain_is_not_tried() {
    let a = Mock::answering(|_| {
        Reply::json(
            503,
            &openai::error("The server is overloaded", "server_error", None),
        )
    })
    .await;
    let b = Mock::answering(answering("from groq", GROQ_MODEL)).await;
    let gw = Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &a.at("/v1"))
        .provider("groq", Some("gsk-test-groq-0000000"), &b.at("/v1"))
        .serve_args(&["--max-attempts", "2"])
        .start();
    ok(
        gw.data_dir(),
        &[
            "route",
            "add",
            "resilient",
            "--when",
            "true",
            "--to",
            "openai/gpt-4o-mini",
            "--fallback",
            &format!("groq/{GROQ_MODEL}"),
        ],
    );
    ok(
        gw.data_dir(),
        &["budget", "set", "provider", "groq", "10/month"],
    );
    let resp = ask(&gw, &[]).await;
    assert_eq!(resp.status, 503);
    assert_eq!(
        b.requests().len(),
        0,
        "groq's budget was not checked for this request"
    );
    let row = log_rows(gw.data_dir(), 1)[0].clone();
    let skipped = row["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["provider"] == "groq")
        .unwrap();
    assert_contains(
        skipped["error"].as_str().unwrap(),
        "not tried: a budget of its own (provider groq) was not checked",
    );
}
