//! `bgw budget`: what may be spent, per key, team, customer, provider or in all, and rate limits.

use clap::{Args, Subcommand};
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;

use super::CliError;
use super::output::{emit, table, warn};
use crate::govern::admit::Rule;
use crate::govern::meter::Metric;
use crate::govern::period::{Period, parse_count_limit, parse_money_limit, parse_tz};
use crate::govern::scope::{BudgetId, Scope};
use crate::govern::standing::Standing;
use crate::govern::vkey::check_name;
use crate::store::Store;
use crate::store::budgets::BudgetRecord;

/// `bgw budget` options: without a subcommand, every budget and where it stands.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BudgetArgs {
    #[command(subcommand)]
    pub command: Option<BudgetCommand>,

    /// One JSON array instead of the table
    #[arg(long)]
    pub json: bool,
}

/// `bgw budget` subcommands.
#[derive(Debug, Subcommand)]
pub enum BudgetCommand {
    /// Set a budget or rate limit: `bgw budget set team eng 500/month`
    ///
    /// SCOPE is key (a virtual key), team, customer, provider, provider-key (a stored provider
    /// key, for its rate limits) or global (no NAME). LIMIT is US dollars per period: `500`,
    /// `$500` or `500.50`, then `/hour`, `/day`, `/week`, `/month`, `/year`, `/total`, or a
    /// number of days (`/30d`, exactly 30 × 24 h from when the budget is first set). Calendar
    /// periods start at the period's start (a day at midnight, a week on Monday, a month on the
    /// 1st) in UTC, or in the zone `--tz` names: the IANA time zone database, bundled with bgw
    /// (through the jiff crate), so a DST change never moves a reset. A team or customer that
    /// does not exist yet is made. Setting one part keeps the others.
    Set(SetArgs),
    /// Remove a scope's budget and rate limits: `bgw budget rm team eng`
    Rm {
        /// key, team, customer, provider, provider-key or global
        scope: String,
        /// The name within the scope (none for global)
        name: Option<String>,
    },
}

/// `bgw budget set` options.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// key, team, customer, provider, provider-key or global
    pub scope: String,

    /// NAME then LIMIT (`eng 500/month`); for global only LIMIT
    #[arg(value_name = "NAME LIMIT", num_args = 0..=2)]
    pub rest: Vec<String>,

    /// Requests per period, for all the scope's callers together (`60/min`)
    #[arg(long, value_name = "N/PERIOD")]
    pub rate: Option<String>,

    /// Tokens per period, input and output (`100k/min`, `2M/day`); once per period
    #[arg(long, value_name = "N/PERIOD")]
    pub tokens: Vec<String>,

    /// IANA time zone of the calendar periods (`Asia/Shanghai`) [default: UTC]
    #[arg(long, value_name = "AREA/CITY")]
    pub tz: Option<String>,

    /// Warn from this percentage of the money budget on [default: 80] (Claude Code shows its
    /// usage warning only from 70% on; `bgw budget` and `bgw run`'s last line from this)
    #[arg(long, value_name = "PCT", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub warn: Option<u8>,
}

/// Runs `bgw budget`.
pub fn run(store: &Store, args: BudgetArgs) -> Result<ExitCode, CliError> {
    match args.command {
        None => list(store, args.json),
        Some(BudgetCommand::Set(set_args)) => set(store, set_args),
        Some(BudgetCommand::Rm { scope, name }) => {
            let id = budget_id(&scope, name.as_deref())?;
            if store.remove_budget(&id)? {
                eprintln!("removed the budget of {id}; running gateways stop counting it now");
                Ok(ExitCode::SUCCESS)
            } else {
                Err(CliError::new(format!("{id} has no budget"))
                    .hint("`bgw budget` lists them")
                    .code(1))
            }
        }
    }
}

/// The budget a scope and name address, the name checked.
fn budget_id(scope: &str, name: Option<&str>) -> Result<BudgetId, CliError> {
    let scope = Scope::parse(scope).map_err(CliError::new)?;
    match (scope, name) {
        (Scope::Global, None) => Ok(BudgetId::new(Scope::Global, "")),
        (Scope::Global, Some(n)) => Err(CliError::new(format!(
            "`global` takes no name, but `{n}` was given"
        ))
        .hint("`bgw budget set global 1000/month`")),
        (_, None) => Err(
            CliError::new(format!("which {scope}? name it after `{scope}`"))
                .hint(format!("`bgw budget set {scope} NAME 500/month`")),
        ),
        (_, Some(n)) => {
            check_name(scope.as_str(), n).map_err(CliError::new)?;
            Ok(BudgetId::new(scope, n))
        }
    }
}

