//! `bgw doctor` as a person and a script use it: the real binary, a temp data dir, mock
//! providers on 127.0.0.1; one line per check, the fix under it, exit code 1 on any ✗, and
//! never a key's value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use support::bgw::command;
use support::{Mock, Reply, assert_contains};

/// The version `scripts/test` installs, which doctor calls tested.
fn tested_version() -> String {
    include_str!("../scripts/test")
        .lines()
        .find_map(|l| l.strip_prefix("CLAUDE_CODE_VERSION="))
        .unwrap()
        .trim()
        .to_owned()
}

/// A stand-in for Claude Code that prints `version` as `claude --version` does.
fn fake_claude(dir: &Path, version: &str) -> PathBuf {
    let path = dir.join("claude");
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho '{version} (Claude Code)'\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A data dir that bgw made (a temp dir's own mode is the system's, not bgw's).
struct Data {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Data {
    fn path(&self) -> &Path {
        &self.dir
    }
}

/// A data dir made by bgw, with these keys added (`bgw keys add ARGS…` each).
fn data_with(keys: &[&[&str]]) -> Data {
    let tmp = tempfile::tempdir().unwrap();
    let data = Data {
        dir: tmp.path().join("bgw"),
        _tmp: tmp,
    };
    // `keys list` makes the data dir as any first use does.
    assert!(
        command(data.path())
            .args(["keys", "list"])
            .output()
            .unwrap()
            .status
            .success()
    );
    for args in keys {
        let o = command(data.path())
            .args(["keys", "add"])
            .args(*args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    data
}

/// `bgw doctor ARGS…` with Claude Code at `claude`, off the async runtime (the mocks run on it).
async fn doctor(data: &Path, claude: &Path, args: &[&str]) -> Output {
    doctor_with(data, claude, args, |_| {}).await
}

/// As [`doctor`], with the command adjusted by `env` first (a home, cloud variables).
async fn doctor_with(
    data: &Path,
    claude: &Path,
    args: &[&str],
    env: impl FnOnce(&mut std::process::Command) + Send + 'static,
) -> Output {
    let (data, claude) = (data.to_owned(), claude.to_owned());
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = command(&data);
        cmd.arg("doctor")
            .args(&args)
            .env("BGW_CLAUDE_BIN", &claude)
            .env_remove("BGW_DOCTOR_UNSET_VAR");
        env(&mut cmd);
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The line of the check named `name` (`✓ key openai  …`).
fn line<'a>(stdout: &'a str, mark: &str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| {
            // The name is followed by its padding, at least two spaces (`store` ≠ `store owner`).
            l.strip_prefix(&format!("{mark} {name}"))
                .is_some_and(|rest| rest.starts_with("  "))
        })
        .unwrap_or_else(|| panic!("no `{mark} {name}` line in:\n{stdout}"))
}

/// The `--json` check named `name`.
fn json_check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {report:#}"))
}

/// A model list as OpenAI answers it
/// (<https://platform.openai.com/docs/api-reference/models/list>).
fn model_list() -> Reply {
    Reply::json(
        200,
        &json!({"object": "list", "data": [
            {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
            {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"}
        ]}),
    )
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_working_setup_passes_every_check_with_the_keys_latency() {
    const SECRET: &str = "sk-doctor-GOOD-7f3a9c1e";
    let upstream = Mock::start([model_list(), model_list()]).await;
    let data = data_with(&[&[
        "openai",
        "--value",
        SECRET,
        "--base-url",
        &upstream.at("/v1"),
    ]]);
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), &tested_version());

    let o = doctor(data.path(), &claude, &[]).await;
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
    assert!(!stdout.contains('✗'), "{stdout}");
    let key = line(&stdout, "✓", "key openai");
    assert_contains(key, &format!("2 models listed by {} in ", upstream.url()));
    assert!(key.trim_end().ends_with(" ms"), "{key}");
    line(&stdout, "✓", "data dir");
    assert_contains(line(&stdout, "✓", "store"), "schema ");
    line(&stdout, "✓", "store file");
    line(&stdout, "✓", "prices");
    assert_contains(
        line(&stdout, "✓", "claude code"),
        &format!("{} (the version bgw is tested with)", tested_version()),
    );
    // The cheapest call that proves the key: its model list, the key as a bearer token.
    let asked = upstream.requests().remove(0);
    assert_eq!(asked.path, "/v1/models");
    assert_eq!(
        asked.header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));

    let o = doctor(data.path(), &claude, &["--json"]).await;
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(json_check(&report, "key openai")["status"], "pass");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
}

#[tokio::test]
async fn a_revoked_key_fails_with_the_command_that_replaces_it_and_is_never_printed() {
    const SECRET: &str = "sk-doctor-REVOKED-5e2b8d4a";
    // OpenAI's 401 echoes part of the key; a provider that echoed all of it must not leak it.
    let revoked = || {
        Reply::json(
            401,
            &json!({"error": {"message": format!("Incorrect API key provided: {SECRET}."),
                "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}),
        )
    };
    let upstream = Mock::start([revoked(), revoked()]).await;
    let data = data_with(&[&[
        "openai",
        "--value",
        SECRET,
        "--base-url",
        &upstream.at("/v1"),
    ]]);
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), &tested_version());

    let o = doctor(data.path(), &claude, &[]).await;
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}{stderr}");
    let at = stdout.find("✗ key openai").unwrap();
    let lines: Vec<&str> = stdout[at..].lines().take(2).collect();
    assert_contains(lines[0], "revoked or wrong key");
    assert_contains(lines[0], "401");
    assert_contains(
        lines[1],
        "fix: replace the key: `bgw keys rm openai`, then `bgw keys add openai",
    );
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "{stdout}{stderr}"
    );

    let o = doctor(data.path(), &claude, &["--json"]).await;
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ok"], false);
    let key = json_check(&report, "key openai");
    assert_eq!(key["ok"], false);
    assert_eq!(key["status"], "fail");
    assert_contains(key["fix"].as_str().unwrap(), "bgw keys add openai");
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "{stdout}{stderr}"
    );
}

#[tokio::test]
async fn an_unreachable_base_url_fails_naming_its_origin_only() {
    const SECRET: &str = "sk-doctor-UNREACHED-91c0";
    let port = closed_port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let data = data_with(&[&["openai", "--value", SECRET, "--base-url", &base]]);
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), &tested_version());

    let o = doctor(data.path(), &claude, &[]).await;
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}{stderr}");
    let key = line(&stdout, "✗", "key openai");
    assert_contains(key, &format!("cannot reach http://127.0.0.1:{port}: "));
    assert!(!key.contains("/v1"), "{key}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
}

