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
//! What each gateway holds is on disk too (`ledger_held`), written before a grant is answered:
//! an owner that dies takes no gateway's holding with it, so the next owner never grants what
//! a gateway still in flight holds. Gateways register again with a new owner (at once: their
//! store watcher hears it changed); the holdings of one that does not within [`GRACE`] (it
//! was killed with its owner) are let go then. A gateway's holding changes only through its
//! current link (a link it gave up, which answers late, changes nothing), and a recall is
//! answered for one owner's life (an answer a later owner gets is ignored).
//!
//! Keys: `ledger` maps `(meter, window start)` to the nanodollars, requests or tokens spent;
//! `ledger_charged` holds the id of every request charged (pruned after a week), so a charge
//! sent again after an owner died is not counted twice; `ledger_held` maps `(holder, meter,
//! window start)` to what that gateway holds. Each could be a PostgreSQL table, and each
//! operation here one transaction on it.

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
const HELD: TableDefinition<(u64, &str, u64), u64> = TableDefinition::new("ledger_held");

/// How long a new owner keeps, unconfirmed, what the last one's gateways held: they register
/// again within a moment of the change, unless they are gone.
pub const GRACE: Duration = Duration::from_secs(10);

/// How long charged request ids are kept to refuse a resent charge.
const CHARGED_KEPT_MS: u64 = 7 * 86_400_000;
/// How long an ask waits for other gateways to give back their unused slices.
const RECALL_WAIT: Duration = Duration::from_secs(1);

/// A gateway's ask for more of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    pub account: Account,
    /// What each request waiting for room needs, in the order they came.
    pub units: Vec<u64>,
    /// The free part of what the gateway holds, given back first: room is granted from one
    /// pool, in whole requests, so no gateway keeps a piece too small for its next request
    /// that another's would fit.
    #[serde(default)]
    pub give_back: u64,
    /// What the gateway has used beyond what it holds (requests that cost more than they
    /// reserved, not yet charged): held by it from now on, room or not.
    #[serde(default)]
    pub owed: u64,
}

impl Ask {
    /// All it asks for.
    pub fn need(&self) -> u64 {
        self.units.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }
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
    /// What other gateways hold of it (for requests in flight, and unused slices).
    #[serde(default)]
    pub others: u64,
    /// The owner's life: a release off the gateway's link names it.
    #[serde(default)]
    pub epoch: u64,
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
    tx.open_table(HELD).map_err(db_err)?;
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

/// Charged ids deleted per transaction while pruning, so charges wait at most one small commit.
pub const PRUNE_IDS: usize = 10_000;

/// Deletes up to [`PRUNE_IDS`] charged ids older than a week, and accounts of short periods
/// long over; says how many ids it removed (all there were when fewer).
pub fn prune(tx: &WriteTransaction, now_ms: u64) -> Result<usize, StoreError> {
    let mut charged = tx.open_table(CHARGED).map_err(db_err)?;
    let end = RequestId::floor(now_ms.saturating_sub(CHARGED_KEPT_MS)).0;
    let old: Vec<u128> = charged
        .range(..end)
        .map_err(db_err)?
        .take(PRUNE_IDS)
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
    Ok(old.len())
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
    /// This owner's life: a recall it sends is answered for it alone.
    epoch: u64,
}

struct State {
    spent: HashMap<Account, u64>,
    /// Account → holder → amount held.
    held: HashMap<Account, HashMap<u64, u64>>,
    /// Meter → limit, from the `budgets` table; `None` until read (after a change).
    limits: Option<HashMap<String, u64>>,
    /// Recalls waited for: each ask's own, with the account and the holders not yet answered.
    recalls: HashMap<u64, (Account, HashSet<u64>)>,
    next_recall: u64,
    /// Each holder's current link (the connection it last registered on).
    links: HashMap<u64, u64>,
    /// Holders read from disk that have not registered with this owner yet.
    unconfirmed: HashSet<u64>,
    started: Instant,
    /// Holdings changed since the last commit, written with the next one.
    dirty: HashSet<(u64, Account)>,
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
        self.dirty.insert((holder, account.clone()));
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

