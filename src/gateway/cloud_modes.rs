//! Claude Code's own Bedrock and Vertex modes, served: with `CLAUDE_CODE_USE_BEDROCK=1` and
//! `ANTHROPIC_BEDROCK_BASE_URL=<bgw>/bedrock` (or the Vertex equivalents, with
//! `ANTHROPIC_VERTEX_BASE_URL=<bgw>/vertex/v1`) it sends the clouds' request shapes; each is
//! turned into a Messages request at the edge, goes through the same pipeline as any other
//! (routing, budgets, the log), and its answer is turned back into the shape the client
//! expects: Bedrock's stream in AWS event-stream framing, Vertex's as the SSE it already is.
//!
//! The model is the URL's: a bare id is the cloud's own (`bedrock/<id>`, `vertex/<id>`), an
//! id with a `/` (`openai/gpt-5`, set by `bgw run --bedrock --sonnet openai/gpt-5`) is a bgw
//! address.
//!
//! What Claude Code 2.1.330 sends, found by experiment against a capturing mock:
//! - Bedrock: `GET {base}/inference-profiles?type=SYSTEM_DEFINED` once (a 404 is ignored), then
//!   `POST {base}/model/{id}/invoke-with-response-stream` each turn; `/invoke` only as the
//!   fallback after a failed stream and for `max_tokens: 1` probes. The id keeps `:` raw and
//!   encodes `/` as `%2F`. The body has no `model` and no `stream`, `anthropic_version:
//!   bedrock-2023-05-31`, and betas split between the body's `anthropic_beta` and the
//!   `anthropic-beta` header (neither holds all). It takes only an event-stream answer.
//! - Vertex: `POST {base}/projects/P/locations/R/publishers/anthropic/models/{id}:streamRawPredict`
//!   (`:rawPredict` as the fallback), the base ending in `/v1`; `count-tokens:rawPredict` for
//!   `/context`, its body naming the model. The body has `stream` and `anthropic_version:
//!   vertex-2023-10-16`, the betas in the header only.
//! - Both send `ANTHROPIC_CUSTOM_HEADERS` and `ANTHROPIC_AUTH_TOKEN` as usual, so bgw's session
//!   secret reaches it; both fall back to the non-streamed call after an error mid-stream.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::Gateway;
use super::body::GatewayBody;
use super::messages::{InBody, read_body};
use super::router::json;
use crate::messages::request::RequestHead;
use crate::messages::sse::{SseFrame, SseParser};
use crate::messages::{ApiError, ErrorKind};
use crate::providers::anthropic::{from_cloud, rewrite_model};
use crate::providers::bedrock::eventstream;

/// Which cloud's shape a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bedrock,
    Vertex,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Bedrock => "bedrock",
            Mode::Vertex => "vertex",
        }
    }
}

/// What a cloud-shaped path asks for.
#[derive(Debug, PartialEq, Eq)]
struct Call {
    /// The model as bgw routes it.
    model: String,
    stream: bool,
    /// Vertex's `count-tokens:rawPredict`.
    count: bool,
}

/// `POST /bedrock/model/{id}/invoke[-with-response-stream]`.
fn bedrock_call(path: &str) -> Option<Call> {
    let rest = path.strip_prefix("/bedrock/model/")?;
    let (id, method) = rest.rsplit_once('/')?;
    let stream = match method {
        "invoke" => false,
        "invoke-with-response-stream" => true,
        _ => return None,
    };
    Some(Call {
        model: address(Mode::Bedrock, &percent_decode(id)?),
        stream,
        count: false,
    })
}

/// `POST /vertex/v1/projects/{p}/locations/{r}/publishers/anthropic/models/{id}:{method}`.
fn vertex_call(path: &str) -> Option<Call> {
    let rest = path.strip_prefix("/vertex/")?;
    let (_, model_and_method) = rest.split_once("/publishers/anthropic/models/")?;
    let (id, method) = model_and_method.rsplit_once(':')?;
    let (stream, count) = match (id, method) {
        ("count-tokens", "rawPredict") => (false, true),
        (_, "rawPredict") => (false, false),
        (_, "streamRawPredict") => (true, false),
        _ => return None,
    };
    Some(Call {
        model: address(Mode::Vertex, &percent_decode(id)?),
        stream,
        count,
    })
}

fn address(mode: Mode, id: &str) -> String {
    if id.contains('/') {
        id.to_owned()
    } else {
        format!("{}/{id}", mode.name())
    }
}

/// Serves one cloud-shaped request; `None` when the path is none of the clouds'.
pub async fn handle<B: InBody>(
    gateway: &Arc<Gateway>,
    mode: Mode,
    path: &str,
    req: Request<B>,
) -> Option<Response<GatewayBody>> {
    let call = match mode {
        Mode::Bedrock => bedrock_call(path),
        Mode::Vertex => vertex_call(path),
    }?;
    let resp = match answer(gateway, &call, req).await {
        Ok(resp) => resp,
        Err(e) => super::router::error_response(&e),
    };
    Some(match mode {
        Mode::Bedrock => as_bedrock(resp, call.stream),
        Mode::Vertex => resp,
    })
}