#[tokio::test]
async fn a_key_whose_variable_is_unset_says_so() {
    let data = data_with(&[&["groq", "--env", "BGW_DOCTOR_UNSET_VAR"]]);
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), &tested_version());

    let o = doctor(data.path(), &claude, &["--json"]).await;
    assert_eq!(o.status.code(), Some(1));
    let report: Value = serde_json::from_str(&text(&o).0).unwrap();
    let key = json_check(&report, "key groq");
    assert_eq!(key["status"], "fail");
    assert_eq!(
        key["detail"],
        "the environment variable `BGW_DOCTOR_UNSET_VAR` is not set"
    );
    assert_contains(key["fix"].as_str().unwrap(), "export BGW_DOCTOR_UNSET_VAR=");
}

#[tokio::test]
async fn every_json_check_has_a_name_status_ok_detail_and_fix_and_ok_is_their_and() {
    let data = data_with(&[&["groq", "--env", "BGW_DOCTOR_UNSET_VAR"]]);
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), "0.0.1");

    let o = doctor(data.path(), &claude, &["--json"]).await;
    let report: Value = serde_json::from_str(&text(&o).0).unwrap();
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.len() >= 5, "{report:#}");
    for c in checks {
        assert!(c["name"].is_string(), "{c}");
        assert!(c["detail"].is_string(), "{c}");
        assert!(c["fix"].is_string() || c["fix"].is_null(), "{c}");
        let status = c["status"].as_str().unwrap();
        assert!(["pass", "warn", "fail"].contains(&status), "{c}");
        assert_eq!(c["ok"], status != "fail", "{c}");
    }
    let all_ok = checks.iter().all(|c| c["ok"] == true);
    assert_eq!(report["ok"], all_ok);
    assert!(!all_ok);
    assert_eq!(o.status.code(), Some(1));
}

#[tokio::test]
async fn a_data_dir_others_can_read_fails_with_its_chmod() {
    let data = data_with(&[]);
    // Made by bgw on first use (`keys list`), then opened to the group.
    assert!(
        command(data.path())
            .args(["keys", "list"])
            .output()
            .unwrap()
            .status
            .success()
    );
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o750)).unwrap();
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), &tested_version());

    let o = doctor(data.path(), &claude, &[]).await;
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}{stderr}");
    assert_contains(line(&stdout, "✗", "data dir"), "mode 0750");
    assert_contains(
        &stdout,
        &format!("fix: chmod 700 {}", data.path().display()),
    );
}

