//! End-to-end: the real Claude Code CLI through `bgw run` against mock clouds, each speaking
//! its own wire format event by event:
//! - Vertex AI, signed in with a service account (an RS256 JWT traded for an access token,
//!   https://developers.google.com/identity/protocols/oauth2/service-account#httprest): Gemini
//!   in `streamGenerateContent?alt=sse`
//!   (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference), Claude
//!   in `streamRawPredict` (https://docs.anthropic.com/en/api/claude-on-vertex-ai);
//! - Amazon Bedrock's InvokeModelWithResponseStream for Claude, signed with SigV4
//!   (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html ,
//!   https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html);
//! - Claude Code in its own Bedrock and Vertex modes (`bgw run --bedrock`/`--vertex`), served
//!   by bgw and routed to an OpenAI model like any other request.
//!
//! Every test is one Write turn: the first answer asks for a Write of a file in the project,
//! the second (after Claude Code sends the tool's result back) is text.
//!
//! `scripts/test` installs the pinned CLI and sets `BGW_E2E_CLAUDE`; without it these tests
//! fail (they never skip: a missing Claude Code is a broken test setup).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::bgw::{command, log_rows};
use support::claude::bgw_run_with_env;
use support::mock::Part;
use support::sse::{fragments, gemini, openai};
use support::{Mock, Recorded, Reply, assert_contains};

/// The access token the mock Google token endpoint hands out.
const TOKEN: &str = "ya29.e2e";
/// What the model asks Claude Code to write.
const CONTENT: &str = "hello from the cloud\n";
/// The pause between two events of a mock stream, so each is its own write and read.
const GAP: Duration = Duration::from_millis(15);
/// AWS's documentation example credentials (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The tool_use id the mock Claude gives its Write call.
const TOOL_ID: &str = "toolu_01E2eCloudWrite0000001";
/// The opaque signature Gemini hands out on the first call of a step, wanted back on it.
const SIG: &str = "CiQBcsjafDNqE6bXd4mZBk7vhc1ps2Kkq8sbjIXHJcGRmIo1OOgKYAFyyNp8e2e=";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A project directory (canonical, as Claude Code resolves it) and the file to write there.
struct Project {
    _dir: tempfile::TempDir,
    path: PathBuf,
    file: PathBuf,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap();
        let file = path.join("hello.txt");
        Project {
            _dir: dir,
            path,
            file,
        }
    }

    /// `bgw run ARGS -- -p PROMPT --allowedTools Write` with `env`; it must succeed. Its
    /// stdout and stderr; a failure names the upstream's requests by path and size only
    /// (Claude Code's are long).
    async fn write_turn(
        &self,
        data: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        upstream: &Mock,
    ) -> (String, String) {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--", "-p", "Create hello.txt", "--allowedTools", "Write"]);
        let out = bgw_run_with_env(data, &self.path, &all, env).await;
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        let seen: Vec<(String, usize)> = upstream
            .requests()
            .iter()
            .map(|r| (r.path.clone(), r.body.len()))
            .collect();
        assert!(
            out.status.success(),
            "bgw run failed: {:?}\nstdout: {stdout}\nstderr: {stderr}\nupstream requests: {seen:?}",
            out.status
        );
        assert_eq!(
            std::fs::read_to_string(&self.file).ok().as_deref(),
            Some(CONTENT),
            "the file Claude Code wrote; stdout: {stdout}\nstderr: {stderr}"
        );
        (stdout, stderr)
    }
}

/// Runs `bgw keys add ARGS…` with `env` set; it must succeed.
fn add_key(data: &Path, args: &[&str], env: &[(&str, &str)]) {
    let out = command(data)
        .args(["keys", "add"])
        .args(args)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keys add {args:?}: {}",
        text(&out.stderr)
    );
}

