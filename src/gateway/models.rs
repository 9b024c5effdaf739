//! `GET /v1/models`: the models bgw can route to, in Anthropic's list shape.

use http::{Request, Response, StatusCode};
use serde::Serialize;
use std::sync::Arc;

use super::Gateway;
use super::auth;
use super::body::GatewayBody;
use super::router::json;
use crate::catalog::Pricing;
use crate::messages::{ApiError, ErrorKind};
use crate::route::{Routes, picker};

/// Listed models carry no real release date; Anthropic's shape requires one.
const CREATED_AT: &str = "2025-01-01T00:00:00Z";

/// One entry of the list: Anthropic's model shape, plus the `description` Claude Code's
/// `/model` picker shows under the name.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ModelEntry {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub created_at: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_input_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

#[derive(Serialize)]
struct Page<'a> {
    data: &'a [ModelEntry],
    has_more: bool,
    first_id: Option<&'a str>,
    last_id: Option<&'a str>,
}

/// Every model addressable now, under the id Claude Code's discovery keeps
/// (see [`picker`]).
pub fn entries(routes: &Routes, pricing: &Pricing) -> Vec<ModelEntry> {
    picker::models(routes, pricing, &[])
        .into_iter()
        .map(|m| ModelEntry {
            kind: "model",
            id: picker::listed_id(&m.address).into_owned(),
            display_name: m.label,
            description: m.description,
            created_at: CREATED_AT,
            max_input_tokens: m.context_window,
            max_tokens: m.max_output,
        })
        .collect()
}

/// The config, once the request has shown it may read the list (the session secret, or a
/// virtual key where one is wanted).
async fn authorized<B>(
    gateway: &Gateway,
    req: &Request<B>,
) -> Result<Arc<super::config::Config>, ApiError> {
    let config = gateway.config().await;
    auth::authenticate(
        &gateway.settings,
        &config.access,
        req.headers(),
        crate::store::now_ms(),
    )?;
    Ok(config)
}

/// `GET /v1/models?limit=&after_id=&before_id=`.
pub async fn list<B>(
    gateway: &Arc<Gateway>,
    req: &Request<B>,
) -> Result<Response<GatewayBody>, ApiError> {
    let config = authorized(gateway, req).await?;
    let all = entries(&config.routes, &config.pricing);
    let mut limit = 20usize;
    let mut after: Option<String> = None;
    let mut before: Option<String> = None;
    for pair in req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| ApiError::invalid("`limit` must be a number from 1 to 1000"))?;
            }
            "after_id" => after = Some(v),
            "before_id" => before = Some(v),
            _ => {}
        }
    }
    let position = |id: &str| all.iter().position(|e| e.id == id);
    let (start, end) = match (after, before) {
        (Some(a), _) => {
            let i = position(&a).map(|i| i + 1).unwrap_or(all.len());
            (i, (i + limit).min(all.len()))
        }
        (None, Some(b)) => {
            let j = position(&b).unwrap_or(0);
            (j.saturating_sub(limit), j)
        }
        (None, None) => (0, limit.min(all.len())),
    };
    let page = &all[start..end];
    let body = Page {
        data: page,
        has_more: end < all.len(),
        first_id: page.first().map(|e| e.id.as_str()),
        last_id: page.last().map(|e| e.id.as_str()),
    };
    Ok(json(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
    ))
}

/// `GET /v1/models/{id}`.
pub async fn one<B>(
    gateway: &Arc<Gateway>,
    req: &Request<B>,
    id: &str,
) -> Result<Response<GatewayBody>, ApiError> {
    let config = authorized(gateway, req).await?;
    let id = percent_decode(id);
    entries(&config.routes, &config.pricing)
        .into_iter()
        .find(|e| e.id == id)
        .map(|e| json(StatusCode::OK, serde_json::to_vec(&e).unwrap_or_default()))
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                format!(
                    "model `{id}` is not among the models bgw can route to; `bgw models` lists them"
                ),
            )
        })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("openai%2Fgpt-5"), "openai/gpt-5");
        assert_eq!(percent_decode("a%"), "a%");
        assert_eq!(percent_decode("a%zz"), "a%zz");
    }
}