async fn answer<B: InBody>(
    gateway: &Arc<Gateway>,
    call: &Call,
    req: Request<B>,
) -> Result<Response<GatewayBody>, ApiError> {
    let (mut parts, body) = req.into_parts();
    let body = read_body(body, &parts.headers, gateway.settings.max_body).await?;
    let (body, betas) = if call.count {
        // Vertex's count request names its model in the body, as Vertex knows it.
        let head = RequestHead::parse(&body)?;
        let model = address(Mode::Vertex, &head.model_name()?);
        (rewrite_model(&body, &head, &model), Vec::new())
    } else {
        from_cloud(&body, &call.model, call.stream)?
    };
    if !betas.is_empty() {
        // Claude Code sends the betas in both places; the header keeps them all, once.
        let mut all: Vec<String> = parts
            .headers
            .get_all("anthropic-beta")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty())
            .collect();
        for b in betas {
            if !all.contains(&b) {
                all.push(b);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&all.join(",")) {
            parts.headers.insert("anthropic-beta", v);
        }
    }
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let req = Request::from_parts(parts, Full::new(Bytes::from(body)));
    if call.count {
        super::count_tokens::handle(gateway, req).await
    } else {
        super::messages::handle(gateway, req).await
    }
}

/// `GET /bedrock/inference-profiles[/ID]`: Bedrock's control plane, which Claude Code asks to
/// learn the profiles it may use. bgw lists none (the models are whatever it routes) and
/// knows no single one.
pub fn inference_profiles(path: &str) -> Response<GatewayBody> {
    if path == "/bedrock/inference-profiles" {
        return json(
            StatusCode::OK,
            Bytes::from_static(br#"{"inferenceProfileSummaries":[]}"#),
        );
    }
    let mut resp = json(
        StatusCode::NOT_FOUND,
        Bytes::from_static(br#"{"message":"bgw serves no inference profiles: it routes the model id as it stands"}"#),
    );
    resp.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("ResourceNotFoundException"),
    );
    resp
}

/// An answer in Bedrock's shapes: errors as `{"message"}` with `x-amzn-ErrorType`, a stream
/// as event-stream messages each carrying one Anthropic event.
fn as_bedrock(resp: Response<GatewayBody>, stream: bool) -> Response<GatewayBody> {
    let (mut parts, body) = resp.into_parts();
    if !parts.status.is_success() {
        return bedrock_error(parts, body);
    }
    if !stream {
        return Response::from_parts(parts, body);
    }
    parts.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let body = GatewayBody::Reframed(Box::new(EventStreamBody {
        inner: body,
        sse: SseParser::new(),
        frames: Vec::new(),
    }));
    Response::from_parts(parts, body)
}

/// Bedrock's error shape for an Anthropic error answer (a whole body: errors are never
/// streamed before their status).
fn bedrock_error(mut parts: http::response::Parts, body: GatewayBody) -> Response<GatewayBody> {
    let GatewayBody::Full(Some(bytes)) = body else {
        return Response::from_parts(parts, body);
    };
    let (message, kind) = anthropic_error(&bytes);
    if matches!(parts.status.as_u16(), 401 | 403) {
        // Claude Code retries a Bedrock 403 for minutes ("refresh your AWS credentials")
        // unless its text is AWS's model-access sentence; bgw's refusals (a virtual key,
        // the session secret) will not change on a retry, so they go as a request error,
        // which it shows after one more try.
        parts.status = StatusCode::BAD_REQUEST;
    }
    let aws_type = aws_error_type(parts.status.as_u16(), kind.as_deref());
    parts
        .headers
        .insert("x-amzn-errortype", HeaderValue::from_static(aws_type));
    let body = serde_json::json!({ "message": message }).to_string();
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, GatewayBody::full(body))
}

fn anthropic_error(bytes: &[u8]) -> (String, Option<String>) {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let message = v["error"]["message"].as_str().map_or_else(
        || String::from_utf8_lossy(bytes).into_owned(),
        str::to_owned,
    );
    (message, v["error"]["type"].as_str().map(str::to_owned))
}

/// Bedrock's error types by status (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html#API_runtime_InvokeModel_Errors).
fn aws_error_type(status: u16, anthropic_kind: Option<&str>) -> &'static str {
    match (status, anthropic_kind) {
        (403, _) | (401, _) => "AccessDeniedException",
        (404, _) => "ResourceNotFoundException",
        (408, _) | (504, _) => "ModelTimeoutException",
        (429, _) => "ThrottlingException",
        (_, Some("overloaded_error")) | (503, _) | (529, _) => "ServiceUnavailableException",
        (s, _) if s >= 500 => "InternalServerException",
        _ => "ValidationException",
    }
}

/// An Anthropic SSE body, reframed as Bedrock's `invoke-with-response-stream` answer: each
/// event a `chunk` message whose payload holds the event's JSON in base64; an `error` event
/// an exception message.
pub struct EventStreamBody {
    inner: GatewayBody,
    sse: SseParser,
    frames: Vec<SseFrame>,
}

