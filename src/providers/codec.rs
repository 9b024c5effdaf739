//! The codecs: each upstream wire format's request encoding, and its answers (whole bodies,
//! streams, errors) decoded into Anthropic shapes. Where a request goes and how it signs in
//! is the endpoint's business (`endpoint.rs`).

use http::{HeaderMap, HeaderName, HeaderValue};

use super::{
    Inbound, Options, ProviderKind, StreamDecoder, Target, anthropic, azure, bedrock, gemini,
    inputs, openai, too_long, vertex,
};
use crate::messages::signature::Signer;
use crate::messages::{ApiError, MessagesRequest, Usage};

/// The wire format of one upstream request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Anthropic Messages, as Anthropic's API (and Foundry, and compatible servers) take it.
    Anthropic,
    /// Anthropic Messages for Vertex's `rawPredict`: the model in the URL, not the body.
    AnthropicVertex,
    /// Anthropic Messages for Bedrock's InvokeModel: the model in the URL, betas in the body,
    /// a stream framed as AWS event-stream.
    AnthropicBedrock,
    OpenAiChat,
    /// OpenAI's Responses API, for its reasoning models.
    OpenAiResponses,
    /// Google's Gemini API (also on Vertex).
    Gemini,
    /// Bedrock's Converse API, for every model on Bedrock but Claude.
    Converse,
}

impl Wire {
    /// The wire format `target` is spoken to in.
    pub fn for_target(target: &Target, options: Options) -> Wire {
        let model = target.upstream_model.as_str();
        match target.kind {
            ProviderKind::Anthropic => Wire::Anthropic,
            ProviderKind::Azure => match azure::api_for(model) {
                azure::AzureApi::FoundryAnthropic => Wire::Anthropic,
                azure::AzureApi::OpenAiChat => Wire::OpenAiChat,
            },
            // OpenAI's reasoning models show their reasoning only through the Responses API;
            // compatible vendors speak Chat Completions alone.
            ProviderKind::OpenAi if openai::uses_responses_api(model) && !options.chat_only => {
                Wire::OpenAiResponses
            }
            ProviderKind::OpenAi | ProviderKind::OpenAiCompat => Wire::OpenAiChat,
            ProviderKind::Gemini => Wire::Gemini,
            ProviderKind::Vertex if vertex::is_claude(model) => Wire::AnthropicVertex,
            ProviderKind::Vertex => Wire::Gemini,
            ProviderKind::Bedrock if bedrock::is_claude(model) => Wire::AnthropicBedrock,
            ProviderKind::Bedrock => Wire::Converse,
        }
    }

    /// Whether the upstream answers in Anthropic's own shapes (bodies, events, errors).
    pub fn is_anthropic(self) -> bool {
        matches!(
            self,
            Wire::Anthropic | Wire::AnthropicVertex | Wire::AnthropicBedrock
        )
    }

