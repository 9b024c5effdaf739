//! What bgw processes say to the store's owner over its unix socket.
//!
//! Each message is a 4-byte big-endian length and that many bytes of JSON, then a count of
//! blobs and each blob with its length: the bodies of logged requests travel as they are,
//! never escaped into JSON. A client sends a [`Request`] and reads one [`Reply`]; after
//! [`Request::Watch`] the owner only sends [`Event`]s on that connection.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::io::{self, IoSlice, Read, Write};

use super::ledger::{AccountState, Ask, Charge, Grant};
use super::logs::{Content, Entry, Incoming, LogQuery, LogRow, RawContent, RequestId};
use super::stats::{StatsBy, StatsRow};
use crate::govern::meter::Account;

/// Bumped whenever a message changes shape; an owner of another version is asked to retire.
pub const PROTOCOL: u32 = 4;

/// The largest message accepted (a batch of rows with their content).
const MAX_FRAME: usize = 512 * 1024 * 1024;

/// A client's request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Hello {
        protocol: u32,
    },
    List {
        table: String,
    },
    Get {
        table: String,
        key: String,
    },
    Put {
        table: String,
        key: String,
        value: Vec<u8>,
        if_absent: bool,
    },
    Remove {
        table: String,
        key: String,
    },
    /// Replace a config row only if it holds `expected` (`None`: absent; `value` `None`
    /// removes it): a read-modify-write that loses no concurrent change.
    Swap {
        table: String,
        key: String,
        expected: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
    },
    /// This connection is the ledger link of gateway `holder`, which holds these amounts
    /// (its requests in flight); what it holds is released when the connection closes.
    Register {
        holder: u64,
        holds: Vec<(Account, u64)>,
    },
    /// More of some budget accounts for `holder` (answered with [`Reply::Grants`]).
    Grant {
        holder: u64,
        asks: Vec<Ask>,
    },
    /// `holder` gives back part of what it holds: on its ledger link, or answering the
    /// recall of the owner whose `epoch` this is (elsewhere it changes nothing).
    Release {
        holder: u64,
        #[serde(default)]
        epoch: Option<u64>,
        returns: Vec<(Account, u64)>,
    },
    /// Requests' actual costs, each charged once by id; answered once on disk.
    Charge {
        holder: u64,
        charges: Vec<Charge>,
    },
    /// What these accounts have spent and what gateways hold of them.
    Accounts {
        accounts: Vec<Account>,
    },
    /// Rows to keep; answered once they are on disk. Each row follows as a blob of its JSON,
    /// then, when marked `content`, two more: the request's recipe and the response.
    Append {
        entries: Vec<EntryHead>,
        /// Commit without waiting for other writers' rows (someone waits on this answer).
        #[serde(default)]
        now: bool,
    },
    Query {
        query: LogQuery,
    },
    Content {
        id: RequestId,
    },
    IdsWithPrefix {
        prefix: String,
    },
    Stats {
        query: LogQuery,
        by: StatsBy,
    },
    /// From now on, send [`Event`]s on this connection: config changes, and with `rows`
    /// every row written too. With `acks`, the watcher answers each config change with an
    /// [`Ack`] once it has acted on it, and whoever made the change hears it is done only
    /// then (a gateway applies a new key or budget before `bgw` returns).
    Watch {
        #[serde(default)]
        rows: bool,
        #[serde(default)]
        acks: bool,
    },
    /// Finish what is in hand, release the file and exit (a bgw of another version wants it).
    Retire,
}

/// A row of [`Request::Append`]: whether its content follows its JSON.
#[derive(Debug, Serialize, Deserialize)]
pub struct EntryHead {
    pub content: bool,
    #[serde(default)]
    pub sse: bool,
}

/// Writes an append of `entries`: each row's JSON and its content as blobs.
pub fn send_append(w: &mut impl Write, entries: &[Entry], now: bool) -> io::Result<()> {
    let msg = Request::Append {
        now,
        entries: entries
            .iter()
            .map(|e| EntryHead {
                content: e.content.is_some(),
                sse: e.content.as_ref().is_some_and(|c| c.response_is_sse),
            })
            .collect(),
    };
    let rows: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| serde_json::to_vec(&e.row))
        .collect::<Result<_, _>>()
        .map_err(io::Error::other)?;
    let mut blobs: Vec<&[u8]> = Vec::with_capacity(3 * entries.len());
    for (e, row) in entries.iter().zip(&rows) {
        blobs.push(row);
        if let Some(c) = &e.content {
            blobs.push(&c.request);
            blobs.push(&c.response);
        }
    }
    send_with(w, &msg, &blobs)
}

/// The rows of a received append, taken from `blobs` in order.
pub fn entries(heads: Vec<EntryHead>, blobs: Vec<Bytes>) -> io::Result<Vec<Incoming>> {
    let mut blobs = blobs.into_iter();
    let short = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "an append lacks the rows or the content it announces",
        )
    };
    heads
        .into_iter()
        .map(|h| {
            let row = blobs.next().ok_or_else(short)?;
            let content = if h.content {
                let (Some(request), Some(response)) = (blobs.next(), blobs.next()) else {
                    return Err(short());
                };
                Some(RawContent {
                    request,
                    response,
                    response_is_sse: h.sse,
                })
            } else {
                None
            };
            Ok(Incoming { row, content })
        })
        .collect()
}

