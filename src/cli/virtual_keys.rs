//! `bgw keys virtual`: the keys bgw gives its own callers (a person, a team's CI, a customer's
//! app), each with what it may use, what it may spend and until when.
//!
//! A secret is made here, printed once on stdout and forgotten: the store keeps its hash and
//! last four characters ([`crate::govern::vkey`]). Its limits live in the `key` budget of the
//! same name, which `bgw budget` shows and changes too.

use std::collections::HashMap;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::CliError;
use super::format::thousands;
use super::logs::time::{Utc, parse_duration_ms, parse_point};
use super::output::{emit, table};
use crate::govern::amount::Nanodollars;
use crate::govern::period::{Limit, Period, parse_count_limit, parse_money_limit};
use crate::govern::scope::{BudgetId, Scope};
use crate::govern::vkey;
use crate::providers::ProviderId;
use crate::store::budgets::BudgetRecord;
use crate::store::vkeys::VirtualKey;
use crate::store::{Store, now_ms};

/// What `--expires` accepts, for its errors.
const EXPIRY_FORMS: &str = "a duration from now (`30d`, `12h`, `2w`), a UTC date (`2027-01-01`), a UTC date and time (`2027-01-01T09:00`), or RFC 3339 (`2027-01-01T09:00:00+01:00`)";

/// `bgw keys virtual` subcommands.
#[derive(Debug, Subcommand)]
pub enum VirtualCommand {
    /// Make a virtual key; its secret is printed once, on stdout
    ///
    /// Give it to a person or an app for `bgw serve`: once any virtual key exists, the
    /// gateway refuses requests that present none. Claude Code sends it as
    /// `ANTHROPIC_API_KEY=bgw-vk-…`, or as the `x-bgw-key` header beside a Claude login
    /// (`ANTHROPIC_CUSTOM_HEADERS='x-bgw-key: bgw-vk-…'`).
    Create(CreateArgs),
    /// List virtual keys (never a secret: only its last 4 characters)
    List {
        /// One JSON array of objects instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show one virtual key: what it may use, its limits, its status
    Show {
        /// The key's name, as `bgw keys virtual list` shows it
        name: String,
        /// One JSON object instead of lines
        #[arg(long)]
        json: bool,
    },
    /// Give a virtual key a new secret (printed once); the old one stops working at once
    Rotate {
        /// The key's name
        name: String,
        /// A new expiry: a duration from now (`30d`), a date (`2027-01-01`), or `never`
        #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
        expires: Option<String>,
    },
    /// Refuse a virtual key's requests until `enable`
    Disable {
        /// The key's name
        name: String,
    },
    /// Accept a disabled virtual key's requests again
    Enable {
        /// The key's name
        name: String,
    },
    /// Remove a virtual key and its limits
    Rm {
        /// The key's name
        name: String,
    },
}

/// `bgw keys virtual create` options.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name of the key: who or what uses it (`alice`, `ci`, `acme-app`)
    pub name: String,

    /// The team it belongs to (made if new); team budgets count its spend
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,

    /// The customer it belongs to (made if new); customer budgets count its spend
    #[arg(long, value_name = "CUSTOMER")]
    pub customer: Option<String>,

    /// Models it may use, comma-separated: `openai/*`, `groq/llama-*`, `anthropic/claude-sonnet-4-5`
    /// (a bare name is Anthropic's) [default: all]
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub models: Vec<String>,

    /// Providers it may use, comma-separated [default: all]
    #[arg(long, value_delimiter = ',', value_name = "P,Q")]
    pub providers: Vec<String>,

    /// US dollars it may spend per period: `50/month`, `5/day`, `200/30d`, `10/total`
    #[arg(long, value_name = "USD/PERIOD")]
    pub budget: Option<String>,

    /// Requests it may make per period: `60/min`, `10k/day`
    #[arg(long, value_name = "N/PERIOD")]
    pub rate: Option<String>,

    /// Tokens it may use per period: `2M/day` (repeat for other periods)
    #[arg(long, value_name = "N/PERIOD")]
    pub tokens: Vec<String>,

    /// When it stops working: a duration from now (`30d`, `12h`) or a date (`2027-01-01`)
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    pub expires: Option<String>,
}

