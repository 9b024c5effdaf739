//! The process that holds the store file and serves every other bgw process over `bgw.sock`.
//!
//! redb lets one process open the file, and many bgw processes run at once (a `bgw run` per
//! terminal, `bgw logs -f` in another). So the first that needs the store starts an owner;
//! the owner keeps the file while anyone is connected and a little after, then leaves; if it
//! dies, the next client to notice starts another. Log rows from every gateway go through
//! one writer thread that commits them in groups, one fsync per group, and only then answers,
//! so a client keeps a row until it is on disk and sends it again to the next owner.

use redb::ReadableDatabase;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::content::{ChunkMemo, ChunkWrites};
use super::file::{File, Opened};
use super::ledger::{Charge, Ledger};
use super::logs::{self, Incoming, LogRow};
use super::settings::Settings;
use super::stats::Fold;
use super::wire::{self, Event, PROTOCOL, Reply, Request};
use super::{SOCKET_NAME, StoreError, db_err};

/// How long an owner stays after its last client leaves.
pub const IDLE: Duration = Duration::from_secs(3);
/// How long a new owner waits for a leaving one to let go of the file.
const TAKEOVER_WAIT: Duration = Duration::from_secs(10);
/// How often old rows are looked for.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Rows deleted per transaction while pruning, so appends wait at most one small commit.
const PRUNE_BATCH: usize = 2_000;
/// How long the writer gathers appends into one commit. Each gateway's writer has one append
/// in flight and gathers rows while it waits, so the window sets the rows per commit. Rows
/// and chunks are keyed in time order, so a commit rewrites few pages and a short window costs
/// little; a long one makes gateways hold more finished requests (their bodies) in memory.
const GROUP_WINDOW: Duration = Duration::from_millis(50);
/// The window while someone follows the log (`bgw logs -f`): rows should look live.
const LIVE_WINDOW: Duration = Duration::from_millis(50);
/// Rows that make a commit go at once.
const GROUP_ROWS: usize = 2_000;
/// How long a config change waits for the gateways to apply it: a gateway that does not
/// answer (stopped in a debugger) must not hold up `bgw` for long.
const ACK_WAIT: Duration = Duration::from_secs(2);

/// An append (of log rows, or of budget charges) waiting for its commit.
struct Job {
    entries: Vec<Incoming>,
    /// Budget charges of the gateway `holder`, sent on its link `link`, committed with the rows.
    charges: Vec<Charge>,
    holder: u64,
    link: u64,
    /// Someone waits on this answer: commit without waiting for more.
    now: bool,
    /// Whether the rows were written (false: their recipes name chunks the store does not
    /// hold, and the sender must send their bytes), or why the commit failed.
    done: Sender<Result<bool, String>>,
}

struct Shared {
    file: File,
    ledger: Ledger,
    jobs: Mutex<Option<Sender<Job>>>,
    /// Each watcher, and whether it wants rows (gateways want only config changes).
    watchers: Mutex<Vec<(Sender<Event>, bool)>>,
    /// The number of the last config change.
    config_seq: std::sync::atomic::AtomicU64,
    /// Watchers that acknowledge config changes: the last change each has acted on.
    acks: Mutex<std::collections::HashMap<u64, u64>>,
    acked: std::sync::Condvar,
    connections: AtomicUsize,
    last_activity: Mutex<Instant>,
    retire: AtomicBool,
    stopping: AtomicBool,
}

impl Shared {
    fn touch(&self) {
        if let Ok(mut t) = self.last_activity.lock() {
            *t = Instant::now();
        }
    }

    fn idle_for(&self) -> Duration {
        self.last_activity
            .lock()
            .map(|t| t.elapsed())
            .unwrap_or_default()
    }

    fn broadcast(&self, event: &Event) {
        let rows = matches!(event, Event::Rows(_));
        if let Ok(mut w) = self.watchers.lock() {
            w.retain(|(tx, wants_rows)| (rows && !wants_rows) || tx.send(event.clone()).is_ok());
        }
    }