/// A 200 stream of `content_type` whose chunks are written one by one, [`GAP`] apart.
fn paced(content_type: &str, chunks: impl IntoIterator<Item = Vec<u8>>) -> Reply {
    let mut parts = Vec::new();
    for c in chunks {
        if !parts.is_empty() {
            parts.push(Part::Sleep(GAP));
        }
        parts.push(Part::Bytes(Bytes::from(c)));
    }
    Reply::Stream {
        status: 200,
        headers: vec![("content-type".into(), content_type.into())],
        parts,
    }
}

/// A 200 `text/event-stream` of these frames, paced as [`paced`] does.
fn sse(frames: impl IntoIterator<Item = String>) -> Reply {
    paced(
        "text/event-stream",
        frames.into_iter().map(String::into_bytes),
    )
}

/// Google's answer to a path it has no method for.
fn google_not_found(r: &Recorded) -> Reply {
    Reply::json(
        404,
        &gemini::error(404, "NOT_FOUND", &format!("no such method: {}", r.path)),
    )
}

// ---- Google sign-in -------------------------------------------------------------------

/// The test service account's key (tests/fixtures/vertex), its `token_uri` pointed at `mock`.
fn service_account(mock: &Mock) -> (tempfile::NamedTempFile, Value) {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vertex/service_account.json"
    );
    let mut key: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    key["token_uri"] = json!(mock.at("/token"));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), key.to_string()).unwrap();
    (file, key)
}

/// A data dir with a vertex key: that service account, project `p`, region `us-central1`,
/// calling `mock`.
fn vertex_data_dir(key_file: &Path, mock: &Mock) -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    add_key(
        data.path(),
        &[
            "vertex",
            "--file",
            key_file.to_str().unwrap(),
            "--project",
            "p",
            "--region",
            "us-central1",
            "--base-url",
            &mock.url(),
        ],
        &[],
    );
    data
}

fn b64url(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// Why a token request is not the JWT bearer grant Google takes from `key`; `None` when it
/// is: the form's grant type, and an assertion signed RS256 by the key with the claims
/// Google wants.
fn token_request_problem(r: &Recorded, key: &Value) -> Option<String> {
    if r.method != "POST" {
        return Some(format!("{} instead of POST", r.method));
    }
    if r.header("content-type") != Some("application/x-www-form-urlencoded") {
        return Some(format!("content-type {:?}", r.header("content-type")));
    }
    let form: Vec<(String, String)> = url_form(&r.text());
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("grant_type").as_deref() != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return Some(format!("grant_type {:?}", field("grant_type")));
    }
    let Some(jwt) = field("assertion") else {
        return Some("no assertion".into());
    };
    let pieces: Vec<&str> = jwt.split('.').collect();
    let [head, claims, signature] = pieces[..] else {
        return Some(format!("the assertion has {} parts, not 3", pieces.len()));
    };
    let head: Value = serde_json::from_slice(&b64url(head)).unwrap();
    let claims: Value = serde_json::from_slice(&b64url(claims)).unwrap();
    if head["alg"] != "RS256" || head["kid"] != key["private_key_id"] {
        return Some(format!("JWT header {head}"));
    }
    let now = jiff::Timestamp::now().as_second();
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    if claims["iss"] != key["client_email"]
        || claims["scope"] != "https://www.googleapis.com/auth/cloud-platform"
        || claims["aud"] != key["token_uri"]
        || (iat - now).abs() > 300
        || exp - iat > 3600
    {
        return Some(format!("JWT claims {claims}"));
    }
    // The signature checks out against the key's public half.
    let pem = key["private_key"].as_str().unwrap();
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(der)
        .unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        ring::signature::KeyPair::public_key(&pair)
            .as_ref()
            .to_vec(),
    );
    let signed = format!("{}.{}", pieces[0], pieces[1]);
    public
        .verify(signed.as_bytes(), &b64url(signature))
        .err()
        .map(|_| "the assertion's signature does not verify".into())
}

