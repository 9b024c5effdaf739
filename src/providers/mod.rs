//! Upstream wire formats, one file (or folder) each, and what they share.
//!
//! A provider is two parts. Its endpoint ([`endpoint`]) says where a request goes and how it
//! signs in: a key header set with the rest, or, for the clouds, an async step over the
//! finished request (a Google access token, an AWS SigV4 signature). Its codec ([`Wire`])
//! encodes a request and decodes a whole answer, a stream (a framer and a pure translator,
//! [`framed`], sharing the block bookkeeping of [`blocks`]) and an error. The built-in
//! providers are one table ([`builtins`]). Routing, budgets and logging happen once, in the
//! gateway, for all of them.

pub mod anthropic;
pub mod azure;
pub mod bedrock;
pub mod blocks;
pub mod client;
mod codec;
pub mod endpoint;
#[cfg(test)]
mod error_fuzz_tests;
pub mod failure;
pub mod framed;
pub mod gemini;
pub mod inputs;
pub mod openai;
pub mod secret;
pub mod target;
pub mod too_long;
pub mod vertex;

use http::{HeaderMap, HeaderName, HeaderValue};
use std::fmt;
use std::sync::Arc;

use crate::messages::request::RequestHead;
use crate::messages::signature::ThinkingKey;
use crate::messages::{ApiError, Usage};

pub use codec::Wire;
pub use secret::Secret;
pub use target::{Credential, Place, Target};

/// The wire formats bgw speaks upstream, and the providers built on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// Anthropic's own API: request bytes pass through.
    Anthropic,
    /// OpenAI Chat Completions.
    OpenAi,
    /// A vendor speaking OpenAI Chat Completions (a row of [`openai::vendors::VENDORS`], or user-added).
    OpenAiCompat,
    /// Azure OpenAI deployments, and Claude on Azure AI Foundry.
    Azure,
    /// Google's Gemini API (`generateContent`).
    Gemini,
    /// Google Cloud's Vertex AI: Gemini models, and Claude through `rawPredict`.
    Vertex,
    /// Amazon Bedrock: Claude through InvokeModel, every other model through Converse.
    Bedrock,
}

impl ProviderKind {
    /// The name used in the store and in `bgw keys list`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::OpenAi => "openai",
            ProviderKind::OpenAiCompat => "openai-compatible",
            ProviderKind::Azure => "azure",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Vertex => "vertex",
            ProviderKind::Bedrock => "bedrock",
        }
    }
}

/// A provider's name as users write it before the `/` of a model (`openai`, `groq`, `my-vllm`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(String);

impl ProviderId {
    /// Validates a name: 1–40 of `a-z`, `0-9`, `-`, `_`, starting with a letter.
    pub fn parse(name: &str) -> Result<ProviderId, String> {
        let ok = !name.is_empty()
            && name.len() <= 40
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(ProviderId(name.to_owned()))
        } else {
            Err(format!(
                "`{name}` is not a valid provider name: use lowercase letters, digits, `-` or `_`, starting with a letter"
            ))
        }
    }

    /// A name bgw itself vouches for: a built-in's, or one the store accepted through [`ProviderId::parse`].
    pub fn known(name: &str) -> ProviderId {
        ProviderId(name.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Anthropic's own API (not a server that merely speaks its format): the one upstream a
    /// Claude login may be sent to.
    pub fn is_anthropic(&self) -> bool {
        self.0 == "anthropic"
    }
}

impl std::ops::Deref for ProviderId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ProviderId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Turns an upstream stream into Anthropic SSE bytes, chunk by chunk. Pure: no I/O.
pub trait StreamDecoder: Send {
    /// Feeds upstream bytes (split anywhere); appends the SSE frames they complete to `out`.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>);
    /// The upstream ended; appends the closing events, or an `error` event if it ended early.
    fn finish(&mut self, out: &mut Vec<u8>);
    /// Usage seen so far.
    fn usage(&self) -> Usage;
    /// The response is complete (or failed): nothing more will be written, whatever arrives.
    fn done(&self) -> bool;
}

/// What bgw knows about a provider before any key is added.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub id: &'static str,
    pub kind: ProviderKind,
    /// Default base URL; `None` when every user has their own (Azure).
    pub base_url: Option<&'static str>,
    /// The variable `bgw keys add --env` usually names; `None` for keyless providers.
    pub key_env: Option<&'static str>,
    /// OpenAI-dialect quirks for this provider.
    pub quirks: openai::Quirks,
}

