//! `bgw models price`: your own prices per model, over bgw's built-in table.
//!
//! A price set here wins over the catalog's for every request logged from then on, in every
//! running gateway (they hear the change through the store); one removed goes back to the
//! catalog's price, or to unknown for a model the catalog does not price.

use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

use crate::catalog::{self, Effective, MODELS, PRICES_TAKEN, Price, PriceSource, per_million};
use crate::cli::CliError;
use crate::cli::output::{table, warn};
use crate::providers::{ProviderId, builtin};
use crate::route::{address_parts, picker};
use crate::store::{PriceOverride, Store};

/// `bgw models price` subcommands.
#[derive(Debug, Subcommand)]
pub enum PriceCommand {
    /// Set your price for a model, in US dollars per million tokens
    ///
    /// It wins over bgw's built-in price (or prices a model bgw does not know) for every
    /// request from now on, in running gateways too. Cache tokens without a price of their
    /// own bill at the input price.
    Set(SetArgs),
    /// Remove your price for a model (back to bgw's built-in price, or to unknown)
    Rm {
        /// The model, as `PROVIDER/MODEL`
        #[arg(value_name = "PROVIDER/MODEL")]
        target: String,
    },
    /// List your prices; with --all, bgw's built-in prices too
    List {
        /// Also list bgw's built-in prices
        #[arg(long)]
        all: bool,
        /// One JSON object per price, one per line
        #[arg(long)]
        json: bool,
    },
}

/// `bgw models price set` options.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The model, as `PROVIDER/MODEL` (a Claude model is `anthropic/claude-…`)
    #[arg(value_name = "PROVIDER/MODEL")]
    pub target: String,

    /// US dollars per million uncached input tokens
    #[arg(long, value_name = "USD", value_parser = usd_per_million, allow_negative_numbers = true)]
    pub input: f64,

    /// US dollars per million output tokens
    #[arg(long, value_name = "USD", value_parser = usd_per_million, allow_negative_numbers = true)]
    pub output: f64,

    /// US dollars per million tokens read from the prompt cache [default: the price in force
    /// for it, else the input price]
    #[arg(long, value_name = "USD", value_parser = usd_per_million, allow_negative_numbers = true)]
    pub cache_read: Option<f64>,

    /// US dollars per million tokens written to the prompt cache [default: the price in force
    /// for it, else the input price]
    #[arg(long, value_name = "USD", value_parser = usd_per_million, allow_negative_numbers = true)]
    pub cache_write: Option<f64>,

    /// Why, or where the numbers come from (shown by `bgw models price list`)
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

/// A price on the command line: a finite number of dollars, 0 or more.
fn usd_per_million(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().trim_start_matches('$').parse().map_err(|_| {
        format!("`{s}` is not a number; give US dollars per million tokens, like `2.5`")
    })?;
    if !v.is_finite() {
        return Err(format!(
            "`{s}` is not a price; give US dollars per million tokens, like `2.5`"
        ));
    }
    if v < 0.0 {
        return Err(format!("`{s}` is negative; a price is 0 or more"));
    }
    Ok(v)
}

/// A model as prices name it: a provider and the model's id there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedModel {
    pub provider: ProviderId,
    pub model: String,
}

impl PricedModel {
    /// Reads `PROVIDER/MODEL` as requests address it (`claude/openai/gpt-4o` and a `[1m]`
    /// suffix are understood); the provider must be written out.
    pub fn parse(target: &str) -> Result<PricedModel, CliError> {
        let target = target.trim();
        let example =
            "for example `openai/gpt-4o`, or `anthropic/claude-sonnet-4-5` for a Claude model";
        if !picker::address(target).contains('/') {
            return Err(CliError::new(format!(
                "`{target}` names no provider: write it as PROVIDER/MODEL"
            ))
            .hint(example));
        }
        let (provider, model) =
            address_parts(target).map_err(|e| CliError::new(e.problem).hint(example))?;
        let provider = ProviderId::parse(provider).map_err(|e| CliError::new(e).hint(example))?;
        if model.trim() != model || model.chars().any(char::is_whitespace) {
            return Err(
                CliError::new(format!("the model `{model}` has spaces in it")).hint(example),
            );
        }
        Ok(PricedModel {
            provider,
            model: model.to_owned(),
        })
    }
}

impl std::fmt::Display for PricedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}

