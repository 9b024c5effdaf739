//! Admission: the budgets on a request's chain, what the request may cost at worst, the
//! room reserved for it, and the charge that replaces that room when it ends.

use jiff::tz::TimeZone;
use std::collections::HashMap;
use std::sync::Arc;

use super::amount::Nanodollars;
use super::lease::{Leases, Reservation, Shortfall};
use super::meter::{Meter, Metric};
use super::notice;
use super::period::{Period, Window, parse_tz};
use super::scope::{BudgetId, Caller, Scope};
use super::standing::Standing;
use crate::catalog::{Price, Pricing, Usd};
use crate::messages::{ApiError, ErrorKind, Usage};
use crate::observe::session::thousands;
use crate::store::budgets::BudgetRecord;
use crate::store::logs::RequestId;

/// Input tokens a server tool (Anthropic's web search or web fetch) may add to a request at
/// most, for its results and the turns it takes: a bound chosen generously, as the provider
/// publishes none (the searches' own fee is not priced).
const SERVER_TOOL_TOKENS: u64 = 100_000;
/// Output tokens assumed when neither the request nor the catalog bounds them.
const OUTPUT_UNBOUNDED: u64 = 128_000;
/// Seconds a request refused for room held by requests in flight is told to wait.
const IN_FLIGHT_RETRY_S: u64 = 5;

/// One budget in force: its record, its time zone, and its meters with their limits.
#[derive(Debug)]
pub struct Rule {
    pub record: BudgetRecord,
    pub tz: TimeZone,
    /// Each meter, its name in the ledger, and its limit.
    pub meters: Vec<(Meter, String, u64)>,
}

impl Rule {
    /// The rule a record sets; an unknown time zone falls back to UTC (`bgw budget set`
    /// refuses one, so only a zone this system no longer knows gets here).
    pub fn new(record: BudgetRecord) -> Rule {
        let tz = record
            .tz
            .as_deref()
            .and_then(|name| parse_tz(name).ok())
            .unwrap_or(TimeZone::UTC);
        let meters = record
            .meters()
            .into_iter()
            .map(|(m, limit)| {
                let key = m.key();
                (m, key, limit)
            })
            .collect();
        Rule { record, tz, meters }
    }

    /// The window of `period` this rule is in at `now_ms`.
    pub fn window(&self, period: Period, now_ms: u64) -> Window {
        period.window(now_ms, &self.tz, self.record.created_ms)
    }

    /// The time zone's name as the user gave it (`UTC` by default).
    pub fn tz_name(&self) -> &str {
        self.record.tz.as_deref().unwrap_or("UTC")
    }
}

/// Every budget in force, by scope and name.
#[derive(Debug, Default)]
pub struct Budgets {
    rules: HashMap<BudgetId, Arc<Rule>>,
}

impl Budgets {
    /// The budgets these records set.
    pub fn new(records: Vec<BudgetRecord>) -> Budgets {
        Budgets {
            rules: records
                .into_iter()
                .map(|r| (r.id.clone(), Arc::new(Rule::new(r))))
                .collect(),
        }
    }

    /// The budget of `id`.
    pub fn get(&self, id: &BudgetId) -> Option<&Arc<Rule>> {
        self.rules.get(id)
    }

    /// Whether these are the budgets of `other` (the same records).
    pub fn same_as(&self, other: &Budgets) -> bool {
        self.rules.len() == other.rules.len()
            && self
                .rules
                .iter()
                .all(|(id, r)| other.rules.get(id).is_some_and(|o| o.record == r.record))
    }

