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

/// One account as this gateway holds it.
#[derive(Debug, Clone)]
struct Slice {
    granted: u64,
    reserved: u64,
    unsettled: u64,
    /// Kept by this gateway alone (a `bgw run` session's budget), never asked of the owner.
    local: bool,
    last_used: Instant,
    /// What the owner last said the account has spent, and its limit.
    spent: u64,
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
            limit: None,
        }
    }

    fn free(&self) -> u64 {
        self.granted
            .saturating_sub(self.reserved)
            .saturating_sub(self.unsettled)
    }
}

/// Where a waiting request hears that its ask was answered (or why it could not be).
type Answer = tokio::sync::oneshot::Sender<Result<(), String>>;

enum Job {
    Ask {
        needs: Vec<(Account, u64)>,
        reply: Answer,
    },
    Charge(Charge),
    Flush(Sender<()>),
}

struct Inner {
    holder: u64,
    slices: Mutex<HashMap<Account, Slice>>,
    jobs: Mutex<Option<Sender<Job>>>,
    /// A connection of its own for answering recalls while the ledger thread waits.
    store: Option<Store>,
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
        let mut slices = self.slices();
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
                s.reserved += need;
                s.last_used = now;
            }
        }
        Ok(())
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shortfall {
    /// This account has no room for the request: what it has spent, and its limit.
    Refused {
        account: Account,
        spent: u64,
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

    /// Whether this gateway keeps `account` alone.
    pub fn is_local(&self, account: &Account) -> bool {
        self.inner.slices().get(account).is_some_and(|s| s.local)
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
    /// small; all or nothing.
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
        let asks: Vec<(Account, u64)> = needs
            .iter()
            .filter(|(a, _)| short.contains(a))
            .cloned()
            .collect();
        if !self.inner.send(Job::Ask { needs: asks, reply }) {
            return Err(Shortfall::Unavailable(
                "this gateway keeps no budget ledger".into(),
            ));
        }
        match tokio::time::timeout(LEDGER_WAIT + Duration::from_secs(1), answer).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => return Err(Shortfall::Unavailable(e)),
            _ => {
                return Err(Shortfall::Unavailable(
                    "the store's owner did not answer in time".into(),
                ));
            }
        }
        match self.inner.try_reserve(&needs) {
            Ok(()) => Ok(reservation(needs)),
            Err(short) => {
                let refused = self.refusal(&short[0]);
                // Room too small for this request may fit another gateway's.
                self.give_back(&short);
                Err(refused)
            }
        }
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
            limit: s.limit.unwrap_or(0),
        })
    }

    fn refusal(&self, account: &Account) -> Shortfall {
        let slices = self.inner.slices();
        let (spent, limit) = slices.get(account).map_or((0, 0), |s| {
            (s.spent.saturating_add(s.unsettled), s.limit.unwrap_or(0))
        });
        Shortfall::Refused {
            account: account.clone(),
            spent,
            limit,
        }
    }

    /// Gives back the free part of these accounts' slices (after a refusal).
    fn give_back(&self, accounts: &[Account]) {
        self.answer_recall(accounts);
    }

    /// Another gateway needs room: gives back the free part of any slice of these accounts
    /// (and says so even when it is nothing, so the owner stops waiting).
    pub fn answer_recall(&self, accounts: &[Account]) {
        let Some(store) = &self.inner.store else {
            return;
        };
        let returns: Vec<(Account, u64)> = {
            let mut slices = self.inner.slices();
            accounts
                .iter()
                .map(|a| {
                    let free = match slices.get_mut(a) {
                        Some(s) if !s.local => {
                            let free = s.free();
                            s.granted -= free;
                            free
                        }
                        _ => 0,
                    };
                    (a.clone(), free)
                })
                .collect()
        };
        let store = store.clone();
        let holder = self.inner.holder;
        // Off the caller's thread: a request must not wait on the socket.
        std::thread::spawn(move || {
            let _ = store.release(holder, returns);
        });
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
    let mut retry_at: Option<Instant> = None;
    let mut open = true;
    while open || !charges.is_empty() {
        let mut asks = Vec::new();
        let first = if open {
            jobs.recv_timeout(TICK)
        } else {
            Err(RecvTimeoutError::Disconnected)
        };
        let mut take = |job| match job {
            Job::Ask { needs, reply } => asks.push((needs, reply)),
            Job::Charge(c) => charges.push(c),
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
        if !asks.is_empty() {
            ask(inner, &mut link, asks);
        }
        let due = retry_at.is_none_or(|t| Instant::now() >= t) || !flushes.is_empty();
        if !charges.is_empty() && due {
            let sent = std::mem::take(&mut charges);
            match link.charge(sent.clone(), &mut || holds(inner)) {
                Ok(()) => {
                    settle(inner, &sent);
                    retry_at = None;
                }
                Err(_) if !open => return,
                Err(_) => {
                    charges = sent;
                    retry_at = Some(Instant::now() + Duration::from_millis(200));
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

/// Asks the owner for what the waiting requests need beyond the free part of each slice,
/// then wakes them to try again.
fn ask(inner: &Inner, link: &mut LedgerLink, waiting: Vec<(Vec<(Account, u64)>, Answer)>) {
    let asks: Vec<Ask> = {
        let mut slices = inner.slices();
        let mut need: HashMap<&Account, u64> = HashMap::new();
        for (needs, _) in &waiting {
            for (account, n) in needs {
                *need.entry(account).or_default() += n;
            }
        }
        need.into_iter()
            .filter_map(|(account, n)| {
                let s = slices
                    .entry(account.clone())
                    .or_insert_with(|| Slice::new(false));
                let short = n.saturating_sub(s.free());
                (short > 0).then(|| Ask {
                    account: account.clone(),
                    need: short,
                })
            })
            .collect()
    };
    let result = if asks.is_empty() {
        Ok(())
    } else {
        link.grant(asks, &mut || holds(inner))
            .map_err(|e| e.to_string())
            .map(|grants| {
                let mut slices = inner.slices();
                for Grant {
                    account,
                    added,
                    spent,
                    limit,
                    ..
                } in grants
                {
                    let s = slices.entry(account).or_insert_with(|| Slice::new(false));
                    s.granted = s.granted.saturating_add(added);
                    s.spent = spent;
                    s.limit = limit;
                }
            })
    };
    for (_, reply) in waiting {
        let _ = reply.send(result.clone());
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
        let _ = link.release(returns, &mut || holds(inner));
    }
}
