//! `bgw budget` as a person uses it: setting, listing (table and JSON), removing, and every
//! mistake refused with a clear line before anything is stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Output;
use support::assert_contains;
use support::bgw::command;

fn bgw(data: &Path, args: &[&str]) -> Output {
    command(data).args(args).output().unwrap()
}

/// Runs `bgw ARGS…`, which must succeed: stdout and stderr.
#[track_caller]
fn ok(data: &Path, args: &[&str]) -> (String, String) {
    let o = bgw(data, args);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "`bgw {}`: {err}", args.join(" "));
    (out, err)
}

/// Runs `bgw ARGS…`, which must fail with `code`: its stderr.
#[track_caller]
fn fails(data: &Path, args: &[&str], code: i32) -> String {
    let o = bgw(data, args);
    assert_eq!(o.status.code(), Some(code), "`bgw {}`", args.join(" "));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn listed(data: &Path) -> Vec<Value> {
    serde_json::from_str(&ok(data, &["budget", "--json"]).0).unwrap()
}

#[test]
fn a_team_budget_is_set_listed_changed_and_removed() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let (_, err) = ok(d, &["budget", "set", "team", "eng", "500/month"]);
    assert_contains(&err, "made team `eng`");
    assert_contains(&err, "team eng: $500.00/month, resets ");
    assert_contains(&err, "00:00 UTC");
    // Setting it again says what it replaces, and makes no team twice.
    let (_, err) = ok(d, &["budget", "set", "team", "eng", "$600.50/month"]);
    assert_contains(&err, "team eng: $600.50/month (was $500.00/month)");
    assert!(!err.contains("made team"), "{err}");
    // A rate limit beside it, and a time zone for its calendar periods.
    let (_, err) = ok(
        d,
        &[
            "budget",
            "set",
            "team",
            "eng",
            "--rate",
            "60/min",
            "--tz",
            "Asia/Shanghai",
        ],
    );
    assert_contains(&err, "team eng: 60 requests/minute, resets ");
    assert_contains(&err, " Asia/Shanghai");

    let rows = listed(d);
    assert_eq!(rows.len(), 2);
    let money = &rows[0];
    assert_eq!(
        (
            money["scope"].as_str(),
            money["name"].as_str(),
            money["metric"].as_str()
        ),
        (Some("team"), Some("eng"), Some("usd"))
    );
    assert_eq!(money["limit"], 600_500_000_000u64);
    assert_eq!(money["spent"], 0);
    assert_eq!(money["period"], "month");
    assert_eq!(money["tz"], "Asia/Shanghai");
    assert_eq!(money["warn_pct"], 80);
    // A month in Shanghai starts at 16:00 UTC the day before the 1st.
    assert!(
        money["window_start"]
            .as_str()
            .unwrap()
            .ends_with("T16:00:00Z"),
        "{money}"
    );
    assert_eq!(rows[1]["metric"], "requests");

    let (table, _) = ok(d, &["budget"]);
    assert_contains(&table, "SCOPE  NAME  LIMIT");
    assert_contains(&table, "team   eng   $600.50/month");
    assert_contains(&table, "░░░░░░░░░░░░░░░░░░░░   0%");

    ok(d, &["budget", "rm", "team", "eng"]);
    assert!(listed(d).is_empty());
    let err = fails(d, &["budget", "rm", "team", "eng"], 1);
    assert_contains(&err, "team eng has no budget");
}

#[test]
fn every_mistake_is_refused_before_anything_is_stored() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    for (args, says) in [
        (
            &["budget", "set", "team", "eng", "500"][..],
            "has no period: add one such as `/month`",
        ),
        (
            &["budget", "set", "team", "eng", "500/m"],
            "write `month` or `minute`",
        ),
        (
            &["budget", "set", "team", "eng", "-5/day"],
            "unexpected argument '-5' found",
        ),
        (
            &["budget", "set", "team", "eng", "5/day", "--tz", "Mars/Base"],
            "unknown time zone `Mars/Base`",
        ),
        (
            &["budget", "set", "team", "eng", "--rate", "60"],
            "`--rate`: `60` has no period",
        ),
        (
            &[
                "budget", "set", "team", "eng", "5/day", "--tokens", "lots/day",
            ],
            "`--tokens`",
        ),
        (
            &["budget", "set", "team", "e ng", "5/day"],
            "not a valid team name",
        ),
        (
            &["budget", "set", "team"],
            "which team? name it after `team`",
        ),
        (
            &["budget", "set", "global", "eng", "5/day"],
            "`global` takes no name",
        ),
        (
            &["budget", "set", "org", "eng", "5/day"],
            "`org` is not a budget scope",
        ),
        (
            &["budget", "set", "session", "x", "5/day"],
            "`bgw run --budget 5`",
        ),
        (
            &["budget", "set", "key", "alice", "20/day"],
            "no virtual key `alice`",
        ),
        (
            &["budget", "set", "provider-key", "nope", "--rate", "5/min"],
            "no provider key `nope`",
        ),
        (
            &["budget", "set", "team", "eng"],
            "nothing to set for team eng",
        ),
    ] {
        let err = fails(d, args, 2);
        assert_contains(&err, says);
    }
    assert!(listed(d).is_empty());
    let (_, err) = ok(d, &["budget"]);
    assert_contains(
        &err,
        "no budgets yet; set one with `bgw budget set team eng 500/month`",
    );
}

#[test]
fn a_budget_for_a_provider_bgw_does_not_know_is_kept_with_a_warning() {
    let data = tempfile::tempdir().unwrap();
    let (_, err) = ok(
        data.path(),
        &["budget", "set", "provider", "my-vllm", "10/week"],
    );
    assert_contains(&err, "warning: no provider `my-vllm` is configured yet");
    assert_contains(&err, "provider my-vllm: $10.00/week");
    ok(
        data.path(),
        &["budget", "set", "global", "1000/30d", "--warn", "90"],
    );
    let rows = listed(data.path());
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[1]["scope"].as_str(), rows[1]["warn_pct"].as_u64()),
        (Some("global"), Some(90))
    );
    assert_eq!(rows[1]["period"], "30d");
}