/// `a=b&c=d`, percent-decoded (`+` is a space).
fn url_form(body: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let mut out = Vec::new();
        let mut bytes = s.bytes();
        while let Some(b) = bytes.next() {
            if b == b'%' {
                let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                out.push(u8::from_str_radix(&hex, 16).unwrap());
            } else {
                out.push(b);
            }
        }
        String::from_utf8(out).unwrap()
    };
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// The token endpoint's answer: an access token for a good grant, Google's `invalid_grant`
/// for anything else.
fn token_reply(r: &Recorded, key: &Value) -> Reply {
    match token_request_problem(r, key) {
        None => Reply::json(
            200,
            &json!({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"}),
        ),
        Some(why) => Reply::json(
            400,
            &json!({"error": "invalid_grant", "error_description": why}),
        ),
    }
}

/// The requests a mock got at paths starting with `prefix`.
fn at(mock: &Mock, prefix: &str) -> Vec<Recorded> {
    mock.requests()
        .into_iter()
        .filter(|r| r.path.starts_with(prefix))
        .collect()
}

/// Asserts the one token request was a good grant: a token is fetched once for the session.
fn assert_one_token_request(mock: &Mock, key: &Value) {
    let tokens = at(mock, "/token");
    assert_eq!(tokens.len(), 1, "one token fetched, then cached");
    assert_eq!(token_request_problem(&tokens[0], key), None);
}

// ---- Gemini on Vertex -----------------------------------------------------------------

/// Why a follow-up Gemini request is not one Gemini would take, as Gemini would say it;
/// `None` when it carries the Write call back on a model turn with its signature and
/// arguments, then its response on a user turn.
fn gemini_replay_problem(request: &Value, file: &Path) -> Option<String> {
    let parts = gemini::request_parts(request);
    let Some(call) = parts
        .iter()
        .position(|(role, p)| role == "model" && p["functionCall"]["name"] == "Write")
    else {
        return Some("no functionCall to Write in the history".into());
    };
    let part = &parts[call].1;
    if part["thoughtSignature"] != SIG {
        return Some(format!(
            "Function call is missing a thought_signature in functionCall parts: {part}"
        ));
    }
    if part["functionCall"]["args"] != json!({"file_path": file, "content": CONTENT}) {
        return Some(format!("the call's args changed: {part}"));
    }
    let answered = parts[call + 1..].iter().any(|(role, p)| {
        role == "user"
            && p["functionResponse"]["name"] == "Write"
            && p["functionResponse"]["response"]
                .to_string()
                .contains("hello.txt")
    });
    (!answered).then(|| "the Write call has no functionResponse naming hello.txt after it".into())
}

/// The mock Gemini: a first request gets a thought then a signed Write call; a request that
/// answers it gets the final text; a bad follow-up gets Google's 400.
fn gemini_answer(r: &Recorded, file: &Path) -> Reply {
    const MODEL: &str = "gemini-2.5-pro";
    let body = r.json();
    let answered = gemini::request_parts(&body)
        .iter()
        .any(|(_, p)| p.get("functionResponse").is_some());
    if !answered {
        return sse([
            gemini::frame(&gemini::chunk(
                MODEL,
                json!([{"text": "**Planning**\n\nI will write hello.txt.", "thought": true}]),
                None,
                Some(gemini::usage(9_000, 0, 21)),
            )),
            gemini::frame(&gemini::chunk(
                MODEL,
                json!([{
                    "functionCall": {"name": "Write", "args": {"file_path": file, "content": CONTENT}},
                    "thoughtSignature": SIG
                }]),
                Some("STOP"),
                Some(gemini::usage(9_000, 24, 21)),
            )),
        ]);
    }
    if let Some(problem) = gemini_replay_problem(&body, file) {
        return Reply::json(400, &gemini::error(400, "INVALID_ARGUMENT", &problem));
    }
    sse([
        gemini::frame(&gemini::chunk(
            MODEL,
            json!([{"text": "I wrote hello.txt "}]),
            None,
            Some(gemini::usage(9_100, 4, 0)),
        )),
        gemini::frame(&gemini::chunk(
            MODEL,
            json!([{"text": "on Vertex."}]),
            Some("STOP"),
            Some(gemini::usage(9_100, 8, 0)),
        )),
    ])
}

const VERTEX_GEMINI: &str = "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse";

#[tokio::test]
async fn claude_code_writes_a_file_through_gemini_on_vertex_signed_in_with_a_service_account() {
    let project = Project::new();
    let key = std::sync::Arc::new(std::sync::OnceLock::<Value>::new());
    let upstream = Mock::answering({
        let (file, key) = (project.file.clone(), key.clone());
        move |r| match r.path.as_str() {
            "/token" => token_reply(r, key.get().unwrap()),
            VERTEX_GEMINI => gemini_answer(r, &file),
            _ => google_not_found(r),
        }
    })
    .await;
    let (key_file, key_json) = service_account(&upstream);
    key.set(key_json.clone()).unwrap();
    let data = vertex_data_dir(key_file.path(), &upstream);

    let (stdout, stderr) = project
        .write_turn(
            data.path(),
            &["--sonnet", "vertex/gemini-2.5-pro"],
            &[],
            &upstream,
        )
        .await;

    assert_contains(&stdout, "I wrote hello.txt on Vertex.");
    assert_one_token_request(&upstream, &key_json);
    let calls = at(&upstream, "/v1/");
    assert_eq!(
        calls.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        [VERTEX_GEMINI, VERTEX_GEMINI]
    );
    for r in &calls {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("authorization"), Some("Bearer ya29.e2e"));
        assert_eq!(r.header("x-goog-api-key"), None);
        let body = r.json();
        assert!(body.get("model").is_none(), "the model is in the path");
        let declared = body["tools"][0]["functionDeclarations"].to_string();
        assert_contains(&declared, "\"Write\"");
    }
    // The second request: the call back on the model turn with Gemini's own signature, then
    // the tool's result as a functionResponse of the same name; thought text stays out.
    let second = calls[1].json();
    assert_eq!(gemini_replay_problem(&second, &project.file), None);
    assert!(
        gemini::request_parts(&second)
            .iter()
            .all(|(_, p)| p.get("thought").is_none()),
        "thought text is not sent back"
    );
    assert_contains(&stderr, "providers: vertex ×2");
}

// ---- Claude: Anthropic's events, for Vertex (SSE) and Bedrock (event-stream) ------------

/// The events of Claude's first answer: a sentence, then a Write call whose input arrives
/// in fragments.
fn claude_write_events(model: &str, file: &Path) -> Vec<Value> {
    let input = json!({"file_path": file, "content": CONTENT}).to_string();
    let mut events = vec![
        json!({"type": "message_start", "message": {
            "id": "msg_01E2eCloudWrite", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 9_000, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "I'll write the file."}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": TOOL_ID, "name": "Write", "input": {}}}),
    ];
    for piece in fragments(&input, &[3, 11, 7, 19]) {
        events.push(json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": piece}}));
    }
    events.extend([
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 42}}),
        json!({"type": "message_stop"}),
    ]);
    events
}

/// The events of Claude's final answer: text in two pieces.
fn claude_text_events(model: &str, pieces: &[&str]) -> Vec<Value> {
    let mut events = vec![
        json!({"type": "message_start", "message": {
            "id": "msg_01E2eCloudText", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 9_100, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "ping"}),
    ];
    for p in pieces {
        events.push(json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}));
    }
    events.extend([
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 9}}),
        json!({"type": "message_stop"}),
    ]);
    events
}

