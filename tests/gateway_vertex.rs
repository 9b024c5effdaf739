//! Google Vertex AI behind the Anthropic Messages API: the real `bgw serve`, signed in with
//! a service account's key file against a mock OAuth token endpoint, talking to a mock
//! `{region}-aiplatform.googleapis.com` (the key's `--base-url`).
//!
//! Upstream shapes: https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference
//! (Gemini's `generateContent`/`streamGenerateContent?alt=sse`),
//! https://docs.anthropic.com/en/api/claude-on-vertex-ai (Claude's `rawPredict`/
//! `streamRawPredict`, `anthropic_version: vertex-2023-10-16`, model ids with `@date`),
//! https://developers.google.com/identity/protocols/oauth2/service-account#httprest (the
//! JWT-bearer grant and its answer).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use support::bgw::log_rows;
use support::clouds::google::{self, TokenEndpoint, token};
use support::clouds::{hermetic, hermetic_command};
use support::mock::closed_port;
use support::sse::gemini::{chunk, frame, usage};
use support::sse::{self, names, one_block_names, text_of};
use support::{Bgw, Mock, Reply, assert_contains, expect_error, messages_request};

const PROJECT: &str = "acme-prod";

/// A mock Google: its token endpoint, and a service-account key file naming it.
struct Google {
    tokens: Mock,
    /// The grants counted, when the endpoint grants.
    endpoint: Option<TokenEndpoint>,
    key_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Google {
    /// A token endpoint granting tokens valid `expires_in` seconds to valid JWT grants.
    async fn granting(expires_in: u64) -> Google {
        let tokens = Mock::start([]).await;
        let (endpoint, respond) = TokenEndpoint::new(tokens.at("/token"), expires_in);
        tokens.respond_with(respond);
        Google::with(tokens, Some(endpoint))
    }

    /// A token endpoint answering every grant with `reply`.
    async fn answering(reply: Reply) -> Google {
        let tokens = Mock::answering(move |_| reply.clone()).await;
        Google::with(tokens, None)
    }

    fn with(tokens: Mock, endpoint: Option<TokenEndpoint>) -> Google {
        let dir = tempfile::tempdir().unwrap();
        let key_file = google::key_file(dir.path(), &tokens.at("/token"));
        Google {
            tokens,
            endpoint,
            key_file,
            _dir: dir,
        }
    }

    fn grants(&self) -> usize {
        self.endpoint.as_ref().unwrap().grants()
    }
}

/// A gateway with one vertex key: the service account's key file, `PROJECT`, `region`, and
/// the mock Vertex host.
fn gateway(google: &Google, vertex: &Mock, region: &str) -> Bgw {
    hermetic(Bgw::setup())
        .key(&[
            "vertex",
            "--file",
            google.key_file.to_str().unwrap(),
            "--project",
            PROJECT,
            "--region",
            region,
            "--base-url",
            &vertex.url(),
        ])
        .start()
}

/// Gemini's streamed answer "Hello." in two `data:` frames (Vertex's SSE shape is the
/// Gemini API's), each its own write.
fn gemini_hello() -> Reply {
    let model = "gemini-2.5-pro";
    Reply::sse([
        frame(&chunk(
            model,
            json!([{"text": "Hel"}]),
            None,
            Some(usage(11, 1, 0)),
        )),
        frame(&chunk(
            model,
            json!([{"text": "lo."}]),
            Some("STOP"),
            Some(usage(11, 2, 0)),
        )),
    ])
}

/// An Anthropic SSE body cut into its events, one write each.
fn by_event(body: &str) -> Reply {
    let events: Vec<String> = body.split_inclusive("\n\n").map(str::to_owned).collect();
    assert!(events.len() > 3);
    Reply::sse(events)
}

#[tokio::test]
async fn a_key_file_signs_in_once_and_gemini_streams_back_as_anthropic_sse() {
    let google = Google::granting(3599).await;
    let vertex = Mock::start([
        gemini_hello(),
        Reply::json(
            200,
            &chunk(
                "gemini-2.5-pro",
                json!([{"text": "Hi again."}]),
                Some("STOP"),
                Some(usage(11, 3, 0)),
            ),
        ),
    ])
    .await;
    let bgw = gateway(&google, &vertex, "us-central1");

    let resp = bgw
        .client()
        .messages(&messages_request("vertex/gemini-2.5-pro", true))
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    let events = resp.sse().all().await;
    assert_eq!(names(&events), one_block_names(2), "{events:#?}");
    assert_eq!(text_of(&events, 0), "Hello.");
    let start = events[0].json();
    assert_eq!(start["message"]["usage"]["input_tokens"], 11);
    assert_eq!(sse::message_delta(&events)["usage"]["output_tokens"], 2);

    // One grant, checked by the mock as Google checks it (form, JWT signature, claims).
    assert_eq!(google.grants(), 1, "{:#?}", google.tokens.requests());
    let grant =
        google::check_token_request(&google.tokens.requests()[0], &google.tokens.at("/token"))
            .unwrap();
    assert_eq!(grant["iss"], google::client_email());

    let req = vertex.only_request();
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.path,
        "/v1/projects/acme-prod/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {}", token(1)).as_str())
    );
    assert_eq!(req.header("x-goog-api-key"), None);
    let body = req.json();
    assert_eq!(body["contents"][0]["role"], "user");
    assert_eq!(body["contents"][0]["parts"][0]["text"], "Say hello.");
    assert_eq!(
        body["systemInstruction"]["parts"][0]["text"],
        "You are terse."
    );

    // The second request reuses the token; a whole answer goes to `:generateContent`.
    let resp = bgw
        .client()
        .messages(&messages_request("vertex/gemini-2.5-pro", false))
        .await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    assert_eq!(body["content"][0]["text"], "Hi again.");
    assert_eq!(body["usage"]["output_tokens"], 3);
    let second = &vertex.requests()[1];
    assert_eq!(
        second.path,
        "/v1/projects/acme-prod/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent"
    );
    assert_eq!(
        second.header("authorization"),
        Some(format!("Bearer {}", token(1)).as_str())
    );
    assert_eq!(google.tokens.requests().len(), 1, "the token is cached");
}

