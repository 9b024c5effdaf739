//! `bgw logs`: the request log as a table, as JSON lines, one request whole, totals, followed
//! live, and its settings.

mod follow;
mod settings;
mod show;
mod stats;
pub mod table;
pub mod time;

use clap::{Args, Subcommand, ValueEnum};
use clap_complete::ArgValueCandidates;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;

use super::CliError;
use super::format::thousands;
use crate::store::logs::{LogQuery, LogRow, StatusFilter};
use crate::store::{Store, now_ms};
use table::{Cells, Layout};

/// Rows the table shows unless `--limit` says otherwise.
const DEFAULT_LIMIT: usize = 50;

/// `bgw logs` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Times in the table are UTC. The ID column is the start of each request's id; \
`bgw logs show` takes it.\n\nExamples:\n  bgw logs --provider groq --status error --since 2h\n  \
bgw logs -f\n  bgw logs show 01KAVQ2Z8R4N\n  bgw logs --json --since 7d | jq .cost\n  \
bgw logs stats --since 7d --by model"
)]
pub struct LogsArgs {
    #[command(subcommand)]
    pub command: Option<LogsCommand>,

    #[command(flatten)]
    pub filter: Filter,

    /// Show at most N requests, the newest [default: 50 in the table, all with --json]
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<usize>,

    /// Print the newest requests (10, or --limit), then each new one as it is logged, from
    /// every running gateway (like `tail -f`; Ctrl-C ends it)
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// One JSON object per line instead of the table (newest first; with --follow, in the
    /// order they are logged)
    #[arg(long, global = true)]
    pub json: bool,
}

/// `bgw logs` subcommands.
#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// One request whole: timings, attempts, the request and the response
    Show {
        /// The request's id, or its start as the table shows it
        #[arg(add = ArgValueCandidates::new(super::complete::log_ids))]
        id: String,
    },
    /// Totals per provider, model, session, virtual key, team or customer: requests, errors,
    /// tokens, cost, latency
    Stats(StatsArgs),
    /// Show or change what the request log keeps and for how long
    Settings(SettingsArgs),
}

/// Which requests to show (every flag narrows).
#[derive(Debug, Clone, Default, Args)]
pub struct Filter {
    /// Only requests served by this provider (`openai`, `groq`, …)
    #[arg(long, value_name = "NAME", add = ArgValueCandidates::new(super::complete::configured_providers))]
    pub provider: Option<String>,

    /// Only requests for this model (the upstream model or the one asked for)
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,

    /// Only `ok` requests, only `error`s (refused or broken off), or one HTTP status (`429`)
    #[arg(long, value_name = "ok|error|CODE", value_parser = parse_status)]
    pub status: Option<StatusFilter>,

    /// Only requests started at or after WHEN: a duration ago (`30s`, `90m`, `2h`, `7d`), a
    /// date (`2026-11-20`) or date and time (`2026-11-20T14:00`), both UTC, or RFC 3339 with
    /// `Z` or an offset
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub since: Option<u64>,

    /// Only requests started before WHEN (the forms of --since)
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub until: Option<u64>,

    /// Only requests whose request, response or error contains TEXT (any case)
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,

    /// Only requests of one Claude Code session (its session id)
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,

    /// Only requests made with this virtual key
    #[arg(long, value_name = "NAME")]
    pub key: Option<String>,

    /// Only requests of this team's virtual keys
    #[arg(long, value_name = "NAME")]
    pub team: Option<String>,

    /// Only requests of this customer's virtual keys
    #[arg(long, value_name = "NAME")]
    pub customer: Option<String>,
}

impl Filter {
    /// These flags, each missing one taken from `other`.
    pub fn or(self, other: Filter) -> Filter {
        Filter {
            provider: self.provider.or(other.provider),
            model: self.model.or(other.model),
            status: self.status.or(other.status),
            since: self.since.or(other.since),
            until: self.until.or(other.until),
            search: self.search.or(other.search),
            session: self.session.or(other.session),
            key: self.key.or(other.key),
            team: self.team.or(other.team),
            customer: self.customer.or(other.customer),
        }
    }