/// Whether an Anthropic-shaped request answers a tool call already.
fn has_tool_result(body: &Value) -> bool {
    body["messages"].to_string().contains("\"tool_result\"")
}

/// Why a follow-up Anthropic-shaped request is not one Claude would take; `None` when it
/// carries the Write call back on an assistant turn (same id and input), then its result.
fn claude_replay_problem(body: &Value, file: &Path) -> Option<String> {
    let messages = body["messages"].as_array()?;
    let blocks = |role: &'static str| {
        messages
            .iter()
            .enumerate()
            .filter(move |(_, m)| m["role"] == role)
            .flat_map(|(i, m)| {
                m["content"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |b| (i, b))
            })
    };
    let Some((turn, call)) = blocks("assistant").find(|(_, b)| b["type"] == "tool_use") else {
        return Some("no tool_use in the history".into());
    };
    if call["id"] != TOOL_ID
        || call["name"] != "Write"
        || call["input"] != json!({"file_path": file, "content": CONTENT})
    {
        return Some(format!("the tool_use changed: {call}"));
    }
    let answered = blocks("user").any(|(i, b)| {
        i > turn
            && b["type"] == "tool_result"
            && b["tool_use_id"] == TOOL_ID
            && b["content"].to_string().contains("hello.txt")
    });
    (!answered).then(|| format!("tool_use ids were found without tool_result blocks: {TOOL_ID}"))
}