fn set(store: &Store, args: SetArgs) -> Result<ExitCode, CliError> {
    let scope = Scope::parse(&args.scope).map_err(CliError::new)?;
    let (name, limit) = match (scope, args.rest.as_slice()) {
        (Scope::Global, [limit]) => (None, Some(limit.as_str())),
        (Scope::Global, []) => (None, None),
        (Scope::Global, [first, ..]) => {
            return Err(CliError::new(format!(
                "`global` takes no name, only a limit, but `{first}` came first"
            ))
            .hint("`bgw budget set global 1000/month`"));
        }
        (_, [name]) => (Some(name.as_str()), None),
        (_, [name, limit]) => (Some(name.as_str()), Some(limit.as_str())),
        (_, _) => (None, None),
    };
    let id = budget_id(&args.scope, name)?;
    // Everything is read before anything is stored.
    let money = limit
        .map(parse_money_limit)
        .transpose()
        .map_err(CliError::new)?;
    let rate = args
        .rate
        .as_deref()
        .map(parse_count_limit)
        .transpose()
        .map_err(|e| CliError::new(format!("`--rate`: {e}")))?;
    let tokens = args
        .tokens
        .iter()
        .map(|t| parse_count_limit(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::new(format!("`--tokens`: {e}")))?;
    let tz = match args.tz.as_deref() {
        Some(name) => {
            parse_tz(name).map_err(CliError::new)?;
            Some(name.trim().to_owned())
        }
        None => None,
    };
    if money.is_none() && rate.is_none() && tokens.is_empty() && tz.is_none() && args.warn.is_none()
    {
        return Err(CliError::new(format!("nothing to set for {id}")).hint(format!(
            "give a limit (`bgw budget set {id} 500/month`), `--rate 60/min` or `--tokens 2M/day`"
        )));
    }
    check_target(store, &id)?;
    let before = store.budget(&id)?;
    let stored = store.edit_budget(&id, |rec| {
        if let Some(m) = money {
            rec.money = Some(m);
        }
        if let Some(r) = rate {
            rec.requests = Some(r);
        }
        for t in &tokens {
            rec.tokens.retain(|old| old.period != t.period);
            rec.tokens.push(*t);
        }
        if let Some(tz) = &tz {
            rec.tz = (tz != "UTC").then(|| tz.clone());
        }
        if let Some(w) = args.warn {
            rec.warn_pct = w;
        }
        Ok(())
    })?;
    let Some(stored) = stored else {
        return Err(CliError::new(format!(
            "{id} has no budget or rate limit to apply `--tz` or `--warn` to"
        ))
        .hint(format!("give a limit too: `bgw budget set {id} 500/month`")));
    };
    if matches!(id.scope, Scope::Team | Scope::Customer)
        && store.ensure_group(id.scope, &id.name)?
    {
        eprintln!("made {} `{}`", id.scope, id.name);
    }
    let rule = Arc::new(Rule::new(stored));
    for s in Standing::of(&rule, crate::store::now_ms()) {
        let was = before.as_ref().and_then(|b| previous(b, &s));
        let resets = s
            .resets()
            .map_or_else(|| "never resets".to_owned(), |r| format!("resets {r}"));
        let was = was.map_or_else(String::new, |w| format!(" (was {w})"));
        eprintln!("{id}: {}{was}, {resets}", s.limit_text());
    }
    eprintln!("running gateways apply it from their next request");
    Ok(ExitCode::SUCCESS)
}

/// What the same meter was limited to before, when it changed.
fn previous(before: &BudgetRecord, now: &Standing) -> Option<String> {
    let rule = Arc::new(Rule::new(before.clone()));
    Standing::of(&rule, crate::store::now_ms())
        .into_iter()
        .find(|b| {
            b.meter.metric == now.meter.metric
                && (b.meter.metric != Metric::Tokens || b.meter.period == now.meter.period)
        })
        .map(|b| b.limit_text())
        .filter(|old| *old != now.limit_text())
}

/// Refuses a budget for a virtual key or provider key that does not exist; warns of a
/// provider bgw does not know.
fn check_target(store: &Store, id: &BudgetId) -> Result<(), CliError> {
    match id.scope {
        Scope::Key if store.virtual_key(&id.name)?.is_none() => Err(CliError::new(format!(
            "no virtual key `{}`",
            id.name
        ))
        .hint(format!(
            "make it with `bgw keys virtual create {}`, or see them with `bgw keys virtual list`",
            id.name
        ))),
        Scope::ProviderKey if !store.keys()?.iter().any(|k| k.name == id.name) => {
            Err(CliError::new(format!("no provider key `{}`", id.name))
                .hint("`bgw keys list` shows their names"))
        }
        Scope::Provider => {
            let known = crate::providers::builtin(&id.name).is_some()
                || store.keys()?.iter().any(|k| k.provider == id.name);
            if !known {
                warn(&format!(
                    "no provider `{}` is configured yet; the budget applies once one is",
                    id.name
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// One meter of one budget, as `bgw budget --json` gives it.
#[derive(Debug, Serialize)]
struct Row {
    scope: Scope,
    name: String,
    /// `usd`, `requests` or `tokens`.
    metric: &'static str,
    /// Nanodollars for `usd`.
    limit: u64,
    period: Period,
    tz: String,
    spent: u64,
    left: u64,
    /// Held by running gateways for requests in flight.
    in_flight: u64,
    used_pct: f64,
    warn_pct: u8,
    warning: bool,
    window_start: String,
    resets_at: Option<String>,
}

fn list(store: &Store, json: bool) -> Result<ExitCode, CliError> {
    let now = crate::store::now_ms();
    let mut standings: Vec<Standing> = store
        .budgets()?
        .into_iter()
        .flat_map(|r| Standing::of(&Arc::new(Rule::new(r)), now))
        .collect();
    let states = store.accounts(standings.iter().map(|s| s.account.clone()).collect())?;
    for (s, state) in standings.iter_mut().zip(states) {
        s.spent = state.spent;
        s.held = state.held;
    }
    if json {
        let rows: Vec<Row> = standings.iter().map(row).collect();
        let text = serde_json::to_string_pretty(&rows)
            .map_err(|e| CliError::new(format!("cannot write JSON: {e}")))?;
        emit(&format!("{text}\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    if standings.is_empty() {
        eprintln!("no budgets yet; set one with `bgw budget set team eng 500/month`");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = standings
        .iter()
        .map(|s| {
            let id = &s.rule.record.id;
            vec![
                id.scope.to_string(),
                if id.name.is_empty() {
                    "-".into()
                } else {
                    id.name.clone()
                },
                s.limit_text(),
                s.amount(s.spent),
                s.amount(s.limit.saturating_sub(s.spent)),
                s.resets().unwrap_or_else(|| "never".into()),
                bar(s),
            ]
        })
        .collect();
    emit(&table(
        &["SCOPE", "NAME", "LIMIT", "SPENT", "LEFT", "RESETS", "USED"],
        &rows,
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `████████░░░░░░░░░░░░  41%`, with `⚠` past the warning threshold.
fn bar(s: &Standing) -> String {
    const WIDTH: usize = 20;
    let used = s.used();
    let full = ((used * WIDTH as f64).round() as usize).min(WIDTH);
    let mark = if s.warns() { " ⚠" } else { "" };
    format!(
        "{}{} {:>3.0}%{mark}",
        "█".repeat(full),
        "░".repeat(WIDTH - full),
        used * 100.0
    )
}

fn row(s: &Standing) -> Row {
    let id = &s.rule.record.id;
    let at = |ms: u64| {
        jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX))
            .map(|t| t.to_string())
            .unwrap_or_default()
    };
    Row {
        scope: id.scope,
        name: id.name.clone(),
        metric: match s.meter.metric {
            Metric::Usd => "usd",
            Metric::Requests => "requests",
            Metric::Tokens => "tokens",
        },
        limit: s.limit,
        period: s.meter.period,
        tz: s.rule.tz_name().to_owned(),
        spent: s.spent,
        left: s.limit.saturating_sub(s.spent),
        in_flight: s.held,
        used_pct: (s.used() * 1000.0).round() / 10.0,
        warn_pct: s.rule.record.warn_pct,
        warning: s.warns(),
        window_start: at(s.window.start_ms),
        resets_at: s.window.end_ms.map(at),
    }
}
