//! `bgw logs -f`: the newest rows, then every new one as the store's owner commits it.
//!
//! Rows come from [`Store::watch`], which hears every gateway's writes. A row is printed once
//! (ids seen are remembered). The store is asked again for rows after the newest seen when the
//! watch may have missed some: just after it starts (it connects in its own thread), after the
//! owner changed ([`Watch::Reconnected`]), and for `--search`, which only the store can apply.

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
        // Without rows yet, "new" means started from now on.
        newest: RequestId::floor(now_ms()),
    };
    let mut tail = store.logs(&LogQuery {
        limit: Some(tail.unwrap_or(TAIL)),
        oldest_first: false,
        ..query.clone()
    })?;
    tail.reverse();
    if !json {
        emit(&format!("{}\n", out.layout.header()))?;
    }
    out.print(&tail)?;
    let mut caught_up = false;
    loop {
        match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(Watch::Rows(mut rows)) if query.search.is_none() => {
                rows.retain(|r| query.admits(r));
                rows.sort_by_key(|r| r.id);
                out.print(&rows)?;
            }
            Ok(Watch::Rows(_)) | Ok(Watch::Reconnected) => out.catch_up(store, &query)?,
            Ok(Watch::Config) => {}
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
    newest: RequestId,
}

impl Printer {
    /// Prints the rows not printed before.
    fn print(&mut self, rows: &[LogRow]) -> Result<(), CliError> {
        let now = now_ms();
        let mut text = String::new();
        for row in rows {
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

    /// Asks the store for the rows after the newest printed.
    fn catch_up(&mut self, store: &Store, query: &LogQuery) -> Result<(), CliError> {
        let rows = store.logs(&LogQuery {
            after: Some(self.newest),
            oldest_first: true,
            limit: None,
            ..query.clone()
        })?;
        self.print(&rows)
    }
}
