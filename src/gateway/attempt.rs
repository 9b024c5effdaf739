//! Trying a request's targets in turn until one answers: failover, retries and cooldowns.
//!
//! One attempt budget and one deadline cover the whole request, across every target. A
//! target is left for the next on a connection error, a timeout before the first event, a
//! 429, 500–504 or 529, or a stream that fails before any content; never on another 4xx.
//! A stream is committed to the client only once its first content arrives (or its first
//! event has waited the first-byte limit), so a failure before that is still invisible.

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::time::{Duration, Instant};

use super::Gateway;
use super::messages::Routed;
use super::spend::Spend;
use super::stream::error_event;
use crate::messages::{ApiError, ErrorKind, Usage};
use crate::observe::Pending;
use crate::providers::failure::{Blame, Failure};
use crate::providers::{self, ProviderKind, StreamDecoder, Target, Wire};

/// The longest bgw waits, unseen, for a target to come back (a `retry-after`, a cooldown);
/// a longer wait goes back to the client, which shows it and retries on its own.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// The first backoff before a target is tried again; doubled each time, to [`MAX_BACKOFF`].
const BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// The largest whole (non-streamed) upstream body bgw reads.
pub const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

/// The answer a target gave.
pub struct Answered {
    pub target: Target,
    pub wire: Wire,
    /// The upstream's response headers.
    pub headers: HeaderMap,
    pub body: Served,
}

/// What came with a successful answer.
pub enum Served {
    /// A stream: the rest of the upstream body, its decoder, and what it decoded while bgw
    /// waited for content (`message_start`, pings), not yet sent.
    Stream {
        upstream: Incoming,
        decoder: Box<dyn StreamDecoder>,
        held: Vec<u8>,
        ended: bool,
    },
    /// A whole body, read.
    Whole(Bytes),
}

