//! The request log writer: rows are built on the request path and written by a thread of
//! their own, so no response ever waits for the store.
//!
//! A request becomes a [`Pending`] when it arrives, gathers its target, attempts and timings,
//! and is handed over as [`Finished`]. A cutter thread prices it (the user's price overrides
//! over the catalog, re-read whenever the store's config changes) and cuts its body into the
//! pieces the store keeps once; a writer thread sends the rows to the store's owner in groups,
//! keeping each until the owner says it is on disk: an owner that dies takes nothing with it.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use super::chunker::{Chunker, Recent};
use crate::catalog::{Pricing, Usd};
use crate::govern::scope::Caller;
use crate::messages::{ApiError, Usage};
use crate::providers::Target;
use crate::store::logs::{Attempt, Entry, LogRow, LoggedError, RawContent, RequestId};
use crate::store::{Appended, Store, content};

/// Rows sent to the owner in one message at most. A full batch is committed at once (more
/// are waiting), so this bounds a commit, not the rate: that is set by how fast commits go.
const BATCH_ROWS: usize = 1_000;
/// Bytes of content sent in one message at most (a batch of long conversations).
const BATCH_BYTES: usize = 32 * 1024 * 1024;
/// Content waiting to be written at most; past it, rows go without their bodies (and say so)
/// rather than let a stalled store grow the gateway's memory.
const BACKLOG_BYTES: usize = 256 * 1024 * 1024;

/// How long the cutter waits for more requests once it has cut all it had: at 7,000
/// requests/s it holds ~15 bodies, and wakes 500 times a second rather than 7,000.
const CUT_PAUSE: Duration = Duration::from_millis(2);

/// How long the cutter keeps the prices it has when the store could not give the new ones.
const PRICING_RETRY: Duration = Duration::from_secs(1);

/// What the client got back, kept for the log.
#[derive(Debug, Default)]
pub enum Answer {
    #[default]
    None,
    /// A whole JSON body (an answer or an error).
    Json(Bytes),
    /// The SSE bytes of a stream, to be rebuilt into one message.
    Sse(Vec<u8>),
}

/// A request in flight, gathering what its row will say.
#[derive(Debug)]
pub struct Pending {
    id: RequestId,
    started: Instant,
    session: Option<String>,
    requested: String,
    provider: String,
    upstream_model: String,
    key: Option<String>,
    caller: Option<Caller>,
    /// The cost the request was charged to its budgets (the row says the same).
    charged: Option<Usd>,
    stream: bool,
    attempts: Vec<Attempt>,
    rule: Option<String>,
    rule_errors: Vec<String>,
    first_byte: Option<Duration>,
    /// The request body, when content is kept.
    request: Option<Bytes>,
    keep_content: bool,
}

impl Pending {
    /// A request that has just arrived with these headers.
    pub fn start(headers: &http::HeaderMap, keep_content: bool) -> Pending {
        Pending {
            id: RequestId::new(crate::store::now_ms()),
            started: Instant::now(),
            session: headers
                .get("x-claude-code-session-id")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(200).collect()),
            requested: String::new(),
            provider: String::new(),
            upstream_model: String::new(),
            key: None,
            caller: None,
            charged: None,
            stream: false,
            attempts: Vec::new(),
            rule: None,
            rule_errors: Vec::new(),
            first_byte: None,
            request: None,
            keep_content,
        }
    }

    /// The request's id (sent back as `x-bgw-request-id`).
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// Whether the answer's bytes are wanted.
    pub fn keeps_content(&self) -> bool {
        self.keep_content
    }

    /// The request comes from `caller`.
    pub fn caller(&mut self, caller: &Caller) {
        self.caller = (!caller.is_anonymous()).then(|| caller.clone());
    }

    /// Its budgets were charged `cost` (`None`: no budget counted it; the row prices it).
    pub fn charged(&mut self, cost: Option<Usd>) {
        self.charged = cost;
    }

    /// The body has been read.
    pub fn body(&mut self, body: &Bytes, requested: &str) {
        if self.keep_content {
            self.request = Some(body.clone());
        }
        self.requested = requested.to_owned();
        // Until routing says more, the row names what the address names.
        if let Ok((provider, model)) = crate::route::address_parts(requested) {
            self.provider = provider.to_owned();
            self.upstream_model = model.to_owned();
        }
    }

    /// Whether the answer is (to be) streamed.
    pub fn streamed(&mut self, stream: bool) {
        self.stream = stream;
    }

    /// The request was routed to `target`.
    pub fn routed(&mut self, target: &Target) {
        self.provider.replace_range(.., &target.provider);
        self.upstream_model.clone_from(&target.upstream_model);
        self.key.clone_from(&target.key_name);
    }

    /// The routing rule that chose the targets, and rules skipped because they failed.
    pub fn rule(&mut self, rule: Option<&str>, errors: &[String]) {
        self.rule = rule.map(str::to_owned);
        self.rule_errors = errors.to_vec();
    }

    /// One try of `target` ended: with the upstream's `status` (if it answered) and, when it
    /// did not give the answer, why.
    pub fn attempt(
        &mut self,
        target: &Target,
        status: Option<u16>,
        error: Option<String>,
        took: Duration,
    ) {
        self.attempts.push(Attempt {
            provider: target.provider.to_string(),
            model: target.upstream_model.clone(),
            key: target.key_name.clone(),
            status,
            error,
            duration_us: took.as_micros() as u64,
        });
    }

    /// The first byte of the answer is going out now (kept once).
    pub fn first_byte(&mut self) {
        if self.first_byte.is_none() {
            self.first_byte = Some(self.started.elapsed());
        }
    }

    /// The request is over: the client got `status` (and `error`, if it failed).
    pub fn finish(
        mut self,
        status: u16,
        error: Option<LoggedError>,
        usage: Usage,
        answer: Answer,
    ) -> Finished {
        self.first_byte();
        Finished {
            total: self.started.elapsed(),
            status,
            error,
            usage,
            answer: if self.keep_content {
                answer
            } else {
                Answer::None
            },
            pending: self,
        }
    }
}

