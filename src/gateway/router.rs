//! Which handler serves a method and path.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use std::sync::Arc;

use super::Gateway;
use super::body::GatewayBody;
use super::cloud_modes::Mode;
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
    if gateway.settings.loopback_only {
        if let Err(e) = local_caller(req.headers()) {
            return error_response(&e);
        }
    }
    let result = match (req.method(), path.as_str()) {
        (&Method::POST, "/v1/messages") => super::messages::handle(&gateway, req).await,
        (&Method::POST, "/v1/messages/count_tokens") => {
            super::count_tokens::handle(&gateway, req).await
        }
        (&Method::GET, "/v1/models") => super::models::list(&gateway, &req).await,
        (&Method::GET, p) if p.starts_with("/v1/models/") => {
            super::models::one(&gateway, &req, &p["/v1/models/".len()..]).await
        }
        (&Method::GET, p) if p.starts_with("/bedrock/inference-profiles") => {
            Ok(super::cloud_modes::inference_profiles(p))
        }
        (method, p) if p.starts_with("/bedrock/") || p.starts_with("/vertex/") => {
            let mode = if p.starts_with("/bedrock/") {
                Mode::Bedrock
            } else {
                Mode::Vertex
            };
            let unknown = super::cloud_modes::unknown(mode, method, p);
            if method == Method::POST {
                super::cloud_modes::handle(&gateway, mode, p, req)
                    .await
                    .ok_or(unknown)
            } else {
                Err(unknown)
            }
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

/// Refuses what a web page could send to a gateway on loopback: requests carrying an
/// `Origin` (browsers add it to cross-site requests; Claude Code sends none), and
/// requests for a host name other than a loopback one (DNS rebinding).
fn local_caller(headers: &http::HeaderMap) -> Result<(), ApiError> {
    if headers.contains_key(http::header::ORIGIN) {
        return Err(ApiError::new(
            ErrorKind::Permission,
            "bgw does not answer browsers (the request has an `Origin` header): a web page must not spend your keys",
        ));
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::Permission,
            format!(
                "bgw on loopback answers only requests for localhost, not `{host}`; use http://127.0.0.1:PORT"
            ),
        ))
    }
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
    let retry = e
        .should_retry
        .unwrap_or(!status.is_client_error() || matches!(status.as_u16(), 408 | 409 | 429));
    if !retry {
        resp.headers_mut().insert(
            http::HeaderName::from_static("x-should-retry"),
            http::HeaderValue::from_static("false"),
        );
    }
    if let Some(secs) = e.retry_after {
        resp.headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    for (name, value) in &e.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, http::HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn loopback_hosts_are_served() {
        for host in [
            "127.0.0.1:8080",
            "localhost:1234",
            "[::1]:99",
            "LOCALHOST",
            "127.0.0.2",
        ] {
            assert!(local_caller(&headers(&[("host", host)])).is_ok(), "{host}");
        }
    }

    #[test]
    fn browsers_and_rebound_names_are_refused() {
        let err = local_caller(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
        ]))
        .unwrap_err();
        assert_eq!(err.status, 403);
        let err = local_caller(&headers(&[("host", "evil.example:8080")])).unwrap_err();
        assert!(err.message.contains("evil.example:8080"));
    }
}
