//! Budget accounts as the store's owner keeps them: what each has spent (on disk, charged in
//! the owner's group commit beside the request log's rows) and what each gateway holds of it
//! (in memory, for as long as that gateway's ledger connection lives).
//!
//! A gateway admits requests against slices of a budget the owner has granted it, so the
//! request path never waits for the owner: only a gateway whose slice is too small asks for
//! more. The owner grants only what is free, so for every account
//! `spent + Σ held ≤ limit` holds and no number of gateways can overspend together. A charge
//! (keyed by request id, written once whatever is resent) moves a request's actual cost from
//! its gateway's slice to `spent`. When an ask does not fit, the owner first recalls the
//! unused part of other gateways' slices (a [`super::wire::Event::Recall`]) and waits a moment
//! for them, so a request is refused only when the budget itself has no room for it.
//!
//! Keys: `ledger` maps `(meter, window start)` to the nanodollars, requests or tokens spent;
//! `ledger_charged` holds the id of every request charged (pruned after a week), so a charge
//! sent again after an owner died is not counted twice. Both could be one row each in a
//! PostgreSQL table, and each operation here one transaction on it.

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::budgets::BudgetRecord;
use super::file::File;
use super::logs::RequestId;
use super::{StoreError, db_err};
use crate::govern::meter::{Account, Meter};

const LEDGER: TableDefinition<(&str, u64), u64> = TableDefinition::new("ledger");
const CHARGED: TableDefinition<u128, ()> = TableDefinition::new("ledger_charged");

/// How long charged request ids are kept to refuse a resent charge.
const CHARGED_KEPT_MS: u64 = 7 * 86_400_000;
/// How long an ask waits for other gateways to give back their unused slices.
const RECALL_WAIT: Duration = Duration::from_millis(300);

/// A gateway's ask for more of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    pub account: Account,
    /// What it needs beyond what it holds.
    pub need: u64,
}

/// The owner's answer to one [`Ask`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub account: Account,
    /// Whether `need` was granted.
    pub ok: bool,
    /// What this grant added to the gateway's holding (the need or less, and a slice more).
    pub added: u64,
    /// What the account has spent (charged and on disk).
    pub spent: u64,
    /// The budget's limit; `None` when no budget sets this meter any more.
    pub limit: Option<u64>,
}

/// One request's cost, charged to each account of its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub id: RequestId,
    pub parts: Vec<(Account, u64)>,
}

/// An account as `bgw budget` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub account: Account,
    pub spent: u64,
    /// Held by running gateways for requests in flight (and their unused slices).
    pub held: u64,
}

/// Makes the ledger's tables (inside the schema check's transaction).
pub fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(LEDGER).map_err(db_err)?;
    tx.open_table(CHARGED).map_err(db_err)?;
    Ok(())
}

/// Writes `charges` in `tx`; says of each whether it is new (a request charged before, by an
/// owner that died before answering, is not added again).
pub fn write_charges(tx: &WriteTransaction, charges: &[Charge]) -> Result<Vec<bool>, StoreError> {
    let mut ledger = tx.open_table(LEDGER).map_err(db_err)?;
    let mut charged = tx.open_table(CHARGED).map_err(db_err)?;
    let mut fresh = Vec::with_capacity(charges.len());
    for c in charges {
        let new = charged.insert(c.id.0, ()).map_err(db_err)?.is_none();
        if new {
            for (account, amount) in &c.parts {
                let key = (account.meter.as_str(), account.window);
                let before = ledger.get(key).map_err(db_err)?.map_or(0, |v| v.value());
                ledger
                    .insert(key, before.saturating_add(*amount))
                    .map_err(db_err)?;
            }
        }
        fresh.push(new);
    }
    Ok(fresh)
}

/// Deletes charged ids older than a week and accounts of short periods long over; says
/// whether it removed anything.
pub fn prune(tx: &WriteTransaction, now_ms: u64) -> Result<bool, StoreError> {
    let mut charged = tx.open_table(CHARGED).map_err(db_err)?;
    let end = RequestId::floor(now_ms.saturating_sub(CHARGED_KEPT_MS)).0;
    let old: Vec<u128> = charged
        .range(..end)
        .map_err(db_err)?
        .take(10_000)
        .map(|r| r.map(|(k, _)| k.value()))
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    for id in &old {
        charged.remove(*id).map_err(db_err)?;
    }
    let mut ledger = tx.open_table(LEDGER).map_err(db_err)?;
    let mut over = Vec::new();
    for row in ledger.iter().map_err(db_err)? {
        let (k, _) = row.map_err(db_err)?;
        let (meter, window) = k.value();
        if account_is_over(meter, window, now_ms) {
            over.push((meter.to_owned(), window));
        }
    }
    for (meter, window) in &over {
        ledger.remove((meter.as_str(), *window)).map_err(db_err)?;
    }
    Ok(!old.is_empty() || !over.is_empty())
}

