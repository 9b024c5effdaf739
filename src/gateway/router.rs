//! Which handler serves a method and path.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use std::sync::Arc;

use super::Gateway;
use super::body::GatewayBody;
use crate::messages::{ApiError, ErrorKind};

/// Serves one request; every failure becomes an Anthropic error response.
pub async fn handle(gateway: Arc<Gateway>, req: Request<Incoming>) -> Response<GatewayBody> {
    // `ANTHROPIC_BASE_URL=http://host/anthropic` works as well as the bare host.
    let path = req.uri().path();
    let path = path
        .strip_prefix("/anthropic")
        .filter(|p| p.starts_with('/'))
        .unwrap_or(path);
    let path = path.trim_end_matches('/').to_owned();
    let result = match (req.method(), path.as_str()) {
        (&Method::POST, "/v1/messages") => super::messages::handle(&gateway, req).await,
        (&Method::POST, "/v1/messages/count_tokens") => {
            super::count_tokens::handle(&gateway, req).await
        }
        (&Method::GET, "/v1/models") => super::models::list(&gateway, &req),
        (&Method::GET, p) if p.starts_with("/v1/models/") => {
            super::models::one(&gateway, &req, &p["/v1/models/".len()..])
        }
        (&Method::GET | &Method::HEAD, "/health" | "" | "/api/hello") => Ok(json(
            StatusCode::OK,
            Bytes::from_static(b"{\"status\":\"ok\"}"),
        )),
        (_, "/v1/messages" | "/v1/messages/count_tokens") => Err(ApiError::new(
            ErrorKind::InvalidRequest,
            format!("{} is not allowed on {path}; use POST", req.method()),
        )
        .with_status(405)),
        _ => Err(ApiError::new(
            ErrorKind::NotFound,
            format!(
                "bgw serves no {} {path}; the Messages API is POST /v1/messages",
                req.method()
            ),
        )),
    };
    result.unwrap_or_else(|e| error_response(&e))
}

/// A JSON response.
pub fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<GatewayBody> {
    let mut resp = Response::new(GatewayBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// The Anthropic error response for `e`.
pub fn error_response(e: &ApiError) -> Response<GatewayBody> {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json(status, e.to_json());
    // Claude Code retries 4xx for minutes (401 ten times); a missing key or a bad
    // request will not fix itself, so say so. Rate limits and 5xx stay retryable.
    if status.is_client_error() && !matches!(status.as_u16(), 408 | 409 | 429) {
        resp.headers_mut().insert(
            http::HeaderName::from_static("x-should-retry"),
            http::HeaderValue::from_static("false"),
        );
    }
    if let Some(secs) = e.retry_after {
        resp.headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    resp
}
