//! Anthropic-shaped errors: what Claude Code sees whenever anything fails.

use serde::Serialize;
use std::fmt;

/// The Anthropic `error.type`, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    Billing,
    Permission,
    NotFound,
    RequestTooLarge,
    RateLimit,
    Api,
    Overloaded,
    Timeout,
}

impl ErrorKind {
    /// The `error.type` string Anthropic uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Billing => "billing_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RequestTooLarge => "request_too_large",
            ErrorKind::RateLimit => "rate_limit_error",
            ErrorKind::Api => "api_error",
            ErrorKind::Overloaded => "overloaded_error",
            ErrorKind::Timeout => "timeout_error",
        }
    }

    /// The kind an Anthropic `error.type` names.
    pub fn from_type(name: &str) -> Option<ErrorKind> {
        [
            ErrorKind::InvalidRequest,
            ErrorKind::Authentication,
            ErrorKind::Billing,
            ErrorKind::Permission,
            ErrorKind::NotFound,
            ErrorKind::RequestTooLarge,
            ErrorKind::RateLimit,
            ErrorKind::Api,
            ErrorKind::Overloaded,
            ErrorKind::Timeout,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }

    /// The HTTP status Anthropic sends with this kind.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::Billing => 402,
            ErrorKind::Permission => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::RequestTooLarge => 413,
            ErrorKind::RateLimit => 429,
            ErrorKind::Api => 500,
            ErrorKind::Overloaded => 529,
            ErrorKind::Timeout => 504,
        }
    }

    /// The kind for an upstream HTTP status, keeping its class.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            401 => ErrorKind::Authentication,
            402 => ErrorKind::Billing,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            408 | 504 => ErrorKind::Timeout,
            413 => ErrorKind::RequestTooLarge,
            429 => ErrorKind::RateLimit,
            503 | 529 => ErrorKind::Overloaded,
            400..=499 => ErrorKind::InvalidRequest,
            _ => ErrorKind::Api,
        }
    }
}

/// An error ready to be sent to the client: status, Anthropic type and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds the client should wait before retrying (`retry-after`).
    pub retry_after: Option<u64>,
    /// Whether the client may send it again (`x-should-retry`); `None`: as the status says.
    pub should_retry: Option<bool>,
    /// More response headers (a spent budget's usage headers, which Claude Code reads).
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
}

impl ApiError {
    /// An error of `kind` with its usual status.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            status: kind.status(),
            kind,
            message: message.into(),
            retry_after: None,
            should_retry: None,
            headers: Vec::new(),
        }
    }

    /// The same error with another HTTP status.
    pub fn with_status(mut self, status: u16) -> ApiError {
        self.status = status;
        self
    }

    /// A 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::InvalidRequest, message)
    }

    /// An error from an upstream: its status kept, its message prefixed with the provider.
    pub fn upstream(provider: &str, status: u16, message: &str) -> ApiError {
        let kind = ErrorKind::from_status(status);
        let status = if (400..=599).contains(&status) {
            status
        } else {
            kind.status()
        };
        ApiError {
            status,
            kind,
            message: format!("{provider}: {message}"),
            retry_after: None,
            should_retry: None,
            headers: Vec::new(),
        }
    }

    /// The JSON body `{"type":"error","error":{…}}`.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body()).unwrap_or_default()
    }

    /// The SSE `error` event sent once a stream has begun.
    pub fn to_sse(&self) -> Vec<u8> {
        let mut out = b"event: error\ndata: ".to_vec();
        out.extend_from_slice(&self.to_json());
        out.extend_from_slice(b"\n\n");
        out
    }

    fn body(&self) -> Body<'_> {
        Body {
            kind: "error",
            error: Inner {
                kind: self.kind.as_str(),
                message: &self.message,
            },
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind.as_str(),
            self.status,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_anthropic_shape() {
        let err = ApiError::invalid("bad field `messages`");
        let v: serde_json::Value = serde_json::from_slice(&err.to_json()).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"type":"error","error":{"type":"invalid_request_error","message":"bad field `messages`"}})
        );
    }

    #[test]
    fn upstream_errors_keep_status_and_name_the_provider() {
        let err = ApiError::upstream("openai", 503, "busy");
        assert_eq!((err.status, err.kind), (503, ErrorKind::Overloaded));
        assert_eq!(err.message, "openai: busy");
        let err = ApiError::upstream("groq", 422, "bad");
        assert_eq!((err.status, err.kind), (422, ErrorKind::InvalidRequest));
    }

    #[test]
    fn sse_error_event_is_one_frame() {
        let sse = ApiError::new(ErrorKind::Overloaded, "x").to_sse();
        let text = String::from_utf8(sse).unwrap_or_default();
        assert!(text.starts_with("event: error\ndata: {\"type\":\"error\""));
        assert!(text.ends_with("\n\n"));
    }
}