/// Anthropic's answer to a request it refuses.
fn claude_refusal(problem: &str) -> Value {
    json!({"type": "error", "error": {"type": "invalid_request_error", "message": problem}})
}

/// Claude's answer to a turn, as events: the Write call first, the text once it is answered;
/// `Err` with the refusal when the follow-up is wrong.
fn claude_turn(body: &Value, model: &str, file: &Path) -> Result<Vec<Value>, Value> {
    if !has_tool_result(body) {
        return Ok(claude_write_events(model, file));
    }
    match claude_replay_problem(body, file) {
        Some(problem) => Err(claude_refusal(&problem)),
        None => Ok(claude_text_events(
            model,
            &["I wrote hello.txt ", "through the cloud."],
        )),
    }
}

/// Asserts what every Anthropic-shaped request to a cloud has: the version the cloud
/// wants in the body, no `model` (it is in the path), and the Write tool.
fn assert_cloud_claude_body(body: &Value, version: &str) {
    assert_eq!(body["anthropic_version"], version);
    assert!(body.get("model").is_none(), "the model is in the path");
    let tools = body["tools"].as_array().unwrap();
    assert!(tools.iter().any(|t| t["name"] == "Write"));
    assert!(body["max_tokens"].as_u64().is_some_and(|n| n > 0));
}

// ---- Claude on Vertex -----------------------------------------------------------------

const VERTEX_CLAUDE: &str = "/v1/projects/p/locations/us-central1/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict";

#[tokio::test]
async fn claude_code_writes_a_file_through_claude_on_vertex() {
    let project = Project::new();
    let key = std::sync::Arc::new(std::sync::OnceLock::<Value>::new());
    let upstream = Mock::answering({
        let (file, key) = (project.file.clone(), key.clone());
        move |r| match r.path.as_str() {
            "/token" => token_reply(r, key.get().unwrap()),
            VERTEX_CLAUDE => match claude_turn(&r.json(), "claude-sonnet-4-5", &file) {
                Ok(events) => sse(events.iter().map(support::anthropic::frame)),
                Err(refusal) => Reply::json(400, &refusal),
            },
            _ => google_not_found(r),
        }
    })
    .await;
    let (key_file, key_json) = service_account(&upstream);
    key.set(key_json.clone()).unwrap();
    let data = vertex_data_dir(key_file.path(), &upstream);

    let (stdout, stderr) = project
        .write_turn(
            data.path(),
            &["--sonnet", "vertex/claude-sonnet-4-5"],
            &[],
            &upstream,
        )
        .await;

    assert_contains(&stdout, "I wrote hello.txt through the cloud.");
    assert_one_token_request(&upstream, &key_json);
    let calls = at(&upstream, "/v1/");
    assert_eq!(
        calls.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        [VERTEX_CLAUDE, VERTEX_CLAUDE]
    );
    for r in &calls {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("authorization"), Some("Bearer ya29.e2e"));
        assert_eq!(r.header("x-api-key"), None, "no Anthropic key on Vertex");
        let body = r.json();
        assert_cloud_claude_body(&body, "vertex-2023-10-16");
        assert_eq!(body["stream"], true);
    }
    assert_eq!(claude_replay_problem(&calls[1].json(), &project.file), None);
    assert_contains(&stderr, "providers: vertex ×2");
}