    /// The store query these flags make.
    pub fn query(&self) -> LogQuery {
        LogQuery {
            since_ms: self.since,
            until_ms: self.until,
            provider: self.provider.clone(),
            model: self.model.clone(),
            session: self.session.clone(),
            key: self.key.clone(),
            team: self.team.clone(),
            customer: self.customer.clone(),
            status: self.status,
            search: self.search.clone().filter(|s| !s.is_empty()),
            ..LogQuery::default()
        }
    }
}

/// `bgw logs stats` options.
#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub filter: Filter,

    /// Group the totals by this
    #[arg(long, value_enum, default_value_t = By::Provider)]
    pub by: By,
}

/// What `bgw logs stats` groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum By {
    /// One line for everything
    All,
    Provider,
    /// The upstream model
    Model,
    /// Claude Code's session
    Session,
    /// The virtual key that made the request
    Key,
    /// The virtual key's team
    Team,
    /// The virtual key's customer
    Customer,
}

/// `bgw logs settings` options; without any, the current settings are printed.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Keep each request's body and response (`bgw serve --no-content` still keeps none for
    /// its own requests)
    #[arg(long, value_enum, value_name = "on|off")]
    pub content: Option<OnOff>,

    /// Delete rows older than this (`30d`, `8w`, a number of days), or keep them `forever`
    #[arg(long, value_name = "30d|forever", value_parser = parse_retention)]
    pub retention: Option<Retention>,
}

/// A switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// How long rows are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(pub Option<u32>);

fn parse_status(s: &str) -> Result<StatusFilter, String> {
    match s.to_ascii_lowercase().as_str() {
        "ok" => Ok(StatusFilter::Ok),
        "error" | "err" | "errors" => Ok(StatusFilter::Error),
        code => match code.parse::<u16>() {
            Ok(c) if (100..=599).contains(&c) => Ok(StatusFilter::Code(c)),
            _ => Err("give `ok`, `error`, or an HTTP status such as `429`".into()),
        },
    }
}

fn parse_when(s: &str) -> Result<u64, String> {
    time::parse_point(s, now_ms())
}

fn parse_retention(s: &str) -> Result<Retention, String> {
    let t = s.trim().to_ascii_lowercase();
    if t == "forever" {
        return Ok(Retention(None));
    }
    let days = if let Some(n) = t.strip_suffix('d') {
        n.parse::<u32>().ok()
    } else if let Some(n) = t.strip_suffix('w') {
        n.parse::<u32>().ok().and_then(|w| w.checked_mul(7))
    } else {
        t.parse::<u32>().ok()
    };
    match days {
        Some(d) if d > 0 => Ok(Retention(Some(d))),
        _ => Err("give a number of days (`30d`, `30`), weeks (`8w`), or `forever`".into()),
    }
}

/// Runs `bgw logs`.
pub fn run(store: &Store, args: LogsArgs) -> Result<ExitCode, CliError> {
    let listing = args.filter.query() != LogQuery::default() || args.limit.is_some() || args.follow;
    let result = match args.command {
        Some(LogsCommand::Stats(mut s)) if !args.follow && args.limit.is_none() => {
            // `bgw logs --since 7d stats` means what `bgw logs stats --since 7d` does.
            s.filter = s.filter.or(args.filter);
            stats::run(store, &s, args.json)
        }
        Some(cmd) if listing => {
            let (name, takes, others) = match cmd {
                LogsCommand::Show { .. } => {
                    ("show", "an id", "filters, `--limit` and `--follow` are")
                }
                LogsCommand::Stats(_) => (
                    "stats",
                    "filters and `--by`",
                    "`--limit` and `--follow` are",
                ),
                LogsCommand::Settings(_) => (
                    "settings",
                    "`--content` and `--retention`",
                    "filters, `--limit` and `--follow` are",
                ),
            };
            Err(CliError::new(format!(
                "`bgw logs {name}` takes {takes}; {others} for the list of requests"
            ))
            .hint("`bgw logs --help` shows which options go where"))
        }
        Some(LogsCommand::Show { id }) => show::run(store, &id, args.json),
        Some(LogsCommand::Stats(s)) => stats::run(store, &s, args.json),
        Some(LogsCommand::Settings(s)) => settings::run(store, &s, args.json),
        None if args.follow => follow::run(store, args.filter.query(), args.limit, args.json),
        None => list(store, &args),
    };
    match result {
        // The reader went away (`bgw logs | head`): nothing to say.
        Err(e) if e.code == 0 => Ok(ExitCode::SUCCESS),
        other => other,
    }
}

