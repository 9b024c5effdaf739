//! `POST /v1/messages/count_tokens`: exact where the upstream counts, estimated elsewhere.
//!
//! Anthropic-format upstreams (Anthropic, Claude on Foundry) count exactly. For the
//! others bgw estimates: one token per 4 bytes of text (system, messages, tool
//! inputs and results, tool names, descriptions and schemas), plus 4 tokens per
//! message and 8 per tool for the framing the chat formats add, and 1,600 tokens per
//! image or document (Anthropic's figure for an image of about 1.15 megapixels).
//! Claude Code uses the count to decide when to compact, so once a request is
//! routed it is never refused: if the upstream cannot count, the estimate answers.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::sync::Arc;

use super::Gateway;

use super::body::GatewayBody;
use super::messages::Routed;
use super::router::json;
use crate::messages::request::{Block, Content, ToolResultContent};
use crate::messages::{ApiError, MessagesRequest};
use crate::providers::{self, ProviderKind, azure};

/// Tokens per image or document when its size is unknown.
const IMAGE_TOKENS: u64 = 1_600;

/// Handles one count request.
pub async fn handle(
    gateway: &Arc<Gateway>,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, ApiError> {
    let routed = Routed::read(gateway, req).await?;
    let target = &routed.target;
    let anthropic_wire = match target.kind {
        ProviderKind::Anthropic => true,
        ProviderKind::Azure => {
            azure::api_for(&target.upstream_model) == azure::AzureApi::FoundryAnthropic
        }
        ProviderKind::OpenAi | ProviderKind::OpenAiCompat => false,
    };
    let own_login = target.provider == "anthropic" && routed.client_auth.is_some();
    if anthropic_wire && (target.secret.is_some() || own_login) {
        if let Ok(prepared) = routed.prepare() {
            if let Some(exact) = ask_upstream(gateway, prepared).await {
                return Ok(json(StatusCode::OK, exact));
            }
        }
    }
    let body = &routed.body;
    let req = MessagesRequest::parse(body)?;
    let n = estimate(&req);
    Ok(json(StatusCode::OK, format!("{{\"input_tokens\":{n}}}")))
}

async fn ask_upstream(gateway: &Gateway, prepared: providers::Prepared) -> Option<Bytes> {
    let uri = prepared
        .uri
        .replacen("/v1/messages", "/v1/messages/count_tokens", 1);
    let mut builder = Request::post(uri);
    for (name, value) in prepared.headers {
        builder = builder.header(name, value);
    }
    let req = builder.body(Full::new(Bytes::from(prepared.body))).ok()?;
    let resp = tokio::time::timeout(
        gateway.settings.upstream_timeout,
        gateway.client.request(req),
    )
    .await
    .ok()?
    .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let bytes = tokio::time::timeout(
        gateway.settings.upstream_timeout,
        resp.into_body().collect(),
    )
    .await
    .ok()?
    .ok()?
    .to_bytes();
    #[derive(serde::Deserialize)]
    struct Count {
        input_tokens: u64,
    }
    let count: Count = serde_json::from_slice(&bytes).ok()?;
    Some(Bytes::from(format!(
        "{{\"input_tokens\":{}}}",
        count.input_tokens
    )))
}

/// The documented estimate (see the module comment).
pub fn estimate(req: &MessagesRequest<'_>) -> u64 {
    let mut bytes = 0u64;
    let mut fixed = 0u64;
    if let Some(system) = &req.system {
        content_bytes(system, &mut bytes, &mut fixed);
    }
    for m in &req.messages {
        fixed += 4;
        content_bytes(&m.content, &mut bytes, &mut fixed);
    }
    for t in req.tools.iter().flatten() {
        fixed += 8;
        bytes += t.name.len() as u64;
        bytes += t
            .description
            .map_or(0, |d| d.raw().get().len().saturating_sub(2) as u64);
        bytes += t.input_schema.map_or(0, |s| s.get().len() as u64);
    }
    bytes.div_ceil(4) + fixed
}

fn content_bytes(content: &Content<'_>, bytes: &mut u64, fixed: &mut u64) {
    match content {
        Content::Text(t) => *bytes += t.len() as u64,
        Content::Blocks(blocks) => blocks_bytes(blocks, bytes, fixed),
    }
}

fn blocks_bytes(blocks: &[Block<'_>], bytes: &mut u64, fixed: &mut u64) {
    for b in blocks {
        match b {
            Block::Text { text } => *bytes += text.len() as u64,
            Block::Image { .. } | Block::Document { .. } => *fixed += IMAGE_TOKENS,
            Block::ToolUse { name, input, .. } => *bytes += (name.len() + input.get().len()) as u64,
            Block::ToolResult { content, .. } => match content {
                ToolResultContent::Empty => {}
                ToolResultContent::Text(t) => *bytes += t.len() as u64,
                ToolResultContent::Blocks(inner) => blocks_bytes(inner, bytes, fixed),
            },
            Block::Thinking { thinking, .. } => *bytes += thinking.len() as u64,
            Block::RedactedThinking { .. } | Block::Other { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_counts_text_messages_and_tools() {
        let body = br#"{"model":"openai/gpt-5","system":"12345678","messages":[{"role":"user","content":"abcd"}],
            "tools":[{"name":"T","description":"d","input_schema":{"type":"object"}}]}"#;
        let req = MessagesRequest::parse(body).unwrap();
        // 8 + 4 + (1 + 1 + 17) = 31 bytes → 8 tokens; + 4 per message + 8 per tool.
        assert_eq!(estimate(&req), 8 + 4 + 8);
    }
}
