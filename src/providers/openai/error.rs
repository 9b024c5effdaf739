//! OpenAI-style error bodies: the human message, and the Anthropic kind they mean.
//!
//! Shapes seen: OpenAI/Azure `{"error":{"message","type","param","code"}}` (code a string),
//! OpenRouter `{"error":{"code":502,"message"}}` (code a number), Ollama `{"error":"…"}`,
//! vLLM/Mistral `{"object":"error","message":…}` where Mistral's 422 `message` is an object.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

use crate::messages::{ApiError, ErrorKind};

/// The `error` object of a body or of a mid-stream chunk.
#[derive(Debug, Deserialize)]
pub(super) struct WireError<'a> {
    #[serde(default, borrow)]
    pub message: Option<&'a RawValue>,
    #[serde(rename = "type", default, borrow)]
    pub kind: Option<Cow<'a, str>>,
    /// A string (OpenAI) or an HTTP status number (OpenRouter).
    #[serde(default, borrow)]
    pub code: Option<&'a RawValue>,
    /// Groq's raw model output when a tool call could not be parsed.
    #[serde(default, borrow)]
    pub failed_generation: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ErrorBody<'a> {
    /// An object on most servers, a bare string on Ollama.
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
    #[serde(default, borrow)]
    message: Option<&'a RawValue>,
    #[serde(default, borrow)]
    detail: Option<&'a RawValue>,
}

const MAX_MESSAGE: usize = 600;

/// The upstream's human message from an error body, else a trimmed excerpt of the body.
pub fn error_message(body: &[u8]) -> String {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody<'_>>(body) else {
        return super::super::body_excerpt(body);
    };
    let from_error = parsed.error.and_then(|raw| {
        if let Ok(e) = serde_json::from_str::<WireError<'_>>(raw.get()) {
            let mut text = raw_text(e.message?);
            if let Some(g) = &e.failed_generation {
                text.push_str(" (failed_generation: ");
                text.push_str(&truncate(g.trim(), 200));
                text.push(')');
            }
            Some(text)
        } else {
            serde_json::from_str::<Cow<'_, str>>(raw.get())
                .ok()
                .map(Cow::into_owned)
        }
    });
    let message = from_error
        .or_else(|| parsed.message.map(raw_text))
        .or_else(|| parsed.detail.map(raw_text));
    match message {
        Some(m) if !m.trim().is_empty() => truncate(m.trim(), MAX_MESSAGE),
        _ => super::super::body_excerpt(body),
    }
}

/// The error for a non-2xx upstream answer: its status class and message kept, except a
/// spent quota, which OpenAI sends as 429 but which no retry can fix.
pub fn upstream_error(provider: &str, status: u16, body: &[u8]) -> ApiError {
    let message = error_message(body);
    let parsed = serde_json::from_slice::<ErrorBody<'_>>(body).ok();
    let wire = parsed
        .as_ref()
        .and_then(|b| b.error)
        .and_then(|raw| serde_json::from_str::<WireError<'_>>(raw.get()).ok());
    if matches!(status, 400 | 413 | 422) {
        let code = wire
            .as_ref()
            .and_then(|w| w.code)
            .and_then(|c| serde_json::from_str::<Cow<'_, str>>(c.get()).ok());
        if let Some(err) = super::super::too_long::refusal(provider, &message, code.as_deref()) {
            return err;
        }
    }
    let err = ApiError::upstream(provider, status, &message);
    let billing = wire.is_some_and(|e| e.error_kind() == ErrorKind::Billing);
    if billing {
        ApiError {
            kind: ErrorKind::Billing,
            status: ErrorKind::Billing.status(),
            ..err
        }
    } else {
        err
    }
}

impl WireError<'_> {
    /// The message, or a fallback naming the type.
    pub fn text(&self) -> String {
        match self.message.map(raw_text) {
            Some(m) if !m.trim().is_empty() => truncate(m.trim(), MAX_MESSAGE),
            _ => format!(
                "upstream error ({})",
                self.kind.as_deref().unwrap_or("no details")
            ),
        }
    }

    /// The Anthropic kind for this error, from its code or type.
    pub fn error_kind(&self) -> ErrorKind {
        if let Some(code) = self.code {
            if let Ok(status) = serde_json::from_str::<u16>(code.get()) {
                return ErrorKind::from_status(status);
            }
            if let Ok(code) = serde_json::from_str::<Cow<'_, str>>(code.get()) {
                if let Some(kind) = kind_from_name(&code) {
                    return kind;
                }
            }
        }
        self.kind
            .as_deref()
            .and_then(kind_from_name)
            .unwrap_or(ErrorKind::Api)
    }

    /// An [`ApiError`] for this error, its message prefixed with `source`.
    pub fn to_api_error(&self, source: &str) -> ApiError {
        ApiError::new(self.error_kind(), format!("{source}: {}", self.text()))
    }
}

/// The Anthropic error for an `error` value met inside a stream chunk (object or bare string).
pub(super) fn error_from_raw(raw: &RawValue, source: &str) -> ApiError {
    match serde_json::from_str::<WireError<'_>>(raw.get()) {
        Ok(e) => e.to_api_error(source),
        Err(_) => ApiError::new(
            ErrorKind::Api,
            format!("{source}: {}", truncate(raw_text(raw).trim(), MAX_MESSAGE)),
        ),
    }
}

