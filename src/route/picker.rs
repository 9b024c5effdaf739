//! The ids models carry in Claude Code's `/model` picker.
//!
//! Claude Code's gateway discovery (`GET /v1/models`) keeps only the ids that contain
//! `claude` or `anthropic` (case-insensitive) and drops the rest. bgw lists every other
//! model under the `claude/` namespace (`claude/openai/gpt-5`), and routing strips it, so
//! the id Claude Code sends back reaches the same target as `openai/gpt-5`.

use std::borrow::Cow;

use super::Routes;
use crate::catalog::{self, Effective, ModelInfo, PriceSource, Pricing};

/// The namespace; `claude` is therefore not available as a provider name.
pub const NAMESPACE: &str = "claude";

/// The id under which Claude Code's discovery keeps the model at `address`.
pub fn listed_id(address: &str) -> Cow<'_, str> {
    let lower = address.to_ascii_lowercase();
    if lower.contains("claude") || lower.contains("anthropic") {
        Cow::Borrowed(address)
    } else {
        Cow::Owned(format!("{NAMESPACE}/{address}"))
    }
}

/// The address behind a listed id (any other model name is returned as it is).
pub fn address(model: &str) -> &str {
    model
        .strip_prefix(NAMESPACE)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(model)
}

/// One model a user can pick, as Claude Code shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PickerModel {
    /// The provider that serves it.
    pub provider: String,
    /// How requests name it: `openai/gpt-5`, or a bare Anthropic model name.
    pub address: String,
    /// The row title: `GPT-5 · openai`.
    pub label: String,
    /// The row subtitle: the address, context window and price.
    pub description: String,
    /// Tokens of prompt and output together, when bgw knows them.
    pub context_window: Option<u32>,
    /// Most output tokens of one response, when bgw knows them.
    pub max_output: Option<u32>,
}

/// Every model addressable now: catalog models of providers with a key (Anthropic always,
/// since a client login may pass through), each key's `--models`, then `extra` addresses
/// (a session's tier targets) not listed yet. Unroutable extras are left out.
pub fn models(routes: &Routes, pricing: &Pricing, extra: &[&str]) -> Vec<PickerModel> {
    let mut out: Vec<PickerModel> = Vec::new();
    for p in routes.providers() {
        if !(routes.is_usable(&p.id) || p.id == "anthropic") {
            continue;
        }
        for m in catalog::for_provider(&p.id) {
            out.push(entry(&p.id, m.id, Some(m), pricing));
        }
        for model in p.keys.iter().flat_map(|k| &k.models) {
            let e = entry(&p.id, model, catalog::lookup(&p.id, model), pricing);
            if !out.iter().any(|o| o.address == e.address) {
                out.push(e);
            }
        }
    }
    for address in extra {
        let Ok(target) = routes.resolve(address) else {
            continue;
        };
        let info = catalog::lookup(&target.provider, &target.upstream_model);
        let e = entry(&target.provider, &target.upstream_model, info, pricing);
        if !out.iter().any(|o| o.address == e.address) {
            out.push(e);
        }
    }
    out
}

fn entry(provider: &str, model: &str, info: Option<&ModelInfo>, pricing: &Pricing) -> PickerModel {
    let address = if provider == "anthropic" {
        model.to_owned()
    } else {
        format!("{provider}/{model}")
    };
    let name = info.map_or(model, |i| i.display_name);
    let mut description = address.clone();
    if let Some(i) = info {
        description.push_str(&format!(" · {} context", tokens(i.context_window)));
    }
    // The price in force: yours (`bgw models price`) over the catalog's.
    if let Some(Effective { price, source }) = pricing.price(provider, model) {
        description.push_str(&format!(
            " · ${}/${} per Mtok",
            dollars(price.input),
            dollars(price.output)
        ));
        if source == PriceSource::Override {
            description.push_str(" (your price)");
        }
    }
    PickerModel {
        provider: provider.to_owned(),
        label: format!("{name} · {provider}"),
        address,
        description,
        context_window: info.map(|i| i.context_window),
        max_output: info.map(|i| i.max_output),
    }
}

