//! Which targets serve a request, in the order they are tried.
//!
//! Addressing (here): `provider/model` goes to that provider with that model name; a bare
//! name (what `/model sonnet` sends) goes to `anthropic`; a provider's keys share its traffic
//! by weight, and the others follow as failover. Rules (`rule`, `rules`) may pick other
//! targets; `health` skips keys and targets that are cooling down; `sticky` keeps a session
//! where it was served.

pub mod health;
pub mod picker;
pub mod rule;
pub mod rules;
pub mod sticky;

use std::collections::BTreeMap;

use crate::messages::{ApiError, ErrorKind};
use crate::providers::{
    self, Builtin, Credential, Place, ProviderId, ProviderKind, Secret, Target, builtin, builtins,
    openai::Quirks,
};
use crate::store::KeyRecord;

/// One provider as configured: its wire format, defaults and keys.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub kind: ProviderKind,
    pub base_url: Option<String>,
    pub key_env: Option<&'static str>,
    pub quirks: Quirks,
    pub keys: Vec<KeyRecord>,
    /// Works with no key at all (Ollama).
    pub keyless: bool,
}

/// `model` without the discovery namespace (`claude/`) and the `[1m]` suffix.
fn strip_namespace(model: &str) -> &str {
    let model = picker::address(model);
    model.strip_suffix("[1m]").unwrap_or(model)
}

/// The provider and upstream model a model name addresses: `provider/model` splits at the
/// first `/`, a bare name is Anthropic's.
pub fn address_parts(model: &str) -> Result<(&str, &str), RouteError> {
    let model = strip_namespace(model);
    match model.split_once('/') {
        Some((p, m)) if !m.is_empty() => Ok((p, m)),
        Some(_) => Err(RouteError::invalid(format!(
            "model `{model}` names no model after the provider: write it as `provider/model`, for example `openai/gpt-5`"
        ))),
        None if model.is_empty() => Err(RouteError::invalid(
            "`model` is empty: name a model, for example `openai/gpt-5` or `claude-sonnet-4-5`",
        )),
        None => Ok(("anthropic", model)),
    }
}

