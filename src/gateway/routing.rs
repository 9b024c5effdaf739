//! The route phase: which targets a request tries, in order. Without rules, the model's own
//! provider (its keys by weight); with rules, the first rule whose condition holds for the
//! request's facts. A session keeps the target and key it was served by.

use http::HeaderMap;

use super::Gateway;
use super::auth::Identity;
use super::config::Config;
use crate::govern::meter::Metric;
use crate::govern::scope::Scope;
use crate::govern::standing::Standing;
use crate::messages::ApiError;
use crate::messages::request::Thinking;
use crate::providers::Target;
use crate::route::rule::{BudgetUse, Evaluator, Facts, Var, Vars};
use crate::route::sticky::Choice;
use crate::route::{address_parts, tier_of};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// Where a request goes, and what decided it.
pub struct Decided {
    /// The targets in the order they are tried; never empty.
    pub plan: Vec<Target>,
    /// The rule that chose them, if one did.
    pub rule: Option<String>,
    /// Rules skipped because their condition failed to evaluate, and why.
    pub failed: Vec<String>,
}

/// `provider/model` as routing compares it (`claude-sonnet-4-5` is `anthropic/claude-sonnet-4-5`).
pub fn canonical(address: &str) -> Option<String> {
    address_parts(address).ok().map(|(p, m)| format!("{p}/{m}"))
}

/// The targets of a request for `requested`, by the rules of `config` and the `kept` choice
/// of its session.
pub fn decide(
    gateway: &Gateway,
    config: &Config,
    who: &Identity,
    headers: &HeaderMap,
    body: &[u8],
    requested: &str,
    kept: Option<&Choice>,
) -> Result<Decided, ApiError> {
    let mut failed = Vec::new();
    let rule = if config.rules.is_empty() {
        None
    } else {
        let facts_of = RequestFacts::read(body, config.rules.uses());
        let (provider, _) = address_parts(requested)?;
        let budget_vars = [
            Var::BudgetUsedPct,
            Var::BudgetSession,
            Var::BudgetKey,
            Var::BudgetTeam,
            Var::BudgetCustomer,
            Var::BudgetProvider,
            Var::BudgetGlobal,
        ];
        let budget = if budget_vars.iter().any(|v| config.rules.uses().contains(*v)) {
            budget_use(gateway, config, who, provider)
        } else {
            BudgetUse::default()
        };
        let caller = &who.caller;
        let facts = Facts {
            model: requested,
            provider,
            tier: tier_of(requested, &gateway.settings.tiers),
            headers,
            session: headers
                .get("x-claude-code-session-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
            key: caller.key.as_deref().unwrap_or(""),
            team: caller.team.as_deref().unwrap_or(""),
            customer: caller.customer.as_deref().unwrap_or(""),
            budget,
            tokens_input: facts_of.tokens_input,
            stream: facts_of.stream,
            tools: facts_of.tools,
            thinking: facts_of.thinking,
            max_tokens: facts_of.max_tokens,
            hour: utc_hour(),
        };
        let vars = Vars::new(&facts, config.rules.uses());
        let evaluator = Evaluator::new(&vars);
        config.rules.first_match(caller, &evaluator, |r, e| {
            failed.push(format!("rule `{}` skipped: {e}", r.name));
        })
    };
    let Some(rule) = rule else {
        let own = canonical(requested);
        let prefer = kept
            .filter(|k| Some(&k.address) == own.as_ref())
            .and_then(|k| k.key.as_deref());
        return Ok(Decided {
            plan: config.routes.plan(requested, prefer)?,
            rule: None,
            failed,
        });
    };
    // The session's target while the rule still names it; else a draw by weight.
    let kept_at = kept.and_then(|k| {
        rule.to
            .iter()
            .position(|(a, _)| canonical(a).as_deref() == Some(k.address.as_str()))
    });
    let chosen = kept_at.unwrap_or_else(|| rule.choose(crate::route::random_unit()));
    let addresses = rule.addresses(chosen);
    let prefer = kept
        .filter(|k| canonical(addresses[0]).as_deref() == Some(k.address.as_str()))
        .and_then(|k| k.key.as_deref());
    Ok(Decided {
        plan: config.routes.plan_all(&addresses, prefer)?,
        rule: Some(rule.name.clone()),
        failed,
    })
}

/// What the rules may read of a request's body, read only as far as they need.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts {
    pub tokens_input: u64,
    pub stream: bool,
    pub tools: u64,
    pub thinking: bool,
    pub max_tokens: u64,
}