/// `128k`, `1M`, `1.05M`: how context windows are spoken of.
fn tokens(n: u32) -> String {
    if n >= 1_000_000 {
        let m = format!("{:.2}", f64::from(n) / 1e6);
        format!("{}M", m.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format!("{}k", (n + 500) / 1000)
    }
}

/// `10`, `2.50`, `0.075`: whole dollars bare, otherwise cents or finer.
fn dollars(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.3}");
        let trimmed = s.trim_end_matches('0');
        if trimmed.len() - trimmed.find('.').unwrap_or(0) < 3 {
            format!("{x:.2}")
        } else {
            trimmed.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{KeyRecord, SecretSource};

    fn openai_key(models: &[&str]) -> KeyRecord {
        KeyRecord {
            project: None,
            region: None,
            profile: None,
            name: "openai".into(),
            provider: "openai".into(),
            compat: None,
            secret: SecretSource::Value("sk-test-0000".into()),
            base_url: None,
            weight: 1.0,
            models: models.iter().map(|m| m.to_string()).collect(),
            created_at: 0,
        }
    }

    #[test]
    fn catalog_models_of_configured_providers_are_named_for_people() {
        let all = models(&Routes::new(&[openai_key(&[])]), &Pricing::builtin(), &[]);
        let gpt4o = all.iter().find(|m| m.address == "openai/gpt-4o").unwrap();
        assert_eq!(gpt4o.label, "GPT-4o · openai");
        assert_eq!(
            gpt4o.description,
            "openai/gpt-4o · 128k context · $2.50/$10 per Mtok"
        );
        assert_eq!(gpt4o.context_window, Some(128_000));
        assert!(all.iter().any(|m| m.address == "claude-sonnet-4-5"));
        assert!(!all.iter().any(|m| m.address.starts_with("groq/")));
    }

    #[test]
    fn your_prices_show_over_the_catalogs() {
        let pricing = Pricing::with_overrides([(
            "openai".to_owned(),
            "gpt-4o".to_owned(),
            crate::catalog::Price {
                cache_write_1h: None,
                input: 3.0,
                output: 12.0,
                cache_read: None,
                cache_write: None,
            },
        )]);
        let all = models(&Routes::new(&[openai_key(&["house-1"])]), &pricing, &[]);
        let gpt4o = all.iter().find(|m| m.address == "openai/gpt-4o").unwrap();
        assert_eq!(
            gpt4o.description,
            "openai/gpt-4o · 128k context · $3/$12 per Mtok (your price)"
        );
        let house = all.iter().find(|m| m.address == "openai/house-1").unwrap();
        assert_eq!(house.description, "openai/house-1");
    }

    #[test]
    fn key_models_and_session_targets_are_listed_once() {
        let routes = Routes::new(&[openai_key(&["my-finetune"])]);
        let all = models(
            &routes,
            &Pricing::builtin(),
            &[
                "openai/my-finetune",
                "ollama/qwen9:8b",
                "openai/other",
                "nope/x",
            ],
        );
        let count = |a: &str| all.iter().filter(|m| m.address == a).count();
        assert_eq!(count("openai/my-finetune"), 1);
        assert_eq!(count("ollama/qwen9:8b"), 1);
        // Not routable: the key serves only its --models; the provider does not exist.
        assert_eq!((count("openai/other"), count("nope/x")), (0, 0));
        let local = all.iter().find(|m| m.address == "ollama/qwen9:8b").unwrap();
        assert_eq!(
            (local.label.as_str(), local.description.as_str()),
            ("qwen9:8b · ollama", "ollama/qwen9:8b")
        );
    }

    #[test]
    fn windows_and_prices_read_as_people_write_them() {
        assert_eq!(tokens(128_000), "128k");
        assert_eq!(tokens(1_048_576), "1.05M");
        assert_eq!(tokens(1_000_000), "1M");
        assert_eq!(dollars(10.0), "10");
        assert_eq!(dollars(2.5), "2.50");
        assert_eq!(dollars(0.075), "0.075");
    }

    #[test]
    fn models_discovery_would_drop_get_the_namespace() {
        assert_eq!(listed_id("openai/gpt-5"), "claude/openai/gpt-5");
        assert_eq!(listed_id("groq/llama-3.3-70b"), "claude/groq/llama-3.3-70b");
    }

    #[test]
    fn claude_and_anthropic_models_keep_their_address() {
        assert_eq!(listed_id("claude-sonnet-4-5"), "claude-sonnet-4-5");
        assert_eq!(
            listed_id("azure/claude-haiku-4-5"),
            "azure/claude-haiku-4-5"
        );
        assert_eq!(
            listed_id("openrouter/anthropic/claude-sonnet-4.5"),
            "openrouter/anthropic/claude-sonnet-4.5"
        );
    }

    #[test]
    fn a_listed_id_comes_back_to_its_address() {
        for a in ["openai/gpt-5", "claude-sonnet-4-5", "ollama/qwen3:8b"] {
            assert_eq!(address(&listed_id(a)), a);
        }
        assert_eq!(address("claude/"), "claude/");
        assert_eq!(address("claude-opus-4-1"), "claude-opus-4-1");
    }
}
