//! bgw's state: one redb file, owned by one process, reached by every other over a socket.
//!
//! [`Store`] is the handle every command and gateway uses. Its calls go to the owner
//! ([`owner`]), which it starts when none is running ([`client`]). Config lives in small
//! tables of JSON records ([`file`]); the request log in its own tables ([`logs`]).

pub mod budgets;
pub mod client;
pub mod content;
pub mod file;
pub mod keys;
pub mod ledger;
pub mod log_index;
pub mod logs;
pub mod owner;
pub mod prices;
pub mod routes;
pub mod settings;
pub mod stats;
pub mod vkeys;
pub mod wire;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::govern::meter::Account;
use client::{ANSWER_WAIT, Conn, Launch};
pub use keys::{KeyRecord, SecretSource};
use ledger::{AccountState, Ask, Charge, Grant};
use logs::{Content, Entry, LogQuery, LogRow, RequestId};
pub use prices::PriceOverride;
use stats::{StatsBy, StatsRow};
use wire::{Event, Reply, Request};

/// The row of `secrets` holding the key that signs thinking blocks.
const THINKING_KEY: &str = "thinking_key";

/// The schema this build writes (2: the request log; 3: its indexes as lists of ids; 4: its
/// content's chunks by key, in time order; 5: each commit's content in pages; 6: virtual
/// keys, budgets and their ledger, which an older bgw must not ignore).
pub const SCHEMA_VERSION: u64 = 6;
/// The owner's socket in the data dir.
pub const SOCKET_NAME: &str = "bgw.sock";

/// What can go wrong with the store, phrased for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory `{path}`: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the store `{path}` is held by another process that does not answer; if no bgw is running, wait a few seconds and try again"
    )]
    Busy { path: PathBuf },
    #[error(
        "no bgw process answers on `{path}`; check that the data directory is writable, then try again"
    )]
    Unreachable { path: PathBuf },
    #[error("cannot open the store `{path}`: {message}")]
    Open { path: PathBuf, message: String },
    #[error(
        "the store `{path}` was written by a newer bgw (schema {found}, this one knows {SCHEMA_VERSION}); run `bgw self-update`"
    )]
    TooNew { path: PathBuf, found: u64 },
    #[error("store operation failed: {0}")]
    Db(String),
    #[error("a record in the store is damaged: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Conflict(String),
    #[error(
        "the store's owner (`bgw store-owner`) did not answer within {} s; if it hangs, end it and bgw starts another",
        .0.as_secs()
    )]
    Timeout(Duration),
}

/// What became of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The rows are on disk.
    Written,
    /// Nothing was written: the rows' recipes name chunks the store does not hold (it was
    /// pruned or replaced since the sender learned of them); send them again with the bytes.
    SendChunks,
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The default data directory: `$XDG_DATA_HOME/bgw` or the platform's equivalent.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .or_else(dirs::home_dir)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("bgw")
}

/// A handle on the store in a data directory; clones share one connection to the owner.
#[derive(Clone)]
pub struct Store {
    dir: PathBuf,
    launch: Launch,
    conn: Arc<Mutex<Option<Conn>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Store {
    /// The store in `dir`, owned (when nobody else owns it) by a thread of this process.
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store::with_launch(dir, Launch::Thread)
    }

    /// The store in `dir`, owned (when nobody else owns it) by `exe store-owner`.
    pub fn shared(dir: impl Into<PathBuf>, exe: PathBuf) -> Store {
        Store::with_launch(dir, Launch::Process(exe))
    }

    fn with_launch(dir: impl Into<PathBuf>, launch: Launch) -> Store {
        Store {
            dir: dir.into(),
            launch,
            conn: Arc::new(Mutex::new(None)),
        }
    }

    /// The same store over a connection of its own (a writer thread must not queue behind reads).
    pub fn detached(&self) -> Store {
        Store::with_launch(self.dir.clone(), self.launch.clone())
    }

