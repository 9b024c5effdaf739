//! `bgw models`: what each configured provider offers, live and from the catalog, at the
//! prices in force (yours from `bgw models price`, else the catalog's).

pub mod price;

use bytes::Bytes;
use clap::{Args, Subcommand};
use clap_complete::ArgValueCandidates;
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use super::CliError;
use super::output::{emit, table, warn};
use super::serve::load_routes;
use crate::catalog::{self, Price, PriceSource, Pricing, per_million};
use crate::providers::client::{UpstreamClient, client};
use crate::providers::{ProviderKind, Target, gemini, openai};
use crate::route::{Provider, Routes, add_key_hint};
use crate::store::Store;

/// How long to wait for a provider's live list.
const LIVE_TIMEOUT: Duration = Duration::from_secs(8);
/// The most pages of a paged list read (Gemini's holds a few dozen models in one).
const MAX_PAGES: usize = 20;

/// `bgw models` options.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: Option<ModelsCommand>,

    /// Only this provider
    #[arg(long, value_name = "PROVIDER", add = ArgValueCandidates::new(crate::cli::complete::configured_providers))]
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

/// A model a provider's own list names, with the limits the list gives (Gemini's does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Live {
    id: String,
    context_window: Option<u32>,
    max_output: Option<u32>,
}

impl Live {
    fn id(id: String) -> Live {
        Live {
            id,
            context_window: None,
            max_output: None,
        }
    }
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
        let mut text = String::new();
        for row in &rows {
            text.push_str(&serde_json::to_string(row).unwrap_or_default());
            text.push('\n');
        }
        emit(&text)?;
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
    let mut text = table(
        &["MODEL", "CONTEXT", "MAX OUT", "IN $/M", "OUT $/M", "SOURCE"],
        &table_rows,
    );
    text.push_str(&format!(
        "prices per million tokens, taken {}\n",
        catalog::PRICES_TAKEN
    ));
    if rows.iter().any(|r| r.price_source == Some("override")) {
        text.push_str("* your price (`bgw models price list`)\n");
    }
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn merge(provider: &Provider, live: &[Live], pricing: &Pricing) -> Vec<Row> {
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
    for m in live {
        let r = by_model
            .entry(m.id.clone())
            .and_modify(|r| r.source = "live+catalog".into())
            .or_insert_with(|| row(&m.id, "live"));
        // The catalog's numbers first; the provider's own fill what it lacks.
        r.context_window = r.context_window.or(m.context_window);
        r.max_output = r.max_output.or(m.max_output);
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
) -> Result<Vec<Live>, Option<String>> {
    match provider.kind {
        // Azure's data plane lists no deployments; the keys' `--models` stand in.
        // The clouds list models in their control planes (other hosts, other credentials):
        // the catalog stands in.
        ProviderKind::Azure | ProviderKind::Vertex | ProviderKind::Bedrock => return Err(None),
        _ => {}
    }
    let target = match routes.resolve(&format!("{}/m", provider.id)) {
        Ok(t) if t.secret().is_some() || provider.keyless => t,
        // A key that cannot be used (its variable unset) is worth saying; no key is not.
        Err(e) if !provider.keys.is_empty() => return Err(Some(e.problem)),
        _ => return Err(None),
    };
    list_models(http, &target, LIVE_TIMEOUT)
        .await
        .map_err(|e| Some(e.to_string()))
}

/// Why a provider's model list could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListError {
    /// The URL cannot be made into a request.
    InvalidUrl(String),
    /// No answer within the time allowed.
    Timeout { base: String, secs: u64 },
    /// No connection: the error's chain, which names no URL and no key.
    Unreachable { base: String, why: String },
    /// The provider answered with an error status.
    Status { status: u16, message: String },
    /// The provider answered with a body that is not a model list.
    Body(String),
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListError::InvalidUrl(e) => write!(f, "invalid base URL: {e}"),
            ListError::Timeout { base, secs } => write!(f, "no answer from {base} within {secs} s"),
            ListError::Unreachable { base, .. } => {
                write!(f, "cannot reach {base} (is it running?)")
            }
            ListError::Status { status, message } => {
                let status = http::StatusCode::from_u16(*status)
                    .map_or_else(|_| status.to_string(), |s| s.to_string());
                write!(f, "listing models failed ({status}): {message}")
            }
            ListError::Body(e) => f.write_str(e),
        }
    }
}