impl EventStreamBody {
    fn reframe(&mut self, data: &[u8]) -> Bytes {
        // The parser's only failure is an event over 16 MiB, which bgw never writes.
        let _ = self.sse.feed(data, &mut self.frames);
        let mut out = Vec::new();
        for frame in self.frames.drain(..) {
            out.extend(frame_message(&frame));
        }
        Bytes::from(out)
    }
}

/// One Anthropic event as a Bedrock event-stream message.
fn frame_message(frame: &SseFrame) -> Vec<u8> {
    if frame.event.as_deref() == Some("error") {
        let (message, kind) = anthropic_error(frame.data.as_bytes());
        let exception = match kind.as_deref() {
            Some("overloaded_error") => "serviceUnavailableException",
            Some("rate_limit_error") => "throttlingException",
            Some("invalid_request_error") => "validationException",
            _ => "modelStreamErrorException",
        };
        let payload = serde_json::json!({ "message": message }).to_string();
        return eventstream::encode(
            &[
                (":message-type", "exception"),
                (":exception-type", exception),
                (":content-type", "application/json"),
            ],
            payload.as_bytes(),
        );
    }
    let bytes = base64::engine::general_purpose::STANDARD.encode(frame.data.as_bytes());
    let payload = format!("{{\"bytes\":\"{bytes}\"}}");
    eventstream::encode(
        &[
            (":event-type", "chunk"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.as_bytes(),
    )
}

impl http_body::Body for EventStreamBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    let out = this.reframe(&data);
                    // Pings and partial events make no message yet; read on.
                    if out.is_empty() {
                        continue;
                    }
                    return Poll::Ready(Some(Ok(http_body::Frame::data(out))));
                }
                Poll::Ready(None) => {
                    this.sse.finish(&mut this.frames);
                    let mut out = Vec::new();
                    for frame in this.frames.drain(..) {
                        out.extend(frame_message(&frame));
                    }
                    if out.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(out)))));
                }
                Poll::Ready(Some(Err(e))) => match e {},
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Decodes `%XX` escapes; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The error for a cloud-shaped path bgw does not serve.
pub fn unknown(mode: Mode, method: &http::Method, path: &str) -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        format!(
            "bgw serves no {method} {path} in Claude Code's {} mode; it serves {}",
            mode.name(),
            match mode {
                Mode::Bedrock => "POST /bedrock/model/ID/invoke and /invoke-with-response-stream",
                Mode::Vertex =>
                    "POST /vertex/v1/projects/P/locations/R/publishers/anthropic/models/ID:rawPredict and :streamRawPredict",
            }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bedrock_paths_name_the_model_and_the_method() {
        assert_eq!(
            bedrock_call(
                "/bedrock/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream"
            ),
            Some(Call {
                model: "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0".into(),
                stream: true,
                count: false
            })
        );
        assert_eq!(
            bedrock_call("/bedrock/model/openai%2Fgpt-5/invoke").map(|c| (c.model, c.stream)),
            Some(("openai/gpt-5".into(), false))
        );
        assert_eq!(bedrock_call("/bedrock/model/x/converse"), None);
        assert_eq!(bedrock_call("/bedrock/model/%zz/invoke"), None);
    }

    #[test]
    fn vertex_paths_name_the_model_and_the_method() {
        assert_eq!(
            vertex_call(
                "/vertex/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
            ),
            Some(Call {
                model: "vertex/claude-sonnet-4-5@20250929".into(),
                stream: true,
                count: false
            })
        );
        assert_eq!(
            vertex_call("/vertex/v1/projects/p/locations/global/publishers/anthropic/models/count-tokens:rawPredict")
                .map(|c| c.count),
            Some(true)
        );
        assert_eq!(
            vertex_call(
                "/vertex/v1/projects/p/locations/global/publishers/google/models/gemini:generateContent"
            ),
            None
        );
    }

    #[test]
    fn an_anthropic_event_becomes_a_chunk_message() {
        let frame = SseFrame {
            event: Some("message_stop".into()),
            data: r#"{"type":"message_stop"}"#.into(),
        };
        let bytes = frame_message(&frame);
        let mut decoder = eventstream::Decoder::new();
        let mut messages = Vec::new();
        decoder.feed(&bytes, &mut messages).unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].event_type(), Some("chunk"));
        let payload: serde_json::Value = serde_json::from_slice(&messages[0].payload).unwrap();
        let inner = base64::engine::general_purpose::STANDARD
            .decode(payload["bytes"].as_str().unwrap())
            .unwrap();
        assert_eq!(inner, br#"{"type":"message_stop"}"#);
    }

    #[test]
    fn errors_take_bedrocks_types() {
        assert_eq!(
            aws_error_type(429, Some("rate_limit_error")),
            "ThrottlingException"
        );
        assert_eq!(
            aws_error_type(529, Some("overloaded_error")),
            "ServiceUnavailableException"
        );
        assert_eq!(
            aws_error_type(400, Some("invalid_request_error")),
            "ValidationException"
        );
        assert_eq!(aws_error_type(403, None), "AccessDeniedException");
    }
}