/// Whether an account of a minute, hour or day meter ended more than two days ago (longer
/// periods keep their few accounts, for `bgw budget` history).
fn account_is_over(meter: &str, window: u64, now_ms: u64) -> bool {
    use crate::govern::period::Period;
    let Some(m) = Meter::parse(meter) else {
        return false;
    };
    let short = matches!(m.period, Period::Minute | Period::Hour | Period::Day);
    short && window.saturating_add(3 * 86_400_000) < now_ms
}

/// The owner's view of every account: spent (mirroring the `ledger` table) and held.
pub struct Ledger {
    state: Mutex<State>,
    /// Signalled whenever held amounts fall or spent is written (an ask may fit now).
    changed: Condvar,
}

#[derive(Default)]
struct State {
    spent: HashMap<Account, u64>,
    /// Account → holder → amount held.
    held: HashMap<Account, HashMap<u64, u64>>,
    /// Meter → limit, from the `budgets` table; `None` until read (after a change).
    limits: Option<HashMap<String, u64>>,
    /// Account → holders asked to give back their unused part, not yet answered.
    recalled: HashMap<Account, HashSet<u64>>,
}

impl State {
    fn held_total(&self, account: &Account) -> u64 {
        self.held
            .get(account)
            .map_or(0, |h| h.values().fold(0u64, |a, b| a.saturating_add(*b)))
    }

    fn held_by(&self, account: &Account, holder: u64) -> u64 {
        self.held
            .get(account)
            .and_then(|h| h.get(&holder))
            .copied()
            .unwrap_or(0)
    }

    fn set_held(&mut self, account: &Account, holder: u64, amount: u64) {
        let holders = self.held.entry(account.clone()).or_default();
        if amount == 0 {
            holders.remove(&holder);
            if holders.is_empty() {
                self.held.remove(account);
            }
        } else {
            holders.insert(holder, amount);
        }
    }

    fn spent(&self, account: &Account) -> u64 {
        self.spent.get(account).copied().unwrap_or(0)
    }

    /// What no gateway holds and nothing has spent.
    fn free(&self, account: &Account, limit: u64) -> u64 {
        limit
            .saturating_sub(self.spent(account))
            .saturating_sub(self.held_total(account))
    }
}

/// What an ask that did not fit at once needs done: these holders asked to give back.
pub struct Recall {
    pub accounts: Vec<Account>,
}

impl Ledger {
    /// The ledger of `file`, its spent sums read from disk.
    pub fn load(file: &File) -> Result<Ledger, StoreError> {
        let tx = file.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(LEDGER).map_err(db_err)?;
        let mut spent = HashMap::new();
        for row in table.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            let (meter, window) = k.value();
            spent.insert(
                Account {
                    meter: meter.to_owned(),
                    window,
                },
                v.value(),
            );
        }
        Ok(Ledger {
            state: Mutex::new(State {
                spent,
                ..State::default()
            }),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The budgets changed: read the limits again before the next ask.
    pub fn budgets_changed(&self) {
        self.lock().limits = None;
        self.changed.notify_all();
    }

    fn limits<'s>(
        state: &'s mut State,
        file: &File,
    ) -> Result<&'s HashMap<String, u64>, StoreError> {
        if state.limits.is_none() {
            let mut limits = HashMap::new();
            for (key, value) in file.list("budgets")? {
                let rec: BudgetRecord = serde_json::from_slice(&value)
                    .map_err(|e| StoreError::Corrupt(format!("the budget `{key}`: {e}")))?;
                for (meter, limit) in rec.meters() {
                    limits.insert(meter.key(), limit);
                }
            }
            state.limits = Some(limits);
        }
        Ok(state.limits.get_or_insert_with(HashMap::new))
    }

