//! `POST /v1/messages`: the request path, phase by phase.
//!
//! read → authenticate → route → admit (budgets) → encode → send → (stream | decode) →
//! charge and record.
//! A stream is translated chunk by chunk and each piece is handed to hyper at
//! once; when the client goes away the upstream request is dropped with it.

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use std::sync::Arc;
use std::time::Instant;

use super::Gateway;
use super::attempt::{self, Served};
use super::auth::{self, Identity};
use super::body::GatewayBody;
use super::config::Config;
use super::router::json;
use super::routing;
use super::spend::Spend;
use super::stream::{TranslatedBody, Upstream};
use crate::govern::vkey;
use crate::messages::request::RequestHead;
use crate::messages::signature::ThinkingKey;
use crate::messages::{ApiError, ErrorKind, Usage};
use crate::observe::{Answer, Pending};
use crate::providers::Target;
use crate::providers::{self, Inbound};
use crate::route::sticky::{self, Choice, SessionKey};
use crate::store::logs::RequestId;

/// A request body as it arrives: hyper's, or one rewritten at the edge (Claude Code's cloud
/// modes).
pub trait InBody:
    http_body::Body<
        Data = Bytes,
        Error: std::fmt::Display + std::error::Error + Send + Sync + 'static,
    > + Send
    + 'static
{
}

impl<B> InBody for B where
    B: http_body::Body<
            Data = Bytes,
            Error: std::fmt::Display + std::error::Error + Send + Sync + 'static,
        > + Send
        + 'static
{
}

/// A request read, checked and routed: what Messages and count_tokens both start with.
pub struct Routed {
    pub parts: http::request::Parts,
    pub body: Bytes,
    pub requested: String,
    /// Every target to try in turn, the first one first; never empty.
    pub plan: Vec<Target>,
    /// The Claude Code session it belongs to, for stickiness.
    pub session: Option<SessionKey>,
    /// The routing rule that chose them, if one did.
    pub rule: Option<String>,
    /// Who is calling, and the client's own credential (only ever sent to Anthropic itself).
    pub who: Identity,
    /// The install's key for thinking signatures.
    pub thinking: Arc<ThinkingKey>,
}

impl Routed {
    /// Checks who is calling, reads the body (bounded) and routes on `model`, within what
    /// the caller's virtual key allows; notes each finding in `pending` as it is made.
    pub async fn read<B: InBody>(
        gateway: &Gateway,
        config: &Config,
        req: Request<B>,
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
        let session = session_key(&parts.headers, &who, &requested);
        let kept = session
            .as_ref()
            .and_then(|s| gateway.sticky.get(s, Instant::now()));
        let decided = routing::decide(
            gateway,
            config,
            &who,
            &parts.headers,
            &body,
            &requested,
            kept.as_ref(),
        )?;
        let mut plan = decided.plan;
        if let Some(p) = pending {
            p.routed(&plan[0]);
            p.rule(decided.rule.as_deref(), &decided.failed);
        }
        if let Some(key) = &who.key {
            let allowed = |t: &Target| vkey::allows(key, &t.provider, &t.upstream_model);
            if !plan.iter().any(allowed) {
                return Err(ApiError::new(
                    ErrorKind::NotFound,
                    format!(
                        "bgw: the virtual key `{}` may not use `{}`; it may use {}",
                        key.name,
                        plan[0].address(),
                        vkey::describe_allowed(key)
                    ),
                ));
            }
            plan.retain(allowed);
        }
        Ok(Routed {
            parts,
            body,
            requested,
            plan,
            session,
            rule: decided.rule,
            who,
            thinking: Arc::clone(&gateway.thinking),
        })
    }

    /// The first target: where the model (or a rule, or the session) points.
    pub fn target(&self) -> &Target {
        &self.plan[0]
    }

    /// The upstream request for the first target.
    pub fn prepare(&self) -> Result<providers::Prepared, ApiError> {
        self.prepare_for(self.target(), providers::Options::default())
    }

