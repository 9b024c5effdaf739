//! Which targets are worth trying now: a provider key's cooldown after a 429, and a
//! circuit breaker per target after failures in a row.
//!
//! Shared by every request of one gateway (not part of the config snapshot: a config change
//! must not forget that a provider is down). One mutex, held for a map lookup, never across
//! an await.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::providers::Target;

/// Failures in a row that open a target's breaker.
pub const BREAKER_FAILURES: u32 = 3;
/// How long an open breaker skips its target before one request tries it again.
pub const BREAKER_COOLDOWN: Duration = Duration::from_secs(30);
/// A key's cooldown after a 429 that did not say how long (`retry-after`): per-minute
/// limits mostly free up within seconds.
pub const RATE_LIMIT_COOLDOWN: Duration = Duration::from_secs(5);
/// A half-open target's trial request that never reports back (its client went away)
/// stops blocking others after this long.
const TRIAL_LIMIT: Duration = Duration::from_secs(60);

/// The health of every target this gateway has tried.
#[derive(Debug, Default)]
pub struct Health {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Per provider key: cooling down until then.
    keys: HashMap<KeyId, Instant>,
    /// Per target (provider, key, model).
    breakers: HashMap<TargetId, Breaker>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct KeyId {
    provider: String,
    key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TargetId {
    key: KeyId,
    model: String,
}

#[derive(Debug, Default, Clone)]
struct Breaker {
    failures: u32,
    /// Open: skipped until then.
    open_until: Option<Instant>,
    /// Half-open: one request is trying it since then.
    trial_since: Option<Instant>,
    /// What the last failure said, for the message of a request that finds it open.
    last_error: String,
}

/// Why a target is skipped, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cooling {
    /// Its provider key answered 429.
    RateLimited(Instant),
    /// It failed [`BREAKER_FAILURES`] times in a row.
    Broken(Instant),
}

impl Cooling {
    /// When the target may be tried again.
    pub fn until(self) -> Instant {
        match self {
            Cooling::RateLimited(t) | Cooling::Broken(t) => t,
        }
    }
}

fn key_id(t: &Target) -> KeyId {
    KeyId {
        provider: t.provider.to_string(),
        key: t.key_name.clone(),
    }
}

fn target_id(t: &Target) -> TargetId {
    TargetId {
        key: key_id(t),
        model: t.upstream_model.clone(),
    }
}

impl Health {
    /// Whether `target` may be tried now; a half-open target lets one request through (this
    /// call takes that place).
    pub fn admit(&self, target: &Target, now: Instant) -> Result<(), Cooling> {
        let mut s = self.lock();
        let key = key_id(target);
        if let Some(&until) = s.keys.get(&key) {
            if until > now {
                return Err(Cooling::RateLimited(until));
            }
            s.keys.remove(&key);
        }
        let Some(b) = s.breakers.get_mut(&target_id(target)) else {
            return Ok(());
        };
        match b.open_until {
            Some(until) if until > now => Err(Cooling::Broken(until)),
            Some(_) => match b.trial_since {
                Some(since) if now.duration_since(since) < TRIAL_LIMIT => {
                    Err(Cooling::Broken(since + TRIAL_LIMIT))
                }
                _ => {
                    b.trial_since = Some(now);
                    Ok(())
                }
            },
            None => Ok(()),
        }
    }

    /// `target` answered: its breaker closes.
    pub fn succeeded(&self, target: &Target) {
        let mut s = self.lock();
        s.breakers.remove(&target_id(target));
    }

    /// `target` failed in a way another try may fix (refused connection, 5xx, a stream cut
    /// before its content); the [`BREAKER_FAILURES`]th in a row opens its breaker, and a
    /// failed trial opens it again.
    pub fn failed(&self, target: &Target, why: &str, now: Instant) {
        let mut s = self.lock();
        let b = s.breakers.entry(target_id(target)).or_default();
        b.failures = b.failures.saturating_add(1);
        why.clone_into(&mut b.last_error);
        if b.trial_since.take().is_some() || b.failures >= BREAKER_FAILURES {
            b.open_until = Some(now + BREAKER_COOLDOWN);
        }
    }

    /// `target`'s provider key answered 429: the key cools down for `retry_after` (or
    /// [`RATE_LIMIT_COOLDOWN`]); a cooldown is extended, never shortened.
    pub fn rate_limited(&self, target: &Target, retry_after: Option<Duration>, now: Instant) {
        let until = now + retry_after.unwrap_or(RATE_LIMIT_COOLDOWN);
        let mut s = self.lock();
        let entry = s.keys.entry(key_id(target)).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }

