//! `bgw keys virtual` as a person uses it (a secret shown once, limits, clear refusals), and
//! what a running `bgw serve` then does with the keys it made.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};
use support::bgw::command;
use support::{Bgw, Mock, Recorded, assert_contains, expect_error, messages_request, openai};

const MODEL: &str = "gpt-4o-mini";
const REQUESTED: &str = "openai/gpt-4o-mini";
const PROVIDER_KEY: &str = "sk-test-openai-vkeys-0000";

fn bgw(data: &Path, args: &[&str]) -> Output {
    command(data).args(args).output().unwrap()
}

fn out(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs `bgw ARGS…`, which must succeed; its stdout and stderr.
#[track_caller]
fn ok(data: &Path, args: &[&str]) -> (String, String) {
    let o = bgw(data, args);
    let (stdout, stderr) = out(&o);
    assert!(
        o.status.success(),
        "`bgw {}` failed: {stderr}",
        args.join(" ")
    );
    (stdout, stderr)
}

/// Runs `bgw ARGS…`, which must fail with `code`; its stderr.
#[track_caller]
fn fails(data: &Path, args: &[&str], code: i32) -> String {
    let o = bgw(data, args);
    let (stdout, stderr) = out(&o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "`bgw {}`: stdout {stdout:?} stderr {stderr:?}",
        args.join(" ")
    );
    assert_eq!(stdout, "", "a failure printed data");
    stderr
}

/// `bgw keys virtual create NAME ARGS…`: the secret it printed, checked to be alone on stdout.
#[track_caller]
fn create(data: &Path, name: &str, args: &[&str]) -> (String, String) {
    let mut all = vec!["keys", "virtual", "create", name];
    all.extend_from_slice(args);
    let (stdout, stderr) = ok(data, &all);
    let secret = one_secret(&stdout);
    assert!(!stderr.contains(&secret), "the secret went to stderr too");
    (secret, stderr)
}

/// The secret `create` or `rotate` printed: one line, `bgw-vk-` and 32 letters and digits.
#[track_caller]
fn one_secret(stdout: &str) -> String {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout is not one line: {stdout:?}");
    let secret = lines[0];
    assert!(
        secret.len() == 39
            && secret.starts_with("bgw-vk-")
            && secret[7..].bytes().all(|b| b.is_ascii_alphanumeric()),
        "not a virtual key: {secret:?}"
    );
    secret.to_owned()
}

/// `bgw keys virtual show NAME --json`.
#[track_caller]
fn show_json(data: &Path, name: &str) -> Value {
    let (stdout, _) = ok(data, &["keys", "virtual", "show", name, "--json"]);
    serde_json::from_str(&stdout).unwrap()
}

/// `bgw keys virtual list --json`.
#[track_caller]
fn list_json(data: &Path) -> Vec<Value> {
    let (stdout, _) = ok(data, &["keys", "virtual", "list", "--json"]);
    serde_json::from_str(&stdout).unwrap()
}

/// SHA-256 hex, as the store keeps a secret.
fn sha256_hex(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the store file holds `needle`. redb writes its pages in place, so the file can be
/// read while the store's owner runs; the key's hash showing up first proves the record is
/// there to be searched, whether the owner has gone or not.
fn store_holds(data: &Path, needle: &str) -> bool {
    let raw = std::fs::read(data.join("bgw.redb")).unwrap();
    raw.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn create_prints_the_secret_once_and_nothing_else_shows_it() {
    let data = tempfile::tempdir().unwrap();
    let (secret, stderr) = create(data.path(), "alice", &["--expires", "2099-01-01"]);
    assert_contains(&stderr, "created virtual key `alice`");
    assert_contains(&stderr, "only time the key is shown");
    assert_contains(
        &stderr,
        "ANTHROPIC_API_KEY=bgw-vk-… ANTHROPIC_BASE_URL=http://HOST:PORT claude",
    );
    assert_contains(&stderr, "ANTHROPIC_CUSTOM_HEADERS='x-bgw-key: bgw-vk-…'");
    let hash = sha256_hex(&secret);
    let hint = &secret[35..];

    let mut seen = String::new();
    for args in [
        &["keys", "virtual", "list"][..],
        &["keys", "virtual", "list", "--json"],
        &["keys", "virtual", "show", "alice"],
        &["keys", "virtual", "show", "alice", "--json"],
        &["keys", "virtual", "--help"],
        &["keys", "virtual", "create", "--help"],
        &["keys", "list"],
    ] {
        let (stdout, stderr) = ok(data.path(), args);
        seen.push_str(&stdout);
        seen.push_str(&stderr);
    }
    assert!(
        !seen.contains(&secret),
        "the secret was shown again: {seen}"
    );
    assert!(!seen.contains(&hash), "the hash was shown: {seen}");
    assert!(
        !seen.contains(&secret[7..20]),
        "part of the secret shown: {seen}"
    );

    let (table, _) = ok(data.path(), &["keys", "virtual", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    for column in [
        "NAME",
        "TEAM",
        "CUSTOMER",
        "KEY",
        "MODELS",
        "PROVIDERS",
        "BUDGET",
        "STATUS",
        "CREATED",
    ] {
        assert_contains(lines[0], column);
    }
    assert_contains(lines[1], &format!("bgw-vk-…{hint}"));
    assert_contains(lines[1], "expires 2099-01-01");

    let listed = list_json(data.path());
    assert_eq!(listed.len(), 1);
    let key = &listed[0];
    assert_eq!(key["name"], "alice");
    assert_eq!(key["key"], format!("bgw-vk-…{hint}"));
    assert_eq!(key["status"], "active");
    assert_eq!(key["expires"], "2099-01-01T00:00:00Z");
    assert!(key.get("hash").is_none(), "{key}");
    assert_eq!(show_json(data.path(), "alice"), *key);

    // The store keeps the hash and never the secret.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !store_holds(data.path(), &hash) {
        assert!(
            Instant::now() < deadline,
            "the key's hash never reached the store file"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !store_holds(data.path(), &secret),
        "the secret is in the store file"
    );
    assert!(
        !store_holds(data.path(), &secret[7..]),
        "the secret is in the store file"
    );
}

#[test]
fn an_empty_list_says_how_to_make_a_key() {
    let data = tempfile::tempdir().unwrap();
    let (stdout, stderr) = ok(data.path(), &["keys", "virtual", "list"]);
    assert_eq!(stdout, "");
    assert_contains(&stderr, "no virtual keys yet");
    assert_contains(&stderr, "`bgw keys virtual create NAME`");
    assert_eq!(list_json(data.path()), Vec::<Value>::new());
}

#[test]
fn teams_and_customers_are_made_by_the_first_key_that_names_them() {
    let data = tempfile::tempdir().unwrap();
    let (_, stderr) = create(
        data.path(),
        "alice",
        &["--team", "eng", "--customer", "acme"],
    );
    assert_contains(&stderr, "made team `eng`");
    assert_contains(&stderr, "made customer `acme`");
    let (_, stderr) = create(data.path(), "bob", &["--team", "eng"]);
    assert!(!stderr.contains("made team"), "{stderr}");
    let bob = show_json(data.path(), "bob");
    assert_eq!(
        (bob["team"].as_str(), bob["customer"].as_str()),
        (Some("eng"), None)
    );
    let (text, _) = ok(data.path(), &["keys", "virtual", "show", "alice"]);
    assert_contains(&text, "team:      eng\n");
    assert_contains(&text, "customer:  acme\n");
}

#[test]
fn budget_rate_and_tokens_land_in_the_keys_budget() {
    let data = tempfile::tempdir().unwrap();
    create(
        data.path(),
        "alice",
        &[
            "--models",
            "openai/*,claude-sonnet-4-5",
            "--providers",
            "openai,groq",
            "--budget",
            "50/month",
            "--rate",
            "60/min",
            "--tokens",
            "2M/day",
            "--tokens",
            "100M/month",
        ],
    );
    let key = show_json(data.path(), "alice");
    assert_eq!(
        key["budget"],
        serde_json::json!({"usd": 50.0, "period": "month"})
    );
    assert_eq!(
        key["rate"],
        serde_json::json!({"requests": 60, "period": "minute"})
    );
    assert_eq!(
        key["tokens"],
        serde_json::json!([
            {"tokens": 2_000_000, "period": "day"},
            {"tokens": 100_000_000, "period": "month"}
        ])
    );
    assert_eq!(
        key["models"],
        serde_json::json!(["openai/*", "claude-sonnet-4-5"])
    );
    assert_eq!(key["providers"], serde_json::json!(["openai", "groq"]));
    let (text, _) = ok(data.path(), &["keys", "virtual", "show", "alice"]);
    assert_contains(&text, "budget:    $50.00/month\n");
    assert_contains(&text, "rate:      60 requests/minute\n");
    assert_contains(
        &text,
        "tokens:    2,000,000 tokens/day, 100,000,000 tokens/month\n",
    );
    let (table, _) = ok(data.path(), &["keys", "virtual", "list"]);
    assert_contains(&table, "$50.00/month");
    // The same record `bgw budget` shows and changes.
    let (budgets, _) = ok(data.path(), &["budget", "--json"]);
    let budgets: Vec<Value> = serde_json::from_str(&budgets).unwrap();
    let meters: Vec<(&str, &str, u64, &str)> = budgets
        .iter()
        .map(|b| {
            (
                b["scope"].as_str().unwrap(),
                b["name"].as_str().unwrap(),
                b["limit"].as_u64().unwrap(),
                b["metric"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        meters,
        [
            ("key", "alice", 50_000_000_000, "usd"),
            ("key", "alice", 60, "requests"),
            ("key", "alice", 2_000_000, "tokens"),
            ("key", "alice", 100_000_000, "tokens"),
        ]
    );

    // `rm` takes the limits with the key: one made again under the name starts without them.
    let (_, stderr) = ok(data.path(), &["keys", "virtual", "rm", "alice"]);
    assert_contains(&stderr, "removed virtual key `alice` and its limits");
    create(data.path(), "alice", &[]);
    let again = show_json(data.path(), "alice");
    assert_eq!(
        (&again["budget"], &again["rate"], &again["tokens"]),
        (&Value::Null, &Value::Null, &serde_json::json!([]))
    );
}

#[test]
fn bad_flags_fail_clearly_and_store_nothing() {
    let data = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 10] = [
        (
            &["alice", "--team", "eng", "--budget", "50"],
            "error: `--budget`: `50` has no period: add one such as `/month`",
        ),
        (
            &["alice", "--team", "eng", "--rate", "60/m"],
            "error: `--rate`: `m` is not a period: write `month` or `minute`",
        ),
        (
            &["alice", "--tokens", "2M/day", "--tokens", "3M/day"],
            "error: `--tokens` names the period `day` twice",
        ),
        (
            &["alice", "--team", "eng", "--expires", "-1d"],
            "error: `--expires -1d` is in the past",
        ),
        (
            &["alice", "--expires", "2020-01-01"],
            "error: `--expires 2020-01-01` is in the past (2020-01-01 00:00 UTC)",
        ),
        (
            &["alice", "--expires", "soon"],
            "error: `--expires soon` is not a time bgw reads",
        ),
        (
            &["al ice", "--team", "eng"],
            "error: `al ice` is not a valid virtual key name",
        ),
        (
            &["alice", "--team", "eng/eu"],
            "error: `--team`: `eng/eu` is not a valid team name",
        ),
        (
            &["alice", "--providers", "OpenAI"],
            "error: `--providers`: `OpenAI` is not a valid provider name",
        ),
        (
            &["alice", "--models", "open ai/*"],
            "error: `--models`: `open ai/*` holds a space",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["keys", "virtual", "create"];
        all.extend_from_slice(args);
        let stderr = fails(data.path(), &all, 2);
        assert_contains(&stderr, message);
        assert!(!stderr.contains("bgw-vk-"), "{stderr}");
        assert_eq!(
            list_json(data.path()),
            Vec::<Value>::new(),
            "{args:?} stored a key"
        );
    }
    let stderr = fails(
        data.path(),
        &["keys", "virtual", "create", "alice", "--expires", "later"],
        2,
    );
    assert_contains(
        &stderr,
        "hint: give a duration from now (`30d`, `12h`, `2w`)",
    );

    // Nothing was half-made: the team named by the failures is made only now.
    let (_, stderr) = create(data.path(), "alice", &["--team", "eng"]);
    assert_contains(&stderr, "made team `eng`");
    let stderr = fails(data.path(), &["keys", "virtual", "create", "alice"], 2);
    assert_contains(&stderr, "error: a virtual key named `alice` exists already");
    assert_contains(&stderr, "hint: see it with `bgw keys virtual show alice`");
}

#[test]
fn unknown_names_exit_1_with_a_hint() {
    let data = tempfile::tempdir().unwrap();
    for verb in ["show", "rotate", "disable", "enable", "rm"] {
        let stderr = fails(data.path(), &["keys", "virtual", verb, "nobody"], 1);
        assert_contains(&stderr, "error: no virtual key named `nobody`");
        assert_contains(&stderr, "hint: `bgw keys virtual list` shows the names");
    }
}

#[test]
fn disable_and_enable_say_what_changed_and_repeat_harmlessly() {
    let data = tempfile::tempdir().unwrap();
    create(data.path(), "alice", &[]);
    let (_, stderr) = ok(data.path(), &["keys", "virtual", "disable", "alice"]);
    assert_contains(&stderr, "disabled virtual key `alice`");
    assert_contains(&stderr, "`bgw keys virtual enable alice`");
    let (_, stderr) = ok(data.path(), &["keys", "virtual", "disable", "alice"]);
    assert_contains(
        &stderr,
        "virtual key `alice` is disabled already; nothing changed",
    );
    assert_eq!(show_json(data.path(), "alice")["status"], "disabled");
    let (table, _) = ok(data.path(), &["keys", "virtual", "list"]);
    assert_contains(&table, "disabled");
    let (_, stderr) = ok(data.path(), &["keys", "virtual", "enable", "alice"]);
    assert_contains(&stderr, "enabled virtual key `alice`");
    let (_, stderr) = ok(data.path(), &["keys", "virtual", "enable", "alice"]);
    assert_contains(&stderr, "is enabled already");
    assert_eq!(show_json(data.path(), "alice")["status"], "active");
}

#[test]
fn rotating_an_expired_key_needs_a_new_expiry() {
    let data = tempfile::tempdir().unwrap();
    create(data.path(), "alice", &["--expires", "1s"]);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(show_json(data.path(), "alice")["status"], "expired");
    let stderr = fails(data.path(), &["keys", "virtual", "rotate", "alice"], 2);
    assert_contains(&stderr, "error: the virtual key `alice` expired");
    assert_contains(&stderr, "--expires 30d");
    let stderr = fails(
        data.path(),
        &[
            "keys",
            "virtual",
            "rotate",
            "alice",
            "--expires",
            "2020-01-01",
        ],
        2,
    );
    assert_contains(&stderr, "is in the past");
    let (stdout, stderr) = ok(
        data.path(),
        &["keys", "virtual", "rotate", "alice", "--expires", "never"],
    );
    one_secret(&stdout);
    assert_contains(&stderr, "it does not expire");
    let key = show_json(data.path(), "alice");
    assert_eq!(
        (key["status"].as_str(), &key["expires"]),
        (Some("active"), &Value::Null)
    );
    assert!(key["rotated"].is_string(), "{key}");
}

// ---- what a running `bgw serve` does with the keys ----

/// A gateway with an OpenAI key whose upstream answers every request, and that upstream.
async fn gateway() -> (Bgw, Mock) {
    let mock = Mock::answering(|_| openai::reply(MODEL, "Hello.", 12, 3)).await;
    let bgw = Bgw::setup()
        .provider("openai", Some(PROVIDER_KEY), &mock.at("/v1"))
        .start();
    (bgw, mock)
}

/// `POST /v1/messages` for `model` with these headers.
async fn ask(bgw: &Bgw, model: &str, headers: &[(&str, &str)]) -> support::Response {
    bgw.client()
        .post_json_with("/v1/messages", headers, &messages_request(model, false))
        .await
}

/// Asserts a 200 message came back.
async fn answered(resp: support::Response) {
    let status = resp.status;
    let body = resp.json().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["type"], "message", "{body}");
}

/// No request the upstream saw carried a virtual key, in a header or in its body.
#[track_caller]
fn no_virtual_key_upstream(mock: &Mock) {
    let seen: Vec<Recorded> = mock.requests();
    assert!(!seen.is_empty(), "nothing reached the upstream");
    for r in seen {
        for (name, value) in &r.headers {
            assert!(
                !String::from_utf8_lossy(value.as_bytes()).contains("bgw-vk-"),
                "a virtual key went upstream in `{name}`"
            );
        }
        assert!(
            !r.text().contains("bgw-vk-"),
            "a virtual key went upstream in a body"
        );
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {PROVIDER_KEY}").as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_replaces_the_secret_at_once() {
    let (bgw, mock) = gateway().await;
    let (old, _) = create(bgw.data_dir(), "alice", &[]);
    answered(ask(&bgw, REQUESTED, &[("x-api-key", &old)]).await).await;

    let (stdout, stderr) = ok(bgw.data_dir(), &["keys", "virtual", "rotate", "alice"]);
    let new = one_secret(&stdout);
    assert_ne!(new, old);
    assert_contains(
        &stderr,
        &format!("the secret ending `{}` no longer works", &old[35..]),
    );
    assert_contains(&stderr, "only time the key is shown");
    assert!(show_json(bgw.data_dir(), "alice")["rotated"].is_string());

    let message = expect_error(
        ask(&bgw, REQUESTED, &[("x-api-key", &old)]).await,
        401,
        "authentication_error",
    )
    .await;
    assert_contains(
        &message,
        &format!("the virtual key ending `{}` is not known", &old[35..]),
    );
    assert!(
        !message.contains(&old),
        "the secret came back in an error: {message}"
    );
    answered(ask(&bgw, REQUESTED, &[("x-api-key", &new)]).await).await;
    answered(
        ask(
            &bgw,
            REQUESTED,
            &[("authorization", &format!("Bearer {new}"))],
        )
        .await,
    )
    .await;
    no_virtual_key_upstream(&mock);
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_key_is_refused_naming_enable() {
    let (bgw, mock) = gateway().await;
    let (secret, _) = create(bgw.data_dir(), "alice", &[]);
    ok(bgw.data_dir(), &["keys", "virtual", "disable", "alice"]);
    let message = expect_error(
        ask(&bgw, REQUESTED, &[("x-api-key", &secret)]).await,
        401,
        "authentication_error",
    )
    .await;
    assert_contains(&message, "`bgw keys virtual enable alice`");
    assert!(mock.requests().is_empty());
    ok(bgw.data_dir(), &["keys", "virtual", "enable", "alice"]);
    answered(ask(&bgw, REQUESTED, &[("x-api-key", &secret)]).await).await;
    no_virtual_key_upstream(&mock);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_key_is_refused() {
    let (bgw, mock) = gateway().await;
    let (bob, _) = create(bgw.data_dir(), "bob", &[]);
    let (secret, _) = create(bgw.data_dir(), "alice", &["--expires", "1s"]);
    // `1s` from the moment it was made: past it for sure after 1.5 s.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let message = expect_error(
        ask(&bgw, REQUESTED, &[("x-api-key", &secret)]).await,
        401,
        "authentication_error",
    )
    .await;
    assert_contains(&message, "the virtual key `alice` expired");
    assert_contains(&message, "bgw keys virtual rotate alice");
    assert!(mock.requests().is_empty());
    // Only alice's key ran out.
    answered(ask(&bgw, REQUESTED, &[("x-api-key", &bob)]).await).await;
    no_virtual_key_upstream(&mock);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_limited_to_some_models_gets_not_found_for_others() {
    let (bgw, mock) = gateway().await;
    let (secret, _) = create(bgw.data_dir(), "alice", &["--models", REQUESTED]);
    let message = expect_error(
        ask(&bgw, "openai/gpt-4o", &[("x-api-key", &secret)]).await,
        404,
        "not_found_error",
    )
    .await;
    assert_contains(&message, "may not use `openai/gpt-4o`");
    assert_contains(&message, &format!("it may use models {REQUESTED}"));
    assert!(mock.requests().is_empty());
    answered(ask(&bgw, REQUESTED, &[("x-api-key", &secret)]).await).await;
    no_virtual_key_upstream(&mock);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_a_key_exists_a_request_without_one_is_refused() {
    let (bgw, mock) = gateway().await;
    create(bgw.data_dir(), "alice", &[]);
    let message = expect_error(ask(&bgw, REQUESTED, &[]).await, 401, "authentication_error").await;
    assert_contains(&message, "`bgw keys virtual create NAME`");
    assert_contains(&message, "x-api-key");
    // A provider's key is no virtual key either.
    let message = expect_error(
        ask(
            &bgw,
            REQUESTED,
            &[("x-api-key", "sk-ant-api03-not-a-virtual-key")],
        )
        .await,
        401,
        "authentication_error",
    )
    .await;
    assert_contains(&message, "bgw keys virtual create");
    assert!(mock.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_in_x_bgw_key_works_beside_a_claude_login() {
    let (bgw, mock) = gateway().await;
    let (secret, _) = create(bgw.data_dir(), "alice", &[]);
    answered(
        ask(
            &bgw,
            REQUESTED,
            &[
                ("x-bgw-key", &secret),
                ("authorization", "Bearer sk-ant-oat01-claude-login-token"),
            ],
        )
        .await,
    )
    .await;
    let upstream = mock.only_request();
    // OpenAI gets bgw's key for it: neither the virtual key nor the Claude login.
    assert_eq!(
        upstream.header("authorization"),
        Some(format!("Bearer {PROVIDER_KEY}").as_str())
    );
    assert!(!format!("{:?}", upstream.headers).contains("sk-ant-oat01"));
    no_virtual_key_upstream(&mock);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_anthropic_the_login_travels_and_the_virtual_key_never_does() {
    // The Anthropic passthrough with no stored key sends the client's own Claude login.
    let mock = Mock::answering(|_| support::anthropic::reply("claude-sonnet-4-5", "Hello.")).await;
    let bgw = Bgw::setup()
        .key(&["anthropic", "--base-url", &mock.url()])
        .start();
    let (secret, _) = create(bgw.data_dir(), "alice", &[]);
    let login = "Bearer sk-ant-oat01-claude-login-token";
    answered(
        ask(
            &bgw,
            "claude-sonnet-4-5",
            &[("x-bgw-key", &secret), ("authorization", login)],
        )
        .await,
    )
    .await;
    // A virtual key in `x-api-key` is bgw's alone: it is not a login to pass on.
    let refused = ask(&bgw, "claude-sonnet-4-5", &[("x-api-key", &secret)]).await;
    let message = expect_error(refused, 401, "authentication_error").await;
    assert_contains(&message, "no key for provider `anthropic`");
    let upstream = mock.only_request();
    assert_eq!(upstream.header("authorization"), Some(login));
    for (name, value) in &upstream.headers {
        assert!(
            !String::from_utf8_lossy(value.as_bytes()).contains("bgw-vk-"),
            "a virtual key went upstream in `{name}`"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_names_the_caller_and_never_its_secret() {
    let (bgw, _mock) = gateway().await;
    let data = bgw.data_dir();
    let (alice, _) = create(data, "alice", &["--team", "eng", "--customer", "acme"]);
    let (bob, _) = create(data, "bob", &["--team", "ops"]);
    for (secret, n) in [(&alice, 2), (&bob, 1)] {
        for _ in 0..n {
            answered(ask(&bgw, REQUESTED, &[("x-api-key", secret)]).await).await;
        }
    }
    let rows = |filter: &[&str]| -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut args = vec!["logs", "--json"];
            args.extend_from_slice(filter);
            let (stdout, _) = ok(data, &args);
            let rows: Vec<Value> = stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            if rows.len() >= 3 || !filter.is_empty() || Instant::now() > deadline {
                return rows;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let all = rows(&[]);
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[2]["caller"],
        serde_json::json!({"key": "alice", "team": "eng", "customer": "acme"})
    );
    assert_eq!(rows(&["--key", "alice"]).len(), 2);
    assert_eq!(rows(&["--team", "ops"]).len(), 1);
    assert_eq!(rows(&["--customer", "acme"]).len(), 2);
    assert_eq!(rows(&["--customer", "nobody"]).len(), 0);
    let (stats, _) = ok(data, &["logs", "stats", "--by", "team", "--json"]);
    let groups: Vec<(String, u64)> = stats
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| {
            (
                v["group"].as_str().unwrap().to_owned(),
                v["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(groups, [("eng".to_owned(), 2), ("ops".to_owned(), 1)]);
    // Nothing the log shows holds a secret: not the rows, not a request shown whole.
    let id = all[0]["id"].as_str().unwrap();
    let (shown, _) = ok(data, &["logs", "show", id, "--json"]);
    let (table, _) = ok(data, &["logs"]);
    for text in [shown, table, serde_json::to_string(&all).unwrap()] {
        assert!(!text.contains(&alice) && !text.contains(&bob) && !text.contains("bgw-vk-"));
    }
}

/// (Only the refusal: a test listens on 127.0.0.1 alone, and the refusal comes before any
/// listening.)
#[test]
fn serve_on_a_network_address_without_virtual_keys_refuses_to_start() {
    let data = tempfile::tempdir().unwrap();
    let stderr = fails(
        data.path(),
        &["serve", "--host", "0.0.0.0", "--port", "0"],
        2,
    );
    assert_contains(
        &stderr,
        "refusing to listen on 0.0.0.0 without virtual keys",
    );
    assert_contains(&stderr, "`bgw keys virtual create alice`");
    assert_contains(&stderr, "`--allow-anonymous`");
}
