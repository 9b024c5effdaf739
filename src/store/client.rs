//! Reaching the store's owner: connect to `bgw.sock`, or start an owner when there is none.

use std::io;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::file::make_private_dir;
use super::logs::Entry;
use super::owner;
use super::wire::{self, PROTOCOL, Reply, Request};
use super::{SOCKET_NAME, StoreError};

/// How long a client keeps trying to reach an owner (starting one, waiting for a takeover).
const CONNECT_WAIT: Duration = Duration::from_secs(15);
/// How long a call waits for the owner's answer unless it says otherwise: a wedged owner
/// fails the call rather than hang it (a commit, an fsync, takes milliseconds).
pub const ANSWER_WAIT: Duration = Duration::from_secs(30);

/// How an owner is started when none answers.
#[derive(Debug, Clone)]
pub enum Launch {
    /// `bgw store-owner` as a process of its own, so that the owner outlives no gateway's
    /// clients and a gateway killed takes no one's log rows with it.
    Process(PathBuf),
    /// A thread of this process (tests and benchmarks, whose executable is not bgw).
    Thread,
}

impl Launch {
    fn start(&self, dir: &Path) -> Result<(), StoreError> {
        match self {
            Launch::Process(exe) => {
                let mut child = Command::new(exe)
                    .arg("--data-dir")
                    .arg(dir)
                    .arg("store-owner")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    // Its own process group: Ctrl-C and a closed terminal reach the session,
                    // not the store every session shares.
                    .process_group(0)
                    .spawn()
                    .map_err(|e| StoreError::Open {
                        path: dir.join(super::file::FILE_NAME),
                        message: format!(
                            "cannot start its owner, `{} store-owner`: {e}",
                            exe.display()
                        ),
                    })?;
                // Reaped when it leaves, so no zombie stays behind a long-running gateway.
                thread::spawn(move || child.wait());
            }
            Launch::Thread => {
                let dir = dir.to_owned();
                thread::spawn(move || owner::run(&dir, owner::IDLE));
            }
        }
        Ok(())
    }
}

/// One connection to the owner.
pub struct Conn {
    stream: UnixStream,
}

impl Conn {
    /// Connects to the owner of the store in `dir`, starting one if none answers.
    pub fn open(dir: &Path, launch: &Launch) -> Result<Conn, StoreError> {
        make_private_dir(dir)?;
        let socket = dir.join(SOCKET_NAME);
        let started = Instant::now();
        let mut launched: Option<Instant> = None;
        let mut pause = Duration::from_millis(2);
        loop {
            match UnixStream::connect(&socket) {
                Ok(stream) => {
                    let mut conn = Conn { stream };
                    conn.set_timeout(ANSWER_WAIT)?;
                    match conn.call(&Request::Hello { protocol: PROTOCOL }) {
                        Ok(Reply::Welcome { protocol, .. }) if protocol == PROTOCOL => {
                            return Ok(conn);
                        }
                        // Another bgw version owns the store: ask it to leave, then take over.
                        Ok(Reply::Welcome { .. }) => {
                            let _ = conn.call(&Request::Retire);
                        }
                        // It was leaving as we came: try again.
                        _ => {}
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                    ) =>
                {
                    if launched.is_none_or(|t| t.elapsed() > Duration::from_secs(2)) {
                        launch.start(dir)?;
                        launched = Some(Instant::now());
                    }
                }
                Err(e) => {
                    return Err(StoreError::Open {
                        path: socket,
                        message: e.to_string(),
                    });
                }
            }
            if started.elapsed() > CONNECT_WAIT {
                return Err(StoreError::Unreachable { path: socket });
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// How long a call may wait for its answer from now on.
    pub fn set_timeout(&mut self, wait: Duration) -> Result<(), StoreError> {
        self.stream
            .set_read_timeout(Some(wait))
            .and_then(|()| self.stream.set_write_timeout(Some(wait)))
            .map_err(|e| StoreError::Db(format!("cannot set a timeout on the store's socket: {e}")))
    }

    /// Sends `request` and reads the answer.
    pub fn call(&mut self, request: &impl serde::Serialize) -> io::Result<Reply> {
        wire::send(&mut self.stream, request)?;
        self.answer()
    }

    /// Sends an append of `entries` and reads the answer.
    pub fn append(&mut self, entries: &[Entry], now: bool) -> io::Result<Reply> {
        wire::send_append(&mut self.stream, entries, now)?;
        self.answer()
    }

    fn answer(&mut self) -> io::Result<Reply> {
        // Unbuffered: on a watch, the events that follow the answer must stay in the socket.
        wire::receive(&mut self.stream)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "the store owner left"))
    }

    /// Turns this connection into a stream of events; with `acks`, each config change is
    /// to be acknowledged ([`Watching::ack`]).
    pub fn watch(mut self, rows: bool, acks: bool) -> io::Result<Watching> {
        let reply = self.call(&Request::Watch { rows, acks })?;
        // Events come when they come: a watcher waits for them without end.
        self.stream.set_read_timeout(None)?;
        match reply {
            Reply::Done(true) => Ok(Watching {
                stream: self.stream,
            }),
            other => Err(io::Error::other(format!(
                "the store owner did not accept the watch: {other:?}"
            ))),
        }
    }
}

/// A connection that receives [`wire::Event`]s.
pub struct Watching {
    stream: UnixStream,
}

impl Watching {
    /// Says the config change `seq` has been acted on.
    pub fn ack(&mut self, seq: u64) -> io::Result<()> {
        wire::send(&mut self.stream, &wire::Ack { config: seq })
    }

    /// The next event; an error when the owner is gone.
    pub fn next_event(&mut self) -> io::Result<wire::Event> {
        wire::receive(&mut self.stream)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "the store owner left"))
    }
}
