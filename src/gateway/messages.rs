//! `POST /v1/messages`: the request path, phase by phase.
//!
//! read → authenticate → route → admit (budgets) → encode → send → (stream | decode) →
//! charge and record.
//! A stream is translated chunk by chunk and each piece is handed to hyper at
//! once; when the client goes away the upstream request is dropped with it.

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Gateway;
use super::auth::{self, Identity};
use super::body::GatewayBody;
use super::config::Config;
use super::router::json;
use super::spend::Spend;
use super::stream::TranslatedBody;
use crate::govern::vkey;
use crate::messages::request::RequestHead;
use crate::messages::signature::ThinkingKey;
use crate::messages::{ApiError, ErrorKind, Usage};
use crate::observe::{Answer, Pending};
use crate::providers::Target;
use crate::providers::{self, Inbound, Wire};
use crate::store::logs::RequestId;

/// A request read, checked and routed: what Messages and count_tokens both start with.
pub struct Routed {
    pub parts: http::request::Parts,
    pub body: Bytes,
    pub requested: String,
    pub target: Target,
    /// Who is calling, and the client's own credential (only ever sent to Anthropic itself).
    pub who: Identity,
    /// The install's key for thinking signatures.
    pub thinking: Arc<ThinkingKey>,
}

impl Routed {
    /// Checks who is calling, reads the body (bounded) and routes on `model`, within what
    /// the caller's virtual key allows; notes each finding in `pending` as it is made.
    pub async fn read(
        gateway: &Gateway,
        config: &Config,
        req: Request<Incoming>,
        mut pending: Option<&mut Pending>,
    ) -> Result<Routed, ApiError> {
        let (parts, body) = req.into_parts();
        let who = auth::authenticate(
            &gateway.settings,
            &config.access,
            &parts.headers,
            crate::store::now_ms(),
        )?;
        if let Some(p) = pending.as_deref_mut() {
            p.caller(&who.caller);
        }
        let body = read_body(body, &parts.headers, gateway.settings.max_body).await?;
        let head = RequestHead::parse(&body)?;
        let requested = head.model_name()?.into_owned();
        if let Some(p) = pending.as_deref_mut() {
            p.body(&body, &requested);
        }
        let target = config.routes.resolve(&requested)?;
        if let Some(p) = pending {
            p.routed(&target);
        }
        if let Some(key) = &who.key {
            if !vkey::allows(key, &target.provider, &target.upstream_model) {
                return Err(ApiError::new(
                    ErrorKind::NotFound,
                    format!(
                        "bgw: the virtual key `{}` may not use `{}/{}`; it may use {}",
                        key.name,
                        target.provider,
                        target.upstream_model,
                        vkey::describe_allowed(key)
                    ),
                ));
            }
        }
        Ok(Routed {
            parts,
            body,
            requested,
            target,
            who,
            thinking: Arc::clone(&gateway.thinking),
        })
    }

    /// The upstream request for the routed target.
    pub fn prepare(&self) -> Result<providers::Prepared, ApiError> {
        self.prepare_with(providers::Options::default())
    }

    /// The upstream request for the routed target, with these options.
    pub fn prepare_with(
        &self,
        options: providers::Options,
    ) -> Result<providers::Prepared, ApiError> {
        let head = RequestHead::parse(&self.body)?;
        providers::prepare_with(
            &self.target,
            &Inbound {
                body: &self.body,
                head: &head,
                headers: &self.parts.headers,
                query: self.parts.uri.query(),
                client_auth: self.who.client_auth.clone(),
                thinking: &self.thinking,
            },
            options,
        )
    }
}

