//! Built-in model catalog: context windows, output caps and list prices of the models bgw knows.
//!
//! The table lives in `models.rs`, one row per model, grouped by provider with the source of
//! its numbers above each group. Prices are US dollars per million tokens, as published on the
//! date in [`PRICES_TAKEN`]. A price that could not be confirmed is `None`, so [`cost`] answers
//! `None` ("unknown") instead of a silent `$0`. Ollama rows are priced at zero on purpose: a
//! local model costs nothing per token.
//!
//! Pricing rules the table cannot express are left out rather than approximated: batch and
//! flex discounts, long-context surcharges above a prompt-size threshold, per-request search
//! fees, and the dearer 1-hour cache-write tier (cache writes use the default 5-minute price).

mod models;
mod pricing;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign};

use crate::messages::Usage;

pub use models::MODELS;
pub use pricing::{Effective, PriceSource, Pricing};

/// The date the prices in [`MODELS`] were taken from the providers' pages.
pub const PRICES_TAKEN: &str = "2026-11-23";

/// Money in US dollars; prints as `$0.0123` under a dollar and `$12.34` from a dollar up.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Usd(pub f64);

impl Add for Usd {
    type Output = Usd;

    fn add(self, rhs: Usd) -> Usd {
        Usd(self.0 + rhs.0)
    }
}

impl AddAssign for Usd {
    fn add_assign(&mut self, rhs: Usd) {
        self.0 += rhs.0;
    }
}

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whatever would round up to "$1.0000" prints with cents instead.
        if self.0.abs() < 0.999_95 {
            write!(f, "${:.4}", self.0)
        } else {
            write!(f, "${:.2}", self.0)
        }
    }
}

/// Prices in US dollars per million tokens; a missing cache price bills at the input price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens, reasoning included.
    pub output: f64,
    /// Tokens read from the prompt cache.
    pub cache_read: Option<f64>,
    /// Tokens written to the prompt cache (the default, shortest-lived tier).
    pub cache_write: Option<f64>,
    /// Tokens written to the 1-hour prompt cache (Anthropic: twice the input price); the
    /// default tier's price where not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h: Option<f64>,
}

impl Price {
    /// Cost of `usage` at this price.
    ///
    /// `usage.input_tokens` excludes cache tokens, as Anthropic reports it; cache reads and
    /// writes are billed at their own prices (1-hour writes at theirs), or at the input price
    /// where none is given.
    pub fn cost(&self, usage: &Usage) -> Usd {
        let per_token = |tokens: u64, per_million: f64| tokens as f64 * per_million / 1_000_000.0;
        let write = self.cache_write.unwrap_or(self.input);
        let long_writes = usage.cache_write_1h();
        Usd(per_token(usage.input_tokens, self.input)
            + per_token(usage.output_tokens, self.output)
            + per_token(
                usage.cache_read_input_tokens,
                self.cache_read.unwrap_or(self.input),
            )
            + per_token(usage.cache_creation_input_tokens - long_writes, write)
            + per_token(long_writes, self.cache_write_1h.unwrap_or(write)))
    }

