//! Who may use this gateway, and which client credential may travel upstream.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::messages::{ApiError, ErrorKind};
use crate::route::Secret;

/// The header `bgw run` gives Claude Code (through `ANTHROPIC_CUSTOM_HEADERS`).
pub const SESSION_HEADER: &str = "x-bgw-session-token";

/// Checks the per-run secret when the gateway has one.
pub fn check_session(token: Option<&Secret>, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = token else {
        return Ok(());
    };
    let expected = token.expose().as_bytes();
    let presented = [
        headers.get(SESSION_HEADER).map(HeaderValue::as_bytes),
        headers.get("x-api-key").map(HeaderValue::as_bytes),
        headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer ")),
    ];
    if presented
        .into_iter()
        .flatten()
        .any(|p| constant_time_eq(p, expected))
    {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::Authentication,
            "this gateway belongs to a `bgw run` session and accepts only that session's Claude Code; to serve other clients, start `bgw serve`",
        ))
    }
}

/// The client's own credential, unless it is only this gateway's session token.
pub fn client_credential(
    token: Option<&Secret>,
    headers: &HeaderMap,
) -> Option<(HeaderName, HeaderValue)> {
    let is_token = |v: &[u8]| token.is_some_and(|t| constant_time_eq(v, t.expose().as_bytes()));
    if let Some(v) = headers.get("x-api-key") {
        if !v.is_empty() && !is_token(v.as_bytes()) {
            return Some((HeaderName::from_static("x-api-key"), v.clone()));
        }
    }
    if let Some(v) = headers.get(http::header::AUTHORIZATION) {
        let bearer = v
            .as_bytes()
            .strip_prefix(b"Bearer ")
            .unwrap_or(v.as_bytes());
        if !bearer.is_empty() && !is_token(bearer) {
            return Some((http::header::AUTHORIZATION, v.clone()));
        }
    }
    None
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn session_token_is_required_when_set() {
        let t = Secret::new("run-secret".into());
        assert!(check_session(Some(&t), &headers(&[(SESSION_HEADER, "run-secret")])).is_ok());
        assert!(
            check_session(
                Some(&t),
                &headers(&[("authorization", "Bearer run-secret")])
            )
            .is_ok()
        );
        let err = check_session(Some(&t), &headers(&[("x-api-key", "other")])).unwrap_err();
        assert_eq!(err.status, 401);
        assert!(check_session(None, &HeaderMap::new()).is_ok());
    }

    #[test]
    fn the_session_token_is_never_forwarded_as_a_credential() {
        let t = Secret::new("run-secret".into());
        let h = headers(&[("authorization", "Bearer run-secret")]);
        assert_eq!(client_credential(Some(&t), &h), None);
        let h = headers(&[("authorization", "Bearer sk-ant-oat-xyz")]);
        assert_eq!(
            client_credential(Some(&t), &h).map(|(n, _)| n),
            Some(http::header::AUTHORIZATION)
        );
    }
}