/// Handles one Messages request, and logs it.
pub async fn handle(
    gateway: &Arc<Gateway>,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, ApiError> {
    // Read once per request, before the log entry starts: a settings change (content kept or
    // not) applies from this request on, not the next.
    let config = gateway.config().await;
    let keep_content = config.log_content && !gateway.settings.no_content;
    let mut pending = gateway
        .log
        .as_ref()
        .map(|_| Pending::start(req.headers(), keep_content));
    let id = pending.as_ref().map(Pending::id);
    let mut spend = Spend::new(
        id.unwrap_or_else(|| RequestId::new(crate::store::now_ms())),
        &config,
    );
    let result = answer(gateway, &config, req, &mut pending, &mut spend).await;
    // A stream took its row and its charge along; an answer without them is an error: what
    // it cost (nothing, unless a provider answered) is charged and logged here.
    if let Err(e) = &result {
        let cost = spend.settle_failed();
        if let Some(mut p) = pending.take() {
            p.charged(cost);
            let answer = Answer::Json(Bytes::from(e.to_json()));
            gateway.log_finished(p.finish(e.status, Some(e.into()), Usage::default(), answer));
        }
    }
    // The id goes back with errors too: `bgw logs show ID` tells the whole story.
    let mut resp = match (result, id) {
        (Ok(resp), _) => resp,
        (Err(e), Some(_)) => super::router::error_response(&e),
        (Err(e), None) => return Err(e),
    };
    if let Some(id) = id.and_then(|id| http::HeaderValue::from_str(&id.to_string()).ok()) {
        resp.headers_mut()
            .insert(http::HeaderName::from_static("x-bgw-request-id"), id);
    }
    Ok(resp)
}

/// Routes, sends and translates one request; `pending` is finished here for a whole body
/// and moves into the body of a stream.
async fn answer(
    gateway: &Arc<Gateway>,
    config: &Config,
    req: Request<Incoming>,
    pending: &mut Option<Pending>,
    spend: &mut Spend,
) -> Result<Response<GatewayBody>, ApiError> {
    let routed = Routed::read(gateway, config, req, pending.as_mut()).await?;
    let requested = routed.requested.as_str();
    // Anthropic itself needs a credential: a stored key or the client's own login.
    if routed.target.provider.is_anthropic()
        && routed.target.secret.is_none()
        && routed.who.client_auth.is_none()
    {
        return Err(ApiError::new(
            ErrorKind::Authentication,
            format!(
                "no key for provider `anthropic` (model `{requested}`): run `{}`, or log in to Claude Code (`/login`) so bgw can pass your subscription through",
                crate::route::add_key_hint("anthropic")
            ),
        ));
    }
    let target = &routed.target;
    spend
        .admit(gateway, config, &routed.who, target, &routed.body)
        .await?;
    let mut options = providers::Options::default();
    let (wire, asked_stream, upstream) = loop {
        let prepared = routed.prepare_with(options)?;
        let (wire, asked_stream) = (prepared.wire, prepared.stream);
        if let Some(p) = pending.as_mut() {
            p.streamed(asked_stream.unwrap_or(false));
        }
        let sent_at = Instant::now();
        spend.sent();
        let upstream = match send(gateway, target, prepared).await {
            Ok(u) => u,
            Err(e) => {
                if let Some(p) = pending.as_mut() {
                    p.attempt(target, None, Some(e.message.clone()), sent_at.elapsed());
                }
                gateway.stats.record(
                    &target.provider,
                    &target.upstream_model,
                    &Usage::default(),
                    false,
                );
                return Err(e);
            }
        };
        let status = upstream.status();
        if status.is_success() {
            spend.answered();
            if let Some(p) = pending.as_mut() {
                p.attempt(target, Some(status.as_u16()), None, sent_at.elapsed());
            }
            break (wire, asked_stream, upstream);
        }
        let retry_after = upstream
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = read_upstream(
            upstream.into_body(),
            target,
            gateway.settings.upstream_timeout,
        )
        .await
        .unwrap_or_default();
        if options.reasoning_summaries && wire.refuses_reasoning_summaries(status.as_u16(), &bytes)
        {
            // OpenAI shows reasoning summaries only to organizations it has verified; the
            // model reasons all the same, so the request goes again without the summary.
            if let Some(p) = pending.as_mut() {
                let why = "reasoning summaries refused (unverified organization); sent again without them";
                p.attempt(
                    target,
                    Some(status.as_u16()),
                    Some(why.into()),
                    sent_at.elapsed(),
                );
            }
            options.reasoning_summaries = false;
            continue;
        }
        let mut err = wire.upstream_error(&target.provider, status.as_u16(), &bytes);
        // The header wins; a delay the body gives (Gemini's RetryInfo) stands in for it.
        err.retry_after = retry_after.or(err.retry_after);
        if let Some(p) = pending.as_mut() {
            p.attempt(
                target,
                Some(status.as_u16()),
                Some(err.message.clone()),
                sent_at.elapsed(),
            );
        }
        gateway.stats.record(
            &target.provider,
            &target.upstream_model,
            &Usage::default(),
            false,
        );
        return Err(err);
    };
    let stream = asked_stream.unwrap_or_else(|| {
        upstream
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
    });
    if let Some(p) = pending.as_mut() {
        p.streamed(stream);
    }
    let usage_headers = spend.usage_headers(gateway);
    let mut passed_back = HeaderMap::new();
    if wire == Wire::Anthropic {
        pass_back_headers(upstream.headers(), &mut passed_back);
        // The caller's own budget speaks in these headers, not the upstream's quota.
        if !usage_headers.is_empty() {
            let theirs: Vec<_> = passed_back
                .keys()
                .filter(|n| crate::govern::notice::is_usage_header(n.as_str()))
                .cloned()
                .collect();
            for name in theirs {
                passed_back.remove(name);
            }
        }
    }
    for (name, value) in usage_headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            passed_back.insert(name, value);
        }
    }
    let mut resp = if stream {
        start_stream(
            gateway,
            target.clone(),
            wire,
            requested,
            upstream.into_body(),
            pending.take(),
            std::mem::replace(spend, Spend::new(spend.id, config)),
        )
    } else {
        let read = read_upstream(
            upstream.into_body(),
            target,
            gateway.settings.upstream_timeout,
        )
        .await;
        let signer = gateway
            .thinking
            .signer(&target.provider, &target.upstream_model);
        let decoded = read.and_then(|bytes| wire.decode_body(&bytes, requested, &signer));
        let ok = decoded.is_ok();
        let usage = decoded.as_ref().map(|(_, u)| *u).unwrap_or_default();
        gateway
            .stats
            .record(&target.provider, &target.upstream_model, &usage, ok);
        // Decoding errors already name the model asked for (`provider/model`).
        let body = Bytes::from(decoded?.0);
        let cost = spend.settle(&target.provider, &target.upstream_model, &usage);
        if let Some(mut p) = pending.take() {
            p.charged(cost);
            let answer = if p.keeps_content() {
                Answer::Json(body.clone())
            } else {
                Answer::None
            };
            gateway.log_finished(p.finish(200, None, usage, answer));
        }
        json(StatusCode::OK, body)
    };
    for (name, value) in &passed_back {
        resp.headers_mut().append(name.clone(), value.clone());
    }
    Ok(resp)
}

