//! End-to-end: two Claude Code sessions through `bgw run` at once, on two providers, and
//! `bgw logs -f` in a third process sees every request of both with its provider, tokens and
//! cost. The real CLI (`BGW_E2E_CLAUDE`, set by scripts/test) against mock upstreams.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::bgw::command;
use support::claude::bgw_run;
use support::sse::openai;
use support::{Mock, Reply};

/// An OpenAI-style upstream answering every chat completion with `words`, 1,000 prompt tokens
/// and 20 completion tokens, streamed or not as asked.
async fn upstream(model: &'static str, words: &'static str) -> Mock {
    Mock::answering(move |req| {
        if req.json()["stream"] == true {
            Reply::sse([openai::text_stream(model, &[words], 1_000, 20)])
        } else {
            openai::reply(model, words, 1_000, 20)
        }
    })
    .await
}

fn add_key(dir: &Path, args: &[&str]) {
    let out = command(dir)
        .args(["keys", "add"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn session(dir: &Path, model: &str, prompt: &str) -> Output {
    let project = tempfile::tempdir().unwrap();
    let project = project.path().canonicalize().unwrap();
    bgw_run(dir, &project, &["--model", model, "--", "-p", prompt]).await
}

fn chat_requests(mock: &Mock) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/chat/completions"))
        .count()
}

#[tokio::test]
async fn logs_follow_shows_every_request_of_two_sessions_at_once_with_provider_tokens_and_cost() {
    let gpt = upstream("gpt-4o", "Hello from GPT.").await;
    let llama = upstream("llama-3.3-70b-versatile", "Hello from Llama.").await;
    let data = tempfile::tempdir().unwrap();
    add_key(
        data.path(),
        &[
            "openai",
            "--value",
            "sk-e2e-logs-0001",
            "--base-url",
            &gpt.at("/v1"),
        ],
    );
    add_key(
        data.path(),
        &[
            "groq",
            "--value",
            "gsk-e2e-logs-0002",
            "--base-url",
            &llama.at("/openai/v1"),
        ],
    );

    // The third terminal: `bgw logs -f --json`, started before either session.
    let mut follower = command(data.path())
        .args(["logs", "-f", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let (a, b) = tokio::join!(
        session(data.path(), "openai/gpt-4o", "Say hello"),
        session(data.path(), "groq/llama-3.3-70b-versatile", "Say hello too"),
    );
    for (out, words) in [(&a, "Hello from GPT."), (&b, "Hello from Llama.")] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(String::from_utf8_lossy(&out.stdout).contains(words));
    }
    let (to_gpt, to_llama) = (chat_requests(&gpt), chat_requests(&llama));
    assert!(to_gpt >= 1 && to_llama >= 1);

    let mut rows: Vec<Value> = Vec::new();
    while rows.len() < to_gpt + to_llama {
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| {
                panic!(
                    "`bgw logs -f` showed {} of {} requests",
                    rows.len(),
                    to_gpt + to_llama
                )
            });
        rows.push(serde_json::from_str(&line).unwrap());
    }
    let _ = follower.kill();
    let _ = follower.wait();

    let of = |provider: &str| {
        rows.iter()
            .filter(|r| r["provider"] == provider)
            .collect::<Vec<_>>()
    };
    let (gpt_rows, llama_rows) = (of("openai"), of("groq"));
    assert_eq!(
        (gpt_rows.len(), llama_rows.len()),
        (to_gpt, to_llama),
        "{rows:#?}"
    );
    // gpt-4o: $2.50 in, $10 out per million; llama-3.3-70b on Groq: $0.59 in, $0.79 out.
    for (rows, model, cost) in [
        (&gpt_rows, "gpt-4o", 1_000.0 * 2.5e-6 + 20.0 * 10e-6),
        (
            &llama_rows,
            "llama-3.3-70b-versatile",
            1_000.0 * 0.59e-6 + 20.0 * 0.79e-6,
        ),
    ] {
        for row in rows.iter() {
            assert_eq!(row["status"], 200, "{row}");
            assert_eq!(row["upstream_model"], model, "{row}");
            assert_eq!(row["usage"]["input_tokens"], 1_000, "{row}");
            assert_eq!(row["usage"]["output_tokens"], 20, "{row}");
            let logged = row["cost"]
                .as_f64()
                .unwrap_or_else(|| panic!("no cost: {row}"));
            assert!((logged - cost).abs() < 1e-9, "{logged} ≠ {cost}: {row}");
        }
        // One Claude Code session per provider: every row of it carries that session's id.
        let sessions: std::collections::BTreeSet<&str> = rows
            .iter()
            .map(|r| r["session"].as_str().unwrap())
            .collect();
        assert_eq!(sessions.len(), 1, "{rows:#?}");
    }
    assert_ne!(gpt_rows[0]["session"], llama_rows[0]["session"]);
    assert_ne!(gpt_rows[0]["run"], llama_rows[0]["run"]);
}
