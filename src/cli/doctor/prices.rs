//! Models used in the last 30 days that have no price: their requests' cost is unknown (and a
//! money budget refuses them), so each gets the `bgw models price set` that gives it one.

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

use super::Check;
use crate::store::logs::LogQuery;
use crate::store::stats::StatsBy;
use crate::store::{Store, StoreError, now_ms};

/// How far back the log is read.
const DAYS: u64 = 30;
/// How long reading it may take.
const WAIT: Duration = Duration::from_secs(10);
/// At most this many models are named, one line each.
const MAX_LINES: usize = 10;
/// Rows read per model to find the providers that served it.
const ROWS_PER_MODEL: usize = 200;

/// One line per model without a price, or one line saying every model has one.
pub fn check(store: &Store) -> Vec<Check> {
    let store = store.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(unpriced(&store));
    });
    let found = rx
        .recv_timeout(WAIT)
        .unwrap_or(Err(StoreError::Timeout(WAIT)));
    let missing = match found {
        Ok(m) => m,
        Err(e) => {
            return vec![Check::warn(
                "prices",
                format!("cannot read the request log: {e}"),
                None,
            )];
        }
    };
    if missing.is_empty() {
        return vec![Check::pass(
            "prices",
            format!("every model used in the last {DAYS} days has a price"),
        )];
    }
    let mut checks: Vec<Check> = missing
        .iter()
        .take(MAX_LINES)
        .map(|(provider, model)| {
            Check::warn(
                format!("price {provider}/{model}"),
                format!("used in the last {DAYS} days, no price: its cost is unknown and a money budget refuses it"),
                Some(format!(
                    "bgw models price set {provider}/{model} --input USD --output USD  (per million tokens)"
                )),
            )
        })
        .collect();
    if missing.len() > MAX_LINES {
        checks.push(Check::warn(
            "prices",
            format!("{} more models have no price", missing.len() - MAX_LINES),
            Some(format!(
                "see them with `bgw logs stats --by model --since {DAYS}d`"
            )),
        ));
    }
    checks
}

/// `(provider, model)` pairs answered without a price in the last [`DAYS`] days that still
/// have none (a price set since then counts).
fn unpriced(store: &Store) -> Result<BTreeSet<(String, String)>, StoreError> {
    let since = now_ms().saturating_sub(DAYS * 24 * 3600 * 1000);
    let recent = LogQuery {
        since_ms: Some(since),
        ..LogQuery::default()
    };
    let pricing = store.pricing()?;
    let mut missing = BTreeSet::new();
    for group in store.log_stats(&recent, StatsBy::Model)? {
        if group.unpriced == 0 {
            continue;
        }
        // The totals name the model, not the provider: a few of its rows do.
        let rows = store.logs(&LogQuery {
            model: Some(group.group.clone()),
            limit: Some(ROWS_PER_MODEL),
            ..recent.clone()
        })?;
        for row in rows {
            let answered_unpriced = row.cost.is_none() && !row.failed();
            if answered_unpriced
                && row.upstream_model == group.group
                && pricing.price(&row.provider, &row.upstream_model).is_none()
            {
                missing.insert((row.provider, row.upstream_model));
            }
        }
    }
    Ok(missing)
}