/// Runs a `bgw keys virtual` subcommand.
pub fn run(store: &Store, cmd: VirtualCommand) -> Result<ExitCode, CliError> {
    match cmd {
        VirtualCommand::Create(args) => create(store, args),
        VirtualCommand::List { json } => list(store, json),
        VirtualCommand::Show { name, json } => show(store, &name, json),
        VirtualCommand::Rotate { name, expires } => rotate(store, &name, expires.as_deref()),
        VirtualCommand::Disable { name } => set_disabled(store, &name, true),
        VirtualCommand::Enable { name } => set_disabled(store, &name, false),
        VirtualCommand::Rm { name } => remove(store, &name),
    }
}

/// The limits `create` writes into the key's budget, read before anything is stored.
struct Limits {
    money: Option<Limit<Nanodollars>>,
    requests: Option<Limit<u64>>,
    tokens: Vec<Limit<u64>>,
}

impl Limits {
    fn parse(args: &CreateArgs) -> Result<Limits, CliError> {
        let flag = |name: &'static str| move |e: String| CliError::new(format!("`--{name}`: {e}"));
        let money = args
            .budget
            .as_deref()
            .map(parse_money_limit)
            .transpose()
            .map_err(flag("budget"))?;
        let requests = args
            .rate
            .as_deref()
            .map(parse_count_limit)
            .transpose()
            .map_err(flag("rate"))?;
        let mut tokens: Vec<Limit<u64>> = Vec::new();
        for text in &args.tokens {
            let limit = parse_count_limit(text).map_err(flag("tokens"))?;
            if tokens.iter().any(|t| t.period == limit.period) {
                return Err(CliError::new(format!(
                    "`--tokens` names the period `{}` twice; give one limit per period",
                    limit.period
                )));
            }
            tokens.push(limit);
        }
        Ok(Limits {
            money,
            requests,
            tokens,
        })
    }

    fn is_empty(&self) -> bool {
        self.money.is_none() && self.requests.is_none() && self.tokens.is_empty()
    }
}

fn create(store: &Store, args: CreateArgs) -> Result<ExitCode, CliError> {
    // Everything is read and checked first, so a mistake in any flag stores nothing.
    let name = args.name.trim().to_owned();
    vkey::check_name("virtual key", &name).map_err(CliError::new)?;
    let team = group_name("team", args.team.as_deref())?;
    let customer = group_name("customer", args.customer.as_deref())?;
    let models = model_patterns(&args.models)?;
    let providers = provider_names(&args.providers)?;
    let limits = Limits::parse(&args)?;
    let now = now_ms();
    let expires_ms = match args.expires.as_deref() {
        Some(text) => parse_expiry(text, now)?,
        None => None,
    };
    if store.virtual_key(&name)?.is_some() {
        return Err(exists(&name));
    }
    let secret = vkey::new_secret().map_err(CliError::new)?;
    let key = VirtualKey {
        name: name.clone(),
        hash: vkey::hash(&secret),
        hint: vkey::hint(&secret),
        team: team.clone(),
        customer: customer.clone(),
        models,
        providers,
        expires_ms,
        disabled: false,
        created_ms: now,
        rotated_ms: None,
    };
    store.add_virtual_key(&key).map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => exists(&name),
        other => other.into(),
    })?;
    if !limits.is_empty() {
        let id = BudgetId::new(Scope::Key, name.as_str());
        let written = store.edit_budget(&id, |rec| {
            if let Some(m) = limits.money {
                rec.money = Some(m);
            }
            if let Some(r) = limits.requests {
                rec.requests = Some(r);
            }
            for t in &limits.tokens {
                rec.tokens.retain(|old| old.period != t.period);
                rec.tokens.push(*t);
            }
            Ok(())
        });
        if let Err(e) = written {
            // A key without the limits asked for must not stay usable.
            let _ = store.remove_virtual_key(&name);
            return Err(CliError::from(e).hint(format!(
                "nothing was kept; run `bgw keys virtual create {name}` again"
            )));
        }
    }
    for (scope, group) in [(Scope::Team, &team), (Scope::Customer, &customer)] {
        if let Some(group) = group {
            if store.ensure_group(scope, group)? {
                eprintln!("made {scope} `{group}`");
            }
        }
    }
    let budget = store.budget(&BudgetId::new(Scope::Key, name.as_str()))?;
    eprintln!(
        "created virtual key `{name}`: {}",
        summary(&key, budget.as_ref())
    );
    reveal(&name, &secret)
}