#[tokio::test]
async fn an_untested_claude_code_is_a_warning_and_a_missing_one_a_failure() {
    let data = data_with(&[]);
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), "0.0.1");

    let o = doctor(data.path(), &claude, &[]).await;
    let (stdout, stderr) = text(&o);
    // A warning is not a failure: nothing else is wrong here.
    assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
    let c = line(&stdout, "!", "claude code");
    assert_contains(c, "0.0.1");
    assert_contains(c, &format!("bgw is tested with {}", tested_version()));

    let o = doctor(data.path(), &bin.path().join("no-claude"), &[]).await;
    let (stdout, _) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert_contains(line(&stdout, "✗", "claude code"), "is not a file");
}

#[tokio::test]
async fn anthropic_gemini_and_azure_keys_are_tried_with_their_own_model_lists_and_headers() {
    let upstream = Mock::answering(|r| {
        let path = r.path.as_str();
        if path.starts_with("/v1/models") {
            // https://docs.anthropic.com/en/api/models-list
            Reply::json(
                200,
                &json!({"data": [{"type": "model", "id": "claude-sonnet-4-5-20250929",
                    "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"}],
                    "has_more": false, "first_id": "claude-sonnet-4-5-20250929",
                    "last_id": "claude-sonnet-4-5-20250929"}),
            )
        } else if path.starts_with("/v1beta/models") {
            // https://ai.google.dev/api/models#method:-models.list
            Reply::json(
                200,
                &json!({"models": [{"name": "models/gemini-2.5-flash", "version": "001",
                    "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
                    "supportedGenerationMethods": ["generateContent", "countTokens"]}]}),
            )
        } else if path.starts_with("/openai/models") {
            // https://learn.microsoft.com/en-us/rest/api/azureopenai/models/list
            Reply::json(
                200,
                &json!({"data": [{"status": "succeeded", "id": "gpt-4o-2024-08-06",
                    "created_at": 1723075200, "object": "model"}], "object": "list"}),
            )
        } else {
            Reply::json(404, &json!({"error": {"message": "no such path"}}))
        }
    })
    .await;
    let data = data_with(&[
        &[
            "anthropic",
            "--value",
            "sk-ant-DOCTOR-0001",
            "--base-url",
            &upstream.url(),
        ],
        &[
            "gemini",
            "--value",
            "AIza-DOCTOR-0002",
            "--base-url",
            &upstream.at("/v1beta"),
        ],
        &[
            "azure",
            "--value",
            "azure-DOCTOR-0003",
            "--base-url",
            &upstream.url(),
        ],
    ]);
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), &tested_version());

    let o = doctor(data.path(), &claude, &[]).await;
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
    for key in ["key anthropic", "key gemini", "key azure"] {
        assert_contains(line(&stdout, "✓", key), "1 models listed by");
    }
    let asked = upstream.requests();
    let request = |prefix: &str| asked.iter().find(|r| r.path.starts_with(prefix)).unwrap();
    let anthropic = request("/v1/models");
    assert_eq!(anthropic.header("x-api-key"), Some("sk-ant-DOCTOR-0001"));
    assert_eq!(anthropic.header("anthropic-version"), Some("2023-06-01"));
    let gemini = request("/v1beta/models");
    assert_eq!(gemini.header("x-goog-api-key"), Some("AIza-DOCTOR-0002"));
    assert!(!gemini.path.contains("AIza"), "{}", gemini.path);
    let azure = request("/openai/models");
    assert_eq!(azure.path, "/openai/models?api-version=2024-10-21");
    assert_eq!(azure.header("api-key"), Some("azure-DOCTOR-0003"));
    for secret in [
        "sk-ant-DOCTOR-0001",
        "AIza-DOCTOR-0002",
        "azure-DOCTOR-0003",
    ] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
}

