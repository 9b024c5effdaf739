//! What a budget counts, and the accounts the ledger keeps: one per meter and window.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::period::Period;
use super::scope::{BudgetId, Scope};

/// The quantity a meter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Money, in [`super::amount::Nanodollars`].
    Usd,
    /// Requests sent upstream.
    Requests,
    /// Tokens, input and output.
    Tokens,
}

impl Metric {
    fn as_str(self) -> &'static str {
        match self {
            Metric::Usd => "usd",
            Metric::Requests => "requests",
            Metric::Tokens => "tokens",
        }
    }

    fn parse(word: &str) -> Option<Metric> {
        match word {
            "usd" => Some(Metric::Usd),
            "requests" => Some(Metric::Requests),
            "tokens" => Some(Metric::Tokens),
            _ => None,
        }
    }
}

/// One quantity of one budget over its period: `team/eng#usd/month`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Meter {
    pub budget: BudgetId,
    pub metric: Metric,
    pub period: Period,
}

impl Meter {
    /// The meter's name in the ledger: `team/eng#usd/month`, `global#tokens/day`.
    pub fn key(&self) -> String {
        format!(
            "{}#{}/{}",
            self.budget.key(),
            self.metric.as_str(),
            self.period
        )
    }

    /// Reads a name [`Meter::key`] wrote.
    pub fn parse(key: &str) -> Option<Meter> {
        let (budget, what) = key.rsplit_once('#')?;
        let (metric, period) = what.split_once('/')?;
        let (scope, name) = match budget.split_once('/') {
            Some((scope, name)) => (scope, name),
            None => (budget, ""),
        };
        let scope = Scope::CHAIN.into_iter().find(|s| s.as_str() == scope)?;
        Some(Meter {
            budget: BudgetId::new(scope, name),
            metric: Metric::parse(metric)?,
            period: Period::parse(period).ok()?,
        })
    }
}

impl fmt::Display for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// A meter in one window of its period (the window's start, ms since the epoch): what the
/// ledger keeps a sum for. A new window is a new account, so a period resets by itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Account {
    pub meter: String,
    pub window: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_names_round_trip() {
        let m = Meter {
            budget: BudgetId::new(Scope::Team, "eng"),
            metric: Metric::Usd,
            period: Period::Month,
        };
        assert_eq!(m.key(), "team/eng#usd/month");
        assert_eq!(Meter::parse(&m.key()), Some(m));
        let g = Meter {
            budget: BudgetId::new(Scope::Global, ""),
            metric: Metric::Tokens,
            period: Period::Days(30),
        };
        assert_eq!(g.key(), "global#tokens/30d");
        assert_eq!(Meter::parse(&g.key()), Some(g));
        // A name may hold `/` and `#`: the last `#` splits.
        let k = Meter::parse("key/a#b/c#requests/minute").unwrap();
        assert_eq!(k.budget.name, "a#b/c");
        assert_eq!(Meter::parse("nope#usd/month"), None);
    }
}