/// Prints a new secret alone on stdout, and on stderr that it will not be shown again.
fn reveal(name: &str, secret: &str) -> Result<ExitCode, CliError> {
    emit(&format!("{secret}\n"))?;
    eprintln!(
        "this is the only time the key is shown: bgw keeps only its hash (lost, it can be replaced with `bgw keys virtual rotate {name}`)"
    );
    eprintln!(
        "use it with Claude Code and `bgw serve`: `ANTHROPIC_API_KEY=bgw-vk-… ANTHROPIC_BASE_URL=http://HOST:PORT claude`, or beside a Claude login: `ANTHROPIC_CUSTOM_HEADERS='x-bgw-key: bgw-vk-…'`"
    );
    Ok(ExitCode::SUCCESS)
}

fn exists(name: &str) -> CliError {
    CliError::new(format!("a virtual key named `{name}` exists already")).hint(format!(
        "see it with `bgw keys virtual show {name}`, give it a new secret with `bgw keys virtual rotate {name}`, or choose another name"
    ))
}

fn unknown(name: &str) -> CliError {
    CliError::new(format!("no virtual key named `{name}`"))
        .hint("`bgw keys virtual list` shows the names")
        .code(1)
}

fn group_name(what: &str, name: Option<&str>) -> Result<Option<String>, CliError> {
    name.map(|n| {
        let n = n.trim();
        vkey::check_name(what, n)
            .map(|()| n.to_owned())
            .map_err(|e| CliError::new(format!("`--{what}`: {e}")))
    })
    .transpose()
}

/// `--models` entries as typed: `openai/*`, `claude-sonnet-4-5` (Anthropic's), `*`.
fn model_patterns(entries: &[String]) -> Result<Vec<String>, CliError> {
    let mut out: Vec<String> = Vec::new();
    for entry in entries.iter().map(|m| m.trim()).filter(|m| !m.is_empty()) {
        let bad = |why: &str| {
            CliError::new(format!("`--models`: `{entry}` {why}")).hint(
                "write models as `PROVIDER/MODEL`, with `*` for any part: `openai/*,anthropic/claude-sonnet-4-5`",
            )
        };
        if entry.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("holds a space"));
        }
        if let Some((provider, model)) = entry.split_once('/') {
            if model.is_empty() {
                return Err(bad(
                    "names no model after the `/` (for all of them write `/*`)",
                ));
            }
            if !provider.contains('*') {
                ProviderId::parse(provider).map_err(|e| bad(&format!("is not a model: {e}")))?;
            }
        }
        if !out.iter().any(|m| m == entry) {
            out.push(entry.to_owned());
        }
    }
    if out.is_empty() && !entries.is_empty() {
        return Err(CliError::new("`--models` is empty")
            .hint("leave it out to allow every model, or name some: `--models 'openai/*'`"));
    }
    Ok(out)
}

fn provider_names(entries: &[String]) -> Result<Vec<String>, CliError> {
    let mut out: Vec<String> = Vec::new();
    for entry in entries.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let id =
            ProviderId::parse(entry).map_err(|e| CliError::new(format!("`--providers`: {e}")))?;
        if !out.iter().any(|p| p == id.as_str()) {
            out.push(id.as_str().to_owned());
        }
    }
    if out.is_empty() && !entries.is_empty() {
        return Err(CliError::new("`--providers` is empty").hint(
            "leave it out to allow every provider, or name some: `--providers openai,groq`",
        ));
    }
    Ok(out)
}

/// `--expires`: `never` (`None`), a duration from `now`, or a date; never in the past.
fn parse_expiry(text: &str, now: u64) -> Result<Option<u64>, CliError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let bad = || {
        CliError::new(format!("`--expires {text}` is not a time bgw reads"))
            .hint(format!("give {EXPIRY_FORMS}, or `never`"))
    };
    if t.starts_with('-') {
        return Err(CliError::new(format!(
            "`--expires {text}` is in the past: a key must expire later than now"
        ))
        .hint(format!("give {EXPIRY_FORMS}")));
    }
    let at = if t.bytes().next().is_some_and(|b| b.is_ascii_digit()) && !t.contains('-') {
        parse_duration_ms(t)
            .and_then(|d| now.checked_add(d))
            .ok_or_else(bad)?
    } else {
        parse_point(t, now).map_err(|_| bad())?
    };
    if at <= now {
        return Err(CliError::new(format!(
            "`--expires {text}` is in the past ({}): a key must expire later than now",
            utc_minute(at)
        ))
        .hint(format!("give {EXPIRY_FORMS}")));
    }
    Ok(Some(at))
}