impl From<&ApiError> for LoggedError {
    fn from(e: &ApiError) -> LoggedError {
        LoggedError {
            kind: e.kind.as_str().to_owned(),
            message: e.message.clone(),
        }
    }
}

/// A request that is over, waiting to be written.
#[derive(Debug)]
pub struct Finished {
    pending: Pending,
    total: Duration,
    status: u16,
    error: Option<LoggedError>,
    usage: Usage,
    answer: Answer,
}

impl Finished {
    /// The bytes of content it carries.
    fn content_len(&self) -> usize {
        let answer = match &self.answer {
            Answer::None => 0,
            Answer::Json(b) => b.len(),
            Answer::Sse(s) => s.len(),
        };
        self.pending.request.as_ref().map_or(0, Bytes::len) + answer
    }

    /// Lets go of the content (the row stays).
    fn drop_content(&mut self) {
        self.pending.request = None;
        self.answer = Answer::None;
    }

    /// The row and content to store (run on the cutter thread: pricing, cutting the body).
    fn into_entry(self, run: &str, pricing: &Pricing, chunker: &mut Chunker) -> Entry {
        let p = self.pending;
        let failed = self.status >= 400 || self.error.is_some();
        let cost = p
            .charged
            .or_else(|| pricing.cost(&p.provider, &p.upstream_model, &self.usage));
        // Nothing was billed for a request refused before any token: that is $0, not unknown.
        let cost = cost.map(|c| c.0).or_else(|| {
            (failed && self.usage.total_input() + self.usage.output_tokens == 0).then_some(0.0)
        });
        let cut = p.request.map(|body| chunker.cut(body));
        let content = cut.as_ref().map(|cut| {
            let (response, response_is_sse) = match &self.answer {
                Answer::None => (&[][..], false),
                Answer::Json(b) => (&b[..], false),
                Answer::Sse(sse) => (&sse[..], true),
            };
            RawContent::new(chunker.recipe(cut), response, response_is_sse)
        });
        Entry {
            row: LogRow {
                id: p.id,
                run: run.to_owned(),
                session: p.session,
                caller: p.caller,
                requested_model: p.requested,
                provider: p.provider,
                upstream_model: p.upstream_model,
                key: p.key,
                status: self.status,
                error: self.error,
                stream: p.stream,
                usage: self.usage,
                cost,
                first_byte_us: p.first_byte.map(|d| d.as_micros() as u64),
                total_us: self.total.as_micros() as u64,
                attempts: p.attempts,
                rule: p.rule,
                rule_errors: p.rule_errors,
                has_content: content.is_some(),
            },
            content,
        }
    }
}

/// Counts of rows handed over and rows on disk, for [`RequestLog::flush`].
#[derive(Default)]
struct Progress {
    written: Mutex<u64>,
    changed: Condvar,
    /// Someone waits in [`RequestLog::flush`]: the owner should commit at once.
    hurry: AtomicBool,
}

