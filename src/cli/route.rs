//! `bgw route`: routing rules. A rule sends the requests whose CEL condition holds to its
//! targets (one chosen by weight), with fallbacks when they fail.

use clap::{Args, Subcommand};
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;

use super::CliError;
use super::output::{emit, table, warn};
use crate::gateway::routing::note_use;
use crate::govern::admit::Budgets;
use crate::govern::meter::Metric;
use crate::govern::scope::{Caller, Scope};
use crate::govern::standing::Standing;
use crate::govern::vkey::check_name;
use crate::route::rule::{BudgetUse, Condition, Evaluator, Facts, Vars};
use crate::route::rules::{Rule, RuleScope, RuleSet, Verdict, parse_targets};
use crate::route::{Routes, add_key_hint, address_parts, tier_of};
use crate::store::Store;
use crate::store::routes::RouteRecord;

/// `bgw route` subcommands.
#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// Add a rule: `bgw route add ab-test --when 'tier == "sonnet"' --to 'openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30'`
    ///
    /// Rules are searched by scope (key, then team, customer, global) and, within a scope, by
    /// priority (higher first); the first whose condition holds decides where the request
    /// goes. No rule matching: the request goes where its model names. Conditions are CEL
    /// (the `cel` crate), checked when the rule is added. Variables: model, provider, tier,
    /// headers (lower-case names: `headers["x-task"] == "review"`), session, key, team,
    /// customer, budget.used_pct (the highest on the caller's chain),
    /// budget.<session|key|team|customer|provider|global>.used_pct, tokens.input,
    /// request.stream, request.tools, request.thinking, request.max_tokens, time.hour (UTC).
    Add(AddArgs),
    /// List the rules in the order they are searched
    List {
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Show one rule
    Show {
        name: String,
        /// As JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove a rule
    Rm { name: String },
    /// Stop using a rule (it stays stored)
    Disable { name: String },
    /// Use a disabled rule again
    Enable { name: String },
    /// Show which rule a request would match, why the rules before it did not, and the
    /// targets it would try in order
    Test(TestArgs),
}

/// `bgw route add` options.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The rule's name (letters, digits, `-`, `_`, `.`)
    pub name: String,

    /// The CEL condition, e.g. `budget.used_pct > 85.0` or `model == "openai/gpt-5"`
    #[arg(long, value_name = "CEL")]
    pub when: String,

    /// Where matching requests go: `provider/model`, or a weighted split
    /// `openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30` (weights normalise: 70,30 = 0.7,0.3)
    #[arg(long, value_name = "TARGETS")]
    pub to: String,

    /// Models tried in turn when the chosen target fails (comma-separated `provider/model`s)
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub fallback: Vec<String>,

    /// Whose requests it sees: global, key:NAME, team:NAME or customer:NAME
    #[arg(long, default_value = "global", value_name = "SCOPE")]
    pub scope: String,

    /// Within its scope, rules of higher priority are searched first
    #[arg(
        long,
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub priority: i32,
}

/// `bgw route test` options.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The model the request asks for
    #[arg(long)]
    pub model: String,

    /// The virtual key making the request (its team and customer come with it)
    #[arg(long, value_name = "NAME")]
    pub key: Option<String>,

    /// A request header, `name=value` (repeatable)
    #[arg(long = "header", value_name = "NAME=VALUE")]
    pub headers: Vec<String>,

    /// The request's input tokens (`tokens.input`)
    #[arg(long, default_value_t = 0)]
    pub tokens: u64,

    /// The request streams (`request.stream`)
    #[arg(long)]
    pub stream: bool,
}

/// Runs `bgw route`.
pub fn run(store: &Store, command: RouteCommand) -> Result<ExitCode, CliError> {
    match command {
        RouteCommand::Add(args) => add(store, args),
        RouteCommand::List { json } => list(store, json),
        RouteCommand::Show { name, json } => show(store, &name, json),
        RouteCommand::Rm { name } => {
            if store.remove_route(&name)? {
                eprintln!("removed the rule `{name}`; running gateways stop using it now");
                Ok(ExitCode::SUCCESS)
            } else {
                Err(no_rule(&name))
            }
        }
        RouteCommand::Disable { name } => toggle(store, &name, false),
        RouteCommand::Enable { name } => toggle(store, &name, true),
        RouteCommand::Test(args) => test(store, args),
    }
}