    /// The rules on the chain of a request (after `session`, a `bgw run` budget): key, team,
    /// customer, provider, provider key, global.
    pub fn chain(
        &self,
        session: Option<&Arc<Rule>>,
        caller: &Caller,
        provider: &str,
        provider_key: Option<&str>,
    ) -> Vec<Arc<Rule>> {
        let mut chain: Vec<Arc<Rule>> = session.into_iter().cloned().collect();
        if self.rules.is_empty() {
            return chain;
        }
        let links = [
            (Scope::Key, caller.key.as_deref()),
            (Scope::Team, caller.team.as_deref()),
            (Scope::Customer, caller.customer.as_deref()),
            (Scope::Provider, Some(provider)),
            (Scope::ProviderKey, provider_key),
            (Scope::Global, Some("")),
        ];
        for (scope, name) in links {
            if let Some(rule) = name.and_then(|n| self.rules.get(&BudgetId::new(scope, n))) {
                chain.push(Arc::clone(rule));
            }
        }
        chain
    }
}

/// What admission needs to know of a request.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub provider: &'a str,
    pub model: &'a str,
    /// Input tokens at most, and as usually counted.
    pub input_max: u64,
    pub input_typical: u64,
    /// Output tokens at most (`max_tokens`, as clamped to the model's limit).
    pub output_max: u64,
    /// The request marks parts for the prompt cache (writes cost more than input).
    pub caches: bool,
    pub pricing: &'a Pricing,
}

impl Facts<'_> {
    /// What the request may cost at most at `price`.
    pub fn worst_cost(&self, price: &Price) -> Nanodollars {
        let input = if self.caches {
            price
                .input
                .max(price.cache_write.unwrap_or(price.input))
                .max(price.cache_write_1h.unwrap_or(price.input))
        } else {
            price.input
        };
        let usd = (self.input_max as f64 * input + self.output_max as f64 * price.output) / 1e6;
        // Rounded up: a worst case never falls short of what can happen.
        Nanodollars((usd * 1e9).ceil() as u64)
    }
}

impl<'a> Facts<'a> {
    /// The facts of a Messages `body` bound for `provider/model`, read without parsing it and,
    /// but for one search for server tools when the model is Claude's, without reading it all:
    /// the check stays microseconds however long the conversation grows (a Claude model's
    /// body is searched at ~25 GB/s: 20 µs for 500 KB).
    ///
    /// Input is at most one token per 2 bytes of body (text runs at about one per 4; images
    /// and PDFs in base64 run far lower), and never more than the model's context window
    /// holds, which bounds a long conversation or a screenshot better than its bytes; plus
    /// [`SERVER_TOOL_TOKENS`] for each server tool (web search, web fetch), whose results
    /// come on top. Output is `max_tokens` as the model's limit clamps it.
    pub fn of(body: &[u8], provider: &'a str, model: &'a str, pricing: &'a Pricing) -> Facts<'a> {
        let info = crate::catalog::lookup(provider, model);
        let window = info.map(|m| u64::from(m.context_window));
        let cap = info.map(|m| u64::from(m.max_output));
        let within = |tokens: u64| window.map_or(tokens, |w| tokens.min(w));
        let bytes = body.len() as u64;
        // Only Claude models run Anthropic's server tools; for others the body is not searched.
        let claude = provider == "anthropic" || model.starts_with("claude-");
        let server_tools = if claude {
            WEB_TOOL
                .find_iter(body)
                .filter(|&at| {
                    let rest = &body[at + WEB_TOOL.needle().len()..];
                    rest.starts_with(b"search_") || rest.starts_with(b"fetch_")
                })
                .count() as u64
        } else {
            0
        };
        let output_max = match (max_tokens(body), cap) {
            (Some(asked), Some(cap)) => asked.min(cap),
            (Some(asked), None) => asked,
            (None, Some(cap)) => cap,
            (None, None) => OUTPUT_UNBOUNDED,
        };
        Facts {
            provider,
            model,
            input_max: within(bytes / 2).saturating_add(server_tools * SERVER_TOOL_TOKENS),
            input_typical: within(bytes / 4),
            output_max,
            // Claude Code marks every request for the prompt cache; a body is not read for it,
            // so its input is priced as a cache write would be, the dearest.
            caches: true,
            pricing,
        }
    }
}

/// Anthropic's server tools by their type (`web_search_20250305`, `web_fetch_…`); a quote in
/// a string is escaped, so this matches only JSON structure.
static WEB_TOOL: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"type\":\"web_"));

