//! `bgw run` around a stand-in for claude: what claude is given, who may use the
//! session's gateway, signals and exit codes. (The real CLI runs in e2e_claude_code.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use http::Method;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::bgw::command;
use support::{Client, assert_contains};

/// A stand-in for claude: writes its environment and arguments to `$FAKE_OUT`,
/// then waits for `$FAKE_OUT.go` and exits with `$FAKE_EXIT`.
const FAKE_CLAUDE: &str = r#"#!/bin/sh
{
  for v in ANTHROPIC_BASE_URL ANTHROPIC_AUTH_TOKEN ANTHROPIC_API_KEY ANTHROPIC_MODEL \
           ANTHROPIC_DEFAULT_OPUS_MODEL ANTHROPIC_DEFAULT_SONNET_MODEL ANTHROPIC_DEFAULT_HAIKU_MODEL \
           ANTHROPIC_DEFAULT_FABLE_MODEL ANTHROPIC_DEFAULT_SONNET_MODEL_NAME \
           ANTHROPIC_DEFAULT_SONNET_MODEL_DESCRIPTION CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY; do
    eval "printf '%s=%s\n' $v \"\${$v-<unset>}\""
  done
  printf 'ANTHROPIC_CUSTOM_HEADERS=%s\n' "$(printf '%s' "$ANTHROPIC_CUSTOM_HEADERS" | tr '\n' '|')"
  for a in "$@"; do printf 'ARG=%s\n' "$a"; done
} > "$FAKE_OUT.tmp"
trap 'echo TERM > "$FAKE_OUT.term"; exit 143' TERM
mv "$FAKE_OUT.tmp" "$FAKE_OUT"
while [ ! -f "$FAKE_OUT.go" ]; do sleep 0.05; done
exit "${FAKE_EXIT:-0}"
"#;

