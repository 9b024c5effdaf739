//! The prices in force: the user's overrides (`bgw models price set`) over the built-in table.
//!
//! An override names a model as requests do (`provider/model`) and wins over the catalog's
//! price, for a model the catalog knows or not. Dated snapshots of the model use it too
//! (`openai/gpt-4o` prices `gpt-4o-2024-08-06`), as they use the catalog's row; an override
//! of the snapshot itself wins over one of its base id.

use std::collections::HashMap;

use super::{Price, Usd, lookup, strip_snapshot_date};
use crate::messages::Usage;

/// Where an effective price comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSource {
    /// The user set it (`bgw models price set`).
    Override,
    /// bgw's built-in table, as taken on [`super::PRICES_TAKEN`].
    Catalog,
}

/// The price a model is billed at, and whose it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effective {
    pub price: Price,
    pub source: PriceSource,
}

/// An immutable snapshot of the user's price overrides, read with the catalog beneath them.
#[derive(Debug, Clone, Default)]
pub struct Pricing {
    /// provider → model → price.
    overrides: HashMap<String, HashMap<String, Price>>,
}

impl Pricing {
    /// The built-in prices alone.
    pub fn builtin() -> Pricing {
        Pricing::default()
    }

    /// The built-in prices under these overrides: `(provider, model, price)`.
    pub fn with_overrides(overrides: impl IntoIterator<Item = (String, String, Price)>) -> Pricing {
        let mut out = Pricing::default();
        for (provider, model, price) in overrides {
            out.overrides
                .entry(provider)
                .or_default()
                .insert(model, price);
        }
        out
    }

    /// How many overrides there are.
    pub fn overrides(&self) -> usize {
        self.overrides.values().map(HashMap::len).sum()
    }

    /// The models of `provider` you priced, in no particular order.
    pub fn overridden_models(&self, provider: &str) -> impl Iterator<Item = &str> {
        self.overrides
            .get(provider)
            .into_iter()
            .flat_map(|models| models.keys().map(String::as_str))
    }

    /// The user's own price for `provider/model` (or its base id), if they set one.
    pub fn override_for(&self, provider: &str, model: &str) -> Option<Price> {
        let models = self.overrides.get(provider)?;
        models
            .get(model)
            .or_else(|| models.get(strip_snapshot_date(model)?))
            .copied()
    }

    /// The price `provider/model` is billed at: the user's, else the catalog's; `None` when
    /// neither knows it.
    pub fn price(&self, provider: &str, model: &str) -> Option<Effective> {
        if let Some(price) = self.override_for(provider, model) {
            return Some(Effective {
                price,
                source: PriceSource::Override,
            });
        }
        lookup(provider, model)
            .and_then(|info| info.price)
            .map(|price| Effective {
                price,
                source: PriceSource::Catalog,
            })
    }

    /// Cost of a request to `provider/model`; `None` when its price is unknown.
    pub fn cost(&self, provider: &str, model: &str, usage: &Usage) -> Option<Usd> {
        self.price(provider, model).map(|e| e.price.cost(usage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(input: f64, output: f64) -> Price {
        Price {
            cache_write_1h: None,
            input,
            output,
            cache_read: None,
            cache_write: None,
        }
    }

    fn usage(input: u64, output: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        }
    }

    #[test]
    fn builtin_prices_are_the_catalogs() {
        let p = Pricing::builtin();
        let e = p.price("openai", "gpt-4o").unwrap();
        assert_eq!(e.source, PriceSource::Catalog);
        assert_eq!(e.price.input, 2.5);
        assert_eq!(p.price("openai", "gpt-17"), None);
        assert_eq!(p.cost("openai", "gpt-17", &usage(1, 1)), None);
    }

    #[test]
    fn an_override_wins_for_known_and_unknown_models() {
        let p = Pricing::with_overrides([
            ("openai".to_owned(), "gpt-4o".to_owned(), price(3.0, 12.0)),
            ("mine".to_owned(), "llama".to_owned(), price(0.5, 1.0)),
        ]);
        assert_eq!(p.overrides(), 2);
        let e = p.price("openai", "gpt-4o").unwrap();
        assert_eq!((e.source, e.price.input), (PriceSource::Override, 3.0));
        // 1M input at $0.50 + 2M output at $1 = $2.50.
        let c = p
            .cost("mine", "llama", &usage(1_000_000, 2_000_000))
            .unwrap();
        assert!((c.0 - 2.5).abs() < 1e-12, "{c:?}");
        // Other models of the provider keep the catalog's price.
        let e = p.price("openai", "gpt-4o-mini").unwrap();
        assert_eq!(e.source, PriceSource::Catalog);
        // The override is the provider's: Azure's gpt-4o still borrows OpenAI's list price.
        assert_eq!(
            p.price("azure", "gpt-4o").unwrap().source,
            PriceSource::Catalog
        );
    }

    #[test]
    fn dated_snapshots_use_their_base_ids_override() {
        let p = Pricing::with_overrides([
            ("openai".to_owned(), "gpt-4o".to_owned(), price(3.0, 12.0)),
            (
                "openai".to_owned(),
                "gpt-4o-2024-05-13".to_owned(),
                price(5.0, 15.0),
            ),
        ]);
        let dated = p.price("openai", "gpt-4o-2024-08-06").unwrap();
        assert_eq!(
            (dated.source, dated.price.input),
            (PriceSource::Override, 3.0)
        );
        let own = p.price("openai", "gpt-4o-2024-05-13").unwrap();
        assert_eq!(own.price.input, 5.0);
    }
}