#[tokio::test]
async fn a_token_near_its_expiry_is_fetched_again() {
    // Granted for 2 s: a token this short-lived is renewed halfway through its life
    // (src/providers/vertex/auth.rs: the 5-minute margin is capped at half the lifetime).
    let google = Google::granting(2).await;
    let vertex = Mock::start([gemini_hello(), gemini_hello()]).await;
    let bgw = gateway(&google, &vertex, "us-central1");

    let events = bgw.client().hello_events("vertex/gemini-2.5-pro").await;
    assert_eq!(text_of(&events, 0), "Hello.");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let events = bgw.client().hello_events("vertex/gemini-2.5-pro").await;
    assert_eq!(text_of(&events, 0), "Hello.");

    assert_eq!(google.grants(), 2);
    let auth: Vec<String> = vertex
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(
        auth,
        [
            format!("Bearer {}", token(1)),
            format!("Bearer {}", token(2))
        ]
    );
}

#[tokio::test]
async fn a_token_granted_for_five_minutes_is_not_renewed_at_once() {
    // 301 s leaves less than the 5-minute margin, but bgw renews a token that short-lived
    // halfway through its life, not on every request.
    let google = Google::granting(301).await;
    let vertex = Mock::start([gemini_hello(), gemini_hello()]).await;
    let bgw = gateway(&google, &vertex, "us-central1");
    for _ in 0..2 {
        let events = bgw.client().hello_events("vertex/gemini-2.5-pro").await;
        assert_eq!(text_of(&events, 0), "Hello.");
    }
    assert_eq!(google.grants(), 1);
}