/// The built-in providers: anthropic, openai, azure, gemini, then the OpenAI-compatible vendors.
pub fn builtins() -> impl Iterator<Item = Builtin> {
    let fixed = [
        Builtin {
            id: "anthropic",
            kind: ProviderKind::Anthropic,
            base_url: Some(anthropic::DEFAULT_BASE_URL),
            key_env: Some("ANTHROPIC_API_KEY"),
            quirks: openai::Quirks::OPENAI,
        },
        Builtin {
            id: "openai",
            kind: ProviderKind::OpenAi,
            base_url: Some(openai::OPENAI_BASE_URL),
            key_env: Some("OPENAI_API_KEY"),
            quirks: openai::Quirks::OPENAI,
        },
        Builtin {
            id: "azure",
            kind: ProviderKind::Azure,
            base_url: None,
            key_env: Some("AZURE_OPENAI_API_KEY"),
            quirks: openai::Quirks::OPENAI,
        },
        Builtin {
            id: "gemini",
            kind: ProviderKind::Gemini,
            base_url: Some(gemini::DEFAULT_BASE_URL),
            key_env: Some("GEMINI_API_KEY"),
            // Only `pdf` matters here (inputs::check): every Gemini model reads PDFs.
            quirks: openai::Quirks::OPENAI,
        },
        Builtin {
            id: "vertex",
            kind: ProviderKind::Vertex,
            // The host is the key's region's (see `cloud_base_url`).
            base_url: None,
            key_env: Some("GOOGLE_APPLICATION_CREDENTIALS"),
            quirks: openai::Quirks::OPENAI,
        },
        Builtin {
            id: "bedrock",
            kind: ProviderKind::Bedrock,
            base_url: None,
            key_env: Some("AWS_BEARER_TOKEN_BEDROCK"),
            quirks: openai::Quirks::OPENAI,
        },
    ];
    fixed
        .into_iter()
        .chain(openai::vendors::VENDORS.iter().map(|v| Builtin {
            id: v.id,
            kind: ProviderKind::OpenAiCompat,
            base_url: Some(v.base_url),
            key_env: v.key_env,
            quirks: v.quirks,
        }))
}

/// The regional host of a company cloud's API, when the key names no `--base-url`.
pub fn cloud_base_url(kind: ProviderKind, region: Option<&str>) -> Option<String> {
    match kind {
        ProviderKind::Vertex => Some(vertex::base_url(region.unwrap_or("global"))),
        ProviderKind::Bedrock => Some(bedrock::base_url(region?, &|name| std::env::var(name).ok())),
        _ => None,
    }
}

/// The built-in provider of this name.
pub fn builtin(id: &str) -> Option<Builtin> {
    builtins().find(|b| b.id == id)
}

/// What the client sent, as the provider needs it.
pub struct Inbound<'a> {
    pub body: &'a [u8],
    pub head: &'a RequestHead<'a>,
    pub headers: &'a HeaderMap,
    /// The request's query string (`beta=true`).
    pub query: Option<&'a str>,
    /// The client's own credential header, sent to Anthropic when no anthropic key is stored.
    pub client_auth: Option<(HeaderName, HeaderValue)>,
    /// Tells which thinking blocks in the history this upstream wrote itself.
    pub thinking: &'a Arc<ThinkingKey>,
}

/// An upstream request ready to send.
#[derive(Debug)]
pub struct Prepared {
    pub wire: Wire,
    /// Whether the client asked for a stream, when encoding had to read the request;
    /// for passthrough bodies the upstream's content type tells.
    pub stream: Option<bool>,
    pub uri: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Vec<u8>,
}

/// Choices about one upstream request beyond what the client asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Ask OpenAI's reasoning models for a summary of their reasoning (off again for an
    /// organization OpenAI has not verified: [`Wire::refuses_reasoning_summaries`]).
    pub reasoning_summaries: bool,
    /// Speak Chat Completions to OpenAI even for a reasoning model: the base URL (a company
    /// proxy) answered 404 to the Responses API.
    pub chat_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reasoning_summaries: true,
            chat_only: false,
        }
    }
}

/// Encodes the request for `target`: URL, auth and body in the upstream's wire format.
pub fn prepare(target: &Target, inbound: &Inbound<'_>) -> Result<Prepared, ApiError> {
    prepare_with(target, inbound, Options::default())
}

/// As [`prepare`], with these [`Options`]: the codec the target speaks encodes the body, the
/// endpoint addresses it and adds the headers a key goes in. A credential that must see the
/// finished request (a Google token, an AWS signature) is added by [`endpoint::authorize`].
pub fn prepare_with(
    target: &Target,
    inbound: &Inbound<'_>,
    options: Options,
) -> Result<Prepared, ApiError> {
    let wire = Wire::for_target(target, options);
    let mut headers = Vec::with_capacity(8);
    headers.push((
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    ));
    let (body, stream) = wire.encode(target, inbound, options, &mut headers)?;
    let uri = endpoint::uri(target, wire, inbound, stream)?;
    endpoint::key_headers(target, wire, inbound, &mut headers)?;
    Ok(Prepared {
        wire,
        stream,
        uri,
        headers,
        body,
    })
}

