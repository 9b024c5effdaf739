//! Session stickiness: the requests of one Claude Code session keep the key (and, with rules,
//! the target) their first request was given, so the provider's prompt cache stays warm.
//!
//! A session is named by Claude Code's `X-Claude-Code-Session-Id`, within one caller (a
//! virtual key) and one requested model. An entry lives as long as the longest prompt cache
//! the session asked for (5 minutes, or an hour for `"ttl": "1h"`), renewed by each request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a provider keeps a prompt cache unless asked for longer.
pub const CACHE_DEFAULT: Duration = Duration::from_secs(5 * 60);
/// The longest cache Anthropic offers (`"ttl": "1h"`).
pub const CACHE_LONG: Duration = Duration::from_secs(60 * 60);
/// Entries kept before expired ones are swept (a sweep is a pass over the map).
const SWEEP_AT: usize = 4096;
/// Entries kept at most; past this a new session is not remembered (sessions in use are).
const MAX_ENTRIES: usize = 100_000;

/// Which session a request belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    /// The virtual key's name, or empty.
    pub caller: String,
    pub session: String,
    /// The model as the client asked for it.
    pub requested: String,
}

/// What a session is kept on: a target's address and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// `provider/model`.
    pub address: String,
    pub key: Option<String>,
}

/// The sessions of one gateway and what each is kept on.
#[derive(Debug, Default)]
pub struct Sticky {
    inner: Mutex<HashMap<SessionKey, (Choice, Instant)>>,
}

impl Sticky {
    /// What the session was kept on, unless its time ran out.
    pub fn get(&self, session: &SessionKey, now: Instant) -> Option<Choice> {
        let map = self.lock();
        map.get(session)
            .filter(|(_, until)| *until > now)
            .map(|(c, _)| c.clone())
    }

    /// Keeps the session on `choice` for `ttl` from `now` (a served request renews it; a
    /// failover moves it).
    pub fn keep(&self, session: SessionKey, choice: Choice, ttl: Duration, now: Instant) {
        let mut map = self.lock();
        if map.len() >= SWEEP_AT && !map.contains_key(&session) {
            map.retain(|_, (_, until)| *until > now);
            if map.len() >= MAX_ENTRIES {
                return;
            }
        }
        map.insert(session, (choice, now + ttl));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionKey, (Choice, Instant)>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How long a request's prompt cache lives: an hour when any `cache_control` in `body` asks
/// for `"ttl": "1h"`, else five minutes.
pub fn cache_lifetime(body: &[u8]) -> Duration {
    let long = memchr::memmem::find(body, b"\"ttl\":\"1h\"").is_some()
        || memchr::memmem::find(body, b"\"ttl\": \"1h\"").is_some();
    if long { CACHE_LONG } else { CACHE_DEFAULT }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str) -> SessionKey {
        SessionKey {
            caller: String::new(),
            session: id.into(),
            requested: "openai/gpt-5".into(),
        }
    }

    fn choice(key: &str) -> Choice {
        Choice {
            address: "openai/gpt-5".into(),
            key: Some(key.into()),
        }
    }

    #[test]
    fn a_session_is_kept_until_its_cache_would_expire() {
        let (s, t0) = (Sticky::default(), Instant::now());
        s.keep(session("s1"), choice("a"), CACHE_DEFAULT, t0);
        assert_eq!(
            s.get(&session("s1"), t0 + Duration::from_secs(299)),
            Some(choice("a"))
        );
        assert_eq!(s.get(&session("s1"), t0 + CACHE_DEFAULT), None);
        assert_eq!(s.get(&session("s2"), t0), None);
    }

    #[test]
    fn sessions_are_apart_per_caller() {
        let (s, t0) = (Sticky::default(), Instant::now());
        s.keep(session("s1"), choice("a"), CACHE_DEFAULT, t0);
        let other = SessionKey {
            caller: "bob".into(),
            ..session("s1")
        };
        assert_eq!(s.get(&other, t0), None);
    }

    #[test]
    fn an_hour_long_cache_keeps_the_session_an_hour() {
        let body = br#"{"system":[{"type":"text","text":"x","cache_control":{"type":"ephemeral","ttl":"1h"}}]}"#;
        assert_eq!(cache_lifetime(body), CACHE_LONG);
        assert_eq!(
            cache_lifetime(br#"{"cache_control":{"type":"ephemeral"}}"#),
            CACHE_DEFAULT
        );
    }

    #[test]
    fn expired_sessions_are_swept_when_the_map_grows() {
        let (s, t0) = (Sticky::default(), Instant::now());
        for i in 0..SWEEP_AT {
            s.keep(session(&i.to_string()), choice("a"), CACHE_DEFAULT, t0);
        }
        let later = t0 + CACHE_DEFAULT;
        s.keep(session("new"), choice("b"), CACHE_DEFAULT, later);
        assert_eq!(s.lock().len(), 1);
    }
}