/// The request log of one gateway process.
pub struct RequestLog {
    run: Arc<str>,
    tx: Sender<Finished>,
    queued: AtomicU64,
    /// Bytes of content handed over and not yet written.
    backlog: Arc<AtomicUsize>,
    progress: Arc<Progress>,
    content: AtomicBool,
    /// The last error writing rows, for the end-of-session line.
    trouble: Arc<Mutex<Option<String>>>,
}

impl RequestLog {
    /// A log writing to `store` through a connection of its own; `content` keeps bodies.
    pub fn start(store: &Store, content: bool) -> RequestLog {
        let mut run = [0u8; 8];
        let _ = getrandom::fill(&mut run);
        let run: Arc<str> = format!(
            "{}-{}",
            std::process::id(),
            run.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
        .into();
        let (tx, rx) = mpsc::channel();
        let progress = Arc::new(Progress::default());
        let trouble = Arc::new(Mutex::new(None));
        let backlog = Arc::new(AtomicUsize::new(0));
        // Set by the store's config watcher (a price set or removed); the writer then re-reads
        // the prices before it prices its next rows. True at first: read them once at start.
        let prices_changed = Arc::new(AtomicBool::new(true));
        let flag: Weak<AtomicBool> = Arc::downgrade(&prices_changed);
        store.watch_config(move |_| match flag.upgrade() {
            Some(changed) => {
                changed.store(true, Ordering::Release);
                true
            }
            // The writer is gone: stop watching.
            None => false,
        });
        let chunker = Chunker::default();
        let forget = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            recent: chunker.recent(),
            forget: Arc::clone(&forget),
            backlog: Arc::clone(&backlog),
            store: store.detached(),
            progress: Arc::clone(&progress),
            trouble: Arc::clone(&trouble),
        };
        let cutter = Cutter {
            store: store.detached(),
            chunker,
            pricing: Pricing::builtin(),
            prices_changed,
            pricing_retry: None,
            forget,
            run: Arc::clone(&run),
        };
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || cutter.run(&rx, &ready_tx));
        std::thread::spawn(move || writer.run(&ready_rx));
        RequestLog {
            run,
            tx,
            queued: AtomicU64::new(0),
            backlog,
            progress,
            content: AtomicBool::new(content),
            trouble,
        }
    }

    /// This gateway's run id (every row it writes carries it).
    pub fn run(&self) -> &str {
        &self.run
    }

    /// Whether request and response bodies are kept now.
    pub fn keeps_content(&self) -> bool {
        self.content.load(Ordering::Relaxed)
    }

    /// Turns keeping bodies on or off (a stored setting changed).
    pub fn set_content(&self, keep: bool) {
        self.content.store(keep, Ordering::Relaxed);
    }

    /// Hands a finished request to the cutter; never waits.
    pub fn submit(&self, mut finished: Finished) {
        let size = finished.content_len();
        if self.backlog.load(Ordering::Relaxed) + size > BACKLOG_BYTES {
            finished.drop_content();
        } else {
            self.backlog.fetch_add(size, Ordering::Relaxed);
        }
        if self.tx.send(finished).is_ok() {
            self.queued.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Waits up to `limit` for every submitted row to be on disk; the rows still waiting.
    pub fn flush(&self, limit: Duration) -> u64 {
        let queued = self.queued.load(Ordering::Acquire);
        let deadline = Instant::now() + limit;
        let Ok(mut written) = self.progress.written.lock() else {
            return queued;
        };
        self.progress.hurry.store(true, Ordering::Relaxed);
        while *written < queued {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.progress.changed.wait_timeout(written, left) {
                Ok((w, _)) => written = w,
                Err(_) => return queued,
            }
        }
        self.progress.hurry.store(false, Ordering::Relaxed);
        queued.saturating_sub(*written)
    }

    /// Why rows could not be written lately, if they could not.
    pub fn trouble(&self) -> Option<String> {
        self.trouble.lock().ok().and_then(|t| t.clone())
    }
}

/// A row made ready to write, with the bytes of content it holds in the backlog.
struct Ready {
    entry: Entry,
    queued: usize,
}

/// Turns finished requests into rows as they come (pricing them, cutting their bodies), so a
/// body is let go of at once rather than when its row is on disk: held for a commit, bodies
/// pinned ~100 MB of a busy gateway's memory and made its allocator fault in fresh pages.
struct Cutter {
    /// Read for the price overrides.
    store: Store,
    /// Which chunks of request bodies the store holds.
    chunker: Chunker,
    /// The prices rows are costed at.
    pricing: Pricing,
    prices_changed: Arc<AtomicBool>,
    /// When to ask for the prices again after the store could not answer (not per request).
    pricing_retry: Option<Instant>,
    /// Set by the writer when the store lacked chunks named by hash: send their bytes again.
    forget: Arc<AtomicBool>,
    run: Arc<str>,
}

impl Cutter {
    fn run(mut self, rx: &Receiver<Finished>, tx: &Sender<Ready>) {
        self.refresh_pricing();
        while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            // Under load, a pause between rounds rather than a wake-up for each request:
            // waking this thread for every one cost the request path more than cutting.
            while let Some(finished) = next {
                self.cut(finished, tx);
                next = rx.try_recv().ok().or_else(|| {
                    std::thread::sleep(CUT_PAUSE);
                    rx.try_recv().ok()
                });
            }
        }
    }

    /// Makes `finished` a row and hands it to the writer.
    fn cut(&mut self, finished: Finished, tx: &Sender<Ready>) {
        self.refresh_pricing();
        if self.forget.swap(false, Ordering::AcqRel) {
            self.chunker.forget();
        }
        let queued = finished.content_len();
        let entry = finished.into_entry(&self.run, &self.pricing, &mut self.chunker);
        // The writer is gone only when the log is: nothing is left to write to.
        let _ = tx.send(Ready { entry, queued });
    }

    /// Re-reads the price overrides if they may have changed; keeps the ones it has (and
    /// tries again a second later) when the store cannot answer.
    fn refresh_pricing(&mut self) {
        if self.pricing_retry.is_some_and(|at| Instant::now() < at) {
            return;
        }
        if self.prices_changed.swap(false, Ordering::AcqRel) {
            match self.store.pricing() {
                Ok(pricing) => {
                    self.pricing = pricing;
                    self.pricing_retry = None;
                }
                Err(_) => {
                    self.prices_changed.store(true, Ordering::Release);
                    self.pricing_retry = Some(Instant::now() + PRICING_RETRY);
                }
            }
        }
    }
}

