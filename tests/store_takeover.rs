//! One store for every bgw process: three `bgw serve` gateways on one data dir under load,
//! `bgw keys add` and `bgw logs` in between, and the store's owner killed with SIGKILL
//! mid-run. No client sees an error, no finished request's row is lost, the file is whole.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bgw::store::Store;
use bgw::store::logs::{LogQuery, RequestId};
use serde_json::Value;
use support::{Bgw, Mock, Reply, bgw::command, bgw::owner_pid, messages_request, openai};

/// Answers as OpenAI does, streamed or not as asked, after a short think.
fn openai_mock() -> impl std::future::Future<Output = Mock> {
    Mock::answering(|req| {
        std::thread::sleep(Duration::from_millis(2));
        let body = req.json();
        let model = body["model"].as_str().unwrap_or("gpt-4o").to_owned();
        if body["stream"] == Value::Bool(true) {
            Reply::sse([openai::text_stream(&model, &["Hel", "lo"], 30, 2)])
        } else {
            openai::reply(&model, "Hello", 30, 2)
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_gateways_one_store_and_its_owner_killed_mid_run() {
    let mock = openai_mock().await;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_owned();
    let out = command(&dir)
        .args(["keys", "add", "openai", "--value", "sk-test-000000000000"])
        .args(["--base-url", &mock.at("/v1")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gateways: Vec<Bgw> = (0..3).map(|_| Bgw::serve_at(&dir, &[])).collect();

    // Four clients per gateway, each sending requests one after another until told to stop.
    let finished = Arc::new(std::sync::Mutex::new(Vec::<RequestId>::new()));
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for (g, gateway) in gateways.iter().enumerate() {
        for c in 0..4 {
            let client = gateway.client();
            let (finished, sent, stop) = (finished.clone(), sent.clone(), stop.clone());
            clients.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Acquire) {
                    let stream = (g + c + n) % 2 == 0;
                    let resp = client
                        .messages(&messages_request("openai/gpt-4o", stream))
                        .await;
                    assert_eq!(resp.status, 200, "gateway {g} client {c} request {n}");
                    let id = resp.header("x-bgw-request-id").unwrap().to_owned();
                    let text = resp.text().await;
                    assert!(text.contains("Hel"), "an answer, not an error: {text}");
                    if stream {
                        assert!(text.contains("message_stop"), "{text}");
                    }
                    finished
                        .lock()
                        .unwrap()
                        .push(RequestId::parse(&id).unwrap());
                    sent.fetch_add(1, Ordering::AcqRel);
                    n += 1;
                }
            }));
        }
    }
    let wait_for = |n: usize| {
        let sent = sent.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            while sent.load(Ordering::Acquire) < n {
                assert!(Instant::now() < deadline, "the load stalled at {n}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };

    wait_for(60).await;
    // A key added from another terminal reaches the running gateways.
    let out = command(&dir)
        .args(["keys", "add", "groq", "--value", "gsk-test-000000000000"])
        .args(["--base-url", &mock.at("/openai/v1")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Tries made before the change arrived are refused (and logged) as a missing key.
    let deadline = Instant::now() + support::STEP;
    let mut groq_tries = BTreeSet::new();
    loop {
        let resp = gateways[1]
            .client()
            .hello("groq/llama-3.3-70b-versatile", false)
            .await;
        groq_tries.insert(RequestId::parse(resp.header("x-bgw-request-id").unwrap()).unwrap());
        if resp.status == 200 {
            break;
        }
        let status = resp.status;
        assert_eq!(status, 401, "{}", resp.text().await);
        assert!(
            Instant::now() < deadline,
            "the new key never reached the gateway"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The owner dies mid-run, twice; the next process to need the store takes over.
    for _ in 0..2 {
        let pid = owner_pid(&dir);
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let before = sent.load(Ordering::Acquire);
        wait_for(before + 60).await;
        assert_ne!(owner_pid(&dir), pid, "a new owner took over");
    }

    stop.store(true, Ordering::Release);
    for c in clients {
        c.await.unwrap();
    }
    let mut finished: BTreeSet<RequestId> = finished.lock().unwrap().iter().copied().collect();
    finished.extend(&groq_tries);

    // Every finished request has its row (gateways write within moments; allow for a takeover).
    let store = Store::shared(&dir, support::bgw::bin().into());
    let deadline = Instant::now() + Duration::from_secs(20);
    let rows = loop {
        let rows = store.logs(&LogQuery::default()).unwrap();
        let have: BTreeSet<RequestId> = rows.iter().map(|r| r.id).collect();
        if finished.is_subset(&have) {
            break rows;
        }
        let missing = finished.difference(&have).count();
        assert!(
            Instant::now() < deadline,
            "{missing} of {} finished requests have no row",
            finished.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(rows.len(), finished.len(), "no row twice, none made up");
    let runs: BTreeSet<&str> = rows.iter().map(|r| r.run.as_str()).collect();
    assert_eq!(runs.len(), 3, "rows from each of the three gateways");
    for row in rows.iter().filter(|r| !groq_tries.contains(&r.id)) {
        assert_eq!(
            (row.status, row.provider.as_str()),
            (200, "openai"),
            "{row:?}"
        );
        assert!(row.error.is_none(), "{row:?}");
        assert_eq!(row.usage.output_tokens, 2, "{row:?}");
        // Its content too, whichever owner wrote it, through a takeover.
        let content = store.log_content(row.id).unwrap().expect("content kept");
        assert!(content.request.contains("openai/gpt-4o"), "{content:?}");
        assert!(content.response.contains("Hel"), "{content:?}");
    }
    let groq: Vec<_> = rows.iter().filter(|r| groq_tries.contains(&r.id)).collect();
    let answered = groq.iter().filter(|r| r.status == 200).count();
    assert_eq!(answered, 1, "{groq:?}");
    assert!(groq.iter().all(|r| r.provider == "groq"), "{groq:?}");

    // Each gateway's end-of-session line counts its own rows.
    let mut total = 0;
    for g in gateways {
        let stderr = g.terminate();
        let line = stderr
            .lines()
            .find(|l| l.starts_with("bgw: ") && l.contains(" request"))
            .unwrap_or_else(|| panic!("no session line in:\n{stderr}"))
            .to_owned();
        let n: usize = line["bgw: ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        total += n;
    }
    assert_eq!(total, rows.len());

    // With every process gone, the file opens cleanly in this one.
    drop(store);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match bgw::store::file::File::open(&dir).unwrap() {
            bgw::store::file::Opened::Mine(f) => {
                assert_eq!(f.schema_version().unwrap(), bgw::store::SCHEMA_VERSION);
                break;
            }
            bgw::store::file::Opened::Taken => {
                assert!(Instant::now() < deadline, "the last owner never let go");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Whether process `pid` is alive (and not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn the_owner_leaves_when_idle_or_when_its_data_dir_is_removed() {
    for remove_dir in [false, true] {
        let data = tempfile::tempdir().unwrap();
        let out = command(data.path())
            .args(["keys", "list"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pid = owner_pid(data.path());
        if remove_dir {
            std::fs::remove_dir_all(data.path()).unwrap();
        }
        // Three seconds idle, checked every 100 ms; a removed dir is noticed at once.
        let deadline = Instant::now() + Duration::from_secs(if remove_dir { 2 } else { 6 });
        while alive(pid) {
            assert!(
                Instant::now() < deadline,
                "the owner {pid} stayed (dir removed: {remove_dir})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        if !remove_dir {
            assert!(
                !data.path().join("bgw.sock").exists(),
                "the socket goes with it"
            );
        }
    }
}