    /// Tells every watcher the config changed, then waits (a moment at most) until each
    /// watcher that acknowledges has acted on it.
    fn config_changed(&self) {
        let seq = self.config_seq.fetch_add(1, Ordering::AcqRel) + 1;
        self.broadcast(&Event::Config(seq));
        let deadline = Instant::now() + ACK_WAIT;
        let Ok(mut acks) = self.acks.lock() else {
            return;
        };
        while acks.values().any(|&a| a < seq) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            acks = match self.acked.wait_timeout(acks, left) {
                Ok((a, _)) => a,
                Err(_) => return,
            };
        }
    }

    fn anyone_wants_rows(&self) -> bool {
        self.watchers
            .lock()
            .is_ok_and(|w| w.iter().any(|(_, wants_rows)| *wants_rows))
    }
}

/// Listens at `socket`, reachable by this user alone from its first moment: bound inside a
/// fresh directory only this user may enter, made 0600 there, then moved into place (std has
/// no umask to set around `bind`, and the data dir may be someone's looser one). Fails with a
/// clear error when the mode cannot be set.
fn bind_private(socket: &Path) -> Result<UnixListener, StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    let fail = |what: &str, e: std::io::Error| StoreError::Open {
        path: socket.to_owned(),
        message: format!("{what}: {e}"),
    };
    let dir = socket.with_file_name(format!(".socket-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| fail("cannot make a private place for the socket", e))?;
    let staged = dir.join("s");
    let bound = UnixListener::bind(&staged)
        .map_err(|e| fail("cannot listen", e))
        .and_then(|listener| {
            std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| fail("cannot make the socket private (mode 600)", e))?;
            std::fs::rename(&staged, socket)
                .map_err(|e| fail("cannot put the socket in place", e))?;
            Ok(listener)
        });
    let _ = std::fs::remove_dir_all(&dir);
    bound
}

/// Owns the store in `dir` until no client has been connected for `idle`. Returns `Ok(false)`
/// without doing anything when another live process owns it already.
pub fn run(dir: &Path, idle: Duration) -> Result<bool, StoreError> {
    let socket = dir.join(SOCKET_NAME);
    let started = Instant::now();
    let file = loop {
        match File::open(dir)? {
            Opened::Mine(f) => break f,
            Opened::Taken if UnixStream::connect(&socket).is_ok() => return Ok(false),
            // The owner is leaving (or was killed a moment ago and the lock is not yet free).
            Opened::Taken if started.elapsed() < TAKEOVER_WAIT => {
                thread::sleep(Duration::from_millis(20))
            }
            Opened::Taken => {
                return Err(StoreError::Busy {
                    path: dir.join(super::file::FILE_NAME),
                });
            }
        }
    };
    // Holding the file, this process is the only owner: a socket left here is a dead one's.
    let _ = std::fs::remove_file(&socket);
    let listener = bind_private(&socket)?;
    let inode = std::fs::metadata(&socket).map(|m| m.ino()).ok();

    let (jobs_tx, jobs_rx) = mpsc::channel();
    let ledger = Ledger::load(&file)?;
    let shared = Arc::new(Shared {
        file,
        ledger,
        jobs: Mutex::new(Some(jobs_tx)),
        watchers: Mutex::new(Vec::new()),
        config_seq: std::sync::atomic::AtomicU64::new(0),
        acks: Mutex::new(std::collections::HashMap::new()),
        acked: std::sync::Condvar::new(),
        connections: AtomicUsize::new(0),
        last_activity: Mutex::new(Instant::now()),
        retire: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
    });
    let writer = {
        let shared = Arc::clone(&shared);
        thread::spawn(move || write_loop(&shared, &jobs_rx))
    };
    let acceptor = {
        // Weak: an acceptor that cannot be woken (its socket file is gone) must not keep the
        // store file open.
        let shared = Arc::downgrade(&shared);
        thread::spawn(move || accept_loop(&shared, &listener))
    };

    loop {
        thread::sleep(Duration::from_millis(100));
        if shared.retire.load(Ordering::Acquire) {
            break;
        }
        // The data dir was removed or another owner replaced the socket: nobody can reach us.
        if std::fs::metadata(&socket).map(|m| m.ino()).ok() != inode {
            break;
        }
        if shared.connections.load(Ordering::Acquire) == 0 && shared.idle_for() >= idle {
            break;
        }
    }

    shared.stopping.store(true, Ordering::Release);
    // Wake the acceptor, then make the socket disappear, so new clients start a new owner.
    // When the socket file is gone (the data dir was removed) nothing can wake it; it stays
    // blocked, holding only the listener, until the process ends.
    let woken = UnixStream::connect(&socket).is_ok();
    if std::fs::metadata(&socket).map(|m| m.ino()).ok() == inode {
        let _ = std::fs::remove_file(&socket);
    }
    if woken {
        let _ = acceptor.join();
    }
    // Commit whatever is queued; then the file is closed with the last reference.
    if let Ok(mut jobs) = shared.jobs.lock() {
        jobs.take();
    }
    let _ = writer.join();
    Ok(true)
}

