//! One failed attempt at an upstream: whose fault it was, and whether another try (of the
//! same target later, or of the next one) may help. Turned into an Anthropic error only at
//! the edge, when no attempt is left.

use std::time::Duration;

use crate::messages::ApiError;

/// Whose fault a failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The upstream could not be reached, did not answer in time, or cut its answer.
    Network,
    /// The upstream failed on its side (500–504, 529, an `overloaded_error`).
    Upstream,
    /// The upstream's limit on this key (429): its siblings may carry the load.
    RateLimit,
    /// The upstream refused the request itself (another 4xx): anywhere else would too.
    Request,
}

/// A failed attempt.
#[derive(Debug, Clone)]
pub struct Failure {
    pub blame: Blame,
    /// The upstream's HTTP status, when it answered.
    pub status: Option<u16>,
    /// How long the upstream asked to wait (`retry-after`, or a delay its body gave).
    pub retry_after: Option<Duration>,
    /// What the client is told if this is the last attempt.
    pub error: ApiError,
}

impl Failure {
    /// The upstream answered `status` with `error` (as its wire decoded it).
    pub fn answered(status: u16, error: ApiError) -> Failure {
        let blame = match status {
            429 => Blame::RateLimit,
            500..=504 | 529 => Blame::Upstream,
            _ => Blame::Request,
        };
        Failure {
            blame,
            status: Some(status),
            retry_after: error.retry_after.map(Duration::from_secs),
            error,
        }
    }

    /// The upstream could not be reached or went silent or cut the answer short.
    pub fn network(error: ApiError) -> Failure {
        Failure {
            blame: Blame::Network,
            status: None,
            retry_after: None,
            error,
        }
    }

    /// A stream whose first event was an Anthropic `error` of this `error.type`.
    pub fn event(status: u16, kind: &str, error: ApiError) -> Failure {
        let blame = match kind {
            "rate_limit_error" => Blame::RateLimit,
            "overloaded_error" | "api_error" | "timeout_error" => Blame::Upstream,
            _ => Blame::Request,
        };
        Failure {
            blame,
            status: Some(status),
            retry_after: None,
            error,
        }
    }

    /// Whether another try may succeed: never for a request the upstream refused as such.
    pub fn retryable(&self) -> bool {
        self.blame != Blame::Request
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::ErrorKind;

    fn failure(status: u16) -> Failure {
        Failure::answered(status, ApiError::new(ErrorKind::from_status(status), "x"))
    }

    #[test]
    fn rate_limits_and_server_errors_are_retryable_other_refusals_are_not() {
        for s in [429, 500, 501, 502, 503, 504, 529] {
            assert!(failure(s).retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 422] {
            assert!(!failure(s).retryable(), "{s}");
        }
        assert_eq!(failure(429).blame, Blame::RateLimit);
    }

    #[test]
    fn error_events_are_judged_by_their_type() {
        let e = || ApiError::new(ErrorKind::Overloaded, "x");
        assert!(Failure::event(200, "overloaded_error", e()).retryable());
        assert!(Failure::event(200, "api_error", e()).retryable());
        assert!(!Failure::event(200, "invalid_request_error", e()).retryable());
    }
}
