//! Routing rules as `bgw route add` stores them, one `routes` row each by name. Writing one
//! tells every config watcher, so running gateways use a change from their next request.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, db_err};

/// One routing rule: when its condition holds for a request of a caller in its scope, the
/// request goes to its targets (one chosen by weight), then its fallbacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteRecord {
    pub name: String,
    /// The CEL condition, as written.
    pub when: String,
    /// `provider/model` and its weight (any positive scale: `70,30` and `0.7,0.3` agree).
    pub to: Vec<(String, f64)>,
    /// `provider/model`s tried in turn when the chosen target fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<String>,
    /// `global`, `key:NAME`, `team:NAME` or `customer:NAME`.
    pub scope: String,
    /// Within a scope, higher goes first.
    #[serde(default)]
    pub priority: i32,
    pub enabled: bool,
    pub created_ms: u64,
}

fn decode(key: &str, value: &[u8]) -> Result<RouteRecord, StoreError> {
    serde_json::from_slice(value)
        .map_err(|e| StoreError::Corrupt(format!("the routing rule `{key}`: {e}")))
}

impl Store {
    /// Every routing rule, by name.
    pub fn routes(&self) -> Result<Vec<RouteRecord>, StoreError> {
        self.list("routes")?
            .into_iter()
            .map(|(k, v)| decode(&k, &v))
            .collect()
    }

    /// The rule called `name`.
    pub fn route(&self, name: &str) -> Result<Option<RouteRecord>, StoreError> {
        self.get("routes", name)?
            .map(|v| decode(name, &v))
            .transpose()
    }

    /// Stores a new rule; `false` when one of its name exists.
    pub fn add_route(&self, rule: &RouteRecord) -> Result<bool, StoreError> {
        let value = serde_json::to_vec(rule).map_err(db_err)?;
        self.put("routes", &rule.name, value, true)
    }

    /// Turns the rule `name` on or off; `None` when there is none.
    pub fn enable_route(
        &self,
        name: &str,
        enabled: bool,
    ) -> Result<Option<RouteRecord>, StoreError> {
        loop {
            let Some(old) = self.get("routes", name)? else {
                return Ok(None);
            };
            let mut rule = decode(name, &old)?;
            rule.enabled = enabled;
            let new = serde_json::to_vec(&rule).map_err(db_err)?;
            if self.swap("routes", name, Some(old), Some(new))? {
                return Ok(Some(rule));
            }
        }
    }

    /// Removes the rule `name`; says whether there was one.
    pub fn remove_route(&self, name: &str) -> Result<bool, StoreError> {
        self.remove("routes", name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str) -> RouteRecord {
        RouteRecord {
            name: name.into(),
            when: "tier == \"sonnet\"".into(),
            to: vec![
                ("openai/gpt-4o".into(), 70.0),
                ("groq/llama-3.1-70b-versatile".into(), 30.0),
            ],
            fallback: vec!["anthropic/claude-sonnet-4-5".into()],
            scope: "global".into(),
            priority: 0,
            enabled: true,
            created_ms: 1,
        }
    }

    #[test]
    fn rules_are_added_once_toggled_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.add_route(&rule("ab")).unwrap());
        assert!(!store.add_route(&rule("ab")).unwrap());
        let off = store.enable_route("ab", false).unwrap().unwrap();
        assert!(!off.enabled);
        assert_eq!(store.routes().unwrap(), vec![off]);
        assert_eq!(store.enable_route("nope", true).unwrap(), None);
        assert!(store.remove_route("ab").unwrap());
        assert!(store.routes().unwrap().is_empty());
    }
}
