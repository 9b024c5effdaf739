//! Who is calling: the virtual key a request presents, looked up by the hash of its secret.

use std::collections::HashMap;
use std::sync::Arc;

use super::scope::Caller;
use super::vkey;
use crate::messages::{ApiError, ErrorKind};
use crate::store::vkeys::VirtualKey;

/// The virtual keys in force, by hash and by name.
#[derive(Debug, Default)]
pub struct Access {
    by_hash: HashMap<String, Arc<VirtualKey>>,
    by_name: HashMap<String, Arc<VirtualKey>>,
}

impl Access {
    /// The keys of these records.
    pub fn new(keys: Vec<VirtualKey>) -> Access {
        let mut access = Access::default();
        for key in keys {
            let key = Arc::new(key);
            access.by_hash.insert(key.hash.clone(), Arc::clone(&key));
            access.by_name.insert(key.name.clone(), key);
        }
        access
    }

    /// Whether any virtual key exists (then `bgw serve` wants one with every request).
    pub fn any(&self) -> bool {
        !self.by_name.is_empty()
    }

    /// The key whose secret this is, if it is one.
    pub fn by_secret(&self, secret: &str) -> Option<&Arc<VirtualKey>> {
        self.by_hash.get(&vkey::hash(secret))
    }

    /// The key of this name.
    pub fn by_name(&self, name: &str) -> Option<&Arc<VirtualKey>> {
        self.by_name.get(name)
    }
}

/// Refuses a key that is disabled or past its expiry, saying how to get it working.
pub fn check_usable(key: &VirtualKey, now_ms: u64) -> Result<(), ApiError> {
    if key.disabled {
        return Err(ApiError::new(
            ErrorKind::Authentication,
            format!(
                "bgw: the virtual key `{}` is disabled; its owner can enable it with `bgw keys virtual enable {}`",
                key.name, key.name
            ),
        ));
    }
    if let Some(expiry) = key.expires_ms.filter(|&e| e <= now_ms) {
        let when = jiff::Timestamp::from_millisecond(i64::try_from(expiry).unwrap_or(i64::MAX))
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        return Err(ApiError::new(
            ErrorKind::Authentication,
            format!(
                "bgw: the virtual key `{}` expired {when}; ask for a new one (`bgw keys virtual create`), or have it renewed with `bgw keys virtual rotate {}`",
                key.name, key.name
            ),
        ));
    }
    Ok(())
}

/// The caller a virtual key stands for.
pub fn caller_of(key: &VirtualKey) -> Caller {
    Caller {
        key: Some(key.name.clone()),
        team: key.team.clone(),
        customer: key.customer.clone(),
    }
}