/// Runs a `bgw models price` subcommand.
pub fn run(store: &Store, cmd: PriceCommand) -> Result<ExitCode, CliError> {
    match cmd {
        PriceCommand::Set(args) => set(store, args),
        PriceCommand::Rm { target } => rm(store, &target),
        PriceCommand::List { all, json } => list(store, all, json),
    }
}

fn set(store: &Store, args: SetArgs) -> Result<ExitCode, CliError> {
    let target = PricedModel::parse(&args.target)?;
    let provider = target.provider.as_str();
    let before = store.pricing()?.price(provider, &target.model);
    // Cache prices not given stay as they were: `--input 1 --output 4` on a model bgw prices
    // with a cache discount must not start billing cache reads at the full input price.
    let kept = before.as_ref().map(|b| b.price);
    let price = Price {
        cache_write_1h: None,
        input: args.input,
        output: args.output,
        cache_read: args.cache_read.or(kept.and_then(|k| k.cache_read)),
        cache_write: args.cache_write.or(kept.and_then(|k| k.cache_write)),
    };
    price.check().map_err(CliError::new)?;
    let configured =
        builtin(provider).is_some() || store.keys()?.iter().any(|k| k.provider == provider);
    if !configured {
        warn(&format!(
            "no provider `{provider}` is configured yet; the price applies once one is (`bgw keys add {provider} …`)"
        ));
    }
    let note = args
        .note
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    store.set_price(&PriceOverride {
        provider: provider.to_owned(),
        model: target.model.clone(),
        price,
        note,
        set_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    })?;
    let replaces = match before {
        Some(Effective {
            price,
            source: PriceSource::Override,
        }) => format!(" (replaces your earlier {})", describe(&price)),
        Some(Effective {
            price,
            source: PriceSource::Catalog,
        }) => format!(
            " (replaces bgw's {}, taken {PRICES_TAKEN})",
            describe(&price)
        ),
        None if catalog::lookup(provider, &target.model).is_some() => {
            " (bgw had no price for it)".to_owned()
        }
        None => String::new(),
    };
    eprintln!(
        "set your price for `{target}`: {}{replaces}; requests from now on are billed at it",
        describe(&price)
    );
    Ok(ExitCode::SUCCESS)
}

fn rm(store: &Store, target: &str) -> Result<ExitCode, CliError> {
    let target = PricedModel::parse(target)?;
    let provider = target.provider.as_str();
    if !store.remove_price(provider, &target.model)? {
        return Err(
            CliError::new(format!("you have set no price for `{target}`"))
                .hint("`bgw models price list` shows yours")
                .code(1),
        );
    }
    // A dated snapshot may still take the price you set for its base id.
    let now = match store.pricing()?.price(provider, &target.model) {
        Some(Effective {
            price,
            source: PriceSource::Override,
        }) => format!("your {}", describe(&price)),
        Some(Effective {
            price,
            source: PriceSource::Catalog,
        }) => format!("bgw's built-in {}", describe(&price)),
        None => "unknown (its cost is not counted)".to_owned(),
    };
    eprintln!("removed your price for `{target}`; its price is now {now}");
    Ok(ExitCode::SUCCESS)
}

/// `$2.50 in, $10.00 out` (and cache prices when set) per million tokens.
fn describe(p: &Price) -> String {
    let mut out = format!("{} in, {} out", per_million(p.input), per_million(p.output));
    if let Some(r) = p.cache_read {
        out.push_str(&format!(", {} cache read", per_million(r)));
    }
    if let Some(w) = p.cache_write {
        out.push_str(&format!(", {} cache write", per_million(w)));
    }
    out.push_str(" per million tokens");
    out
}

/// One price as `list --json` prints it.
#[derive(Debug, Serialize)]
struct ListedPrice<'a> {
    id: String,
    provider: &'a str,
    model: &'a str,
    /// US dollars per million tokens; `None` where bgw has no price.
    price: Option<Price>,
    /// `override` (yours) or `catalog` (bgw's).
    source: &'static str,
    /// A catalog price replaced by one of yours.
    overridden: bool,
    note: Option<&'a str>,
    /// Seconds since the Unix epoch (yours only).
    set_at: Option<u64>,
}