fn rotate(store: &Store, name: &str, expires: Option<&str>) -> Result<ExitCode, CliError> {
    let now = now_ms();
    let new_expiry = expires.map(|e| parse_expiry(e, now)).transpose()?;
    let Some(old) = store.virtual_key(name)? else {
        return Err(unknown(name));
    };
    let expiry_after = new_expiry.unwrap_or(old.expires_ms);
    if let Some(at) = expiry_after.filter(|&at| at <= now) {
        return Err(CliError::new(format!(
            "the virtual key `{name}` expired {}; a new secret would not work either",
            utc_minute(at)
        ))
        .hint(format!(
            "give it a new expiry as well: `bgw keys virtual rotate {name} --expires 30d` (or `--expires never`)"
        )));
    }
    let secret = vkey::new_secret().map_err(CliError::new)?;
    let (hash, hint) = (vkey::hash(&secret), vkey::hint(&secret));
    let rotated = store
        .edit_virtual_key(name, |k| {
            k.hash.clone_from(&hash);
            k.hint.clone_from(&hint);
            k.rotated_ms = Some(now);
            if let Some(e) = new_expiry {
                k.expires_ms = e;
            }
        })?
        .ok_or_else(|| unknown(name))?;
    let expiry = match rotated.expires_ms {
        Some(at) => format!("it expires {}", utc_minute(at)),
        None => "it does not expire".to_owned(),
    };
    let disabled = if rotated.disabled {
        format!(" (it is disabled: `bgw keys virtual enable {name}`)")
    } else {
        String::new()
    };
    eprintln!(
        "rotated virtual key `{name}`: the secret ending `{}` no longer works; {expiry}{disabled}",
        old.hint
    );
    reveal(name, &secret)
}

fn set_disabled(store: &Store, name: &str, disabled: bool) -> Result<ExitCode, CliError> {
    let Some(key) = store.virtual_key(name)? else {
        return Err(unknown(name));
    };
    let (done, other) = if disabled {
        ("disabled", "enable")
    } else {
        ("enabled", "disable")
    };
    if key.disabled == disabled {
        eprintln!("virtual key `{name}` is {done} already; nothing changed");
        return Ok(ExitCode::SUCCESS);
    }
    store
        .edit_virtual_key(name, |k| k.disabled = disabled)?
        .ok_or_else(|| unknown(name))?;
    let effect = if disabled {
        "its requests are refused from now on"
    } else {
        "its requests are accepted again"
    };
    eprintln!(
        "{done} virtual key `{name}`: {effect} (undo with `bgw keys virtual {other} {name}`)"
    );
    Ok(ExitCode::SUCCESS)
}