    /// The body in this wire format, and whether the client asked for a stream when the
    /// encoding had to read the request (a passthrough leaves that to the upstream's answer).
    /// Headers the format itself needs (Anthropic's version and betas) go to `headers`.
    pub fn encode(
        self,
        target: &Target,
        inbound: &Inbound<'_>,
        options: Options,
        headers: &mut Vec<(HeaderName, HeaderValue)>,
    ) -> Result<(Vec<u8>, Option<bool>), ApiError> {
        let model = target.upstream_model.as_str();
        match self {
            Wire::Anthropic => {
                anthropic_headers(inbound.headers, headers);
                let body = anthropic::prepare_body(inbound.body, inbound.head, model);
                Ok((body, None))
            }
            Wire::AnthropicVertex | Wire::AnthropicBedrock => {
                // The model leaves the body here, so only a mended history is a new copy.
                let mended = anthropic::mended(inbound.body, model);
                let body = mended.as_deref().unwrap_or(inbound.body);
                let client = betas(inbound.headers);
                let cloud = if self == Wire::AnthropicVertex {
                    // Vertex takes betas as Anthropic's header, as Claude Code's Vertex mode
                    // sends them: without context management, tool search by its cloud name.
                    let kept: Vec<&str> = client
                        .iter()
                        .map(|b| match b.as_str() {
                            "advanced-tool-use-2025-11-20" => "tool-search-tool-2025-10-19",
                            b => b,
                        })
                        .filter(|b| !b.starts_with("context-management-"))
                        .collect();
                    if let Ok(v) = HeaderValue::from_str(&kept.join(",")) {
                        if !kept.is_empty() {
                            headers.push((HeaderName::from_static("anthropic-beta"), v));
                        }
                    }
                    anthropic::Cloud::Vertex
                } else {
                    let kept = bedrock::betas(client.iter().map(String::as_str));
                    anthropic::Cloud::Bedrock {
                        betas: kept.into_iter().map(str::to_owned).collect(),
                    }
                };
                let (body, stream) = anthropic::for_cloud(body, &cloud)?;
                Ok((body, Some(stream)))
            }
            Wire::OpenAiChat | Wire::OpenAiResponses => {
                let responses = self == Wire::OpenAiResponses;
                let mut req = MessagesRequest::parse(inbound.body)?;
                clamp_max_tokens(&mut req, &target.provider, model);
                inputs::check_with(&req, &target.provider, model, &target.quirks, responses)?;
                let stream = req.stream.unwrap_or(false);
                if stream {
                    headers.push((
                        http::header::ACCEPT,
                        HeaderValue::from_static("text/event-stream"),
                    ));
                }
                let own = inbound.thinking.signer(&target.provider, model);
                let body = if responses {
                    openai::encode_responses_request(
                        &req,
                        model,
                        &target.quirks,
                        stream,
                        Some(&own),
                        options.reasoning_summaries,
                    )?
                } else {
                    openai::encode_request_with(&req, model, &target.quirks, stream, Some(&own))?
                };
                Ok((body, Some(stream)))
            }
            Wire::Gemini => {
                let mut req = MessagesRequest::parse(inbound.body)?;
                clamp_max_tokens(&mut req, &target.provider, model);
                // Gemini fetches PDFs (and images) given by URL itself.
                inputs::check_with(&req, &target.provider, model, &target.quirks, true)?;
                let stream = req.stream.unwrap_or(false);
                let own = inbound.thinking.signer(&target.provider, model);
                let body = gemini::encode_request(&req, model, Some(&own))?;
                Ok((body, Some(stream)))
            }
            Wire::Converse => {
                let mut req = MessagesRequest::parse(inbound.body)?;
                clamp_max_tokens(&mut req, &target.provider, model);
                inputs::check_with(&req, &target.provider, model, &target.quirks, false)?;
                let stream = req.stream.unwrap_or(false);
                let own = inbound.thinking.signer(&target.provider, model);
                let body = bedrock::converse::encode_request_with(
                    &req,
                    model,
                    Some(&own),
                    &betas(inbound.headers)
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                )?;
                Ok((body, Some(stream)))
            }
        }
    }

    /// A decoder turning this upstream's stream into Anthropic SSE; `signer` signs the
    /// thinking blocks it makes (Anthropic's own pass through as they are).
    pub fn stream_decoder(
        self,
        provider: &str,
        requested_model: &str,
        signer: Signer,
    ) -> Box<dyn StreamDecoder> {
        match self {
            Wire::Anthropic | Wire::AnthropicVertex => {
                Box::new(anthropic::PassthroughStream::new(provider))
            }
            Wire::AnthropicBedrock => Box::new(bedrock::InvokeStream::new(provider)),
            Wire::OpenAiChat => {
                Box::new(openai::ChatStream::new(requested_model).signing_thinking(signer))
            }
            Wire::OpenAiResponses => {
                Box::new(openai::ResponsesStream::new(requested_model).signing_thinking(signer))
            }
            Wire::Gemini => Box::new(gemini::GeminiStream::new(requested_model, Some(signer))),
            Wire::Converse => Box::new(bedrock::ConverseStream::new(requested_model, Some(signer))),
        }
    }

    /// A whole upstream response as an Anthropic body, with its usage.
    pub fn decode_body(
        self,
        body: &[u8],
        requested_model: &str,
        signer: &Signer,
    ) -> Result<(Vec<u8>, Usage), ApiError> {
        match self {
            Wire::Anthropic | Wire::AnthropicVertex | Wire::AnthropicBedrock => {
                Ok((body.to_vec(), anthropic::response_usage(body)))
            }
            Wire::OpenAiChat => {
                let msg = openai::decode_response_with(body, requested_model, Some(signer))?;
                Ok((msg.to_json(), msg.usage))
            }
            Wire::OpenAiResponses => {
                let msg = openai::decode_responses_body(body, requested_model, Some(signer))?;
                Ok((msg.to_json(), msg.usage))
            }
            Wire::Gemini => {
                let msg = gemini::decode_body(body, requested_model, Some(signer))?;
                Ok((msg.to_json(), msg.usage))
            }
            Wire::Converse => {
                let msg = bedrock::converse::decode_body(body, requested_model, Some(signer))?;
                Ok((msg.to_json(), msg.usage))
            }
        }
    }

