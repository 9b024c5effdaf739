//! Virtual keys: the credentials bgw gives its own callers, one `vkeys` row per name. The
//! secret itself is never stored, only its hash ([`crate::govern::vkey`]).

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, db_err};

/// One virtual key as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualKey {
    pub name: String,
    /// SHA-256 of the secret, hex.
    pub hash: String,
    /// The secret's last four characters, to tell keys apart.
    pub hint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Models it may use (`openai/*`, `anthropic/claude-sonnet-4-5`); empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Providers it may use; empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<String>,
    /// When it stops working (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
    #[serde(default)]
    pub disabled: bool,
    pub created_ms: u64,
    /// When its secret was last replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_ms: Option<u64>,
}

fn decode(name: &str, value: &[u8]) -> Result<VirtualKey, StoreError> {
    serde_json::from_slice(value)
        .map_err(|e| StoreError::Corrupt(format!("the virtual key `{name}`: {e}")))
}

impl Store {
    /// Every virtual key, by name.
    pub fn virtual_keys(&self) -> Result<Vec<VirtualKey>, StoreError> {
        let mut out = self
            .list("vkeys")?
            .into_iter()
            .map(|(k, v)| decode(&k, &v))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The virtual key `name`, if there is one.
    pub fn virtual_key(&self, name: &str) -> Result<Option<VirtualKey>, StoreError> {
        self.get("vkeys", name)?
            .map(|v| decode(name, &v))
            .transpose()
    }

    /// Adds a virtual key; one of the same name is refused.
    pub fn add_virtual_key(&self, key: &VirtualKey) -> Result<(), StoreError> {
        let value = serde_json::to_vec(key).map_err(db_err)?;
        if self.put("vkeys", &key.name, value, true)? {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "a virtual key named `{}` exists already; see it with `bgw keys virtual show {}`",
                key.name, key.name
            )))
        }
    }

    /// Changes the virtual key `name` with `edit`, safely against another process changing it
    /// at the same moment; `None` when there is no such key.
    pub fn edit_virtual_key(
        &self,
        name: &str,
        edit: impl Fn(&mut VirtualKey),
    ) -> Result<Option<VirtualKey>, StoreError> {
        loop {
            let Some(old) = self.get("vkeys", name)? else {
                return Ok(None);
            };
            let mut key = decode(name, &old)?;
            edit(&mut key);
            let new = serde_json::to_vec(&key).map_err(db_err)?;
            if self.swap("vkeys", name, Some(old), Some(new))? {
                return Ok(Some(key));
            }
        }
    }

    /// Removes the virtual key `name`; says whether it existed.
    pub fn remove_virtual_key(&self, name: &str) -> Result<bool, StoreError> {
        self.remove("vkeys", name)
    }
}
