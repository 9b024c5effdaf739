//! Load benchmark: the real `bgw` binary against a local mock upstream.
//!
//! Reports the latency bgw adds (p50/p99 through bgw minus calling the mock
//! directly, one request at a time), requests per second under concurrency, for the
//! ~50 KB Claude Code request streamed and not (the mock writes a stream event by event, as
//! upstreams do), and bgw's RSS at idle and with 50
//! concurrent streams open. Run with `cargo bench --bench load`.
//!
//! The request log's cost: the same load through three gateways on one store (log off, log
//! with content, rows only), taking turns, each request's newest message its own; then every
//! row must be in the store. `BGW_BENCH_ONLY=log` runs that part alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Connections the mock accepted: bgw's pool should keep this near its concurrency.
static ACCEPTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

const FIXTURE: &str = "tests/fixtures/claude_code/request_first_turn.json";

/// The mock's canned answers, written the way the providers document them.
struct Canned {
    openai_stream: Bytes,
    openai_json: Bytes,
    anthropic_stream: Bytes,
    /// The last translated body bgw sent (to call the mock directly with the same bytes).
    last_openai_body: Mutex<Option<Bytes>>,
}

fn openai_stream() -> Bytes {
    let mut s = String::new();
    s.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-5\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
    for i in 0..20 {
        s.push_str(&format!("data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-5\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"word{i} \"}},\"finish_reason\":null}}]}}\n\n"));
    }
    s.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-5\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
    s.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-5\",\"choices\":[],\"usage\":{\"prompt_tokens\":12000,\"completion_tokens\":21,\"total_tokens\":12021,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n");
    s.push_str("data: [DONE]\n\n");
    Bytes::from(s)
}

fn openai_json() -> Bytes {
    Bytes::from_static(br#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-5","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the mock."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12000,"completion_tokens":6,"total_tokens":12006}}"#)
}

fn anthropic_stream() -> Bytes {
    let mut s = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12000,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    );
    for i in 0..20 {
        s.push_str(&format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"word{i} \"}}}}\n\n"));
    }
    s.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":21}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    Bytes::from(s)
}

type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

async fn mock(req: Request<hyper::body::Incoming>, canned: Arc<Canned>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let stream = memchr_stream_true(&body);
    let slow = memchr::memmem::find(&body, b"\"slow\"").is_some();
    let (ctype, bytes) = if path.ends_with("/chat/completions") {
        *canned.last_openai_body.lock().unwrap() = Some(body.clone());
        if stream {
            ("text/event-stream", canned.openai_stream.clone())
        } else {
            ("application/json", canned.openai_json.clone())
        }
    } else {
        ("text/event-stream", canned.anthropic_stream.clone())
    };
    let body: Body = if slow {
        // Hold the stream open ~3 s, one frame every 100 ms, for the RSS measurement.
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        tokio::spawn(async move {
            let frames: Vec<Bytes> = bytes
                .split(|b| *b == b'\n')
                .map(|l| Bytes::from([l, b"\n"].concat()))
                .collect();
            let per = (frames.len() / 30).max(1);
            for chunk in frames.chunks(per) {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if tx.send(Bytes::from(chunk.concat())).await.is_err() {
                    return;
                }
            }
        });
        BodyExt::boxed(ReceiverStream(rx))
    } else if ctype == "text/event-stream" {
        // As a real upstream streams: each event its own write, as the model makes it.
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
        tokio::spawn(async move {
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let end = memchr::memmem::find(rest, b"\n\n").map_or(rest.len(), |i| i + 2);
                if tx.send(bytes.slice_ref(&rest[..end])).await.is_err() {
                    return;
                }
                rest = &rest[end..];
                tokio::task::yield_now().await;
            }
        });
        BodyExt::boxed(ReceiverStream(rx))
    } else {
        BodyExt::boxed(Full::new(bytes))
    };
    Response::builder()
        .header("content-type", ctype)
        .body(body)
        .unwrap()
}

struct ReceiverStream(tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for ReceiverStream {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|m| m.map(|b| Ok(http_body::Frame::data(b))))
    }
}

/// JSON without the whitespace outside strings.
fn minify(json: &[u8]) -> Vec<u8> {
    let (mut out, mut in_string, mut escaped) = (Vec::with_capacity(json.len()), false, false);
    for &c in json {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == b'"';
            out.push(c);
        }
    }
    out
}