    /// What `target`'s last failure said, while its breaker counts failures.
    pub fn last_failure(&self, target: &Target) -> Option<String> {
        let s = self.lock();
        s.breakers
            .get(&target_id(target))
            .map(|b| b.last_error.clone())
            .filter(|e| !e.is_empty())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a cache of what upstreams said: a panic elsewhere leaves it usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{ProviderId, ProviderKind, openai::Quirks};

    fn target(key: &str, model: &str) -> Target {
        Target {
            provider: ProviderId::known("openai"),
            kind: ProviderKind::OpenAi,
            quirks: Quirks::OPENAI,
            base_url: "http://127.0.0.1:9".into(),
            key_name: Some(key.into()),
            credential: crate::providers::Credential::None,
            upstream_model: model.into(),
            place: Default::default(),
        }
    }

    #[test]
    fn a_429_cools_the_key_for_its_retry_after_and_later_ones_only_extend_it() {
        let (h, t0) = (Health::default(), Instant::now());
        let a = target("a", "gpt-5");
        h.rate_limited(&a, Some(Duration::from_secs(20)), t0);
        h.rate_limited(&a, Some(Duration::from_secs(5)), t0);
        assert_eq!(
            h.admit(&a, t0 + Duration::from_secs(10)),
            Err(Cooling::RateLimited(t0 + Duration::from_secs(20)))
        );
        // The same key for another model cools too; a sibling key does not.
        assert!(h.admit(&target("a", "gpt-5-mini"), t0).is_err());
        assert_eq!(h.admit(&target("b", "gpt-5"), t0), Ok(()));
        assert_eq!(h.admit(&a, t0 + Duration::from_secs(21)), Ok(()));
    }

    #[test]
    fn a_429_without_retry_after_cools_for_the_default() {
        let (h, t0) = (Health::default(), Instant::now());
        let a = target("a", "gpt-5");
        h.rate_limited(&a, None, t0);
        assert_eq!(
            h.admit(&a, t0),
            Err(Cooling::RateLimited(t0 + RATE_LIMIT_COOLDOWN))
        );
    }

    #[test]
    fn failures_in_a_row_open_the_breaker_then_one_trial_goes_through() {
        let (h, t0) = (Health::default(), Instant::now());
        let a = target("a", "gpt-5");
        for _ in 0..BREAKER_FAILURES - 1 {
            h.failed(&a, "503", t0);
        }
        assert_eq!(h.admit(&a, t0), Ok(()));
        h.failed(&a, "503", t0);
        let open = t0 + BREAKER_COOLDOWN;
        assert_eq!(h.admit(&a, t0), Err(Cooling::Broken(open)));
        // Half-open: the first request after the cooldown is the trial, the next waits.
        let later = open + Duration::from_secs(1);
        assert_eq!(h.admit(&a, later), Ok(()));
        assert!(h.admit(&a, later).is_err());
        // A failed trial opens it again; a successful one closes it.
        h.failed(&a, "503", later);
        assert_eq!(
            h.admit(&a, later),
            Err(Cooling::Broken(later + BREAKER_COOLDOWN))
        );
        let again = later + BREAKER_COOLDOWN + Duration::from_secs(1);
        assert_eq!(h.admit(&a, again), Ok(()));
        h.succeeded(&a);
        assert_eq!(h.admit(&a, again), Ok(()));
        assert_eq!(h.admit(&a, again), Ok(()));
    }

    #[test]
    fn a_success_between_failures_starts_the_count_again() {
        let (h, t0) = (Health::default(), Instant::now());
        let a = target("a", "gpt-5");
        h.failed(&a, "503", t0);
        h.failed(&a, "503", t0);
        h.succeeded(&a);
        h.failed(&a, "503", t0);
        assert_eq!(h.admit(&a, t0), Ok(()));
    }

    #[test]
    fn a_trial_whose_client_vanished_frees_its_place() {
        let (h, t0) = (Health::default(), Instant::now());
        let a = target("a", "gpt-5");
        for _ in 0..BREAKER_FAILURES {
            h.failed(&a, "503", t0);
        }
        let open = t0 + BREAKER_COOLDOWN;
        assert_eq!(h.admit(&a, open), Ok(()));
        assert!(h.admit(&a, open + Duration::from_secs(1)).is_err());
        assert_eq!(h.admit(&a, open + TRIAL_LIMIT), Ok(()));
    }
}
