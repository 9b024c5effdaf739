//! Where a budget stands now: its current window, what it has spent of its limit, and
//! whether it has passed its warning threshold. For `bgw budget`, `bgw run`'s session line
//! and the usage headers Claude Code shows a warning from.

use std::sync::Arc;

use super::admit::Rule;
use super::amount::Nanodollars;
use super::meter::{Account, Meter, Metric};
use super::period::{Window, format_instant};
use crate::observe::session::thousands;

/// One meter of one budget in its current window.
#[derive(Debug, Clone)]
pub struct Standing {
    pub rule: Arc<Rule>,
    pub meter: Meter,
    pub account: Account,
    pub window: Window,
    pub limit: u64,
    /// Charged and on disk.
    pub spent: u64,
    /// Held by running gateways for requests in flight (and their unused slices).
    pub held: u64,
}

impl Standing {
    /// Every meter of `rule` in the window of `now_ms`, with nothing spent yet.
    pub fn of(rule: &Arc<Rule>, now_ms: u64) -> Vec<Standing> {
        rule.meters
            .iter()
            .map(|(meter, key, limit)| {
                let window = rule.window(meter.period, now_ms);
                Standing {
                    rule: Arc::clone(rule),
                    meter: meter.clone(),
                    account: Account {
                        meter: key.clone(),
                        window: window.start_ms,
                    },
                    window,
                    limit: *limit,
                    spent: 0,
                    held: 0,
                }
            })
            .collect()
    }

    /// The share of the limit spent, 0 to 1 (1 for a limit of 0).
    pub fn used(&self) -> f64 {
        if self.limit == 0 {
            return 1.0;
        }
        (self.spent as f64 / self.limit as f64).min(1.0)
    }

    /// Whether it has passed its warning threshold (money budgets only).
    pub fn warns(&self) -> bool {
        self.meter.metric == Metric::Usd
            && self.used() * 100.0 >= f64::from(self.rule.record.warn_pct)
    }

    /// A quantity of this meter as a person reads it: `$412.50`, `1,200 tokens`.
    pub fn amount(&self, n: u64) -> String {
        match self.meter.metric {
            Metric::Usd => Nanodollars(n).to_string(),
            Metric::Requests => format!("{} requests", thousands(n)),
            Metric::Tokens => format!("{} tokens", thousands(n)),
        }
    }

    /// The limit as set: `$500.00/month`, `60 requests/minute`, `$5.00` (in total).
    pub fn limit_text(&self) -> String {
        match self.meter.period {
            super::period::Period::Total => self.amount(self.limit),
            period => format!("{}/{period}", self.amount(self.limit)),
        }
    }

    /// When the window ends, as `2027-01-01 00:00 UTC`; `None` for a budget that never resets.
    pub fn resets(&self) -> Option<String> {
        self.window
            .end_ms
            .map(|end| format_instant(end, &self.rule.tz, self.rule.tz_name()))
    }

    /// `team eng 82% of $500.00/month`: for the end-of-session line.
    pub fn summary(&self) -> String {
        format!(
            "{} {:.0}% of {}",
            self.rule.record.id,
            self.used() * 100.0,
            self.limit_text()
        )
    }
}