/// Maps OpenAI/vendor error `type`/`code` names onto Anthropic kinds.
fn kind_from_name(name: &str) -> Option<ErrorKind> {
    let kind = match name {
        "invalid_request_error"
        | "invalid_request"
        | "context_length_exceeded"
        | "tool_use_failed"
        | "string_above_max_length"
        | "invalid_value"
        | "content_filter"
        | "BadRequest" => ErrorKind::InvalidRequest,
        "authentication_error" | "invalid_api_key" | "invalid_authentication" | "Unauthorized" => {
            ErrorKind::Authentication
        }
        "permission_error" | "permission_denied" | "PermissionDenied" => ErrorKind::Permission,
        "not_found_error" | "model_not_found" | "not_found" | "NotFound" => ErrorKind::NotFound,
        // Quota is spent: retrying will not help, as with Anthropic's billing error.
        "insufficient_quota" | "billing_error" => ErrorKind::Billing,
        "rate_limit_exceeded"
        | "rate_limit_error"
        | "requests"
        | "tokens"
        | "too_many_requests" => ErrorKind::RateLimit,
        "overloaded"
        | "overloaded_error"
        | "server_overloaded"
        | "service_unavailable"
        | "engine_overloaded" => ErrorKind::Overloaded,
        "timeout" | "timeout_error" | "request_timeout" => ErrorKind::Timeout,
        "server_error" | "api_error" | "internal_error" | "internal_server_error" => ErrorKind::Api,
        _ => return None,
    };
    Some(kind)
}

/// A raw JSON value as text: strings unescaped, anything else compact JSON.
fn raw_text(raw: &RawValue) -> String {
    match serde_json::from_str::<Cow<'_, str>>(raw.get()) {
        Ok(s) => s.into_owned(),
        Err(_) => raw.get().to_owned(),
    }
}

pub(super) use crate::providers::truncate;

#[cfg(test)]
mod tests {
    //! Shapes from https://platform.openai.com/docs/guides/error-codes ,
    //! https://openrouter.ai/docs/api/reference/errors-and-debugging ,
    //! https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference and
    //! https://console.groq.com/docs/openai .
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/openai/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn wire_error(body: &[u8]) -> WireError<'_> {
        #[derive(Deserialize)]
        struct B<'a> {
            #[serde(borrow)]
            error: WireError<'a>,
        }
        serde_json::from_slice::<B<'_>>(body).unwrap().error
    }

    #[test]
    fn openai_rate_limit_body_gives_its_message_and_kind() {
        let body = fixture("error_429.json");
        assert!(error_message(&body).starts_with("Rate limit reached for gpt-5"));
        assert_eq!(wire_error(&body).error_kind(), ErrorKind::RateLimit);
    }

    #[test]
    fn spent_quota_is_a_billing_error_not_a_rate_limit() {
        let body = fixture("error_429_quota.json");
        assert_eq!(wire_error(&body).error_kind(), ErrorKind::Billing);
        assert!(error_message(&body).contains("exceeded your current quota"));
    }

    #[test]
    fn upstream_429_is_a_rate_limit_unless_the_quota_is_spent() {
        let err = upstream_error("openai", 429, &fixture("error_429.json"));
        assert_eq!((err.status, err.kind), (429, ErrorKind::RateLimit));
        assert!(err.message.starts_with("openai: Rate limit reached"));
        let err = upstream_error("openai", 429, &fixture("error_429_quota.json"));
        assert_eq!((err.status, err.kind), (402, ErrorKind::Billing));
    }

    #[test]
    fn azure_content_filter_body_reads_its_message() {
        let body = fixture("error_azure_content_filter.json");
        assert!(error_message(&body).starts_with("The response was filtered"));
        assert_eq!(wire_error(&body).error_kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn openrouter_numeric_code_is_an_http_status() {
        let body = br#"{"error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"X"}}}"#;
        assert_eq!(error_message(body), "Provider returned error");
        assert_eq!(wire_error(body).error_kind(), ErrorKind::Api);
        let body = br#"{"error":{"code":503,"message":"No endpoints"}}"#;
        assert_eq!(wire_error(body).error_kind(), ErrorKind::Overloaded);
    }

    #[test]
    fn groq_failed_generation_is_appended() {
        let body = br#"{"error":{"message":"Failed to call a function.","type":"invalid_request_error","code":"tool_use_failed","failed_generation":"<function=Bash>{oops"}}"#;
        assert_eq!(
            error_message(body),
            "Failed to call a function. (failed_generation: <function=Bash>{oops)"
        );
    }

    #[test]
    fn ollama_string_error_and_vllm_top_level_message() {
        assert_eq!(
            error_message(br#"{"error":"model \"x\" not found"}"#),
            "model \"x\" not found"
        );
        assert_eq!(
            error_message(
                br#"{"object":"error","message":"bad tool","type":"BadRequestError","code":400}"#
            ),
            "bad tool"
        );
    }

    #[test]
    fn mistral_object_message_is_shown_as_json() {
        let body = br#"{"object":"error","message":{"detail":[{"type":"extra_forbidden","msg":"Extra inputs are not permitted"}]},"type":"invalid_request_message_error"}"#;
        assert!(error_message(body).contains("Extra inputs are not permitted"));
    }

    #[test]
    fn non_json_bodies_are_trimmed_and_cut() {
        assert_eq!(
            error_message(b"  <html>502 Bad Gateway</html>\n"),
            "<html>502 Bad Gateway</html>"
        );
        let long = "x".repeat(5000);
        assert!(error_message(long.as_bytes()).chars().count() <= 301);
        assert_eq!(error_message(b""), "(empty response body)");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
