//! How Claude Code is told where a budget stands: the usage-limit headers of its gateway
//! protocol (the `anthropic-ratelimit-unified-*` headers, as Anthropic sends its own
//! subscribers). Claude Code 2.1.225 and later reads them when it is signed in to a gateway
//! (or to a Claude subscription) and shows "You've used 82% of your usage credits · resets
//! …" past the threshold; on a spent budget's 429 they stop its retries and make it print
//! the message as it is. Sent only for callers with a money budget on their chain.

use super::meter::Metric;
use super::period::Period;
use super::standing::Standing;

/// Header names: what each carries is said where it is set.
const STATUS: &str = "anthropic-ratelimit-unified-status";
const RESET: &str = "anthropic-ratelimit-unified-reset";
const CLAIM: &str = "anthropic-ratelimit-unified-representative-claim";
const OVERAGE_STATUS: &str = "anthropic-ratelimit-unified-overage-status";
const OVERAGE_RESET: &str = "anthropic-ratelimit-unified-overage-reset";
const UTILIZATION: &str = "anthropic-ratelimit-unified-overage-utilization";
const THRESHOLD: &str = "anthropic-ratelimit-unified-overage-surpassed-threshold";
const PERIOD: &str = "anthropic-ratelimit-unified-overage-period";
const DISABLED: &str = "anthropic-ratelimit-unified-overage-disabled-reason";

/// The threshold past which Claude Code warns a second time, whatever the budget's own.
const LATE_WARNING: f64 = 0.95;

/// Whether a response header is one of these (an upstream's own are not passed on beside
/// bgw's: an organisation's quota must not reach the user as if it were theirs).
pub fn is_usage_header(name: &str) -> bool {
    name.starts_with("anthropic-ratelimit-unified-")
}

/// The money budget on the chain that is most used: the one a warning is about.
fn tightest(standings: &[Standing]) -> Option<&Standing> {
    standings
        .iter()
        .filter(|s| s.meter.metric == Metric::Usd)
        .max_by(|a, b| a.used().total_cmp(&b.used()))
}

/// Seconds since the epoch when the standing's window ends, if it ever does.
fn reset_secs(s: &Standing) -> Option<String> {
    s.window.end_ms.map(|end| (end / 1000).to_string())
}

/// The headers of a response that was served: where the most used money budget stands,
/// and, past its warning threshold, that it was passed.
pub fn standing_headers(standings: &[Standing]) -> Vec<(&'static str, String)> {
    let Some(s) = tightest(standings) else {
        return Vec::new();
    };
    let used = s.used();
    let own = f64::from(s.rule.record.warn_pct) / 100.0;
    let passed = if used >= LATE_WARNING && own < LATE_WARNING {
        Some(LATE_WARNING)
    } else {
        (used >= own).then_some(own)
    };
    let status = if passed.is_some() {
        "allowed_warning"
    } else {
        "allowed"
    };
    let mut out = vec![
        (STATUS, status.to_owned()),
        // Window-agnostic: `5h`/`7d` would make the client do its own time math.
        (CLAIM, "overage".to_owned()),
        (OVERAGE_STATUS, status.to_owned()),
        // Two decimals, kept below 1 while requests are still served.
        (UTILIZATION, format!("{:.2}", used.min(0.99))),
    ];
    if let Some(t) = passed {
        out.push((THRESHOLD, format!("{t:.2}")));
    }
    if let Some(reset) = reset_secs(s) {
        out.push((RESET, reset.clone()));
        out.push((OVERAGE_RESET, reset));
    }
    out
}

/// The headers of a spent budget's 429: rejected, when it resets, and the reason that makes
/// Claude Code print bgw's message as it is and never retry. No claim or overage status: with
/// them it would write its own message about a subscription instead.
pub fn refusal_headers(s: &Standing) -> Vec<(&'static str, String)> {
    let mut out = vec![
        (STATUS, "rejected".to_owned()),
        (UTILIZATION, "1".to_owned()),
        (THRESHOLD, "1".to_owned()),
        (DISABLED, "org_spend_cap_reached".to_owned()),
    ];
    if let Some(reset) = reset_secs(s) {
        out.push((RESET, reset.clone()));
        out.push((OVERAGE_RESET, reset));
    }
    let period = match s.meter.period {
        Period::Day => Some("daily"),
        Period::Week => Some("weekly"),
        Period::Month => Some("monthly"),
        _ => None,
    };
    if let Some(p) = period {
        out.push((PERIOD, p.to_owned()));
    }
    out
}
