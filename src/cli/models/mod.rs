//! `bgw models`: what each configured provider offers, live and from the catalog, at the
//! prices in force (yours from `bgw models price`, else the catalog's).

pub mod price;

use bytes::Bytes;
use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use super::CliError;
use super::output::{table, warn};
use super::serve::load_routes;
use crate::catalog::{self, Price, PriceSource, Pricing, per_million};
use crate::providers::client::{UpstreamClient, client};
use crate::providers::{ProviderKind, openai};
use crate::route::{Provider, Routes, add_key_hint};
use crate::store::Store;

/// How long to wait for a provider's live list.
const LIVE_TIMEOUT: Duration = Duration::from_secs(8);

/// `bgw models` options.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: Option<ModelsCommand>,

    /// Only this provider
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,

    /// One JSON object per model, one per line
    #[arg(long)]
    pub json: bool,
}

/// `bgw models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Set, remove and list your own prices per model (they win over bgw's)
    #[command(subcommand)]
    Price(price::PriceCommand),
}

/// One model as listed.
#[derive(Debug, Serialize)]
struct Row {
    /// What to put in `model` (or `/model`): `provider/model`.
    id: String,
    provider: String,
    model: String,
    context_window: Option<u32>,
    max_output: Option<u32>,
    /// USD per million tokens: yours if you set one, else the catalog's.
    price: Option<PriceOut>,
    /// `override` (yours, `bgw models price`) or `catalog`; `None` without a price.
    price_source: Option<&'static str>,
    /// `live`, `catalog`, `live+catalog`, `key` (a key's `--models`) or `price` (priced by you).
    source: String,
}

#[derive(Debug, Serialize)]
struct PriceOut {
    input: f64,
    output: f64,
    cache_read: Option<f64>,
    cache_write: Option<f64>,
}

impl From<Price> for PriceOut {
    fn from(p: Price) -> Self {
        PriceOut {
            input: p.input,
            output: p.output,
            cache_read: p.cache_read,
            cache_write: p.cache_write,
        }
    }
}

