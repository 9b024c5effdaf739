//! End-to-end, budgets: a person's Claude Code session through `bgw run`, driven in tmux,
//! spends its budget mid-conversation against a mock OpenAI. Past the warning threshold
//! Claude Code warns; the turn that no longer fits is refused once, with bgw's message and
//! no retry; `bgw budget set` from another terminal lets the same session go on.
//!
//! The arithmetic is exact: gpt-4o-mini is priced at $0 input and $1 per million output
//! tokens, so a request's worst case is its `max_tokens` (Claude Code's 32,000, clamped to
//! gpt-4o-mini's 16,384 output tokens) × $0.000001 = $0.016384, and what it costs is the
//! completion tokens the mock reports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::bgw::command;
use support::claude::BgwRun;
use support::{Mock, Recorded, Reply, assert_contains, openai};

const MODEL: &str = "gpt-4o-mini";
const REQUESTED: &str = "openai/gpt-4o-mini";

/// How long Claude Code may take to show the result of one step.
const STEP: Duration = Duration::from_secs(60);

/// How long Claude Code shows its usage warning (about 7 s) and then some: the time the
/// warning has to appear after the answer it came with.
const WARNING_LIMIT: Duration = Duration::from_secs(15);

/// One turn of the conversation: what the person types, what the mock answers, and the
/// completion tokens it reports (each $0.000001).
struct Turn {
    ask: &'static str,
    answer: &'static str,
    output: u64,
}

/// Five turns of $0.016 spend $0.080 of $0.10, exactly the default warning threshold (80%).
/// The sixth is admitted ($0.020 left ≥ its worst case $0.016384) and answered with the
/// warning; it costs $0.004, which leaves $0.016: the seventh's worst case no longer fits.
/// Raised to $0.20, the eighth is answered and costs $0.006: $0.090 in all.
const TURNS: [Turn; 8] = [
    Turn {
        ask: "First question",
        answer: "First answer.",
        output: 16_000,
    },
    Turn {
        ask: "Second question",
        answer: "Second answer.",
        output: 16_000,
    },
    Turn {
        ask: "Third question",
        answer: "Third answer.",
        output: 16_000,
    },
    Turn {
        ask: "Fourth question",
        answer: "Fourth answer.",
        output: 16_000,
    },
    Turn {
        ask: "Fifth question",
        answer: "Fifth answer.",
        output: 16_000,
    },
    Turn {
        ask: "Sixth question",
        answer: "Sixth answer.",
        output: 4_000,
    },
    Turn {
        ask: "Seventh question",
        answer: "Seventh answer.",
        output: 16_000,
    },
    Turn {
        ask: "Eighth question",
        answer: "Eighth answer.",
        output: 6_000,
    },
];

/// The turn refused (index into [`TURNS`]).
const REFUSED: usize = 6;
/// The turn whose answer carries the warning.
const WARNED: usize = 5;

/// The refusal as bgw words it; the screen wraps it after `global AMOUNT/month`'s `bgw`.
const REFUSAL: &str = "bgw: the budget of global has $0.0160 left of $0.1000 this month, and this request may cost up to $0.0164 (its input and `max_tokens`) · resets ";
/// A part of the refusal that fits on one screen line, to count it by.
const REFUSAL_MARK: &str = "bgw: the budget of global has";
/// The refusal as Claude Code shows a turn's error once it has given up on it.
const REFUSAL_SHOWN: &str = "● bgw: the budget of global has";
/// What Claude Code's spinner says while it retries a failed request.
const RETRYING: &str = "retrying in";
/// Claude Code's usage warning, for 80% used (its reset time follows).
const WARNING: &str = "You've used 80% of your usage credits · resets ";
/// What any usage warning of Claude Code's contains.
const ANY_WARNING: &str = "of your usage credits";

/// Runs `bgw ARGS…` on the data dir, which must succeed.
fn bgw(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = command(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "`bgw {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The text of the last user message of a chat request (Claude Code puts a refused turn's
/// text and the next one in the same message).
fn last_user_text(req: &Recorded) -> String {
    let body = req.json();
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        })
        .unwrap_or_default()
}

/// The turn a request is the main conversation's request for: it offers tools, and its last
/// user message ends with the turn's text. `None` for anything else Claude Code sends.
fn turn_of(req: &Recorded) -> Option<usize> {
    let body = req.json();
    if body["tools"].as_array().is_none_or(Vec::is_empty) {
        return None;
    }
    let text = last_user_text(req);
    TURNS
        .iter()
        .enumerate()
        .filter_map(|(i, t)| text.rfind(t.ask).map(|at| (at, i)))
        .max()
        .map(|(_, i)| i)
}