    /// The directory holding the store.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The redb file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(file::FILE_NAME)
    }

    /// Sends `request` to the owner; when the owner is gone, finds (or becomes) the next one
    /// and sends it again. Every request is safe to repeat.
    fn call(&self, request: &impl serde::Serialize) -> Result<Reply, StoreError> {
        self.exchange(|conn| conn.call(request))
    }

    /// As [`Store::call`], waiting up to `wait` for the answer (a scan of the whole log).
    fn call_waiting(
        &self,
        request: &impl serde::Serialize,
        wait: Duration,
    ) -> Result<Reply, StoreError> {
        self.exchange(|conn| {
            conn.set_timeout(wait).map_err(std::io::Error::other)?;
            let reply = conn.call(request);
            conn.set_timeout(ANSWER_WAIT)
                .map_err(std::io::Error::other)?;
            reply
        })
    }

    /// Runs `send` (one request and its answer) on the connection, as [`Store::call`] says.
    fn exchange(
        &self,
        send: impl Fn(&mut Conn) -> std::io::Result<Reply>,
    ) -> Result<Reply, StoreError> {
        self.exchange_tries(send, 3)
    }

    /// Runs `send` once on the connection (opened if need be), never again on another: for a
    /// request that must not reach a later owner.
    fn exchange_once(
        &self,
        send: impl Fn(&mut Conn) -> std::io::Result<Reply>,
    ) -> Result<Reply, StoreError> {
        self.exchange_tries(send, 1)
    }

    /// Runs `send` on the connection; on a connection that broke, up to `tries` times in all.
    fn exchange_tries(
        &self,
        send: impl Fn(&mut Conn) -> std::io::Result<Reply>,
        tries: usize,
    ) -> Result<Reply, StoreError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| StoreError::Db("the store connection was poisoned".into()))?;
        let mut last_error = None;
        for _ in 0..tries {
            if guard.is_none() {
                *guard = Some(Conn::open(&self.dir, &self.launch)?);
            }
            let Some(conn) = guard.as_mut() else { continue };
            match send(conn) {
                Ok(Reply::Failed(message)) => return Err(StoreError::Db(message)),
                Ok(reply) => return Ok(reply),
                // The owner is there but does not answer: asking again would wait as long.
                Err(e) if is_timeout(&e) => {
                    *guard = None;
                    return Err(StoreError::Timeout(ANSWER_WAIT));
                }
                Err(e) => {
                    *guard = None;
                    last_error = Some(e);
                }
            }
        }
        Err(StoreError::Db(format!(
            "the store owner keeps going away: {}",
            last_error.map_or_else(String::new, |e| e.to_string())
        )))
    }

    fn list(&self, table: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        match self.call(&Request::List {
            table: table.into(),
        })? {
            Reply::Rows(rows) => Ok(rows),
            other => Err(unexpected(&other)),
        }
    }

    fn get(&self, table: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.call(&Request::Get {
            table: table.into(),
            key: key.into(),
        })? {
            Reply::Value(v) => Ok(v),
            other => Err(unexpected(&other)),
        }
    }

    fn put(
        &self,
        table: &str,
        key: &str,
        value: Vec<u8>,
        if_absent: bool,
    ) -> Result<bool, StoreError> {
        match self.call(&Request::Put {
            table: table.into(),
            key: key.into(),
            value,
            if_absent,
        })? {
            Reply::Done(wrote) => Ok(wrote),
            other => Err(unexpected(&other)),
        }
    }

    /// Replaces a config row only if it still holds `expected`; says whether it did.
    fn swap(
        &self,
        table: &str,
        key: &str,
        expected: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
    ) -> Result<bool, StoreError> {
        match self.call(&Request::Swap {
            table: table.into(),
            key: key.into(),
            expected,
            value,
        })? {
            Reply::Done(swapped) => Ok(swapped),
            other => Err(unexpected(&other)),
        }
    }

    /// What these budget accounts have spent, and what running gateways hold of them.
    pub fn accounts(&self, accounts: Vec<Account>) -> Result<Vec<AccountState>, StoreError> {
        match self.call(&Request::Accounts { accounts })? {
            Reply::Accounts(states) => Ok(states),
            other => Err(unexpected(&other)),
        }
    }

    /// Gives back part of what gateway `holder` holds of some accounts (its answer to a
    /// recall), over this handle's connection rather than the holder's own ledger link,
    /// which may be waiting for an answer itself.
    /// Sent once: an answer that reached a later owner would change nothing there (it names
    /// the `epoch` of the owner that asked).
    pub fn release(
        &self,
        holder: u64,
        epoch: u64,
        returns: Vec<(Account, u64)>,
    ) -> Result<(), StoreError> {
        let request = Request::Release {
            holder,
            epoch: Some(epoch),
            returns,
        };
        match self.exchange_once(|conn| conn.call(&request))? {
            Reply::Done(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    fn remove(&self, table: &str, key: &str) -> Result<bool, StoreError> {
        match self.call(&Request::Remove {
            table: table.into(),
            key: key.into(),
        })? {
            Reply::Done(existed) => Ok(existed),
            other => Err(unexpected(&other)),
        }
    }

    /// The install's 32-byte key for signing thinking blocks
    /// ([`crate::messages::signature`]): made once and kept.
    pub fn thinking_key(&self) -> Result<[u8; 32], StoreError> {
        if let Some(key) = self.get("secrets", THINKING_KEY)? {
            if let Ok(key) = <[u8; 32]>::try_from(key.as_slice()) {
                return Ok(key);
            }
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| StoreError::Db(format!("no randomness for a new key: {e}")))?;
        // Another process may make it at the same moment: whichever came first is kept.
        self.put("secrets", THINKING_KEY, key.to_vec(), true)?;
        self.get("secrets", THINKING_KEY)?
            .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
            .ok_or_else(|| StoreError::Corrupt("the thinking key".into()))
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u64, StoreError> {
        match self.call(&Request::Hello {
            protocol: wire::PROTOCOL,
        })? {
            Reply::Welcome { schema, .. } => Ok(schema),
            other => Err(unexpected(&other)),
        }
    }

    /// Keeps log entries; returns once they are on disk, or says that their recipes name
    /// chunks the store does not hold.
    pub fn append(&self, entries: &[Entry]) -> Result<Appended, StoreError> {
        self.append_rows(entries, true)
    }

    /// Like [`Store::append`], but the owner may hold the rows a moment to commit them with
    /// other writers' rows (one fsync for many): for a writer that nobody waits on.
    pub fn append_grouped(&self, entries: &[Entry]) -> Result<Appended, StoreError> {
        self.append_rows(entries, false)
    }

    fn append_rows(&self, entries: &[Entry], now: bool) -> Result<Appended, StoreError> {
        match self.exchange(|conn| conn.append(entries, now))? {
            Reply::Done(true) => Ok(Appended::Written),
            Reply::Done(false) => Ok(Appended::SendChunks),
            other => Err(unexpected(&other)),
        }
    }

    /// The log rows `query` asks for.
    pub fn logs(&self, query: &LogQuery) -> Result<Vec<LogRow>, StoreError> {
        match self.call_waiting(
            &Request::Query {
                query: query.clone(),
            },
            SCAN_WAIT,
        )? {
            Reply::Logs(rows) => Ok(rows),
            other => Err(unexpected(&other)),
        }
    }

    /// A request's content, if it was kept.
    pub fn log_content(&self, id: RequestId) -> Result<Option<Content>, StoreError> {
        match self.call(&Request::Content { id })? {
            Reply::Content(c) => Ok(c),
            other => Err(unexpected(&other)),
        }
    }

    /// The ids that start with `prefix` (at most 10).
    pub fn ids_with_prefix(&self, prefix: &str) -> Result<Vec<RequestId>, StoreError> {
        match self.call(&Request::IdsWithPrefix {
            prefix: prefix.into(),
        })? {
            Reply::Ids(ids) => Ok(ids),
            other => Err(unexpected(&other)),
        }
    }

    /// Totals of the rows `query` selects, grouped `by`.
    pub fn log_stats(&self, query: &LogQuery, by: StatsBy) -> Result<Vec<StatsRow>, StoreError> {
        match self.call_waiting(
            &Request::Stats {
                query: query.clone(),
                by,
            },
            SCAN_WAIT,
        )? {
            Reply::Stats(rows) => Ok(rows),
            other => Err(unexpected(&other)),
        }
    }

    /// Calls `on_event` from a thread of its own with every event of the store: config changes
    /// and rows written. After the owner changes, it says [`Watch::Reconnected`], since events
    /// may have been missed; the thread ends when `on_event` returns false.
    pub fn watch(&self, on_event: impl FnMut(Watch) -> bool + Send + 'static) {
        self.watch_for(true, false, on_event);
    }

    /// As [`Store::watch`], without the rows: config changes and reconnections only.
    pub fn watch_config(&self, on_event: impl FnMut(Watch) -> bool + Send + 'static) {
        self.watch_for(false, false, on_event);
    }

    /// As [`Store::watch_config`], and whoever changes the config hears that it is done only
    /// once `on_event` has returned for the change (a moment at most): a running gateway
    /// applies a key or budget before the command that set it returns.
    pub fn watch_config_acking(&self, on_event: impl FnMut(Watch) -> bool + Send + 'static) {
        self.watch_for(false, true, on_event);
    }

    fn watch_for(
        &self,
        rows: bool,
        acks: bool,
        mut on_event: impl FnMut(Watch) -> bool + Send + 'static,
    ) {
        let dir = self.dir.clone();
        let launch = self.launch.clone();
        std::thread::spawn(move || {
            let mut first = true;
            loop {
                let watching = Conn::open(&dir, &launch).and_then(|c| {
                    c.watch(rows, acks)
                        .map_err(|e| StoreError::Db(format!("cannot watch the store: {e}")))
                });
                let mut watching = match watching {
                    Ok(w) => w,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                };
                // An acknowledging watcher read the config before it watched: what changed in
                // between it would not hear of, so it hears that anything may have.
                if (!first || acks) && !on_event(Watch::Reconnected) {
                    return;
                }
                first = false;
                while let Ok(event) = watching.next_event() {
                    let go_on = match event {
                        Event::Config(seq) => {
                            let go_on = on_event(Watch::Config);
                            if acks && watching.ack(seq).is_err() {
                                break;
                            }
                            go_on
                        }
                        Event::Rows(rows) => on_event(Watch::Rows(rows)),
                        Event::Recall {
                            accounts,
                            from,
                            epoch,
                        } => on_event(Watch::Recall {
                            accounts,
                            from,
                            epoch,
                        }),
                    };
                    if !go_on {
                        return;
                    }
                }
            }
        });
    }
}

/// What a watcher hears.
#[derive(Debug)]
pub enum Watch {
    /// Keys, prices or settings changed.
    Config,
    /// Rows just written.
    Rows(Vec<LogRow>),
    /// Gateway `from` needs room in these budget accounts: others give back what is not in
    /// use, to the owner of `epoch`.
    Recall {
        accounts: Vec<Account>,
        from: u64,
        epoch: u64,
    },
    /// The owner changed; anything may have happened meanwhile.
    Reconnected,
}

/// A gateway's own connection to the ledger: the budget slices it is granted are its for as
/// long as this link lives. After the owner changes, the link registers again what the
/// gateway holds for its requests in flight (given by `holds`) before its next call.
pub struct LedgerLink {
    dir: PathBuf,
    launch: Launch,
    holder: u64,
    conn: Option<Conn>,
}

/// How long a gateway waits for the ledger (which may wait a moment for other gateways to
/// give back what they hold) before it fails the request.
pub const LEDGER_WAIT: Duration = Duration::from_secs(5);

impl LedgerLink {
    /// A link for gateway `holder` to the store of `store`; it connects on first use.
    pub fn new(store: &Store, holder: u64) -> LedgerLink {
        LedgerLink {
            dir: store.dir.clone(),
            launch: store.launch.clone(),
            holder,
            conn: None,
        }
    }

    /// Sends `request`; on a new connection (registered first), `again` instead: what was
    /// given back with the request the registration has said already.
    fn call(
        &mut self,
        request: &Request,
        again: Option<&Request>,
        holds: &mut dyn FnMut() -> Vec<(Account, u64)>,
    ) -> Result<Reply, StoreError> {
        let mut last_error = None;
        let mut request = request;
        for _ in 0..3 {
            if self.conn.is_none() {
                request = again.unwrap_or(request);
                match self.connect(holds)? {
                    Ok(()) => {}
                    Err(e) => {
                        last_error = Some(e);
                        continue;
                    }
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            match conn.call(request) {
                // (A link the owner no longer knows as this gateway's registers again next.)
                Ok(Reply::Failed(message)) => {
                    self.conn = None;
                    return Err(StoreError::Db(message));
                }
                Ok(reply) => return Ok(reply),
                Err(e) if is_timeout(&e) => {
                    self.conn = None;
                    return Err(StoreError::Timeout(LEDGER_WAIT));
                }
                Err(e) => {
                    self.conn = None;
                    last_error = Some(e);
                }
            }
        }
        Err(StoreError::Db(format!(
            "the store owner keeps going away: {}",
            last_error.map_or_else(String::new, |e| e.to_string())
        )))
    }

    /// Asks for more of some accounts.
    pub fn grant(
        &mut self,
        asks: Vec<Ask>,
        holds: &mut dyn FnMut() -> Vec<(Account, u64)>,
    ) -> Result<Vec<Grant>, StoreError> {
        let again = Request::Grant {
            holder: self.holder,
            asks: asks
                .iter()
                .map(|a| Ask {
                    give_back: 0,
                    owed: 0,
                    ..a.clone()
                })
                .collect(),
        };
        let request = Request::Grant {
            holder: self.holder,
            asks,
        };
        match self.call(&request, Some(&again), holds)? {
            Reply::Grants(grants) => Ok(grants),
            other => Err(unexpected(&other)),
        }
    }

    /// Charges requests' costs; returns once they are on disk.
    pub fn charge(
        &mut self,
        charges: Vec<Charge>,
        holds: &mut dyn FnMut() -> Vec<(Account, u64)>,
    ) -> Result<(), StoreError> {
        let request = Request::Charge {
            holder: self.holder,
            charges,
        };
        match self.call(&request, None, holds)? {
            Reply::Done(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Gives back what is held and not in use. Sent once: after a reconnection the
    /// registration says what is held, and sending it again would give it back twice.
    pub fn release(&mut self, returns: Vec<(Account, u64)>) -> Result<(), StoreError> {
        let request = Request::Release {
            holder: self.holder,
            epoch: None,
            returns,
        };
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        match conn.call(&request) {
            Ok(Reply::Done(_)) => Ok(()),
            Ok(Reply::Failed(message)) => Err(StoreError::Db(message)),
            Ok(other) => Err(unexpected(&other)),
            Err(e) => {
                self.conn = None;
                Err(StoreError::Db(format!("the store owner went away: {e}")))
            }
        }
    }

    /// Registers what the gateway holds with the owner now (it changed: a new owner must
    /// hear of requests in flight before it grants anyone else).
    pub fn register(
        &mut self,
        holds: &mut dyn FnMut() -> Vec<(Account, u64)>,
    ) -> Result<(), StoreError> {
        self.conn = None;
        self.connect(holds)?
            .map_err(|e| StoreError::Db(format!("the store owner went away: {e}")))
    }

    /// Opens a new link and registers on it what `holds` says; the outer error is the
    /// store's, the inner one a link that broke at once (worth another try).
    fn connect(
        &mut self,
        holds: &mut dyn FnMut() -> Vec<(Account, u64)>,
    ) -> Result<std::io::Result<()>, StoreError> {
        let mut conn = Conn::open(&self.dir, &self.launch)?;
        conn.set_timeout(LEDGER_WAIT)?;
        let register = Request::Register {
            holder: self.holder,
            holds: holds(),
        };
        match conn.call(&register) {
            Ok(Reply::Done(_)) => {
                self.conn = Some(conn);
                Ok(Ok(()))
            }
            Ok(other) => Err(unexpected(&other)),
            Err(e) => Ok(Err(e)),
        }
    }
}

/// How long a scan of the request log may take (a million rows take seconds).
const SCAN_WAIT: Duration = Duration::from_secs(300);

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// A reply of the wrong kind; only its kind is told, as a reply may hold a secret.
fn unexpected(reply: &Reply) -> StoreError {
    StoreError::Db(format!(
        "the store owner answered out of turn (a `{}` reply); if it persists, stop every bgw and try again",
        reply.kind()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_thinking_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("data"));
        let first = store.thinking_key().unwrap();
        assert_ne!(first, [0; 32]);
        assert_eq!(store.thinking_key().unwrap(), first);
        assert_eq!(
            Store::new(dir.path().join("data")).thinking_key().unwrap(),
            first
        );
    }

    #[test]
    fn a_store_that_cannot_be_written_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"").unwrap();
        // The data dir would have to be inside a regular file: it cannot be made.
        let err = Store::new(blocker.join("bgw")).thinking_key().unwrap_err();
        assert!(
            err.to_string().contains("cannot create the data directory"),
            "{err}"
        );
    }

    #[test]
    fn an_owner_that_cannot_be_started_is_named_with_the_store_it_was_for() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("not-bgw");
        let err = Store::shared(dir.path().join("data"), exe.clone())
            .thinking_key()
            .unwrap_err()
            .to_string();
        let store = dir.path().join("data").join("bgw.redb");
        assert!(err.contains(&format!("`{}`", store.display())), "{err}");
        assert!(
            err.contains(&format!("`{} store-owner`", exe.display())),
            "{err}"
        );
    }

    #[test]
    fn new_store_is_private_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("data"));
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        for (path, want) in [
            (store.path(), 0o600),
            (store.dir().join(SOCKET_NAME), 0o600),
            (store.dir().to_owned(), 0o700),
        ] {
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, want, "{}", path.display());
        }
    }

    #[test]
    fn a_reply_out_of_turn_is_named_by_its_kind_never_its_contents() {
        let reply = Reply::Rows(vec![(
            "openai".into(),
            br#"{"secret":{"value":"sk-live-very-secret-0000"}}"#.to_vec(),
        )]);
        let message = unexpected(&reply).to_string();
        assert!(message.contains("`rows` reply"), "{message}");
        assert!(!message.contains("sk-live"), "{message}");
    }

    #[test]
    fn no_staged_socket_is_left_beside_the_real_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("data"));
        store.schema_version().unwrap();
        let names: Vec<String> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&SOCKET_NAME.to_owned()), "{names:?}");
        assert!(
            !names.iter().any(|n| n.starts_with(".socket-")),
            "{names:?}"
        );
    }

    #[test]
    fn clones_and_detached_handles_see_one_store() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::new(dir.path());
        let b = a.detached();
        a.set_log_settings(&settings::Settings {
            content: false,
            retention_days: Some(7),
        })
        .unwrap();
        assert_eq!(b.log_settings().unwrap().retention_days, Some(7));
        assert!(!a.clone().log_settings().unwrap().content);
    }

    #[test]
    fn a_watcher_hears_config_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let (tx, rx) = std::sync::mpsc::channel();
        store.watch(move |w| tx.send(format!("{w:?}")).is_ok());
        // The watch connects in its thread; a change made before it listens is not an event.
        std::thread::sleep(Duration::from_millis(300));
        store
            .set_log_settings(&settings::Settings::default())
            .unwrap();
        let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(got, "Config");
    }
}
