//! The user's price overrides (`bgw models price set`), one `prices` row per model, keyed
//! `provider/model`. Writing or removing one tells every config watcher, so running gateways
//! price their next requests with it.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, db_err};
use crate::catalog::{Price, Pricing};

/// One model's price, set by the user; it wins over the catalog's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceOverride {
    /// The provider, as written before `/` in model names (`anthropic` for bare names).
    pub provider: String,
    /// The model, as the provider's API takes it.
    pub model: String,
    /// US dollars per million tokens.
    pub price: Price,
    /// Why, or where the numbers come from (`--note`).
    #[serde(default)]
    pub note: Option<String>,
    /// When it was set, in seconds since the Unix epoch.
    #[serde(default)]
    pub set_at: u64,
}

impl PriceOverride {
    /// Its row's key in the `prices` table: `provider/model`.
    pub fn key(&self) -> String {
        price_key(&self.provider, &self.model)
    }
}

fn price_key(provider: &str, model: &str) -> String {
    format!("{provider}/{model}")
}

impl Store {
    /// Every price override, sorted by provider then model.
    pub fn prices(&self) -> Result<Vec<PriceOverride>, StoreError> {
        let mut out = Vec::new();
        for (key, value) in self.list("prices")? {
            let rec: PriceOverride = serde_json::from_slice(&value)
                .map_err(|e| StoreError::Corrupt(format!("the price of `{key}`: {e}")))?;
            out.push(rec);
        }
        out.sort_by(|a, b| (&a.provider, &a.model).cmp(&(&b.provider, &b.model)));
        Ok(out)
    }

    /// The prices in force: the catalog under every override.
    pub fn pricing(&self) -> Result<Pricing, StoreError> {
        Ok(Pricing::with_overrides(
            self.prices()?
                .into_iter()
                .map(|o| (o.provider, o.model, o.price)),
        ))
    }

    /// The override of `provider/model`, if there is one.
    pub fn price(&self, provider: &str, model: &str) -> Result<Option<PriceOverride>, StoreError> {
        self.get("prices", &price_key(provider, model))?
            .map(|value| {
                serde_json::from_slice(&value).map_err(|e| {
                    StoreError::Corrupt(format!("the price of `{provider}/{model}`: {e}"))
                })
            })
            .transpose()
    }

    /// Sets (or replaces) a model's price; running gateways use it from their next request.
    pub fn set_price(&self, rec: &PriceOverride) -> Result<(), StoreError> {
        rec.price.check().map_err(StoreError::Conflict)?;
        let value = serde_json::to_vec(rec).map_err(db_err)?;
        self.put("prices", &rec.key(), value, false).map(|_| ())
    }

    /// Removes a model's override (it goes back to the catalog's price, or to unknown); says
    /// whether there was one.
    pub fn remove_price(&self, provider: &str, model: &str) -> Result<bool, StoreError> {
        self.remove("prices", &price_key(provider, model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::PriceSource;

    fn rec(provider: &str, model: &str, input: f64) -> PriceOverride {
        PriceOverride {
            provider: provider.into(),
            model: model.into(),
            price: Price {
                cache_write_1h: None,
                input,
                output: 2.0 * input,
                cache_read: Some(input / 10.0),
                cache_write: None,
            },
            note: Some("contract 2026".into()),
            set_at: 1_700_000_000,
        }
    }

    #[test]
    fn prices_round_trip_sorted_and_replaceable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.prices().unwrap().is_empty());
        store.set_price(&rec("openai", "gpt-4o", 3.0)).unwrap();
        store.set_price(&rec("groq", "my/model", 0.5)).unwrap();
        assert_eq!(
            store.prices().unwrap(),
            [rec("groq", "my/model", 0.5), rec("openai", "gpt-4o", 3.0)]
        );
        // Setting it again replaces it.
        store.set_price(&rec("openai", "gpt-4o", 4.0)).unwrap();
        assert_eq!(
            store.price("openai", "gpt-4o").unwrap(),
            Some(rec("openai", "gpt-4o", 4.0))
        );
        let pricing = store.pricing().unwrap();
        assert_eq!(pricing.overrides(), 2);
        let e = pricing.price("openai", "gpt-4o").unwrap();
        assert_eq!((e.source, e.price.input), (PriceSource::Override, 4.0));

        assert!(store.remove_price("openai", "gpt-4o").unwrap());
        assert!(!store.remove_price("openai", "gpt-4o").unwrap());
        assert_eq!(store.price("openai", "gpt-4o").unwrap(), None);
        let e = store.pricing().unwrap().price("openai", "gpt-4o").unwrap();
        assert_eq!(e.source, PriceSource::Catalog);
    }

    #[test]
    fn a_price_that_is_not_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let err = store.set_price(&rec("openai", "gpt-4o", bad)).unwrap_err();
            assert!(err.to_string().contains("is not a price"), "{err}");
        }
        assert!(store.prices().unwrap().is_empty());
    }

    #[test]
    fn a_watcher_hears_price_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let (tx, rx) = std::sync::mpsc::channel();
        store.watch_config(move |w| tx.send(format!("{w:?}")).is_ok());
        std::thread::sleep(std::time::Duration::from_millis(300));
        let timeout = std::time::Duration::from_secs(5);
        store.set_price(&rec("openai", "gpt-4o", 3.0)).unwrap();
        assert_eq!(rx.recv_timeout(timeout).unwrap(), "Config");
        store.remove_price("openai", "gpt-4o").unwrap();
        assert_eq!(rx.recv_timeout(timeout).unwrap(), "Config");
    }
}