/// A mock OpenAI answering each turn with its text and output tokens, streamed event by
/// event as OpenAI streams (role, text, finish, usage, `[DONE]`); anything else Claude Code
/// asks is answered "OK." for 0 output tokens, so it costs nothing.
async fn upstream() -> Mock {
    Mock::answering(|req| {
        let (text, output) = match turn_of(req) {
            Some(i) => (TURNS[i].answer, TURNS[i].output),
            None => ("OK.", 0),
        };
        if req.json()["stream"] == true {
            Reply::sse([
                openai::role(MODEL),
                openai::text(MODEL, text),
                openai::finish(MODEL, "stop"),
                openai::usage(MODEL, 100, output, 0),
                openai::DONE.to_owned(),
            ])
        } else {
            openai::reply(MODEL, text, 100, output)
        }
    })
    .await
}

/// The main conversation's requests the mock received, as turn indices, in order.
fn turns_asked(mock: &Mock) -> Vec<usize> {
    mock.requests().iter().filter_map(turn_of).collect()
}

/// The request log, newest first.
fn log_rows(dir: &Path, filters: &[&str]) -> Vec<Value> {
    let out = bgw(dir, &[&["logs", "--json"], filters].concat());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The request log's rows by HTTP status, `(200, 429, other)`, once it has `n` rows (a row
/// is written a moment after its answer).
fn statuses(dir: &Path, n: usize) -> (usize, usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = log_rows(dir, &[]);
        if rows.len() >= n || Instant::now() > deadline {
            let of = |status: u64| rows.iter().filter(|r| r["status"] == status).count();
            return (of(200), of(429), rows.len() - of(200) - of(429));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The global budget as `bgw budget --json` shows it, once it has spent `want` nanodollars
/// (a charge reaches the ledger a moment after the answer); as last read otherwise.
fn global_budget(dir: &Path, want: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = bgw(dir, &["budget", "--json"]);
        let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let global = all
            .into_iter()
            .find(|b| b["scope"] == "global" && b["metric"] == "usd")
            .expect("a global money budget");
        if global["spent"] == want || Instant::now() > deadline {
            return global;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How many times the screen shows `needle`.
fn count(screen: &str, needle: &str) -> usize {
    screen.matches(needle).count()
}

/// A `bgw run` session in tmux ([`BgwRun`]) with its project; on failure it also shows the
/// budgets and the request log of its data dir.
struct Session {
    run: BgwRun,
    data: PathBuf,
    _project: tempfile::TempDir,
}

impl std::ops::Deref for Session {
    type Target = BgwRun;

    fn deref(&self) -> &BgwRun {
        &self.run
    }
}

impl Session {
    fn start(data: &Path, args: &str) -> Session {
        let project = tempfile::tempdir().unwrap();
        let run = BgwRun::start(project.path(), data, args, &[]);
        Session {
            run,
            data: data.to_owned(),
            _project: project,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let out = |args: &[&str]| {
                command(&self.data).args(args).output().map_or_else(
                    |e| e.to_string(),
                    |o| String::from_utf8_lossy(&o.stdout).into_owned(),
                )
            };
            eprintln!(
                "bgw budget --json: {}\nbgw logs --json:\n{}",
                out(&["budget", "--json"]),
                out(&["logs", "--json"]),
            );
        }
    }
}

/// What a thread watching the screen every 200 ms saw: each usage warning line with the
/// turn being asked when it showed, and the most times one screen showed the refusal.
#[derive(Default)]
struct Watched {
    warnings: Vec<(usize, String)>,
    warning_screen: String,
    most_refusals: usize,
    refusal_screen: String,
    /// A screen that showed Claude Code retrying.
    retrying: Option<String>,
}

/// Sets its flag when dropped.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_session_that_spends_its_budget_is_warned_then_refused_once_and_goes_on_once_raised() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(upstream());
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    bgw(
        dir,
        &[
            "keys",
            "add",
            "openai",
            "--value",
            "sk-test-e2e-00000000",
            "--base-url",
            &mock.at("/v1"),
        ],
    );
    bgw(
        dir,
        &[
            "models", "price", "set", REQUESTED, "--input", "0", "--output", "1",
        ],
    );
    bgw(dir, &["budget", "set", "global", "0.10/month"]);

    let session = Session::start(dir, &format!("--model {REQUESTED}"));
    let tmux = &session.tmux;
    let asking = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let watched = Mutex::new(Watched::default());

    std::thread::scope(|scope| {
        // The watcher stops when this closure ends, by a failed assertion too (the scope
        // waits for it before it reports the failure).
        let stop = SetOnDrop(&done);
        // Claude Code shows its warning for about 7 s: a screen read every 200 ms sees it.
        let watcher = scope.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                let screen = tmux.screen();
                let turn = asking.load(Ordering::SeqCst);
                let mut w = watched.lock().unwrap();
                for line in screen.lines().filter(|l| l.contains(ANY_WARNING)) {
                    if w.warnings.is_empty() {
                        w.warning_screen.clone_from(&screen);
                    }
                    w.warnings.push((turn, line.trim().to_owned()));
                }
                if screen.contains(RETRYING) && w.retrying.is_none() {
                    w.retrying = Some(screen.clone());
                }
                let refusals = count(&screen, REFUSAL_MARK);
                if refusals > w.most_refusals {
                    w.most_refusals = refusals;
                    w.refusal_screen = screen;
                }
                drop(w);
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let warned_in = |turn: usize| {
            watched
                .lock()
                .unwrap()
                .warnings
                .iter()
                .any(|(t, _)| *t == turn)
        };

        // Turns 1–6 are answered; the sixth with the warning, which shows on no earlier turn.
        for (i, turn) in TURNS.iter().enumerate().take(REFUSED) {
            asking.store(i, Ordering::SeqCst);
            tmux.submit(turn.ask);
            tmux.wait_for(turn.answer, STEP);
            if i == WARNED {
                let start = Instant::now();
                while !warned_in(i) {
                    assert!(
                        start.elapsed() < WARNING_LIMIT,
                        "no usage warning within {WARNING_LIMIT:?} of the answer to {:?}:\n{}",
                        turn.ask,
                        tmux.screen()
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        let spent = global_budget(dir, 84_000_000);
        assert_eq!(spent["spent"], 84_000_000, "{spent}");
        let asked_before = turns_asked(&mock);
        assert_eq!(asked_before, [0, 1, 2, 3, 4, 5], "{:#?}", mock.requests());

        // The seventh does not fit: bgw's message, once, and the turn never reached OpenAI.
        asking.store(REFUSED, Ordering::SeqCst);
        tmux.submit(TURNS[REFUSED].ask);
        let (i, screen) =
            tmux.wait_for_any(&[REFUSAL_SHOWN, TURNS[REFUSED].answer, RETRYING], STEP);
        let what = ["", "answered, not refused", "retried"][i];
        assert_eq!(i, 0, "the refused turn was {what}:\n{screen}");
        assert_contains(&screen.replace("\n  ", " "), REFUSAL);
        assert_contains(
            &screen.replace("\n  ", " "),
            " UTC · to raise it: `bgw budget set global AMOUNT/month`",
        );
        assert_eq!(count(&screen, REFUSAL_MARK), 1, "{screen}");
        assert_eq!(turns_asked(&mock), asked_before, "{:#?}", mock.requests());
        // In bgw's log, a 200 for each request that reached OpenAI and one 429: Claude Code
        // did not send the turn again.
        let served = mock.requests().len();
        assert_eq!(statuses(dir, served + 1), (served, 1, 0));
        let refused = log_rows(dir, &["--status", "429", "--search", TURNS[REFUSED].ask]);
        assert_eq!(refused.len(), 1, "{refused:#?}");
        assert_eq!(global_budget(dir, 84_000_000)["in_flight"], 0);

        // Raised from another terminal, the same session goes on: the eighth is answered
        // (Claude Code sends the seventh's text again with it, in one user message).
        bgw(dir, &["budget", "set", "global", "0.20/month"]);
        asking.store(REFUSED + 1, Ordering::SeqCst);
        tmux.submit(TURNS[REFUSED + 1].ask);
        let screen = tmux.wait_for(TURNS[REFUSED + 1].answer, STEP);
        assert_eq!(count(&screen, REFUSAL_MARK), 1, "{screen}");
        assert_eq!(
            turns_asked(&mock),
            [0, 1, 2, 3, 4, 5, 7],
            "{:#?}",
            mock.requests()
        );
        let last = mock.requests().into_iter().rfind(|r| turn_of(r) == Some(7));
        let last_text = last_user_text(&last.unwrap());
        assert_contains(&last_text, TURNS[REFUSED].ask);
        let served = mock.requests().len();
        assert_eq!(statuses(dir, served + 1), (served, 1, 0));
        let spent = global_budget(dir, 90_000_000);
        assert_eq!(
            (&spent["spent"], &spent["limit"]),
            (&Value::from(90_000_000), &Value::from(200_000_000)),
            "{spent}"
        );

        drop(stop);
        watcher.join().unwrap();
    });

    let watched = watched.into_inner().unwrap();
    // The warning came with the sixth answer and not before (it may still show while the
    // seventh turn is typed); the refusal never showed twice.
    assert!(
        watched.warnings.iter().all(|(t, _)| *t >= WARNED),
        "a usage warning before the sixth turn: {:#?}\n{}",
        watched.warnings,
        watched.warning_screen
    );
    for (_, line) in &watched.warnings {
        assert!(line.starts_with(WARNING), "{line:?}");
        assert!(line.ends_with("(UTC)"), "{line:?}");
    }
    if let Some(screen) = &watched.retrying {
        panic!("Claude Code retried a request:\n{screen}");
    }
    assert_eq!(
        watched.most_refusals, 1,
        "one screen showed the refusal {} times:\n{}",
        watched.most_refusals, watched.refusal_screen
    );

    let (code, stderr) = session.exit();
    assert_eq!(code, "0", "{stderr}");
    assert_contains(
        &stderr,
        "bgw: budgets: global $0.0900 of $0.2000/month (45%)\n",
    );
    assert_contains(&stderr, "(1 failed)");
    assert_contains(&stderr, " output tokens, $0.0900, providers: openai ×");
    drop(mock);
}
