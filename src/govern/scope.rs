//! Whose spend a budget counts (the scopes of a request's chain), and who made a request.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One link of a request's chain, checked in this order: session → key → team → customer →
/// provider → provider key → global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One `bgw run` session (`bgw run --budget 5`); kept by that gateway alone.
    Session,
    /// A virtual key.
    Key,
    Team,
    Customer,
    /// A provider, whatever key reaches it.
    Provider,
    /// One stored provider key (rate limits a provider sets per key).
    ProviderKey,
    /// Everything through every gateway on this store.
    Global,
}

impl Scope {
    /// The scopes in chain order.
    pub const CHAIN: [Scope; 7] = [
        Scope::Session,
        Scope::Key,
        Scope::Team,
        Scope::Customer,
        Scope::Provider,
        Scope::ProviderKey,
        Scope::Global,
    ];

    /// The word `bgw budget` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Session => "session",
            Scope::Key => "key",
            Scope::Team => "team",
            Scope::Customer => "customer",
            Scope::Provider => "provider",
            Scope::ProviderKey => "provider-key",
            Scope::Global => "global",
        }
    }

    /// Reads a scope as `bgw budget set` takes it (a session's budget is `bgw run --budget`).
    pub fn parse(word: &str) -> Result<Scope, String> {
        match word.trim().to_ascii_lowercase().as_str() {
            "key" | "virtual-key" => Ok(Scope::Key),
            "team" => Ok(Scope::Team),
            "customer" => Ok(Scope::Customer),
            "provider" => Ok(Scope::Provider),
            "provider-key" | "provider_key" => Ok(Scope::ProviderKey),
            "global" => Ok(Scope::Global),
            "session" => {
                Err("a session's budget is set when it starts: `bgw run --budget 5`".to_owned())
            }
            other => Err(format!(
                "`{other}` is not a budget scope: use key, team, customer, provider, provider-key or global"
            )),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One budget's owner: a scope and, but for `global`, a name in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BudgetId {
    pub scope: Scope,
    /// Empty for `global`.
    #[serde(default)]
    pub name: String,
}

impl BudgetId {
    /// The budget of `scope` `name` (`name` is ignored for `global`).
    pub fn new(scope: Scope, name: impl Into<String>) -> BudgetId {
        let name = if scope == Scope::Global {
            String::new()
        } else {
            name.into()
        };
        BudgetId { scope, name }
    }

    /// Its row's key in the `budgets` table: `team/eng`, `global`.
    pub fn key(&self) -> String {
        if self.name.is_empty() {
            self.scope.as_str().to_owned()
        } else {
            format!("{}/{}", self.scope, self.name)
        }
    }
}

impl fmt::Display for BudgetId {
    /// `team eng`, `global`: as typed after `bgw budget set`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A session's name is its gateway's run id, which says nothing to a person.
        if self.name.is_empty() || self.scope == Scope::Session {
            f.write_str(self.scope.as_str())
        } else {
            write!(f, "{} {}", self.scope, self.name)
        }
    }
}

/// Who made a request: the virtual key it presented (or `bgw run --key`), with the key's
/// team and customer. Kept in the request log's rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
}

impl Caller {
    /// Whether nothing is known of the caller.
    pub fn is_anonymous(&self) -> bool {
        self.key.is_none() && self.team.is_none() && self.customer.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_ids_read_as_typed_and_key_their_rows() {
        let team = BudgetId::new(Scope::Team, "eng");
        assert_eq!(
            (team.to_string(), team.key()),
            ("team eng".into(), "team/eng".into())
        );
        let global = BudgetId::new(Scope::Global, "ignored");
        assert_eq!(
            (global.to_string(), global.key()),
            ("global".into(), "global".into())
        );
    }

    #[test]
    fn scopes_parse_as_bgw_budget_takes_them() {
        assert_eq!(Scope::parse("Team"), Ok(Scope::Team));
        assert_eq!(Scope::parse("provider-key"), Ok(Scope::ProviderKey));
        assert!(
            Scope::parse("session")
                .unwrap_err()
                .contains("bgw run --budget")
        );
        assert!(
            Scope::parse("org")
                .unwrap_err()
                .contains("not a budget scope")
        );
    }
}
