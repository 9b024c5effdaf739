//! Amounts as people type them: US dollars for budgets, counts for rate limits.
//!
//! Money is kept in whole nanodollars so that summing a ledger is exact integer arithmetic;
//! a float would drift by a little on every charge.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::observe::session::thousands;

const NANOS_PER_USD: u64 = 1_000_000_000;
const USD_EXAMPLE: &str = "`500`, `$500` or `500.50`";
const COUNT_EXAMPLE: &str = "`2000000`, `2M`, `500k` or `1,000`";
/// Count suffixes and the zeros each stands for; `M` is million, as in `2M/day`.
const COUNT_SUFFIXES: [(char, usize); 3] = [('k', 3), ('m', 6), ('b', 9)];

/// Money in billionths of a US dollar.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Nanodollars(pub u64);

impl Nanodollars {
    /// Reads US dollars as a person types them: `500`, `$500`, `500.50`, `$1,000`, `0.005`.
    pub fn parse(s: &str) -> Result<Nanodollars, String> {
        let text = s.trim();
        let digits = text.strip_prefix('$').unwrap_or(text);
        usd_nanos(digits)
            .map(Nanodollars)
            .map_err(|flaw| usd_error(text, flaw))
    }

    /// Dollars as a float, rounded to the nearest nanodollar; negative or NaN gives zero.
    pub fn from_usd(usd: f64) -> Nanodollars {
        // `as` saturates at u64::MAX and turns NaN and negatives into 0, as wanted here.
        Nanodollars((usd * NANOS_PER_USD as f64).round() as u64)
    }

    /// The amount in dollars, as a float for display and ratios.
    pub fn to_usd(self) -> f64 {
        self.0 as f64 / NANOS_PER_USD as f64
    }

    /// The sum, stopping at the largest amount rather than wrapping.
    pub const fn saturating_add(self, other: Nanodollars) -> Nanodollars {
        Nanodollars(self.0.saturating_add(other.0))
    }

    /// The difference, stopping at zero rather than wrapping.
    pub const fn saturating_sub(self, other: Nanodollars) -> Nanodollars {
        Nanodollars(self.0.saturating_sub(other.0))
    }

    /// This amount as a percentage of `limit`; against a zero limit, 100 if anything is spent, else 0.
    pub fn percent_of(self, limit: Nanodollars) -> f64 {
        if limit.0 == 0 {
            // Any spending against a zero budget has used all of it.
            return if self.0 > 0 { 100.0 } else { 0.0 };
        }
        self.0 as f64 / limit.0 as f64 * 100.0
    }
}

impl fmt::Display for Nanodollars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&usd_text(self.0))
    }
}

/// `$0.00` for nothing, `$0.0123` under a dollar (cents alone would read `$0.00`), `$1,234.50` above.
fn usd_text(nanos: u64) -> String {
    if nanos == 0 {
        return "$0.00".to_owned();
    }
    let ten_thousandths = rounded_div(nanos, NANOS_PER_USD / 10_000);
    // Whatever would round up to `$1.0000` prints with cents instead.
    if ten_thousandths < 10_000 {
        return format!("$0.{ten_thousandths:04}");
    }
    let cents = rounded_div(nanos, NANOS_PER_USD / 100);
    format!("${}.{:02}", thousands(cents / 100), cents % 100)
}

/// `n / d` rounded half up, without overflowing near `u64::MAX`.
fn rounded_div(n: u64, d: u64) -> u64 {
    n / d + u64::from(n % d >= d.div_ceil(2))
}

/// Reads a token or request count: `2000000`, `2M`, `500k`, `1.5M`, `3B`, `1,000`.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let text = s.trim();
    count(text).map_err(|flaw| count_error(text, flaw))
}

/// What is wrong with a number as typed; each parser words it with its own example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    Missing,
    Negative,
    Malformed,
    Commas,
    TooPrecise,
    TooLarge,
}

fn usd_error(text: &str, flaw: Flaw) -> String {
    match flaw {
        Flaw::Missing if text.is_empty() => {
            format!("no amount of US dollars given: write it like {USD_EXAMPLE}")
        }
        Flaw::Missing | Flaw::Malformed => {
            format!("`{text}` is not an amount of US dollars: write it like {USD_EXAMPLE}")
        }
        Flaw::Negative => {
            format!("`{text}` is negative: write an amount of US dollars like {USD_EXAMPLE}")
        }
        Flaw::Commas => {
            format!("`{text}` has a thousands comma out of place: write it like `1,000` or `1000`")
        }
        Flaw::TooPrecise => format!(
            "`{text}` has more than 9 decimals: write it like `500.50`, or `0.000000001` at the finest"
        ),
        Flaw::TooLarge => format!(
            "`{text}` is too large: the most is `${}.{:09}`",
            thousands(u64::MAX / NANOS_PER_USD),
            u64::MAX % NANOS_PER_USD
        ),
    }
}

