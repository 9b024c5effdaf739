//! End-to-end: the real Claude Code CLI through `bgw run` against a mock Gemini API speaking
//! `streamGenerateContent?alt=sse` as Google documents it
//! (https://ai.google.dev/api/generate-content , https://ai.google.dev/gemini-api/docs/thought-signatures).
//!
//! `scripts/test` installs the pinned CLI and sets `BGW_E2E_CLAUDE`; without it this test
//! fails (it never skips: a missing Claude Code is a broken test setup).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::path::Path;
use support::bgw::command;
use support::claude::bgw_run;
use support::sse::gemini::{chunk, error, frame, request_parts, usage};
use support::{Mock, Recorded, Reply, assert_contains};

const MODEL: &str = "gemini-2.5-pro";
const KEY: &str = "AIzaSyE2e-gemini-00000000000000000000";
/// The opaque signature Gemini hands out on the first call of a step, wanted back on it.
const SIG: &str = "CiQBcsjafDNqE6bXd4mZBk7vhc1ps2Kkq8sbjIXHJcGRmIo1OOgKYAFyyNp8e2e=";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Why a follow-up request is not one Gemini would take, as Gemini would say it; `None` when
/// it carries the Write call back on a model turn with its signature, then its response.
fn replay_problem(request: &Value) -> Option<String> {
    let parts = request_parts(request);
    let call = parts
        .iter()
        .position(|(role, p)| role == "model" && p["functionCall"]["name"] == "Write");
    let Some(call) = call else {
        return Some("no functionCall to Write in the history".into());
    };
    if parts[call].1["thoughtSignature"] != SIG {
        return Some(format!(
            "Function call is missing a thought_signature in functionCall parts: {}",
            parts[call].1
        ));
    }
    let answered = parts[call + 1..]
        .iter()
        .any(|(role, p)| role == "user" && p["functionResponse"]["name"] == "Write");
    (!answered).then(|| "the Write call has no functionResponse after it".into())
}

/// The mock Gemini: a first request gets thoughts then a signed Write call; a request that
/// answers it gets the final text; anything else gets Google's 400.
fn answer(request: &Recorded, file: &Path) -> Reply {
    let body = request.json();
    let has_response = request_parts(&body)
        .iter()
        .any(|(_, p)| p.get("functionResponse").is_some());
    if !has_response {
        return Reply::sse([
            frame(&chunk(
                MODEL,
                json!([{"text": "**Planning the file**\n\nThe user wants hello.txt; I will write it.", "thought": true}]),
                None,
                Some(usage(9_000, 0, 31)),
            )),
            frame(&chunk(
                MODEL,
                json!([{
                    "functionCall": {"name": "Write", "args": {"file_path": file, "content": "hello from gemini\n"}},
                    "thoughtSignature": SIG
                }]),
                Some("STOP"),
                Some(usage(9_000, 24, 31)),
            )),
        ]);
    }
    if let Some(problem) = replay_problem(&body) {
        return Reply::json(400, &error(400, "INVALID_ARGUMENT", &problem));
    }
    Reply::sse([
        frame(&chunk(
            MODEL,
            json!([{"text": "I wrote hello.txt "}]),
            None,
            Some(usage(9_100, 4, 0)),
        )),
        frame(&chunk(
            MODEL,
            json!([{"text": "with Gemini."}]),
            Some("STOP"),
            Some(usage(9_100, 8, 0)),
        )),
    ])
}

#[tokio::test]
async fn claude_code_writes_a_file_through_gemini_and_the_thought_signature_comes_back() {
    let project = tempfile::tempdir().unwrap();
    let project = project.path().canonicalize().unwrap();
    let target = project.join("hello.txt");
    let upstream = Mock::answering({
        let target = target.clone();
        move |r| answer(r, &target)
    })
    .await;
    let data = tempfile::tempdir().unwrap();
    let added = command(data.path())
        .args(["keys", "add", "gemini", "--value", KEY, "--base-url"])
        .arg(upstream.at("/v1beta"))
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", text(&added.stderr));

    let out = bgw_run(
        data.path(),
        &project,
        &[
            "--model",
            "gemini/gemini-2.5-pro",
            "--",
            "-p",
            "Create hello.txt saying hello",
            "--allowedTools",
            "Write",
        ],
    )
    .await;

    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let requests = upstream.requests();
    // Claude Code's requests are long: a failure names them by path and size only.
    let seen: Vec<(&str, usize)> = requests
        .iter()
        .map(|r| (r.path.as_str(), r.body.len()))
        .collect();
    assert!(
        out.status.success(),
        "bgw run failed: {:?}\nstdout: {stdout}\nstderr: {stderr}\nupstream requests: {seen:?}",
        out.status
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "hello from gemini\n"
    );
    assert_contains(&stdout, "I wrote hello.txt with Gemini.");

    assert_eq!(requests.len(), 2, "upstream requests: {seen:?}");
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.path,
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        assert_eq!(r.header("x-goog-api-key"), Some(KEY));
        assert!(
            !r.path.contains(KEY) && !r.path.contains("key="),
            "the key stays out of the URL: {}",
            r.path
        );
        assert_eq!(r.header("authorization"), None);
        let body = r.json();
        let declared: Vec<&str> = body["tools"][0]["functionDeclarations"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["name"].as_str())
            .collect();
        assert!(declared.contains(&"Write"), "{declared:?}");
    }

    // The second request: the call goes back on the model turn with Gemini's own signature,
    // then the tool's result as a functionResponse of the same name.
    let second = requests[1].json();
    assert_eq!(replay_problem(&second), None);
    let parts = request_parts(&second);
    let call = parts
        .iter()
        .find(|(_, p)| p.get("functionCall").is_some())
        .unwrap();
    assert_eq!(
        call.1["functionCall"]["args"],
        json!({"file_path": target, "content": "hello from gemini\n"})
    );
    let response = parts
        .iter()
        .find(|(_, p)| p.get("functionResponse").is_some())
        .unwrap();
    let output = response.1["functionResponse"]["response"]["output"]
        .as_str()
        .unwrap_or_else(|| panic!("no output in {}", response.1));
    assert_contains(output, "hello.txt");
    assert!(
        parts.iter().all(|(_, p)| p.get("thought").is_none()),
        "thought text is not sent back"
    );
    assert_contains(&stderr, "providers: gemini ×2");
}