/// Tries `routed`'s targets until one answers; each attempt is noted in `pending` and the
/// session stats. The error is the last attempt's, or a 529 when every target is cooling down.
pub async fn first_answer(
    gateway: &Gateway,
    routed: &Routed,
    pending: &mut Option<Pending>,
    spend: &mut Spend,
) -> Result<Answered, ApiError> {
    let plan = &routed.plan;
    let deadline = Instant::now() + gateway.settings.upstream_timeout;
    let mut left = gateway.settings.max_attempts;
    // Targets in the order they are tried next: one that failed goes to the back.
    let mut order: Vec<usize> = (0..plan.len()).collect();
    let mut failures = vec![0u32; plan.len()];
    let mut last: Option<Failure> = None;
    while left > 0 {
        let now = Instant::now();
        let mut soonest: Option<Instant> = None;
        let picked = order
            .iter()
            .position(|&i| match gateway.health.admit(&plan[i], now) {
                Ok(()) => true,
                Err(c) => {
                    soonest = Some(soonest.map_or(c.until(), |s| s.min(c.until())));
                    false
                }
            });
        let Some(pos) = picked else {
            let Some(until) = soonest else { break };
            // Everything cools down: wait for the soonest when that is short and in time,
            // else say when to come back.
            let wait = until.saturating_duration_since(now);
            if wait <= MAX_WAIT && now + wait < deadline {
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(match last {
                Some(f) if f.blame == Blame::RateLimit => f.error,
                _ => all_cooling(gateway, routed, wait, last.as_ref()),
            });
        };
        let i = order[pos];
        let target = &plan[i];
        if failures[i] > 0 {
            // Tried before in this request: back off first (honouring `retry-after`).
            let asked = last.as_ref().and_then(|f| f.retry_after);
            let wait = backoff(failures[i]).max(asked.unwrap_or_default());
            if wait > MAX_WAIT || Instant::now() + wait >= deadline {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        left -= 1;
        let sent_at = Instant::now();
        // With nowhere else to go, a slow first byte (a local model loading) is waited for.
        let alone = plan.len() == 1;
        let tried = try_target(gateway, routed, target, deadline, alone, pending, spend).await;
        // The row names the target that answered, or the last one tried.
        if let Some(p) = pending.as_mut() {
            p.routed(target);
        }
        match tried {
            Ok(answered) => {
                gateway.health.succeeded(target);
                if let Some(p) = pending.as_mut() {
                    p.attempt(target, Some(200), None, sent_at.elapsed());
                }
                return Ok(answered);
            }
            Err(f) => {
                if let Some(p) = pending.as_mut() {
                    p.attempt(
                        target,
                        f.status,
                        Some(f.error.message.clone()),
                        sent_at.elapsed(),
                    );
                }
                gateway.stats.record(
                    &target.provider,
                    &target.upstream_model,
                    &Usage::default(),
                    false,
                );
                if !f.retryable() {
                    return Err(f.error);
                }
                let now = Instant::now();
                match f.blame {
                    Blame::RateLimit => gateway.health.rate_limited(target, f.retry_after, now),
                    _ => gateway.health.failed(target, &f.error.message, now),
                }
                failures[i] += 1;
                order.remove(pos);
                order.push(i);
                last = Some(f);
            }
        }
    }
    Err(match last {
        Some(f) => f.error,
        None => ApiError::new(ErrorKind::Api, "bgw: no attempt was made"),
    })
}

/// The wait before a target's `failures + 1`th try: exponential, with jitter (half to
/// all of it) so that many clients do not come back at once.
fn backoff(failures: u32) -> Duration {
    let full = BACKOFF
        .saturating_mul(1 << failures.saturating_sub(1).min(10))
        .min(MAX_BACKOFF);
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    let share = 0.5 + f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX) / 2.0;
    full.mul_f64(share)
}

/// The 529 for a request whose every target is cooling down.
fn all_cooling(
    gateway: &Gateway,
    routed: &Routed,
    wait: Duration,
    last: Option<&Failure>,
) -> ApiError {
    let secs = wait.as_secs().max(1);
    let targets: Vec<String> = routed.plan.iter().map(describe).collect();
    let mut message = format!(
        "bgw: every target for `{}` is cooling down after failures ({}); the soonest may be tried again in {secs} s",
        routed.requested,
        targets.join(", ")
    );
    let last = last.map(|f| f.error.message.clone()).or_else(|| {
        routed
            .plan
            .iter()
            .find_map(|t| gateway.health.last_failure(t))
    });
    if let Some(why) = last {
        message.push_str(&format!("; the last failure: {why}"));
    }
    let mut e = ApiError::new(ErrorKind::Overloaded, message);
    e.retry_after = Some(secs);
    e
}

/// `provider/model (key k)`, for messages.
fn describe(t: &Target) -> String {
    match &t.key_name {
        Some(k) => format!("{} (key {k})", t.address()),
        None => t.address(),
    }
}

/// One attempt at `target`: sent, and (for a stream) read until its content starts.
async fn try_target(
    gateway: &Gateway,
    routed: &Routed,
    target: &Target,
    deadline: Instant,
    alone: bool,
    pending: &mut Option<Pending>,
    spend: &mut Spend,
) -> Result<Answered, Failure> {
    let mut options = providers::Options {
        chat_only: chat_only(gateway, target),
        ..providers::Options::default()
    };
    loop {
        let mut prepared = routed
            .prepare_for(target, options)
            .map_err(|error| Failure::answered(error.status, error))?;
        providers::endpoint::authorize(&mut prepared, target, &gateway.cloud_auth)
            .await
            .map_err(|error| Failure::answered(error.status, error))?;
        let (wire, asked_stream) = (prepared.wire, prepared.stream);
        if let Some(p) = pending.as_mut() {
            p.streamed(asked_stream.unwrap_or(false));
        }
        let sent_at = Instant::now();
        // A stream's headers come at once; a whole answer's only when it is written. A stream
        // is committed to the client by `commit_by` at the latest; an upstream silent until
        // `give_up_by` fails (and the next target is tried).
        let commit_by = (sent_at + gateway.settings.first_byte_timeout).min(deadline);
        let give_up_by = if asked_stream == Some(false) || alone {
            deadline
        } else {
            commit_by
        };
        spend.sent();
        let upstream = send(gateway, target, prepared, give_up_by).await?;
        let status = upstream.status();
        if status.is_success() {
            let (parts, body) = upstream.into_parts();
            let stream = asked_stream.unwrap_or_else(|| {
                parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
            });
            let body = if stream {
                first_events(gateway, routed, target, wire, body, (commit_by, give_up_by)).await?
            } else {
                Served::Whole(read_upstream(body, target, deadline).await?)
            };
            spend.answered();
            return Ok(Answered {
                target: target.clone(),
                wire,
                headers: parts.headers,
                body,
            });
        }
        let retry_after = upstream
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let (parts, body) = upstream.into_parts();
        let bytes = read_upstream(body, target, deadline)
            .await
            .unwrap_or_default();
        let status = status.as_u16();
        if options.reasoning_summaries && wire.refuses_reasoning_summaries(status, &bytes) {
            // OpenAI shows reasoning summaries only to organizations it has verified; the
            // model reasons all the same, so the request goes again without the summary.
            note(
                pending,
                target,
                status,
                "reasoning summaries refused (unverified organization); sent again without them",
                sent_at,
            );
            options.reasoning_summaries = false;
            continue;
        }
        if status == 404 && wire == Wire::OpenAiResponses && !is_openai_itself(target) {
            // A company proxy in front of OpenAI that knows Chat Completions alone.
            gateway
                .chat_only
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(target.base_url.clone());
            let why = format!(
                "{} answered 404 to the Responses API: bgw speaks Chat Completions to it from now on",
                target.base_url
            );
            note(pending, target, status, &why, sent_at);
            options.chat_only = true;
            continue;
        }
        let mut err = wire.upstream_error(&target.provider, status, &parts.headers, &bytes);
        // The header wins; a delay the body gives (Gemini's RetryInfo) stands in for it.
        err.retry_after = retry_after.or(err.retry_after);
        return Err(Failure::answered(status, err));
    }
}

/// Notes an attempt that is sent again at once (not a failure of the target).
fn note(pending: &mut Option<Pending>, target: &Target, status: u16, why: &str, at: Instant) {
    if let Some(p) = pending.as_mut() {
        p.attempt(target, Some(status), Some(why.into()), at.elapsed());
    }
}

/// Whether `target` is OpenAI's own API (which surely has the Responses API).
fn is_openai_itself(target: &Target) -> bool {
    target.kind != ProviderKind::OpenAi
        || target.base_url == providers::openai::OPENAI_BASE_URL.trim_end_matches('/')
}

fn chat_only(gateway: &Gateway, target: &Target) -> bool {
    target.kind == ProviderKind::OpenAi
        && gateway
            .chat_only
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&target.base_url)
}

/// Reads a stream until its first content (or its end), holding what came before; fails
/// when the upstream errs, cuts or stays silent before any content.
async fn first_events(
    gateway: &Gateway,
    routed: &Routed,
    target: &Target,
    wire: Wire,
    mut upstream: Incoming,
    (commit_by, give_up_by): (Instant, Instant),
) -> Result<Served, Failure> {
    let signer = gateway
        .thinking
        .signer(&target.provider, &target.upstream_model);
    let mut decoder = wire.stream_decoder(&target.provider, &routed.requested, signer);
    let mut held = Vec::new();
    let mut ended = false;
    loop {
        let until = if held.is_empty() {
            give_up_by
        } else {
            commit_by
        };
        match tokio::time::timeout_at(until.into(), upstream.frame()).await {
            // Something arrived but no content yet (a model thinking before it writes):
            // the client gets it now, and pings from here on.
            Err(_) if !held.is_empty() => break,
            Err(_) => {
                return Err(Failure::network(ApiError::new(
                    ErrorKind::Timeout,
                    format!(
                        "{}: the answer did not begin in time (the limit is `--first-byte-timeout`, {} s, while another target is left; `--upstream-timeout` otherwise)",
                        target.provider,
                        gateway.settings.first_byte_timeout.as_secs()
                    ),
                )));
            }
            Ok(None) => {
                decoder.finish(&mut held);
                ended = true;
            }
            Ok(Some(Err(e))) => {
                return Err(Failure::network(
                    ApiError::new(
                        ErrorKind::Api,
                        format!(
                            "{}: the connection broke before the answer began: {e}",
                            target.provider
                        ),
                    )
                    .with_status(502),
                ));
            }
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    decoder.feed(data, &mut held);
                }
                ended = decoder.done();
            }
        }
        let content = memchr::memmem::find(&held, b"event: content_block_start").is_some();
        if !content {
            if let Some(e) = error_event(&held) {
                let kind = ErrorKind::from_type(&e.kind).unwrap_or(ErrorKind::Api);
                let error = ApiError::new(kind, e.message);
                return Err(Failure::event(200, &e.kind, error));
            }
        }
        if content || ended {
            break;
        }
    }
    Ok(Served::Stream {
        upstream,
        decoder,
        held,
        ended,
    })
}

