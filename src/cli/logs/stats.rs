//! `bgw logs stats`: totals per group.

use std::process::ExitCode;

use super::{By, StatsArgs, emit};
use crate::cli::CliError;
use crate::cli::format::{percent, secs_ms, thousands, truncate, usd};
use crate::cli::output::table;
use crate::store::Store;
use crate::store::stats::{StatsBy, StatsRow};

/// Prints the totals of the rows the filters select.
pub fn run(store: &Store, args: &StatsArgs, json: bool) -> Result<ExitCode, CliError> {
    let by = match args.by {
        By::All => StatsBy::All,
        By::Provider => StatsBy::Provider,
        By::Model => StatsBy::Model,
        By::Session => StatsBy::Session,
        By::Key => StatsBy::Key,
        By::Team => StatsBy::Team,
        By::Customer => StatsBy::Customer,
    };
    let query = args.filter.query();
    let rows = store.log_stats(&query, by)?;
    if json {
        let mut out = String::new();
        for r in &rows {
            let line = serde_json::to_string(r)
                .map_err(|e| CliError::new(format!("cannot write totals as JSON: {e}")))?;
            out.push_str(&line);
            out.push('\n');
        }
        emit(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("{}", super::nothing_found(&query));
        return Ok(ExitCode::SUCCESS);
    }
    let unpriced: u64 = rows.iter().map(|r| r.unpriced).sum();
    let mut rows = rows;
    if rows.len() > 1 {
        // Percentiles do not add up across groups: the total is counted from the rows.
        if let Some(mut all) = store.log_stats(&query, StatsBy::All)?.into_iter().next() {
            all.group = "total".into();
            rows.push(all);
        }
    }
    let color = super::color();
    emit(&render(&rows, by_name(args.by), super::width(), color))?;
    if unpriced > 0 {
        eprintln!(
            "{} answered request{} no known price and {} not in the cost (`+N?`); `bgw logs --status ok` shows which",
            thousands(unpriced),
            if unpriced == 1 { " has" } else { "s have" },
            if unpriced == 1 { "is" } else { "are" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn by_name(by: By) -> &'static str {
    match by {
        By::All => "ALL",
        By::Provider => "PROVIDER",
        By::Model => "MODEL",
        By::Session => "SESSION",
        By::Key => "KEY",
        By::Team => "TEAM",
        By::Customer => "CUSTOMER",
    }
}

/// The totals table; a group name too long for `width` is cut with `…`.
pub fn render(rows: &[StatsRow], by: &str, width: usize, color: bool) -> String {
    let (yellow, reset) = if color {
        ("\x1b[33m", "\x1b[0m")
    } else {
        ("", "")
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let cost = if r.unpriced > 0 {
                format!("{} {yellow}+{}?{reset}", usd(r.cost), r.unpriced)
            } else {
                usd(r.cost)
            };
            vec![
                r.group.clone(),
                thousands(r.requests),
                percent(r.error_rate()),
                thousands(r.input_tokens + r.cache_read_tokens + r.cache_write_tokens),
                thousands(r.output_tokens),
                cost,
                secs_ms(r.p50_ms),
                secs_ms(r.p95_ms),
            ]
        })
        .collect();
    // Everything but the group keeps its width; the group takes what is left (at least 12).
    let others: usize = (1..8)
        .map(|i| {
            cells
                .iter()
                .map(|c| visible_len(&c[i]))
                .max()
                .unwrap_or(0)
                .max(8)
                + 2
        })
        .sum();
    let room = width.saturating_sub(others).max(12);
    let cells: Vec<Vec<String>> = cells
        .into_iter()
        .map(|mut c| {
            c[0] = truncate(&c[0], room);
            c
        })
        .collect();
    let header = [by, "REQUESTS", "ERRORS", "IN", "OUT", "COST", "P50", "P95"];
    if color {
        // The table pads by characters; colour codes would count. Pad plain, then paint.
        let plain: Vec<Vec<String>> = cells
            .iter()
            .map(|c| c.iter().map(|s| strip(s)).collect())
            .collect();
        let mut text = table(&header, &plain);
        for r in rows.iter().filter(|r| r.unpriced > 0) {
            let mark = format!("+{}?", r.unpriced);
            text = text.replace(&mark, &format!("{yellow}{mark}{reset}"));
        }
        text
    } else {
        table(&header, &cells)
    }
}

fn strip(s: &str) -> String {
    s.replace("\x1b[33m", "").replace("\x1b[0m", "")
}

fn visible_len(s: &str) -> usize {
    strip(s).chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_show_errors_tokens_cost_and_latency() {
        let rows = vec![StatsRow {
            group: "groq".into(),
            requests: 40,
            errors: 1,
            input_tokens: 10_000,
            output_tokens: 2_000,
            cache_read_tokens: 500,
            cost: 0.5,
            unpriced: 3,
            p50_ms: 410.0,
            p95_ms: 2_300.0,
            ..StatsRow::default()
        }];
        let text = render(&rows, "PROVIDER", 100, false);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            [
                "PROVIDER", "REQUESTS", "ERRORS", "IN", "OUT", "COST", "P50", "P95"
            ]
        );
        let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(
            row,
            [
                "groq", "40", "2.5%", "10,500", "2,000", "$0.5000", "+3?", "0.41s", "2.3s"
            ]
        );
    }
}