fn accept_loop(shared: &std::sync::Weak<Shared>, listener: &UnixListener) {
    for stream in listener.incoming() {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        let Ok(stream) = stream else {
            thread::sleep(Duration::from_millis(20));
            continue;
        };
        shared.connections.fetch_add(1, Ordering::AcqRel);
        shared.touch();
        thread::spawn(move || {
            serve_connection(&shared, &stream);
            shared.connections.fetch_sub(1, Ordering::AcqRel);
            shared.touch();
        });
    }
}

fn serve_connection(shared: &Shared, stream: &UnixStream) {
    let mut holder = None;
    let link = next_connection_id();
    serve_requests(shared, stream, link, &mut holder);
    // A gateway's ledger link closed (it ended, or was killed): what it held is free again.
    if let Some(h) = holder {
        shared.ledger.forget(h, link);
    }
}

fn serve_requests(shared: &Shared, stream: &UnixStream, link: u64, holder: &mut Option<u64>) {
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, stream);
    let mut writer = stream;
    loop {
        let (request, blobs): (Request, _) = match wire::receive_with(&mut reader) {
            Ok(Some(r)) => r,
            _ => return,
        };
        // A leaving owner hangs up rather than answer: the client sends the request again to
        // the next owner (every request is safe to repeat), instead of hearing "closing" for
        // as long as this process lives.
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        shared.touch();
        if let Request::Watch { rows, acks } = request {
            watch(shared, stream, rows, acks);
            return;
        }
        if let Request::Register { holder: h, .. } = &request {
            *holder = Some(*h);
        }
        let reply =
            answer(shared, request, blobs, link).unwrap_or_else(|e| Reply::Failed(e.to_string()));
        if wire::send(&mut writer, &reply).is_err() {
            return;
        }
    }
}