fn no_rule(name: &str) -> CliError {
    CliError::new(format!("there is no rule `{name}`"))
        .hint("`bgw route list` lists them")
        .code(1)
}

fn toggle(store: &Store, name: &str, enabled: bool) -> Result<ExitCode, CliError> {
    match store.enable_route(name, enabled)? {
        Some(_) if enabled => eprintln!("the rule `{name}` is used again from the next request"),
        Some(_) => eprintln!(
            "the rule `{name}` is not used from the next request (`bgw route enable {name}` turns it back on)"
        ),
        None => return Err(no_rule(name)),
    }
    Ok(ExitCode::SUCCESS)
}

fn add(store: &Store, args: AddArgs) -> Result<ExitCode, CliError> {
    check_name("rule", &args.name).map_err(CliError::new)?;
    Condition::compile(&args.when).map_err(|e| CliError::new(format!("`--when`: {e}")))?;
    let to = parse_targets(&args.to).map_err(CliError::new)?;
    let scope = RuleScope::parse(&args.scope).map_err(CliError::new)?;
    let routes = Routes::new(&store.keys()?);
    for address in to.iter().map(|(a, _)| a).chain(&args.fallback) {
        check_target(&routes, address)?;
    }
    warn_unknown_scope(store, &scope)?;
    let record = RouteRecord {
        name: args.name.clone(),
        when: args.when,
        to,
        fallback: args.fallback,
        scope: scope.to_string(),
        priority: args.priority,
        enabled: true,
        created_ms: crate::store::now_ms(),
    };
    // Checked again as a gateway will read it.
    Rule::from_record(&record).map_err(CliError::new)?;
    if !store.add_route(&record)? {
        return Err(
            CliError::new(format!("a rule `{}` exists already", args.name)).hint(format!(
                "`bgw route rm {}` first, or pick another name",
                args.name
            )),
        );
    }
    eprintln!(
        "added the rule `{}` ({scope}, priority {}); running gateways use it from the next request",
        record.name, record.priority
    );
    Ok(ExitCode::SUCCESS)
}

/// A target must name a known provider; one without a key yet is allowed with a warning.
fn check_target(routes: &Routes, address: &str) -> Result<(), CliError> {
    let (provider, _) = address_parts(address).map_err(|e| CliError::new(e.problem))?;
    if !address.contains('/') {
        return Err(CliError::new(format!(
            "`{address}`: write targets as `provider/model`, for example `anthropic/{address}`"
        )));
    }
    if routes.provider(provider).is_none() {
        return Err(
            CliError::new(format!("`{address}`: unknown provider `{provider}`"))
                .hint(format!("to add it: `{}`", add_key_hint(provider))),
        );
    }
    if !routes.is_usable(provider) && provider != "anthropic" {
        warn(&format!(
            "provider `{provider}` has no key yet: requests skip `{address}` until one is added (`{}`)",
            add_key_hint(provider)
        ));
    }
    Ok(())
}

fn warn_unknown_scope(store: &Store, scope: &RuleScope) -> Result<(), CliError> {
    let known = match scope {
        RuleScope::Global => true,
        RuleScope::Key(n) => store.virtual_key(n)?.is_some(),
        RuleScope::Team(n) | RuleScope::Customer(n) => {
            let want = if matches!(scope, RuleScope::Team(_)) {
                Scope::Team
            } else {
                Scope::Customer
            };
            store
                .groups()?
                .iter()
                .any(|g| g.scope == want && &g.name == n)
        }
    };
    if !known {
        warn(&format!(
            "no caller is in `{scope}` yet: the rule applies once one is (`bgw keys virtual create`)"
        ));
    }
    Ok(())
}

