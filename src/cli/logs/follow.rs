//! `bgw logs -f`: the newest rows, then every new one as the store's owner commits it.
//!
//! Rows come from [`Store::watch`], which hears every gateway's writes; each is printed once
//! (ids seen are remembered). Where the watch may have missed rows, the store is asked again:
//! just after the watch starts (it connects in its own thread) and after the owner changed
//! ([`Watch::Reconnected`]). An id is the request's *start*, and a long request is committed
//! when it ends, so that question covers rows started up to [`LONGEST`] before the newest seen
//! and keeps those that ended after following began. `--search` needs the content, which only
//! the store reads: each batch of new rows is asked for again with the search applied.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::table::{Cells, Layout};
use super::{emit, json_line};
use crate::cli::CliError;
use crate::store::logs::{LogQuery, LogRow, RequestId};
use crate::store::{Store, Watch, now_ms};

/// Rows printed before following unless `--limit` says, as `tail` does.
const TAIL: usize = 10;
/// Ids remembered beyond this many are forgotten, oldest first.
const REMEMBER: usize = 10_000;
/// How long before its end a request may have started (a long answer, slowly streamed).
const LONGEST: u64 = 30 * 60 * 1000;

/// Follows the log until interrupted.
pub fn run(
    store: &Store,
    query: LogQuery,
    tail: Option<usize>,
    json: bool,
) -> Result<ExitCode, CliError> {
    let (tx, rx) = mpsc::channel();
    store.watch(move |event| tx.send(event).is_ok());
    let started = Instant::now();
    let mut out = Printer {
        json,
        layout: Layout::open(super::width()),
        color: super::color(),
        seen: BTreeSet::new(),
        newest: RequestId::floor(now_ms()),
        since_ms: now_ms(),
    };
    let mut rows = store.logs(&LogQuery {
        limit: Some(tail.unwrap_or(TAIL)),
        oldest_first: false,
        ..query.clone()
    })?;
    rows.reverse();
    if !json {
        emit(&format!("{}\n", out.layout.header()))?;
    }
    out.print(rows)?;
    let mut caught_up = false;
    loop {
        match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(Watch::Rows(mut rows)) => {
                rows.retain(|r| query.admits(r));
                if query.search.is_some() && !rows.is_empty() {
                    rows = out.searched(store, &query, &rows)?;
                }
                out.print(rows)?;
            }
            Ok(Watch::Reconnected) => out.catch_up(store, &query)?,
            Ok(Watch::Config | Watch::Recall { .. }) => {}
            Err(RecvTimeoutError::Timeout) => {
                // Once the watch surely listens, rows committed before it did are fetched.
                if !caught_up && started.elapsed() > Duration::from_secs(1) {
                    out.catch_up(store, &query)?;
                    caught_up = true;
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(
                    CliError::new("the store stopped answering; `bgw logs -f` ended")
                        .hint("run it again"),
                );
            }
        }
    }
}

struct Printer {
    json: bool,
    layout: Layout,
    color: bool,
    seen: BTreeSet<RequestId>,
    /// The newest id printed (or the moment following began).
    newest: RequestId,
    /// When following began: a row that ended before was old news.
    since_ms: u64,
}

impl Printer {
    /// Prints the rows not printed before, oldest first.
    fn print(&mut self, mut rows: Vec<LogRow>) -> Result<(), CliError> {
        rows.sort_by_key(|r| r.id);
        let now = now_ms();
        let mut text = String::new();
        for row in &rows {
            if !self.seen.insert(row.id) {
                continue;
            }
            self.newest = self.newest.max(row.id);
            if self.json {
                text.push_str(&json_line(row)?);
            } else {
                text.push_str(&self.layout.line(&Cells::of(row, now), self.color));
                text.push('\n');
            }
        }
        while self.seen.len() > REMEMBER {
            self.seen.pop_first();
        }
        if text.is_empty() { Ok(()) } else { emit(&text) }
    }

    /// Asks the store for rows the watch may have missed: started shortly before the newest
    /// printed, ended after following began.
    fn catch_up(&mut self, store: &Store, query: &LogQuery) -> Result<(), CliError> {
        let from = self.newest.time_ms().saturating_sub(LONGEST);
        let rows = store.logs(&LogQuery {
            since_ms: Some(query.since_ms.map_or(from, |s| s.max(from))),
            oldest_first: true,
            limit: None,
            ..query.clone()
        })?;
        let since = self.since_ms;
        let ended_lately = |r: &LogRow| r.id.time_ms() + r.total_us / 1000 >= since;
        let fresh: Vec<LogRow> = rows
            .into_iter()
            .filter(|r| ended_lately(r) && !self.seen.contains(&r.id))
            .collect();
        self.print(fresh)
    }

    /// Of `rows` (just written), those the store finds `query.search` in.
    fn searched(
        &self,
        store: &Store,
        query: &LogQuery,
        rows: &[LogRow],
    ) -> Result<Vec<LogRow>, CliError> {
        let ids: BTreeSet<RequestId> = rows.iter().map(|r| r.id).collect();
        let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
            return Ok(Vec::new());
        };
        let found = store.logs(&LogQuery {
            since_ms: Some(first.time_ms()),
            until_ms: Some(last.time_ms() + 1),
            limit: None,
            ..query.clone()
        })?;
        Ok(found.into_iter().filter(|r| ids.contains(&r.id)).collect())
    }
}
