//! Points in time as a person types them for `--since` / `--until`, and as the table shows them.
//!
//! A duration (`30s`, `90m`, `2h`, `7d`, `2w`) means that long ago. A date (`2026-11-20`), a
//! date and time (`2026-11-20T14:00`, `2026-11-20 14:00:30`) are UTC; RFC 3339 with `Z` or an
//! offset (`2026-11-20T14:00:00+01:00`) is exact. Calendar arithmetic is Howard Hinnant's
//! days-from-civil, on the proleptic Gregorian calendar.

/// What `--since` and `--until` accept, for error messages and `--help`.
pub const ACCEPTED: &str = "a duration ago (`30s`, `90m`, `2h`, `7d`, `2w`), a UTC date (`2026-11-20`), a UTC date and time (`2026-11-20T14:00`), or RFC 3339 (`2026-11-20T14:00:00Z`, `…+01:00`)";

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) `days` after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A UTC moment broken into its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Utc {
    /// The fields of `ms` milliseconds since the epoch.
    pub fn from_ms(ms: u64) -> Utc {
        let ms = ms as i64;
        let days = ms.div_euclid(MS_PER_DAY);
        let in_day = ms.rem_euclid(MS_PER_DAY) / 1000;
        let (year, month, day) = civil_from_days(days);
        Utc {
            year,
            month,
            day,
            hour: (in_day / 3600) as u32,
            minute: (in_day / 60 % 60) as u32,
            second: (in_day % 60) as u32,
        }
    }

    /// `2026-11-20 14:03:09`.
    pub fn full(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// The table's time: `HH:MM:SS` on the day of `now_ms`, else `MM-DD HH:MM` (UTC both).
pub fn short(ms: u64, now_ms: u64) -> String {
    let t = Utc::from_ms(ms);
    let today = Utc::from_ms(now_ms);
    if (t.year, t.month, t.day) == (today.year, today.month, today.day) {
        format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second)
    } else {
        format!("{:02}-{:02} {:02}:{:02}", t.month, t.day, t.hour, t.minute)
    }
}

/// Reads a `--since` / `--until` value as milliseconds since the epoch; `now_ms` anchors
/// durations. The error says what was wrong and what is accepted.
pub fn parse_point(text: &str, now_ms: u64) -> Result<u64, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err(format!("an empty time; give {ACCEPTED}"));
    }
    if s.bytes().next().is_some_and(|b| b.is_ascii_digit()) && !s.contains('-') {
        let ago = parse_duration_ms(s)
            .ok_or_else(|| format!("`{text}` is not a duration; give {ACCEPTED}"))?;
        return Ok(now_ms.saturating_sub(ago));
    }
    let ms = parse_date_ms(s)
        .ok_or_else(|| format!("`{text}` is not a time bgw reads; give {ACCEPTED}"))?;
    u64::try_from(ms).map_err(|_| format!("`{text}` is before 1970"))
}

/// `90m` → 5 400 000. Units: `s`, `m`, `h`, `d`, `w`; a whole number before them.
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let unit_ms: u64 = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// A date, a date and time (UTC), or RFC 3339, as milliseconds since the epoch.
fn parse_date_ms(s: &str) -> Option<i64> {
    let date = s.get(..10)?;
    let rest = s.get(10..)?;
    let year: i64 = digits(date.get(0..4)?)?;
    let month: u32 = digits(date.get(5..7)?)?;
    let day: u32 = digits(date.get(8..10)?)?;
    if date.as_bytes()[4] != b'-' || date.as_bytes()[7] != b'-' {
        return None;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * MS_PER_DAY;
    if rest.is_empty() {
        return Some(ms);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    // HH:MM, then optionally :SS and a fraction, then optionally Z or ±HH:MM.
    let hour: i64 = digits(rest.get(0..2)?)?;
    if rest.as_bytes().get(2) != Some(&b':') {
        return None;
    }
    let minute: i64 = digits(rest.get(3..5)?)?;
    let mut rest = rest.get(5..)?;
    let mut second = 0i64;
    let mut frac_ms = 0i64;
    if let Some(r) = rest.strip_prefix(':') {
        second = digits(r.get(0..2)?)?;
        rest = r.get(2..)?;
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            let frac = r.get(..end)?;
            let first3: String = frac.chars().chain("000".chars()).take(3).collect();
            frac_ms = digits(&first3)?;
            rest = r.get(end..)?;
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    ms += ((hour * 60 + minute) * 60 + second) * 1000 + frac_ms;
    let offset_min = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let off = rest.get(1..)?;
            if off.len() != 5 || off.as_bytes()[2] != b':' {
                return None;
            }
            let oh: i64 = digits(off.get(0..2)?)?;
            let om: i64 = digits(off.get(3..5)?)?;
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
    };
    Some(ms - offset_min * 60_000)
}

fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_000_000_000;

    fn at(s: &str) -> u64 {
        parse_point(s, NOW).unwrap()
    }

    #[test]
    fn civil_dates_round_trip_across_eras() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for days in [-800_000, -1, 0, 59, 60, 11_016, 20_000, 1_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn durations_mean_that_long_ago() {
        assert_eq!(at("30s"), NOW - 30_000);
        assert_eq!(at("90m"), NOW - 90 * 60_000);
        assert_eq!(at("2h"), NOW - 2 * 3_600_000);
        assert_eq!(at("7d"), NOW - 7 * 86_400_000);
        assert_eq!(at("2w"), NOW - 14 * 86_400_000);
    }

    #[test]
    fn plain_dates_and_times_are_utc() {
        let day = 1_795_651_200_000; // 2026-11-26T00:00:00Z
        assert_eq!(at("2026-11-26"), day);
        assert_eq!(at("2026-11-26T14:00"), day + 14 * 3_600_000);
        assert_eq!(at("2026-11-26 14:00:30"), day + 14 * 3_600_000 + 30_000);
    }

    #[test]
    fn rfc3339_honours_its_offset_and_fraction() {
        let day = 1_795_651_200_000;
        assert_eq!(at("2026-11-26T14:00:00Z"), day + 14 * 3_600_000);
        assert_eq!(at("2026-11-26T14:00:00.250Z"), day + 14 * 3_600_000 + 250);
        assert_eq!(at("2026-11-26T15:00:00+01:00"), day + 14 * 3_600_000);
        assert_eq!(at("2026-11-26T09:30:00-04:30"), day + 14 * 3_600_000);
    }

    #[test]
    fn bad_values_say_what_is_accepted() {
        for bad in [
            "",
            "2",
            "2x",
            "h2",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-11-26T25:00",
            "2026-11-26T14",
            "2026-11-26T14:00+1",
            "26-11-2026",
            "1.5h",
        ] {
            let err = parse_point(bad, NOW).unwrap_err();
            assert!(
                err.contains("`2h`") && err.contains("RFC 3339"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_table_shows_the_time_today_and_the_date_otherwise() {
        let now = at("2026-11-26T18:00:00Z");
        assert_eq!(short(at("2026-11-26T14:03:09Z"), now), "14:03:09");
        assert_eq!(short(at("2026-11-25T23:59:00Z"), now), "11-25 23:59");
        assert_eq!(
            Utc::from_ms(at("2026-11-26T14:03:09Z")).full(),
            "2026-11-26 14:03:09"
        );
    }
}
