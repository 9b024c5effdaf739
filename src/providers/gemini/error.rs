//! Google's error bodies (`google.rpc.Status`) → Anthropic errors: the kind from `status`,
//! key problems as authentication errors, `RetryInfo` as `retry-after`.

use serde::Deserialize;
use std::borrow::Cow;

use super::truncate;
use crate::messages::{ApiError, ErrorKind};

#[derive(Deserialize)]
struct ErrorEnvelope<'a> {
    #[serde(borrow)]
    error: GoogleError<'a>,
}

/// `google.rpc.Status` as the Gemini API sends it.
#[derive(Deserialize)]
pub(super) struct GoogleError<'a> {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    details: Vec<ErrorDetail<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDetail<'a> {
    #[serde(rename = "@type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    /// `google.rpc.ErrorInfo`: `API_KEY_INVALID` and the like.
    #[serde(default, borrow)]
    reason: Option<Cow<'a, str>>,
    /// `google.rpc.RetryInfo`: `"30s"`, `"1.5s"`.
    #[serde(default, borrow)]
    retry_delay: Option<Cow<'a, str>>,
}

pub(super) const MAX_MESSAGE: usize = 600;

/// The error for a non-2xx Gemini answer: the kind from Google's `status` (every key problem is
/// an authentication error, though Google says 400 for an invalid key and 403 for a leaked or
/// restricted one), a prompt over the window in the words Claude Code compacts on, and
/// `RetryInfo` as `retry-after`.
pub fn upstream_error(provider: &str, status: u16, body: &[u8]) -> ApiError {
    let text = String::from_utf8_lossy(body);
    let err = error_from_value(&text, Some(status));
    if err.kind == ErrorKind::InvalidRequest {
        if let Some(too_long) = crate::providers::too_long::refusal(provider, &err.message, None) {
            return too_long;
        }
    }
    prefixed(err, provider)
}

/// Google's own message in a non-2xx answer (or the start of the body when it is not Google's
/// error shape), for a person at the terminal.
pub fn error_message(status: u16, body: &[u8]) -> String {
    error_from_value(&String::from_utf8_lossy(body), Some(status)).message
}

/// The seconds a `google.rpc.RetryInfo` in an error body asks to wait, if it has one (Vertex's
/// front end answers Claude's quota errors in Google's shape too).
pub fn retry_delay(body: &[u8]) -> Option<u64> {
    error_from_value(&String::from_utf8_lossy(body), None).retry_after
}

/// The same error, its message prefixed with `source` (the provider, or the model asked for).
pub(super) fn prefixed(mut err: ApiError, source: &str) -> ApiError {
    err.message = format!("{source}: {}", err.message);
    err
}

/// An error body (`{"error":…}`, or a one-element array of it) as an Anthropic error whose
/// message is Google's own, unprefixed. `http` is the status the answer came with, if any.
fn error_from_value(body: &str, http: Option<u16>) -> ApiError {
    // Serde would read an array positionally into a struct: each shape is tried by its look.
    let parsed = if body.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<ErrorEnvelope<'_>>>(body)
            .map_err(|_| ())
            .and_then(|v| v.into_iter().next().map(|e| e.error).ok_or(()))
    } else {
        serde_json::from_str::<ErrorEnvelope<'_>>(body)
            .map(|e| e.error)
            .map_err(|_| ())
    };
    match parsed {
        Ok(e) => google_error(e, http),
        Err(()) => ApiError::new(
            ErrorKind::from_status(http.unwrap_or(500)),
            crate::providers::body_excerpt(body.as_bytes()),
        ),
    }
}

