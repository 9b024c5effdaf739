//! Bedrock's errors → Anthropic errors: `{"message":…}` bodies named by the `x-amzn-ErrorType`
//! header, and the exceptions a ConverseStream sends mid-stream.
//!
//! Kinds follow the exception's name (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors
//! and https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html):
//! `ThrottlingException` and `ModelNotReadyException` are rate limits, `ServiceUnavailableException`
//! is overloaded, `ModelTimeoutException` a timeout, `ResourceNotFoundException` not found, the
//! model's own failures (`ModelErrorException`, `modelStreamErrorException`) take the status the
//! model gave, else they are API errors.
//!
//! Bedrock answers 403 for every credential problem (a bad signature, an unknown or expired key)
//! as well as for a model the account may not use. Such answers stay 403 `permission_error`, as
//! the other providers keep their status: Claude Code shows a 403's message (after "Please run
//! /login"), while a 401 is shown only as "Invalid API key". The message says what to fix, and
//! that /login does not fix it. A prompt over the model's window is told in the words Claude
//! Code compacts on.

use serde::Deserialize;
use std::borrow::Cow;

use super::truncate;
use crate::messages::{ApiError, ErrorKind};

/// Longest upstream message kept.
const MAX_MESSAGE: usize = 600;

/// An AWS JSON error body, and the payload of a stream exception.
#[derive(Deserialize)]
struct AwsError<'a> {
    #[serde(default, borrow, alias = "Message")]
    message: Option<Cow<'a, str>>,
    /// Some AWS front ends name the error in the body instead of the header.
    #[serde(rename = "__type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    /// The model's own status and words (`ModelErrorException`, `modelStreamErrorException`).
    #[serde(rename = "originalStatusCode", default)]
    original_status: Option<u16>,
    #[serde(rename = "originalMessage", default, borrow)]
    original_message: Option<Cow<'a, str>>,
}

/// The error for a non-2xx Bedrock answer. `error_type` is the `x-amzn-ErrorType` header
/// (`ValidationException`, or `ValidationException:http://…`), when there is one.
pub fn upstream_error(
    provider: &str,
    status: u16,
    error_type: Option<&str>,
    body: &[u8],
) -> ApiError {
    let parsed = serde_json::from_slice::<AwsError<'_>>(body).ok();
    let name = error_type
        .or(parsed.as_ref().and_then(|p| p.kind.as_deref()))
        .map(short_name);
    let message = parsed
        .as_ref()
        .and_then(|p| p.message.as_deref())
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map_or_else(
            || crate::providers::body_excerpt(body),
            |m| truncate(m, MAX_MESSAGE),
        );
    let original = parsed.as_ref().and_then(original);
    classify(provider, Some(status), name, &message, original)
}

/// The error for a ConverseStream exception (`throttlingException`, …), its message prefixed
/// with `source` (the model asked for).
pub(super) fn exception_error(source: &str, exception_type: &str, payload: &[u8]) -> ApiError {
    let parsed = serde_json::from_slice::<AwsError<'_>>(payload).ok();
    let message = parsed
        .as_ref()
        .and_then(|p| p.message.as_deref())
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map_or_else(
            || format!("Bedrock sent a `{exception_type}` exception"),
            |m| truncate(m, MAX_MESSAGE),
        );
    let original = parsed.as_ref().and_then(original);
    classify(source, None, Some(exception_type), &message, original)
}

/// The model's own status and message in a model error, when it gave them.
fn original(e: &AwsError<'_>) -> Option<(u16, String)> {
    let status = e.original_status.filter(|s| (400..=599).contains(s))?;
    let message = e
        .original_message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| truncate(m, MAX_MESSAGE));
    Some((status, message.unwrap_or_default()))
}

/// `ValidationException` from `ValidationException:http://…` or `aws#ValidationException`.
fn short_name(name: &str) -> &str {
    let name = name.split(':').next().unwrap_or(name);
    name.rsplit('#').next().unwrap_or(name).trim()
}