    /// Says which number is not a price: each must be finite and not negative.
    pub fn check(&self) -> Result<(), String> {
        let named = [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cache read", self.cache_read),
            ("cache write", self.cache_write),
            ("1-hour cache write", self.cache_write_1h),
        ];
        for (name, value) in named {
            if let Some(v) = value {
                if !v.is_finite() || v < 0.0 {
                    return Err(format!(
                        "the {name} price `{v}` is not a price: give US dollars per million tokens, a number of 0 or more"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A price per million tokens as people write it: `$2.50`, `$0.075`, `$0`.
pub fn per_million(dollars: f64) -> String {
    let cents = format!("{dollars:.2}");
    let exact = format!("{dollars:.6}");
    let exact = exact.trim_end_matches('0');
    if exact.len() > cents.len() {
        format!("${exact}")
    } else {
        format!("${cents}")
    }
}

/// One known model; `max_output` equals `context_window` where no separate cap is published.
#[derive(Debug, Clone, Copy)]
pub struct ModelInfo {
    /// Provider kind, as bgw names it (`anthropic`, `openai`, `groq`, …).
    pub provider: &'static str,
    /// Model id as the provider's API takes it.
    pub id: &'static str,
    /// Name for people.
    pub display_name: &'static str,
    /// Tokens of prompt and output together.
    pub context_window: u32,
    /// Most output tokens one response may carry.
    pub max_output: u32,
    /// List price; `None` when it could not be confirmed.
    pub price: Option<Price>,
    /// Thinks before answering (reasoning tokens or a thinking mode).
    pub reasoning: bool,
    /// Accepts image input.
    pub vision: bool,
}

/// Finds a model by exact id, else by the base id of a dated snapshot; Azure borrows rows.
pub fn lookup(provider: &str, model: &str) -> Option<&'static ModelInfo> {
    if provider == "azure" {
        // Azure deployments carry no rows of their own: a deployment named like a model id
        // is that model, from OpenAI or (for `claude-*`, via Foundry) from Anthropic.
        let upstream = if model.starts_with("claude-") {
            "anthropic"
        } else {
            "openai"
        };
        return lookup(upstream, model);
    }
    match provider {
        // The clouds resell Anthropic's and Google's models under their own ids.
        "vertex" if model.starts_with("claude") => lookup("anthropic", model),
        "vertex" => lookup("gemini", model),
        "bedrock" if crate::providers::bedrock::is_claude(model) => {
            lookup("anthropic", crate::providers::bedrock::canonical(model))
        }
        _ => find(provider, model).or_else(|| find(provider, strip_snapshot_date(model)?)),
    }
}

/// Every row of one provider, in table order; Azure has none (its deployments are user-named).
/// The clouds resell others' models: Vertex Anthropic's Claude and Google's Gemini, Bedrock
/// Anthropic's Claude (its other models have no rows).
pub fn for_provider(provider: &str) -> impl Iterator<Item = &'static ModelInfo> {
    MODELS.iter().filter(move |m| match provider {
        "vertex" => m.provider == "anthropic" || m.provider == "gemini",
        "bedrock" => m.provider == "anthropic",
        _ => m.provider == provider,
    })
}

/// Cost of a request; `None` when the model has no known price (never a silent `$0`).
///
/// `usage.input_tokens` excludes cache tokens, as Anthropic reports it; cache reads and writes
/// are billed at their own prices, or at the input price where the provider publishes none.
pub fn cost(info: &ModelInfo, usage: &Usage) -> Option<Usd> {
    info.price.map(|p| p.cost(usage))
}

fn find(provider: &str, id: &str) -> Option<&'static ModelInfo> {
    MODELS.iter().find(|m| m.provider == provider && m.id == id)
}

/// The id without its snapshot date: `-2024-08-06` (OpenAI), `-20250929` (Anthropic) or
/// `@20250929` (Vertex); `None` when the id ends in no date.
fn strip_snapshot_date(id: &str) -> Option<&str> {
    let split = |date_len: usize| {
        let cut = id.len().checked_sub(date_len + 1).filter(|&c| c > 0)?;
        Some((id.get(..cut)?, id.get(cut..cut + 1)?, id.get(cut + 1..)?))
    };
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if let Some((head, "-", date)) = split(10) {
        let b = date.as_bytes();
        if date.is_ascii()
            && b[4] == b'-'
            && b[7] == b'-'
            && digits(&date[..4])
            && digits(&date[5..7])
            && digits(&date[8..])
        {
            return Some(head);
        }
    }
    match split(8) {
        Some((head, "-" | "@", date)) if digits(date) => Some(head),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, cache_write: u64, cache_read: u64) -> Usage {
        Usage {
            cache_creation: None,
            input_tokens: input,
            output_tokens: output,
            cache_creation_input_tokens: cache_write,
            cache_read_input_tokens: cache_read,
        }
    }

    #[test]
    fn lookup_exact_id() {
        let m = lookup("openai", "gpt-4o").unwrap();
        assert_eq!(m.id, "gpt-4o");
        assert_eq!(m.context_window, 128_000);
        let m = lookup("anthropic", "claude-sonnet-4-5").unwrap();
        assert_eq!(m.display_name, "Claude Sonnet 4.5");
    }

    #[test]
    fn lookup_dated_snapshot_matches_base_id() {
        assert_eq!(lookup("openai", "gpt-4o-2024-08-06").unwrap().id, "gpt-4o");
        assert_eq!(
            lookup("openai", "gpt-4.1-mini-2025-04-14").unwrap().id,
            "gpt-4.1-mini"
        );
        let m = lookup("anthropic", "claude-sonnet-4-5-20250929").unwrap();
        assert_eq!(m.id, "claude-sonnet-4-5");
        assert_eq!(
            lookup("anthropic", "claude-haiku-4-5@20251001").unwrap().id,
            "claude-haiku-4-5"
        );
    }

    #[test]
    fn the_clouds_borrow_anthropics_and_googles_rows() {
        let m = lookup("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap();
        assert_eq!((m.provider, m.id), ("anthropic", "claude-sonnet-4-5"));
        assert_eq!(
            lookup("bedrock", "claude-opus-4-6").unwrap().id,
            "claude-opus-4-6"
        );
        assert!(lookup("bedrock", "amazon.nova-pro-v1:0").is_none());
        let m = lookup("vertex", "claude-sonnet-4-5@20250929").unwrap();
        assert_eq!((m.provider, m.id), ("anthropic", "claude-sonnet-4-5"));
        assert_eq!(
            lookup("vertex", "gemini-2.5-pro").unwrap().provider,
            "gemini"
        );
        assert!(for_provider("bedrock").all(|m| m.provider == "anthropic"));
        assert!(for_provider("vertex").any(|m| m.provider == "gemini"));
        assert!(for_provider("vertex").any(|m| m.id == "claude-sonnet-4-5"));
    }

    #[test]
    fn lookup_azure_borrows_openai_and_anthropic_rows() {
        let m = lookup("azure", "gpt-4o").unwrap();
        assert_eq!((m.provider, m.id), ("openai", "gpt-4o"));
        let m = lookup("azure", "gpt-4o-2024-11-20").unwrap();
        assert_eq!((m.provider, m.id), ("openai", "gpt-4o"));
        let m = lookup("azure", "claude-opus-4-5").unwrap();
        assert_eq!((m.provider, m.id), ("anthropic", "claude-opus-4-5"));
        assert!(lookup("azure", "my-deployment").is_none());
    }

    #[test]
    fn lookup_unknown_is_none() {
        assert!(lookup("openai", "gpt-17").is_none());
        assert!(lookup("nobody", "gpt-4o").is_none());
        assert!(lookup("openai", "-2024-08-06").is_none());
        assert!(lookup("openai", "").is_none());
        // The model exists, but under another provider.
        assert!(lookup("groq", "gpt-4o").is_none());
    }

    #[test]
    fn strip_snapshot_date_only_strips_dates() {
        assert_eq!(strip_snapshot_date("gpt-4o-2024-08-06"), Some("gpt-4o"));
        assert_eq!(
            strip_snapshot_date("claude-opus-4-1-20250805"),
            Some("claude-opus-4-1")
        );
        assert_eq!(
            strip_snapshot_date("claude-opus-4-1@20250805"),
            Some("claude-opus-4-1")
        );
        assert_eq!(strip_snapshot_date("gpt-4o"), None);
        assert_eq!(strip_snapshot_date("claude-opus-4-1"), None);
        assert_eq!(strip_snapshot_date("o3-mini"), None);
        assert_eq!(strip_snapshot_date("x-2024-8-06"), None);
    }

    #[test]
    fn cost_gpt_4o_with_cache_reads() {
        // gpt-4o: $2.50 input, $1.25 cached input, $10 output per million tokens.
        // 10,000 input = $0.025; 2,000 output = $0.02; 50,000 cache reads = $0.0625.
        let m = lookup("openai", "gpt-4o").unwrap();
        let c = cost(m, &usage(10_000, 2_000, 0, 50_000)).unwrap();
        assert!((c.0 - 0.1075).abs() < 1e-12, "{c:?}");
        assert_eq!(c.to_string(), "$0.1075");
    }

    #[test]
    fn cost_bills_unpriced_cache_tokens_at_input_price() {
        // gpt-4o publishes no cache-write price: 4,000 writes bill as input, 4,000 × $2.50/M.
        let m = lookup("openai", "gpt-4o").unwrap();
        let c = cost(m, &usage(0, 0, 4_000, 0)).unwrap();
        assert!((c.0 - 0.01).abs() < 1e-12, "{c:?}");
    }

    #[test]
    fn cost_anthropic_cache_write_and_read() {
        // Claude Sonnet 4.5: $3 in, $15 out, $3.75 5-minute write, $0.30 read.
        // 1M each: 3 + 15 + 3.75 + 0.30 = $22.05.
        let m = lookup("anthropic", "claude-sonnet-4-5").unwrap();
        let c = cost(m, &usage(1_000_000, 1_000_000, 1_000_000, 1_000_000)).unwrap();
        assert!((c.0 - 22.05).abs() < 1e-9, "{c:?}");
    }

    #[test]
    fn cost_unpriced_is_none() {
        let m = MODELS.iter().find(|m| m.price.is_none()).unwrap();
        assert_eq!(cost(m, &usage(1, 1, 1, 1)), None);
    }

    #[test]
    fn cost_ollama_is_zero_not_none() {
        let m = for_provider("ollama").next().unwrap();
        assert_eq!(cost(m, &usage(1_000, 1_000, 0, 0)), Some(Usd(0.0)));
    }

    #[test]
    fn usd_display() {
        assert_eq!(Usd(0.0).to_string(), "$0.0000");
        assert_eq!(Usd(0.0123).to_string(), "$0.0123");
        assert_eq!(Usd(0.99994).to_string(), "$0.9999");
        assert_eq!(Usd(0.99999).to_string(), "$1.00");
        assert_eq!(Usd(1.0).to_string(), "$1.00");
        assert_eq!(Usd(12.345).to_string(), "$12.35");
        assert_eq!(Usd(1234.5).to_string(), "$1234.50");
    }

    #[test]
    fn prices_per_million_print_as_written() {
        assert_eq!(per_million(2.5), "$2.50");
        assert_eq!(per_million(0.075), "$0.075");
        assert_eq!(per_million(0.0), "$0.00");
        assert_eq!(per_million(15.0), "$15.00");
        assert_eq!(per_million(0.000125), "$0.000125");
    }

    #[test]
    fn price_check_names_the_bad_number() {
        let mut p = lookup("openai", "gpt-4o").unwrap().price.unwrap();
        assert!(p.check().is_ok());
        p.cache_read = Some(f64::NAN);
        assert!(p.check().unwrap_err().contains("cache read"));
        p.cache_read = None;
        p.output = -1.0;
        assert!(p.check().unwrap_err().contains("the output price `-1`"));
        p.output = f64::INFINITY;
        assert!(p.check().is_err());
    }

    #[test]
    fn usd_adds() {
        let mut total = Usd(0.5) + Usd(0.25);
        total += Usd(1.0);
        assert_eq!(total, Usd(1.75));
        assert!(Usd(0.1) < Usd(0.2));
    }

    #[test]
    fn for_provider_lists_only_that_provider() {
        assert!(for_provider("groq").all(|m| m.provider == "groq"));
        assert!(for_provider("groq").count() >= 3);
        assert_eq!(for_provider("azure").count(), 0);
        assert_eq!(for_provider("nobody").count(), 0);
    }

    #[test]
    fn table_is_consistent() {
        for (i, m) in MODELS.iter().enumerate() {
            assert!(m.max_output <= m.context_window, "{}/{}", m.provider, m.id);
            assert!(m.max_output > 0 && !m.display_name.is_empty(), "{}", m.id);
            assert!(
                !MODELS[..i]
                    .iter()
                    .any(|o| o.provider == m.provider && o.id == m.id),
                "duplicate row {}/{}",
                m.provider,
                m.id
            );
            // A base id must not itself look like a dated snapshot, or lookup would skip it.
            assert_eq!(strip_snapshot_date(m.id), None, "{}", m.id);
            if let Some(p) = m.price {
                let all = [Some(p.input), Some(p.output), p.cache_read, p.cache_write];
                assert!(all.into_iter().flatten().all(|x| x >= 0.0 && x.is_finite()));
            }
        }
    }
}