fn memchr_stream_true(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"\"stream\":true").is_some()
}

/// Rounds of each mode in the request log's measure.
const ROUNDS: usize = 6;

/// Where a body carries a request number: Claude Code's turns differ in their newest message,
/// so the log's bodies must too (it stores what repeats once).
const NUMBER: &[u8] = b"(request 0000000000000000)";
static NUMBERED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `body` with the next request number written in, if it has a place for one.
fn numbered(body: &Bytes, at: Option<usize>) -> Bytes {
    let Some(at) = at else {
        return body.clone();
    };
    let n = NUMBERED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut v = body.to_vec();
    v[at + 9..at + 25].copy_from_slice(format!("{n:016}").as_bytes());
    v.into()
}

struct Bgw(Child, u16);

impl Drop for Bgw {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_bgw(data_dir: &std::path::Path, mock_port: u16) -> Bgw {
    add_keys(data_dir, mock_port);
    serve(data_dir, &[])
}

/// 100 routing rules that a request must all evaluate (none matches), as the rules bench
/// writes them: what they add to the streamed path, against a gateway with none, taking turns.
async fn rules_cost(client: &HttpClient, mock_port: u16, body: &Bytes, auth: &[(&str, &str)]) {
    let plain_dir = tempfile::tempdir().unwrap();
    let ruled_dir = tempfile::tempdir().unwrap();
    add_keys(plain_dir.path(), mock_port);
    add_keys(ruled_dir.path(), mock_port);
    for i in 0..100 {
        let when = match i % 5 {
            0 => format!("model == \"openai/gpt-{i}\""),
            1 => format!("tier == \"opus\" && request.tools > {i}"),
            2 => format!("budget.used_pct > {}.5", 90 + i % 10),
            3 => format!("\"x-task\" in headers && headers[\"x-task\"] == \"review-{i}\""),
            _ => format!("time.hour == 99 || tokens.input > {}", 10_000_000 + i),
        };
        let ok = Command::new(bench_bin())
            .args([
                "route",
                "add",
                &format!("rule-{i}"),
                "--when",
                &when,
                "--to",
                "openai/gpt-4o",
            ])
            .env("BGW_DATA_DIR", ruled_dir.path())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "bgw route add {when:?} failed");
    }
    let plain = serve(plain_dir.path(), &["--no-log"]);
    let ruled = serve(ruled_dir.path(), &["--no-log"]);
    let url = |b: &Bgw| format!("http://127.0.0.1:{}/v1/messages", b.1);
    let (mut none, mut hundred) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        none.push(measure(client, &url(&plain), body, auth, 1, 1000).await);
        hundred.push(measure(client, &url(&ruled), body, auth, 1, 1000).await);
    }
    let median = |v: &[Stats], f: fn(&Stats) -> Duration| {
        let mut d: Vec<Duration> = v.iter().map(f).collect();
        d.sort();
        d[d.len() / 2]
    };
    println!(
        "routing rules, bgw → OpenAI streamed, concurrency 1, 5 × 1000 requests each, taking turns:"
    );
    for (name, v) in [("no rules", &none), ("100 rules, none matching", &hundred)] {
        println!(
            "  {name:<28} p50 {:>6.0} µs  p99 {:>6.0} µs",
            us(median(v, |s| s.p50)),
            us(median(v, |s| s.p99))
        );
    }
    println!(
        "  added by 100 rules: p50 {:+.1} µs, p99 {:+.1} µs",
        us(median(&hundred, |s| s.p50)) - us(median(&none, |s| s.p50)),
        us(median(&hundred, |s| s.p99)) - us(median(&none, |s| s.p99))
    );
}

fn bench_bin() -> String {
    std::env::var("BGW_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_bgw").to_owned())
}

fn add_keys(data_dir: &std::path::Path, mock_port: u16) {
    // BGW_BENCH_BIN measures another build (say, one with symbols for `perf`).
    let bin = bench_bin();
    let bin = bin.as_str();
    let add = |args: &[&str]| {
        let ok = Command::new(bin)
            .args(args)
            .env("BGW_DATA_DIR", data_dir)
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "bgw {args:?} failed");
    };
    let base = format!("http://127.0.0.1:{mock_port}");
    add(&[
        "keys",
        "add",
        "openai",
        "--value",
        "sk-bench-000000000000",
        "--base-url",
        &format!("{base}/v1"),
    ]);
    add(&[
        "keys",
        "add",
        "anthropic",
        "--value",
        "sk-ant-bench-000000000",
        "--base-url",
        &base,
    ]);
}