#[tokio::test]
async fn a_refused_grant_is_an_error_that_says_which_key_and_what_to_do() {
    // Google's answer for a key deleted in the console.
    let google = Google::answering(Reply::json(
        400,
        &json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
    ))
    .await;
    let vertex = Mock::start([]).await;
    let bgw = gateway(&google, &vertex, "us-central1");

    for stream in [true, false] {
        let resp = bgw
            .client()
            .messages(&messages_request("vertex/gemini-2.5-pro", stream))
            .await;
        // A 403 (not a 401): Claude Code shows a 403's message, a 401 only as "invalid API key".
        let message = expect_error(resp, 403, "permission_error").await;
        assert_contains(&message, "vertex");
        assert_contains(&message, "invalid_grant");
        assert_contains(&message, &google::client_email());
        assert_contains(&message, "Service accounts");
        assert_contains(&message, "the key `vertex`");
        assert_contains(&message, "/login does not change it");
    }
    assert!(
        vertex.requests().is_empty(),
        "nothing was sent without a token"
    );
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_a_network_failure_not_a_key_problem() {
    let dir = tempfile::tempdir().unwrap();
    let token_uri = format!("http://127.0.0.1:{}/token", closed_port());
    let key_file = google::key_file(dir.path(), &token_uri);
    let vertex = Mock::start([]).await;
    let bgw = hermetic(Bgw::setup())
        .key(&[
            "vertex",
            "--file",
            key_file.to_str().unwrap(),
            "--project",
            PROJECT,
            "--base-url",
            &vertex.url(),
        ])
        .start();
    let resp = bgw.client().hello("vertex/gemini-2.5-pro", false).await;
    // Like an unreachable upstream: retryable (failover, cooldown), so with one target the
    // answer is the cooling-down 529, carrying the reason.
    let message = expect_error(resp, 529, "overloaded_error").await;
    assert_contains(&message, "cooling down");
    assert_contains(&message, "cannot reach Google's token endpoint");
    assert_contains(&message, &token_uri);
    assert!(vertex.requests().is_empty());
}

#[tokio::test]
async fn application_default_credentials_use_the_refresh_token_grant() {
    // The file `gcloud auth application-default login` writes
    // (https://cloud.google.com/docs/authentication/application-default-credentials), found
    // through GOOGLE_APPLICATION_CREDENTIALS; its refresh token is traded at `token_uri`
    // (https://developers.google.com/identity/protocols/oauth2/web-server#offline).
    let tokens = Mock::answering(|req| {
        let form = google::form(&req.body);
        let has = |k: &str, v: &str| form.iter().any(|(fk, fv)| fk == k && fv == v);
        if has("grant_type", "refresh_token")
            && has("refresh_token", "1//0gTestRefreshToken")
            && has("client_id", "764086051850-test.apps.googleusercontent.com")
            && has("client_secret", "d-FL95Q19q7MQmFpd7hHD0Ty")
        {
            Reply::json(
                200,
                &json!({"access_token": "ya29.user-token", "expires_in": 3599, "token_type": "Bearer",
                        "scope": "https://www.googleapis.com/auth/cloud-platform"}),
            )
        } else {
            Reply::json(400, &json!({"error": "invalid_request"}))
        }
    })
    .await;
    let vertex = Mock::start([gemini_hello()]).await;
    let setup = hermetic(Bgw::setup());
    let adc = setup.path().join("adc.json");
    std::fs::write(
        &adc,
        json!({
            "type": "authorized_user",
            "client_id": "764086051850-test.apps.googleusercontent.com",
            "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty",
            "refresh_token": "1//0gTestRefreshToken",
            "token_uri": tokens.at("/token"),
        })
        .to_string(),
    )
    .unwrap();
    let bgw = setup
        .env("GOOGLE_APPLICATION_CREDENTIALS", adc.to_str().unwrap())
        .key(&[
            "vertex",
            "--project",
            PROJECT,
            "--region",
            "europe-west4",
            "--base-url",
            &vertex.url(),
        ])
        .start();
    let events = bgw.client().hello_events("vertex/gemini-2.5-pro").await;
    assert_eq!(text_of(&events, 0), "Hello.");
    assert_eq!(tokens.requests().len(), 1);
    let req = vertex.only_request();
    assert_eq!(req.header("authorization"), Some("Bearer ya29.user-token"));
    assert!(
        req.path
            .starts_with("/v1/projects/acme-prod/locations/europe-west4/publishers/google/"),
        "{}",
        req.path
    );
}

#[tokio::test]
async fn claude_on_vertex_streams_through_stream_raw_predict() {
    let google = Google::granting(3599).await;
    let upstream = sse::anthropic::text_stream("claude-sonnet-4-5-20250929", "Hello from Vertex.");
    let vertex = Mock::start([by_event(&upstream)]).await;
    let bgw = gateway(&google, &vertex, "us-east5");

    let beta = "interleaved-thinking-2025-05-14";
    let resp = bgw
        .client()
        .post_json_with(
            "/v1/messages",
            &[
                ("anthropic-beta", beta),
                ("anthropic-version", "2023-06-01"),
            ],
            &messages_request("vertex/claude-sonnet-4-5", true),
        )
        .await;
    assert_eq!(resp.status, 200);
    let events = resp.sse().all().await;
    assert_eq!(names(&events), one_block_names(1));
    assert_eq!(text_of(&events, 0), "Hello from Vertex.");
    assert_eq!(sse::message_delta(&events)["usage"]["output_tokens"], 15);

    let req = vertex.only_request();
    assert_eq!(
        req.path,
        "/v1/projects/acme-prod/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {}", token(1)).as_str())
    );
    assert_eq!(req.header("anthropic-beta"), Some(beta));
    let body = req.json();
    assert_eq!(body.get("model"), None, "{body}");
    assert_eq!(body["anthropic_version"], "vertex-2023-10-16");
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(body["messages"][0]["content"][0]["text"], "Say hello.");
}