/// How far from a body's end its top-level `max_tokens` is looked for first (Claude Code
/// writes it after the messages and tools, before a few small settings).
const TAIL: usize = 8 * 1024;

/// The body's top-level `max_tokens`: from its tail when it is there, else from all of it.
fn max_tokens(body: &[u8]) -> Option<u64> {
    const TOKEN: &[u8] = b"\"max_tokens\"";
    let tail_at = body.len().saturating_sub(TAIL);
    let in_tail: Vec<usize> = memchr::memmem::find_iter(&body[tail_at..], TOKEN)
        .map(|at| tail_at + at)
        .collect();
    crate::messages::scan::top_level_number_at(body, "max_tokens", &in_tail).or_else(|| {
        let all: Vec<usize> = memchr::memmem::find_iter(&body[..tail_at], TOKEN).collect();
        crate::messages::scan::top_level_number_at(body, "max_tokens", &all)
    })
}

/// A request admitted under budgets: its reservation, and each meter it was reserved in.
pub struct Admission {
    reservation: Reservation,
    standings: Vec<Standing>,
}

impl Admission {
    /// The request `id` ended: `usage` as reported (or estimated when it was cut), `cost` its
    /// price, `sent` whether it reached a provider. Charged once; the reservation goes.
    pub fn settle(self, id: RequestId, usage: &Usage, cost: Option<Usd>, sent: bool) {
        let actual: Vec<u64> = self
            .standings
            .iter()
            .map(|s| match s.meter.metric {
                Metric::Usd => cost.map_or(0, |c| Nanodollars::from_usd(c.0).0),
                Metric::Requests => u64::from(sent),
                Metric::Tokens => usage.total_input().saturating_add(usage.output_tokens),
            })
            .collect();
        self.reservation.settle(id, &actual);
    }

    /// The usage headers of a served response: where the most used money budget on the
    /// chain stands, as this gateway last heard ([`super::notice`]).
    pub fn usage_headers(&self, leases: &Leases) -> Vec<(&'static str, String)> {
        let money: Vec<Standing> = self
            .standings
            .iter()
            .filter(|s| s.meter.metric == Metric::Usd)
            .map(|s| {
                let mut s = s.clone();
                s.spent = leases.known(&s.account).map_or(0, |(spent, _)| spent);
                s
            })
            .collect();
        notice::standing_headers(&money)
    }
}

/// Reserves room for a request in every meter of `chain`; `None` when no meter applies.
pub async fn admit(
    leases: &Leases,
    chain: &[Arc<Rule>],
    facts: &Facts<'_>,
    now_ms: u64,
) -> Result<Option<Admission>, ApiError> {
    let mut needs = Vec::new();
    let mut standings = Vec::new();
    let mut worst = None;
    for rule in chain {
        for s in Standing::of(rule, now_ms) {
            let need = match s.meter.metric {
                Metric::Usd => {
                    let price = worst.get_or_insert_with(|| {
                        facts
                            .pricing
                            .price(facts.provider, facts.model)
                            .map(|e| facts.worst_cost(&e.price))
                    });
                    match price {
                        Some(w) => w.0,
                        None => return Err(unpriced(facts, &rule.record.id)),
                    }
                }
                Metric::Requests => 1,
                Metric::Tokens => facts.input_typical,
            };
            needs.push((s.account.clone(), need));
            standings.push(s);
        }
    }
    if needs.is_empty() {
        return Ok(None);
    }
    match leases.reserve(needs.clone()).await {
        Ok(reservation) => Ok(Some(Admission {
            reservation,
            standings,
        })),
        Err(Shortfall::Refused {
            account,
            spent,
            in_flight,
            limit,
        }) => {
            let (mut standing, need) = standings
                .into_iter()
                .zip(needs)
                .find(|(s, _)| s.account == account)
                .map(|(s, (_, need))| (s, need))
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorKind::Api,
                        "a budget refused an account it does not hold",
                    )
                })?;
            standing.spent = spent;
            standing.held = in_flight;
            standing.limit = if limit > 0 { limit } else { standing.limit };
            Err(refusal(&standing, need, now_ms))
        }
        Err(Shortfall::Unavailable(why)) => Err(ApiError::new(
            ErrorKind::Overloaded,
            format!(
                "bgw could not check this request against its budgets: {why}; try again in a moment"
            ),
        )
        .with_status(503)),
    }
}