/// `bgw serve --port 0 ARGS` on `data_dir`, once it says where it listens.
fn serve(data_dir: &std::path::Path, args: &[&str]) -> Bgw {
    let mut child = Command::new(bench_bin())
        .args(["serve", "--port", "0"])
        .args(args)
        .env("BGW_DATA_DIR", data_dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .expect("bgw printed its address");
    Bgw(child, port)
}

/// CPU time (user + system) process `pid` has used, in milliseconds.
fn cpu_ms(pid: u32) -> u64 {
    stat_cpu_ms(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// User + system milliseconds in a `/proc/.../stat` line (utime and stime, after the name).
fn stat_cpu_ms(stat: &str) -> u64 {
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum());
    ticks * 10
}

/// CPU time the threads of process `pid` whose name is (or is not) `name` have used, in ms.
fn threads_cpu_ms(pid: u32, name: &str, named: bool) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        .filter(|stat| {
            let comm = stat.split_once('(').and_then(|(_, r)| r.rsplit_once(')'));
            comm.is_some_and(|(c, _)| (c == name) == named)
        })
        .map(|stat| stat_cpu_ms(&stat))
        .sum()
}

/// Waits until `pids` use no more CPU (a gateway's log and the store owner have written what
/// the load left them), at most 10 s.
async fn settle(pids: &[u32]) {
    let used = || pids.iter().map(|&p| cpu_ms(p)).sum::<u64>();
    let mut last = used();
    let mut still = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = used();
        still = if now == last { still + 1 } else { 0 };
        if still == 3 {
            return;
        }
        last = now;
    }
}

/// CPU time the whole machine has spent busy (every core, every process), in ms.
/// Milliseconds the host gave other guests instead of this machine (steal), all CPUs summed.
fn steal_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let steal = stat.lines().next().unwrap_or("").split_whitespace().nth(8);
    steal.and_then(|t| t.parse::<u64>().ok()).unwrap_or(0) * 10
}

fn machine_cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    // cpu user nice system idle iowait irq softirq steal: the first three and irq/softirq are
    // work done here; idle, iowait and steal (time the host gave another guest) are not.
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .take(7)
        .filter_map(|t| t.parse().ok())
        .collect();
    let idle: u64 = ticks.iter().skip(3).take(2).sum();
    (ticks.iter().sum::<u64>() - idle) * 10
}

/// The pid of the store owner serving `dir`.
fn owner_pid(dir: &std::path::Path) -> Option<u32> {
    let dir = dir.to_str()?;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd);
        (cmd.contains("store-owner") && cmd.contains(dir)).then_some(pid)
    })
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// A size in KiB from /proc/PID/status (`VmRSS:` now, `VmHWM:` at its peak).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

