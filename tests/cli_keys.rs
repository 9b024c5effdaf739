//! `bgw keys` and `bgw models` as a person uses them: messages, exit codes, no secrets shown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Output, Stdio};
use support::bgw::command;
use support::{Mock, Reply, assert_contains};

fn bgw(data: &Path, args: &[&str]) -> Output {
    command(data).args(args).output().unwrap()
}

fn out(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn keys_are_listed_without_their_secrets_and_the_file_is_private() {
    let data = tempfile::tempdir().unwrap();
    assert!(
        bgw(
            data.path(),
            &[
                "keys",
                "add",
                "openai",
                "--value",
                "sk-proj-SECRETVALUE-9f3c"
            ]
        )
        .status
        .success()
    );
    assert!(
        bgw(
            data.path(),
            &[
                "keys",
                "add",
                "openai",
                "--name",
                "openai-2",
                "--env",
                "BGW_TEST_NOT_SET_KEY",
                "--weight",
                "3",
                "--models",
                "openai/gpt-5,gpt-5-mini"
            ]
        )
        .status
        .success()
    );
    assert!(
        bgw(
            data.path(),
            &[
                "keys",
                "add",
                "azure",
                "--value",
                "azure-secret-123456789",
                "--base-url",
                "https://res.openai.azure.com/"
            ]
        )
        .status
        .success()
    );

    let list = bgw(data.path(), &["keys", "list"]);
    let (stdout, _) = out(&list);
    assert!(list.status.success());
    assert!(!stdout.contains("SECRETVALUE"), "secret printed: {stdout}");
    assert!(!stdout.contains("azure-secret"), "secret printed: {stdout}");
    assert_contains(&stdout, "…9f3c");
    assert_contains(&stdout, "env BGW_TEST_NOT_SET_KEY");
    assert_contains(&stdout, "https://res.openai.azure.com");
    assert_contains(&stdout, "gpt-5,gpt-5-mini");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].starts_with("NAME"));

    let file = data.path().join("bgw.redb");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let raw = std::fs::read(&file).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("BGW_TEST_NOT_SET_KEY_VALUE"));
}

#[test]
fn env_keys_warn_when_the_variable_is_unset() {
    let data = tempfile::tempdir().unwrap();
    let o = command(data.path())
        .args(["keys", "add", "groq", "--env", "BGW_TEST_GROQ_UNSET"])
        .env_remove("BGW_TEST_GROQ_UNSET")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_contains(
        &out(&o).1,
        "warning: `BGW_TEST_GROQ_UNSET` is not set in this shell",
    );
}

#[test]
fn stdin_keys_are_read_from_standard_input() {
    let data = tempfile::tempdir().unwrap();
    let mut child = command(data.path())
        .args(["keys", "add", "mistral", "--stdin"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"mistral-key-from-stdin-42\n")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let (stdout, _) = out(&bgw(data.path(), &["keys", "list"]));
    assert_contains(&stdout, "stored");
    assert_contains(&stdout, "…n-42");
}

#[test]
fn bad_keys_get_clear_errors() {
    let data = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["keys", "add", "nope", "--value", "x"],
            "error: unknown provider `nope`",
            "hint: for an OpenAI-compatible server",
        ),
        (
            &["keys", "add", "azure", "--value", "x"],
            "error: `azure` needs `--base-url`",
            "https://RESOURCE.openai.azure.com",
        ),
        (
            &["keys", "add", "openai"],
            "error: say where the key for `openai` comes from",
            "bgw keys add openai --env OPENAI_API_KEY",
        ),
        (
            &["keys", "add", "openai", "--env", "sk-abc-123"],
            "is not an environment variable name",
            "",
        ),
        (
            &["keys", "add", "vllm", "--compat", "openai"],
            "error: `vllm` needs `--base-url`",
            "",
        ),
        (
            &[
                "keys",
                "add",
                "myproxy",
                "--compat",
                "openai",
                "--base-url",
                "localhost:8000",
            ],
            "is not a base URL",
            "",
        ),
    ];
    for (args, message, hint) in cases {
        let o = bgw(data.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let (_, stderr) = out(&o);
        assert_contains(&stderr, message);
        assert_contains(&stderr, hint);
    }
    assert!(
        bgw(data.path(), &["keys", "add", "openai", "--value", "sk-1"])
            .status
            .success()
    );
    let dup = bgw(data.path(), &["keys", "add", "openai", "--value", "sk-2"]);
    assert_eq!(dup.status.code(), Some(2));
    assert_contains(&out(&dup).1, "a key named `openai` exists already");
}