/// Answers one request that came on connection `link`.
fn answer(
    shared: &Shared,
    request: Request,
    blobs: Vec<bytes::Bytes>,
    link: u64,
) -> Result<Reply, StoreError> {
    let file = &shared.file;
    Ok(match request {
        Request::Hello { .. } => Reply::Welcome {
            protocol: PROTOCOL,
            schema: file.schema_version()?,
        },
        Request::List { table } => Reply::Rows(file.list(&table)?),
        Request::Get { table, key } => Reply::Value(file.get(&table, &key)?),
        Request::Put {
            table,
            key,
            value,
            if_absent,
        } => {
            let wrote = file.put(&table, &key, &value, if_absent)?;
            if wrote {
                config_changed(shared, &table);
            }
            Reply::Done(wrote)
        }
        Request::Remove { table, key } => {
            let existed = file.remove(&table, &key)?;
            if existed {
                config_changed(shared, &table);
            }
            Reply::Done(existed)
        }
        Request::Swap {
            table,
            key,
            expected,
            value,
        } => {
            let swapped = file.swap(&table, &key, expected.as_deref(), value.as_deref())?;
            if swapped {
                config_changed(shared, &table);
            }
            Reply::Done(swapped)
        }
        Request::Register { holder, holds } => {
            shared.ledger.register(holder, link, &holds);
            Reply::Done(true)
        }
        Request::Grant { holder, asks } => {
            let grants = shared.ledger.grant(file, holder, link, &asks, |recall| {
                shared.broadcast(&Event::Recall {
                    accounts: recall.accounts,
                    from: recall.from,
                    epoch: recall.epoch,
                });
            })?;
            // What the gateway now holds is on disk before it hears of it.
            match commit(shared, Vec::new(), Vec::new(), holder, link, true)? {
                Reply::Done(_) => Reply::Grants(grants),
                other => other,
            }
        }
        Request::Release {
            holder,
            epoch,
            returns,
        } => {
            let on_link = epoch.is_none().then_some(link);
            shared.ledger.release(holder, on_link, epoch, &returns);
            Reply::Done(true)
        }
        Request::Accounts { accounts } => Reply::Accounts(shared.ledger.states(&accounts)),
        Request::Charge { holder, charges } => {
            commit(shared, Vec::new(), charges, holder, link, true)?
        }
        Request::Append { entries, now } => {
            let entries = wire::entries(entries, blobs).map_err(db_err)?;
            commit(shared, entries, Vec::new(), 0, link, now)?
        }
        Request::Query { query } => {
            let tx = file.db.begin_read().map_err(db_err)?;
            let mut rows = Vec::new();
            logs::scan(&tx, &query, |row| {
                rows.push(row);
                true
            })?;
            Reply::Logs(rows)
        }
        Request::Content { id } => {
            let tx = file.db.begin_read().map_err(db_err)?;
            Reply::Content(logs::content(&tx, id)?)
        }
        Request::IdsWithPrefix { prefix } => {
            let tx = file.db.begin_read().map_err(db_err)?;
            Reply::Ids(logs::ids_with_prefix(&tx, &prefix, 10)?)
        }
        Request::Stats { query, by } => {
            let tx = file.db.begin_read().map_err(db_err)?;
            let mut fold = Fold::new(by);
            logs::scan(&tx, &query, |row| {
                fold.add(&row);
                true
            })?;
            Reply::Stats(fold.finish())
        }
        Request::Retire => {
            shared.retire.store(true, Ordering::Release);
            Reply::Done(true)
        }
        // Handled by the caller: it changes what the connection is.
        Request::Watch { .. } => Reply::Done(false),
    })
}

/// A config table changed: the ledger reads budgets again, and every watcher is told.
fn config_changed(shared: &Shared, table: &str) {
    if table == "budgets" {
        shared.ledger.budgets_changed();
    }
    shared.config_changed();
}

/// Hands rows and charges to the writer and waits for their commit.
fn commit(
    shared: &Shared,
    entries: Vec<Incoming>,
    charges: Vec<Charge>,
    holder: u64,
    link: u64,
    now: bool,
) -> Result<Reply, StoreError> {
    let (done, result) = mpsc::channel();
    let job = Job {
        entries,
        charges,
        holder,
        link,
        now,
        done,
    };
    let sent = shared
        .jobs
        .lock()
        .ok()
        .and_then(|j| j.as_ref().map(|tx| tx.send(job).is_ok()));
    if sent != Some(true) {
        return Err(StoreError::Db("the store is closing; try again".into()));
    }
    Ok(match result.recv() {
        Ok(Ok(written)) => Reply::Done(written),
        Ok(Err(e)) => Reply::Failed(e),
        Err(_) => Reply::Failed("the store's writer stopped".into()),
    })
}