/// Sends rows to the store's owner in groups, keeping each until the owner says it is on disk.
struct Writer {
    store: Store,
    /// The bodies cut last, where pieces the store turned down are found again.
    recent: Recent,
    forget: Arc<AtomicBool>,
    backlog: Arc<AtomicUsize>,
    progress: Arc<Progress>,
    trouble: Arc<Mutex<Option<String>>>,
}

impl Writer {
    fn run(mut self, rx: &Receiver<Ready>) {
        while let Ok(first) = rx.recv() {
            let mut queued = first.queued;
            let mut batch = vec![first.entry];
            while batch.len() < BATCH_ROWS && queued < BATCH_BYTES {
                let Ok(next) = rx.try_recv() else {
                    break;
                };
                queued += next.queued;
                batch.push(next.entry);
            }
            // A full batch means more rows wait behind it: gathering more from elsewhere
            // would only let them pile up (one batch is in flight per gateway).
            let full = batch.len() >= BATCH_ROWS || queued >= BATCH_BYTES;
            self.write(&mut batch, full);
            self.backlog.fetch_sub(
                queued.min(self.backlog.load(Ordering::Relaxed)),
                Ordering::Relaxed,
            );
        }
    }

    /// Writes `batch`, trying again (the next owner) until it is on disk.
    fn write(&mut self, batch: &mut [Entry], full: bool) {
        let mut pause = Duration::from_millis(50);
        loop {
            let result = if full || self.progress.hurry.load(Ordering::Relaxed) {
                self.store.append(batch)
            } else {
                self.store.append_grouped(batch)
            };
            match result {
                Ok(Appended::Written) => break,
                // The store lost chunks this gateway named by hash (it was replaced): from now
                // on their bytes go again, and this batch takes them from the recent bodies.
                Ok(Appended::SendChunks) => {
                    self.forget.store(true, Ordering::Release);
                    self.send_all_bytes(batch);
                }
                Err(e) => {
                    if let Ok(mut t) = self.trouble.lock() {
                        *t = Some(e.to_string());
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        }
        if let Ok(mut t) = self.trouble.lock() {
            *t = None;
        }
        if let Ok(mut w) = self.progress.written.lock() {
            *w += batch.len() as u64;
        }
        self.progress.changed.notify_all();
    }

    /// Puts the bytes of every chunk into each row's recipe, taken from the rows before it in
    /// the batch or from the bodies cut last. A row whose piece neither holds keeps its row
    /// and loses its content: the store that held the piece is gone.
    fn send_all_bytes(&self, batch: &mut [Entry]) {
        let mut carried = HashMap::new();
        for entry in batch {
            let Some(c) = &mut entry.content else {
                continue;
            };
            let find = |hash, len| self.recent.find(hash, len);
            match content::with_all_bytes(&c.request, &mut carried, find) {
                Some(recipe) => c.request = recipe,
                None => {
                    entry.content = None;
                    entry.row.has_content = false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Price;
    use crate::store::PriceOverride;
    use crate::store::logs::LogQuery;

    fn override_of(model: &str, input: f64) -> PriceOverride {
        PriceOverride {
            provider: "openai".into(),
            model: model.into(),
            price: Price {
                cache_write_1h: None,
                input,
                output: 0.0,
                cache_read: None,
                cache_write: None,
            },
            note: None,
            set_at: 0,
        }
    }

    /// Logs one request for `model` with 1,000 input tokens; the cost its row got.
    fn logged_cost(log: &RequestLog, store: &Store, model: &str) -> Option<f64> {
        let mut pending = Pending::start(&http::HeaderMap::new(), false);
        pending.body(&Bytes::from_static(b"{}"), model);
        let id = pending.id();
        let usage = Usage {
            input_tokens: 1_000,
            ..Usage::default()
        };
        log.submit(pending.finish(200, None, usage, Answer::None));
        assert_eq!(log.flush(Duration::from_secs(5)), 0);
        let rows = store.logs(&LogQuery::default()).unwrap();
        rows.into_iter().find(|r| r.id == id).unwrap().cost
    }

    #[test]
    fn rows_are_priced_with_the_overrides_in_force() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        // Set before the log starts: read at start.
        store.set_price(&override_of("house-1", 2.0)).unwrap();
        let log = RequestLog::start(&store, false);
        assert_eq!(logged_cost(&log, &store, "openai/house-1"), Some(0.002));
        assert_eq!(logged_cost(&log, &store, "openai/house-2"), None);
        // Set while it runs: the watcher tells the writer, which re-reads them.
        store.set_price(&override_of("house-2", 5.0)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match logged_cost(&log, &store, "openai/house-2") {
                Some(c) => {
                    assert!((c - 0.005).abs() < 1e-12, "{c}");
                    break;
                }
                None => assert!(Instant::now() < deadline, "the new price never arrived"),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // An override wins over the catalog (gpt-4o lists $2.50 per million input tokens).
        assert_eq!(logged_cost(&log, &store, "openai/gpt-4o"), Some(0.0025));
        store.set_price(&override_of("gpt-4o", 1.0)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while logged_cost(&log, &store, "openai/gpt-4o") != Some(0.001) {
            assert!(Instant::now() < deadline, "the override never won");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Logs a request with `body` and content kept; its id once it is on disk.
    fn logged(log: &RequestLog, body: &Bytes) -> RequestId {
        let mut pending = Pending::start(&http::HeaderMap::new(), true);
        pending.body(body, "openai/gpt-5");
        let id = pending.id();
        let answer = Answer::Json(Bytes::from_static(b"{\"ok\":true}"));
        log.submit(pending.finish(200, None, Usage::default(), answer));
        assert_eq!(log.flush(Duration::from_secs(10)), 0, "{:?}", log.trouble());
        id
    }

    #[test]
    fn a_store_that_lost_the_pieces_a_gateway_sent_before_gets_them_again() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = Store::new(&data);
        let log = RequestLog::start(&store, true);
        let tools = format!(r#"[{{"name":"Read","description":"{}"}}]"#, "r".repeat(500));
        let body = |text: &str| {
            Bytes::from(format!(
                r#"{{"model":"openai/gpt-5","messages":[{{"role":"user","content":"{text}"}}],"tools":{tools}}}"#
            ))
        };
        logged(&log, &body("first"));
        // The data dir goes (its owner leaves with it); the gateway still thinks the store
        // holds the tools, and names them without their bytes.
        std::fs::remove_dir_all(&data).unwrap();
        // The owner looks for its socket every 100 ms.
        std::thread::sleep(Duration::from_millis(500));
        let second = body("second");
        let id = logged(&log, &second);
        let content = store.log_content(id).unwrap().unwrap();
        assert_eq!(content.request.as_bytes(), &second[..]);
        assert_eq!(content.response, "{\"ok\":true}");
    }
}