#[tokio::test]
async fn a_model_used_without_a_price_is_named_with_the_command_that_prices_it() {
    let model = "acme-llm-1";
    let upstream = Mock::answering(move |r| {
        if r.path.ends_with("/models") {
            Reply::json(
                200,
                &json!({"object": "list", "data": [{"id": model, "object": "model"}]}),
            )
        } else {
            support::openai::reply(model, "Hello.", 12, 3)
        }
    })
    .await;
    let data = data_with(&[&[
        "acme",
        "--compat",
        "openai",
        "--value",
        "acme-DOCTOR-0004",
        "--base-url",
        &upstream.at("/v1"),
    ]]);
    let gateway = support::Bgw::serve_at(data.path(), &[]);
    let resp = gateway
        .client()
        .hello(&format!("acme/{model}"), false)
        .await;
    assert_eq!(resp.status, 200);
    let dir = data.path().to_owned();
    tokio::task::spawn_blocking(move || support::bgw::log_rows(&dir, 1))
        .await
        .unwrap();
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), &tested_version());

    let o = doctor(data.path(), &claude, &[]).await;
    let (stdout, stderr) = text(&o);
    // Unknown costs are worth knowing, not a broken setup.
    assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
    assert_contains(
        line(&stdout, "!", &format!("price acme/{model}")),
        "no price",
    );
    assert_contains(
        &stdout,
        &format!("fix: bgw models price set acme/{model} --input USD --output USD"),
    );

    let priced = command(data.path())
        .args([
            "models",
            "price",
            "set",
            &format!("acme/{model}"),
            "--input",
            "1",
            "--output",
            "2",
        ])
        .output()
        .unwrap();
    assert!(
        priced.status.success(),
        "{}",
        String::from_utf8_lossy(&priced.stderr)
    );
    let o = doctor(data.path(), &claude, &[]).await;
    let (stdout, _) = text(&o);
    assert_contains(
        line(&stdout, "✓", "prices"),
        "every model used in the last 30 days has a price",
    );
}

#[tokio::test]
async fn a_vertex_key_file_is_tried_by_signing_in_and_its_mode_is_checked() {
    let google = Mock::start([]).await;
    let token_uri = google.at("/token");
    let (endpoint, respond) = support::clouds::google::TokenEndpoint::new(token_uri.clone(), 3600);
    google.respond_with(respond);
    let files = tempfile::tempdir().unwrap();
    let key_file = support::clouds::google::key_file(files.path(), &token_uri);
    let data = data_with(&[&[
        "vertex",
        "--file",
        key_file.to_str().unwrap(),
        "--project",
        "doctor-project",
        "--region",
        "us-east5",
    ]]);
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), &tested_version());
    let home = files.path().to_owned();

    let o = doctor_with(data.path(), &claude, &[], move |cmd| {
        support::clouds::hermetic_command(cmd, &home)
    })
    .await;
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}{stderr}");
    assert_contains(
        line(&stdout, "✓", "key vertex"),
        &format!(
            "signed in to Google as service account {}",
            support::clouds::google::client_email()
        ),
    );
    assert_eq!(endpoint.grants(), 1);
    assert_contains(line(&stdout, "✗", "key file vertex"), "mode 0644");
    assert_contains(&stdout, &format!("fix: chmod 600 {}", key_file.display()));
    assert!(!stdout.contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"));
    assert!(!stdout.contains("ya29.") && !stderr.contains("ya29."));
}

#[tokio::test]
async fn bedrock_credentials_are_found_without_calling_aws_and_never_printed() {
    const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYDOCTOREXAMPLEKEY";
    let home = tempfile::tempdir().unwrap();
    let data = data_with(&[&["bedrock", "--region", "us-east-1"]]);
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), &tested_version());

    let h = home.path().to_owned();
    let o = doctor_with(data.path(), &claude, &["--json"], move |cmd| {
        support::clouds::hermetic_command(cmd, &h);
        cmd.env("AWS_ACCESS_KEY_ID", "AKIDDOCTOREXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET);
    })
    .await;
    let (stdout, stderr) = text(&o);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let key = json_check(&report, "key bedrock");
    assert_eq!(key["status"], "pass", "{report:#}");
    assert_contains(
        key["detail"].as_str().unwrap(),
        "the environment (AWS_ACCESS_KEY_ID)",
    );
    assert!(!stdout.contains(AWS_SECRET) && !stderr.contains(AWS_SECRET));

    // With no credentials anywhere (an empty home), the key cannot sign a request.
    let h = home.path().to_owned();
    let o = doctor_with(data.path(), &claude, &["--json"], move |cmd| {
        support::clouds::hermetic_command(cmd, &h)
    })
    .await;
    assert_eq!(o.status.code(), Some(1));
    let report: Value = serde_json::from_str(&text(&o).0).unwrap();
    let key = json_check(&report, "key bedrock");
    assert_eq!(key["status"], "fail");
    assert_contains(key["detail"].as_str().unwrap(), "no AWS credentials");
}

#[tokio::test]
async fn an_anthropic_endpoint_reached_with_claude_codes_own_login_is_not_tried() {
    let upstream = Mock::start([]).await;
    let data = data_with(&[&["anthropic", "--base-url", &upstream.url()]]);
    let bin = tempfile::tempdir().unwrap();
    let claude = fake_claude(bin.path(), &tested_version());

    let o = doctor(data.path(), &claude, &[]).await;
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
    assert_contains(
        line(&stdout, "✓", "key anthropic"),
        &format!("sends Claude Code's own login to {}", upstream.url()),
    );
    assert!(upstream.requests().is_empty());
}
