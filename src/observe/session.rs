//! Totals for the end-of-session line of `bgw run`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::catalog::{Pricing, Usd};

use crate::messages::Usage;

/// Running totals, updated once per finished request (never on the hot path's critical section).
#[derive(Debug, Default)]
pub struct SessionStats {
    totals: Mutex<Totals>,
    /// The prices in force (the user's overrides over the catalog), kept fresh by the gateway.
    pricing: RwLock<Arc<Pricing>>,
}

/// A copy of the totals at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub requests: u64,
    pub failed: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: Usd,
    /// Requests whose model has no known price.
    pub unpriced: u64,
    /// Requests per provider.
    pub providers: BTreeMap<String, u64>,
}

impl SessionStats {
    /// Records one finished request.
    pub fn record(&self, provider: &str, upstream_model: &str, usage: &Usage, ok: bool) {
        let cost = self.pricing().cost(provider, upstream_model, usage);
        let Ok(mut t) = self.totals.lock() else {
            return;
        };
        t.requests += 1;
        if !ok {
            t.failed += 1;
        }
        t.input_tokens += usage.total_input();
        t.output_tokens += usage.output_tokens;
        match cost {
            Some(c) => t.cost += c,
            None if ok => t.unpriced += 1,
            None => {}
        }
        *t.providers.entry(provider.to_owned()).or_insert(0) += 1;
    }

    /// Prices the requests recorded from now on at `pricing` (the stored overrides changed).
    pub fn set_pricing(&self, pricing: Pricing) {
        let next = Arc::new(pricing);
        match self.pricing.write() {
            Ok(mut p) => *p = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }

    /// The prices in force (cheap: one `Arc` clone, no lock held after).
    pub fn pricing(&self) -> Arc<Pricing> {
        match self.pricing.read() {
            Ok(p) => Arc::clone(&p),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The totals now.
    pub fn totals(&self) -> Totals {
        self.totals.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

impl Totals {
    /// Totals of request-log rows grouped by provider.
    pub fn from_stats(rows: &[crate::store::stats::StatsRow]) -> Totals {
        let mut t = Totals::default();
        for r in rows {
            t.requests += r.requests;
            t.failed += r.errors;
            t.input_tokens += r.input_tokens + r.cache_read_tokens + r.cache_write_tokens;
            t.output_tokens += r.output_tokens;
            t.cost += Usd(r.cost);
            t.unpriced += r.unpriced;
            // A request refused before any provider (a budget, a key, a bad model) has no
            // provider: the line says what it was.
            let group = if r.group == "-" || r.group.is_empty() {
                "refused".to_owned()
            } else {
                r.group.clone()
            };
            *t.providers.entry(group).or_default() += r.requests;
        }
        t
    }

    /// One line: requests, tokens, cost, providers.
    pub fn summary_line(&self) -> String {
        let failed = if self.failed > 0 {
            format!(" ({} failed)", self.failed)
        } else {
            String::new()
        };
        let unpriced = if self.unpriced > 0 {
            format!(" (+{} unpriced)", self.unpriced)
        } else {
            String::new()
        };
        let providers = if self.providers.is_empty() {
            "none".to_owned()
        } else {
            self.providers
                .iter()
                .map(|(p, n)| format!("{p} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "bgw: {} request{}{failed}, {} input + {} output tokens, {}{unpriced}, providers: {providers}",
            self.requests,
            if self.requests == 1 { "" } else { "s" },
            thousands(self.input_tokens),
            thousands(self.output_tokens),
            self.cost,
        )
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn summary_counts_requests_tokens_and_providers() {
        let stats = SessionStats::default();
        let usage = Usage {
            cache_creation: None,
            input_tokens: 1000,
            output_tokens: 200,
            cache_read_input_tokens: 500,
            cache_creation_input_tokens: 0,
        };
        stats.record("openai", "gpt-4o", &usage, true);
        stats.record("anthropic", "no-such-model", &usage, true);
        stats.record("openai", "gpt-4o", &Usage::default(), false);
        let line = stats.totals().summary_line();
        assert!(
            line.starts_with("bgw: 3 requests (1 failed), 3,000 input + 400 output tokens, $"),
            "{line}"
        );
        assert!(line.contains("(+1 unpriced)"), "{line}");
        assert!(
            line.ends_with("providers: anthropic ×1, openai ×2"),
            "{line}"
        );
    }

    #[test]
    fn a_request_refused_before_any_provider_is_counted_as_refused() {
        use crate::store::stats::StatsRow;
        let rows = [
            StatsRow {
                group: "-".into(),
                requests: 1,
                errors: 1,
                ..StatsRow::default()
            },
            StatsRow {
                group: "openai".into(),
                requests: 2,
                ..StatsRow::default()
            },
        ];
        let line = Totals::from_stats(&rows).summary_line();
        assert!(line.ends_with("providers: openai ×2, refused ×1"), "{line}");
        assert!(line.starts_with("bgw: 3 requests (1 failed)"), "{line}");
    }

    #[test]
    fn an_override_prices_what_the_catalog_cannot() {
        let stats = SessionStats::default();
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 1_000_000,
            ..Usage::default()
        };
        stats.record("mine", "llama", &usage, true);
        stats.set_pricing(Pricing::with_overrides([(
            "mine".to_owned(),
            "llama".to_owned(),
            crate::catalog::Price {
                cache_write_1h: None,
                input: 0.5,
                output: 1.5,
                cache_read: None,
                cache_write: None,
            },
        )]));
        stats.record("mine", "llama", &usage, true);
        let t = stats.totals();
        assert_eq!((t.cost, t.unpriced), (Usd(2.0), 1));
    }
}