/// The Claude Code tier a requested model stands for: by its name (`claude-opus-4-1` is
/// `opus`), or by the model `bgw run` mapped a tier to (`--sonnet openai/gpt-5`); else empty.
pub fn tier_of<'a>(requested: &str, mapped: &'a [(&'static str, String)]) -> &'a str {
    const TIERS: [&str; 4] = ["opus", "sonnet", "haiku", "fable"];
    let model = strip_namespace(requested);
    if let Some((tier, _)) = mapped.iter().find(|(_, m)| strip_namespace(m) == model) {
        return tier;
    }
    let name = model.rsplit('/').next().unwrap_or(model);
    TIERS
        .iter()
        .find(|t| name.contains(*t))
        .copied()
        .unwrap_or("")
}

/// The routing table: an immutable snapshot of providers and keys.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    providers: BTreeMap<String, Provider>,
}

impl Routes {
    /// Builds the table from the built-in providers and the stored keys.
    pub fn new(keys: &[KeyRecord]) -> Routes {
        let mut providers: BTreeMap<String, Provider> = builtins()
            .map(|b| (b.id.to_owned(), from_builtin(b)))
            .collect();
        for key in keys {
            let entry = providers.entry(key.provider.clone()).or_insert_with(|| {
                let kind = match key.compat.as_deref() {
                    Some("anthropic") => ProviderKind::Anthropic,
                    _ => ProviderKind::OpenAiCompat,
                };
                Provider {
                    id: key.provider.clone(),
                    kind,
                    base_url: None,
                    key_env: None,
                    quirks: Quirks::GENERIC,
                    keys: Vec::new(),
                    keyless: false,
                }
            });
            entry.keys.push(key.clone());
        }
        Routes { providers }
    }

    /// Every provider, built-in or added, by name.
    pub fn providers(&self) -> impl Iterator<Item = &Provider> {
        self.providers.values()
    }

    /// The provider of this name.
    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.get(id)
    }

    /// Whether a provider has a key or needs none.
    pub fn is_usable(&self, id: &str) -> bool {
        self.providers
            .get(id)
            .is_some_and(|p| p.keyless || !p.keys.is_empty())
    }

    /// Resolves the `model` of a request to one target (its key chosen by weight).
    pub fn resolve(&self, model: &str) -> Result<Target, RouteError> {
        let mut plan = self.plan(model, None)?;
        Ok(plan.swap_remove(0))
    }

    /// The targets to try for `model`, in order: the key chosen by weight (or `prefer`, the
    /// key a session already uses, while it still serves the model), then the provider's
    /// other keys for the model, heaviest first. Never empty.
    pub fn plan(&self, model: &str, prefer: Option<&str>) -> Result<Vec<Target>, RouteError> {
        let (provider_id, upstream) = address_parts(model)?;
        let model = strip_namespace(model);
        let Some(provider) = self.providers.get(provider_id) else {
            return Err(self.unknown_provider(provider_id, model));
        };
        let eligible = eligible_keys(provider, upstream);
        let chosen = prefer
            .and_then(|name| eligible.iter().copied().find(|k| k.name == name))
            .or_else(|| pick_key(&eligible));
        let first = match chosen {
            Some(k) => target_for(provider, upstream, Some(k))?,
            None if provider.keyless || provider.kind == ProviderKind::Anthropic => {
                target_for(provider, upstream, None)?
            }
            None => return Err(no_key(provider, upstream)),
        };
        let mut siblings: Vec<&KeyRecord> = eligible
            .into_iter()
            .filter(|k| Some(k.name.as_str()) != first.key_name.as_deref())
            .collect();
        siblings.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        let mut plan = vec![first];
        // A sibling whose secret cannot be read is left out: the first key's error is the
        // one worth showing, and it came first.
        plan.extend(
            siblings
                .into_iter()
                .filter_map(|k| target_for(provider, upstream, Some(k)).ok()),
        );
        Ok(plan)
    }

    /// The targets of several addresses (a rule's chosen target, its fallbacks, the other
    /// targets of its split): each address's first key in that order, then their other keys.
    /// An address that cannot be routed (no key) is left out, unless none can be.
    pub fn plan_all(
        &self,
        addresses: &[&str],
        prefer: Option<&str>,
    ) -> Result<Vec<Target>, RouteError> {
        let mut firsts = Vec::new();
        let mut siblings = Vec::new();
        let mut first_error = None;
        for (i, address) in addresses.iter().enumerate() {
            match self.plan(address, if i == 0 { prefer } else { None }) {
                Ok(mut plan) => {
                    let rest = plan.split_off(1);
                    firsts.extend(plan);
                    siblings.extend(rest);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if firsts.is_empty() {
            return Err(
                first_error.unwrap_or_else(|| RouteError::invalid("a rule named no target"))
            );
        }
        firsts.extend(siblings);
        Ok(firsts)
    }

    fn unknown_provider(&self, id: &str, model: &str) -> RouteError {
        let known: Vec<&str> = self.providers.keys().map(String::as_str).collect();
        RouteError {
            kind: ErrorKind::InvalidRequest,
            problem: format!(
                "unknown provider `{id}` in model `{model}` (known providers: {}); to add an OpenAI-compatible server",
                known.join(", ")
            ),
            fix: Some(add_key_hint(id)),
        }
    }
}

/// The target of `provider` with `key` (none: keyless, or Anthropic with the client's login).
fn target_for(
    provider: &Provider,
    upstream: &str,
    key: Option<&KeyRecord>,
) -> Result<Target, RouteError> {
    let (key_name, credential, key_base, place) = match key {
        Some(k) => {
            let secret = k.secret.resolve().map_err(|why| RouteError {
                kind: ErrorKind::Authentication,
                problem: format!(
                    "key `{}` for provider `{}` cannot be used: {why}; set it in the environment bgw runs in",
                    k.name, provider.id
                ),
                fix: None,
            })?;
            let place = Place {
                project: k.project.clone(),
                region: k.region.clone(),
            };
            (
                Some(k.name.clone()),
                credential(provider.kind, secret.map(Secret::new), k),
                k.base_url.clone(),
                place,
            )
        }
        None => (None, Credential::None, None, Place::default()),
    };
    let base_url = key_base
        .or_else(|| provider.base_url.clone())
        .or_else(|| providers::cloud_base_url(provider.kind, place.region.as_deref()))
        .ok_or_else(|| RouteError {
            kind: ErrorKind::InvalidRequest,
            problem: format!(
                "provider `{}` has no base URL: re-add its key with `--base-url`",
                provider.id
            ),
            fix: Some(add_key_hint(&provider.id)),
        })?;
    Ok(Target {
        provider: ProviderId::known(&provider.id),
        kind: provider.kind,
        quirks: provider.quirks,
        base_url: base_url.trim_end_matches('/').to_owned(),
        key_name,
        credential,
        upstream_model: upstream.to_owned(),
        place,
    })
}

/// What a key proves itself with: an API key, or a cloud's own sign-in.
fn credential(kind: ProviderKind, secret: Option<Secret>, key: &KeyRecord) -> Credential {
    match (kind, secret) {
        // A service account's key file is JSON; anything else is an express-mode API key.
        (ProviderKind::Vertex, Some(s)) if s.expose().trim_start().starts_with('{') => {
            Credential::Google(Some(s))
        }
        (ProviderKind::Vertex, None) => Credential::Google(None),
        (ProviderKind::Bedrock, None) => Credential::Aws {
            profile: key.profile.clone(),
        },
        (_, Some(s)) => Credential::Key(s),
        (_, None) => Credential::None,
    }
}

fn from_builtin(b: Builtin) -> Provider {
    Provider {
        id: b.id.to_owned(),
        kind: b.kind,
        base_url: b.base_url.map(str::to_owned),
        key_env: b.key_env,
        quirks: b.quirks,
        keys: Vec::new(),
        keyless: b.key_env.is_none(),
    }
}

/// The command that adds a key for `provider`, for error messages and hints.
pub fn add_key_hint(provider: &str) -> String {
    match builtin(provider) {
        Some(b) if b.kind == ProviderKind::Azure => format!(
            "bgw keys add {provider} --env {} --base-url https://RESOURCE.openai.azure.com",
            b.key_env.unwrap_or("AZURE_OPENAI_API_KEY")
        ),
        Some(b) if b.kind == ProviderKind::Vertex => {
            format!("bgw keys add {provider} --file key.json --project PROJECT --region us-east5")
        }
        Some(b) if b.kind == ProviderKind::Bedrock => {
            format!("bgw keys add {provider} --region us-east-1")
        }
        Some(Builtin {
            key_env: Some(var), ..
        }) => format!("bgw keys add {provider} --env {var}"),
        _ => format!("bgw keys add {provider} --compat openai --base-url URL --env KEY_VAR"),
    }
}

fn no_key(provider: &Provider, model: &str) -> RouteError {
    let filtered = !provider.keys.is_empty();
    let why = if filtered {
        format!(
            "no key of provider `{}` is allowed to use model `{model}` (each has a `--models` list)",
            provider.id
        )
    } else {
        format!("no key for provider `{}`", provider.id)
    };
    RouteError {
        kind: ErrorKind::Authentication,
        problem: why,
        fix: Some(add_key_hint(&provider.id)),
    }
}

/// Why a model cannot be routed, and the command that fixes it (kept apart so the
/// command line can print it as a hint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    pub kind: ErrorKind,
    pub problem: String,
    pub fix: Option<String>,
}

impl RouteError {
    fn invalid(problem: impl Into<String>) -> RouteError {
        RouteError {
            kind: ErrorKind::InvalidRequest,
            problem: problem.into(),
            fix: None,
        }
    }
}

impl From<RouteError> for ApiError {
    fn from(e: RouteError) -> ApiError {
        let message = match e.fix {
            Some(fix) => format!("{}: run `{fix}`", e.problem),
            None => e.problem,
        };
        ApiError::new(e.kind, message)
    }
}

/// The provider's keys that serve `model` (a key with weight 0 only when it is the only one).
fn eligible_keys<'a>(provider: &'a Provider, model: &str) -> Vec<&'a KeyRecord> {
    provider
        .keys
        .iter()
        .filter(|k| k.models.is_empty() || k.models.iter().any(|m| m == model))
        .filter(|k| k.weight > 0.0 || provider.keys.len() == 1)
        .collect()
}