/// Sends the prepared request; waits for its headers until `give_up_by`.
async fn send(
    gateway: &Gateway,
    target: &Target,
    prepared: providers::Prepared,
    give_up_by: Instant,
) -> Result<Response<Incoming>, Failure> {
    let mut builder = Request::post(&prepared.uri);
    for (name, value) in prepared.headers {
        builder = builder.header(name, value);
    }
    let req = builder
        .body(Full::new(Bytes::from(prepared.body)))
        .map_err(|e| {
            let error = ApiError::invalid(format!(
                "{}: invalid upstream URL `{}`: {e}",
                target.provider,
                origin(&prepared.uri)
            ));
            Failure::answered(400, error)
        })?;
    let waited = give_up_by.saturating_duration_since(Instant::now());
    match tokio::time::timeout_at(give_up_by.into(), gateway.client.request(req)).await {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(e)) => Err(Failure::network(
            ApiError::new(
                ErrorKind::Api,
                format!(
                    "{}: cannot reach {}: {}; check the provider's base URL and your network",
                    target.provider,
                    origin(&prepared.uri),
                    describe_client_error(&e)
                ),
            )
            .with_status(502),
        )),
        Err(_) => Err(Failure::network(ApiError::new(
            ErrorKind::Timeout,
            format!(
                "{}: no response within {} s; the provider may be overloaded (the limits are `--first-byte-timeout` for a stream, `--upstream-timeout` in all)",
                target.provider,
                waited.as_secs().max(1)
            ),
        ))),
    }
}

/// `scheme://host[:port]` of a URL, without any `user:password@`.
pub fn origin(uri: &str) -> String {
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

/// Reads a whole upstream body (errors and non-stream responses) until `deadline`.
async fn read_upstream(
    body: Incoming,
    target: &Target,
    deadline: Instant,
) -> Result<Bytes, Failure> {
    match tokio::time::timeout_at(
        deadline.into(),
        Limited::new(body, MAX_UPSTREAM_BODY).collect(),
    )
    .await
    {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) => Err(Failure::network(
            ApiError::new(
                ErrorKind::Api,
                format!("{}: the response could not be read: {e}", target.provider),
            )
            .with_status(502),
        )),
        Err(_) => Err(Failure::network(ApiError::new(
            ErrorKind::Timeout,
            format!(
                "{}: the response did not finish in time (the limit is `--upstream-timeout`)",
                target.provider
            ),
        ))),
    }
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

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for n in 1..6 {
            let full = BACKOFF * (1 << (n - 1));
            let b = backoff(n);
            assert!(b >= full / 2 && b <= full.min(MAX_BACKOFF), "{n}: {b:?}");
        }
        assert!(backoff(30) <= MAX_BACKOFF);
    }
}
