//! The request log: one row per request, its content apart, and the indexes `bgw logs` filters on.
//!
//! Rows are keyed by [`RequestId`], whose high bits are the start time, so the primary table is
//! already in time order and `--since` is a range. Each filterable field has an index of the
//! ids with each value (`log_index`); a query walks the most selective one newest first and
//! stops at its limit.

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::content::{ChunkMemo, ChunkReader, ChunkWrites};
pub use super::content::{Content, RawContent};
use super::log_index::{self, Field, Lists};
use super::{StoreError, db_err};
use crate::govern::scope::Caller;
use crate::messages::Usage;

const LOG: TableDefinition<u128, &[u8]> = TableDefinition::new("log");
const LOG_CONTENT: TableDefinition<u128, &[u8]> = TableDefinition::new("log_content");
const ERRORS: TableDefinition<u128, ()> = TableDefinition::new("log_errors");

/// A request's id: milliseconds since the epoch in the high 48 bits, 80 random bits below,
/// shown as 26 Crockford base-32 characters (a ULID), so ids sort by time as text too.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u128);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl RequestId {
    /// A new id for a request that started at `time_ms`.
    pub fn new(time_ms: u64) -> RequestId {
        // The low 80 bits: a random start drawn once per process, plus a count, so ids are
        // unique within a process and gateways running at once start 2^80 apart at random.
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let start = crate::messages::event::process_seed();
        let low = start.wrapping_add(u128::from(COUNT.fetch_add(1, Ordering::Relaxed)));
        RequestId((u128::from(time_ms & ((1 << 48) - 1)) << 80) | (low & ((1 << 80) - 1)))
    }

    /// The smallest id at or after `time_ms`.
    pub fn floor(time_ms: u64) -> RequestId {
        RequestId(u128::from(time_ms) << 80)
    }

    /// Milliseconds since the epoch when the request started.
    pub fn time_ms(self) -> u64 {
        (self.0 >> 80) as u64
    }

    /// Reads the 26-character form (any case; `I`/`L` as 1, `O` as 0, as Crockford allows).
    pub fn parse(s: &str) -> Option<RequestId> {
        if s.len() != 26 {
            return None;
        }
        let mut n = 0u128;
        for (i, c) in s.bytes().enumerate() {
            let v = digit(c)?;
            // The first character holds only the top 3 of 130 bits.
            if i == 0 && v > 7 {
                return None;
            }
            n = (n << 5) | u128::from(v);
        }
        Some(RequestId(n))
    }
}

fn digit(c: u8) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    let c = match c {
        b'I' | b'L' => b'1',
        b'O' => b'0',
        c => c,
    };
    CROCKFORD.iter().position(|&d| d == c).map(|p| p as u8)
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; 26];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (25 - i);
            *slot = CROCKFORD[((self.0 >> shift) & 31) as usize];
        }
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for RequestId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(IdVisitor)
    }
}

/// Reads a request id from the string in place (every row read has one: no copy for it).
struct IdVisitor;

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = RequestId;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a request id")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RequestId, E> {
        RequestId::parse(s).ok_or_else(|| E::custom("not a request id"))
    }
}

/// What went wrong with a request, as the client was told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedError {
    /// Anthropic's error type (`rate_limit_error`, `authentication_error`, …).
    pub kind: String,
    pub message: String,
}

/// One try of one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub provider: String,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The upstream's status; `None` when it was never reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why this try did not give the answer; `None` for the one that did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_us: u64,
}

/// One request, as `bgw logs` shows it (the content is kept apart: [`Content`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    pub id: RequestId,
    /// The gateway process that served it (a `bgw run` session's totals come from its rows).
    pub run: String,
    /// Claude Code's `X-Claude-Code-Session-Id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The virtual key that made the request, with its team and customer, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Caller>,
    /// The model the client asked for.
    pub requested_model: String,
    /// The provider that answered (or the last one tried); empty when none was chosen.
    pub provider: String,
    pub upstream_model: String,
    /// The name of the provider key used, never its secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The HTTP status the client got (200 for a stream that later failed; see `error`).
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<LoggedError>,
    pub stream: bool,
    pub usage: Usage,
    /// US dollars; `None` when the model has no known price (never a silent $0).
    pub cost: Option<f64>,
    /// Microseconds from the request's arrival to the first byte sent back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_byte_us: Option<u64>,
    /// Microseconds from arrival to the last byte.
    pub total_us: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// The routing rule (`bgw route`) that chose where it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Rules skipped because their condition failed to evaluate, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_errors: Vec<String>,
    /// Whether the request and response are kept (content logging may be off).
    #[serde(default)]
    pub has_content: bool,
}