/// Sends events on `stream` until the client goes away; with `acks`, reads its
/// acknowledgements of config changes on a thread of their own.
fn watch(shared: &Shared, stream: &UnixStream, rows: bool, acks: bool) {
    let (tx, rx) = mpsc::channel();
    if let Ok(mut w) = shared.watchers.lock() {
        w.push((tx, rows));
    }
    let gone = Arc::new(AtomicBool::new(false));
    let reader = if acks {
        match stream.try_clone() {
            Ok(theirs) => {
                let id = next_watcher_id();
                // It has read the config as it was when it started watching.
                let now = shared.config_seq.load(Ordering::Acquire);
                if let Ok(mut a) = shared.acks.lock() {
                    a.insert(id, now);
                }
                let gone = Arc::clone(&gone);
                Some((id, move |shared: &Shared| {
                    while let Ok(Some(ack)) = wire::receive::<wire::Ack>(&mut &theirs) {
                        if let Ok(mut a) = shared.acks.lock() {
                            a.insert(id, ack.config);
                        }
                        shared.acked.notify_all();
                    }
                    gone.store(true, Ordering::Release);
                }))
            }
            Err(_) => return,
        }
    } else {
        None
    };
    let mut writer = stream;
    if wire::send(&mut writer, &Reply::Done(true)).is_err() {
        return;
    }
    std::thread::scope(|scope| {
        let acker = reader.map(|(id, read)| (id, scope.spawn(move || read(shared))));
        loop {
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(event) => {
                    if wire::send(&mut writer, &event).is_err() {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    // An acking watcher's own reader sees it leave; others never write.
                    let closed = if acker.is_some() {
                        gone.load(Ordering::Acquire)
                    } else {
                        peer_closed(stream)
                    };
                    if closed || shared.stopping.load(Ordering::Acquire) {
                        break;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Some((id, _)) = acker {
            // Its acknowledgements are no longer waited for; the reader ends with the socket.
            if let Ok(mut a) = shared.acks.lock() {
                a.remove(&id);
            }
            shared.acked.notify_all();
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    });
}

/// A number for each watcher that acknowledges, unique in this process.
fn next_watcher_id() -> u64 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed) as u64
}

/// A number for each connection, unique in this process: a gateway's ledger link is known by it.
fn next_connection_id() -> u64 {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed) as u64
}

/// Whether the other end hung up (a watcher never writes, so any read is end of file).
fn peer_closed(stream: &UnixStream) -> bool {
    use std::io::Read;
    if stream
        .set_read_timeout(Some(Duration::from_millis(1)))
        .is_err()
    {
        return true;
    }
    let mut byte = [0u8; 1];
    let mut reader = stream;
    let closed = match reader.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
        ),
    };
    let _ = stream.set_read_timeout(None);
    closed
}

/// Commits appends in groups (one fsync for all the rows waiting), answers each, tells the
/// watchers, and prunes old rows now and then.
fn write_loop(shared: &Shared, jobs: &Receiver<Job>) {
    // Unread, senders are asked for each chunk's bytes once more.
    let mut memo = ChunkMemo::load(&shared.file.db).unwrap_or_default();
    let mut last_prune: Option<Instant> = None;
    let mut pruning = false;
    loop {
        if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(Instant::now());
            pruning = true;
        }
        let wait = if pruning {
            Duration::ZERO
        } else {
            Duration::from_secs(1)
        };
        let mut group = Vec::new();
        let mut closing = false;
        match jobs.recv_timeout(wait) {
            Ok(job) => group.push(job),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                let _ = flush_held(shared);
                return;
            }
        }
        // Wait a moment for more: a commit costs the same for 1 row as for 500 (the pages of
        // each table's path, one fsync), and nobody waits on the answer but a writer thread.
        let window = Instant::now()
            + if shared.anyone_wants_rows() {
                LIVE_WINDOW
            } else {
                GROUP_WINDOW
            };
        let mut rows: usize = group.iter().map(|j| j.entries.len()).sum();
        let mut now = group.iter().any(|j| j.now);
        while !group.is_empty() && rows < GROUP_ROWS && !now {
            let left = window.saturating_duration_since(Instant::now());
            match jobs.recv_timeout(left) {
                Ok(job) => {
                    rows += job.entries.len();
                    now |= job.now;
                    group.push(job);
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    closing = true;
                    break;
                }
            }
        }
        if !group.is_empty() {
            commit_group(shared, &mut memo, group);
            if closing {
                let _ = flush_held(shared);
                return;
            }
        } else if pruning {
            pruning = prune_some(shared, &mut memo).unwrap_or(false);
            // The request log's rows first (as before), then the ledger's old ids.
            if !pruning {
                let _ = prune_ledger(shared);
            }
        }
    }
}