/// The body's top-level fields the rules read; everything else is skipped unread into
/// values (no message or tool is built: a 50 KB body costs one pass of the JSON parser).
#[derive(Deserialize)]
struct Shape {
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    tools: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    thinking: Option<Thinking>,
}

impl RequestFacts {
    /// The facts of `body` that a rule set reading `uses` needs.
    pub fn read(body: &[u8], uses: crate::route::rule::Uses) -> RequestFacts {
        // bgw's estimate: about four bytes a token, as admission counts a typical request.
        let mut facts = RequestFacts {
            tokens_input: body.len() as u64 / 4,
            ..RequestFacts::default()
        };
        let needs_body = [
            Var::RequestStream,
            Var::RequestTools,
            Var::RequestThinking,
            Var::RequestMaxTokens,
        ]
        .into_iter()
        .any(|v| uses.contains(v));
        if needs_body {
            if let Ok(shape) = serde_json::from_slice::<Shape>(body) {
                facts.stream = shape.stream.unwrap_or(false);
                facts.tools = shape.tools.map_or(0, |t| t.len() as u64);
                facts.thinking = matches!(
                    shape.thinking,
                    Some(Thinking::Enabled { .. } | Thinking::Adaptive)
                );
                facts.max_tokens = shape.max_tokens.unwrap_or(0);
            }
        }
        facts
    }
}

/// How much of each money budget on the caller's chain is used, as this gateway last heard.
fn budget_use(gateway: &Gateway, config: &Config, who: &Identity, provider: &str) -> BudgetUse {
    let chain = config
        .budgets
        .chain(gateway.session.as_ref(), &who.caller, provider, None);
    let mut used = BudgetUse::default();
    let now = crate::store::now_ms();
    for rule in &chain {
        for s in Standing::of(rule, now) {
            if s.meter.metric != Metric::Usd || s.limit == 0 {
                continue;
            }
            let spent = gateway
                .leases
                .known(&s.account)
                .map_or(0, |(spent, _)| spent);
            note_use(&mut used, rule.record.id.scope, spent, s.limit);
        }
    }
    used
}

/// Counts `spent` of `limit` in a budget of `scope` into `used` (the highest per scope and
/// on the chain).
pub fn note_use(used: &mut BudgetUse, scope: Scope, spent: u64, limit: u64) {
    let pct = spent as f64 * 100.0 / limit.max(1) as f64;
    let slot = match scope {
        Scope::Session => &mut used.session,
        Scope::Key => &mut used.key,
        Scope::Team => &mut used.team,
        Scope::Customer => &mut used.customer,
        Scope::Provider | Scope::ProviderKey => &mut used.provider,
        Scope::Global => &mut used.global,
    };
    *slot = slot.max(pct);
    used.used_pct = used.used_pct.max(pct);
}

fn utc_hour() -> u8 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    ((secs / 3600) % 24) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::rule::Uses;

    #[test]
    fn request_facts_are_read_from_the_top_level_only() {
        let body = br#"{"model":"m","max_tokens":32000,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},
            "tools":[{"name":"a","input_schema":{"properties":{"stream":{"type":"boolean"}}}},{"name":"b"}],
            "messages":[{"role":"user","content":[{"type":"text","text":"\"stream\": false"}]}]}"#;
        let facts = RequestFacts::read(body, Uses::ALL);
        assert_eq!(
            facts,
            RequestFacts {
                tokens_input: body.len() as u64 / 4,
                stream: true,
                tools: 2,
                thinking: true,
                max_tokens: 32000,
            }
        );
        let bare = RequestFacts::read(br#"{"model":"m","messages":[]}"#, Uses::ALL);
        assert_eq!(
            (bare.stream, bare.tools, bare.thinking, bare.max_tokens),
            (false, 0, false, 0)
        );
    }
}
