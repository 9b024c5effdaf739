//! The stored config as one immutable snapshot: provider keys (as routes), prices, the log's
//! settings, virtual keys and budgets. The store watcher builds a new one off the request
//! path whenever the config changes and swaps it in; requests only read it, without a lock.

use std::sync::Arc;

use crate::catalog::Pricing;
use crate::govern::access::Access;
use crate::govern::admit::Budgets;
use crate::route::Routes;
use crate::route::rules::RuleSet;
use crate::store::{Store, StoreError};

/// Everything a request reads of the stored config, at one moment.
#[derive(Debug, Default)]
pub struct Config {
    pub routes: Routes,
    pub pricing: Arc<Pricing>,
    /// Whether the request log keeps bodies (`bgw logs settings --content`).
    pub log_content: bool,
    pub access: Access,
    pub budgets: Budgets,
    /// The enabled routing rules, compiled.
    pub rules: RuleSet,
}

impl Config {
    /// Fixed routes and nothing else stored (a gateway without a store).
    pub fn with_routes(routes: Routes) -> Config {
        Config {
            routes,
            log_content: true,
            ..Config::default()
        }
    }

    /// Reads the config from `store` (blocking: off the request path).
    pub fn load(store: &Store) -> Result<Config, StoreError> {
        Ok(Config {
            routes: Routes::new(&store.keys()?),
            pricing: Arc::new(store.pricing()?),
            log_content: store.log_settings()?.content,
            access: Access::new(store.virtual_keys()?),
            budgets: Budgets::new(store.budgets()?),
            rules: RuleSet::new(&store.routes()?),
        })
    }
}