impl LogRow {
    /// Whether the request failed, either with a status or mid-stream.
    pub fn failed(&self) -> bool {
        self.status >= 400 || self.error.is_some()
    }
}

/// A row as the store receives it: its JSON as the gateway wrote it (stored as it came, never
/// parsed whole on the store's one writer thread), and its content.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub row: bytes::Bytes,
    pub content: Option<RawContent>,
}

#[cfg(test)]
impl Incoming {
    /// The form `entry` reaches the store in.
    pub fn of(entry: &Entry) -> Result<Incoming, serde_json::Error> {
        Ok(Incoming {
            row: serde_json::to_vec(&entry.row)?.into(),
            content: entry.content.clone(),
        })
    }
}

/// What the indexes need of a row, read from its JSON without copying the strings.
#[derive(Deserialize)]
struct RowKeys<'a> {
    id: RequestId,
    #[serde(borrow)]
    run: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    session: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    requested_model: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    provider: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    upstream_model: std::borrow::Cow<'a, str>,
    status: u16,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
    #[serde(borrow, default)]
    caller: Option<CallerKeys<'a>>,
}

/// A row's caller, borrowed from its JSON.
#[derive(Deserialize)]
struct CallerKeys<'a> {
    #[serde(borrow, default)]
    key: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    team: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    customer: Option<std::borrow::Cow<'a, str>>,
}

/// A row with its content, as a gateway hands it to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub row: LogRow,
    pub content: Option<RawContent>,
}

/// Which statuses a query wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Ok,
    Error,
    Code(u16),
}

/// What `bgw logs` asks for; every field narrows the answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogQuery {
    /// Rows started at or after this time (ms since the epoch).
    #[serde(default)]
    pub since_ms: Option<u64>,
    /// Rows started before this time.
    #[serde(default)]
    pub until_ms: Option<u64>,
    /// Only rows with an id above this one (following new rows).
    #[serde(default)]
    pub after: Option<RequestId>,
    #[serde(default)]
    pub provider: Option<String>,
    /// Matches the upstream model or the model asked for.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub session: Option<String>,
    /// The caller's virtual key, team or customer.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub run: Option<String>,
    #[serde(default)]
    pub status: Option<StatusFilter>,
    /// Case-insensitive text in the request, the response or the error.
    #[serde(default)]
    pub search: Option<String>,
    /// At most this many rows (newest first, or oldest first with `oldest_first`).
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub oldest_first: bool,
}

impl LogQuery {
    /// Whether `row` passes every filter but `search` (which needs the content).
    pub fn admits(&self, row: &LogRow) -> bool {
        let t = row.id.time_ms();
        self.since_ms.is_none_or(|s| t >= s)
            && self.until_ms.is_none_or(|u| t < u)
            && self.after.is_none_or(|a| row.id > a)
            && self.provider.as_deref().is_none_or(|p| row.provider == p)
            && self
                .model
                .as_deref()
                .is_none_or(|m| row.upstream_model == m || row.requested_model == m)
            && self
                .session
                .as_deref()
                .is_none_or(|s| row.session.as_deref() == Some(s))
            && self.run.as_deref().is_none_or(|r| row.run == r)
            && caller_is(self.key.as_deref(), row, |c| &c.key)
            && caller_is(self.team.as_deref(), row, |c| &c.team)
            && caller_is(self.customer.as_deref(), row, |c| &c.customer)
            && match self.status {
                None => true,
                Some(StatusFilter::Ok) => !row.failed(),
                Some(StatusFilter::Error) => row.failed(),
                Some(StatusFilter::Code(c)) => row.status == c,
            }
    }

    /// The id range the query can touch.
    fn bounds(&self) -> (u128, u128) {
        let low = self.since_ms.map_or(0, |s| RequestId::floor(s).0);
        let low = match self.after {
            Some(a) => low.max(a.0.saturating_add(1)),
            None => low,
        };
        let high = self
            .until_ms
            .map_or(u128::MAX, |u| RequestId::floor(u).0.saturating_sub(1));
        (low, high)
    }
}

/// Whether the row's caller has `want` in the part `part` picks (any row when `want` is `None`).
fn caller_is(want: Option<&str>, row: &LogRow, part: impl Fn(&Caller) -> &Option<String>) -> bool {
    want.is_none_or(|w| {
        row.caller
            .as_ref()
            .is_some_and(|c| part(c).as_deref() == Some(w))
    })
}

