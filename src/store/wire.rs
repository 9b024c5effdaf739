//! What bgw processes say to the store's owner over its unix socket.
//!
//! Each message is a 4-byte big-endian length and that many bytes of JSON. A client sends a
//! [`Request`] and reads one [`Reply`]; after [`Request::Watch`] the owner only sends
//! [`Event`]s on that connection.

use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

use super::logs::{Content, Entry, LogQuery, LogRow, RequestId};
use super::stats::{StatsBy, StatsRow};

/// Bumped whenever a message changes shape; an owner of another version is asked to retire.
pub const PROTOCOL: u32 = 1;

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
    /// Rows to keep; answered once they are on disk.
    Append {
        entries: Vec<Entry>,
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
    /// From now on, send [`Event`]s on this connection.
    Watch,
    /// Finish what is in hand, release the file and exit (a bgw of another version wants it).
    Retire,
}

/// [`Request::Append`] over borrowed rows: it serializes the same, so a writer can send one
/// batch again (to the next owner) without copying it.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AppendRef<'a> {
    Append { entries: &'a [Entry] },
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
    Failed(String),
}

/// What a watcher is told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", content = "value", rename_all = "snake_case")]
pub enum Event {
    /// A config table changed (keys, prices, settings): read it again.
    Config,
    /// Rows just written.
    Rows(Vec<LogRow>),
}

/// Writes one message.
pub fn send<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    w.write_all(&frame)?;
    w.flush()
}

/// Reads one message; `Ok(None)` when the other side closed cleanly between messages.
pub fn receive<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a store message of {len} bytes is too large"),
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
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
