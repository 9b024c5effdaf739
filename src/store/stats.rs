//! `bgw logs stats`: rows folded into totals per group, where the rows are.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::logs::LogRow;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsBy {
    /// One group for everything.
    #[default]
    All,
    Provider,
    Model,
    Session,
    /// The caller's virtual key.
    Key,
    /// The caller's team.
    Team,
    /// The caller's customer.
    Customer,
}

/// Totals of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsRow {
    /// The group's value (`-` where rows have none); `all` when not grouped.
    pub group: String,
    pub requests: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// Dollars for the rows with a known price.
    pub cost: f64,
    /// Rows without a known price (not counted in `cost`).
    pub unpriced: u64,
    /// Total latency percentiles, in milliseconds.
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Time to first byte, median, in milliseconds.
    pub first_byte_p50_ms: Option<f64>,
}

impl StatsRow {
    /// Errors per request, 0 to 1.
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

/// Accumulates rows; [`Fold::finish`] gives one [`StatsRow`] per group, most requests first.
#[derive(Debug, Default)]
pub struct Fold {
    by: StatsBy,
    groups: BTreeMap<String, Group>,
}

#[derive(Debug, Default)]
struct Group {
    row: StatsRow,
    totals_us: Vec<u64>,
    first_bytes_us: Vec<u64>,
}

impl Fold {
    /// An empty fold grouping by `by`.
    pub fn new(by: StatsBy) -> Fold {
        Fold {
            by,
            groups: BTreeMap::new(),
        }
    }

    /// Counts one row.
    pub fn add(&mut self, row: &LogRow) {
        let key = match self.by {
            StatsBy::All => "all".to_owned(),
            StatsBy::Provider => or_dash(&row.provider),
            StatsBy::Model => or_dash(&row.upstream_model),
            StatsBy::Session => or_dash(row.session.as_deref().unwrap_or("")),
            StatsBy::Key => or_dash(caller_part(row, |c| &c.key)),
            StatsBy::Team => or_dash(caller_part(row, |c| &c.team)),
            StatsBy::Customer => or_dash(caller_part(row, |c| &c.customer)),
        };
        let g = self.groups.entry(key).or_default();
        let r = &mut g.row;
        r.requests += 1;
        if row.failed() {
            r.errors += 1;
        }
        r.input_tokens += row.usage.input_tokens;
        r.output_tokens += row.usage.output_tokens;
        r.cache_read_tokens += row.usage.cache_read_input_tokens;
        r.cache_write_tokens += row.usage.cache_creation_input_tokens;
        match row.cost {
            Some(c) => r.cost += c,
            // A refused request costs nothing; only an answered one without a price is unknown.
            None if !row.failed() => r.unpriced += 1,
            None => {}
        }
        g.totals_us.push(row.total_us);
        if let Some(f) = row.first_byte_us {
            g.first_bytes_us.push(f);
        }
    }

    /// The totals, the group with most requests first.
    pub fn finish(self) -> Vec<StatsRow> {
        let mut out: Vec<StatsRow> = self
            .groups
            .into_iter()
            .map(|(group, mut g)| {
                g.totals_us.sort_unstable();
                g.first_bytes_us.sort_unstable();
                g.row.group = group;
                g.row.p50_ms = percentile_ms(&g.totals_us, 50).unwrap_or(0.0);
                g.row.p95_ms = percentile_ms(&g.totals_us, 95).unwrap_or(0.0);
                g.row.first_byte_p50_ms = percentile_ms(&g.first_bytes_us, 50);
                g.row
            })
            .collect();
        out.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.group.cmp(&b.group)));
        out
    }
}

/// One part of a row's caller, or `""`.
fn caller_part(
    row: &LogRow,
    part: impl Fn(&crate::govern::scope::Caller) -> &Option<String>,
) -> &str {
    row.caller
        .as_ref()
        .and_then(|c| part(c).as_deref())
        .unwrap_or("")
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".to_owned()
    } else {
        s.to_owned()
    }
}

/// The `p`th percentile (nearest rank) of sorted microseconds, in milliseconds.
fn percentile_ms(sorted_us: &[u64], p: usize) -> Option<f64> {
    if sorted_us.is_empty() {
        return None;
    }
    let rank = (p * sorted_us.len()).div_ceil(100).max(1);
    Some(sorted_us[rank - 1] as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let us: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&us, 50), Some(50.0));
        assert_eq!(percentile_ms(&us, 95), Some(95.0));
        assert_eq!(percentile_ms(&[7000], 95), Some(7.0));
        assert_eq!(percentile_ms(&[], 50), None);
    }
}