/// Reads the request body, refusing more than `max` bytes with a 413.
pub async fn read_body(body: Incoming, headers: &HeaderMap, max: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorKind::RequestTooLarge,
            format!(
                "request body exceeds {} MiB; raise the limit with `--max-body-mb` (bgw serve or bgw run)",
                max / (1024 * 1024)
            ),
        )
    };
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    match Limited::new(body, max).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::invalid(format!(
            "could not read the request body: {e}"
        ))),
    }
}

/// Sends the prepared request; waits at most the upstream timeout for its headers.
async fn send(
    gateway: &Gateway,
    target: &Target,
    prepared: providers::Prepared,
) -> Result<Response<Incoming>, ApiError> {
    let mut builder = Request::post(&prepared.uri);
    for (name, value) in prepared.headers {
        builder = builder.header(name, value);
    }
    let req = builder
        .body(Full::new(Bytes::from(prepared.body)))
        .map_err(|e| {
            ApiError::invalid(format!(
                "{}: invalid upstream URL `{}`: {e}",
                target.provider,
                origin(&prepared.uri)
            ))
        })?;
    let timeout = gateway.settings.upstream_timeout;
    match tokio::time::timeout(timeout, gateway.client.request(req)).await {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(e)) => Err(ApiError::new(
            ErrorKind::Api,
            format!(
                "{}: cannot reach {}: {}; check the provider's base URL and your network",
                target.provider,
                origin(&prepared.uri),
                describe_client_error(&e)
            ),
        )
        .with_status(502)),
        Err(_) => Err(ApiError::new(
            ErrorKind::Timeout,
            format!(
                "{}: no response within {} s; the provider may be overloaded (the limit is `--upstream-timeout`)",
                target.provider,
                timeout.as_secs()
            ),
        )),
    }
}