/// Lists models, or runs `bgw models price`.
pub fn run(store: &Store, args: ModelsArgs) -> Result<ExitCode, CliError> {
    if let Some(ModelsCommand::Price(cmd)) = args.command {
        return price::run(store, cmd);
    }
    let routes = load_routes(store)?;
    let pricing = store.pricing()?;
    let chosen: Vec<&Provider> = match &args.provider {
        Some(p) => {
            let provider = routes.provider(p).ok_or_else(|| {
                CliError::new(format!("unknown provider `{p}`")).hint(format!(
                    "known providers: {}",
                    routes
                        .providers()
                        .map(|p| p.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            vec![provider]
        }
        None => routes
            .providers()
            .filter(|p| !p.keys.is_empty() || p.id == "anthropic")
            .collect(),
    };
    let rt = super::runtime(super::shared_workers())?;
    let http = client().map_err(CliError::new)?;
    // Ask every provider at once: one slow provider should not hold up the others.
    let lives = rt.block_on(async {
        let tasks: Vec<_> = chosen
            .iter()
            .map(|p| {
                let (http, routes, p) = (http.clone(), routes.clone(), (*p).clone());
                tokio::spawn(async move { live_models(&http, &routes, &p).await })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.unwrap_or(Err(None)));
        }
        out
    });
    let mut rows = Vec::new();
    for (provider, live) in chosen.into_iter().zip(lives) {
        let live = match live {
            Ok(ids) => ids,
            Err(why) => {
                if let Some(why) = why {
                    warn(&format!("{}: {why}; showing the catalog only", provider.id));
                }
                Vec::new()
            }
        };
        rows.extend(merge(provider, &live, &pricing));
    }
    if args.json {
        for row in &rows {
            println!("{}", serde_json::to_string(row).unwrap_or_default());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!(
            "no models: add a key first, for example `{}`",
            add_key_hint("openai")
        );
        return Ok(ExitCode::SUCCESS);
    }
    let fmt_num = |n: Option<u32>| {
        n.map_or("-".to_owned(), |n| {
            crate::observe::session::thousands(u64::from(n))
        })
    };
    // Your own prices are marked `*`.
    let mark = |r: &Row| {
        if r.price_source == Some("override") {
            "*"
        } else {
            ""
        }
    };
    let fmt_price = |r: &Row, p: Option<f64>| {
        p.map_or("-".to_owned(), |p| format!("{}{}", per_million(p), mark(r)))
    };
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                fmt_num(r.context_window),
                fmt_num(r.max_output),
                fmt_price(r, r.price.as_ref().map(|p| p.input)),
                fmt_price(r, r.price.as_ref().map(|p| p.output)),
                r.source.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["MODEL", "CONTEXT", "MAX OUT", "IN $/M", "OUT $/M", "SOURCE"],
            &table_rows
        )
    );
    println!("prices per million tokens, taken {}", catalog::PRICES_TAKEN);
    if rows.iter().any(|r| r.price_source == Some("override")) {
        println!("* your price (`bgw models price list`)");
    }
    Ok(ExitCode::SUCCESS)
}

fn merge(provider: &Provider, live: &[String], pricing: &Pricing) -> Vec<Row> {
    let mut by_model: BTreeMap<String, Row> = BTreeMap::new();
    let address = |m: &str| {
        if provider.id == "anthropic" {
            m.to_owned()
        } else {
            format!("{}/{m}", provider.id)
        }
    };
    let row = |model: &str, source: &str| {
        let info = catalog::lookup(&provider.id, model);
        let price = pricing.price(&provider.id, model);
        Row {
            id: address(model),
            provider: provider.id.clone(),
            model: model.to_owned(),
            context_window: info.map(|i| i.context_window),
            max_output: info.map(|i| i.max_output),
            price: price.map(|p| PriceOut::from(p.price)),
            price_source: price.map(|p| match p.source {
                PriceSource::Override => "override",
                PriceSource::Catalog => "catalog",
            }),
            source: source.to_owned(),
        }
    };
    for m in catalog::for_provider(&provider.id) {
        by_model.insert(m.id.to_owned(), row(m.id, "catalog"));
    }
    for id in live {
        match by_model.get_mut(id) {
            Some(r) => r.source = "live+catalog".into(),
            None => {
                by_model.insert(id.clone(), row(id, "live"));
            }
        }
    }
    for k in &provider.keys {
        for m in &k.models {
            by_model.entry(m.clone()).or_insert_with(|| row(m, "key"));
        }
    }
    // A model you priced is one you use, even when nothing else lists it.
    for m in pricing.overridden_models(&provider.id) {
        by_model
            .entry(m.to_owned())
            .or_insert_with(|| row(m, "price"));
    }
    by_model.into_values().collect()
}

/// The provider's own list; `Err(None)` when it has none to ask.
async fn live_models(
    http: &UpstreamClient,
    routes: &Routes,
    provider: &Provider,
) -> Result<Vec<String>, Option<String>> {
    if provider.kind == ProviderKind::Azure {
        // Azure's data plane lists no deployments; the keys' `--models` stand in.
        return Err(None);
    }
    let target = match routes.resolve(&format!("{}/m", provider.id)) {
        Ok(t) if t.secret.is_some() || provider.keyless => t,
        // A key that cannot be used (its variable unset) is worth saying; no key is not.
        Err(e) if !provider.keys.is_empty() => return Err(Some(e.problem)),
        _ => return Err(None),
    };
    let mut req = http::Request::get(match provider.kind {
        ProviderKind::Anthropic => format!("{}/v1/models?limit=1000", target.base_url),
        _ => format!("{}/models", target.base_url),
    });
    if let Some(secret) = &target.secret {
        req = match provider.kind {
            ProviderKind::Anthropic => req
                .header("x-api-key", secret.expose())
                .header("anthropic-version", "2023-06-01"),
            _ => req.header("authorization", format!("Bearer {}", secret.expose())),
        };
    }
    let req = req
        .body(Full::new(Bytes::new()))
        .map_err(|e| Some(format!("invalid base URL: {e}")))?;
    let resp = tokio::time::timeout(LIVE_TIMEOUT, http.request(req))
        .await
        .map_err(|_| {
            Some(format!(
                "no answer from {} within {} s",
                target.base_url,
                LIVE_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|_| Some(format!("cannot reach {} (is it running?)", target.base_url)))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    if !status.is_success() {
        return Err(Some(format!(
            "listing models failed ({status}): {}",
            openai::error_message(&body)
        )));
    }
    openai::model_ids(&body).map_err(|e| Some(e.message))
}