    /// Grants `holder` what fits of each ask (one per account). When one does not fit and
    /// other gateways hold part of its account, `recall` is called to ask them for their
    /// unused part, and the answer waits (a moment at most) for them.
    pub fn grant(
        &self,
        file: &File,
        holder: u64,
        asks: &[Ask],
        recall: impl FnOnce(Recall),
    ) -> Result<Vec<Grant>, StoreError> {
        let deadline = Instant::now() + RECALL_WAIT;
        let mut state = self.lock();
        let limits = Self::limits(&mut state, file)?.clone();
        let fits = |state: &State, ask: &Ask| {
            limits
                .get(&ask.account.meter)
                .is_none_or(|&limit| state.free(&ask.account, limit) >= ask.need)
        };
        let short: Vec<&Ask> = asks
            .iter()
            .filter(|a| {
                !fits(&state, a) && state.held_total(&a.account) > state.held_by(&a.account, holder)
            })
            .collect();
        if !short.is_empty() {
            for ask in &short {
                let others: HashSet<u64> = state
                    .held
                    .get(&ask.account)
                    .map(|h| h.keys().copied().filter(|&h| h != holder).collect())
                    .unwrap_or_default();
                state.recalled.insert(ask.account.clone(), others);
            }
            drop(state);
            recall(Recall {
                accounts: short.iter().map(|a| a.account.clone()).collect(),
            });
            state = self.lock();
            loop {
                let settled = short.iter().all(|a| {
                    fits(&state, a) || state.recalled.get(&a.account).is_none_or(HashSet::is_empty)
                });
                let left = deadline.saturating_duration_since(Instant::now());
                if settled || left.is_zero() {
                    break;
                }
                state = match self.changed.wait_timeout(state, left) {
                    Ok((s, _)) => s,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
            for ask in &short {
                state.recalled.remove(&ask.account);
            }
        }
        let mut out = Vec::with_capacity(asks.len());
        for ask in asks {
            let account = &ask.account;
            let mine = state.held_by(account, holder);
            let spent = state.spent(account);
            let Some(&limit) = limits.get(&account.meter) else {
                // No budget sets this meter (the gateway's config is behind): it is not
                // held here, and the gateway may go on as if unlimited.
                out.push(Grant {
                    account: account.clone(),
                    ok: true,
                    added: ask.need,
                    spent,
                    limit: None,
                });
                continue;
            };
            let free = state.free(account, limit);
            let given = ask.need.min(free);
            // Beyond the need, a slice of what is left, so the next requests are admitted
            // without asking; smaller the more gateways hold part of the account.
            let others = state
                .held
                .get(account)
                .map_or(0, |h| h.keys().filter(|&&h| h != holder).count() as u64);
            let extra = if given == ask.need {
                (free - given) / (2 * (others + 2))
            } else {
                0
            };
            let added = given.saturating_add(extra);
            state.set_held(account, holder, mine.saturating_add(added));
            out.push(Grant {
                account: account.clone(),
                ok: given == ask.need,
                added,
                spent,
                limit: Some(limit),
            });
        }
        Ok(out)
    }

    /// `holder` gives back part of what it holds (its unused slices, or an answer to a recall,
    /// which may be nothing).
    pub fn release(&self, holder: u64, returns: &[(Account, u64)]) {
        let mut state = self.lock();
        for (account, amount) in returns {
            let held = state.held_by(account, holder).saturating_sub(*amount);
            state.set_held(account, holder, held);
            if let Some(asked) = state.recalled.get_mut(account) {
                asked.remove(&holder);
            }
        }
        drop(state);
        self.changed.notify_all();
    }

    /// A gateway (re)connected holding these amounts (its requests in flight, admitted under
    /// an owner that is gone): they are its again, even where they no longer fit.
    pub fn register(&self, holder: u64, holds: &[(Account, u64)]) {
        let mut state = self.lock();
        for (account, amount) in holds {
            state.set_held(account, holder, *amount);
        }
    }

    /// A gateway's ledger connection closed: what it held is free again.
    pub fn forget(&self, holder: u64) {
        let mut state = self.lock();
        for holders in state.held.values_mut() {
            holders.remove(&holder);
        }
        state.held.retain(|_, h| !h.is_empty());
        for asked in state.recalled.values_mut() {
            asked.remove(&holder);
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Charges committed to disk: each new one adds to its accounts' spent; every one (new or
    /// sent again) leaves the slice of `holder` that covered it.
    pub fn charged(&self, holder: u64, charges: &[Charge], fresh: &[bool]) {
        let mut state = self.lock();
        for (charge, new) in charges.iter().zip(fresh) {
            for (account, amount) in &charge.parts {
                if *new {
                    let spent = state.spent(account).saturating_add(*amount);
                    state.spent.insert(account.clone(), spent);
                }
                let held = state.held_by(account, holder).saturating_sub(*amount);
                state.set_held(account, holder, held);
            }
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Spent and held of each account.
    pub fn states(&self, accounts: &[Account]) -> Vec<AccountState> {
        let state = self.lock();
        accounts
            .iter()
            .map(|a| AccountState {
                account: a.clone(),
                spent: state.spent(a),
                held: state.held_total(a),
            })
            .collect()
    }

    /// Accounts pruned from disk leave memory too.
    pub fn pruned(&self, now_ms: u64) {
        let mut state = self.lock();
        state
            .spent
            .retain(|a, _| !account_is_over(&a.meter, a.window, now_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::govern::period::{Limit, Period};
    use crate::govern::scope::{BudgetId, Scope};
    use crate::store::file::open_in_test;

    /// The account of the global $100 (in nanodollars: 100) monthly budget, in window 0.
    fn account() -> Account {
        Account {
            meter: "global#usd/month".into(),
            window: 0,
        }
    }

    /// A store file with a global budget of `limit` nanodollars a month.
    fn file_with_budget(dir: &std::path::Path, limit: u64) -> File {
        let file = open_in_test(dir);
        let mut rec = BudgetRecord::new(BudgetId::new(Scope::Global, ""), 0);
        rec.money = Some(Limit {
            amount: crate::govern::amount::Nanodollars(limit),
            period: Period::Month,
        });
        let value = serde_json::to_vec(&rec).unwrap();
        file.put("budgets", "global", &value, false).unwrap();
        file
    }

    fn charge(id: u128, amount: u64) -> Charge {
        Charge {
            id: RequestId(id),
            parts: vec![(account(), amount)],
        }
    }

    fn commit(file: &File, charges: &[Charge]) -> Vec<bool> {
        let tx = file.db.begin_write().unwrap();
        let fresh = write_charges(&tx, charges).unwrap();
        tx.commit().unwrap();
        fresh
    }

    #[test]
    fn a_charge_sent_twice_is_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_with_budget(dir.path(), 100);
        assert_eq!(commit(&file, &[charge(7, 30), charge(8, 5)]), [true, true]);
        // The owner died before answering: the gateway sends the same charges again.
        assert_eq!(commit(&file, &[charge(7, 30), charge(9, 1)]), [false, true]);
        let ledger = Ledger::load(&file).unwrap();
        assert_eq!(ledger.states(&[account()])[0].spent, 36);
    }

    #[test]
    fn gateways_together_never_hold_more_than_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_with_budget(dir.path(), 100);
        let ledger = Ledger::load(&file).unwrap();
        let ask = |need| {
            [Ask {
                account: account(),
                need,
            }]
        };
        let first = ledger.grant(&file, 1, &ask(60), |_| {}).unwrap();
        // 60, and a quarter of the 40 left beyond it.
        assert_eq!((first[0].ok, first[0].added), (true, 70));
        // Gateway 2 needs 60; gateway 1 is asked for its unused part and gives back 10.
        let second = ledger
            .grant(&file, 2, &ask(60), |recall| {
                assert_eq!(recall.accounts, [account()]);
                ledger.release(1, &[(account(), 10)]);
            })
            .unwrap();
        assert_eq!((second[0].ok, second[0].added), (false, 40));
        assert_eq!(ledger.states(&[account()])[0].held, 100);
        // Gateway 1's request cost 55: spent, and no longer held.
        ledger.charged(1, &[charge(1, 55)], &[true]);
        let state = &ledger.states(&[account()])[0];
        assert_eq!((state.spent, state.held), (55, 45));
        // Gateway 2 goes away: what it held is free again.
        ledger.forget(2);
        let third = ledger.grant(&file, 3, &ask(40), |_| {}).unwrap();
        assert!(third[0].ok);
        let state = &ledger.states(&[account()])[0];
        assert!(state.spent + state.held <= 100, "{state:?}");
    }

    #[test]
    fn a_meter_no_budget_sets_is_granted_as_asked_and_held_nowhere() {
        let dir = tempfile::tempdir().unwrap();
        let file = open_in_test(dir.path());
        let ledger = Ledger::load(&file).unwrap();
        let got = ledger
            .grant(
                &file,
                1,
                &[Ask {
                    account: account(),
                    need: 5,
                }],
                |_| {},
            )
            .unwrap();
        assert_eq!((got[0].ok, got[0].added, got[0].limit), (true, 5, None));
        assert_eq!(ledger.states(&[account()])[0].held, 0);
    }
}
