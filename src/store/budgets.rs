//! Budgets and rate limits as set with `bgw budget set`, one `budgets` row per scope and name
//! (`team/eng`, `global`); teams and customers, one `groups` row each. Writing either tells
//! every config watcher, so running gateways apply a change from their next request.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, db_err};
use crate::govern::amount::Nanodollars;
use crate::govern::meter::{Meter, Metric};
use crate::govern::period::Limit;
use crate::govern::scope::{BudgetId, Scope};

/// The warning threshold when none is set: 80% of a money budget.
pub const DEFAULT_WARN_PCT: u8 = 80;

/// Everything limited for one scope and name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetRecord {
    pub id: BudgetId,
    /// Money per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub money: Option<Limit<Nanodollars>>,
    /// Requests per period (`--rate 60/min`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Limit<u64>>,
    /// Tokens per period (`--tokens 2M/day`), one limit per period.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<Limit<u64>>,
    /// The IANA time zone of its calendar periods; UTC when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// Warn from this share of the money budget on.
    #[serde(default = "default_warn")]
    pub warn_pct: u8,
    /// When it was first set (ms since the epoch): where windows of whole days (`30d`)
    /// and `total` start.
    pub created_ms: u64,
}

fn default_warn() -> u8 {
    DEFAULT_WARN_PCT
}

impl BudgetRecord {
    /// An empty record for `id`, made now.
    pub fn new(id: BudgetId, now_ms: u64) -> BudgetRecord {
        BudgetRecord {
            id,
            money: None,
            requests: None,
            tokens: Vec::new(),
            tz: None,
            warn_pct: DEFAULT_WARN_PCT,
            created_ms: now_ms,
        }
    }

    /// Every meter it sets, with its limit (nanodollars, requests or tokens).
    pub fn meters(&self) -> Vec<(Meter, u64)> {
        let meter = |metric, period| Meter {
            budget: self.id.clone(),
            metric,
            period,
        };
        let mut out = Vec::new();
        if let Some(m) = &self.money {
            out.push((meter(Metric::Usd, m.period), m.amount.0));
        }
        if let Some(r) = &self.requests {
            out.push((meter(Metric::Requests, r.period), r.amount));
        }
        for t in &self.tokens {
            out.push((meter(Metric::Tokens, t.period), t.amount));
        }
        out
    }

    /// Whether it limits nothing any more.
    pub fn is_empty(&self) -> bool {
        self.money.is_none() && self.requests.is_none() && self.tokens.is_empty()
    }
}

/// A team or a customer, made by the first budget or virtual key that names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub scope: Scope,
    pub name: String,
    pub created_ms: u64,
}

fn decode(key: &str, value: &[u8]) -> Result<BudgetRecord, StoreError> {
    serde_json::from_slice(value)
        .map_err(|e| StoreError::Corrupt(format!("the budget `{key}`: {e}")))
}

impl Store {
    /// Every budget, in chain order then by name.
    pub fn budgets(&self) -> Result<Vec<BudgetRecord>, StoreError> {
        let mut out = self
            .list("budgets")?
            .into_iter()
            .map(|(k, v)| decode(&k, &v))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The budget of `id`, if one is set.
    pub fn budget(&self, id: &BudgetId) -> Result<Option<BudgetRecord>, StoreError> {
        let key = id.key();
        self.get("budgets", &key)?
            .map(|v| decode(&key, &v))
            .transpose()
    }

    /// Changes the budget of `id` with `edit` (given the stored record, or a new one made
    /// now), safely against another process changing it at the same moment; an edit that
    /// leaves it limiting nothing removes it. Returns the record as stored.
    pub fn edit_budget(
        &self,
        id: &BudgetId,
        edit: impl Fn(&mut BudgetRecord) -> Result<(), StoreError>,
    ) -> Result<Option<BudgetRecord>, StoreError> {
        let key = id.key();
        loop {
            let old = self.get("budgets", &key)?;
            let mut rec = match &old {
                Some(v) => decode(&key, v)?,
                None => BudgetRecord::new(id.clone(), super::now_ms()),
            };
            edit(&mut rec)?;
            let new = if rec.is_empty() {
                None
            } else {
                Some(serde_json::to_vec(&rec).map_err(db_err)?)
            };
            if self.swap("budgets", &key, old, new.clone())? {
                return Ok(new.map(|_| rec));
            }
        }
    }

    /// Removes the budget of `id`; says whether there was one.
    pub fn remove_budget(&self, id: &BudgetId) -> Result<bool, StoreError> {
        self.remove("budgets", &id.key())
    }

    /// Makes the team or customer `name` unless it exists; says whether it was made.
    pub fn ensure_group(&self, scope: Scope, name: &str) -> Result<bool, StoreError> {
        let group = Group {
            scope,
            name: name.to_owned(),
            created_ms: super::now_ms(),
        };
        let value = serde_json::to_vec(&group).map_err(db_err)?;
        self.put("groups", &BudgetId::new(scope, name).key(), value, true)
    }

    /// Every team and customer.
    pub fn groups(&self) -> Result<Vec<Group>, StoreError> {
        self.list("groups")?
            .into_iter()
            .map(|(k, v)| {
                serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt(format!("the group `{k}`: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::govern::period::Period;

    #[test]
    fn a_budget_is_edited_in_place_and_goes_when_it_limits_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let eng = BudgetId::new(Scope::Team, "eng");
        let set = store
            .edit_budget(&eng, |r| {
                r.money = Some(Limit {
                    amount: Nanodollars::parse("500").unwrap(),
                    period: Period::Month,
                });
                Ok(())
            })
            .unwrap()
            .unwrap();
        store
            .edit_budget(&eng, |r| {
                r.requests = Some(Limit {
                    amount: 60,
                    period: Period::Minute,
                });
                Ok(())
            })
            .unwrap();
        let got = store.budget(&eng).unwrap().unwrap();
        assert_eq!((got.money, got.created_ms), (set.money, set.created_ms));
        assert_eq!(got.meters().len(), 2);
        assert_eq!(got.meters()[0].0.key(), "team/eng#usd/month");
        let gone = store
            .edit_budget(&eng, |r| {
                r.money = None;
                r.requests = None;
                Ok(())
            })
            .unwrap();
        assert_eq!(gone, None);
        assert!(store.budgets().unwrap().is_empty());
    }

    #[test]
    fn groups_are_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.ensure_group(Scope::Team, "eng").unwrap());
        assert!(!store.ensure_group(Scope::Team, "eng").unwrap());
        assert!(store.ensure_group(Scope::Customer, "eng").unwrap());
        assert_eq!(store.groups().unwrap().len(), 2);
    }
}