/// The stored rules in search order: the enabled ones as gateways search them, then the
/// disabled ones by name.
fn ordered(store: &Store) -> Result<(Vec<RouteRecord>, RuleSet), CliError> {
    let records = store.routes()?;
    let set = RuleSet::new(&records);
    let mut out: Vec<RouteRecord> = set
        .rules()
        .iter()
        .filter_map(|r| records.iter().find(|x| x.name == r.name).cloned())
        .collect();
    let rest: Vec<RouteRecord> = records
        .iter()
        .filter(|r| !out.iter().any(|o| o.name == r.name))
        .cloned()
        .collect();
    out.extend(rest);
    Ok((out, set))
}

fn targets_text(r: &RouteRecord) -> String {
    let total: f64 = r.to.iter().map(|(_, w)| w).sum();
    if r.to.len() == 1 {
        return r.to[0].0.clone();
    }
    r.to.iter()
        .map(|(a, w)| format!("{a} {:.0}%", w * 100.0 / total))
        .collect::<Vec<_>>()
        .join(", ")
}

fn record_json(r: &RouteRecord) -> serde_json::Value {
    let total: f64 = r.to.iter().map(|(_, w)| w).sum();
    json!({
        "name": r.name,
        "when": r.when,
        "to": r.to.iter().map(|(a, w)| json!({"target": a, "weight": w / total})).collect::<Vec<_>>(),
        "fallback": r.fallback,
        "scope": r.scope,
        "priority": r.priority,
        "enabled": r.enabled,
        "created_ms": r.created_ms,
    })
}

fn list(store: &Store, as_json: bool) -> Result<ExitCode, CliError> {
    let (records, set) = ordered(store)?;
    if as_json {
        let mut out = String::new();
        for r in &records {
            out.push_str(&record_json(r).to_string());
            out.push('\n');
        }
        emit(&out)?;
    } else if records.is_empty() {
        eprintln!(
            "no routing rules: requests go where their model names (`bgw route add` adds one)"
        );
    } else {
        let rows: Vec<Vec<String>> = records
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.scope.clone(),
                    r.priority.to_string(),
                    if r.enabled { "on" } else { "off" }.to_owned(),
                    r.when.clone(),
                    targets_text(r),
                    r.fallback.join(", "),
                ]
            })
            .collect();
        emit(&table(
            &["NAME", "SCOPE", "PRIORITY", "ON", "WHEN", "TO", "FALLBACK"],
            &rows,
        ))?;
    }
    for (name, why) in &set.broken {
        warn(&format!("the rule `{name}` is not used: {why}"));
    }
    Ok(ExitCode::SUCCESS)
}

