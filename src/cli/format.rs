//! Numbers, money and durations as the command line prints them, shared by its commands.

use crate::catalog::Usd;
pub use crate::observe::session::thousands;

/// Dollars: `$0.0042` below a dollar (cents alone would read $0.00), `$12.30` above.
pub fn usd(dollars: f64) -> String {
    Usd(dollars).to_string()
}

/// A duration given in microseconds, short: `8ms`, `0.41s`, `2.3s`, `42s`, `3m05s`.
pub fn secs(us: u64) -> String {
    let s = us as f64 / 1_000_000.0;
    if us < 99_500 {
        format!("{}ms", (us + 500) / 1000)
    } else if s < 0.995 {
        format!("{s:.2}s")
    } else if s < 9.95 {
        format!("{s:.1}s")
    } else if s < 59.5 {
        format!("{s:.0}s")
    } else {
        let whole = (s + 0.5) as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// As [`secs`], from milliseconds.
pub fn secs_ms(ms: f64) -> String {
    secs((ms.max(0.0) * 1000.0) as u64)
}

/// A share from 0 to 1 as a percentage: `0%`, `2.5%`, `100%`.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p == 0.0 || p >= 99.95 || (p - p.round()).abs() < 0.05 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// `text` cut to `width` characters, ending in `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_keeps_small_amounts_readable() {
        assert_eq!(usd(0.0042), "$0.0042");
        assert_eq!(usd(12.3), "$12.30");
        assert_eq!(usd(0.0), "$0.0000");
    }

    #[test]
    fn durations_get_shorter_as_they_grow() {
        assert_eq!(secs(8_300), "8ms");
        assert_eq!(secs(99_000), "99ms");
        assert_eq!(secs(120_000), "0.12s");
        assert_eq!(secs(410_000), "0.41s");
        assert_eq!(secs(2_300_000), "2.3s");
        assert_eq!(secs(42_000_000), "42s");
        assert_eq!(secs(185_000_000), "3m05s");
        assert_eq!(secs(996_000), "1.0s");
        assert_eq!(secs_ms(1500.0), "1.5s");
    }

    #[test]
    fn percentages() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.025), "2.5%");
        assert_eq!(percent(1.0 / 3.0), "33.3%");
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(1.0), "100%");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("gpt-4o", 10), "gpt-4o");
        assert_eq!(truncate("llama-3.3-70b-versatile", 10), "llama-3.3…");
        assert_eq!(truncate("abc", 1), "…");
    }
}