    /// Whether `link` is the one `holder` registered last (only it changes what it holds).
    fn current(&self, holder: u64, link: u64) -> bool {
        self.links.get(&holder) == Some(&link)
    }

    /// Drops everything `holder` holds.
    fn drop_holder(&mut self, holder: u64) {
        let accounts: Vec<Account> = self
            .held
            .iter()
            .filter(|(_, h)| h.contains_key(&holder))
            .map(|(a, _)| a.clone())
            .collect();
        for account in accounts {
            self.set_held(&account, holder, 0);
        }
        for (_, asked) in self.recalls.values_mut() {
            asked.remove(&holder);
        }
    }

    /// Past the grace, what holders of the last owner that never came back held is free.
    fn expire_unconfirmed(&mut self) {
        if self.unconfirmed.is_empty() || self.started.elapsed() < GRACE {
            return;
        }
        for holder in std::mem::take(&mut self.unconfirmed) {
            self.drop_holder(holder);
        }
    }
}

/// Accounts a grant found short while other gateways hold part of them: those are asked to
/// give back what they do not use (sent as a [`super::wire::Event::Recall`]).
pub struct Recall {
    pub accounts: Vec<Account>,
    /// The gateway that asked (it need not answer itself).
    pub from: u64,
    pub epoch: u64,
}

impl Ledger {
    /// The ledger of `file`: spent and held as on disk.
    pub fn load(file: &File) -> Result<Ledger, StoreError> {
        let tx = file.db.begin_read().map_err(db_err)?;
        let mut spent = HashMap::new();
        for row in tx
            .open_table(LEDGER)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = row.map_err(db_err)?;
            let (meter, window) = k.value();
            let account = Account {
                meter: meter.to_owned(),
                window,
            };
            spent.insert(account, v.value());
        }
        let mut held: HashMap<Account, HashMap<u64, u64>> = HashMap::new();
        let mut unconfirmed = HashSet::new();
        for row in tx
            .open_table(HELD)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = row.map_err(db_err)?;
            let (holder, meter, window) = k.value();
            let account = Account {
                meter: meter.to_owned(),
                window,
            };
            held.entry(account).or_default().insert(holder, v.value());
            unconfirmed.insert(holder);
        }
        let mut epoch = [0u8; 8];
        let _ = getrandom::fill(&mut epoch);
        Ok(Ledger {
            state: Mutex::new(State {
                spent,
                held,
                limits: None,
                recalls: HashMap::new(),
                next_recall: 0,
                links: HashMap::new(),
                unconfirmed,
                started: Instant::now(),
                dirty: HashSet::new(),
            }),
            changed: Condvar::new(),
            epoch: u64::from_le_bytes(epoch),
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

    fn limits(state: &mut State, file: &File) -> Result<HashMap<String, u64>, StoreError> {
        if let Some(l) = &state.limits {
            return Ok(l.clone());
        }
        let mut limits = HashMap::new();
        for (key, value) in file.list("budgets")? {
            let rec: BudgetRecord = serde_json::from_slice(&value)
                .map_err(|e| StoreError::Corrupt(format!("the budget `{key}`: {e}")))?;
            for (meter, limit) in rec.meters() {
                limits.insert(meter.key(), limit);
            }
        }
        state.limits = Some(limits.clone());
        Ok(limits)
    }

    /// Grants `holder` (on its link `link`) what fits of each ask (one per account). When one
    /// does not fit and other gateways hold part of its account, `recall` is called to ask
    /// them for their unused part, and the answer waits (a moment at most) for them. The
    /// caller makes the new holdings durable before it answers.
    pub fn grant(
        &self,
        file: &File,
        holder: u64,
        link: u64,
        asks: &[Ask],
        recall: impl FnOnce(Recall),
    ) -> Result<Vec<Grant>, StoreError> {
        let deadline = Instant::now() + RECALL_WAIT;
        let mut state = self.lock();
        if !state.current(holder, link) {
            return Err(StoreError::Db(
                "this ledger link was replaced; register again".into(),
            ));
        }
        state.expire_unconfirmed();
        for ask in asks.iter().filter(|a| a.give_back > 0 || a.owed > 0) {
            let held = state
                .held_by(&ask.account, holder)
                .saturating_sub(ask.give_back)
                .saturating_add(ask.owed);
            state.set_held(&ask.account, holder, held);
        }
        self.changed.notify_all();
        let limits = Self::limits(&mut state, file)?;
        let fits = |state: &State, ask: &Ask| {
            limits
                .get(&ask.account.meter)
                .is_none_or(|&limit| state.free(&ask.account, limit) >= ask.need())
        };
        let mut mine = Vec::new();
        for ask in asks {
            let others: HashSet<u64> = state
                .held
                .get(&ask.account)
                .map(|h| h.keys().copied().filter(|&h| h != holder).collect())
                .unwrap_or_default();
            if !fits(&state, ask) && !others.is_empty() {
                let id = state.next_recall;
                state.next_recall += 1;
                state.recalls.insert(id, (ask.account.clone(), others));
                mine.push((id, ask));
            }
        }
        if !mine.is_empty() {
            let accounts = mine.iter().map(|(_, a)| a.account.clone()).collect();
            drop(state);
            recall(Recall {
                accounts,
                from: holder,
                epoch: self.epoch,
            });
            state = self.lock();
            loop {
                let settled = mine.iter().all(|(id, ask)| {
                    fits(&state, ask)
                        || state
                            .recalls
                            .get(id)
                            .is_none_or(|(_, asked)| asked.is_empty())
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
            for (id, _) in &mine {
                state.recalls.remove(id);
            }
            if !state.current(holder, link) {
                return Err(StoreError::Db(
                    "this ledger link was replaced; register again".into(),
                ));
            }
        }
        let mut out = Vec::with_capacity(asks.len());
        for ask in asks {
            let account = &ask.account;
            let mine = state.held_by(account, holder);
            let spent = state.spent(account);
            let others = state.held_total(account).saturating_sub(mine);
            let Some(&limit) = limits.get(&account.meter) else {
                // No budget sets this meter (the gateway's config is behind): it is not
                // held here, and the gateway may go on as if unlimited.
                out.push(Grant {
                    account: account.clone(),
                    ok: true,
                    added: ask.need(),
                    spent,
                    others,
                    epoch: self.epoch,
                    limit: None,
                });
                continue;
            };
            let free = state.free(account, limit);
            // Whole requests, first come first served, while they fit.
            let mut given = 0u64;
            let mut all = true;
            for unit in &ask.units {
                match given.checked_add(*unit).filter(|g| *g <= free) {
                    Some(g) => given = g,
                    None => {
                        all = false;
                        break;
                    }
                }
            }
            // Beyond the need, a slice of what is left, so the next requests are admitted
            // without asking; smaller the more gateways hold part of the account.
            let holders = state
                .held
                .get(account)
                .map_or(0, |h| h.keys().filter(|&&h| h != holder).count() as u64);
            let extra = if all {
                (free - given) / (2 * (holders + 2))
            } else {
                0
            };
            let added = given.saturating_add(extra);
            state.set_held(account, holder, mine.saturating_add(added));
            out.push(Grant {
                account: account.clone(),
                ok: all,
                added,
                spent,
                others,
                epoch: self.epoch,
                limit: Some(limit),
            });
        }
        Ok(out)
    }

    /// `holder` gives back part of what it holds: through its link (`link`), or answering a
    /// recall of this owner (`epoch`); anything else is stale and changes nothing.
    pub fn release(
        &self,
        holder: u64,
        link: Option<u64>,
        epoch: Option<u64>,
        returns: &[(Account, u64)],
    ) {
        let mut state = self.lock();
        let valid = match (link, epoch) {
            (Some(link), _) => state.current(holder, link),
            (None, Some(epoch)) => epoch == self.epoch && state.links.contains_key(&holder),
            (None, None) => false,
        };
        for (account, amount) in returns {
            if valid {
                let held = state.held_by(account, holder).saturating_sub(*amount);
                state.set_held(account, holder, held);
            }
            for (asked_for, asked) in state.recalls.values_mut() {
                if asked_for == account {
                    asked.remove(&holder);
                }
            }
        }
        drop(state);
        self.changed.notify_all();
    }

    /// A gateway (re)connected on `link` holding exactly these amounts (its requests in
    /// flight, admitted under an owner that is gone): they replace whatever it held, even
    /// where they no longer fit.
    pub fn register(&self, holder: u64, link: u64, holds: &[(Account, u64)]) {
        let mut state = self.lock();
        state.links.insert(holder, link);
        state.unconfirmed.remove(&holder);
        state.drop_holder(holder);
        for (account, amount) in holds {
            state.set_held(account, holder, *amount);
        }
        drop(state);
        self.changed.notify_all();
    }

    /// A connection closed: if it was `holder`'s current link (the gateway ended, or was
    /// killed), what it held is free again.
    pub fn forget(&self, holder: u64, link: u64) {
        let mut state = self.lock();
        if state.current(holder, link) {
            state.links.remove(&holder);
            state.drop_holder(holder);
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Charges committed to disk: each new one adds to its accounts' spent; every one (new or
    /// sent again) leaves the holding of `holder` that covered it, if it came on its link.
    pub fn charged(&self, holder: u64, link: u64, charges: &[Charge], fresh: &[bool]) {
        let mut state = self.lock();
        let current = state.current(holder, link);
        for (charge, new) in charges.iter().zip(fresh) {
            for (account, amount) in &charge.parts {
                if *new {
                    let spent = state.spent(account).saturating_add(*amount);
                    state.spent.insert(account.clone(), spent);
                }
                if current {
                    let held = state.held_by(account, holder).saturating_sub(*amount);
                    state.set_held(account, holder, held);
                }
            }
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Writes the holdings changed since the last commit in `tx`; the keys written, to mark
    /// again if the commit fails.
    pub fn write_held(&self, tx: &WriteTransaction) -> Result<Vec<(u64, Account)>, StoreError> {
        let mut state = self.lock();
        let dirty: Vec<(u64, Account)> = state.dirty.drain().collect();
        let mut table = tx.open_table(HELD).map_err(db_err)?;
        for (holder, account) in &dirty {
            let key = (*holder, account.meter.as_str(), account.window);
            match state.held_by(account, *holder) {
                0 => {
                    table.remove(key).map_err(db_err)?;
                }
                amount => {
                    table.insert(key, amount).map_err(db_err)?;
                }
            }
        }
        Ok(dirty)
    }

    /// A commit failed: what it was to write is written with the next.
    pub fn unwritten(&self, keys: Vec<(u64, Account)>) {
        self.lock().dirty.extend(keys);
    }

    /// This owner's life, sent with its recalls.
    pub fn epoch(&self) -> u64 {
        self.epoch
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
        // Gateways 1, 2 and 3 on links 11, 12 and 13.
        for h in 1..=3 {
            ledger.register(h, 10 + h, &[]);
        }
        let ask = |need| {
            [Ask {
                account: account(),
                units: vec![need],
                give_back: 0,
                owed: 0,
            }]
        };
        let first = ledger.grant(&file, 1, 11, &ask(60), |_| {}).unwrap();
        // 60, and a quarter of the 40 left beyond it.
        assert_eq!((first[0].ok, first[0].added), (true, 70));
        // Gateway 2 needs 60; gateway 1 is asked for its unused part and gives back 10.
        let epoch = ledger.epoch();
        let second = ledger
            .grant(&file, 2, 12, &ask(60), |recall| {
                assert_eq!((recall.accounts, recall.from), (vec![account()], 2));
                ledger.release(1, None, Some(epoch), &[(account(), 10)]);
            })
            .unwrap();
        // 40 is left: not the 60 its request needs, so nothing (granted in whole requests).
        assert_eq!(
            (second[0].ok, second[0].added, second[0].others),
            (false, 0, 60)
        );
        assert_eq!(ledger.states(&[account()])[0].held, 60);
        // Gateway 1's request cost 55: spent, and no longer held.
        ledger.charged(1, 11, &[charge(1, 55)], &[true]);
        let state = &ledger.states(&[account()])[0];
        assert_eq!((state.spent, state.held), (55, 5));
        // Gateway 2 goes away: what it held is free again.
        ledger.forget(2, 12);
        let third = ledger.grant(&file, 3, 13, &ask(40), |_| {}).unwrap();
        assert!(third[0].ok);
        let state = &ledger.states(&[account()])[0];
        assert!(state.spent + state.held <= 100, "{state:?}");
    }

    #[test]
    fn only_a_holders_current_link_changes_what_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_with_budget(dir.path(), 100);
        let ledger = Ledger::load(&file).unwrap();
        ledger.register(1, 11, &[(account(), 50)]);
        // Gateway 1 gave up on link 11 and registered again on link 12 with what it holds.
        ledger.register(1, 12, &[(account(), 30)]);
        // Link 11 answers late: a charge it carried adds to spent, not to what 1 holds;
        // its close forgets nothing; a grant on it is refused.
        ledger.charged(1, 11, &[charge(5, 20)], &[true]);
        ledger.forget(1, 11);
        ledger.release(1, Some(11), None, &[(account(), 30)]);
        let asked = [Ask {
            account: account(),
            units: vec![1],
            give_back: 0,
            owed: 0,
        }];
        assert!(ledger.grant(&file, 1, 11, &asked, |_| {}).is_err());
        let state = &ledger.states(&[account()])[0];
        assert_eq!((state.spent, state.held), (20, 30));
        // A recall answer for another owner's life changes nothing either.
        ledger.release(
            1,
            None,
            Some(ledger.epoch().wrapping_add(1)),
            &[(account(), 30)],
        );
        assert_eq!(ledger.states(&[account()])[0].held, 30);
    }

    #[test]
    fn what_gateways_hold_outlives_the_owner_until_they_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_with_budget(dir.path(), 100);
        let ledger = Ledger::load(&file).unwrap();
        ledger.register(1, 11, &[]);
        let asked = [Ask {
            account: account(),
            units: vec![80],
            give_back: 0,
            owed: 0,
        }];
        assert!(ledger.grant(&file, 1, 11, &asked, |_| {}).unwrap()[0].ok);
        let tx = file.db.begin_write().unwrap();
        ledger.write_held(&tx).unwrap();
        tx.commit().unwrap();
        // The owner dies; the next one reads what gateway 1 held, and grants no one else it.
        let next = Ledger::load(&file).unwrap();
        next.register(2, 21, &[]);
        let other = [Ask {
            account: account(),
            units: vec![30],
            give_back: 0,
            owed: 0,
        }];
        let got = next.grant(&file, 2, 21, &other, |_| {}).unwrap();
        assert!(!got[0].ok, "{got:?}");
        assert!(got[0].added <= 20);
    }

    #[test]
    fn a_meter_no_budget_sets_is_granted_as_asked_and_held_nowhere() {
        let dir = tempfile::tempdir().unwrap();
        let file = open_in_test(dir.path());
        let ledger = Ledger::load(&file).unwrap();
        ledger.register(1, 11, &[]);
        let got = ledger
            .grant(
                &file,
                1,
                11,
                &[Ask {
                    account: account(),
                    units: vec![5],
                    give_back: 0,
                    owed: 0,
                }],
                |_| {},
            )
            .unwrap();
        assert_eq!((got[0].ok, got[0].added, got[0].limit), (true, 5, None));
        assert_eq!(ledger.states(&[account()])[0].held, 0);
    }
}