/// The Anthropic error for Bedrock's exception `name` (either case) with `message`.
fn classify(
    source: &str,
    status: Option<u16>,
    name: Option<&str>,
    message: &str,
    original: Option<(u16, String)>,
) -> ApiError {
    let lower = name.map(str::to_ascii_lowercase).unwrap_or_default();
    let (kind, hint) = match lower.as_str() {
        "validationexception" => (ErrorKind::InvalidRequest, validation_hint(message)),
        "accessdeniedexception" => (ErrorKind::Permission, ACCESS_HINT),
        "unrecognizedclientexception"
        | "invalidsignatureexception"
        | "incompletesignatureexception"
        | "missingauthenticationtokenexception"
        | "expiredtokenexception"
        | "invalidclienttokenid"
        | "signaturedoesnotmatch" => (ErrorKind::Permission, CREDENTIALS_HINT),
        "resourcenotfoundexception" => (ErrorKind::NotFound, NOT_FOUND_HINT),
        "throttlingexception" | "modelnotreadyexception" | "toomanyrequestsexception" => {
            (ErrorKind::RateLimit, "")
        }
        "servicequotaexceededexception" => (ErrorKind::RateLimit, QUOTA_HINT),
        "serviceunavailableexception" => (ErrorKind::Overloaded, ""),
        "modeltimeoutexception" => (ErrorKind::Timeout, ""),
        "internalserverexception" | "internalfailure" => (ErrorKind::Api, ""),
        "modelerrorexception" | "modelstreamerrorexception" => match &original {
            Some((s, _)) => (ErrorKind::from_status(*s), ""),
            None => (ErrorKind::Api, ""),
        },
        _ => match status {
            Some(401) => (ErrorKind::Authentication, CREDENTIALS_HINT),
            Some(403) => (ErrorKind::Permission, CREDENTIALS_HINT),
            Some(s) => (ErrorKind::from_status(s), ""),
            None => (ErrorKind::Api, ""),
        },
    };
    // The model's own words say more than Bedrock's wrapper around them.
    let message = match &original {
        Some((_, m)) if !m.is_empty() && lower.starts_with("model") => m.as_str(),
        _ => message,
    };
    if kind == ErrorKind::InvalidRequest {
        if let Some(too_long) = prompt_too_long(source, message) {
            return too_long;
        }
    }
    // Bedrock's status where it is an error status of the same class, else Anthropic's.
    let status = match status {
        Some(s) if (400..=599).contains(&s) && ErrorKind::from_status(s) == kind => s,
        _ => kind.status(),
    };
    ApiError {
        status,
        should_retry: (lower == "servicequotaexceededexception").then_some(false),
        ..ApiError::new(kind, format!("{source}: {message}{hint}"))
    }
}

const CREDENTIALS_HINT: &str = " (Bedrock refused the AWS credentials or API key bgw sends for this provider: check or replace them; Claude Code's /login does not change them)";
const ACCESS_HINT: &str = " (these AWS credentials may not use this model: check that the account has access to it in the Bedrock console and that its IAM policy allows bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream on it; Claude Code's /login does not change this)";
const NOT_FOUND_HINT: &str = " (check the model id and the region; newer Claude models are reached through an inference profile id, such as `us.` before the model id)";
const QUOTA_HINT: &str = " (a Bedrock service quota of this AWS account is spent: raise it in the Service Quotas console, or wait for it to reset)";
const ON_DEMAND_HINT: &str = " (use the model's inference profile id instead: `us.`, `eu.`, `apac.` or `global.` before the model id)";

/// A hint for a validation message that has a known remedy.
fn validation_hint(message: &str) -> &'static str {
    if message.contains("on-demand throughput") {
        ON_DEMAND_HINT
    } else {
        ""
    }
}

/// Anthropic's "prompt is too long" error for a Bedrock message refusing the prompt as too
/// long for the model, or `None`. Claude on Bedrock words it as Anthropic does (`prompt is too
/// long: N tokens > M maximum`), Bedrock itself as `Input is too long for requested model.`;
/// the wordings of OpenAI-style servers are known to [`crate::providers::too_long`].
fn prompt_too_long(source: &str, message: &str) -> Option<ApiError> {
    if let Some(sentence) = crate::providers::too_long::anthropic_sentence(message) {
        return Some(sentence);
    }
    let lower = message.to_ascii_lowercase();
    let bedrock = [
        "prompt is too long",
        "input is too long",
        "too many input tokens",
        "input tokens exceed",
        "context window",
    ]
    .iter()
    .any(|p| lower.contains(p));
    if bedrock {
        return Some(ApiError::invalid(format!(
            "prompt is too long for {source}: {}",
            message.trim()
        )));
    }
    crate::providers::too_long::refusal(source, message, None)
}

/// The error for a stream Bedrock stopped because the prompt filled the model's window.
pub(super) fn context_window_exceeded(source: &str) -> ApiError {
    ApiError::invalid(format!(
        "prompt is too long for {source}: the model's context window is full (Bedrock stop reason `model_context_window_exceeded`)"
    ))
}

/// The error for an answer Bedrock stopped because the model's output was malformed.
pub(super) fn malformed(source: &str, reason: &str) -> ApiError {
    let what = if reason == "malformed_tool_use" {
        "a malformed tool call"
    } else {
        "malformed output"
    };
    ApiError::new(
        ErrorKind::Api,
        format!(
            "{source}: the model produced {what} (Bedrock stop reason `{reason}`); retry, or choose another model with /model"
        ),
    )
}
