//! End-to-end: the real Claude Code CLI through `bgw run`, against mock upstreams.
//!
//! `scripts/test` installs the pinned CLI and sets `BGW_E2E_CLAUDE`; without it these
//! tests fail (they never skip: a missing Claude Code is a broken test setup).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::path::Path;
use support::bgw::{command, log_rows};
use support::claude::{bgw_run, bgw_run_at_home, claude_home};
use support::sse::{anthropic, fragments, openai, responses};
use support::{Mock, Reply, assert_contains};

/// A data dir whose `openai` key points at this mock.
fn openai_data_dir(upstream: &Mock) -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    add_key(
        data.path(),
        &[
            "openai",
            "--value",
            "sk-test-openai-e2e-0000",
            "--base-url",
            &format!("{}/v1", upstream.url()),
        ],
    );
    data
}

fn add_key(data_dir: &Path, args: &[&str]) {
    let out = command(data_dir)
        .args(["keys", "add"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keys add {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A streamed Write tool call whose arguments arrive in fragments of 1 to 7 characters; the
/// usage chunk reports `prompt_tokens` of input.
fn write_tool_call(model: &str, file: &Path, content: &str, prompt_tokens: u64) -> Reply {
    write_tool_call_as("call_e2eWrite01", model, file, content, prompt_tokens)
}

/// [`write_tool_call`] with the call id `id`.
fn write_tool_call_as(
    id: &str,
    model: &str,
    file: &Path,
    content: &str,
    prompt_tokens: u64,
) -> Reply {
    let args = json!({"file_path": file, "content": content}).to_string();
    let mut chunks = vec![
        openai::role(model),
        openai::tool_start(model, 0, id, "Write"),
    ];
    for piece in fragments(&args, &[1, 2, 3, 4, 5, 6, 7]) {
        chunks.push(openai::tool_args(model, 0, &piece));
    }
    chunks.push(openai::finish(model, "tool_calls"));
    chunks.push(openai::usage(model, prompt_tokens, 40, 0));
    chunks.push(openai::DONE.to_owned());
    Reply::sse(chunks)
}

#[tokio::test]
async fn claude_code_writes_a_file_through_openai_and_prints_the_answer() {
    let project = tempfile::tempdir().unwrap();
    let project = project.path().canonicalize().unwrap();
    let target = project.join("hello.txt");
    let args = json!({"file_path": &target, "content": "hello from bgw\n"}).to_string();
    const ENC: &str = "gAAAAABoE2eEncryptedReasoning0123456789==";
    let upstream = Mock::start([
        Reply::sse([
            responses::created("gpt-5"),
            responses::reasoning(
                0,
                "rs_e2e1",
                &["**Writing**\n\n", "I will create hello.txt."],
                ENC,
            ),
            responses::function_call(
                1,
                "fc_e2e1",
                "call_e2eWrite01",
                "Write",
                &fragments(&args, &[1, 2, 3, 4, 5, 6, 7]),
            ),
            responses::completed(12_000, 40, 0),
        ]),
        Reply::sse([
            responses::created("gpt-5"),
            responses::text(0, "msg_e2e2", &["I wrote ", "hello.txt", " for you."]),
            responses::completed(12_100, 9, 0),
        ]),
    ])
    .await;
    let data = openai_data_dir(&upstream);

    let out = bgw_run(
        data.path(),
        &project,
        &[
            "--sonnet",
            "openai/gpt-5",
            "--",
            "-p",
            "Create hello.txt saying hello",
            "--allowedTools",
            "Write",
        ],
    )
    .await;

    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "bgw run failed: {:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "hello from bgw\n"
    );
    assert_contains(&stdout, "I wrote hello.txt for you.");
    let requests = upstream.requests();
    assert_eq!(requests.len(), 2, "upstream requests: {requests:#?}");
    for r in &requests {
        assert_eq!(r.path, "/v1/responses");
        assert_eq!(
            r.header("authorization"),
            Some("Bearer sk-test-openai-e2e-0000")
        );
        assert_eq!(r.json()["model"], "gpt-5");
        assert_eq!(r.json()["stream"], true);
    }
    let second: Value = requests[1].json();
    let input = second["input"].as_array().unwrap();
    let reasoning = input
        .iter()
        .position(|i| i["type"] == "reasoning")
        .unwrap_or_else(|| panic!("no reasoning item in {second}"));
    assert_eq!(input[reasoning]["id"], "rs_e2e1");
    assert_eq!(input[reasoning]["encrypted_content"], ENC);
    assert_eq!(input[reasoning + 1]["type"], "function_call");
    let output = input
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .unwrap_or_else(|| panic!("no tool result in {second}"));
    assert_eq!(output["call_id"], "call_e2eWrite01");
    assert_contains(&stderr, "bgw: 2 requests, 24,100 input + 49 output tokens");
    assert_contains(&stderr, "providers: openai ×2");
}

#[tokio::test]
async fn bare_model_names_reach_anthropic_with_the_stored_key() {
    let project = tempfile::tempdir().unwrap();
    let project = project.path().canonicalize().unwrap();
    let data = tempfile::tempdir().unwrap();
    let upstream = Mock::start([Reply::sse([anthropic::text_stream(
        "claude-sonnet-4-5",
        "pong from anthropic",
    )])])
    .await;
    add_key(
        data.path(),
        &[
            "anthropic",
            "--value",
            "sk-ant-test-e2e-000000",
            "--base-url",
            &upstream.url(),
        ],
    );

    let out = bgw_run(
        data.path(),
        &project,
        &["--", "-p", "ping", "--model", "claude-sonnet-4-5"],
    )
    .await;

    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "bgw run failed: {:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    assert_contains(&stdout, "pong from anthropic");
    let request = upstream.only_request();
    assert_eq!(request.path, "/v1/messages?beta=true");
    assert_eq!(request.header("x-api-key"), Some("sk-ant-test-e2e-000000"));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    assert!(
        request
            .header("anthropic-beta")
            .is_some_and(|b| !b.is_empty()),
        "betas forwarded"
    );
    assert_eq!(
        request.header("x-bgw-session-token"),
        None,
        "the session secret stays in bgw"
    );
    assert_eq!(request.json()["model"], "claude-sonnet-4-5");
    assert_contains(&stderr, "providers: anthropic ×1");
}

#[tokio::test]
async fn a_tier_without_a_key_stops_before_claude_starts() {
    let project = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();

    let out = bgw_run(
        data.path(),
        project.path(),
        &["--sonnet", "groq/llama-3.3-70b-versatile", "--", "-p", "hi"],
    )
    .await;

    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_contains(
        &stderr,
        "error: cannot route `groq/llama-3.3-70b-versatile`: no key for provider `groq`",
    );
    assert_contains(&stderr, "hint: run `bgw keys add groq --env GROQ_API_KEY`");
}

/// Whether an OpenAI request is Claude Code asking for a summary of the conversation
/// (what it sends when it compacts).
fn asks_for_summary(req: &support::Recorded) -> bool {
    let body = req.json();
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] != "system"))
        .is_some_and(|m| m.to_string().contains("create a detailed summary"))
}