fn count_error(text: &str, flaw: Flaw) -> String {
    match flaw {
        Flaw::Missing => format!("no count given: write it like {COUNT_EXAMPLE}"),
        Flaw::Malformed => format!("`{text}` is not a count: write it like {COUNT_EXAMPLE}"),
        Flaw::Negative => format!("`{text}` is negative: write a count like {COUNT_EXAMPLE}"),
        Flaw::Commas => {
            format!("`{text}` has a thousands comma out of place: write it like `1,000` or `1000`")
        }
        Flaw::TooPrecise => format!(
            "`{text}` is not a whole number: write a count like {COUNT_EXAMPLE} (`1.5M` is fine)"
        ),
        Flaw::TooLarge => format!(
            "`{text}` is too large: the most is `{}`",
            thousands(u64::MAX)
        ),
    }
}

/// Dollars (without the `$`) in nanodollars.
fn usd_nanos(text: &str) -> Result<u64, Flaw> {
    let number = decimal(text)?;
    if number.fraction.len() > 9 {
        return Err(Flaw::TooPrecise);
    }
    let fraction = scaled_fraction(number.fraction, 9);
    number
        .whole
        .checked_mul(NANOS_PER_USD)
        .and_then(|nanos| nanos.checked_add(fraction))
        .ok_or(Flaw::TooLarge)
}

/// A count with an optional `k`, `M` or `B` suffix, which must come out whole.
fn count(text: &str) -> Result<u64, Flaw> {
    let (digits, zeros) = COUNT_SUFFIXES
        .iter()
        .find_map(|&(suffix, zeros)| {
            let upper = suffix.to_ascii_uppercase();
            text.strip_suffix([suffix, upper])
                .map(|digits| (digits, zeros))
        })
        .unwrap_or((text, 0));
    if digits.is_empty() && zeros > 0 {
        return Err(Flaw::Malformed);
    }
    let number = decimal(digits)?;
    // Zeros at the end of a fraction add nothing: `1.50M` is `1.5M`.
    let fraction = number.fraction.trim_end_matches('0');
    if fraction.len() > zeros {
        return Err(Flaw::TooPrecise);
    }
    number
        .whole
        .checked_mul(10u64.pow(zeros as u32))
        .and_then(|n| n.checked_add(scaled_fraction(fraction, zeros)))
        .ok_or(Flaw::TooLarge)
}

/// A non-negative decimal as typed: the whole part and the digits after the point.
struct Decimal<'a> {
    whole: u64,
    fraction: &'a str,
}

/// Splits `1,234.56` into its whole part and fraction digits, checking every character.
fn decimal(text: &str) -> Result<Decimal<'_>, Flaw> {
    if text.is_empty() {
        return Err(Flaw::Missing);
    }
    if let Some(rest) = text.strip_prefix('-') {
        // A minus before what would otherwise be a number: say so rather than "not a number".
        let rest = rest.strip_prefix('$').unwrap_or(rest);
        return Err(match decimal(rest) {
            Ok(_) => Flaw::Negative,
            Err(_) => Flaw::Malformed,
        });
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || (text.contains('.') && fraction.is_empty()) || !all_digits(fraction) {
        return Err(Flaw::Malformed);
    }
    Ok(Decimal {
        whole: grouped(whole)?,
        fraction,
    })
}

/// An integer with optional thousands commas, which must fall every three digits.
fn grouped(text: &str) -> Result<u64, Flaw> {
    let groups: Vec<&str> = text.split(',').collect();
    if !groups.iter().all(|group| all_digits(group)) {
        return Err(Flaw::Malformed);
    }
    let (first, rest) = groups.split_first().ok_or(Flaw::Malformed)?;
    let well_placed = rest.is_empty()
        || ((1..=3).contains(&first.len()) && rest.iter().all(|group| group.len() == 3));
    if !well_placed || first.is_empty() {
        return Err(Flaw::Commas);
    }
    groups.concat().bytes().try_fold(0u64, |n, digit| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(digit - b'0')))
            .ok_or(Flaw::TooLarge)
    })
}

