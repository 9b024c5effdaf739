//! A gateway's slices of the budgets it enforces: requests are admitted against them in
//! memory, and a thread of their own asks the store's owner for more, charges what requests
//! cost and gives back what goes unused ([`crate::store::ledger`] says why this never
//! overspends across gateways).
//!
//! A slice of an account holds `granted` (what the owner gave this gateway), of which
//! `reserved` covers requests in flight at their worst case and `unsettled` the actual costs
//! of finished requests not yet on disk; the rest is free for the next request. Every change
//! to `granted` is a delta both sides apply (a grant adds, a charge or a release takes away),
//! so a release answering a recall and a grant crossing it cannot disagree.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::meter::Account;
use crate::store::ledger::{Ask, Charge, Grant};
use crate::store::logs::RequestId;
use crate::store::{LEDGER_WAIT, LedgerLink, Store};

/// A slice unused this long goes back to the owner, for other gateways.
const IDLE_RETURN: Duration = Duration::from_secs(1);
/// How often the ledger thread looks for idle slices and retries charges the owner missed.
const TICK: Duration = Duration::from_millis(250);
/// How long a finished request's charge waits for others to go with it: at thousands of
/// requests a second the owner commits tens of times a second, not thousands, and leaves the
/// cores to the requests.
const CHARGE_GATHER: Duration = Duration::from_millis(20);

/// One account as this gateway holds it.
#[derive(Debug, Clone)]
struct Slice {
    granted: u64,
    reserved: u64,
    unsettled: u64,
    /// Kept by this gateway alone (a `bgw run` session's budget), never asked of the owner.
    local: bool,
    last_used: Instant,
    /// What the owner last said the account has spent, what other gateways held of it, and
    /// its limit.
    spent: u64,
    others: u64,
    limit: Option<u64>,
}

impl Slice {
    fn new(local: bool) -> Slice {
        Slice {
            granted: 0,
            reserved: 0,
            unsettled: 0,
            local,
            last_used: Instant::now(),
            spent: 0,
            others: 0,
            limit: None,
        }
    }

    fn free(&self) -> u64 {
        self.granted
            .saturating_sub(self.reserved)
            .saturating_sub(self.unsettled)
    }
}

/// Where a waiting request hears whether room was reserved for it, or why it could not be.
type Answer = tokio::sync::oneshot::Sender<Result<bool, String>>;

enum Job {
    Ask {
        needs: Vec<(Account, u64)>,
        reply: Answer,
    },
    Charge(Charge),
    /// Give back this room (its slices were made smaller already).
    Release(Vec<(Account, u64)>),
    /// The owner changed: tell the new one what is held for requests in flight, now.
    Register,
    Flush(Sender<()>),
}

struct Inner {
    holder: u64,
    slices: Mutex<HashMap<Account, Slice>>,
    jobs: Mutex<Option<Sender<Job>>>,
    /// A connection of its own for giving room back while the ledger thread waits.
    store: Option<Store>,
    /// The life of the owner that granted the room held (0: none yet).
    epoch: std::sync::atomic::AtomicU64,
    /// Held while room is taken from the slices and given back: a recall answered "nothing"
    /// is never sent before room given back a moment earlier has reached the owner.
    giving_back: Mutex<()>,
}

impl Inner {
    fn slices(&self) -> MutexGuard<'_, HashMap<Account, Slice>> {
        match self.slices.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn send(&self, job: Job) -> bool {
        self.jobs
            .lock()
            .ok()
            .and_then(|j| j.as_ref().map(|tx| tx.send(job).is_ok()))
            .unwrap_or(false)
    }

    /// Reserves every need at once, or none; the accounts short of room otherwise.
    fn try_reserve(&self, needs: &[(Account, u64)]) -> Result<(), Vec<Account>> {
        reserve_in(&mut self.slices(), needs)
    }
}

/// Reserves every need in `slices` at once, or none; the accounts short of room otherwise.
fn reserve_in(
    slices: &mut HashMap<Account, Slice>,
    needs: &[(Account, u64)],
) -> Result<(), Vec<Account>> {
    let short: Vec<Account> = needs
        .iter()
        .filter(|(a, need)| slices.get(a).is_none_or(|s| s.free() < *need))
        .map(|(a, _)| a.clone())
        .collect();
    if !short.is_empty() {
        return Err(short);
    }
    let now = Instant::now();
    for (account, need) in needs {
        if let Some(s) = slices.get_mut(account) {
            s.reserved = s.reserved.saturating_add(*need);
            s.last_used = now;
        }
    }
    Ok(())
}