/// A mock gpt-4o that refuses the turn after the first as too long, the way OpenAI does,
/// and answers summary requests with a summary. The first turn asks for a Write and
/// reports most of the 128k window used.
fn refusing_upstream(
    file: std::path::PathBuf,
) -> impl Fn(&support::Recorded) -> Reply + Send + Sync + 'static {
    let turns = std::sync::atomic::AtomicUsize::new(0);
    move |req| {
        if asks_for_summary(req) {
            return Reply::sse([openai::text_stream(
                "gpt-4o",
                &[
                    "<analysis>Short.</analysis>\n<summary>The user asked for big.txt; it was written.</summary>",
                ],
                2_000,
                30,
            )]);
        }
        match turns.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => write_tool_call("gpt-4o", &file, "big\n", 90_000),
            1 => Reply::json(
                400,
                &openai::error(
                    "This model's maximum context length is 128000 tokens. However, your messages resulted in 131000 tokens. Please reduce the length of the messages.",
                    "invalid_request_error",
                    Some("context_length_exceeded"),
                ),
            ),
            _ => Reply::sse([openai::text_stream(
                "gpt-4o",
                &["big.txt is written."],
                3_000,
                6,
            )]),
        }
    }
}

#[tokio::test]
async fn an_upstream_that_refuses_a_too_long_prompt_makes_claude_code_compact_and_go_on() {
    let project = tempfile::tempdir().unwrap();
    let project = project.path().canonicalize().unwrap();
    let upstream = Mock::answering(refusing_upstream(project.join("big.txt"))).await;
    let data = openai_data_dir(&upstream);
    let out = bgw_run(
        data.path(),
        &project,
        &[
            "--sonnet",
            "openai/gpt-4o",
            "--",
            "-p",
            "Write big.txt",
            "--allowedTools",
            "Write",
        ],
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert_contains(&stdout, "big.txt is written.");
    let asked = upstream.requests();
    let refused = 1 + asked
        .iter()
        .position(|r| r.json()["messages"].to_string().contains("\"tool\""))
        .unwrap();
    assert!(
        asked[refused..].iter().any(asks_for_summary),
        "after the refusal Claude Code compacted: {} requests",
        asked.len()
    );
}

/// A 1×1 PNG.
const PNG: [u8; 70] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xfc, 0xcf, 0xc0, 0x50,
    0x0f, 0x00, 0x04, 0x85, 0x01, 0x80, 0x84, 0xa9, 0x8c, 0x21, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[tokio::test]
async fn a_screenshot_claude_code_reads_reaches_openai_as_an_image() {
    let project = tempfile::tempdir().unwrap();
    let project = project.path().canonicalize().unwrap();
    let shot = project.join("shot.png");
    std::fs::write(&shot, PNG).unwrap();
    let args = json!({"file_path": shot}).to_string();
    let upstream = Mock::start([
        Reply::sse([
            openai::role("gpt-4o"),
            openai::tool_start("gpt-4o", 0, "call_read_shot1", "Read"),
            openai::tool_args("gpt-4o", 0, &args),
            openai::finish("gpt-4o", "tool_calls"),
            openai::usage("gpt-4o", 9_000, 20, 0),
            openai::DONE.to_owned(),
        ]),
        Reply::sse([openai::text_stream(
            "gpt-4o",
            &["A single pixel."],
            9_200,
            5,
        )]),
    ])
    .await;
    let data = openai_data_dir(&upstream);
    let out = bgw_run(
        data.path(),
        &project,
        &[
            "--sonnet",
            "openai/gpt-4o",
            "--",
            "-p",
            "What is in shot.png?",
            "--allowedTools",
            "Read",
        ],
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert_contains(&stdout, "A single pixel.");
    let requests = upstream.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    // The image a tool returned cannot ride in a `tool` message: it follows as a user image.
    let messages = requests[1].json()["messages"].clone();
    let image = messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .find(|p| p["type"] == "image_url")
        .unwrap_or_else(|| panic!("no image part in {messages}"));
    assert!(
        image["image_url"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("data:image/png;base64,")),
        "{image}"
    );
}

#[tokio::test]
async fn a_conversation_with_deepseek_thinking_continues_on_claude() {
    let project = tempfile::tempdir().unwrap();
    let project = project.path().canonicalize().unwrap();
    let home = claude_home(&project);
    let data = tempfile::tempdir().unwrap();
    let model = "deepseek-v4-pro";
    let thought = openai::frame(&openai::chunk(
        model,
        json!({"reasoning_content": "Two plus two is four."}),
        None,
    ));
    let deepseek = Mock::start([Reply::sse([
        openai::role(model),
        thought,
        openai::text(model, "It is 4."),
        openai::end(model, "stop", 9_000, 12),
    ])])
    .await;
    let claude = Mock::start([Reply::sse([anthropic::text_stream(
        "claude-sonnet-4-5",
        "And 3+3 is 6.",
    )])])
    .await;
    add_key(
        data.path(),
        &[
            "deepseek",
            "--value",
            "sk-test-ds-e2e-0000",
            "--base-url",
            &deepseek.url(),
        ],
    );
    add_key(
        data.path(),
        &[
            "anthropic",
            "--value",
            "sk-ant-test-e2e-000000",
            "--base-url",
            &claude.url(),
        ],
    );

    let first = bgw_run_at_home(
        home.path(),
        data.path(),
        &project,
        &[
            "--model",
            "deepseek/deepseek-v4-pro",
            "--",
            "-p",
            "What is 2+2?",
        ],
    )
    .await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_contains(&text(&first.stdout), "It is 4.");

    // The same conversation, continued on Claude: Anthropic would refuse a thinking block
    // it did not sign, so the history reaches it without DeepSeek's.
    let second = bgw_run_at_home(
        home.path(),
        data.path(),
        &project,
        &[
            "--",
            "-p",
            "And 3+3?",
            "--continue",
            "--model",
            "claude-sonnet-4-5",
        ],
    )
    .await;
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_contains(&text(&second.stdout), "And 3+3 is 6.");
    let sent = claude.only_request();
    let body = sent.text();
    assert_contains(&body, "It is 4.");
    assert!(
        !body.contains("bgw1."),
        "no bgw-signed thinking reached Anthropic: {body}"
    );
    assert!(!body.contains("Two plus two is four."), "{body}");
}

/// `bgw run --model openai/gpt-4o -- -p PROMPT --allowedTools Write`, which must succeed; its
/// stdout.
async fn writing_on_gpt_4o(data_dir: &Path, project: &Path, prompt: &str) -> String {
    let args = [
        "--model",
        "openai/gpt-4o",
        "--",
        "-p",
        prompt,
        "--allowedTools",
        "Write",
    ];
    let out = bgw_run(data_dir, project, &args).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    stdout
}

/// The number of tool results in a request: how far into the turn it is.
fn tool_results(req: &support::Recorded) -> usize {
    req.text().matches("\"role\":\"tool\"").count()
}

#[tokio::test]
async fn a_provider_outage_mid_session_goes_unnoticed_the_turn_completes_on_the_fallback() {
    let project = tempfile::tempdir().unwrap();
    let project = project.path().canonicalize().unwrap();
    let target = project.join("hello.txt");
    let down = Mock::answering(|_| {
        Reply::json(
            503,
            &openai::error("The server is overloaded", "server_error", None),
        )
    })
    .await;
    let model = "llama-3.3-70b-versatile";
    let file = target.clone();
    let fallback = Mock::answering(move |req| {
        if tool_results(req) == 0 {
            write_tool_call(model, &file, "hello from the fallback\n", 9_000)
        } else {
            Reply::sse([openai::text_stream(
                model,
                &["Done: hello.txt is written."],
                9_100,
                8,
            )])
        }
    })
    .await;
    let data = openai_data_dir(&down);
    add_key(
        data.path(),
        &[
            "groq",
            "--value",
            "gsk-test-e2e-0000000",
            "--base-url",
            &format!("{}/v1", fallback.url()),
        ],
    );
    let added = command(data.path())
        .args([
            "route",
            "add",
            "resilient",
            "--when",
            "model == \"openai/gpt-4o\"",
            "--to",
            "openai/gpt-4o",
            "--fallback",
            "groq/llama-3.3-70b-versatile",
        ])
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", text(&added.stderr));

    let stdout = writing_on_gpt_4o(data.path(), &project, "Create hello.txt saying hello").await;
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "hello from the fallback\n"
    );
    assert_contains(&stdout, "Done: hello.txt is written.");
    assert!(
        !stdout.contains("overloaded") && !stdout.contains("503"),
        "{stdout}"
    );
    assert_eq!(fallback.requests().len(), 2);
    assert!(!down.requests().is_empty(), "the primary was tried");
    for row in log_rows(data.path(), 2) {
        assert_eq!(row["status"], 200);
        assert_eq!(row["provider"], "groq");
        assert_eq!(row["rule"], "resilient");
    }
}

#[tokio::test]
async fn a_sessions_requests_all_reach_one_key_of_a_two_key_provider() {
    let project = tempfile::tempdir().unwrap();
    let project = project.path().canonicalize().unwrap();
    const TURNS: usize = 6;
    let model = "gpt-4o";
    let answer = {
        let project = project.clone();
        move |req: &support::Recorded| {
            let done = tool_results(req);
            if done < TURNS - 1 {
                let file = project.join(format!("note{done}.txt"));
                let id = format!("call_e2eNote{done:02}");
                write_tool_call_as(&id, model, &file, &format!("note {done}\n"), 9_000)
            } else {
                Reply::sse([openai::text_stream(
                    model,
                    &["All notes are written."],
                    9_100,
                    8,
                )])
            }
        }
    };
    let a = Mock::answering(answer.clone()).await;
    let b = Mock::answering(answer).await;
    let data = tempfile::tempdir().unwrap();
    for (name, mock) in [("a", &a), ("b", &b)] {
        add_key(
            data.path(),
            &[
                "openai",
                "--name",
                name,
                "--value",
                &format!("sk-test-{name}-e2e-00000"),
                "--base-url",
                &format!("{}/v1", mock.url()),
            ],
        );
    }
    let stdout = writing_on_gpt_4o(
        data.path(),
        &project,
        "Write note0.txt to note4.txt, one after another",
    )
    .await;
    assert_contains(&stdout, "All notes are written.");
    for i in 0..TURNS - 1 {
        assert_eq!(
            std::fs::read_to_string(project.join(format!("note{i}.txt"))).unwrap(),
            format!("note {i}\n")
        );
    }
    let (on_a, on_b) = (a.requests().len(), b.requests().len());
    assert!(
        (on_a, on_b) == (TURNS, 0) || (on_a, on_b) == (0, TURNS),
        "one session, one key: {on_a} requests on a, {on_b} on b"
    );
    let rows = log_rows(data.path(), TURNS);
    let session = rows[0]["session"].as_str().unwrap();
    assert!(
        rows.iter()
            .all(|r| r["session"] == session && r["key"] == rows[0]["key"])
    );
}