struct Session {
    child: Option<Child>,
    out: PathBuf,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Session {
    /// Starts `bgw run ARGS…` with the fake claude and waits until claude is running.
    fn start(args: &[&str], env: &[(&str, &str)], exit: u8) -> Session {
        Session::start_with(args, env, exit, |_| {})
    }

    /// As [`Session::start`], after `prepare` has set up the data dir.
    fn start_with(
        args: &[&str],
        env: &[(&str, &str)],
        exit: u8,
        prepare: impl FnOnce(&Path),
    ) -> Session {
        let data = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let fake = scratch.path().join("claude");
        std::fs::write(&fake, FAKE_CLAUDE).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = scratch.path().join("seen");
        let key = command(data.path())
            .args(["keys", "add", "openai", "--value", "sk-test-run-00000000"])
            .output()
            .unwrap();
        assert!(key.status.success());
        prepare(data.path());
        let mut cmd = command(data.path());
        cmd.arg("run")
            .args(args)
            .env("BGW_CLAUDE_BIN", &fake)
            .env("FAKE_OUT", &out)
            .env("FAKE_EXIT", exit.to_string())
            .env("HOME", scratch.path())
            .env_remove("CLAUDE_CONFIG_DIR")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (var, _) in std::env::vars() {
            if var.starts_with("ANTHROPIC_") || var == "CLAUDE_CODE_OAUTH_TOKEN" {
                cmd.env_remove(var);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let started = Instant::now();
        while !out.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the fake claude never started"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Session {
            child: Some(child),
            out,
            _dirs: (data, scratch),
        }
    }

    /// What claude was given: variables and (repeated) `ARG`s.
    fn seen(&self) -> (HashMap<String, String>, Vec<String>) {
        let text = std::fs::read_to_string(&self.out).unwrap();
        let mut vars = HashMap::new();
        let mut args = Vec::new();
        for line in text.lines() {
            let (k, v) = line.split_once('=').unwrap();
            if k == "ARG" {
                args.push(v.to_owned());
            } else {
                vars.insert(k.to_owned(), v.to_owned());
            }
        }
        (vars, args)
    }

    /// A client of the session's gateway presenting its secret, as claude does.
    fn client(&self) -> (Client, String) {
        let (vars, _) = self.seen();
        let token = vars["ANTHROPIC_CUSTOM_HEADERS"]
            .strip_prefix("x-bgw-session-token: ")
            .unwrap()
            .to_owned();
        (Client::new(port_of(&vars["ANTHROPIC_BASE_URL"])), token)
    }

    /// Lets claude exit; returns bgw's exit code and stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        std::fs::write(self.out.with_extension("go"), "").unwrap();
        let output = self.child.take().unwrap().wait_with_output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

fn port_of(base_url: &str) -> u16 {
    base_url.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn claude_gets_the_gateway_the_models_and_its_arguments_unchanged() {
    let session = Session::start(
        &[
            "--sonnet",
            "openai/gpt-5",
            "--haiku",
            "openai/gpt-5-mini",
            "--",
            "-p",
            "hello world",
            "--allowedTools",
            "Write",
        ],
        &[],
        0,
    );
    let (vars, args) = session.seen();
    assert!(
        vars["ANTHROPIC_BASE_URL"].starts_with("http://127.0.0.1:"),
        "{vars:?}"
    );
    assert_eq!(vars["ANTHROPIC_DEFAULT_SONNET_MODEL"], "openai/gpt-5");
    assert_eq!(vars["ANTHROPIC_DEFAULT_HAIKU_MODEL"], "openai/gpt-5-mini");
    // No Anthropic key and no Claude login: the tier not given uses the session's model.
    assert_eq!(vars["ANTHROPIC_DEFAULT_OPUS_MODEL"], "openai/gpt-5");
    assert_eq!(vars["ANTHROPIC_MODEL"], "openai/gpt-5");
    assert_eq!(vars["ANTHROPIC_DEFAULT_FABLE_MODEL"], "openai/gpt-5");
    // The tiers' rows in /model say what they are.
    assert_eq!(
        vars["ANTHROPIC_DEFAULT_SONNET_MODEL_NAME"],
        "GPT-5 · openai"
    );
    assert_contains(
        &vars["ANTHROPIC_DEFAULT_SONNET_MODEL_DESCRIPTION"],
        "openai/gpt-5 · ",
    );
    // The picker comes as settings, so discovery stays off (it would list each model twice).
    assert_eq!(
        vars["CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY"],
        "<unset>"
    );
    assert_eq!(args[0], "--settings");
    let settings: serde_json::Value = serde_json::from_str(&args[1]).unwrap();
    let rows = settings["modelPicker"]["options"].as_array().unwrap();
    let gpt4o = rows.iter().find(|r| r["model"] == "openai/gpt-4o").unwrap();
    assert_eq!(gpt4o["label"], "GPT-4o · openai");
    assert_eq!(
        settings["modelSettings"]["openai/gpt-4o"]["autoCompactWindow"],
        128_000
    );
    // No Anthropic key or login: Claude's own models would fail, so they are not offered.
    assert!(!rows.iter().any(|r| r["model"] == "claude-sonnet-4-5"));
    assert_eq!(&args[2..], ["-p", "hello world", "--allowedTools", "Write"]);
    let token = vars["ANTHROPIC_CUSTOM_HEADERS"]
        .strip_prefix("x-bgw-session-token: ")
        .unwrap()
        .to_owned();
    assert!(token.len() >= 32, "a long random secret: {token}");
    // With no credential of its own, claude uses the session secret as its token.
    assert_eq!(vars["ANTHROPIC_AUTH_TOKEN"], token);
    let (code, stderr) = session.finish();
    assert_eq!(code, Some(0));
    assert_contains(
        &stderr,
        "bgw: opus, fable → openai/gpt-5 (no Anthropic key or Claude login",
    );
    assert_contains(&stderr, "bgw: 0 requests");
}

#[tokio::test]
async fn settings_of_the_users_own_leave_the_picker_to_discovery() {
    let session = Session::start(
        &["--sonnet", "openai/gpt-5", "--", "--settings", "mine.json"],
        &[],
        0,
    );
    let (vars, args) = session.seen();
    assert_eq!(args, ["--settings", "mine.json"]);
    assert_eq!(vars["CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY"], "1");
    let (code, stderr) = session.finish();
    assert_eq!(code, Some(0));
    assert_contains(&stderr, "your --settings replaces bgw's /model list");
}

#[tokio::test]
async fn the_session_gateway_refuses_requests_without_the_session_secret() {
    let session = Session::start(&["--sonnet", "openai/gpt-5"], &[], 0);
    let (vars, _) = session.seen();
    let token = vars["ANTHROPIC_CUSTOM_HEADERS"]
        .strip_prefix("x-bgw-session-token: ")
        .unwrap()
        .to_owned();
    let client = Client::new(port_of(&vars["ANTHROPIC_BASE_URL"]));

    let refused = client.get("/v1/models").await;
    let message = support::expect_error(refused, 401, "authentication_error").await;
    assert_contains(&message, "belongs to a `bgw run` session");
    let wrong = client
        .send(
            Method::GET,
            "/v1/models",
            &[("x-bgw-session-token", "guess")],
            "",
        )
        .await;
    assert_eq!(wrong.status, 401);
    let ok = client
        .send(
            Method::GET,
            "/v1/models",
            &[("x-bgw-session-token", &token)],
            "",
        )
        .await;
    assert_eq!(ok.status, 200);
    let bearer = format!("Bearer {token}");
    let ok = client
        .send(Method::GET, "/v1/models", &[("authorization", &bearer)], "")
        .await;
    assert_eq!(ok.status, 200);
    // Claude Code's start-up probe carries no credentials at all.
    let hello = client.send(Method::HEAD, "/api/hello", &[], "").await;
    assert_eq!(hello.status, 200);
    assert_eq!(session.finish().0, Some(0));
}

#[tokio::test]
async fn a_user_credential_and_custom_headers_are_kept() {
    let session = Session::start(
        &["--model", "openai/gpt-5"],
        &[
            ("ANTHROPIC_API_KEY", "sk-ant-user-own-key"),
            ("ANTHROPIC_CUSTOM_HEADERS", "x-team: platform"),
        ],
        0,
    );
    let (vars, args) = session.seen();
    let settings: serde_json::Value = serde_json::from_str(&args[1]).unwrap();
    let rows = settings["modelPicker"]["options"].as_array().unwrap();
    assert!(
        rows.iter().any(|r| r["model"] == "claude-sonnet-4-5"),
        "with a Claude credential Claude's models are offered too"
    );
    assert_eq!(
        vars["ANTHROPIC_AUTH_TOKEN"], "<unset>",
        "no token that would override the user's own login"
    );
    assert_eq!(vars["ANTHROPIC_API_KEY"], "sk-ant-user-own-key");
    assert!(
        vars["ANTHROPIC_CUSTOM_HEADERS"].starts_with("x-team: platform|x-bgw-session-token: "),
        "{vars:?}"
    );
    assert_eq!(vars["ANTHROPIC_MODEL"], "openai/gpt-5");
    // With the user's own Anthropic credential, untouched tiers stay Claude's.
    assert_eq!(vars["ANTHROPIC_DEFAULT_HAIKU_MODEL"], "<unset>");
    session.finish();
}

#[tokio::test]
async fn ctrl_c_goes_to_claude_and_bgw_exits_with_claudes_code() {
    let session = Session::start(&["--sonnet", "openai/gpt-5"], &[], 7);
    let pid = session.child.as_ref().unwrap().id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut session = session;
    assert!(
        session
            .child
            .as_mut()
            .unwrap()
            .try_wait()
            .unwrap()
            .is_none(),
        "bgw must survive Ctrl-C while claude runs"
    );
    let (code, stderr) = session.finish();
    assert_eq!(code, Some(7));
    assert_contains(&stderr, "bgw: 0 requests");
}

#[tokio::test]
async fn sigterm_is_passed_on_to_claude() {
    let mut session = Session::start(&["--sonnet", "openai/gpt-5"], &[], 0);
    let pid = session.child.as_ref().unwrap().id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = session.child.take().unwrap().wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(143),
        "bgw exits with claude's code"
    );
    assert_eq!(
        std::fs::read_to_string(session.out.with_extension("term")).unwrap(),
        "TERM\n"
    );
    assert_contains(&String::from_utf8_lossy(&output.stderr), "bgw: 0 requests");
}

#[test]
fn a_missing_claude_is_a_clear_error() {
    let data = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let o = command(data.path())
        .args(["run", "--model", "claude-sonnet-4-5"])
        .env_remove("BGW_CLAUDE_BIN")
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_contains(&stderr, "error: `claude` is not on PATH");
    assert_contains(&stderr, "hint: install Claude Code");

    let o = command(data.path())
        .args(["run"])
        .env("BGW_CLAUDE_BIN", Path::new("/nonexistent/claude"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_contains(
        &String::from_utf8_lossy(&o.stderr),
        "`/nonexistent/claude` (from `--claude-bin` or BGW_CLAUDE_BIN) is not a file",
    );
}

/// `bgw ARGS…` on `data`, which must succeed.
fn bgw_ok(data: &Path, args: &[&str]) {
    let out = command(data).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "`bgw {}`: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A provider `mock` at `mock`'s URL whose model `house` costs $0.001 an output token and
/// nothing for input: a request's worst case is its `max_tokens` × $0.001.
fn mock_provider(data: &Path, mock: &support::Mock) {
    bgw_ok(
        data,
        &[
            "keys",
            "add",
            "mock",
            "--compat",
            "openai",
            "--value",
            "sk-mock-000000000000",
            "--base-url",
            &mock.at("/v1"),
        ],
    );
    bgw_ok(
        data,
        &[
            "models",
            "price",
            "set",
            "mock/house",
            "--input",
            "0",
            "--output",
            "1000",
        ],
    );
}

/// A request as claude would send it through the session (its secret as a bearer token).
async fn ask(client: &Client, token: &str) -> support::Response {
    let mut body = support::messages_request("mock/house", false);
    body["max_tokens"] = serde_json::json!(100);
    client
        .post_json_with(
            "/v1/messages",
            &[("authorization", &format!("Bearer {token}"))],
            &body,
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_budget_stops_the_session_where_it_was_set() {
    let mock =
        support::Mock::answering(|_| support::openai::reply("house", "Hello.", 10, 50)).await;
    let session = Session::start_with(&["--budget", "0.15"], &[], 0, |data| {
        mock_provider(data, &mock);
    });
    let (client, token) = session.client();
    // Each answer costs $0.05; each request may cost $0.10: two fit $0.15, a third does not.
    for _ in 0..2 {
        assert_eq!(ask(&client, &token).await.status, 200);
    }
    let refused = ask(&client, &token).await;
    assert_eq!(refused.header("x-should-retry"), Some("false"));
    let message = support::expect_error(refused, 429, "rate_limit_error").await;
    assert_contains(
        &message,
        "the budget of session has $0.0500 left of $0.1500 in total, and this request may cost up to $0.1000",
    );
    assert_contains(
        &message,
        "start the session again with a larger `bgw run --budget`",
    );
    assert_eq!(mock.requests().len(), 2);
    let (code, stderr) = session.finish();
    assert_eq!(code, Some(0));
    assert_contains(&stderr, "bgw: budgets: session $0.1000 of $0.1500 (67%)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_run_with_a_virtual_key_is_charged_to_it_and_its_team() {
    let mock =
        support::Mock::answering(|_| support::openai::reply("house", "Hello.", 10, 50)).await;
    let session = Session::start_with(&["--key", "alice"], &[], 0, |data| {
        mock_provider(data, &mock);
        let made = command(data)
            .args(["keys", "virtual", "create", "alice", "--team", "eng"])
            .output()
            .unwrap();
        assert!(made.status.success());
        bgw_ok(
            data,
            &["budget", "set", "team", "eng", "1/month", "--warn", "5"],
        );
    });
    let (client, token) = session.client();
    assert_eq!(ask(&client, &token).await.status, 200);
    let second = ask(&client, &token).await;
    // $0.05 of $1: past the team's 5% warning.
    assert_eq!(
        second.header("anthropic-ratelimit-unified-status"),
        Some("allowed_warning")
    );
    assert_eq!(second.status, 200);
    let (code, stderr) = session.finish();
    assert_eq!(code, Some(0));
    assert_contains(
        &stderr,
        "bgw: budgets: team eng $0.1000 of $1.00/month (10%) ⚠",
    );
}

#[test]
fn a_session_for_a_virtual_key_that_does_not_exist_does_not_start() {
    let data = tempfile::tempdir().unwrap();
    let out = command(data.path())
        .args(["run", "--key", "nobody"])
        .env("BGW_CLAUDE_BIN", "/bin/true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_contains(&stderr, "no virtual key `nobody`");
    assert_contains(&stderr, "`bgw keys virtual create nobody`");
}