fn remove(store: &Store, name: &str) -> Result<ExitCode, CliError> {
    if !store.remove_virtual_key(name)? {
        return Err(unknown(name));
    }
    let had_budget = store.remove_budget(&BudgetId::new(Scope::Key, name))?;
    if had_budget {
        eprintln!("removed virtual key `{name}` and its limits; its secret no longer works");
    } else {
        eprintln!("removed virtual key `{name}`; its secret no longer works");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(store: &Store, json: bool) -> Result<ExitCode, CliError> {
    let keys = store.virtual_keys()?;
    let budgets: HashMap<String, BudgetRecord> = store
        .budgets()?
        .into_iter()
        .filter(|b| b.id.scope == Scope::Key)
        .map(|b| (b.id.name.clone(), b))
        .collect();
    let now = now_ms();
    if json {
        let all: Vec<Value> = keys
            .iter()
            .map(|k| facts(k, budgets.get(&k.name), now))
            .collect();
        emit(&format!("{}\n", Value::Array(all)))?;
        return Ok(ExitCode::SUCCESS);
    }
    if keys.is_empty() {
        eprintln!(
            "no virtual keys yet; make one with `bgw keys virtual create NAME` (say `--team eng --budget 50/month`)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.name.clone(),
                k.team.clone().unwrap_or_else(|| "-".into()),
                k.customer.clone().unwrap_or_else(|| "-".into()),
                masked(k),
                list_or_all(&k.models, ","),
                list_or_all(&k.providers, ","),
                budgets
                    .get(&k.name)
                    .and_then(|b| b.money)
                    .map_or_else(|| "-".into(), |m| money_text(&m)),
                status(k, now),
                utc_date(k.created_ms),
            ]
        })
        .collect();
    emit(&table(
        &[
            "NAME",
            "TEAM",
            "CUSTOMER",
            "KEY",
            "MODELS",
            "PROVIDERS",
            "BUDGET",
            "STATUS",
            "CREATED",
        ],
        &rows,
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn show(store: &Store, name: &str, json: bool) -> Result<ExitCode, CliError> {
    let Some(key) = store.virtual_key(name)? else {
        return Err(unknown(name));
    };
    let budget = store.budget(&BudgetId::new(Scope::Key, name))?;
    let now = now_ms();
    if json {
        emit(&format!("{}\n", facts(&key, budget.as_ref(), now)))?;
    } else {
        emit(&describe(&key, budget.as_ref(), now))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One key as `show` prints it: a `name: value` line per fact.
fn describe(key: &VirtualKey, budget: Option<&BudgetRecord>, now: u64) -> String {
    let mut out = String::new();
    let mut field = |name: &str, value: String| {
        out.push_str(&format!("{:<11}{value}\n", format!("{name}:")));
    };
    field("name", key.name.clone());
    field("key", masked(key));
    field("team", key.team.clone().unwrap_or_else(|| "-".into()));
    field(
        "customer",
        key.customer.clone().unwrap_or_else(|| "-".into()),
    );
    field("models", list_or_all(&key.models, ", "));
    field("providers", list_or_all(&key.providers, ", "));
    field("status", state_word(key, now).to_owned());
    field(
        "expires",
        key.expires_ms.map_or_else(|| "never".into(), utc_minute),
    );
    field("created", utc_minute(key.created_ms));
    field(
        "rotated",
        key.rotated_ms.map_or_else(|| "never".into(), utc_minute),
    );
    let money = budget.and_then(|b| b.money);
    field(
        "budget",
        money.map_or_else(|| "none".into(), |m| money_text(&m)),
    );
    let requests = budget.and_then(|b| b.requests);
    field(
        "rate",
        requests.map_or_else(|| "none".into(), |r| count_text(&r, " requests")),
    );
    let tokens: Vec<String> = budget
        .map(|b| b.tokens.iter().map(|t| count_text(t, " tokens")).collect())
        .unwrap_or_default();
    field(
        "tokens",
        if tokens.is_empty() {
            "none".into()
        } else {
            tokens.join(", ")
        },
    );
    out
}

/// One key's facts as JSON: never its secret or its hash.
fn facts(key: &VirtualKey, budget: Option<&BudgetRecord>, now: u64) -> Value {
    let period = |p: Period| p.to_string();
    json!({
        "name": key.name,
        "key": masked(key),
        "hint": key.hint,
        "team": key.team,
        "customer": key.customer,
        "models": key.models,
        "providers": key.providers,
        "status": state_word(key, now),
        "disabled": key.disabled,
        "expires": key.expires_ms.map(utc_rfc3339),
        "created": utc_rfc3339(key.created_ms),
        "rotated": key.rotated_ms.map(utc_rfc3339),
        "budget": budget.and_then(|b| b.money).map(|m| json!({
            "usd": m.amount.to_usd(),
            "period": period(m.period),
        })),
        "rate": budget.and_then(|b| b.requests).map(|r| json!({
            "requests": r.amount,
            "period": period(r.period),
        })),
        "tokens": budget.map_or_else(Vec::new, |b| b.tokens.iter().map(|t| json!({
            "tokens": t.amount,
            "period": period(t.period),
        })).collect()),
    })
}

/// `bgw-vk-…` and the secret's last four characters.
fn masked(key: &VirtualKey) -> String {
    format!("{}…{}", vkey::PREFIX, key.hint)
}

fn list_or_all(items: &[String], sep: &str) -> String {
    if items.is_empty() {
        "all".into()
    } else {
        items.join(sep)
    }
}

/// `active`, `disabled` or `expired`.
fn state_word(key: &VirtualKey, now: u64) -> &'static str {
    if key.disabled {
        "disabled"
    } else if key.expires_ms.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    }
}

/// The table's status: the state, or when an active key expires.
fn status(key: &VirtualKey, now: u64) -> String {
    match (state_word(key, now), key.expires_ms) {
        ("active", Some(at)) => format!("expires {}", utc_date(at)),
        (word, _) => word.to_owned(),
    }
}

/// `$50.00/month`.
fn money_text(limit: &Limit<Nanodollars>) -> String {
    format!("{}/{}", limit.amount, limit.period)
}

/// `60 requests/minute`.
fn count_text(limit: &Limit<u64>, unit: &str) -> String {
    format!("{}{unit}/{}", thousands(limit.amount), limit.period)
}

/// A short line of what a new key may do, for `create`.
fn summary(key: &VirtualKey, budget: Option<&BudgetRecord>) -> String {
    let mut parts = vec![vkey::describe_allowed(key)];
    if let Some(team) = &key.team {
        parts.push(format!("team `{team}`"));
    }
    if let Some(customer) = &key.customer {
        parts.push(format!("customer `{customer}`"));
    }
    if let Some(b) = budget {
        if let Some(m) = &b.money {
            parts.push(format!("budget {}", money_text(m)));
        }
        if let Some(r) = &b.requests {
            parts.push(format!("rate {}", count_text(r, " requests")));
        }
        for t in &b.tokens {
            parts.push(format!("at most {}", count_text(t, " tokens")));
        }
    }
    if let Some(at) = key.expires_ms {
        parts.push(format!("expires {}", utc_minute(at)));
    }
    parts.join("; ")
}

fn utc_date(ms: u64) -> String {
    let t = Utc::from_ms(ms);
    format!("{:04}-{:02}-{:02}", t.year, t.month, t.day)
}

fn utc_minute(ms: u64) -> String {
    let t = Utc::from_ms(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute
    )
}

fn utc_rfc3339(ms: u64) -> String {
    let t = Utc::from_ms(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_000_000_000;

    #[test]
    fn expiries_are_durations_from_now_or_dates_and_never_past() {
        assert_eq!(
            parse_expiry("30d", NOW).unwrap(),
            Some(NOW + 30 * 86_400_000)
        );
        assert_eq!(
            parse_expiry("12h", NOW).unwrap(),
            Some(NOW + 12 * 3_600_000)
        );
        assert_eq!(
            parse_expiry("2027-01-01", NOW).unwrap(),
            Some(1_798_761_600_000)
        );
        assert_eq!(parse_expiry("never", NOW).unwrap(), None);
        for bad in ["-1d", "2020-01-01", "0s"] {
            assert!(
                parse_expiry(bad, NOW)
                    .unwrap_err()
                    .message
                    .contains("in the past"),
                "{bad}"
            );
        }
        for bad in ["30", "soon", "30x", ""] {
            let e = parse_expiry(bad, NOW).unwrap_err();
            assert!(e.message.contains("is not a time"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn model_lists_are_kept_as_typed_but_checked() {
        let typed = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            model_patterns(&typed(&[
                "openai/*",
                " claude-sonnet-4-5",
                "*/gpt-*",
                "openai/*"
            ]))
            .unwrap(),
            typed(&["openai/*", "claude-sonnet-4-5", "*/gpt-*"])
        );
        assert!(model_patterns(&typed(&["Open AI/x"])).is_err());
        assert!(model_patterns(&typed(&["openai/"])).is_err());
        assert!(model_patterns(&typed(&[""])).is_err());
        assert!(provider_names(&typed(&["openai", "Groq"])).is_err());
    }

    #[test]
    fn status_says_when_an_active_key_expires() {
        let mut key = VirtualKey {
            name: "alice".into(),
            hash: "h".into(),
            hint: "Ab3x".into(),
            team: None,
            customer: None,
            models: Vec::new(),
            providers: Vec::new(),
            expires_ms: Some(1_798_761_600_000),
            disabled: false,
            created_ms: NOW,
            rotated_ms: None,
        };
        assert_eq!(status(&key, NOW), "expires 2027-01-01");
        assert_eq!(status(&key, 1_798_761_600_000), "expired");
        key.disabled = true;
        assert_eq!(status(&key, NOW), "disabled");
        assert_eq!(masked(&key), "bgw-vk-…Ab3x");
        let text = describe(&key, None, NOW);
        assert!(
            text.starts_with("name:      alice\nkey:       bgw-vk-…Ab3x\n"),
            "{text}"
        );
        assert!(!facts(&key, None, NOW).to_string().contains("\"hash\""));
    }
}