#[tokio::test]
async fn claude_on_vertex_answers_whole_through_raw_predict_in_the_global_location() {
    let google = Google::granting(3599).await;
    let vertex = Mock::start([support::anthropic::reply(
        "claude-opus-4-6",
        "Hello, whole.",
    )])
    .await;
    let bgw = gateway(&google, &vertex, "global");

    let resp = bgw.client().hello("vertex/claude-opus-4-6", false).await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    assert_eq!(body["content"][0]["text"], "Hello, whole.");

    let req = vertex.only_request();
    // The 4.6 generation's ids have no `@date` on Vertex.
    assert_eq!(
        req.path,
        "/v1/projects/acme-prod/locations/global/publishers/anthropic/models/claude-opus-4-6:rawPredict"
    );
    let body = req.json();
    assert_eq!(body.get("model"), None);
    assert_eq!(body["anthropic_version"], "vertex-2023-10-16");
    assert_ne!(body["stream"], true);
}

/// Runs `bgw keys add ARGS…` with `stdin` in the data dir `dir` (its `home/` as HOME, no
/// cloud settings from the machine); its exit status and stderr.
fn keys_add_in(
    dir: &std::path::Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> (bool, String) {
    use std::io::Write as _;
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = support::bgw::command(dir);
    hermetic_command(&mut cmd, &home);
    cmd.envs(env.iter().copied())
        .arg("keys")
        .arg("add")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`keys_add_in`] a fresh data dir.
fn keys_add(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    keys_add_in(dir.path(), args, None, env)
}

/// The fixture key with `field` set to `value` (`null` removes it), written in `dir`.
fn key_file_with(dir: &std::path::Path, field: &str, value: serde_json::Value) -> String {
    let mut key = google::fixture();
    if value.is_null() {
        key.as_object_mut().unwrap().remove(field);
    } else {
        key[field] = value;
    }
    let path = dir.join(format!("key-without-{field}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&key).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn keys_add_vertex_checks_the_project_and_the_key_file_when_added() {
    // Application-default credentials (no key given) and no project anywhere.
    let (ok, err) = keys_add(&["vertex", "--region", "us-east5"], &[]);
    assert!(!ok);
    assert_contains(&err, "a vertex key needs a Google Cloud project");
    assert_contains(&err, "hint: add `--project PROJECT_ID`");
    // gcloud's project variable is one.
    let (ok, err) = keys_add(&["vertex"], &[("GOOGLE_CLOUD_PROJECT", "acme-dev")]);
    assert!(ok, "{err}");
    // A key file names its project itself.
    let dir = tempfile::tempdir().unwrap();
    let key = google::key_file(dir.path(), "https://oauth2.googleapis.com/token");
    let (ok, err) = keys_add(&["vertex", "--file", key.to_str().unwrap()], &[]);
    assert!(ok, "{err}");

    let (ok, err) = keys_add(&["vertex", "--project", "p", "--profile", "dev"], &[]);
    assert!(!ok);
    assert_contains(&err, "`--profile` is for bedrock keys, not `vertex`");

    let pkcs1 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vertex/service_account_pkcs1.json"
    );
    let (ok, err) = keys_add(&["vertex", "--file", pkcs1, "--project", "p"], &[]);
    assert!(!ok);
    assert_contains(&err, "PKCS#1");
    assert_contains(
        &err,
        "openssl pkcs8 -topk8 -nocrypt`, or download a new JSON key",
    );
    assert!(!err.contains("MII"), "no key material: {err}");

    for field in ["client_email", "private_key", "token_uri"] {
        let file = key_file_with(dir.path(), field, serde_json::Value::Null);
        let (ok, err) = keys_add(&["vertex", "--file", &file, "--project", "p"], &[]);
        assert!(!ok, "a key file without `{field}` was taken");
        assert_contains(&err, &format!("`{field}`"));
        assert!(!err.contains("MII"), "no key material: {err}");
    }
}

#[tokio::test]
async fn a_key_file_piped_to_stdin_is_read_whole_and_signs_in() {
    let google = Google::granting(3599).await;
    let vertex = Mock::start([gemini_hello()]).await;
    let setup = hermetic(Bgw::setup());
    // The key file as the Cloud console downloads it: pretty-printed over many lines.
    let json = std::fs::read(&google.key_file).unwrap();
    assert!(json.iter().filter(|b| **b == b'\n').count() > 5);
    let (ok, err) = keys_add_in(
        setup.path(),
        &[
            "vertex",
            "--stdin",
            "--project",
            PROJECT,
            "--base-url",
            &vertex.url(),
        ],
        Some(&json),
        &[],
    );
    assert!(ok, "{err}");
    let bgw = setup.start();
    let events = bgw.client().hello_events("vertex/gemini-2.5-pro").await;
    assert_eq!(text_of(&events, 0), "Hello.");
    assert_eq!(google.grants(), 1);
    assert_eq!(
        vertex.only_request().header("authorization"),
        Some(format!("Bearer {}", token(1)).as_str())
    );
}

#[test]
fn keys_list_shows_no_secret_and_no_key_file_contents() {
    let dir = tempfile::tempdir().unwrap();
    let key = google::key_file(dir.path(), "https://oauth2.googleapis.com/token");
    let key = key.to_str().unwrap();
    let json = std::fs::read(key).unwrap();
    for (args, stdin) in [
        (vec!["vertex", "--name", "sa-file", "--file", key], None),
        (
            vec!["vertex", "--name", "sa-stdin", "--stdin"],
            Some(json.as_slice()),
        ),
        (
            vec![
                "vertex",
                "--name",
                "express",
                "--value",
                "AIzaSyExpressKey-secret-1234",
            ],
            None,
        ),
    ] {
        let (ok, err) = keys_add_in(dir.path(), &args, stdin, &[]);
        assert!(ok, "{err}");
        assert!(!err.contains("PRIVATE KEY"), "{err}");
    }
    let out = support::bgw::command(dir.path())
        .args(["keys", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    for secret in [
        "PRIVATE KEY",
        "MII",
        "private_key",
        "AIzaSyExpressKey-secret",
    ] {
        assert!(!shown.contains(secret), "`{secret}` in:\n{shown}");
    }
    // One line a key (a stored JSON key must not break the table), and the file's path.
    assert_eq!(shown.lines().count(), 4, "{shown}");
    assert_contains(&shown, key);
}

#[tokio::test]
async fn claude_codes_vertex_mode_is_served_through_the_vertex_key() {
    let google = Google::granting(3599).await;
    let upstream = sse::anthropic::text_stream("claude-sonnet-4-5-20250929", "Hello, Vertex mode.");
    let vertex = Mock::start([
        by_event(&upstream),
        support::anthropic::reply("claude-sonnet-4-5-20250929", "Hello, whole."),
    ])
    .await;
    let bgw = gateway(&google, &vertex, "us-east5");
    // Claude Code's request in Vertex's shape, for its own project `p`.
    let body = json!({
        "anthropic_version": "vertex-2023-10-16",
        "max_tokens": 1024,
        "stream": true,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}]
    });
    let path = "/vertex/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929";
    let resp = bgw
        .client()
        .post_json_with(
            &format!("{path}:streamRawPredict"),
            &[("anthropic-beta", "claude-code-20250219")],
            &body,
        )
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    let events = resp.sse().all().await;
    assert_eq!(names(&events), one_block_names(1));
    assert_eq!(text_of(&events, 0), "Hello, Vertex mode.");

    let mut whole = body.clone();
    whole.as_object_mut().unwrap().remove("stream");
    let resp = bgw
        .client()
        .post_json(&format!("{path}:rawPredict"), &whole)
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json().await["content"][0]["text"], "Hello, whole.");

    // bgw's key decides the project and signs in; the client's project is not used.
    let reqs = vertex.requests();
    assert_eq!(
        reqs[0].path,
        "/v1/projects/acme-prod/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
    );
    assert_eq!(
        reqs[1].path,
        "/v1/projects/acme-prod/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
    );
    assert_eq!(
        reqs[0].header("anthropic-beta"),
        Some("claude-code-20250219")
    );
    assert_eq!(reqs[0].json()["anthropic_version"], "vertex-2023-10-16");
    assert_eq!(reqs[0].json()["stream"], true);
    assert_ne!(reqs[1].json()["stream"], true);

    let rows = log_rows(bgw.data_dir(), 2);
    assert!(rows.iter().all(|r| r["provider"] == "vertex"), "{rows:?}");
}

/// Vertex AI express mode: an API key (`--value`), sent as `x-goog-api-key` on the path without
/// a project (https://cloud.google.com/vertex-ai/generative-ai/docs/start/express-mode/vertex-ai-express-mode-api-reference);
/// it serves Gemini models only, so Claude is refused before anything is sent.
#[tokio::test]
async fn an_express_mode_api_key_reaches_gemini_without_a_project_and_refuses_claude() {
    let vertex = Mock::start([gemini_hello()]).await;
    let bgw = hermetic(Bgw::setup())
        .key(&[
            "vertex",
            "--value",
            "AQ.Ab8RN6express-test-key-0000",
            "--base-url",
            &vertex.url(),
        ])
        .start();

    let resp = bgw
        .client()
        .messages(&messages_request("vertex/gemini-2.5-pro", true))
        .await;
    assert_eq!(resp.status, 200);
    let events = resp.sse().all().await;
    assert_eq!(text_of(&events, 0), "Hello.");
    let req = vertex.only_request();
    assert_eq!(
        req.path,
        "/v1/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert_eq!(
        req.header("x-goog-api-key"),
        Some("AQ.Ab8RN6express-test-key-0000")
    );
    assert_eq!(req.header("authorization"), None);

    let resp = bgw
        .client()
        .messages(&messages_request("vertex/claude-sonnet-4-5", false))
        .await;
    assert_eq!(resp.status, 400);
    let body = resp.json().await;
    assert_contains(body["error"]["message"].as_str().unwrap(), "express mode");
    assert_eq!(vertex.requests().len(), 1, "nothing more was sent upstream");
}

/// Claude's token count on Vertex (https://docs.anthropic.com/en/api/claude-on-vertex-ai):
/// `count-tokens:rawPredict` under the project and location, the model named in the body.
#[tokio::test]
async fn a_token_count_for_claude_is_vertexs_own() {
    let google = Google::granting(3599).await;
    let vertex = Mock::start([Reply::json(200, &json!({"input_tokens": 321}))]).await;
    let bgw = gateway(&google, &vertex, "us-east5");
    let resp = bgw
        .client()
        .post_json(
            "/v1/messages/count_tokens",
            &json!({"model": "vertex/claude-sonnet-4-5",
                    "messages": [{"role": "user", "content": "Count me."}]}),
        )
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json().await, json!({"input_tokens": 321}));
    let req = vertex.only_request();
    assert_eq!(
        req.path,
        "/v1/projects/acme-prod/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict"
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {}", token(1)).as_str())
    );
    let body = req.json();
    assert_eq!(body["model"], "claude-sonnet-4-5@20250929");
    assert_eq!(body["anthropic_version"], "vertex-2023-10-16");
}