fn list(store: &Store, all: bool, json: bool) -> Result<ExitCode, CliError> {
    let overrides = store.prices()?;
    let mut listed: Vec<ListedPrice<'_>> = overrides
        .iter()
        .map(|o| ListedPrice {
            id: format!("{}/{}", o.provider, o.model),
            provider: &o.provider,
            model: &o.model,
            price: Some(o.price),
            source: "override",
            overridden: false,
            note: o.note.as_deref(),
            set_at: Some(o.set_at),
        })
        .collect();
    if all {
        let pricing = crate::catalog::Pricing::with_overrides(
            overrides
                .iter()
                .map(|o| (o.provider.clone(), o.model.clone(), o.price)),
        );
        listed.extend(MODELS.iter().map(|m| ListedPrice {
            id: format!("{}/{}", m.provider, m.id),
            provider: m.provider,
            model: m.id,
            price: m.price,
            source: "catalog",
            overridden: pricing.override_for(m.provider, m.id).is_some(),
            note: None,
            set_at: None,
        }));
    }
    // Written without `println!`, which panics when the reader (`| head`) goes away.
    let mut out = std::io::stdout().lock();
    if json {
        for p in &listed {
            let _ = writeln!(out, "{}", serde_json::to_string(p).unwrap_or_default());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if overrides.is_empty() && !all {
        eprintln!(
            "no prices of your own; set one with `bgw models price set PROVIDER/MODEL --input USD --output USD`"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let cell = |p: Option<f64>| p.map_or("-".to_owned(), per_million);
    // The NOTE column only when there is a note to show.
    let with_notes = listed.iter().any(|l| l.note.is_some());
    let header = [
        "MODEL",
        "IN $/M",
        "OUT $/M",
        "CACHE READ $/M",
        "CACHE WRITE $/M",
        "SOURCE",
        "NOTE",
    ];
    let header = if with_notes {
        &header[..]
    } else {
        &header[..header.len() - 1]
    };
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|l| {
            let source = match (l.source, l.overridden) {
                ("override", _) => format!("yours, set {}", l.set_at.map_or("-".into(), date)),
                (_, true) => "bgw (not used: yours wins)".to_owned(),
                _ => "bgw".to_owned(),
            };
            let mut row = match l.price {
                Some(p) => vec![
                    l.id.clone(),
                    per_million(p.input),
                    per_million(p.output),
                    cell(p.cache_read),
                    cell(p.cache_write),
                ],
                None => vec![
                    l.id.clone(),
                    "unknown".into(),
                    "unknown".into(),
                    "-".into(),
                    "-".into(),
                ],
            };
            row.push(source);
            if with_notes {
                row.push(l.note.unwrap_or("").to_owned());
            }
            row
        })
        .collect();
    let _ = write!(out, "{}", table(header, &rows));
    let _ = writeln!(
        out,
        "US dollars per million tokens; a cache price shown as - bills at the input price{}",
        if all {
            format!("; bgw's prices taken {PRICES_TAKEN}")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `YYYY-MM-DD` (UTC) of a time in seconds since the Unix epoch.
fn date(secs: u64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_must_be_numbers_of_zero_or_more() {
        assert_eq!(usd_per_million("2.5"), Ok(2.5));
        assert_eq!(usd_per_million("$0"), Ok(0.0));
        assert!(usd_per_million("abc").unwrap_err().contains("not a number"));
        assert!(usd_per_million("-1").unwrap_err().contains("negative"));
        assert!(usd_per_million("NaN").unwrap_err().contains("not a price"));
        assert!(usd_per_million("inf").unwrap_err().contains("not a price"));
    }

    #[test]
    fn targets_name_a_provider_and_a_model() {
        let t = PricedModel::parse("openai/gpt-4o").unwrap();
        assert_eq!(
            (t.provider.as_str(), t.model.as_str()),
            ("openai", "gpt-4o")
        );
        let t = PricedModel::parse("claude/groq/openai/gpt-oss-120b").unwrap();
        assert_eq!(t.to_string(), "groq/openai/gpt-oss-120b");
        for bad in [
            "gpt-4o",
            "claude/gpt-4o",
            "/gpt-4o",
            "openai/",
            "Open AI/x",
            "",
        ] {
            assert!(PricedModel::parse(bad).is_err(), "{bad}");
        }
        let err = PricedModel::parse("gpt-4o").unwrap_err();
        assert!(err.message.contains("names no provider"), "{}", err.message);
    }

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_764_460_800), "2025-11-30");
    }
}