fn show(store: &Store, name: &str, as_json: bool) -> Result<ExitCode, CliError> {
    let r = store.route(name)?.ok_or_else(|| no_rule(name))?;
    if as_json {
        emit(&format!("{}\n", record_json(&r)))?;
        return Ok(ExitCode::SUCCESS);
    }
    let fallback = if r.fallback.is_empty() {
        "none".to_owned()
    } else {
        r.fallback.join(", ")
    };
    emit(&format!(
        "rule      {}\nscope     {}\npriority  {}\nenabled   {}\nwhen      {}\nto        {}\nfallback  {fallback}\n",
        r.name,
        r.scope,
        r.priority,
        if r.enabled { "yes" } else { "no" },
        r.when,
        targets_text(&r),
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn test(store: &Store, args: TestArgs) -> Result<ExitCode, CliError> {
    let routes = Routes::new(&store.keys()?);
    let (_, set) = ordered(store)?;
    let caller = match &args.key {
        Some(name) => {
            let key = store.virtual_key(name)?.ok_or_else(|| {
                CliError::new(format!("there is no virtual key `{name}`"))
                    .hint("`bgw keys virtual list` lists them")
            })?;
            Caller {
                key: Some(key.name),
                team: key.team,
                customer: key.customer,
            }
        }
        None => Caller::default(),
    };
    let mut headers = http::HeaderMap::new();
    for h in &args.headers {
        let (name, value) = h
            .split_once('=')
            .ok_or_else(|| CliError::new(format!("`--header {h}`: write it as `name=value`")))?;
        let name = http::HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes())
            .map_err(|_| CliError::new(format!("`{name}` is not a header name")))?;
        let value = http::HeaderValue::from_str(value.trim())
            .map_err(|_| CliError::new(format!("`{value}` is not a header value")))?;
        headers.append(name, value);
    }
    let (provider, _) = address_parts(&args.model).map_err(|e| CliError::new(e.problem))?;
    let facts = Facts {
        model: &args.model,
        provider,
        tier: tier_of(&args.model, &[]),
        headers: &headers,
        session: "",
        key: caller.key.as_deref().unwrap_or(""),
        team: caller.team.as_deref().unwrap_or(""),
        customer: caller.customer.as_deref().unwrap_or(""),
        budget: budget_use(store, &caller, provider)?,
        tokens_input: args.tokens,
        stream: args.stream,
        tools: 0,
        thinking: false,
        max_tokens: 0,
        hour: (crate::store::now_ms() / 3_600_000 % 24) as u8,
    };
    let vars = Vars::new(&facts, set.uses());
    let evaluator = Evaluator::new(&vars);
    let mut out = String::new();
    let verdicts = set.explain(&caller, &evaluator);
    let mut matched = None;
    for (rule, verdict) in &verdicts {
        let line = match verdict {
            Verdict::OutOfScope => format!("  no    {:<20} not in scope {}", rule.name, rule.scope),
            Verdict::False => format!(
                "  no    {:<20} false: {}",
                rule.name,
                rule.condition.source()
            ),
            Verdict::Failed(why) => {
                format!("  skip  {:<20} could not be evaluated: {why}", rule.name)
            }
            Verdict::Matched => {
                matched = Some(*rule);
                format!("  yes   {:<20} {}", rule.name, rule.condition.source())
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    let plan = match matched {
        Some(rule) => {
            let split = if rule.to.len() > 1 {
                let arms: Vec<String> = rule
                    .to
                    .iter()
                    .map(|(a, w)| format!("{a} {:.0}%", w * 100.0))
                    .collect();
                format!(
                    "; its target is drawn by weight ({}), shown here as the first",
                    arms.join(", ")
                )
            } else {
                String::new()
            };
            out.push_str(&format!("rule `{}` matches{split}\n", rule.name));
            let addresses = rule.addresses(0);
            // Targets a gateway would leave out (no key yet), and why.
            for address in &addresses {
                if let Err(e) = routes.plan(address, None) {
                    out.push_str(&format!("  ({address} is skipped: {})\n", e.problem));
                }
            }
            routes.plan_all(&addresses, None)
        }
        None => {
            out.push_str(&format!(
                "no rule matches: the request goes where `{}` names\n",
                args.model
            ));
            routes.plan(&args.model, None)
        }
    };
    match plan {
        Ok(plan) => {
            out.push_str("targets, in the order they are tried:\n");
            for (i, t) in plan.iter().enumerate() {
                let key = t
                    .key_name
                    .as_deref()
                    .map(|k| format!(" (key {k})"))
                    .unwrap_or_default();
                out.push_str(&format!("  {}. {}{key}\n", i + 1, t.address()));
            }
        }
        Err(e) => out.push_str(&format!(
            "it would fail: {}{}\n",
            e.problem,
            e.fix.map(|f| format!(" (run `{f}`)")).unwrap_or_default()
        )),
    }
    emit(&out)?;
    for (name, why) in &set.broken {
        warn(&format!("the rule `{name}` is not used: {why}"));
    }
    Ok(ExitCode::SUCCESS)
}

/// How much of each money budget on the caller's chain is spent, as the store has it.
fn budget_use(store: &Store, caller: &Caller, provider: &str) -> Result<BudgetUse, CliError> {
    let budgets = Budgets::new(store.budgets()?);
    let chain: Vec<Arc<crate::govern::admit::Rule>> = budgets.chain(None, caller, provider, None);
    let now = crate::store::now_ms();
    let standings: Vec<Standing> = chain
        .iter()
        .flat_map(|r| Standing::of(r, now))
        .filter(|s| s.meter.metric == Metric::Usd && s.limit > 0)
        .collect();
    let states = store.accounts(standings.iter().map(|s| s.account.clone()).collect())?;
    let mut used = BudgetUse::default();
    for (s, state) in standings.iter().zip(states) {
        note_use(&mut used, s.rule.record.id.scope, state.spent, s.limit);
    }
    Ok(used)
}