    /// Whether this error answer refuses reasoning summaries, so the request may be sent
    /// again without ([`Options::reasoning_summaries`]).
    pub fn refuses_reasoning_summaries(self, status: u16, body: &[u8]) -> bool {
        self == Wire::OpenAiResponses && openai::refuses_reasoning_summaries(status, body)
    }

    /// The error for a non-2xx upstream answer, its message prefixed with the provider.
    pub fn upstream_error(
        self,
        provider: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> ApiError {
        match self {
            // Vertex's front end (auth, quota) answers in Google's shape, which
            // `error_message` reads too (`error.message`), its delay in `RetryInfo`.
            Wire::Anthropic | Wire::AnthropicVertex => {
                let message = anthropic::error_message(body);
                // Claude Code compacts on Anthropic's sentence only when it leads the message.
                if let Some(sentence) = too_long::anthropic_sentence(&message) {
                    if status == 400 {
                        return sentence;
                    }
                }
                let mut err = ApiError::upstream(provider, status, &message);
                if self == Wire::AnthropicVertex {
                    err.retry_after = gemini::retry_delay(body);
                }
                err
            }
            // The Responses API's error bodies have the Chat Completions shape.
            Wire::OpenAiChat | Wire::OpenAiResponses => {
                openai::upstream_error(provider, status, body)
            }
            Wire::Gemini => gemini::upstream_error(provider, status, body),
            Wire::AnthropicBedrock | Wire::Converse => {
                let kind = headers
                    .get("x-amzn-errortype")
                    .and_then(|v| v.to_str().ok());
                bedrock::converse::upstream_error(provider, status, kind, body)
            }
        }
    }
}

/// The `anthropic-beta` header's flags, one per item, for a body that carries them.
fn betas(from: &HeaderMap) -> Vec<String> {
    from.get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Claude Code asks for 32,000 output tokens or more; a model with a lower limit (gpt-4o
/// allows 16,384) would refuse the request, so the catalog's limit caps it.
fn clamp_max_tokens(req: &mut MessagesRequest<'_>, provider: &str, model: &str) {
    let limit = crate::catalog::lookup(provider, model).map(|m| u64::from(m.max_output));
    if let (Some(asked), Some(limit)) = (req.max_tokens, limit) {
        req.max_tokens = Some(asked.min(limit));
    }
}

/// Forwards every `anthropic-*` header verbatim (betas are an open list).
fn anthropic_headers(from: &HeaderMap, to: &mut Vec<(HeaderName, HeaderValue)>) {
    let mut has_version = false;
    for (name, value) in from {
        if name.as_str().starts_with("anthropic-") {
            has_version |= name.as_str() == "anthropic-version";
            to.push((name.clone(), value.clone()));
        }
    }
    if !has_version {
        to.push((
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static("2023-06-01"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claudes_too_long_sentence_leads_its_error_on_every_anthropic_wire() {
        // Regression: the sentence came prefixed (`anthropic: prompt is too long…`), and
        // Claude Code compacts only on a message that starts with it.
        let body = br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#;
        for (wire, provider) in [
            (Wire::Anthropic, "anthropic"),
            (Wire::Anthropic, "azure"),
            (Wire::AnthropicVertex, "vertex"),
        ] {
            let err = wire.upstream_error(provider, 400, &HeaderMap::new(), body);
            assert_eq!(
                (err.status, err.message.as_str()),
                (400, "prompt is too long: 208310 tokens > 200000 maximum"),
                "{wire:?} as {provider}"
            );
        }
    }

    #[test]
    fn vertex_quota_errors_for_claude_keep_googles_retry_delay() {
        // Regression: Vertex's front end answers Claude's 429 in Google's shape, and its
        // `RetryInfo` never reached the client as `retry-after`.
        let body = br#"{"error":{"code":429,"message":"Quota exceeded for aiplatform.googleapis.com/online_prediction_input_tokens_per_minute_per_base_model with base model: anthropic-claude-sonnet-4-5.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"6.2s"}]}}"#;
        let err = Wire::AnthropicVertex.upstream_error("vertex", 429, &HeaderMap::new(), body);
        assert_eq!((err.status, err.retry_after), (429, Some(7)));
        assert!(
            err.message.starts_with("vertex: Quota exceeded"),
            "{}",
            err.message
        );
    }
}