fn unpriced(facts: &Facts<'_>, budget: &BudgetId) -> ApiError {
    ApiError::invalid(format!(
        "`{}/{}` has no known price, and the budget of {budget} counts dollars: bgw will not count it as $0. Set its price (US dollars per million tokens) with `bgw models price set {}/{} --input X --output Y`",
        facts.provider, facts.model, facts.provider, facts.model
    ))
}

/// "this month", "today", "in these 30 days": the window a period's spend is counted in.
fn period_phrase(period: Period) -> String {
    match period {
        Period::Minute => "this minute".into(),
        Period::Hour => "this hour".into(),
        Period::Day => "today".into(),
        Period::Week => "this week".into(),
        Period::Month => "this month".into(),
        Period::Year => "this year".into(),
        Period::Total => "in total".into(),
        Period::Days(n) => format!("in these {n} days"),
    }
}

/// The command that raises a budget, as the user would type it.
fn raise_hint(id: &BudgetId, metric: Metric, period: Period) -> String {
    let target = match id.scope {
        Scope::Session => return "start the session again with a larger `bgw run --budget`".into(),
        Scope::Global => "global".to_owned(),
        _ => id.to_string(),
    };
    match metric {
        Metric::Usd => format!("`bgw budget set {target} AMOUNT/{period}`"),
        Metric::Requests => format!("`bgw budget set {target} --rate N/{period}`"),
        Metric::Tokens => format!("`bgw budget set {target} --tokens N/{period}`"),
    }
}