fn commit_group(shared: &Shared, memo: &mut ChunkMemo, group: Vec<Job>) {
    let result = (|| -> Result<Vec<Result<bool, String>>, StoreError> {
        let tx = shared.file.db.begin_write().map_err(db_err)?;
        let mut chunks = ChunkWrites::open(&tx, super::now_ms())?;
        let mut outcomes = Vec::with_capacity(group.len());
        let mut fresh = Vec::with_capacity(group.len());
        for job in &group {
            fresh.push(super::ledger::write_charges(&tx, &job.charges)?);
            let recipes = job
                .entries
                .iter()
                .filter_map(|e| e.content.as_ref().map(|c| &c.request[..]));
            outcomes.push(if chunks.holds_all(memo, recipes) {
                logs::insert(&tx, &mut chunks, memo, &job.entries)?.map(|()| true)
            } else {
                Ok(false)
            });
        }
        let changed = chunks.finish()?;
        let held = shared.ledger.write_held(&tx)?;
        if let Err(e) = tx.commit() {
            shared.ledger.unwritten(held);
            return Err(db_err(e));
        }
        memo.learn(changed);
        for (job, fresh) in group.iter().zip(&fresh) {
            shared
                .ledger
                .charged(job.holder, job.link, &job.charges, fresh);
        }
        Ok(outcomes)
    })();
    let committed = result.is_ok();
    let outcomes = result.unwrap_or_else(|e| vec![Err(e.to_string()); group.len()]);
    for (job, outcome) in group.iter().zip(&outcomes) {
        let _ = job.done.send(outcome.clone());
    }
    // Rows go only to those following the log (`bgw logs -f`), copied only when there are any.
    if committed && shared.anyone_wants_rows() {
        let rows: Vec<LogRow> = group
            .into_iter()
            .zip(outcomes)
            .filter(|(_, w)| *w == Ok(true))
            .flat_map(|(j, _)| j.entries)
            .filter_map(|e| serde_json::from_slice(&e.row).ok())
            .collect();
        shared.broadcast(&Event::Rows(rows));
    }
}

/// Deletes one batch of rows older than the retention, or once they are gone, of chunks no
/// row uses any more; says whether more may be left.
fn prune_some(shared: &Shared, memo: &mut ChunkMemo) -> Result<bool, StoreError> {
    let settings = Settings::read(&shared.file)?;
    let Some(days) = settings.retention_days else {
        return Ok(false);
    };
    let now_ms = super::now_ms();
    let before = now_ms.saturating_sub(u64::from(days) * 86_400_000);
    let tx = shared.file.db.begin_write().map_err(db_err)?;
    let mut removed = logs::prune(&tx, before, PRUNE_BATCH)?;
    if removed < PRUNE_BATCH {
        removed += super::content::prune(&tx, memo, before, PRUNE_BATCH - removed)?;
    }
    tx.commit().map_err(db_err)?;
    Ok(removed == PRUNE_BATCH)
}

/// Forgets charged request ids older than a week and accounts of short periods long over.
fn prune_ledger(shared: &Shared) -> Result<(), StoreError> {
    let now_ms = super::now_ms();
    loop {
        let tx = shared.file.db.begin_write().map_err(db_err)?;
        let removed = super::ledger::prune(&tx, now_ms)?;
        tx.commit().map_err(db_err)?;
        if removed < super::ledger::PRUNE_IDS {
            break;
        }
    }
    shared.ledger.pruned(now_ms);
    Ok(())
}

/// Writes what gateways hold as it is now (an owner leaving: the next one starts from it).
fn flush_held(shared: &Shared) -> Result<(), StoreError> {
    let tx = shared.file.db.begin_write().map_err(db_err)?;
    let held = shared.ledger.write_held(&tx)?;
    if let Err(e) = tx.commit() {
        shared.ledger.unwritten(held);
        return Err(db_err(e));
    }
    Ok(())
}

/// The socket path of the store in `dir`.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET_NAME)
}