/// Chooses one of `eligible`, spread by weight.
fn pick_key<'a>(eligible: &[&'a KeyRecord]) -> Option<&'a KeyRecord> {
    let weights: Vec<f64> = eligible
        .iter()
        .map(|k| k.weight.max(f64::MIN_POSITIVE))
        .collect();
    weighted_pick(&weights, random_unit()).map(|i| eligible[i])
}

/// The index a `roll` in [0, 1) falls on when `weights` (any positive scale: `70, 30` and
/// `0.7, 0.3` agree) share the unit interval.
pub fn weighted_pick(weights: &[f64], roll: f64) -> Option<usize> {
    let total: f64 = weights.iter().sum();
    let mut left = roll * total;
    for (i, &w) in weights.iter().enumerate() {
        if left < w {
            return Some(i);
        }
        left -= w;
    }
    weights.len().checked_sub(1)
}

/// A random number in [0, 1).
pub fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SecretSource;

    fn key(name: &str, provider: &str, weight: f64, models: &[&str]) -> KeyRecord {
        KeyRecord {
            project: None,
            region: None,
            profile: None,
            name: name.into(),
            provider: provider.into(),
            compat: None,
            secret: SecretSource::Value(format!("sk-{name}-0123456789")),
            base_url: None,
            weight,
            models: models.iter().map(|m| m.to_string()).collect(),
            created_at: 0,
        }
    }

    #[test]
    fn provider_slash_model_routes_to_that_provider() {
        let routes = Routes::new(&[key("openai", "openai", 1.0, &[])]);
        let t = routes.resolve("openai/gpt-5").unwrap();
        assert_eq!(
            (t.provider.as_str(), t.upstream_model.as_str()),
            ("openai", "gpt-5")
        );
        assert_eq!(t.base_url, "https://api.openai.com/v1");
        assert_eq!(t.key_name.as_deref(), Some("openai"));
    }

    #[test]
    fn picker_ids_route_like_the_address_they_list() {
        let routes = Routes::new(&[key("openai", "openai", 1.0, &[])]);
        let t = routes.resolve("claude/openai/gpt-5").unwrap();
        assert_eq!(
            (t.provider.as_str(), t.upstream_model.as_str()),
            ("openai", "gpt-5")
        );
    }

    #[test]
    fn bare_names_go_to_anthropic_even_without_a_key() {
        let t = Routes::new(&[]).resolve("claude-sonnet-4-5[1m]").unwrap();
        assert_eq!(
            (t.kind, t.upstream_model.as_str()),
            (ProviderKind::Anthropic, "claude-sonnet-4-5")
        );
        assert!(t.secret().is_none());
    }

    #[test]
    fn only_the_first_slash_splits() {
        let routes = Routes::new(&[key("or", "openrouter", 1.0, &[])]);
        let t = routes
            .resolve("openrouter/anthropic/claude-sonnet-4.5")
            .unwrap();
        assert_eq!(t.upstream_model, "anthropic/claude-sonnet-4.5");
    }

    #[test]
    fn missing_key_says_how_to_add_one() {
        let err = ApiError::from(
            Routes::new(&[])
                .resolve("groq/llama-3.3-70b-versatile")
                .unwrap_err(),
        );
        assert_eq!(err.status, 401);
        assert!(
            err.message
                .contains("`bgw keys add groq --env GROQ_API_KEY`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn unknown_provider_is_a_400_naming_it() {
        let err = ApiError::from(Routes::new(&[]).resolve("nope/x").unwrap_err());
        assert_eq!(err.status, 400);
        assert!(err.message.contains("unknown provider `nope`"));
        assert!(err.message.contains("bgw keys add nope --compat openai"));
    }

    #[test]
    fn keyless_providers_need_no_key() {
        let t = Routes::new(&[]).resolve("ollama/llama3.2").unwrap();
        assert!(t.secret().is_none());
        assert_eq!(t.base_url, "http://localhost:11434/v1");
    }

    #[test]
    fn user_added_compat_provider_routes_to_its_base_url() {
        let mut k = key("vllm", "vllm", 1.0, &[]);
        k.compat = Some("openai".into());
        k.base_url = Some("http://127.0.0.1:8000/v1/".into());
        let t = Routes::new(&[k]).resolve("vllm/qwen").unwrap();
        assert_eq!(
            (t.kind, t.base_url.as_str()),
            (ProviderKind::OpenAiCompat, "http://127.0.0.1:8000/v1")
        );
    }

    #[test]
    fn model_lists_restrict_keys_and_weights_spread_them() {
        let routes = Routes::new(&[
            key("a", "openai", 3.0, &[]),
            key("b", "openai", 1.0, &[]),
            key("mini", "openai", 1.0, &["gpt-5-mini"]),
        ]);
        let mut counts = BTreeMap::new();
        for _ in 0..4000 {
            let t = routes.resolve("openai/gpt-5").unwrap();
            *counts.entry(t.key_name.unwrap()).or_insert(0) += 1;
        }
        assert_eq!(counts.get("mini"), None);
        let a = counts["a"] as f64 / 4000.0;
        assert!((0.68..0.82).contains(&a), "share of a: {a}");
    }

    #[test]
    fn env_keys_are_read_when_used() {
        let mut k = key("openai", "openai", 1.0, &[]);
        k.secret = SecretSource::Env("BGW_TEST_ROUTE_UNSET_VAR".into());
        let err = ApiError::from(Routes::new(&[k]).resolve("openai/gpt-5").unwrap_err());
        assert!(
            err.message
                .contains("`BGW_TEST_ROUTE_UNSET_VAR` is not set"),
            "{}",
            err.message
        );
    }

    /// A fixed-seed generator (xorshift64*), so the draws below are the same every run.
    fn draws(seed: u64) -> impl Iterator<Item = f64> {
        let mut x = seed;
        std::iter::repeat_with(move || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        })
    }

    #[test]
    fn weighted_draws_follow_their_weights_by_chi_square() {
        for weights in [[70.0, 30.0], [0.7, 0.3]] {
            let mut counts = [0u32; 2];
            for roll in draws(0x5EED).take(10_000) {
                counts[weighted_pick(&weights, roll).unwrap()] += 1;
            }
            let expected = [7_000.0, 3_000.0];
            let chi2: f64 = counts
                .iter()
                .zip(expected)
                .map(|(&o, e)| (f64::from(o) - e).powi(2) / e)
                .sum();
            // One degree of freedom: 3.84 is the 95th percentile.
            assert!(chi2 < 3.84, "{counts:?}: chi-square {chi2}");
        }
    }

    #[test]
    fn a_roll_at_the_edges_stays_in_range() {
        assert_eq!(weighted_pick(&[1.0, 1.0], 0.0), Some(0));
        assert_eq!(weighted_pick(&[1.0, 1.0], 0.999_999_999), Some(1));
        assert_eq!(weighted_pick(&[], 0.5), None);
    }
}
