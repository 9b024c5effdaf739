//! `bgw logs` as a person uses it, against a real gateway and a mock OpenAI on one data dir:
//! the table, its filters, JSON lines, one request whole, totals, the settings, and `-f`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::bgw::owner_pid;
use support::{Bgw, Mock, Reply, assert_contains, bgw::command, messages_request, openai};

/// Runs `bgw ARGS…` on `dir`; (success, stdout, stderr).
fn bgw(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = command(dir)
        .env("COLUMNS", "160")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `bgw ARGS…` that must succeed; its stdout.
#[track_caller]
fn ok(dir: &Path, args: &[&str]) -> String {
    let (success, stdout, stderr) = bgw(dir, args);
    assert!(success, "`bgw {}` failed: {stderr}", args.join(" "));
    stdout
}

/// The table's rows (the header left out).
fn rows(table: &str) -> Vec<&str> {
    table.lines().skip(1).collect()
}

/// Answers as OpenAI does: a 400 when the prompt says "fail", else "Hello", streamed if asked.
async fn openai_mock() -> Mock {
    Mock::answering(|req| {
        let body = req.json();
        let model = body["model"].as_str().unwrap_or("gpt-4o").to_owned();
        if req.text().contains("fail") {
            Reply::json(
                400,
                &openai::error(
                    "this request was refused on purpose",
                    "invalid_request_error",
                    None,
                ),
            )
        } else if body["stream"] == Value::Bool(true) {
            Reply::sse([openai::text_stream(&model, &["Hel", "lo"], 30, 2)])
        } else {
            openai::reply(&model, "Hello", 30, 2)
        }
    })
    .await
}

/// A request whose user turn says `text`.
fn asking(model: &str, stream: bool, text: &str) -> Value {
    let mut v = messages_request(model, stream);
    v["messages"] = json!([{"role": "user", "content": [{"type": "text", "text": text}]}]);
    v
}

/// Sends `body`; the request id the gateway gave it.
async fn send(gw: &Bgw, body: &Value) -> String {
    let resp = gw.client().messages(body).await;
    let id = resp.header("x-bgw-request-id").unwrap().to_owned();
    resp.text().await;
    id
}

/// Waits until the log holds `n` rows (they are written just after each answer).
fn wait_for_rows(dir: &Path, n: usize) {
    let deadline = Instant::now() + support::STEP;
    loop {
        let have = ok(dir, &["logs", "--json"]).lines().count();
        if have >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the log holds {have} rows, not {n}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_lists_filters_shows_and_totals_every_request() {
    let mock = openai_mock().await;
    let gw = Bgw::keyed("openai", Some("sk-test-000000000000"), &mock.at("/v1"));
    let dir = gw.data_dir().to_owned();
    let plain = send(&gw, &asking("openai/gpt-4o", false, "Say hello.")).await;
    let streamed = send(&gw, &asking("openai/gpt-4o", true, "Say hello, streaming.")).await;
    let refactor = send(
        &gw,
        &asking("openai/gpt-4o", false, "Please refactor the parser."),
    )
    .await;
    let failed = send(
        &gw,
        &asking("openai/gpt-4o", false, "This one should fail."),
    )
    .await;
    let unpriced = send(&gw, &asking("openai/gpt-mystery", false, "Say hello.")).await;
    wait_for_rows(&dir, 5);

    // The table: newest first, the provider and model, status, tokens, cost, latency.
    let table = ok(&dir, &["logs"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "TIME", "UTC", "ID", "MODEL", "STATUS", "IN", "OUT", "COST", "LATENCY"
        ]
    );
    let lines = rows(&table);
    assert_eq!(lines.len(), 5, "{table}");
    let order = [&unpriced, &failed, &refactor, &streamed, &plain];
    for (line, id) in lines.iter().zip(order) {
        assert!(line.contains(&id[..12]), "{id} in {line}");
    }
    let cols = |line: &str| {
        line.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let first = cols(lines[4]);
    assert_eq!(&first[2..6], ["openai/gpt-4o", "200", "30", "2"], "{table}");
    assert!(first[6].starts_with('$'), "a known price: {table}");
    assert!(
        first[7].contains("s/") && first[7].ends_with('s'),
        "{table}"
    );
    assert_eq!(cols(lines[1])[3], "400", "{table}");
    assert_eq!(
        cols(lines[0])[6],
        "?",
        "an unknown price is not $0: {table}"
    );
    let (_, _, stderr) = bgw(&dir, &["logs"]);
    assert_contains(
        &stderr,
        "1 request has no known price (model openai/gpt-mystery); set one with `bgw models price set openai/gpt-mystery --input … --output …`",
    );

    // Filters narrow the table.
    assert_eq!(rows(&ok(&dir, &["logs", "--provider", "openai"])).len(), 5);
    let (success, stdout, stderr) = bgw(&dir, &["logs", "--provider", "groq"]);
    assert!(success && stdout.is_empty(), "{stdout}");
    assert_contains(&stderr, "no request matches");
    assert_eq!(
        rows(&ok(&dir, &["logs", "--model", "gpt-mystery"])).len(),
        1
    );
    let errors = ok(&dir, &["logs", "--status", "error"]);
    assert_eq!(rows(&errors).len(), 1, "{errors}");
    assert_contains(&errors, &failed[..12]);
    assert_eq!(rows(&ok(&dir, &["logs", "--status", "400"])).len(), 1);
    assert_eq!(rows(&ok(&dir, &["logs", "--status", "ok"])).len(), 4);
    assert_eq!(rows(&ok(&dir, &["logs", "--since", "1h"])).len(), 5);
    assert_eq!(rows(&ok(&dir, &["logs", "--since", "2000-01-01"])).len(), 5);
    assert_eq!(rows(&ok(&dir, &["logs", "--until", "1h"])).len(), 0);
    assert_eq!(
        rows(&ok(&dir, &["logs", "--since", "2999-01-01T00:00:00Z"])).len(),
        0
    );
    let found = ok(&dir, &["logs", "--search", "REFACTOR"]);
    assert_eq!(rows(&found).len(), 1, "{found}");
    assert_contains(&found, &refactor[..12]);

    // A limit says how many more there are.
    let (_, stdout, stderr) = bgw(&dir, &["logs", "--limit", "2"]);
    assert_eq!(rows(&stdout).len(), 2);
    assert_contains(&stderr, "3 more; use `--limit 5` to see them");

    // JSON lines: every row, newest first, with its fields.
    let json_rows: Vec<Value> = ok(&dir, &["logs", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json_rows.len(), 5);
    assert_eq!(json_rows[4]["id"], plain.as_str());
    for r in &json_rows {
        for field in [
            "id",
            "run",
            "provider",
            "upstream_model",
            "status",
            "stream",
            "usage",
            "total_us",
        ] {
            assert!(r.get(field).is_some(), "{field} in {r}");
        }
    }
    assert_eq!(json_rows[3]["stream"], true);
    assert_eq!(json_rows[4]["usage"]["input_tokens"], 30);
    assert_eq!(json_rows[0]["cost"], Value::Null);

    // One request whole, by the start of its id: the request and the answer.
    let shown = ok(&dir, &["logs", "show", &refactor[..12]]);
    assert_contains(&shown, &format!("id         {refactor}"));
    assert_contains(&shown, "model      openai/gpt-4o → openai/gpt-4o");
    assert_contains(
        &shown,
        "tokens     30 in, 2 out, 0 cache read, 0 cache write",
    );
    assert_contains(&shown, "Please refactor the parser.");
    assert_contains(&shown, "\"text\": \"Hello\"");
    // A stream is shown as the one message it made.
    let shown = ok(&dir, &["logs", "show", &streamed.to_lowercase()]);
    assert_contains(&shown, "stream     yes");
    assert_contains(&shown, "\"text\": \"Hello\"");
    let shown = ok(&dir, &["logs", "show", &failed[..12]]);
    assert_contains(&shown, "status     400 invalid_request_error:");
    assert_contains(&shown, "this request was refused on purpose");
    let whole: Value =
        serde_json::from_str(&ok(&dir, &["logs", "show", &plain, "--json"])).unwrap();
    assert_eq!(whole["id"], plain.as_str());
    assert_eq!(whole["request"]["model"], "openai/gpt-4o");
    assert_eq!(whole["response"]["content"][0]["text"], "Hello");
    // An id that names nothing, or several, says so.
    let (success, _, stderr) = bgw(&dir, &["logs", "show", "7ZZZZZZZZZ"]);
    assert!(!success);
    assert_contains(&stderr, "no request has an id starting `7ZZZZZZZZZ`");
    let (success, _, stderr) = bgw(&dir, &["logs", "show", &plain[..2]]);
    assert!(!success);
    assert_contains(&stderr, &format!("`{}` starts 5 request ids:", &plain[..2]));
    assert_contains(&stderr, &plain);
    let (success, _, stderr) = bgw(&dir, &["logs", "show", "not-an-id"]);
    assert!(!success);
    assert_contains(&stderr, "`not-an-id` is not a request id");

    // Totals per provider: requests, error rate, tokens, cost with its unknown part.
    let stats = ok(
        &dir,
        &["logs", "stats", "--by", "provider", "--since", "7d"],
    );
    let line: Vec<&str> = stats.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&line[..5], ["openai", "5", "20%", "120", "8"], "{stats}");
    assert!(line[5].starts_with('$') && line[6] == "+1?", "{stats}");
    // Several groups end with their total.
    let by_model = ok(&dir, &["logs", "stats", "--by", "model"]);
    let groups: Vec<Vec<&str>> = by_model
        .lines()
        .map(|l| l.split_whitespace().take(3).collect())
        .collect();
    assert_eq!(
        groups,
        [
            vec!["MODEL", "REQUESTS", "ERRORS"],
            vec!["gpt-4o", "4", "25%"],
            vec!["gpt-mystery", "1", "0%"],
            vec!["total", "5", "20%"]
        ],
        "{by_model}"
    );
    // Filters may come before `stats` too; `--json` anywhere.
    assert_eq!(ok(&dir, &["logs", "--since", "7d", "stats"]), stats);
    let (success, _, stderr) = bgw(&dir, &["logs", "--since", "7d", "show", &plain]);
    assert!(!success);
    assert_contains(&stderr, "`bgw logs show` takes an id");
    let before: Value =
        serde_json::from_str(&ok(&dir, &["logs", "--json", "show", &plain])).unwrap();
    assert_eq!(before["id"], plain.as_str());
    let by_model: Vec<Value> = ok(&dir, &["logs", "stats", "--by", "model", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(by_model[0]["group"], "gpt-4o");
    assert_eq!(by_model[0]["requests"], 4);
    assert_eq!(by_model[1]["unpriced"], 1);

    // A time bgw cannot read is refused with the forms it can.
    for bad in [
        ["logs", "--since", "yesterday"],
        ["logs", "--until", "2026-02-30"],
    ] {
        let (success, stdout, stderr) = bgw(&dir, &bad);
        assert!(!success && stdout.is_empty());
        assert_contains(&stderr, "`2h`");
        assert_contains(&stderr, "RFC 3339");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_content_logging_off_a_request_keeps_its_row_but_no_body() {
    let mock = openai_mock().await;
    let gw = Bgw::keyed("openai", Some("sk-test-000000000000"), &mock.at("/v1"));
    let dir = gw.data_dir().to_owned();
    assert_contains(&ok(&dir, &["logs", "settings"]), "content    on");
    let settings = ok(
        &dir,
        &[
            "logs",
            "settings",
            "--content",
            "off",
            "--retention",
            "forever",
        ],
    );
    assert_contains(&settings, "content    off");
    assert_contains(&settings, "retention  forever");
    assert_eq!(
        ok(&dir, &["logs", "settings", "--json"]).trim(),
        r#"{"content":false,"retention_days":null}"#
    );
    // The running gateway hears the change; give it a moment to arrive.
    std::thread::sleep(Duration::from_millis(300));
    let id = send(&gw, &asking("openai/gpt-4o", false, "A secret plan.")).await;
    wait_for_rows(&dir, 1);
    let shown = ok(&dir, &["logs", "show", &id]);
    assert_contains(&shown, "content not kept (logging of content is off)");
    assert!(!shown.contains("secret plan"), "{shown}");
    let (_, _, _) = bgw(&dir, &["logs", "settings", "--retention", "30d"]);
    assert_contains(&ok(&dir, &["logs", "settings"]), "retention  30 days");
}

/// A running `bgw logs -f --json`, its lines read as they come; killed when dropped.
struct Follower {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Follower {
    fn start(dir: &Path, filters: &[&str]) -> Follower {
        let mut child = command(dir)
            .args(["logs", "-f", "--json"])
            .args(filters)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Follower { child, lines }
    }

    /// The id of the next row it prints.
    #[track_caller]
    fn next_id(&self) -> String {
        let line = self
            .lines
            .recv_timeout(support::STEP)
            .unwrap_or_else(|_| panic!("`bgw logs -f` printed no line"));
        let row: Value = serde_json::from_str(&line).unwrap();
        row["id"].as_str().unwrap().to_owned()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_prints_a_request_made_after_it_started() {
    let mock = openai_mock().await;
    let gw = Bgw::keyed("openai", Some("sk-test-000000000000"), &mock.at("/v1"));
    let dir = gw.data_dir().to_owned();
    let before = send(&gw, &asking("openai/gpt-4o", false, "Say hello.")).await;
    wait_for_rows(&dir, 1);
    let follower = Follower::start(&dir, &[]);
    // First the newest rows, as `tail -f` does, then the ones made while it runs.
    assert_eq!(follower.next_id(), before);
    let after = send(&gw, &asking("openai/gpt-4o", true, "Say hello again.")).await;
    assert_eq!(follower.next_id(), after);
    let third = send(&gw, &asking("openai/gpt-4o", false, "Once more.")).await;
    assert_eq!(follower.next_id(), third);

    // Filters hold for new rows too, --search included (the store reads the content).
    let searching = Follower::start(&dir, &["--search", "pineapple", "--status", "ok"]);
    std::thread::sleep(Duration::from_millis(300));
    let apple = send(&gw, &asking("openai/gpt-4o", false, "Say apple.")).await;
    send(
        &gw,
        &asking("openai/gpt-4o", false, "Say pineapple, then fail."),
    )
    .await;
    let wanted = send(&gw, &asking("openai/gpt-4o", true, "Say PINEAPPLE.")).await;
    assert_eq!(searching.next_id(), wanted);
    // The unfiltered follower prints them all.
    assert_eq!(follower.next_id(), apple);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_hears_every_gateway_and_outlives_the_store_owner() {
    let mock = openai_mock().await;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    ok(
        dir,
        &[
            "keys",
            "add",
            "openai",
            "--value",
            "sk-test-000000000000",
            "--base-url",
            &mock.at("/v1"),
        ],
    );
    let (a, b) = (Bgw::serve_at(dir, &[]), Bgw::serve_at(dir, &[]));
    let first = send(&a, &asking("openai/gpt-4o", false, "Say hello.")).await;
    wait_for_rows(dir, 1);
    let follower = Follower::start(dir, &[]);
    assert_eq!(follower.next_id(), first);
    let from_b = send(&b, &asking("openai/gpt-4o", false, "Hello from b.")).await;
    assert_eq!(follower.next_id(), from_b);
    let from_a = send(&a, &asking("openai/gpt-4o", true, "Hello from a.")).await;
    assert_eq!(follower.next_id(), from_a);
    // The owner dies; another process takes over, and the follower goes on with it.
    let owner = owner_pid(dir);
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &owner.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let later = send(&b, &asking("openai/gpt-4o", false, "After the takeover.")).await;
    assert_eq!(follower.next_id(), later);
    assert_ne!(owner_pid(dir), owner);
}

/// A real Claude Code request, sent to OpenAI's mock.
fn claude_code_turn(file: &str) -> Value {
    let path = format!("tests/fixtures/claude_code/{file}");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["model"] = "openai/gpt-4o".into();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_turn_of_a_claude_code_conversation_reads_back_whole() {
    let mock = openai_mock().await;
    let gw = Bgw::keyed("openai", Some("sk-test-000000000000"), &mock.at("/v1"));
    let dir = gw.data_dir().to_owned();
    // The second turn repeats the first's tools, system prompt and message, and adds two:
    // the log keeps what repeats once, and each request must still read back as it was sent.
    let turns = [
        claude_code_turn("request_first_turn.json"),
        claude_code_turn("request_tool_result.json"),
    ];
    let mut ids = Vec::new();
    for turn in &turns {
        ids.push(send(&gw, turn).await);
    }
    wait_for_rows(&dir, 2);
    for (id, sent) in ids.iter().zip(&turns) {
        let whole: Value =
            serde_json::from_str(&ok(&dir, &["logs", "show", id, "--json"])).unwrap();
        assert_eq!(&whole["request"], sent, "request {id}");
    }
    // A tool's name, kept once for both requests, finds both.
    let found = ok(&dir, &["logs", "--search", "ScheduleWakeup", "--json"]);
    assert_eq!(found.lines().count(), 2, "{found}");
}