/// `scheme://host[:port]` of a URL, without any `user:password@`.
fn origin(uri: &str) -> String {
    let after_scheme = uri.find("://").map_or(0, |i| i + 3);
    let rest = &uri[after_scheme..];
    let authority = rest.find(['/', '?']).map_or(rest, |i| &rest[..i]);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{}{host}", &uri[..after_scheme])
}

/// The innermost cause ("Connection refused (os error 111)"), which says the most.
fn describe_client_error(e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error;
    let mut cause: &dyn Error = e;
    while let Some(s) = cause.source() {
        cause = s;
    }
    cause.to_string()
}

/// Reads a whole upstream body (errors and non-stream responses); a cut body reads as what arrived.
async fn read_upstream(
    body: Incoming,
    target: &Target,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(timeout, Limited::new(body, MAX_UPSTREAM_BODY).collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) => Err(ApiError::new(
            ErrorKind::Api,
            format!("{}: the response could not be read: {e}", target.provider),
        )
        .with_status(502)),
        Err(_) => Err(ApiError::new(
            ErrorKind::Timeout,
            format!(
                "{}: the response did not finish within {} s (the limit is `--upstream-timeout`)",
                target.provider,
                timeout.as_secs()
            ),
        )),
    }
}

/// The largest whole (non-streamed) upstream body bgw reads.
const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

/// Anthropic's response headers that Claude Code reads (rate limits, usage limits of a
/// subscription, the request id for support), passed back from a passthrough.
fn pass_back_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        let n = name.as_str();
        if n.starts_with("anthropic-")
            || n == "request-id"
            || n == "x-should-retry"
            || n == "retry-after"
        {
            to.append(name.clone(), value.clone());
        }
    }
}

/// The SSE response, translated as the client reads it.
fn start_stream(
    gateway: &Arc<Gateway>,
    target: Target,
    wire: Wire,
    requested: &str,
    upstream: Incoming,
    pending: Option<Pending>,
    spend: Spend,
) -> Response<GatewayBody> {
    let signer = gateway
        .thinking
        .signer(&target.provider, &target.upstream_model);
    let decoder = wire.stream_decoder(&target.provider, requested, signer);
    let body = TranslatedBody::new(
        Arc::clone(gateway),
        target,
        decoder,
        upstream,
        pending,
        spend,
    );
    let mut resp = Response::new(GatewayBody::Stream(Box::new(body)));
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_keeps_scheme_and_host() {
        assert_eq!(
            origin("https://api.openai.com/v1/chat/completions"),
            "https://api.openai.com"
        );
        assert_eq!(origin("http://127.0.0.1:9/x"), "http://127.0.0.1:9");
        assert_eq!(
            origin("https://user:pw@proxy.example:8443/v1?x=1"),
            "https://proxy.example:8443"
        );
    }
}