/// Makes the log tables (inside the schema check's transaction).
pub fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(LOG).map_err(db_err)?;
    tx.open_table(LOG_CONTENT).map_err(db_err)?;
    log_index::create_tables(tx)?;
    tx.open_table(ERRORS).map_err(db_err)?;
    Ok(())
}

/// Writes rows in `tx`, their content through `chunks` (whose last page is written when it
/// finishes); an id already stored is written again, unchanged in effect, so a batch sent
/// twice (its owner died before answering) leaves no duplicate. Check the chunks first:
/// [`ChunkWrites::holds_all`]. Rows that cannot be read are refused together, before
/// anything is written (a gateway's bug): the answer says why.
pub fn insert(
    tx: &WriteTransaction,
    chunks: &mut ChunkWrites,
    memo: &ChunkMemo,
    rows: &[Incoming],
) -> Result<Result<(), String>, StoreError> {
    let keys: Vec<RowKeys> = match rows
        .iter()
        .map(|r| serde_json::from_slice(&r.row))
        .collect()
    {
        Ok(keys) => keys,
        Err(e) => {
            return Ok(Err(format!(
                "a log row sent to the store cannot be read: {e}"
            )));
        }
    };
    let mut log = tx.open_table(LOG).map_err(db_err)?;
    let mut content = tx.open_table(LOG_CONTENT).map_err(db_err)?;
    let mut errors = tx.open_table(ERRORS).map_err(db_err)?;
    let mut lists = Lists::default();
    for (row, k) in rows.iter().zip(&keys) {
        let id = k.id.0;
        log.insert(id, &row.row[..]).map_err(db_err)?;
        // A recipe that cannot be read is a gateway's bug; the row is kept without it.
        if let Some(c) = &row.content
            && let Some(value) = chunks.put(memo, c, k.id.time_ms())?
        {
            content.insert(id, value.as_slice()).map_err(db_err)?;
        }
        lists.add(Field::Provider, &k.provider, id);
        lists.add(Field::Model, &k.upstream_model, id);
        if k.requested_model != k.upstream_model {
            lists.add(Field::Model, &k.requested_model, id);
        }
        if let Some(s) = &k.session {
            lists.add(Field::Session, s, id);
        }
        lists.add(Field::Run, &k.run, id);
        if let Some(c) = &k.caller {
            for (field, value) in [
                (Field::Key, &c.key),
                (Field::Team, &c.team),
                (Field::Customer, &c.customer),
            ] {
                if let Some(v) = value {
                    lists.add(field, v, id);
                }
            }
        }
        if k.status >= 400 || k.error.is_some() {
            errors.insert(id, ()).map_err(db_err)?;
        }
    }
    lists.write(tx)?;
    Ok(Ok(()))
}

/// Deletes up to `max` rows that started before `before_ms`, with their content, and the
/// index lists that hold only older rows; says how many rows went. Called in small batches so
/// appends never wait long.
pub fn prune(tx: &WriteTransaction, before_ms: u64, max: usize) -> Result<usize, StoreError> {
    let mut log = tx.open_table(LOG).map_err(db_err)?;
    let end = RequestId::floor(before_ms).0;
    let mut ids = Vec::new();
    for row in log.range(..end).map_err(db_err)?.take(max) {
        ids.push(row.map_err(db_err)?.0.value());
    }
    let mut content = tx.open_table(LOG_CONTENT).map_err(db_err)?;
    let mut errors = tx.open_table(ERRORS).map_err(db_err)?;
    for id in &ids {
        log.remove(*id).map_err(db_err)?;
        content.remove(*id).map_err(db_err)?;
        errors.remove(*id).map_err(db_err)?;
    }
    if ids.len() < max {
        log_index::prune(tx, end)?;
    }
    Ok(ids.len())
}