pub(crate) use super::output::emit;

/// Colour on stdout: only for a terminal, never with `NO_COLOR`.
pub(crate) fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// The width to fit: `COLUMNS`, else the terminal's own width, else 100 (a pipe or a file).
pub(crate) fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or_else(|| {
            terminal_size::terminal_size_of(std::io::stdout())
                .map(|(terminal_size::Width(w), _)| usize::from(w))
        })
        .unwrap_or(100)
}

/// A row as one JSON line.
pub(crate) fn json_line(row: &LogRow) -> Result<String, CliError> {
    serde_json::to_string(row)
        .map(|s| s + "\n")
        .map_err(|e| CliError::new(format!("cannot write a row as JSON: {e}")))
}

fn list(store: &Store, args: &LogsArgs) -> Result<ExitCode, CliError> {
    let mut query = args.filter.query();
    if args.json {
        return json_pages(store, query, args.limit, PAGE, emit).map(|()| ExitCode::SUCCESS);
    }
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    // One more than shown says whether there are more.
    query.limit = Some(limit.saturating_add(1));
    let mut rows = store.logs(&query)?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    if rows.is_empty() {
        eprintln!("{}", nothing_found(&query));
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_ms();
    let cells: Vec<Cells> = rows.iter().map(|r| Cells::of(r, now)).collect();
    let layout = Layout::fit(&cells, width());
    let color = color();
    let mut out = layout.header();
    out.push('\n');
    for c in &cells {
        out.push_str(&layout.line(c, color));
        out.push('\n');
    }
    emit(&out)?;
    if more {
        query.limit = None;
        let total: u64 = store
            .log_stats(&query, crate::store::stats::StatsBy::All)?
            .iter()
            .map(|s| s.requests)
            .sum();
        let rest = total.saturating_sub(rows.len() as u64).max(1);
        eprintln!(
            "{} more; use `--limit {}` to see them",
            thousands(rest),
            rows.len() as u64 + rest
        );
    }
    if let Some(line) = unpriced_line(&rows) {
        eprintln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// What to say when `query` found no row.
pub(crate) fn nothing_found(query: &LogQuery) -> &'static str {
    let unfiltered = LogQuery {
        limit: query.limit,
        ..LogQuery::default()
    };
    if *query == unfiltered {
        "no requests logged yet; requests through `bgw run` or `bgw serve` appear here"
    } else {
        "no request matches these filters"
    }
}

/// Rows asked of the store at once by `--json`, which has no limit of its own.
const PAGE: usize = 1000;

/// Every row `query` selects (up to `limit`), newest first, one JSON line each to `out`,
/// fetched `page` rows at a time so a long log neither waits nor sits in memory whole.
/// A page ends at a millisecond boundary: the rows of its oldest millisecond are fetched
/// together, so the next page (before that millisecond) misses none and repeats none.
fn json_pages(
    store: &Store,
    mut query: LogQuery,
    limit: Option<usize>,
    page: usize,
    mut out: impl FnMut(&str) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let mut left = limit.unwrap_or(usize::MAX);
    let mut print = |rows: &[LogRow], left: &mut usize| -> Result<(), CliError> {
        let mut text = String::new();
        for row in rows.iter().take(*left) {
            text.push_str(&json_line(row)?);
        }
        *left = left.saturating_sub(rows.len());
        out(&text)
    };
    while left > 0 {
        query.limit = Some(page.max(1).min(left));
        let rows = store.logs(&query)?;
        let Some(last) = rows.last() else { break };
        if rows.len() < query.limit.unwrap_or(0) {
            return print(&rows, &mut left);
        }
        let last_ms = last.id.time_ms();
        let before_last: Vec<LogRow> = rows
            .iter()
            .filter(|r| r.id.time_ms() > last_ms)
            .cloned()
            .collect();
        print(&before_last, &mut left)?;
        let whole_ms = store.logs(&LogQuery {
            since_ms: Some(query.since_ms.map_or(last_ms, |s| s.max(last_ms))),
            until_ms: Some(last_ms + 1),
            limit: None,
            ..query.clone()
        })?;
        print(&whole_ms, &mut left)?;
        query.until_ms = Some(last_ms);
    }
    Ok(())
}

/// The line under the table when some answered requests have no known price.
pub(crate) fn unpriced_line(rows: &[LogRow]) -> Option<String> {
    let mut models: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.cost.is_none() && !r.failed()) {
        *models.entry(table::model_of(r)).or_default() += 1;
    }
    let n: u64 = models.values().sum();
    if n == 0 {
        return None;
    }
    let names: Vec<&str> = models.keys().map(String::as_str).collect();
    let (which, target) = match names.as_slice() {
        [one] => (format!("model {one}"), (*one).to_owned()),
        many => (
            format!("models {}", many.join(", ")),
            "PROVIDER/MODEL".into(),
        ),
    };
    Some(format!(
        "{n} request{} no known price ({which}); set one with `bgw models price set {target} --input … --output …`",
        if n == 1 { " has" } else { "s have" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::logs::{Entry, RequestId};

    fn row_at(ms: u64) -> Entry {
        let json = serde_json::json!({
            "id": RequestId::new(ms), "run": "r", "requested_model": "m", "provider": "p",
            "upstream_model": "m", "status": 200, "stream": false, "usage": {},
            "cost": null, "total_us": 1
        });
        Entry {
            row: serde_json::from_value(json).unwrap(),
            content: None,
        }
    }

    #[test]
    fn json_pages_give_every_row_once_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        // Several rows share a millisecond, and one millisecond holds more than a page.
        let times = [
            1000, 1000, 1001, 1002, 1002, 1002, 1002, 1002, 1002, 1003, 1004, 1004,
        ];
        // Recent rows: rows from 1970 are past any retention, and a sweep may take them.
        let base = crate::store::now_ms() - 10_000;
        let entries: Vec<Entry> = times.iter().map(|&t| row_at(base + t)).collect();
        store.append(&entries).unwrap();
        let mut want: Vec<RequestId> = entries.iter().map(|e| e.row.id).collect();
        want.sort_unstable_by(|a, b| b.cmp(a));
        let ids_of = |limit: Option<usize>, page: usize| {
            let mut text = String::new();
            json_pages(&store, LogQuery::default(), limit, page, |t| {
                text.push_str(t);
                Ok(())
            })
            .unwrap();
            text.lines()
                .map(|l| serde_json::from_str::<LogRow>(l).unwrap().id)
                .collect::<Vec<_>>()
        };
        for page in [1, 2, 3, 5, 100] {
            assert_eq!(ids_of(None, page), want, "page {page}");
        }
        for limit in [1, 4, 7, 12, 20] {
            let n = limit.min(want.len());
            assert_eq!(ids_of(Some(limit), 3), want[..n].to_vec(), "limit {limit}");
        }
    }

    #[test]
    fn statuses_are_ok_error_or_a_code() {
        assert_eq!(parse_status("ok"), Ok(StatusFilter::Ok));
        assert_eq!(parse_status("ERROR"), Ok(StatusFilter::Error));
        assert_eq!(parse_status("429"), Ok(StatusFilter::Code(429)));
        assert!(parse_status("42").unwrap_err().contains("`429`"));
        assert!(parse_status("bad").is_err());
    }

    #[test]
    fn retention_is_days_weeks_or_forever() {
        assert_eq!(parse_retention("30d"), Ok(Retention(Some(30))));
        assert_eq!(parse_retention("8w"), Ok(Retention(Some(56))));
        assert_eq!(parse_retention("7"), Ok(Retention(Some(7))));
        assert_eq!(parse_retention("forever"), Ok(Retention(None)));
        assert!(parse_retention("0d").is_err());
        assert!(parse_retention("a month").unwrap_err().contains("forever"));
    }
}