/// Serializes a translated request into one buffer about as large as the client's body: grown
/// by doubling from empty, a 50 KB body was copied ten times, each time into fresh memory.
pub(crate) fn encode_body(
    body: &impl serde::Serialize,
    body_len: usize,
    what: &str,
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(body_len + body_len / 8 + 256);
    serde_json::to_writer(&mut out, body).map_err(|e| {
        ApiError::new(
            crate::messages::ErrorKind::Api,
            format!("could not encode the {what} request: {e}"),
        )
    })?;
    Ok(out)
}

/// At most `max` bytes of `s`, cut at a char boundary, with `…` when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Percent-encodes all but RFC 3986's unreserved characters: a name (an Azure deployment, a
/// Bedrock model id with its `:` and an ARN's `/`) as one segment of a URL's path.
pub(crate) fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The start of a body that is not the JSON we expected, for error messages.
pub fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty response body)".to_owned();
    }
    let mut cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openai_target(model: &str) -> Target {
        Target {
            provider: ProviderId::known("openai"),
            kind: ProviderKind::OpenAi,
            quirks: openai::Quirks::OPENAI,
            base_url: openai::OPENAI_BASE_URL.to_owned(),
            key_name: Some("openai".into()),
            credential: Credential::Key(Secret::new("sk-test-0000000000000".into())),
            // `openai/gpt-4o` as the client addresses it.
            upstream_model: model.trim_start_matches("openai/").to_owned(),
            place: Place::default(),
        }
    }

    fn encoded(model: &str, body: &[u8]) -> serde_json::Value {
        let head = RequestHead::parse(body).unwrap();
        let prepared = prepare(
            &openai_target(model),
            &Inbound {
                body,
                head: &head,
                headers: &HeaderMap::new(),
                query: None,
                client_auth: None,
                thinking: &Arc::new(ThinkingKey::from_bytes(&[1; 32])),
            },
        )
        .unwrap();
        serde_json::from_slice(&prepared.body).unwrap()
    }

    #[test]
    fn max_tokens_above_the_models_limit_is_capped() {
        let body = br#"{"model":"openai/gpt-4o","max_tokens":32000,"messages":[{"role":"user","content":"hi"}]}"#;
        let sent = encoded("openai/gpt-4o", body);
        assert_eq!(sent["max_completion_tokens"], 16384);
    }

    #[test]
    fn openai_reasoning_models_go_to_the_responses_api_and_the_rest_to_chat() {
        let body =
            br#"{"model":"m","max_tokens":200000,"messages":[{"role":"user","content":"hi"}]}"#;
        let head = RequestHead::parse(body).unwrap();
        let wire_and_uri = |model: &str| {
            let p = prepare(
                &openai_target(model),
                &Inbound {
                    body,
                    head: &head,
                    headers: &HeaderMap::new(),
                    query: None,
                    client_auth: None,
                    thinking: &Arc::new(ThinkingKey::from_bytes(&[1; 32])),
                },
            )
            .unwrap();
            (
                p.wire,
                p.uri,
                serde_json::from_slice::<serde_json::Value>(&p.body).unwrap(),
            )
        };
        let (wire, uri, sent) = wire_and_uri("openai/gpt-5");
        assert_eq!(wire, Wire::OpenAiResponses);
        assert_eq!(uri, "https://api.openai.com/v1/responses");
        assert_eq!(sent["store"], false);
        assert_eq!(
            sent["max_output_tokens"], 128_000,
            "the catalog clamp applies"
        );
        let (wire, uri, _) = wire_and_uri("openai/o4-mini");
        assert_eq!(wire, Wire::OpenAiResponses);
        assert!(uri.ends_with("/v1/responses"));
        let (wire, uri, _) = wire_and_uri("openai/gpt-4.1");
        assert_eq!(wire, Wire::OpenAiChat);
        assert_eq!(uri, "https://api.openai.com/v1/chat/completions");
    }

    #[test]
    fn max_tokens_within_the_limit_or_for_unknown_models_is_kept() {
        let body = br#"{"model":"openai/gpt-4o","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}"#;
        assert_eq!(
            encoded("openai/gpt-4o", body)["max_completion_tokens"],
            1000
        );
        let body = br#"{"model":"openai/my-finetune","max_tokens":99999,"messages":[{"role":"user","content":"hi"}]}"#;
        assert_eq!(
            encoded("openai/my-finetune", body)["max_completion_tokens"],
            99999
        );
    }
}