/// Fraction digits (checked, at most `places` ≤ 9 of them) as a whole number of `10^-places`.
fn scaled_fraction(digits: &str, places: usize) -> u64 {
    digits
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(places)
        .fold(0, |n, digit| n * 10 + u64::from(digit - b'0'))
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(s: &str) -> u64 {
        Nanodollars::parse(s).unwrap().0
    }

    fn usd_err(s: &str) -> String {
        Nanodollars::parse(s).unwrap_err()
    }

    #[test]
    fn dollars_are_read_as_people_type_them() {
        assert_eq!(usd("500"), 500_000_000_000);
        assert_eq!(usd("$500"), 500_000_000_000);
        assert_eq!(usd("500.50"), 500_500_000_000);
        assert_eq!(usd("0.005"), 5_000_000);
        assert_eq!(usd(" $1,000 "), 1_000_000_000_000);
        assert_eq!(usd("1,234,567.5"), 1_234_567_500_000_000);
        assert_eq!(usd("0.000000001"), 1);
        assert_eq!(usd("0"), 0);
        assert_eq!(usd("18446744073.709551615"), u64::MAX);
    }

    #[test]
    fn dollars_that_are_not_amounts_are_refused_with_an_example() {
        for bad in [
            "abc", "1e3", "NaN", "inf", "12.3.4", "$", "500$", "$ 500", "+5", "5.", ".5", "1 000",
            "$$5", "-", "-abc", "--5",
        ] {
            assert_eq!(
                usd_err(bad),
                format!(
                    "`{bad}` is not an amount of US dollars: write it like `500`, `$500` or `500.50`"
                ),
            );
        }
    }

    #[test]
    fn dollars_refused_for_a_reason_say_which() {
        assert_eq!(
            usd_err("  "),
            "no amount of US dollars given: write it like `500`, `$500` or `500.50`"
        );
        assert_eq!(
            usd_err("-5"),
            "`-5` is negative: write an amount of US dollars like `500`, `$500` or `500.50`"
        );
        assert!(usd_err("$-5").starts_with("`$-5` is negative"));
        assert!(usd_err("-$5").starts_with("`-$5` is negative"));
        assert_eq!(
            usd_err("1,00"),
            "`1,00` has a thousands comma out of place: write it like `1,000` or `1000`"
        );
        assert!(usd_err("1000,000").contains("comma out of place"));
        assert!(usd_err(",100").contains("comma out of place"));
        assert!(usd_err("1.000,5").starts_with("`1.000,5` is not an amount"));
        assert_eq!(
            usd_err("0.0000000001"),
            "`0.0000000001` has more than 9 decimals: write it like `500.50`, \
             or `0.000000001` at the finest"
        );
        assert_eq!(usd("$18,446,744,073.709551615"), u64::MAX);
        assert_eq!(
            usd_err("18446744073.709551616"),
            "`18446744073.709551616` is too large: the most is `$18,446,744,073.709551615`"
        );
        assert!(usd_err("99999999999999999999999").contains("is too large"));
    }

    #[test]
    fn dollars_print_with_cents_from_a_dollar_up() {
        assert_eq!(Nanodollars(500 * NANOS_PER_USD).to_string(), "$500.00");
        assert_eq!(Nanodollars(1_234_500_000_000).to_string(), "$1,234.50");
        assert_eq!(Nanodollars(NANOS_PER_USD).to_string(), "$1.00");
        assert_eq!(Nanodollars(1_005_000_000).to_string(), "$1.01");
        assert_eq!(Nanodollars(u64::MAX).to_string(), "$18,446,744,073.71");
    }

    #[test]
    fn dollars_under_one_print_four_decimals() {
        assert_eq!(Nanodollars(0).to_string(), "$0.00");
        assert_eq!(Nanodollars(12_300_000).to_string(), "$0.0123");
        assert_eq!(Nanodollars(1).to_string(), "$0.0000");
        assert_eq!(Nanodollars(999_940_000).to_string(), "$0.9999");
        // Would round to `$1.0000`, so it prints with cents.
        assert_eq!(Nanodollars(999_950_000).to_string(), "$1.00");
    }

    #[test]
    fn dollars_pad_to_a_column() {
        assert_eq!(format!("{:>8}", Nanodollars(NANOS_PER_USD)), "   $1.00");
    }

    #[test]
    fn dollars_from_a_float_round_and_saturate() {
        assert_eq!(Nanodollars::from_usd(1.5), Nanodollars(1_500_000_000));
        assert_eq!(Nanodollars::from_usd(0.000_000_000_6), Nanodollars(1));
        assert_eq!(Nanodollars::from_usd(-3.0), Nanodollars(0));
        assert_eq!(Nanodollars::from_usd(f64::NAN), Nanodollars(0));
        assert_eq!(Nanodollars::from_usd(1e30), Nanodollars(u64::MAX));
        assert_eq!(Nanodollars(2_500_000_000).to_usd(), 2.5);
    }

    #[test]
    fn sums_stop_at_the_ends_instead_of_wrapping() {
        assert_eq!(
            Nanodollars(u64::MAX).saturating_add(Nanodollars(1)),
            Nanodollars(u64::MAX)
        );
        assert_eq!(
            Nanodollars(1).saturating_sub(Nanodollars(2)),
            Nanodollars(0)
        );
        assert_eq!(
            Nanodollars(5).saturating_add(Nanodollars(2)),
            Nanodollars(7)
        );
        assert_eq!(
            Nanodollars(5).saturating_sub(Nanodollars(2)),
            Nanodollars(3)
        );
    }

    #[test]
    fn percent_of_a_zero_limit_is_all_of_it_once_anything_is_spent() {
        assert_eq!(Nanodollars(25).percent_of(Nanodollars(100)), 25.0);
        assert_eq!(Nanodollars(300).percent_of(Nanodollars(100)), 300.0);
        assert_eq!(Nanodollars(1).percent_of(Nanodollars(0)), 100.0);
        assert_eq!(Nanodollars(0).percent_of(Nanodollars(0)), 0.0);
    }

    #[test]
    fn dollars_serialize_as_a_bare_integer() {
        assert_eq!(serde_json::to_string(&Nanodollars(42)).unwrap(), "42");
        assert_eq!(
            serde_json::from_str::<Nanodollars>("42").unwrap(),
            Nanodollars(42)
        );
    }

    #[test]
    fn counts_take_thousand_million_and_billion_suffixes() {
        assert_eq!(parse_count("2000000"), Ok(2_000_000));
        assert_eq!(parse_count("2M"), Ok(2_000_000));
        assert_eq!(parse_count("2m"), Ok(2_000_000));
        assert_eq!(parse_count("500k"), Ok(500_000));
        assert_eq!(parse_count("500K"), Ok(500_000));
        assert_eq!(parse_count("1.5M"), Ok(1_500_000));
        assert_eq!(parse_count("1.50M"), Ok(1_500_000));
        assert_eq!(parse_count("3B"), Ok(3_000_000_000));
        assert_eq!(parse_count("3b"), Ok(3_000_000_000));
        assert_eq!(parse_count(" 1,000 "), Ok(1_000));
        assert_eq!(parse_count("1,500k"), Ok(1_500_000));
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count("7.0"), Ok(7));
        assert_eq!(parse_count("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn counts_that_are_not_whole_are_refused() {
        assert_eq!(
            parse_count("1.5").unwrap_err(),
            "`1.5` is not a whole number: write a count like `2000000`, `2M`, `500k` or \
             `1,000` (`1.5M` is fine)"
        );
        assert!(
            parse_count("1.0000005M")
                .unwrap_err()
                .contains("not a whole number")
        );
        assert!(parse_count("0.5k").is_ok());
        assert!(
            parse_count("0.0005k")
                .unwrap_err()
                .contains("not a whole number")
        );
    }

    #[test]
    fn counts_refused_for_other_reasons_say_which() {
        assert_eq!(
            parse_count(""),
            Err("no count given: write it like `2000000`, `2M`, `500k` or `1,000`".to_owned())
        );
        assert_eq!(
            parse_count("-5"),
            Err(
                "`-5` is negative: write a count like `2000000`, `2M`, `500k` or `1,000`"
                    .to_owned()
            )
        );
        assert!(
            parse_count("-2M")
                .unwrap_err()
                .starts_with("`-2M` is negative")
        );
        for bad in ["M", "2MM", "2x", "1e3", "NaN", "two", "$60", "2 M", "1.2.3"] {
            assert_eq!(
                parse_count(bad),
                Err(format!(
                    "`{bad}` is not a count: write it like `2000000`, `2M`, `500k` or `1,000`"
                )),
            );
        }
        assert!(
            parse_count("10,00")
                .unwrap_err()
                .contains("comma out of place")
        );
        assert_eq!(
            parse_count("18446744073709551616"),
            Err(
                "`18446744073709551616` is too large: the most is `18,446,744,073,709,551,615`"
                    .to_owned()
            )
        );
        assert!(
            parse_count("20000000000B")
                .unwrap_err()
                .contains("too large")
        );
    }
}