// ---- Claude on Bedrock ----------------------------------------------------------------

const BEDROCK_CLAUDE: &str =
    "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream";

/// One Anthropic event as Bedrock streams it: a `chunk` message whose payload carries the
/// event's JSON in base64; the last one adds the invocation's metrics.
fn bedrock_chunk(event: &Value) -> Vec<u8> {
    let mut event = event.clone();
    if event["type"] == "message_stop" {
        event["amazon-bedrock-invocationMetrics"] = json!({
            "inputTokenCount": 9_000, "outputTokenCount": 42,
            "invocationLatency": 812, "firstByteLatency": 304
        });
    }
    let bytes = base64::engine::general_purpose::STANDARD.encode(event.to_string());
    bgw::providers::bedrock::eventstream::encode(
        &[
            (":event-type", "chunk"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        json!({"bytes": bytes}).to_string().as_bytes(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, data.as_bytes()).as_ref().to_vec()
}

/// A path segment as SigV4 canonicalises it for every service but S3: percent-encoded once
/// more (`%3A` becomes `%253A`).
fn sigv4_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Why a request is not signed with SigV4 by [`AKID`] for `bedrock` in `us-east-1`; `None`
/// when its signature, recomputed here from what arrived, matches.
fn sigv4_problem(r: &Recorded) -> Option<String> {
    let auth = r.header("authorization")?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 Credential=")?;
    let (credential, rest) = rest.split_once(", SignedHeaders=")?;
    let (signed, signature) = rest.split_once(", Signature=")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [akid, date, "us-east-1", "bedrock", "aws4_request"] = scope[..] else {
        return Some(format!("credential scope {credential}"));
    };
    if akid != AKID {
        return Some(format!("access key {akid}"));
    }
    let amz_date = r.header("x-amz-date")?;
    let well_formed = amz_date.len() == 16
        && amz_date.starts_with(date)
        && amz_date.as_bytes()[8] == b'T'
        && amz_date.ends_with('Z');
    if !well_formed {
        return Some(format!("x-amz-date {amz_date} for the date {date}"));
    }
    let names: Vec<&str> = signed.split(';').collect();
    for needed in ["host", "x-amz-date"] {
        if !names.contains(&needed) {
            return Some(format!("`{needed}` is not signed: {signed}"));
        }
    }
    let payload = sha256_hex(&r.body);
    if let Some(declared) = r.header("x-amz-content-sha256")
        && declared != payload
    {
        return Some(format!("x-amz-content-sha256 {declared} is not the body's"));
    }
    let (path, query) = r.path.split_once('?').unwrap_or((&r.path, ""));
    let uri: Vec<String> = path.split('/').map(sigv4_segment).collect();
    let mut headers = String::new();
    for name in &names {
        let values: Vec<&str> = r
            .headers
            .get_all(*name)
            .iter()
            .map(|v| v.to_str().unwrap().trim())
            .collect();
        let value = values.join(",");
        headers.push_str(&format!(
            "{name}:{}\n",
            value.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    let canonical = format!(
        "{}\n{}\n{query}\n{headers}\n{signed}\n{payload}",
        r.method,
        uri.join("/")
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/us-east-1/bedrock/aws4_request\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let mut key = hmac(format!("AWS4{SECRET}").as_bytes(), date);
    for part in ["us-east-1", "bedrock", "aws4_request"] {
        key = hmac(&key, part);
    }
    let expected = hex(&hmac(&key, &to_sign));
    (signature != expected).then(|| {
        format!("the signature does not match the request; canonical request:\n{canonical}")
    })
}

/// Bedrock's answer to a request whose signature is wrong.
fn bedrock_denied(why: &str) -> Reply {
    Reply::json(403, &json!({"message": why}))
        .header("x-amzn-errortype", "InvalidSignatureException")
}

#[tokio::test]
async fn claude_code_writes_a_file_through_claude_on_bedrock_signed_with_sigv4() {
    let project = Project::new();
    let upstream = Mock::answering({
        let file = project.file.clone();
        move |r| {
            if r.path != BEDROCK_CLAUDE {
                return Reply::json(404, &json!({"message": format!("no route {}", r.path)}))
                    .header("x-amzn-errortype", "UnknownOperationException");
            }
            if r.header("authorization").is_none() {
                return bedrock_denied("Missing Authentication Token");
            }
            if let Some(why) = sigv4_problem(r) {
                return bedrock_denied(&why);
            }
            match claude_turn(&r.json(), "claude-sonnet-4-5", &file) {
                Ok(events) => paced(
                    "application/vnd.amazon.eventstream",
                    events.iter().map(bedrock_chunk),
                ),
                Err(refusal) => Reply::json(400, &json!({"message": refusal["error"]["message"]}))
                    .header("x-amzn-errortype", "ValidationException"),
            }
        }
    })
    .await;
    let aws = [
        ("AWS_ACCESS_KEY_ID", AKID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ];
    let data = tempfile::tempdir().unwrap();
    add_key(
        data.path(),
        &[
            "bedrock",
            "--region",
            "us-east-1",
            "--base-url",
            &upstream.url(),
        ],
        &aws,
    );

    let (stdout, stderr) = project
        .write_turn(
            data.path(),
            &["--sonnet", "bedrock/claude-sonnet-4-5"],
            &aws,
            &upstream,
        )
        .await;

    assert_contains(&stdout, "I wrote hello.txt through the cloud.");
    let calls = upstream.requests();
    assert_eq!(
        calls.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        [BEDROCK_CLAUDE, BEDROCK_CLAUDE]
    );
    for r in &calls {
        assert_eq!(r.method, "POST");
        assert_eq!(sigv4_problem(r), None);
        let body = r.json();
        assert_cloud_claude_body(&body, "bedrock-2023-05-31");
        assert!(
            body.get("stream").is_none(),
            "the method streams, not the body"
        );
    }
    assert_eq!(claude_replay_problem(&calls[1].json(), &project.file), None);
    assert!(!stderr.contains(SECRET), "the secret key is never printed");
    assert_contains(&stderr, "providers: bedrock ×2");
}

// ---- Claude Code's own cloud modes, served by bgw for an OpenAI model ------------------

/// The mock gpt-4o: a Write call (its arguments in fragments) until a tool's result comes
/// back, then the final text.
fn gpt_4o_answer(r: &Recorded, file: &Path) -> Reply {
    const MODEL: &str = "gpt-4o";
    if r.path != "/v1/chat/completions" {
        return Reply::json(
            404,
            &openai::error(
                &format!("Invalid URL (POST {})", r.path),
                "invalid_request_error",
                None,
            ),
        );
    }
    let body = r.json();
    let answered = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["role"] == "tool");
    if !answered {
        let args = json!({"file_path": file, "content": CONTENT}).to_string();
        let mut chunks = vec![
            openai::role(MODEL),
            openai::tool_start(MODEL, 0, "call_e2eWrite01", "Write"),
        ];
        for piece in fragments(&args, &[1, 4, 9, 16]) {
            chunks.push(openai::tool_args(MODEL, 0, &piece));
        }
        chunks.push(openai::finish(MODEL, "tool_calls"));
        chunks.push(openai::usage(MODEL, 9_000, 40, 0));
        chunks.push(openai::DONE.to_owned());
        return sse(chunks);
    }
    sse([
        openai::role(MODEL),
        openai::text(MODEL, "I wrote hello.txt "),
        openai::text(MODEL, "in cloud mode."),
        openai::finish(MODEL, "stop"),
        openai::usage(MODEL, 9_100, 8, 0),
        openai::DONE.to_owned(),
    ])
}

/// `bgw run MODE --sonnet openai/gpt-4o`: Claude Code in that cloud mode writes the file
/// through gpt-4o; the requests went to OpenAI in its own shapes, and the log has them as
/// openai's.
///
/// What Claude Code 2.1.330 sends bgw there (seen through a recording proxy): in Bedrock
/// mode `GET /bedrock/inference-profiles?type=SYSTEM_DEFINED` once, then each turn `POST
/// /bedrock/model/openai%2Fgpt-4o/invoke-with-response-stream` (no `model`, no `stream`,
/// `anthropic_version: bedrock-2023-05-31`, a short `anthropic_beta` list); in Vertex mode
/// each turn `POST /vertex/v1/projects/bgw/locations/global/publishers/anthropic/models/
/// openai/gpt-4o:streamRawPredict` (the `/` not encoded; no `model`, `stream: true`,
/// `anthropic_version: vertex-2023-10-16`, betas in the header only).
async fn cloud_mode_turn(mode: &str) {
    let project = Project::new();
    let upstream = Mock::answering({
        let file = project.file.clone();
        move |r| gpt_4o_answer(r, &file)
    })
    .await;
    let data = tempfile::tempdir().unwrap();
    add_key(
        data.path(),
        &[
            "openai",
            "--value",
            "sk-test-openai-e2e-0000",
            "--base-url",
            &upstream.at("/v1"),
        ],
        &[],
    );

    let (stdout, stderr) = project
        .write_turn(
            data.path(),
            &[mode, "--sonnet", "openai/gpt-4o"],
            &[],
            &upstream,
        )
        .await;

    assert_contains(&stdout, "I wrote hello.txt in cloud mode.");
    let calls = upstream.requests();
    assert_eq!(
        calls.len(),
        2,
        "{:?}",
        calls.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    for r in &calls {
        assert_eq!(r.path, "/v1/chat/completions");
        assert_eq!(
            r.header("authorization"),
            Some("Bearer sk-test-openai-e2e-0000")
        );
        let body = r.json();
        assert_eq!(body["model"], "gpt-4o");
        assert_eq!(body["stream"], true);
    }
    // The second request: the call back as the assistant's tool_calls, then its result.
    let messages = calls[1].json()["messages"].as_array().unwrap().clone();
    let call = messages
        .iter()
        .position(|m| m["role"] == "assistant" && m.get("tool_calls").is_some())
        .unwrap_or_else(|| panic!("no tool call in {messages:?}"));
    let tool_call = &messages[call]["tool_calls"][0];
    assert_eq!(tool_call["id"], "call_e2eWrite01");
    assert_eq!(tool_call["function"]["name"], "Write");
    let args: Value =
        serde_json::from_str(tool_call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"file_path": project.file, "content": CONTENT}));
    let result = &messages[call + 1];
    assert_eq!(result["role"], "tool");
    assert_eq!(result["tool_call_id"], "call_e2eWrite01");
    assert_contains(&result["content"].to_string(), "hello.txt");

    let rows = log_rows(data.path(), 2);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert_eq!(row["status"], 200, "{row}");
        assert_eq!(row["provider"], "openai", "{row}");
        assert_eq!(row["upstream_model"], "gpt-4o", "{row}");
        assert_eq!(row["requested_model"], "openai/gpt-4o", "{row}");
        assert_eq!(row["stream"], true, "{row}");
    }
    assert_contains(&stderr, "providers: openai ×2");
}

#[tokio::test]
async fn claude_code_in_its_bedrock_mode_writes_a_file_through_openai() {
    cloud_mode_turn("--bedrock").await;
}

#[tokio::test]
async fn claude_code_in_its_vertex_mode_writes_a_file_through_openai() {
    cloud_mode_turn("--vertex").await;
}