    /// The upstream request for `target`, with these options.
    pub fn prepare_for(
        &self,
        target: &Target,
        options: providers::Options,
    ) -> Result<providers::Prepared, ApiError> {
        let head = RequestHead::parse(&self.body)?;
        providers::prepare_with(
            target,
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
pub async fn handle<B: InBody>(
    gateway: &Arc<Gateway>,
    req: Request<B>,
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
async fn answer<B: InBody>(
    gateway: &Arc<Gateway>,
    config: &Config,
    req: Request<B>,
    pending: &mut Option<Pending>,
    spend: &mut Spend,
) -> Result<Response<GatewayBody>, ApiError> {
    let mut routed = Routed::read(gateway, config, req, pending.as_mut()).await?;
    keep_within_admitted_budgets(gateway, config, &mut routed, pending);
    let requested = routed.requested.as_str();
    // Anthropic itself needs a credential: a stored key or the client's own login.
    if routed.target().provider.is_anthropic()
        && routed.target().secret().is_none()
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
    spend
        .admit(gateway, config, &routed.who, &routed.plan, &routed.body)
        .await?;
    let answered = attempt::first_answer(gateway, &routed, pending, spend).await?;
    let attempt::Answered {
        target,
        wire,
        headers: upstream_headers,
        body: served,
    } = answered;
    // The session stays where it was served (a failover moves it), for as long as the
    // prompt cache it asked for lives.
    if let Some(session) = routed.session.take() {
        let choice = Choice {
            address: target.address(),
            key: target.key_name.clone(),
        };
        let ttl = sticky::cache_lifetime(&routed.body);
        gateway.sticky.keep(session, choice, ttl, Instant::now());
    }
    if let Some(p) = pending.as_mut() {
        p.streamed(matches!(served, Served::Stream { .. }));
    }
    let usage_headers = spend.usage_headers(gateway);
    let mut passed_back = HeaderMap::new();
    if wire.is_anthropic() {
        pass_back_headers(&upstream_headers, &mut passed_back);
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
    // Which provider and model answered: a failover or a rule may have chosen another.
    for (name, value) in [
        ("x-bgw-provider", target.provider.as_str()),
        ("x-bgw-model", target.upstream_model.as_str()),
        ("x-bgw-rule", routed.rule.as_deref().unwrap_or("")),
    ] {
        if value.is_empty() {
            continue;
        }
        if let Ok(value) = http::HeaderValue::from_str(value) {
            passed_back.insert(http::HeaderName::from_static(name), value);
        }
    }
    let mut resp = match served {
        Served::Stream {
            upstream,
            decoder,
            held,
            ended,
        } => start_stream(
            gateway,
            target,
            Upstream {
                body: upstream,
                decoder,
                held,
                ended,
            },
            pending.take(),
            std::mem::replace(spend, Spend::new(spend.id, config)),
        ),
        Served::Whole(bytes) => {
            let signer = gateway
                .thinking
                .signer(&target.provider, &target.upstream_model);
            let decoded = wire.decode_body(&bytes, requested, &signer);
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
        }
    };
    for (name, value) in &passed_back {
        resp.headers_mut().append(name.clone(), value.clone());
    }
    Ok(resp)
}

/// Admission checks the budgets of the first target's chain; a later target whose provider or
/// provider key has a budget of its own, outside that chain, is not tried (it would spend
/// from a budget nobody checked), and the row says so.
fn keep_within_admitted_budgets(
    gateway: &Gateway,
    config: &Config,
    routed: &mut Routed,
    pending: &mut Option<Pending>,
) {
    use crate::govern::scope::{BudgetId, Scope};
    let own = |t: &Target| -> Vec<BudgetId> {
        config
            .budgets
            .chain(
                gateway.session.as_ref(),
                &routed.who.caller,
                &t.provider,
                t.key_name.as_deref(),
            )
            .iter()
            .map(|r| r.record.id.clone())
            .filter(|id| matches!(id.scope, Scope::Provider | Scope::ProviderKey))
            .collect()
    };
    let Some(first) = routed.plan.first().filter(|_| routed.plan.len() > 1) else {
        return;
    };
    let admitted = own(first);
    let mut left = Vec::new();
    for (i, t) in std::mem::take(&mut routed.plan).into_iter().enumerate() {
        if i == 0 || own(&t).iter().all(|id| admitted.contains(id)) {
            routed.plan.push(t);
        } else {
            left.push(t);
        }
    }
    if let Some(p) = pending.as_mut() {
        for t in &left {
            let why = format!(
                "not tried: a budget of its own ({}) was not checked for this request",
                own(t)
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            p.attempt(t, None, Some(why), std::time::Duration::ZERO);
        }
    }
}

/// The session a request belongs to, for stickiness: Claude Code's session id, within the
/// caller's virtual key and the model asked for.
fn session_key(headers: &HeaderMap, who: &Identity, requested: &str) -> Option<SessionKey> {
    let session = headers
        .get("x-claude-code-session-id")?
        .to_str()
        .ok()
        .filter(|s| !s.is_empty() && s.len() <= 200)?;
    Some(SessionKey {
        caller: who.key.as_ref().map(|k| k.name.clone()).unwrap_or_default(),
        session: session.to_owned(),
        requested: requested.to_owned(),
    })
}

/// Reads the request body, refusing more than `max` bytes with a 413.
pub async fn read_body<B: InBody>(
    body: B,
    headers: &HeaderMap,
    max: usize,
) -> Result<Bytes, ApiError> {
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
    upstream: Upstream,
    pending: Option<Pending>,
    spend: Spend,
) -> Response<GatewayBody> {
    let body = TranslatedBody::new(Arc::clone(gateway), target, upstream, pending, spend);
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