/// The model ids `target`'s provider lists with its key: the cheapest call that proves a key
/// (OpenAI-compatible `GET /models`, Anthropic's `GET /v1/models`, Gemini's `models.list`,
/// Azure's `GET /openai/models`); each request waits at most `wait`.
pub(crate) async fn list_models(
    http: &UpstreamClient,
    target: &Target,
    wait: Duration,
) -> Result<Vec<Live>, ListError> {
    let base = target.base_url.as_str();
    let secret = target.secret().map(|s| s.expose());
    let ids = match target.kind {
        ProviderKind::Gemini => return gemini_models(http, base, secret, wait).await,
        ProviderKind::Anthropic => {
            let mut headers = vec![("anthropic-version", "2023-06-01".to_owned())];
            headers.extend(secret.map(|s| ("x-api-key", s.to_owned())));
            let url = format!("{base}/v1/models?limit=1000");
            let body = get(http, target.kind, base, url, &headers, wait).await?;
            openai::model_ids(&body).map_err(|e| ListError::Body(e.message))?
        }
        ProviderKind::Azure => {
            let headers: Vec<_> = secret
                .map(|s| ("api-key", s.to_owned()))
                .into_iter()
                .collect();
            let body = get(
                http,
                target.kind,
                base,
                azure_models_url(base),
                &headers,
                wait,
            )
            .await?;
            openai::model_ids(&body).map_err(|e| ListError::Body(e.message))?
        }
        _ => {
            let headers: Vec<_> = secret
                .map(|s| ("authorization", format!("Bearer {s}")))
                .into_iter()
                .collect();
            let url = format!("{base}/models");
            let body = get(http, target.kind, base, url, &headers, wait).await?;
            openai::model_ids(&body).map_err(|e| ListError::Body(e.message))?
        }
    };
    Ok(ids.into_iter().map(Live::id).collect())
}

/// Azure OpenAI's list of the models a resource can deploy: `GET {endpoint}/openai/models`
/// with the base's `api-version` (the v1 API: `{base}/models`, no version)
/// (<https://learn.microsoft.com/en-us/rest/api/azureopenai/models/list>).
fn azure_models_url(base: &str) -> String {
    let (path, query) = base.split_once('?').unwrap_or((base, ""));
    let path = path.trim_end_matches('/');
    if path.ends_with("/openai/v1") {
        return format!("{path}/models");
    }
    let version = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("api-version="))
        .unwrap_or(crate::providers::azure::DEFAULT_API_VERSION);
    format!("{path}/openai/models?api-version={version}")
}

/// Gemini's `models.list`, page after page: the models that take `generateContent`. The key
/// goes in `x-goog-api-key`, never in the URL.
async fn gemini_models(
    http: &UpstreamClient,
    base: &str,
    secret: Option<&str>,
    wait: Duration,
) -> Result<Vec<Live>, ListError> {
    let headers: Vec<_> = secret
        .map(|s| ("x-goog-api-key", s.to_owned()))
        .into_iter()
        .collect();
    let mut models = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let url = gemini::models_url(base, token.as_deref());
        let body = get(http, ProviderKind::Gemini, base, url, &headers, wait).await?;
        let page = gemini::model_page(&body).map_err(|e| ListError::Body(e.message))?;
        models.extend(page.models.into_iter().map(|m| Live {
            id: m.id,
            context_window: m.context_window,
            max_output: m.max_output,
        }));
        match page.next_page_token {
            // A token handed out twice would never end the list.
            Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
            _ => break,
        }
    }
    Ok(models)
}

/// The body of a successful `GET url` with these headers; else why not (the error read as
/// `kind`'s wire format writes it).
async fn get(
    http: &UpstreamClient,
    kind: ProviderKind,
    base: &str,
    url: String,
    headers: &[(&str, String)],
    wait: Duration,
) -> Result<Bytes, ListError> {
    let mut req = http::Request::get(url);
    for (name, value) in headers {
        req = req.header(*name, value.as_str());
    }
    let req = req
        .body(Full::new(Bytes::new()))
        .map_err(|e| ListError::InvalidUrl(e.to_string()))?;
    let resp = tokio::time::timeout(wait, http.request(req))
        .await
        .map_err(|_| ListError::Timeout {
            base: base.to_owned(),
            secs: wait.as_secs(),
        })?
        .map_err(|e| ListError::Unreachable {
            base: base.to_owned(),
            why: causes(&e),
        })?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    if !status.is_success() {
        let message = match kind {
            ProviderKind::Gemini => gemini::error_message(status.as_u16(), &body),
            _ => openai::error_message(&body),
        };
        return Err(ListError::Status {
            status: status.as_u16(),
            message,
        });
    }
    Ok(body)
}

/// An error and its sources, innermost last (`client error (Connect): Connection refused`).
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azures_model_list_is_under_openai_with_the_bases_api_version() {
        // https://learn.microsoft.com/en-us/rest/api/azureopenai/models/list and, for the v1
        // API, https://learn.microsoft.com/en-us/rest/api/microsoft-foundry/azureopenai/models
        assert_eq!(
            azure_models_url("https://res.openai.azure.com"),
            "https://res.openai.azure.com/openai/models?api-version=2024-10-21"
        );
        assert_eq!(
            azure_models_url("https://res.openai.azure.com/?api-version=2025-04-01-preview"),
            "https://res.openai.azure.com/openai/models?api-version=2025-04-01-preview"
        );
        assert_eq!(
            azure_models_url("https://res.openai.azure.com/openai/v1"),
            "https://res.openai.azure.com/openai/v1/models"
        );
    }
}