/// The rows `query` asks for, newest first unless it says otherwise. `visit` gets each row and
/// says whether to go on (so stats can fold a large answer without holding it).
pub fn scan(
    tx: &redb::ReadTransaction,
    query: &LogQuery,
    mut visit: impl FnMut(LogRow) -> bool,
) -> Result<(), StoreError> {
    let (low, high) = query.bounds();
    if low > high {
        return Ok(());
    }
    let log = tx.open_table(LOG).map_err(db_err)?;
    let content = tx.open_table(LOG_CONTENT).map_err(db_err)?;
    let mut chunks = ChunkReader::open(tx)?;
    let needle = query.search.as_deref().map(str::to_lowercase);
    let mut taken = 0usize;
    let limit = query.limit.unwrap_or(usize::MAX);
    let consider = |id: u128| -> Result<bool, StoreError> {
        let Some(v) = log.get(id).map_err(db_err)? else {
            return Ok(true);
        };
        let Ok(row) = serde_json::from_slice::<LogRow>(v.value()) else {
            return Ok(true);
        };
        if !query.admits(&row) {
            return Ok(true);
        }
        if let Some(needle) = &needle {
            let in_error = row
                .error
                .as_ref()
                .is_some_and(|e| e.message.to_lowercase().contains(needle));
            let mut in_content = || -> Result<bool, StoreError> {
                let Some(c) = content.get(id).map_err(db_err)? else {
                    return Ok(false);
                };
                // A damaged content value is not a match; the row is still listed elsewhere.
                Ok(match chunks.open_value(c.value()) {
                    Ok((request, response, _)) => {
                        contains_folded(&request, needle) || contains_folded(&response, needle)
                    }
                    Err(_) => false,
                })
            };
            if !in_error && !in_content()? {
                return Ok(true);
            }
        }
        taken += 1;
        Ok(visit(row) && taken < limit)
    };
    // The index that narrows most: session, run, caller, errors, model, provider, else time.
    let index = [
        (Field::Session, &query.session),
        (Field::Run, &query.run),
        (Field::Key, &query.key),
        (Field::Team, &query.team),
        (Field::Customer, &query.customer),
    ]
    .into_iter()
    .find_map(|(field, value)| value.as_deref().map(|v| (field, v)));
    if let Some((field, value)) = index {
        return log_index::walk(tx, field, value, (low, high), query.oldest_first, consider);
    }
    if query.status == Some(StatusFilter::Error) {
        let errors = tx.open_table(ERRORS).map_err(db_err)?;
        let range = errors.range(low..=high).map_err(db_err)?;
        return walk(
            range.map(|r| r.map(|(k, _)| k.value())),
            query.oldest_first,
            consider,
        );
    }
    let index = match (&query.model, &query.provider) {
        (Some(m), _) => Some((Field::Model, m.as_str())),
        (None, Some(p)) => Some((Field::Provider, p.as_str())),
        (None, None) => None,
    };
    if let Some((field, value)) = index {
        return log_index::walk(tx, field, value, (low, high), query.oldest_first, consider);
    }
    let range = log.range(low..=high).map_err(db_err)?;
    walk(
        range.map(|r| r.map(|(k, _)| k.value())),
        query.oldest_first,
        consider,
    )
}

fn walk(
    ids: impl DoubleEndedIterator<Item = Result<u128, redb::StorageError>>,
    oldest_first: bool,
    mut consider: impl FnMut(u128) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let ids: Box<dyn Iterator<Item = _>> = if oldest_first {
        Box::new(ids)
    } else {
        Box::new(ids.rev())
    };
    for id in ids {
        if !consider(id.map_err(db_err)?)? {
            break;
        }
    }
    Ok(())
}

/// Case-insensitive (ASCII) search without copying the haystack.
fn contains_folded(haystack: &[u8], needle_lower: &str) -> bool {
    let n = needle_lower.as_bytes();
    if n.is_empty() {
        return true;
    }
    haystack
        .windows(n.len())
        .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// The content of one request, if it was kept.
pub fn content(tx: &redb::ReadTransaction, id: RequestId) -> Result<Option<Content>, StoreError> {
    let table = tx.open_table(LOG_CONTENT).map_err(db_err)?;
    match table.get(id.0).map_err(db_err)? {
        Some(v) => ChunkReader::open(tx)?
            .content(v.value())
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("the content of request {id} ({e})"))),
        None => Ok(None),
    }
}

/// The ids starting with `prefix` (what a person types from the table), up to `max`.
pub fn ids_with_prefix(
    tx: &redb::ReadTransaction,
    prefix: &str,
    max: usize,
) -> Result<Vec<RequestId>, StoreError> {
    let prefix = prefix.to_ascii_uppercase();
    let mut lo = prefix.clone();
    let mut hi = prefix.clone();
    while lo.len() < 26 {
        lo.push('0');
        hi.push('Z');
    }
    let (Some(lo), Some(hi)) = (RequestId::parse(&lo), RequestId::parse(&hi)) else {
        return Ok(Vec::new());
    };
    let log = tx.open_table(LOG).map_err(db_err)?;
    let mut out = Vec::new();
    for row in log.range(lo.0..=hi.0).map_err(db_err)?.take(max) {
        out.push(RequestId(row.map_err(db_err)?.0.value()));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "logs_tests.rs"]
mod tests;
