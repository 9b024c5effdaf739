//! Who may use this gateway, who is calling, and which client credential may travel upstream.
//!
//! A virtual key (`bgw-vk-…`) may come as `x-bgw-key`, `x-api-key` or `Authorization:
//! Bearer`; wherever it comes, it is bgw's and never reaches a provider. `x-bgw-key` lets a
//! Claude Pro/Max login travel beside it in `Authorization`, to Anthropic.

use http::{HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;

use super::Settings;
use crate::govern::access::{Access, caller_of, check_usable};
use crate::govern::scope::Caller;
use crate::govern::vkey;
use crate::messages::{ApiError, ErrorKind};
use crate::providers::Secret;
use crate::store::vkeys::VirtualKey;

/// The header `bgw run` gives Claude Code (through `ANTHROPIC_CUSTOM_HEADERS`).
pub const SESSION_HEADER: &str = "x-bgw-session-token";
/// The header a virtual key may travel in when `Authorization` carries a Claude login.
pub const KEY_HEADER: &str = "x-bgw-key";

/// Who a request is from, and its own credential for the upstream.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub caller: Caller,
    /// The virtual key it is charged to, if any.
    pub key: Option<Arc<VirtualKey>>,
    /// The client's own credential (only ever sent to Anthropic itself): never the session
    /// token or a virtual key.
    pub client_auth: Option<(HeaderName, HeaderValue)>,
}

/// Checks the session secret and the virtual key, and says who is calling.
pub fn authenticate(
    settings: &Settings,
    access: &Access,
    headers: &HeaderMap,
    now_ms: u64,
) -> Result<Identity, ApiError> {
    let token = settings.session_token.as_ref();
    check_session(token, headers)?;
    let key = match presented_key(headers)? {
        Some(secret) => Some(access.by_secret(secret).cloned().ok_or_else(|| {
            ApiError::new(
                ErrorKind::Authentication,
                format!(
                    "bgw: the virtual key ending `{}` is not known here (removed, or replaced by `bgw keys virtual rotate`); ask the gateway's operator for the current one",
                    vkey::hint(secret)
                ),
            )
        })?),
        None => match &settings.default_key {
            Some(name) => Some(access.by_name(name).cloned().ok_or_else(|| {
                ApiError::new(
                    ErrorKind::Authentication,
                    format!(
                        "bgw: this session is charged to the virtual key `{name}`, which no longer exists; create it again (`bgw keys virtual create {name}`) and restart the session"
                    ),
                )
            })?),
            None if settings.require_key && access.any() => {
                return Err(ApiError::new(
                    ErrorKind::Authentication,
                    "bgw: this gateway needs a virtual key with every request. Ask its operator for one (`bgw keys virtual create NAME`), then send it as `x-api-key` (Claude Code: `ANTHROPIC_API_KEY=bgw-vk-…`), `Authorization: Bearer`, or `x-bgw-key` (`ANTHROPIC_CUSTOM_HEADERS='x-bgw-key: bgw-vk-…'`, beside a Claude login)",
                ));
            }
            None => None,
        },
    };
    if let Some(k) = &key {
        check_usable(k, now_ms)?;
    }
    Ok(Identity {
        caller: key.as_deref().map(caller_of).unwrap_or_default(),
        key,
        client_auth: client_credential(token, headers),
    })
}

/// The virtual key a request presents, if any: `x-bgw-key` first, then `x-api-key`, then
/// a bearer token. `x-bgw-key` holding anything else is refused.
fn presented_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    if let Some(v) = headers.get(KEY_HEADER) {
        return match v.to_str().map(str::trim) {
            Ok(s) if vkey::looks_like(s) => Ok(Some(s)),
            _ => Err(ApiError::new(
                ErrorKind::Authentication,
                "bgw: `x-bgw-key` holds no virtual key (they start `bgw-vk-`)",
            )),
        };
    }
    let api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    Ok([api_key, bearer]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| vkey::looks_like(s)))
}

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

/// The client's own credential, unless it is only this gateway's session token or a
/// virtual key.
pub fn client_credential(
    token: Option<&Secret>,
    headers: &HeaderMap,
) -> Option<(HeaderName, HeaderValue)> {
    let is_token = |v: &[u8]| {
        token.is_some_and(|t| constant_time_eq(v, t.expose().as_bytes()))
            || v.trim_ascii().starts_with(vkey::PREFIX.as_bytes())
    };
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