/// The refusal Claude Code shows for a meter with no room: a spent budget is a 429 it must
/// not retry, with the usage headers that make it print the message as it is; a rate limit
/// is a 429 with `retry-after`, which it waits out.
pub fn refusal(s: &Standing, need: u64, now_ms: u64) -> ApiError {
    let id = &s.rule.record.id;
    let raise = raise_hint(id, s.meter.metric, s.meter.period);
    let wait_s = s
        .window
        .end_ms
        .map(|end| end.saturating_sub(now_ms).div_ceil(1000).max(1));
    // Room held by requests in flight comes back as they end: worth a retry in a moment.
    if s.spent.saturating_add(need) <= s.limit {
        let held = s.amount(s.held);
        let mut e = ApiError::new(
            ErrorKind::RateLimit,
            format!(
                "bgw: the budget of {id} is held by requests in flight: {} spent and {held} reserved of {} {}, and this request may need {}; try again in a moment",
                s.amount(s.spent),
                s.amount(s.limit),
                period_phrase(s.meter.period),
                s.amount(need)
            ),
        );
        e.retry_after = Some(IN_FLIGHT_RETRY_S);
        return e;
    }
    match s.meter.metric {
        Metric::Usd => {
            let left = s.limit.saturating_sub(s.spent);
            let state = if left == 0 {
                format!(
                    "is spent: {} of {} {}",
                    s.amount(s.spent),
                    s.amount(s.limit),
                    period_phrase(s.meter.period)
                )
            } else {
                format!(
                    "has {} left of {} {}, and this request may cost up to {} (its input and `max_tokens`)",
                    s.amount(left),
                    s.amount(s.limit),
                    period_phrase(s.meter.period),
                    s.amount(need)
                )
            };
            let resets = s
                .resets()
                .map_or_else(String::new, |r| format!(" · resets {r}"));
            let mut e = ApiError::new(
                ErrorKind::RateLimit,
                format!("bgw: the budget of {id} {state}{resets} · to raise it: {raise}"),
            );
            e.should_retry = Some(false);
            e.retry_after = wait_s;
            e.headers = notice::refusal_headers(s);
            e
        }
        Metric::Requests | Metric::Tokens => {
            let unit = if s.meter.metric == Metric::Requests {
                "requests"
            } else {
                "tokens"
            };
            let wait_s = wait_s.unwrap_or(60);
            let mut e = ApiError::new(
                ErrorKind::RateLimit,
                format!(
                    "bgw: the rate limit of {id} is reached: {} of {} {unit} per {}; try again in {wait_s} s · to raise it: {raise}",
                    thousands(s.spent),
                    thousands(s.limit),
                    s.meter.period,
                ),
            );
            e.retry_after = Some(wait_s);
            e
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(input: f64, output: f64) -> Price {
        Price {
            input,
            output,
            cache_read: Some(input / 10.0),
            cache_write: Some(input * 1.25),
            cache_write_1h: Some(input * 2.0),
        }
    }

    #[test]
    fn the_largest_max_tokens_bounds_the_output_clamped_to_the_models_limit() {
        let pricing = Pricing::builtin();
        let body = br#"{"model":"m","max_tokens":32000,"tools":[{"input_schema":{"properties":{"max_tokens":{"type":"integer"}}}}],"messages":[{"role":"user","content":"say \"max_tokens\": 999999"}]}"#;
        // gpt-4o writes 16,384 tokens at most.
        let f = Facts::of(body, "openai", "gpt-4o", &pricing);
        assert_eq!(f.output_max, 16_384);
        let f = Facts::of(body, "openai", "house-model", &pricing);
        assert_eq!(f.output_max, 32_000);
        let none = br#"{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{"max_tokens":1}}]}]}"#;
        assert_eq!(
            Facts::of(none, "openai", "gpt-4o", &pricing).output_max,
            16_384
        );
        assert_eq!(
            Facts::of(none, "openai", "house-model", &pricing).output_max,
            OUTPUT_UNBOUNDED
        );
    }

    #[test]
    fn input_is_bounded_by_the_body_and_the_models_window() {
        let pricing = Pricing::builtin();
        // A screenshot in base64: 400 KB of body, far more than gpt-4o's 128k window holds.
        let body = format!(r#"{{"data":"{}"}}"#, "A".repeat(400_000));
        let f = Facts::of(body.as_bytes(), "openai", "gpt-4o", &pricing);
        assert_eq!((f.input_max, f.input_typical), (128_000, 100_002));
        let f = Facts::of(body.as_bytes(), "openai", "house-model", &pricing);
        assert_eq!(f.input_max, 200_005);
        // A server tool's results come on top of the body.
        let web = br#"{"tools":[{"type":"web_search_20250305","name":"web_search"}]}"#;
        let f = Facts::of(web, "anthropic", "claude-house", &pricing);
        assert_eq!(f.input_max, web.len() as u64 / 2 + SERVER_TOOL_TOKENS);
    }

    #[test]
    fn the_worst_case_prices_every_input_token_as_a_cache_write_when_the_request_caches() {
        let pricing = Pricing::builtin();
        let mut f = Facts::of(br#"{}"#, "p", "m", &pricing);
        (f.input_max, f.output_max) = (1_000_000, 1_000_000);
        assert_eq!(f.worst_cost(&price(3.0, 15.0)), Nanodollars(21_000_000_000));
        f.caches = false;
        assert_eq!(f.worst_cost(&price(3.0, 15.0)), Nanodollars(18_000_000_000));
    }
}
