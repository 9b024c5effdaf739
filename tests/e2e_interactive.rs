//! End-to-end, interactive: a person's Claude Code session through `bgw run`, driven in
//! tmux, against mock OpenAI and DeepSeek upstreams that answer by what they are asked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use support::bgw::{bin, command};
use support::claude::{Tmux, claude_bin, claude_home};
use support::sse::{fragments, openai};
use support::{Mock, Recorded, Reply, assert_contains};

/// How long Claude Code may take to show the result of one step.
const STEP: Duration = Duration::from_secs(60);

/// The role and JSON text of the last message of an OpenAI request that is not a system
/// message (Claude Code adds system reminders after the user's turn).
fn last_message(req: &Recorded) -> (String, String) {
    let body = req.json();
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] != "system"))
        .cloned();
    let last = last.unwrap_or(Value::Null);
    (
        last["role"].as_str().unwrap_or("").to_owned(),
        last.to_string(),
    )
}

/// A text answer, streamed or whole as the request asks.
fn say(req: &Recorded, model: &str, text: &str) -> Reply {
    if req.json()["stream"] == true {
        Reply::sse([openai::text_stream(model, &[text], 9_000, 12)])
    } else {
        openai::reply(model, text, 9_000, 12)
    }
}

/// A streamed Write tool call, its arguments in fragments of 1 to 7 characters.
fn write_call(model: &str, file: &Path, content: &str) -> Reply {
    let args = json!({"file_path": file, "content": content}).to_string();
    let mut chunks = vec![
        openai::role(model),
        openai::tool_start(model, 0, "call_ds_write_1", "Write"),
    ];
    for piece in fragments(&args, &[1, 2, 3, 4, 5, 6, 7]) {
        chunks.push(openai::tool_args(model, 0, &piece));
    }
    chunks.push(openai::finish(model, "tool_calls"));
    chunks.push(openai::usage(model, 9_500, 30, 0));
    chunks.push(openai::DONE.to_owned());
    Reply::sse(chunks)
}

/// On failure, prints what bgw said and how it ended.
struct Report(std::path::PathBuf, std::path::PathBuf);

impl Drop for Report {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "bgw stderr: {:?}\nbgw exit: {:?}",
                std::fs::read_to_string(&self.0),
                std::fs::read_to_string(&self.1)
            );
        }
    }
}

fn add_key(data_dir: &Path, provider: &str, base_url: &str) {
    let out = command(data_dir)
        .args(["keys", "add", provider, "--value", "sk-test-e2e-00000000"])
        .args(["--base-url", base_url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_session_switches_provider_with_model_and_runs_a_tool_on_the_new_one() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let project = tempfile::tempdir().unwrap();
    let project = project.path().canonicalize().unwrap();
    let notes = project.join("notes.txt");
    let data = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();

    let (gpt, deepseek) = rt.block_on(async {
        let gpt = Mock::answering(|req| {
            let (_, last) = last_message(req);
            if req.json().get("response_format").is_some() {
                say(req, "gpt-5", r#"{"title":"Saying hello"}"#)
            } else if last.contains("Say hello") {
                say(req, "gpt-5", "Hello from the OpenAI mock.")
            } else {
                say(req, "gpt-5", "OK.")
            }
        })
        .await;
        let file = notes.clone();
        let deepseek = Mock::answering(move |req| {
            let (role, last) = last_message(req);
            if role == "tool" {
                say(req, "deepseek-v4-pro", "notes.txt is written, by DeepSeek.")
            } else if last.contains("Write notes.txt") {
                write_call("deepseek-v4-pro", &file, "from deepseek\n")
            } else {
                say(req, "deepseek-v4-pro", "OK.")
            }
        })
        .await;
        (gpt, deepseek)
    });
    add_key(data.path(), "openai", &gpt.at("/v1"));
    add_key(data.path(), "deepseek", &deepseek.url());

    let home = claude_home(&project);
    let err = scratch.path().join("bgw.err");
    let code = scratch.path().join("bgw.code");
    let run = format!(
        "{} run --sonnet openai/gpt-5 -- --allowedTools Write 2>{}; echo $? >{}",
        bin(),
        err.display(),
        code.display()
    );
    let env = [
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("HOME", home.path().display().to_string()),
        ("TERM", "xterm-256color".to_owned()),
        ("BGW_DATA_DIR", data.path().display().to_string()),
        ("BGW_CLAUDE_BIN", claude_bin().display().to_string()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
    ];
    let tmux = Tmux::start(&project, &env, &run);
    let _report = Report(err.clone(), code.clone());

    // The first turn, on OpenAI.
    tmux.wait_for("auto mode on", STEP);
    tmux.submit("Say hello");
    tmux.wait_for("Hello from the OpenAI mock.", STEP);

    // /model lists the gateway's models by name, from both providers.
    tmux.submit("/model");
    let picker = tmux.wait_for("Select model", STEP);
    assert_contains(&picker, "GPT-5 · openai");
    assert_contains(&picker, "DeepSeek V4 Pro · deepseek");
    assert_contains(&picker, "400k context");
    tmux.keys(&["Escape"]);
    tmux.wait_for("Kept model as GPT-5 · openai", STEP);

    // Switch to DeepSeek; the next turn writes a file there, through a real tool run.
    tmux.submit("/model deepseek/deepseek-v4-pro");
    let set = "Set model to DeepSeek V4 Pro · deepseek";
    // Claude Code may first warn that the new model re-reads the history; the default is yes.
    if tmux.wait_for_any(&[set, "Switch model?"], STEP).0 == 1 {
        tmux.keys(&["Enter"]);
        tmux.wait_for(set, STEP);
    }
    tmux.submit("Write notes.txt");
    tmux.wait_for("notes.txt is written, by DeepSeek.", STEP);
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "from deepseek\n");

    // The history reached DeepSeek whole: the OpenAI turn and the tool result.
    let asked = deepseek.requests();
    let last = asked.last().unwrap().json();
    let history = last["messages"].to_string();
    assert_contains(&history, "Hello from the OpenAI mock.");
    assert_eq!(last["model"], "deepseek-v4-pro");
    assert!(
        last["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["role"] == "tool" && m["tool_call_id"] == "call_ds_write_1"),
        "{history}"
    );

    tmux.submit("/exit");
    let start = Instant::now();
    while !code.exists() {
        assert!(
            start.elapsed() < STEP,
            "bgw did not exit:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(std::fs::read_to_string(&code).unwrap().trim(), "0");
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert_contains(&stderr, "bgw: ");
    assert_contains(&stderr, "deepseek ×");
    assert_contains(&stderr, "openai ×");
    drop(gpt);
}