async fn one(client: &HttpClient, url: &str, body: &Bytes, extra: &[(&str, &str)]) -> Duration {
    let mut req = Request::post(url).header("content-type", "application/json");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let body = numbered(body, memchr::memmem::find(body, NUMBER));
    let start = Instant::now();
    let resp = client
        .request(req.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    assert!(resp.status().is_success(), "status {}", resp.status());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(!bytes.is_empty());
    start.elapsed()
}

struct Stats {
    p50: Duration,
    p99: Duration,
    rps: f64,
}

async fn measure(
    client: &HttpClient,
    url: &str,
    body: &Bytes,
    extra: &[(&str, &str)],
    concurrency: usize,
    total: usize,
) -> Stats {
    for _ in 0..50 {
        one(client, url, body, extra).await;
    }
    let started = Instant::now();
    let per = total / concurrency;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = url.to_owned();
        let body = body.clone();
        let extra: Vec<(String, String)> = extra
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        tasks.push(tokio::spawn(async move {
            let extra: Vec<(&str, &str)> = extra
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let mut times = Vec::with_capacity(per);
            for _ in 0..per {
                times.push(one(&client, &url, &body, &extra).await);
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    Stats {
        p50: all[all.len() / 2],
        p99: all[all.len() * 99 / 100],
        rps: all.len() as f64 / elapsed.as_secs_f64(),
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The least any proxy built on hyper can add here: forward every request as is,
/// on one thread (as `bgw run` does). Runs as a child process, like bgw.
fn forwarder(upstream_port: u16) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client: Client<HttpConnector, hyper::body::Incoming> =
            Client::builder(TokioExecutor::new()).build(connector);
        loop {
            let (s, _) = listener.accept().await.unwrap();
            let _ = s.set_nodelay(true);
            let client = client.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let client = client.clone();
                    async move {
                        let (mut parts, body) = req.into_parts();
                        let path = parts
                            .uri
                            .path_and_query()
                            .map(|p| p.as_str())
                            .unwrap_or("/");
                        parts.uri = format!("http://127.0.0.1:{upstream_port}{path}")
                            .parse()
                            .unwrap();
                        parts.headers.remove("host");
                        client.request(Request::from_parts(parts, body)).await
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
}

struct Forwarder(Child, u16);

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_forwarder(mock_port: u16) -> Forwarder {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--forwarder", &mock_port.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the forwarder printed its port");
    Forwarder(child, port)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--forwarder") {
        return forwarder(args[i + 1].parse().unwrap());
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench());
}

async fn bench() {
    // Compact, in the key order Claude Code sends (model first), as on the wire.
    let request = minify(&std::fs::read(FIXTURE).expect("the Claude Code request fixture"));
    let text = String::from_utf8(request.clone()).unwrap();
    assert!(
        text.starts_with(r#"{"model":"claude-opus-5-5","#) && text.contains(r#""stream":true"#)
    );
    let with = |model: &str, stream: bool| {
        Bytes::from(
            text.replacen(
                r#""model":"claude-opus-5-5""#,
                &format!(r#""model":"{model}""#),
                1,
            )
            .replace(r#""stream":true"#, &format!(r#""stream":{stream}"#)),
        )
    };
    let unstreamed = with("openai/gpt-4o", false);
    let openai_streamed = with("openai/gpt-4o", true);
    let anthropic_streamed = with("claude-sonnet-4-5", true);
    let slow = with("openai/slow", true);
    let tiny = Bytes::from_static(
        br#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}],"stream":true}"#,
    );

    let canned = Arc::new(Canned {
        openai_stream: openai_stream(),
        openai_json: openai_json(),
        anthropic_stream: anthropic_stream(),
        last_openai_body: Mutex::new(None),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mock_port = listener.local_addr().unwrap().port();
    let c = canned.clone();
    tokio::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = s.set_nodelay(true);
            let c = c.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let c = c.clone();
                    async move { Ok::<_, std::convert::Infallible>(mock(req, c).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let bgw = start_bgw(dir.path(), mock_port);
    let pid = bgw.0.id();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = rss_kib(pid);

    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new()).build(connector);
    let gw = format!("http://127.0.0.1:{}/v1/messages", bgw.1);
    let fwd = start_forwarder(mock_port);
    let bare = format!("http://127.0.0.1:{}/v1/messages", fwd.1);
    let direct = format!("http://127.0.0.1:{mock_port}/v1/chat/completions");
    let direct_anthropic = format!("http://127.0.0.1:{mock_port}/v1/messages");
    let auth = [("anthropic-version", "2023-06-01")];

    // One request through bgw records the translated body, so the direct baseline sends the same bytes.
    one(&client, &gw, &openai_streamed, &auth).await;
    let translated = canned.last_openai_body.lock().unwrap().clone().unwrap();
    let mut tv: serde_json::Value = serde_json::from_slice(&translated).unwrap();
    tv["stream"] = false.into();
    tv.as_object_mut().unwrap().remove("stream_options");
    let translated_unstreamed = Bytes::from(serde_json::to_vec(&tv).unwrap());

    println!(
        "request: {} bytes (Claude Code first turn, compact, model first); translated to OpenAI: {} bytes",
        request.len(),
        translated.len()
    );
    // BGW_BENCH_ONLY=log measures the request log alone (a quicker loop while tuning it);
    // BGW_BENCH_ONLY=rules what 100 routing rules add.
    let only = std::env::var("BGW_BENCH_ONLY").unwrap_or_default();
    if only == "rules" {
        return rules_cost(&client, mock_port, &openai_streamed, &auth).await;
    }
    println!(
        "{:<44} {:>9} {:>9} {:>9}",
        "scenario (concurrency 1, 2000 requests)", "p50 µs", "p99 µs", "req/s"
    );
    let rows = [
        (
            "direct to mock, OpenAI, streamed",
            &direct,
            &translated,
            &[][..],
        ),
        ("bgw → OpenAI, streamed", &gw, &openai_streamed, &auth[..]),
        (
            "direct to mock, OpenAI, not streamed",
            &direct,
            &translated_unstreamed,
            &[][..],
        ),
        ("bgw → OpenAI, not streamed", &gw, &unstreamed, &auth[..]),
        // The same 50 KB request with no translation: what the hop and the body cost alone.
        (
            "direct to mock, Anthropic, streamed",
            &direct_anthropic,
            &anthropic_streamed,
            &auth[..],
        ),
        (
            "bgw → Anthropic passthrough, streamed",
            &gw,
            &anthropic_streamed,
            &auth[..],
        ),
        // The same hop with a tiny body: what bgw costs regardless of request size.
        (
            "direct to mock, Anthropic, tiny",
            &direct_anthropic,
            &tiny,
            &auth[..],
        ),
        ("bgw → Anthropic passthrough, tiny", &gw, &tiny, &auth[..]),
        // A bare hyper forwarder: the floor for any hyper proxy on this machine.
        (
            "bare hyper forwarder, Anthropic, streamed",
            &bare,
            &anthropic_streamed,
            &auth[..],
        ),
        (
            "bare hyper forwarder, Anthropic, tiny",
            &bare,
            &tiny,
            &auth[..],
        ),
    ];
    let only_log = only == "log";
    if !only_log {
        let mut p50s = Vec::new();
        for (name, url, body, extra) in rows {
            let before = ACCEPTED.load(std::sync::atomic::Ordering::Relaxed);
            let s = measure(&client, url, body, extra, 1, 2000).await;
            let opened = ACCEPTED.load(std::sync::atomic::Ordering::Relaxed) - before;
            eprintln!("  ({name}: the mock accepted {opened} connections)");
            println!(
                "{name:<44} {:>9.0} {:>9.0} {:>9.0}",
                us(s.p50),
                us(s.p99),
                s.rps
            );
            p50s.push((s.p50, s.p99));
        }
        println!(
            "added by bgw, streamed:     p50 {:+.0} µs, p99 {:+.0} µs",
            us(p50s[1].0) - us(p50s[0].0),
            us(p50s[1].1) - us(p50s[0].1)
        );
        println!(
            "added by bgw, not streamed: p50 {:+.0} µs, p99 {:+.0} µs",
            us(p50s[3].0) - us(p50s[2].0),
            us(p50s[3].1) - us(p50s[2].1)
        );
        println!(
            "added by bgw, passthrough streamed: p50 {:+.0} µs; tiny: p50 {:+.0} µs",
            us(p50s[5].0) - us(p50s[4].0),
            us(p50s[7].0) - us(p50s[6].0)
        );
        println!(
            "added by a bare hyper forwarder: streamed p50 {:+.0} µs; tiny p50 {:+.0} µs",
            us(p50s[8].0) - us(p50s[4].0),
            us(p50s[9].0) - us(p50s[6].0)
        );
        println!(
            "{:<44} {:>9} {:>9} {:>9}",
            "throughput (concurrency 16, 4000 requests)", "p50 µs", "p99 µs", "req/s"
        );
        for (name, url, body, extra) in [
            (
                "direct to mock, OpenAI, streamed",
                &direct,
                &translated,
                &[][..],
            ),
            ("bgw → OpenAI, streamed", &gw, &openai_streamed, &auth[..]),
            ("bgw → OpenAI, not streamed", &gw, &unstreamed, &auth[..]),
        ] {
            let s = measure(&client, url, body, extra, 16, 4000).await;
            println!(
                "{name:<44} {:>9.0} {:>9.0} {:>9.0}",
                us(s.p50),
                us(s.p99),
                s.rps
            );
        }
    }
    // The request log's cost: the same load through a second gateway on the same store with
    // the log off, alternating, so both see the same machine. Rows carry the 50 KB content.
    let quiet = serve(dir.path(), &["--no-log"]);
    let quiet_gw = format!("http://127.0.0.1:{}/v1/messages", quiet.1);
    let rows_only = serve(dir.path(), &["--no-content"]);
    let rows_only_gw = format!("http://127.0.0.1:{}/v1/messages", rows_only.1);
    println!(
        "{:<44} {:>9} {:>9} {:>9}",
        "request log (concurrency 16, 6 × 4000)", "p50 µs", "p99 µs", "req/s"
    );
    // Each request's newest message is its own, as in a session; the rest repeats.
    let numbered_body = |b: &Bytes| {
        let text = std::str::from_utf8(b).unwrap();
        let place = "in the current directory\"";
        assert!(text.contains(place));
        let marked = format!(
            "in the current directory {}\"",
            std::str::from_utf8(NUMBER).unwrap()
        );
        Bytes::from(text.replacen(place, &marked, 1))
    };
    let (log_streamed, log_unstreamed) =
        (numbered_body(&openai_streamed), numbered_body(&unstreamed));
    for (name, body) in [
        ("OpenAI, streamed", &log_streamed),
        ("OpenAI, not streamed", &log_unstreamed),
    ] {
        let mut on = Vec::new();
        let mut off = Vec::new();
        let mut rows = Vec::new();
        let owner = owner_pid(dir.path()).unwrap_or(0);
        let section_start = bgw::store::now_ms();
        let (section_clock, section_steal) = (Instant::now(), steal_ms());
        // CPU ms: gateway with the log off, with it on; the owner for each kind of row; the
        // content gateway's request path (tokio workers) and its other threads (the log writer).
        let mut cpu = [0u64; 7];
        // The whole machine's busy CPU ms in each mode: the load generator and the mock share it,
        // so its rise is what costs throughput on a busy machine, measured without the noise of
        // a rate.
        let mut machine = [0u64; 3];
        // Each mode takes each place in the order twice: the owner's commit of one round's
        // rows overlaps the next round, and must not always weigh on the same mode.
        for round in 0..ROUNDS {
            for mode in (0..3).map(|i| (i + round) % 3) {
                let (url, gateway, runs) = match mode {
                    0 => (&quiet_gw, quiet.0.id(), &mut off),
                    1 => (&gw, pid, &mut on),
                    _ => (&rows_only_gw, rows_only.0.id(), &mut rows),
                };
                let before = (
                    cpu_ms(gateway),
                    cpu_ms(owner),
                    machine_cpu_ms(),
                    threads_cpu_ms(gateway, "tokio-rt-worker", true),
                    threads_cpu_ms(gateway, "tokio-rt-worker", false),
                );
                runs.push(measure(&client, url, body, &auth, 16, 4000).await);
                // Each mode's rows are written before the next mode starts, so what a mode
                // costs is counted in its own window, not in the next mode's.
                settle(&[gateway, owner]).await;
                let gateway_ms = cpu_ms(gateway) - before.0;
                let owner_ms = cpu_ms(owner) - before.1;
                machine[mode] += machine_cpu_ms() - before.2;
                match mode {
                    0 => cpu[0] += gateway_ms,
                    1 => {
                        cpu[1] += gateway_ms;
                        cpu[2] += owner_ms;
                        cpu[5] += threads_cpu_ms(gateway, "tokio-rt-worker", true) - before.3;
                        cpu[6] += threads_cpu_ms(gateway, "tokio-rt-worker", false) - before.4;
                    }
                    _ => {
                        cpu[3] += gateway_ms;
                        cpu[4] += owner_ms;
                    }
                }
            }
        }
        // Rows must keep up with the load, not pile up in the gateways: every request of the
        // two logging gateways in the store, with content for each of the first one's.
        let ended = Instant::now();
        let store = bgw::store::Store::shared(dir.path(), bench_bin().into());
        let since = bgw::store::logs::LogQuery {
            since_ms: Some(section_start),
            ..Default::default()
        };
        let (rows_in, with_content) = loop {
            let rows = store.logs(&since).unwrap_or_default();
            let kept = rows.iter().filter(|r| r.has_content).count();
            if (rows.len() >= 2 * ROUNDS * 4000 && kept >= ROUNDS * 4000)
                || ended.elapsed() > Duration::from_secs(60)
            {
                break (rows.len(), kept);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        println!(
            "  rows in the store: {rows_in} of {} ({with_content} with content of {}), {:.1} s after the last answer; the file is {:.0} MB",
            2 * ROUNDS * 4000,
            ROUNDS * 4000,
            ended.elapsed().as_secs_f64(),
            std::fs::metadata(dir.path().join("bgw.redb")).map_or(0, |m| m.len()) as f64 / 1e6
        );
        // The content read back is what was sent: the numbered body, whole.
        let newest = store
            .logs(&bgw::store::logs::LogQuery {
                since_ms: Some(section_start),
                limit: Some(50),
                ..Default::default()
            })
            .unwrap_or_default();
        if let Some(row) = newest.iter().find(|r| r.has_content) {
            let content = store.log_content(row.id).unwrap().unwrap();
            assert_eq!(content.request.len(), body.len());
            assert!(content.request.contains("(request "));
        }
        let per = |ms: u64| ms as f64 * 1000.0 / (ROUNDS * 4000) as f64;
        println!(
            "  CPU per request: gateway log off {:.0} µs, log on {:.0} µs (request path {:.0}, log writer {:.0}; + owner {:.0} µs), rows only {:.0} µs (+ owner {:.0} µs)",
            per(cpu[0]),
            per(cpu[1]),
            per(cpu[5]),
            per(cpu[6]),
            per(cpu[2]),
            per(cpu[3]),
            per(cpu[4])
        );
        let rise = |m: u64| (m as f64 / machine[0] as f64 - 1.0) * 100.0;
        // Steal is time this VM wanted a core and did not get: when it is high, the rates below
        // say more about the host's other guests than about bgw.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let stolen = (steal_ms() - section_steal) as f64
            / (section_clock.elapsed().as_millis() as f64 * cores)
            * 100.0;
        println!(
            "  whole machine's CPU per request: log off {:.0} µs, with content {:.0} µs ({:+.1}%), rows only {:.0} µs ({:+.1}%); steal {stolen:.1}% of the section",
            per(machine[0]),
            per(machine[1]),
            rise(machine[1]),
            per(machine[2]),
            rise(machine[2])
        );
        for (label, runs) in [
            ("log off", &off),
            ("log on, with content", &on),
            ("log on, no content", &rows),
        ] {
            let mut rps: Vec<f64> = runs.iter().map(|s| s.rps).collect();
            rps.sort_by(f64::total_cmp);
            let mid = &runs[runs.len() / 2];
            println!(
                "{:<44} {:>9.0} {:>9.0} {:>9.0}",
                format!("{name}, {label}"),
                us(mid.p50),
                us(mid.p99),
                rps[rps.len() / 2]
            );
        }
        // Each round's modes ran back to back; their ratio cancels the machine's drift.
        let paired = |v: &[Stats]| {
            let mut r: Vec<f64> = v.iter().zip(&off).map(|(a, b)| a.rps / b.rps).collect();
            r.sort_by(f64::total_cmp);
            (r[r.len() / 2 - 1] + r[r.len() / 2]) / 2.0
        };
        println!(
            "  throughput with the log on (median of the rounds' ratios): {:+.1}% with content, {:+.1}% without ({name})",
            (paired(&on) - 1.0) * 100.0,
            (paired(&rows) - 1.0) * 100.0
        );
    }
    // What keeping rows and bodies costs in memory under this load: each gateway's peak.
    let peak = |pid: u32| status_kib(pid, "VmHWM:") as f64 / 1024.0;
    println!(
        "  peak memory (VmHWM): log off {:.0} MB, with content {:.0} MB, rows only {:.0} MB",
        peak(quiet.0.id()),
        peak(pid),
        peak(rows_only.0.id())
    );
    drop(quiet);
    drop(rows_only);

    if only_log {
        return;
    }
    // 50 streams held open ~3 s each; RSS sampled while all are open.
    let mut open = Vec::new();
    for _ in 0..50 {
        let client = client.clone();
        let gw = gw.clone();
        let slow = slow.clone();
        open.push(tokio::spawn(async move {
            one(&client, &gw, &slow, &[("anthropic-version", "2023-06-01")]).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let busy_rss = rss_kib(pid);
    for t in open {
        t.await.unwrap();
    }
    println!(
        "bgw RSS: idle {:.1} MB, with 50 concurrent streams {:.1} MB",
        idle_rss as f64 / 1024.0,
        busy_rss as f64 / 1024.0
    );
}