/// A `google.rpc.Status` as an Anthropic error (message unprefixed); `http` as in
/// [`error_from_value`].
pub(super) fn google_error(e: GoogleError<'_>, http: Option<u16>) -> ApiError {
    let status = http.or(e.code).unwrap_or(500);
    let message = e
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map_or_else(
            || {
                format!(
                    "error {status} ({})",
                    e.status.as_deref().unwrap_or("no details")
                )
            },
            |m| truncate(m, MAX_MESSAGE),
        );
    let key_invalid = e.details.iter().any(|d| {
        d.reason
            .as_deref()
            .is_some_and(|r| r == "API_KEY_INVALID" || r == "API_KEY_EXPIRED")
    }) || message.contains("API key not valid");
    let kind = if key_invalid {
        ErrorKind::Authentication
    } else {
        match e.status.as_deref() {
            Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE") => {
                ErrorKind::InvalidRequest
            }
            // Google says PERMISSION_DENIED for keys: leaked, restricted, or for a project
            // without the API; each is fixed by another key, as a missing one is.
            Some("UNAUTHENTICATED" | "PERMISSION_DENIED") => ErrorKind::Authentication,
            Some("NOT_FOUND") => ErrorKind::NotFound,
            Some("RESOURCE_EXHAUSTED") => ErrorKind::RateLimit,
            Some("UNAVAILABLE") => ErrorKind::Overloaded,
            Some("DEADLINE_EXCEEDED") => ErrorKind::Timeout,
            Some("INTERNAL" | "UNKNOWN" | "CANCELLED" | "ABORTED" | "DATA_LOSS") => ErrorKind::Api,
            _ => ErrorKind::from_status(status),
        }
    };
    // Keep Google's status where it is an error status of the same class, else Anthropic's:
    // a 200, a 0 or a 700 (or such a `code` in the body) must not reach the client.
    let status = if (400..=599).contains(&status) && ErrorKind::from_status(status) == kind {
        status
    } else {
        kind.status()
    };
    let retry_after = e
        .details
        .iter()
        .filter(|d| d.kind.as_deref().is_some_and(|k| k.ends_with("RetryInfo")))
        .find_map(|d| d.retry_delay.as_deref().and_then(seconds));
    ApiError {
        status,
        retry_after,
        ..ApiError::new(kind, message)
    }
}

/// Whole seconds (rounded up) from a protobuf duration such as `"30s"` or `"1.5s"`.
pub(super) fn seconds(duration: &str) -> Option<u64> {
    let secs: f64 = duration.trim().strip_suffix('s')?.parse().ok()?;
    // A day at most: a client told to wait longer has been told nothing it can use.
    (secs.is_finite() && secs >= 0.0).then(|| secs.ceil().min(86_400.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_outside_4xx_and_5xx_becomes_the_kinds_own() {
        // Regression: an answer with status 0, 200 or 700 (or `code` 700 in a stream) whose
        // kind was `api_error` kept that status, and the client was sent a 0, 200 or 700.
        for status in [0, 34, 200, 600, 700, 999] {
            let err = upstream_error("gemini", status, br#"{"error":[]}"#);
            assert_eq!((err.status, err.kind), (500, ErrorKind::Api), "{status}");
            let err = upstream_error(
                "gemini",
                status,
                br#"{"error":{"code":502,"message":"Provider returned error"}}"#,
            );
            assert_eq!((err.status, err.kind), (500, ErrorKind::Api), "{status}");
            assert_eq!(err.message, "gemini: Provider returned error");
        }
        let err = error_from_value(r#"{"error":{"code":700,"message":"m"}}"#, None);
        assert_eq!((err.status, err.kind), (500, ErrorKind::Api));
        let err = upstream_error(
            "gemini",
            200,
            br#"{"error":{"message":"m","status":"NOT_FOUND"}}"#,
        );
        assert_eq!((err.status, err.kind), (404, ErrorKind::NotFound));
    }

    #[test]
    fn google_statuses_of_the_same_class_are_kept() {
        let err = upstream_error(
            "gemini",
            503,
            br#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#,
        );
        assert_eq!((err.status, err.kind), (503, ErrorKind::Overloaded));
        let err = upstream_error("gemini", 502, br#"{"error":{"code":502,"message":"m"}}"#);
        assert_eq!((err.status, err.kind), (502, ErrorKind::Api));
    }
}