/// The owner's answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "reply", content = "value", rename_all = "snake_case")]
pub enum Reply {
    Welcome { protocol: u32, schema: u64 },
    Rows(Vec<(String, Vec<u8>)>),
    Value(Option<Vec<u8>>),
    Done(bool),
    Logs(Vec<LogRow>),
    Content(Option<Content>),
    Ids(Vec<RequestId>),
    Stats(Vec<StatsRow>),
    Grants(Vec<Grant>),
    Accounts(Vec<AccountState>),
    Failed(String),
}

impl Reply {
    /// What kind of reply this is, for a message: never its contents, which may hold a key
    /// record's secret (`Rows`, `Value`) or a logged request.
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Welcome { .. } => "welcome",
            Reply::Rows(_) => "rows",
            Reply::Value(_) => "value",
            Reply::Done(_) => "done",
            Reply::Logs(_) => "logs",
            Reply::Content(_) => "content",
            Reply::Ids(_) => "ids",
            Reply::Stats(_) => "stats",
            Reply::Grants(_) => "grants",
            Reply::Accounts(_) => "accounts",
            Reply::Failed(_) => "failed",
        }
    }
}

/// What a watcher is told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", content = "value", rename_all = "snake_case")]
pub enum Event {
    /// A config table changed (keys, prices, settings): read it again. Numbered, for the
    /// watcher's [`Ack`].
    Config(u64),
    /// Rows just written.
    Rows(Vec<LogRow>),
    /// Gateway `from` needs room in these accounts: other holders, give back what you do not
    /// use, naming this owner's `epoch`.
    Recall {
        accounts: Vec<Account>,
        from: u64,
        epoch: u64,
    },
}

/// A watcher has acted on the config change of this number.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Ack {
    pub config: u64,
}

/// Writes one message.
pub fn send<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    send_with(w, msg, &[])
}

/// Writes one message followed by `blobs`: the message's length and JSON, the number of
/// blobs, every blob's length, then the blobs (so the reader can take them in one buffer).
pub fn send_with<T: Serialize>(w: &mut impl Write, msg: &T, blobs: &[&[u8]]) -> io::Result<()> {
    let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
    // The lengths go in one small buffer and the blobs are written from where they lie: a
    // batch of bodies is handed to the kernel once, never copied into a frame first.
    let mut heads = Vec::with_capacity(8 + 4 * blobs.len());
    heads.extend_from_slice(&length(body.len())?);
    heads.extend_from_slice(&length(blobs.len())?);
    for b in blobs {
        heads.extend_from_slice(&length(b.len())?);
    }
    let mut parts = Vec::with_capacity(3 + blobs.len());
    parts.push(IoSlice::new(&heads[..4]));
    parts.push(IoSlice::new(&body));
    parts.push(IoSlice::new(&heads[4..]));
    parts.extend(blobs.iter().map(|b| IoSlice::new(b)));
    write_all_vectored(w, &mut parts)?;
    w.flush()
}

/// `Write::write_all` for several buffers at once (the std one is not stable yet).
fn write_all_vectored(w: &mut impl Write, mut parts: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut parts, 0);
    while !parts.is_empty() {
        match w.write_vectored(parts) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut parts, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn length(n: usize) -> io::Result<[u8; 4]> {
    u32::try_from(n)
        .map(u32::to_be_bytes)
        .map_err(|_| io::Error::other("a store message part over 4 GiB"))
}

/// Reads one message; `Ok(None)` when the other side closed cleanly between messages.
pub fn receive<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> io::Result<Option<T>> {
    Ok(receive_with(r)?.map(|(msg, _)| msg))
}

/// Reads one message and its blobs, which share one buffer (a batch of a thousand rows is
/// one allocation, not three thousand).
pub fn receive_with<T: for<'de> Deserialize<'de>>(
    r: &mut impl Read,
) -> io::Result<Option<(T, Vec<Bytes>)>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let body = read_part(r, len)?;
    let msg =
        serde_json::from_slice(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    r.read_exact(&mut len)?;
    let count = u32::from_be_bytes(len) as usize;
    // Three blobs per row at most, and a batch holds far fewer rows than this.
    if count > 1 << 16 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a store message with too many parts",
        ));
    }
    let mut lens = vec![0u8; 4 * count];
    r.read_exact(&mut lens)?;
    let lens: Vec<usize> = lens
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let total = lens.iter().sum::<usize>();
    let all = read_part(r, length(total)?)?;
    let all = Bytes::from(all);
    let mut blobs = Vec::with_capacity(count);
    let mut at = 0;
    for n in lens {
        blobs.push(all.slice(at..at + n));
        at += n;
    }
    Ok(Some((msg, blobs)))
}

fn read_part(r: &mut impl Read, len: [u8; 4]) -> io::Result<Vec<u8>> {
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a store message of {len} bytes is too large"),
        ));
    }
    // Read without zero-filling first: blobs are request bodies of 50 KB and more.
    let mut body = Vec::with_capacity(len);
    r.take(len as u64).read_to_end(&mut body)?;
    if body.len() < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "a store message ended early",
        ));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_and_a_closed_stream_reads_as_none() {
        let mut buf = Vec::new();
        send(
            &mut buf,
            &Request::Get {
                table: "keys".into(),
                key: "openai".into(),
            },
        )
        .unwrap();
        let mut r = buf.as_slice();
        let got: Option<Request> = receive(&mut r).unwrap();
        assert!(matches!(got, Some(Request::Get { key, .. }) if key == "openai"));
        assert!(receive::<Request>(&mut r).unwrap().is_none());
    }

    #[test]
    fn an_oversized_length_is_refused_without_allocating() {
        let frame = u32::MAX.to_be_bytes();
        let err = receive::<Request>(&mut frame.as_slice()).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
    }
}