/// Undoes [`reserve_in`] (for a request that stopped waiting).
fn unreserve_in(slices: &mut HashMap<Account, Slice>, needs: &[(Account, u64)]) {
    for (account, need) in needs {
        if let Some(s) = slices.get_mut(account) {
            s.reserved = s.reserved.saturating_sub(*need);
        }
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shortfall {
    /// This account has no room for the request: what it has spent, what requests in flight
    /// hold of it (here and in other gateways), and its limit.
    Refused {
        account: Account,
        spent: u64,
        in_flight: u64,
        limit: u64,
    },
    /// The ledger could not be asked.
    Unavailable(String),
}

/// A gateway's slices, shared by all its requests.
#[derive(Clone)]
pub struct Leases {
    inner: Arc<Inner>,
}

impl Leases {
    /// Slices of the budgets kept in `store`, asked for by a thread of their own.
    pub fn start(store: &Store) -> Leases {
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        let (tx, rx) = mpsc::channel();
        let inner = Arc::new(Inner {
            holder: u64::from_le_bytes(id),
            slices: Mutex::new(HashMap::new()),
            jobs: Mutex::new(Some(tx)),
            store: Some(store.detached()),
            epoch: std::sync::atomic::AtomicU64::new(0),
            giving_back: Mutex::new(()),
        });
        let link = LedgerLink::new(store, inner.holder);
        let thread_inner = Arc::clone(&inner);
        std::thread::spawn(move || ledger_thread(&thread_inner, link, &rx));
        Leases { inner }
    }

    /// Slices without a store: only local accounts can be admitted (tests, `--no-store`).
    pub fn local_only() -> Leases {
        Leases {
            inner: Arc::new(Inner {
                holder: 0,
                slices: Mutex::new(HashMap::new()),
                jobs: Mutex::new(None),
                store: None,
                epoch: std::sync::atomic::AtomicU64::new(0),
                giving_back: Mutex::new(()),
            }),
        }
    }

    /// Keeps `account` in this gateway alone, with `limit` to spend (a session's budget).
    pub fn set_local(&self, account: Account, limit: u64) {
        let mut slices = self.inner.slices();
        let slice = slices.entry(account).or_insert_with(|| Slice::new(true));
        slice.local = true;
        slice.granted = limit;
        slice.limit = Some(limit);
    }

    /// What this gateway knows of an account: spent (by the owner's last word, plus its own
    /// unsettled charges) and the limit.
    pub fn known(&self, account: &Account) -> Option<(u64, Option<u64>)> {
        self.inner.slices().get(account).map(|s| {
            let spent = if s.local {
                s.unsettled
            } else {
                s.spent.saturating_add(s.unsettled)
            };
            (spent, s.limit)
        })
    }

    /// Reserves each need in its account, asking the owner for more where the slice is too
    /// small; all or nothing. The ledger thread reserves what the owner grants for the
    /// requests waiting, in the order they came, before any other can take it.
    pub async fn reserve(&self, needs: Vec<(Account, u64)>) -> Result<Reservation, Shortfall> {
        let reservation = |needs| Reservation {
            inner: Arc::clone(&self.inner),
            parts: needs,
            settled: false,
        };
        let short = match self.inner.try_reserve(&needs) {
            Ok(()) => return Ok(reservation(needs)),
            Err(short) => short,
        };
        // A local account's room is all there is.
        if let Some(refused) = self.refused_local(&short) {
            return Err(refused);
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job::Ask {
            needs: needs.clone(),
            reply,
        };
        if !self.inner.send(job) {
            return Err(Shortfall::Unavailable(
                "this gateway keeps no budget ledger".into(),
            ));
        }
        match tokio::time::timeout(LEDGER_WAIT + Duration::from_secs(1), answer).await {
            Ok(Ok(Ok(true))) => Ok(reservation(needs)),
            Ok(Ok(Ok(false))) => {
                let short = self.short_of(&needs);
                let refused = self.refusal(short.first().unwrap_or(&needs[0].0));
                // Room too small for this request may fit another gateway's.
                self.give_back(&short);
                Err(refused)
            }
            Ok(Ok(Err(e))) => Err(Shortfall::Unavailable(e)),
            _ => Err(Shortfall::Unavailable(
                "the store's owner did not answer in time".into(),
            )),
        }
    }

    /// The accounts of `needs` whose free room is smaller than the need.
    fn short_of(&self, needs: &[(Account, u64)]) -> Vec<Account> {
        let slices = self.inner.slices();
        needs
            .iter()
            .filter(|(a, need)| slices.get(a).is_none_or(|s| s.free() < *need))
            .map(|(a, _)| a.clone())
            .collect()
    }

    fn refused_local(&self, short: &[Account]) -> Option<Shortfall> {
        let slices = self.inner.slices();
        let account = short
            .iter()
            .find(|a| slices.get(*a).is_some_and(|s| s.local))?;
        let s = slices.get(account)?;
        Some(Shortfall::Refused {
            account: account.clone(),
            spent: s.unsettled,
            in_flight: s.reserved,
            limit: s.limit.unwrap_or(0),
        })
    }

    fn refusal(&self, account: &Account) -> Shortfall {
        let slices = self.inner.slices();
        let (spent, in_flight, limit) = slices.get(account).map_or((0, 0, 0), |s| {
            (
                s.spent.saturating_add(s.unsettled),
                s.others.saturating_add(s.reserved),
                s.limit.unwrap_or(0),
            )
        });
        Shortfall::Refused {
            account: account.clone(),
            spent,
            in_flight,
            limit,
        }
    }

    /// Gives back the free part of these accounts' slices (after a refusal: room too small
    /// for this request may fit another gateway's).
    fn give_back(&self, accounts: &[Account]) {
        let epoch = self.inner.epoch.load(std::sync::atomic::Ordering::Acquire);
        self.release_off_link(accounts.to_vec(), epoch, false);
    }

    /// Takes the free part of these accounts' slices and gives it back to the owner of
    /// `epoch`, on a thread of its own (the caller goes on); with `always`, says so even of
    /// nothing (a recall's answer, so the owner stops waiting).
    fn release_off_link(&self, accounts: Vec<Account>, epoch: u64, always: bool) {
        let Some(store) = self.inner.store.clone() else {
            return;
        };
        if epoch == 0 {
            return;
        }
        let leases = self.clone();
        std::thread::spawn(move || {
            let _order = leases
                .inner
                .giving_back
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut returns = leases.take_free(accounts.iter(), false);
            if always {
                for a in &accounts {
                    if !returns.iter().any(|(r, _)| r == a) {
                        returns.push((a.clone(), 0));
                    }
                }
            }
            if !returns.is_empty() {
                let _ = store.release(leases.inner.holder, epoch, returns);
            }
        });
    }

    /// Makes the slices of these accounts as small as their use (forgetting those no budget
    /// limits, with `forget_unlimited`) and says what that gave back.
    fn take_free<'a>(
        &self,
        accounts: impl Iterator<Item = &'a Account>,
        forget_unlimited: bool,
    ) -> Vec<(Account, u64)> {
        let mut slices = self.inner.slices();
        let mut returns = Vec::new();
        for a in accounts {
            if let Some(s) = slices.get_mut(a).filter(|s| !s.local) {
                if s.limit.is_none() {
                    if forget_unlimited {
                        s.granted = s.reserved.saturating_add(s.unsettled);
                    }
                    continue;
                }
                let free = s.free();
                s.granted -= free;
                if free > 0 {
                    returns.push((a.clone(), free));
                }
            }
        }
        returns
    }

    /// The budgets changed (a limit may be lower now): every slice gives back its free part,
    /// so what is admitted from now on is granted under the new limits.
    pub fn budgets_changed(&self) {
        let accounts: Vec<Account> = self.inner.slices().keys().cloned().collect();
        let returns = self.take_free(accounts.iter(), true);
        if !returns.is_empty() {
            self.inner.send(Job::Release(returns));
        }
    }

    /// The store's owner changed: what this gateway holds for requests in flight is
    /// registered with the new one at once (it grants no one else that room meanwhile).
    pub fn owner_changed(&self) {
        self.inner.send(Job::Register);
    }

    /// Gateway `from` needs room: unless that is this gateway, gives back the free part of
    /// any slice of these accounts, naming the owner's `epoch` (and says so even when it is
    /// nothing, so the owner stops waiting).
    pub fn answer_recall(&self, accounts: &[Account], from: u64, epoch: u64) {
        if from != self.inner.holder {
            // Off the caller's thread (the store watcher's): it goes on reading events.
            self.release_off_link(accounts.to_vec(), epoch, true);
        }
    }

    /// Waits up to `limit` for every charge handed over to be on disk.
    pub fn flush(&self, limit: Duration) -> bool {
        let (tx, rx) = mpsc::channel();
        self.inner.send(Job::Flush(tx)) && rx.recv_timeout(limit).is_ok()
    }
}

/// Room reserved for one request in each account of its chain. Settled with the request's
/// actual cost when it ends; dropped unsettled, it is given back uncharged.
pub struct Reservation {
    inner: Arc<Inner>,
    parts: Vec<(Account, u64)>,
    settled: bool,
}

impl Reservation {
    /// The accounts reserved, in chain order, with what each holds for the request.
    pub fn parts(&self) -> &[(Account, u64)] {
        &self.parts
    }

    /// The request `id` ended costing `actual[i]` in account `i` (the order of
    /// [`Reservation::parts`]): each reservation makes way for its charge, sent once.
    pub fn settle(mut self, id: RequestId, actual: &[u64]) {
        self.settled = true;
        let mut charge = Charge {
            id,
            parts: Vec::new(),
        };
        {
            let mut slices = self.inner.slices();
            for (i, (account, reserved)) in self.parts.iter().enumerate() {
                let cost = actual.get(i).copied().unwrap_or(0);
                let Some(s) = slices.get_mut(account) else {
                    continue;
                };
                s.reserved = s.reserved.saturating_sub(*reserved);
                s.unsettled = s.unsettled.saturating_add(cost);
                if !s.local && cost > 0 {
                    charge.parts.push((account.clone(), cost));
                }
            }
        }
        if !charge.parts.is_empty() {
            self.inner.send(Job::Charge(charge));
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let mut slices = self.inner.slices();
        for (account, reserved) in &self.parts {
            if let Some(s) = slices.get_mut(account) {
                s.reserved = s.reserved.saturating_sub(*reserved);
            }
        }
    }
}

/// What the gateway holds for requests in flight, registered with a new owner; free room
/// is dropped (the new owner may give it to others), `granted` shrinks to match.
fn holds(inner: &Inner) -> Vec<(Account, u64)> {
    let mut slices = inner.slices();
    slices
        .iter_mut()
        .filter(|(_, s)| !s.local)
        .map(|(a, s)| {
            s.granted = s.reserved.saturating_add(s.unsettled);
            (a.clone(), s.granted)
        })
        .filter(|(_, held)| *held > 0)
        .collect()
}

fn ledger_thread(inner: &Inner, mut link: LedgerLink, jobs: &Receiver<Job>) {
    let mut charges: Vec<Charge> = Vec::new();
    let mut flushes: Vec<Sender<()>> = Vec::new();
    // When the charges waiting are to go (the first of them waits a moment for others).
    let mut send_at: Option<Instant> = None;
    let mut open = true;
    while open || !charges.is_empty() {
        let mut asks = Vec::new();
        let mut releases = Vec::new();
        let mut register = false;
        let wait = send_at.map_or(TICK, |t| {
            t.saturating_duration_since(Instant::now()).min(TICK)
        });
        let first = if open {
            jobs.recv_timeout(wait)
        } else {
            Err(RecvTimeoutError::Disconnected)
        };
        let mut take = |job| match job {
            Job::Ask { needs, reply } => asks.push((needs, reply)),
            Job::Charge(c) => charges.push(c),
            Job::Release(r) => releases.extend(r),
            Job::Register => register = true,
            Job::Flush(done) => flushes.push(done),
        };
        match first {
            Ok(job) => {
                take(job);
                while let Ok(job) = jobs.try_recv() {
                    take(job);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
        if register {
            let _ = link.register(&mut || holds(inner));
        }
        if !releases.is_empty() {
            let _ = link.release(releases);
        }
        if !asks.is_empty() {
            ask(inner, &mut link, asks);
        }
        if !charges.is_empty() && send_at.is_none() {
            send_at = Some(Instant::now() + CHARGE_GATHER);
        }
        let due = send_at.is_some_and(|t| Instant::now() >= t) || !flushes.is_empty() || !open;
        if !charges.is_empty() && due {
            let sent = std::mem::take(&mut charges);
            match link.charge(sent.clone(), &mut || holds(inner)) {
                Ok(()) => {
                    settle(inner, &sent);
                    send_at = None;
                }
                Err(_) if !open => return,
                Err(_) => {
                    charges = sent;
                    send_at = Some(Instant::now() + Duration::from_millis(200));
                }
            }
        }
        if charges.is_empty() {
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
        return_idle(inner, &mut link);
    }
}

/// Asks the owner for room for the waiting requests, in each account too small for them,
/// giving back the free part of those slices with the ask (the owner grants whole requests
/// from one pool); then reserves what came for them in the order they came, and tells each.
fn ask(inner: &Inner, link: &mut LedgerLink, waiting: Vec<(Vec<(Account, u64)>, Answer)>) {
    let asks: Vec<Ask> = {
        let mut slices = inner.slices();
        let mut units: Vec<(&Account, Vec<u64>)> = Vec::new();
        for (needs, _) in &waiting {
            for (account, n) in needs {
                match units.iter_mut().find(|(a, _)| *a == account) {
                    Some((_, u)) => u.push(*n),
                    None => units.push((account, vec![*n])),
                }
            }
        }
        let now = Instant::now();
        units
            .into_iter()
            .filter_map(|(account, units)| {
                let s = slices
                    .entry(account.clone())
                    .or_insert_with(|| Slice::new(false));
                // Room asked for is about to be used: not idle, not to be given back.
                s.last_used = now;
                let need = units.iter().fold(0u64, |a, b| a.saturating_add(*b));
                if s.local || s.free() >= need {
                    return None;
                }
                let give_back = s.free();
                s.granted -= give_back;
                // Used beyond the room held (a request cost more than it reserved): the owner
                // hears of it now, before it counts that room as free.
                let owed = s
                    .reserved
                    .saturating_add(s.unsettled)
                    .saturating_sub(s.granted);
                s.granted = s.granted.saturating_add(owed);
                Some(Ask {
                    account: account.clone(),
                    units,
                    give_back,
                    owed,
                })
            })
            .collect()
    };
    // The room given back is the owner's from here: gone with a link that fails too (the
    // registration that follows says what is held).
    let granted = if asks.is_empty() {
        Ok(Vec::new())
    } else {
        link.grant(asks, &mut || holds(inner))
            .map_err(|e| e.to_string())
    };
    let grants = match granted {
        Ok(grants) => grants,
        Err(e) => {
            for (_, reply) in waiting {
                let _ = reply.send(Err(e.clone()));
            }
            return;
        }
    };
    let mut slices = inner.slices();
    let now = Instant::now();
    for Grant {
        account,
        added,
        spent,
        others,
        epoch,
        limit,
        ..
    } in grants
    {
        inner
            .epoch
            .store(epoch, std::sync::atomic::Ordering::Release);
        let s = slices.entry(account).or_insert_with(|| Slice::new(false));
        s.granted = s.granted.saturating_add(added);
        s.spent = spent;
        s.others = others;
        s.limit = limit;
        s.last_used = now;
    }
    for (needs, reply) in waiting {
        let reserved = reserve_in(&mut slices, &needs).is_ok();
        // A request that stopped waiting takes nothing.
        if reply.send(Ok(reserved)).is_err() && reserved {
            unreserve_in(&mut slices, &needs);
        }
    }
}

/// Charges on disk: they leave `unsettled`, and the owner took them from what this gateway holds.
fn settle(inner: &Inner, charges: &[Charge]) {
    let mut slices = inner.slices();
    for c in charges {
        for (account, amount) in &c.parts {
            if let Some(s) = slices.get_mut(account) {
                s.unsettled = s.unsettled.saturating_sub(*amount);
                s.granted = s.granted.saturating_sub(*amount);
                s.spent = s.spent.saturating_add(*amount);
            }
        }
    }
}

/// Gives back slices unused for a while, and forgets empty ones.
fn return_idle(inner: &Inner, link: &mut LedgerLink) {
    let returns: Vec<(Account, u64)> = {
        let mut slices = inner.slices();
        let mut returns = Vec::new();
        slices.retain(|account, s| {
            if s.local {
                return true;
            }
            if s.last_used.elapsed() >= IDLE_RETURN {
                let free = s.free();
                if free > 0 && s.limit.is_some() {
                    s.granted -= free;
                    returns.push((account.clone(), free));
                }
            }
            s.granted > 0
                || s.reserved > 0
                || s.unsettled > 0
                || s.last_used.elapsed() < IDLE_RETURN
        });
        returns
    };
    if !returns.is_empty() {
        let _ = link.release(returns);
    }
}