#[test]
fn removing_keys() {
    let data = tempfile::tempdir().unwrap();
    assert!(
        bgw(
            data.path(),
            &["keys", "add", "deepseek", "--env", "DEEPSEEK_API_KEY"]
        )
        .status
        .success()
    );
    let rm = bgw(data.path(), &["keys", "rm", "deepseek"]);
    assert!(rm.status.success());
    assert_contains(&out(&rm).1, "removed key `deepseek`");
    let again = bgw(data.path(), &["keys", "rm", "deepseek"]);
    assert_eq!(again.status.code(), Some(1));
    assert_contains(&out(&again).1, "error: no key named `deepseek`");
}

#[test]
fn help_never_shows_a_secret_from_the_environment() {
    let data = tempfile::tempdir().unwrap();
    let o = command(data.path())
        .args(["keys", "add", "--help"])
        .env("OPENAI_API_KEY", "sk-live-should-not-appear")
        .output()
        .unwrap();
    let (stdout, _) = out(&o);
    assert!(o.status.success());
    assert!(!stdout.contains("sk-live-should-not-appear"));
    let flowing = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_contains(&flowing, "only your user can read (mode 0600)");
}

#[tokio::test]
async fn models_merges_the_live_list_with_the_catalog() {
    let upstream = Mock::start([Reply::json(
        200,
        &json!({"object": "list", "data": [
            {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
            {"id": "ft:gpt-4o:acme::abc123", "object": "model", "created": 1720000000, "owned_by": "acme"}
        ]}),
    )])
    .await;
    let data = tempfile::tempdir().unwrap();
    let url = format!("{}/v1", upstream.url());
    assert!(
        bgw(
            data.path(),
            &[
                "keys",
                "add",
                "openai",
                "--value",
                "sk-models-test-0000",
                "--base-url",
                &url
            ]
        )
        .status
        .success()
    );

    let o = tokio::task::spawn_blocking({
        let dir = data.path().to_owned();
        move || bgw(&dir, &["models", "--provider", "openai", "--json"])
    })
    .await
    .unwrap();

    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = |id: &str| {
        rows.iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {stdout}"))
    };
    assert_eq!(row("openai/gpt-4o")["source"], "live+catalog");
    assert_eq!(row("openai/gpt-4o")["context_window"], 128000);
    assert_eq!(row("openai/ft:gpt-4o:acme::abc123")["source"], "live");
    assert_eq!(row("openai/gpt-5")["source"], "catalog");
    let listed = upstream.only_request();
    assert_eq!(listed.path, "/v1/models");
    assert_eq!(
        listed.header("authorization"),
        Some("Bearer sk-models-test-0000")
    );
}

#[test]
fn models_for_an_unknown_provider_is_an_error() {
    let data = tempfile::tempdir().unwrap();
    let o = bgw(data.path(), &["models", "--provider", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert_contains(&out(&o).1, "error: unknown provider `nope`");
}

#[tokio::test]
async fn models_reads_every_page_of_geminis_list_and_keeps_the_chat_models() {
    // Shape of https://ai.google.dev/api/models#method:-models.list : `models/`-prefixed
    // names, limits, supportedGenerationMethods; pages chained by nextPageToken.
    const TOKEN: &str = "Ch5tb2RlbHMv+Z2VtaW5p/LTIuMA==";
    let upstream = Mock::start([
        Reply::json(
            200,
            &json!({"models": [
                {"name": "models/gemini-2.5-pro", "version": "2.5", "displayName": "Gemini 2.5 Pro",
                 "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
                 "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]},
                {"name": "models/gemini-embedding-001", "version": "001", "displayName": "Gemini Embedding 001",
                 "inputTokenLimit": 2048, "outputTokenLimit": 1,
                 "supportedGenerationMethods": ["embedContent", "countTextTokens", "countTokens"]}
            ], "nextPageToken": TOKEN}),
        ),
        Reply::json(
            200,
            &json!({"models": [
                {"name": "models/gemini-2.0-flash-001", "version": "2.0", "displayName": "Gemini 2.0 Flash 001",
                 "inputTokenLimit": 1048576, "outputTokenLimit": 8192,
                 "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]}
            ]}),
        ),
    ])
    .await;
    let data = tempfile::tempdir().unwrap();
    let url = upstream.at("/v1beta");
    let key = "AIzaSyModels-test-000000000000000000";
    assert!(
        bgw(
            data.path(),
            &["keys", "add", "gemini", "--value", key, "--base-url", &url]
        )
        .status
        .success()
    );

    let o = tokio::task::spawn_blocking({
        let dir = data.path().to_owned();
        move || bgw(&dir, &["models", "--provider", "gemini", "--json"])
    })
    .await
    .unwrap();

    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(!stderr.contains("catalog only"), "{stderr}");
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = |id: &str| {
        rows.iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {stdout}"))
    };
    assert_eq!(row("gemini/gemini-2.5-pro")["source"], "live+catalog");
    assert_eq!(row("gemini/gemini-2.5-pro")["context_window"], 1_048_576);
    // Not in the catalog: the list's own limits stand in.
    let flash = row("gemini/gemini-2.0-flash-001");
    assert_eq!(flash["source"], "live");
    assert_eq!(flash["context_window"], 1_048_576);
    assert_eq!(flash["max_output"], 8192);
    assert_eq!(row("gemini/gemini-3-pro-preview")["source"], "catalog");
    assert!(
        !stdout.contains("embedding"),
        "a model that cannot generateContent is left out: {stdout}"
    );

    let listed = upstream.requests();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].path, "/v1beta/models?pageSize=1000");
    assert_eq!(
        listed[1].path,
        "/v1beta/models?pageSize=1000&pageToken=Ch5tb2RlbHMv%2BZ2VtaW5p%2FLTIuMA%3D%3D"
    );
    for r in &listed {
        assert_eq!(r.method, "GET");
        assert_eq!(r.header("x-goog-api-key"), Some(key));
        assert!(
            !r.path.contains(key) && !r.path.contains("key="),
            "{}",
            r.path
        );
        assert_eq!(r.header("authorization"), None);
    }
}

#[tokio::test]
async fn models_says_why_geminis_list_failed_and_shows_the_catalog() {
    let upstream = Mock::start([Reply::json(
        400,
        &json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                         "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]}}),
    )])
    .await;
    let data = tempfile::tempdir().unwrap();
    let url = upstream.at("/v1beta");
    assert!(
        bgw(
            data.path(),
            &[
                "keys",
                "add",
                "gemini",
                "--value",
                "AIzaSy-bad",
                "--base-url",
                &url
            ]
        )
        .status
        .success()
    );
    let o = tokio::task::spawn_blocking({
        let dir = data.path().to_owned();
        move || bgw(&dir, &["models", "--provider", "gemini", "--json"])
    })
    .await
    .unwrap();
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    assert_contains(
        &stderr,
        "gemini: listing models failed (400 Bad Request): API key not valid. Please pass a valid API key.; showing the catalog only",
    );
    assert_contains(&stdout, r#""id":"gemini/gemini-2.5-pro""#);
}
