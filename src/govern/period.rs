//! The periods budgets and rate limits reset on, and the window of time each one covers.
//!
//! Calendar periods follow the clock and calendar of the owner's time zone, so a daily budget
//! in `Asia/Shanghai` resets at local midnight and a day with a DST change is 23 or 25 hours
//! long. Periods of whole days (`30d`) are fixed lengths counted from the budget's creation.

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{RoundMode, SignedDuration, Timestamp, ToSpan, Unit, ZonedDateTimeRound};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::amount::{Nanodollars, parse_count};

const DAY_MS: u64 = 86_400_000;
const MAX_DAYS: u32 = 3650;
const PERIOD_WORDS: &str = "`minute` (or `min`), `hour` (or `hr`), `day`, `week`, `month`, \
                            `year`, `total`, or a number of days such as `30d`";

/// How often a limit starts afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// Each minute of the local clock.
    Minute,
    /// Each hour of the local clock.
    Hour,
    /// Local midnight to local midnight.
    Day,
    /// Monday 00:00 local to the next Monday.
    Week,
    /// The 1st of the month 00:00 local to the next 1st.
    Month,
    /// January 1st 00:00 local to the next January 1st.
    Year,
    /// Never: the limit covers everything since the budget was made.
    Total,
    /// Fixed windows of this many 24-hour days, counted from the budget's creation.
    Days(u32),
}

/// A span of time in milliseconds since the Unix epoch, the end excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first millisecond in the window.
    pub start_ms: u64,
    /// The first millisecond after the window; `None` when it never resets.
    pub end_ms: Option<u64>,
}

impl Period {
    /// Reads a period word (`day`, `month`, `30d`); never a one-letter unit, so `2M/day` stays unambiguous.
    pub fn parse(s: &str) -> Result<Period, String> {
        let shown = s.trim();
        match shown.to_ascii_lowercase().as_str() {
            "minute" | "min" => Ok(Period::Minute),
            "hour" | "hr" => Ok(Period::Hour),
            "day" => Ok(Period::Day),
            "week" => Ok(Period::Week),
            "month" => Ok(Period::Month),
            "year" => Ok(Period::Year),
            "total" => Ok(Period::Total),
            "" => Err(format!("no period given: write one of {PERIOD_WORDS}")),
            "m" | "mo" | "mon" => Err(format!(
                "`{shown}` is not a period: write `month` or `minute` (a period is one of \
                 {PERIOD_WORDS})"
            )),
            word => match day_digits(word) {
                Some(digits) => digits
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_DAYS).contains(n))
                    .map(Period::Days)
                    .ok_or_else(|| {
                        format!(
                            "`{shown}` is not a period: a number of days goes from `1d` to \
                             `{MAX_DAYS}d`"
                        )
                    }),
                None => Err(format!(
                    "`{shown}` is not a period: write one of {PERIOD_WORDS}"
                )),
            },
        }
    }

    /// Whether the period follows the clock and calendar of a time zone rather than the anchor.
    pub fn is_calendar(self) -> bool {
        !matches!(self, Period::Total | Period::Days(_))
    }

    /// The window of this period that holds `now_ms`, in `tz`; `anchor_ms` is when the limit was made.
    ///
    /// For `Days(n)` a `now_ms` before the anchor gets the first window, and `Days(0)` counts as
    /// one day. Past the year 9999, the last jiff can represent, a window never ends.
    pub fn window(self, now_ms: u64, tz: &TimeZone, anchor_ms: u64) -> Window {
        match self {
            Period::Minute => clock_window(now_ms, tz, Unit::Minute, SignedDuration::from_mins(1)),
            Period::Hour => clock_window(now_ms, tz, Unit::Hour, SignedDuration::from_hours(1)),
            Period::Day => date_window(now_ms, tz, |today| (today, today.tomorrow().ok())),
            Period::Week => date_window(now_ms, tz, |today| {
                let monday = monday_of(today);
                (monday, monday.checked_add(1.week()).ok())
            }),
            Period::Month => date_window(now_ms, tz, |today| {
                let first = today.first_of_month();
                (first, first.checked_add(1.month()).ok())
            }),
            Period::Year => date_window(now_ms, tz, |today| {
                let first = today.first_of_year();
                (first, first.checked_add(1.year()).ok())
            }),
            Period::Total => Window {
                start_ms: anchor_ms,
                end_ms: None,
            },
            Period::Days(n) => fixed_window(now_ms, anchor_ms, u64::from(n.max(1)) * DAY_MS),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days;
        let text = match self {
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Year => "year",
            Period::Total => "total",
            Period::Days(n) => {
                days = format!("{n}d");
                &days
            }
        };
        f.pad(text)
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Period, D::Error> {
        let text = String::deserialize(deserializer)?;
        Period::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The digits of a number of days such as `30d`; `None` when the word is not one.
fn day_digits(word: &str) -> Option<&str> {
    word.strip_suffix('d')
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// A minute or hour of the local clock, whose end is the next time the clock reads a whole unit.
fn clock_window(now_ms: u64, tz: &TimeZone, unit: Unit, step: SignedDuration) -> Window {
    let now = timestamp(now_ms);
    let Ok(start) = clock_floor(now, tz, unit) else {
        return Window::unbounded(now_ms);
    };
    // One step on is the next whole unit, except across a shift of the clock that is not a
    // whole unit (Lord Howe Island moves by half an hour), where the first step can land
    // before the clock next reads :00; a second step is always past it.
    let end = std::iter::successors(Some(start), |at| at.checked_add(step).ok())
        .skip(1)
        .take(3)
        .filter_map(|probe| clock_floor(probe, tz, unit).ok())
        .find(|&boundary| boundary > now);
    around(now_ms, start, end)
}

/// The instant the local clock last read a whole `unit`; in a repeated hour, the same pass of it.
fn clock_floor(at: Timestamp, tz: &TimeZone, unit: Unit) -> Result<Timestamp, jiff::Error> {
    let floor = ZonedDateTimeRound::new()
        .smallest(unit)
        .mode(RoundMode::Floor);
    Ok(at.to_zoned_datetime(tz.clone()).round(floor)?.timestamp())
}

/// A window of whole local days: `days` gives its first day and the first day after it.
fn date_window(
    now_ms: u64,
    tz: &TimeZone,
    days: impl FnOnce(Date) -> (Date, Option<Date>),
) -> Window {
    let today = timestamp(now_ms).to_zoned_datetime(tz.clone()).date();
    let (first, next) = days(today);
    let Ok(start) = day_start(first, tz) else {
        return Window::unbounded(now_ms);
    };
    let end = next.and_then(|next| day_start(next, tz).ok());
    around(now_ms, start, end)
}

/// Local midnight, or where a clock change skips it, the day's first instant (as `start_of_day`).
fn day_start(date: Date, tz: &TimeZone) -> Result<Timestamp, jiff::Error> {
    Ok(date.to_zoned_datetime(tz.clone())?.timestamp())
}

fn monday_of(date: Date) -> Date {
    let since_monday = date.weekday().to_monday_zero_offset();
    // Only fails before the year -9999, which no u64 of milliseconds reaches.
    date.checked_sub(since_monday.days()).unwrap_or(date)
}

/// Windows of exactly `len_ms` laid end to end from `anchor_ms`.
fn fixed_window(now_ms: u64, anchor_ms: u64, len_ms: u64) -> Window {
    let elapsed = now_ms.saturating_sub(anchor_ms);
    let start_ms = anchor_ms + elapsed / len_ms * len_ms;
    Window {
        start_ms,
        end_ms: start_ms.checked_add(len_ms),
    }
}

/// The window from `start` to `end`, made to hold `now_ms`.
fn around(now_ms: u64, start: Timestamp, end: Option<Timestamp>) -> Window {
    // Both bounds can fall outside a u64 of milliseconds (a week that began before 1970, an
    // instant past the year 9999), and a clock change that swallows a midnight can put the
    // day's start after `now`; the window must still hold `now`.
    Window {
        start_ms: epoch_ms(start).min(now_ms),
        end_ms: end.map(epoch_ms).filter(|&end| end > now_ms),
    }
}

impl Window {
    /// From `now_ms` on, without end: only for instants jiff cannot place in a calendar.
    fn unbounded(now_ms: u64) -> Window {
        Window {
            start_ms: now_ms,
            end_ms: None,
        }
    }
}

fn timestamp(ms: u64) -> Timestamp {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::MAX)
}

fn epoch_ms(at: Timestamp) -> u64 {
    u64::try_from(at.as_millisecond()).unwrap_or(0)
}

/// Looks up an IANA time zone such as `Asia/Shanghai` or `UTC`.
pub fn parse_tz(name: &str) -> Result<TimeZone, String> {
    let name = name.trim();
    TimeZone::get(name).map_err(|_| {
        format!(
            "unknown time zone `{name}`: give an IANA name such as `Europe/Berlin`, \
             `America/New_York` or `UTC`"
        )
    })
}

/// An instant as local time and the zone's name: `2027-01-01 00:00 Asia/Shanghai`.
pub fn format_instant(ms: u64, tz: &TimeZone, tz_name: &str) -> String {
    let local = timestamp(ms).to_zoned_datetime(tz.clone());
    format!(
        "{} {}",
        local.strftime("%Y-%m-%d %H:%M"),
        zone_label(tz_name)
    )
}

fn zone_label(tz_name: &str) -> &str {
    let name = tz_name.trim();
    if name.eq_ignore_ascii_case("utc") || name.eq_ignore_ascii_case("etc/utc") {
        "UTC"
    } else {
        name
    }
}

/// An amount allowed in each period: `$500/month`, `60/min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit<T> {
    /// How much may be used in one window of the period.
    pub amount: T,
    /// How often the amount starts afresh.
    pub period: Period,
}

/// Reads a budget such as `500/month`, `$20/day`, `2000/30d` or `10/total`.
pub fn parse_money_limit(s: &str) -> Result<Limit<Nanodollars>, String> {
    parse_limit(s, Nanodollars::parse, "/month", "500/month")
}

/// Reads a rate such as `60/min`, `2M/day` or `100k/minute`.
pub fn parse_count_limit(s: &str) -> Result<Limit<u64>, String> {
    parse_limit(s, parse_count, "/min", "60/min")
}

fn parse_limit<T>(
    s: &str,
    parse_amount: impl FnOnce(&str) -> Result<T, String>,
    period_example: &str,
    example: &str,
) -> Result<Limit<T>, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err(format!("no limit given: write one such as `{example}`"));
    }
    // The last `/`, so that the period is always the final word.
    let Some((amount, period)) = text.rsplit_once('/') else {
        return Err(format!(
            "`{text}` has no period: add one such as `{period_example}`, as in `{example}`"
        ));
    };
    Ok(Limit {
        amount: parse_amount(amount)?,
        period: Period::parse(period)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::ZonedDateTime;

    const HOUR_MS: u64 = 3_600_000;

    /// Milliseconds for a zoned time such as `2026-03-08T00:00[America/New_York]`; an offset
    /// before the bracket (`01:30-05[…]`) picks one pass of a repeated hour.
    fn at(zoned: &str) -> u64 {
        let zoned: ZonedDateTime = zoned.parse().unwrap();
        u64::try_from(zoned.timestamp().as_millisecond()).unwrap()
    }

    fn tz(name: &str) -> TimeZone {
        parse_tz(name).unwrap()
    }

    fn window(period: Period, now: &str, zone: &str) -> Window {
        period.window(at(now), &tz(zone), 0)
    }

    fn from_to(start: &str, end: &str) -> Window {
        Window {
            start_ms: at(start),
            end_ms: Some(at(end)),
        }
    }

    fn hours(window: Window) -> f64 {
        (window.end_ms.unwrap() - window.start_ms) as f64 / HOUR_MS as f64
    }

    fn holds(window: Window, now_ms: u64) -> bool {
        window.start_ms <= now_ms && window.end_ms.is_none_or(|end| now_ms < end)
    }

    #[test]
    fn a_month_runs_from_the_first_to_the_next_first() {
        assert_eq!(
            window(Period::Month, "2027-01-31T23:59[UTC]", "UTC"),
            from_to("2027-01-01T00:00[UTC]", "2027-02-01T00:00[UTC]"),
        );
        assert_eq!(
            window(Period::Month, "2027-12-15T08:00[UTC]", "UTC"),
            from_to("2027-12-01T00:00[UTC]", "2028-01-01T00:00[UTC]"),
        );
    }

    #[test]
    fn february_of_a_leap_year_holds_the_29th() {
        let february = from_to("2028-02-01T00:00[UTC]", "2028-03-01T00:00[UTC]");
        assert_eq!(
            window(Period::Month, "2028-02-29T12:00[UTC]", "UTC"),
            february
        );
        assert_eq!(
            window(Period::Month, "2028-02-03T12:00[UTC]", "UTC"),
            february
        );
        assert_eq!(hours(february), 29.0 * 24.0);
    }

    #[test]
    fn february_2100_is_not_leap() {
        let february = window(Period::Month, "2100-02-28T12:00[UTC]", "UTC");
        assert_eq!(
            february,
            from_to("2100-02-01T00:00[UTC]", "2100-03-01T00:00[UTC]")
        );
        assert_eq!(hours(february), 28.0 * 24.0);
    }

    #[test]
    fn calendar_periods_ignore_when_the_budget_was_made() {
        // Made on Thursday 2026-01-15 at 15:43 in Berlin, looked at an hour later.
        let berlin = tz("Europe/Berlin");
        let made = at("2026-01-15T15:43[Europe/Berlin]");
        let now = made + HOUR_MS;
        assert_eq!(
            Period::Week.window(now, &berlin, made),
            from_to(
                "2026-01-12T00:00[Europe/Berlin]",
                "2026-01-19T00:00[Europe/Berlin]"
            ),
        );
        assert_eq!(
            Period::Month.window(now, &berlin, made),
            from_to(
                "2026-01-01T00:00[Europe/Berlin]",
                "2026-02-01T00:00[Europe/Berlin]"
            ),
        );
        assert_eq!(
            Period::Day.window(now, &berlin, made),
            from_to(
                "2026-01-15T00:00[Europe/Berlin]",
                "2026-01-16T00:00[Europe/Berlin]"
            ),
        );
        assert_eq!(
            Period::Year.window(now, &berlin, made),
            from_to(
                "2026-01-01T00:00[Europe/Berlin]",
                "2027-01-01T00:00[Europe/Berlin]"
            ),
        );
    }

    #[test]
    fn a_week_starts_on_monday_even_on_a_monday_or_a_sunday() {
        let week = from_to("2026-01-12T00:00[UTC]", "2026-01-19T00:00[UTC]");
        assert_eq!(window(Period::Week, "2026-01-12T00:00[UTC]", "UTC"), week);
        assert_eq!(window(Period::Week, "2026-01-18T23:59[UTC]", "UTC"), week);
    }

    #[test]
    fn a_day_in_shanghai_starts_at_16_00_utc_the_day_before() {
        assert_eq!(
            window(
                Period::Day,
                "2026-05-10T09:00[Asia/Shanghai]",
                "Asia/Shanghai"
            ),
            from_to("2026-05-09T16:00[UTC]", "2026-05-10T16:00[UTC]"),
        );
        // 20:00 UTC is already the next day in Shanghai.
        assert_eq!(
            window(Period::Day, "2026-05-10T20:00[UTC]", "Asia/Shanghai"),
            from_to("2026-05-10T16:00[UTC]", "2026-05-11T16:00[UTC]"),
        );
    }

    #[test]
    fn new_york_days_are_23_and_25_hours_long_when_the_clocks_change() {
        let spring = window(
            Period::Day,
            "2026-03-08T12:00[America/New_York]",
            "America/New_York",
        );
        assert_eq!(
            spring,
            from_to(
                "2026-03-08T00:00[America/New_York]",
                "2026-03-09T00:00[America/New_York]"
            ),
        );
        assert_eq!(hours(spring), 23.0);
        let fall = window(
            Period::Day,
            "2026-11-01T12:00[America/New_York]",
            "America/New_York",
        );
        assert_eq!(hours(fall), 25.0);
    }

    #[test]
    fn march_in_new_york_starts_in_winter_time_and_ends_in_summer_time() {
        assert_eq!(
            window(
                Period::Month,
                "2026-03-20T12:00[America/New_York]",
                "America/New_York"
            ),
            from_to("2026-03-01T05:00[UTC]", "2026-04-01T04:00[UTC]"),
        );
    }

    #[test]
    fn each_pass_of_the_repeated_hour_is_one_real_hour() {
        // On 2026-11-01 New York's clocks go from 01:59 EDT back to 01:00 EST.
        let first = window(
            Period::Hour,
            "2026-11-01T01:30-04[America/New_York]",
            "America/New_York",
        );
        let second = window(
            Period::Hour,
            "2026-11-01T01:30-05[America/New_York]",
            "America/New_York",
        );
        assert_eq!(
            first,
            from_to("2026-11-01T05:00[UTC]", "2026-11-01T06:00[UTC]")
        );
        assert_eq!(
            second,
            from_to("2026-11-01T06:00[UTC]", "2026-11-01T07:00[UTC]")
        );
    }

    #[test]
    fn the_hour_after_the_skipped_hour_is_one_real_hour() {
        // On 2026-03-08 New York's clocks go from 01:59 EST to 03:00 EDT.
        assert_eq!(
            window(
                Period::Hour,
                "2026-03-08T01:30[America/New_York]",
                "America/New_York"
            ),
            from_to("2026-03-08T06:00[UTC]", "2026-03-08T07:00[UTC]"),
        );
        assert_eq!(
            window(
                Period::Hour,
                "2026-03-08T03:30[America/New_York]",
                "America/New_York"
            ),
            from_to("2026-03-08T07:00[UTC]", "2026-03-08T08:00[UTC]"),
        );
    }

    #[test]
    fn hours_in_london_follow_british_summer_time() {
        assert_eq!(
            window(
                Period::Hour,
                "2026-07-01T10:20[Europe/London]",
                "Europe/London"
            ),
            from_to("2026-07-01T09:00[UTC]", "2026-07-01T10:00[UTC]"),
        );
        assert_eq!(
            window(
                Period::Hour,
                "2026-01-15T10:20[Europe/London]",
                "Europe/London"
            ),
            from_to("2026-01-15T10:00[UTC]", "2026-01-15T11:00[UTC]"),
        );
    }

    #[test]
    fn hours_in_kolkata_start_at_half_past_in_utc() {
        assert_eq!(
            window(
                Period::Hour,
                "2026-05-10T10:15[Asia/Kolkata]",
                "Asia/Kolkata"
            ),
            from_to("2026-05-10T04:30[UTC]", "2026-05-10T05:30[UTC]"),
        );
    }

    #[test]
    fn an_hour_lasts_until_the_clock_next_reads_a_whole_hour_after_a_half_hour_shift() {
        // On 2026-04-05 Lord Howe Island's clocks go from 01:59 (+11) back to 01:30 (+10:30),
        // so its 1 o'clock hour is 90 minutes long and the next starts at 02:00 +10:30.
        let zone = "Australia/Lord_Howe";
        let one = window(
            Period::Hour,
            "2026-04-05T01:45+11[Australia/Lord_Howe]",
            zone,
        );
        assert_eq!(
            one,
            from_to(
                "2026-04-05T01:00+11[Australia/Lord_Howe]",
                "2026-04-05T02:00+10:30[Australia/Lord_Howe]"
            ),
        );
        assert_eq!(hours(one), 1.5);
        let two = Period::Hour.window(one.end_ms.unwrap(), &tz(zone), 0);
        assert_eq!(two.start_ms, one.end_ms.unwrap());
    }

    #[test]
    fn a_minute_is_the_minute_of_the_clock() {
        assert_eq!(
            window(
                Period::Minute,
                "2026-05-10T10:15:42.5[Asia/Kolkata]",
                "Asia/Kolkata"
            ),
            from_to(
                "2026-05-10T10:15[Asia/Kolkata]",
                "2026-05-10T10:16[Asia/Kolkata]"
            ),
        );
    }

    #[test]
    fn windows_hold_now_and_follow_each_other_through_clock_changes() {
        let zones = [
            ("America/New_York", "2026-03-07T00:00[UTC]"),
            ("America/New_York", "2026-10-31T00:00[UTC]"),
            ("Australia/Lord_Howe", "2026-04-03T00:00[UTC]"),
            ("Australia/Lord_Howe", "2026-10-02T00:00[UTC]"),
            ("Asia/Kolkata", "2026-05-10T00:00[UTC]"),
        ];
        for (zone, from) in zones {
            let tz = tz(zone);
            for period in [Period::Minute, Period::Hour, Period::Day] {
                // Every 7 minutes for three days.
                for step in 0..3 * 24 * 60 / 7 {
                    let now = at(from) + step * 7 * 60_000;
                    let here = period.window(now, &tz, 0);
                    assert!(holds(here, now), "{period} at {now} in {zone}: {here:?}");
                    let end = here.end_ms.unwrap();
                    let next = period.window(end, &tz, 0);
                    assert_eq!(next.start_ms, end, "{period} after {now} in {zone}");
                }
            }
        }
    }

    #[test]
    fn whole_days_are_counted_from_when_the_budget_was_made() {
        let utc = tz("UTC");
        let made = at("2026-01-15T15:43[Europe/Berlin]");
        let thirty_days = 30 * 24 * HOUR_MS;
        let first = Window {
            start_ms: made,
            end_ms: Some(made + thirty_days),
        };
        assert_eq!(Period::Days(30).window(made, &utc, made), first);
        assert_eq!(
            Period::Days(30).window(made + thirty_days - 1, &utc, made),
            first
        );
        // A moment before the budget was made still sees its first window.
        assert_eq!(Period::Days(30).window(made - 5, &utc, made), first);
        // Exactly at the boundary is the next window.
        assert_eq!(
            Period::Days(30).window(made + thirty_days, &utc, made),
            Window {
                start_ms: made + thirty_days,
                end_ms: Some(made + 2 * thirty_days),
            },
        );
        // Whole days are 24 hours even across a clock change, and ignore the zone.
        let new_york = tz("America/New_York");
        let made = at("2026-03-07T12:00[America/New_York]");
        let second = Period::Days(1).window(made + 30 * HOUR_MS, &new_york, made);
        assert_eq!(second.start_ms, made + 24 * HOUR_MS);
        assert_eq!(second.end_ms, Some(made + 48 * HOUR_MS));
    }

    #[test]
    fn zero_days_counts_as_one_day() {
        let utc = tz("UTC");
        assert_eq!(
            Period::Days(0).window(5, &utc, 0),
            Window {
                start_ms: 0,
                end_ms: Some(24 * HOUR_MS)
            }
        );
    }

    #[test]
    fn total_runs_from_the_anchor_and_never_resets() {
        let made = at("2026-01-15T15:43[Europe/Berlin]");
        let later = at("2031-06-01T00:00[UTC]");
        assert_eq!(
            Period::Total.window(later, &tz("Asia/Shanghai"), made),
            Window {
                start_ms: made,
                end_ms: None
            },
        );
    }

    #[test]
    fn no_instant_or_anchor_makes_a_window_panic() {
        let periods = [
            Period::Minute,
            Period::Hour,
            Period::Day,
            Period::Week,
            Period::Month,
            Period::Year,
            Period::Total,
            Period::Days(0),
            Period::Days(1),
            Period::Days(30),
            Period::Days(u32::MAX),
        ];
        let zones = [
            "UTC",
            "America/New_York",
            "Asia/Shanghai",
            "Pacific/Kiritimati",
        ];
        let instants = [0, 1, i64::MAX as u64, u64::MAX - 1, u64::MAX];
        for period in periods {
            for zone in zones {
                let tz = tz(zone);
                for now in instants {
                    for anchor in [0, u64::MAX] {
                        let here = period.window(now, &tz, anchor);
                        if period.is_calendar() {
                            assert!(holds(here, now), "{period} at {now} in {zone}: {here:?}");
                        }
                    }
                }
            }
        }
        // A week that began before 1970 starts at 0.
        assert_eq!(
            Period::Week.window(0, &tz("UTC"), 0),
            from_to("1970-01-01T00:00[UTC]", "1970-01-05T00:00[UTC]"),
        );
        assert_eq!(Period::Day.window(u64::MAX, &tz("UTC"), 0).end_ms, None,);
    }

    #[test]
    fn periods_are_read_as_words() {
        let cases = [
            ("minute", Period::Minute),
            ("min", Period::Minute),
            ("hour", Period::Hour),
            ("hr", Period::Hour),
            ("day", Period::Day),
            ("week", Period::Week),
            ("month", Period::Month),
            ("year", Period::Year),
            ("total", Period::Total),
            ("30d", Period::Days(30)),
            ("1d", Period::Days(1)),
            ("3650d", Period::Days(3650)),
            (" Month ", Period::Month),
            ("MIN", Period::Minute),
            ("7D", Period::Days(7)),
        ];
        for (text, period) in cases {
            assert_eq!(Period::parse(text), Ok(period), "{text}");
        }
    }

    #[test]
    fn m_could_be_month_or_minute_so_it_is_refused() {
        for text in ["m", "mo", "mon", "M"] {
            assert_eq!(
                Period::parse(text).unwrap_err(),
                format!(
                    "`{text}` is not a period: write `month` or `minute` (a period is one of \
                     `minute` (or `min`), `hour` (or `hr`), `day`, `week`, `month`, `year`, \
                     `total`, or a number of days such as `30d`)"
                ),
            );
        }
    }

    #[test]
    fn unknown_periods_are_refused_with_the_words_that_work() {
        for text in [
            "h", "d", "w", "y", "months", "daily", "30", "d30", "+30d", "1.5d", "-1d",
        ] {
            assert_eq!(
                Period::parse(text).unwrap_err(),
                format!(
                    "`{text}` is not a period: write one of `minute` (or `min`), `hour` (or \
                     `hr`), `day`, `week`, `month`, `year`, `total`, or a number of days such \
                     as `30d`"
                ),
            );
        }
        assert!(
            Period::parse(" ")
                .unwrap_err()
                .starts_with("no period given: write one of")
        );
    }

    #[test]
    fn a_number_of_days_goes_from_one_to_ten_years() {
        for text in ["0d", "3651d", "99999999999d"] {
            assert_eq!(
                Period::parse(text).unwrap_err(),
                format!("`{text}` is not a period: a number of days goes from `1d` to `3650d`"),
            );
        }
    }

    #[test]
    fn periods_print_and_serialize_as_their_words() {
        let periods = [
            Period::Minute,
            Period::Hour,
            Period::Day,
            Period::Week,
            Period::Month,
            Period::Year,
            Period::Total,
            Period::Days(30),
        ];
        for period in periods {
            assert_eq!(Period::parse(&period.to_string()), Ok(period));
            let json = serde_json::to_string(&period).unwrap();
            assert_eq!(json, format!("\"{period}\""));
            assert_eq!(serde_json::from_str::<Period>(&json).unwrap(), period);
        }
        assert_eq!(Period::Days(30).to_string(), "30d");
        assert!(serde_json::from_str::<Period>("\"m\"").is_err());
        assert!(serde_json::from_str::<Period>("\"0d\"").is_err());
    }

    #[test]
    fn only_total_and_whole_days_ignore_the_calendar() {
        assert!(Period::Minute.is_calendar());
        assert!(Period::Hour.is_calendar());
        assert!(Period::Day.is_calendar());
        assert!(Period::Week.is_calendar());
        assert!(Period::Month.is_calendar());
        assert!(Period::Year.is_calendar());
        assert!(!Period::Total.is_calendar());
        assert!(!Period::Days(30).is_calendar());
    }

    #[test]
    fn time_zones_are_iana_names() {
        for name in ["Asia/Shanghai", "UTC", "Etc/UTC", " Europe/Berlin "] {
            assert!(parse_tz(name).is_ok(), "{name}");
        }
        for name in ["Mars/Olympus", "", "+08:00", "CEST"] {
            assert_eq!(
                parse_tz(name).unwrap_err(),
                format!(
                    "unknown time zone `{name}`: give an IANA name such as `Europe/Berlin`, \
                     `America/New_York` or `UTC`"
                ),
            );
        }
    }

    #[test]
    fn instants_print_as_local_time_and_the_zone_name() {
        let new_year = at("2027-01-01T00:00[UTC]");
        assert_eq!(
            format_instant(new_year, &tz("UTC"), "UTC"),
            "2027-01-01 00:00 UTC"
        );
        assert_eq!(
            format_instant(new_year, &tz("Etc/UTC"), "Etc/UTC"),
            "2027-01-01 00:00 UTC"
        );
        assert_eq!(
            format_instant(new_year, &tz("Asia/Shanghai"), "Asia/Shanghai"),
            "2027-01-01 08:00 Asia/Shanghai"
        );
        let shanghai_new_year = at("2027-01-01T00:00[Asia/Shanghai]");
        assert_eq!(
            format_instant(shanghai_new_year, &tz("Asia/Shanghai"), "Asia/Shanghai"),
            "2027-01-01 00:00 Asia/Shanghai"
        );
        // Past what jiff can place, the last instant it can.
        assert!(format_instant(u64::MAX, &tz("UTC"), "UTC").starts_with("9999-12-"));
    }

    #[test]
    fn budgets_are_an_amount_per_period() {
        let dollars = |n: u64| Nanodollars(n * 1_000_000_000);
        let cases = [
            ("500/month", dollars(500), Period::Month),
            ("$20/day", dollars(20), Period::Day),
            ("2000/30d", dollars(2000), Period::Days(30)),
            ("10/total", dollars(10), Period::Total),
            (" $1,000 / week ", dollars(1000), Period::Week),
        ];
        for (text, amount, period) in cases {
            assert_eq!(
                parse_money_limit(text),
                Ok(Limit { amount, period }),
                "{text}"
            );
        }
    }

    #[test]
    fn a_budget_without_a_period_is_refused() {
        assert_eq!(
            parse_money_limit("500").unwrap_err(),
            "`500` has no period: add one such as `/month`, as in `500/month`"
        );
        assert_eq!(
            parse_money_limit("abc/month").unwrap_err(),
            "`abc` is not an amount of US dollars: write it like `500`, `$500` or `500.50`"
        );
        assert!(
            parse_money_limit("500/mon")
                .unwrap_err()
                .contains("write `month` or `minute`")
        );
        assert!(
            parse_money_limit("/month")
                .unwrap_err()
                .starts_with("no amount")
        );
        assert!(
            parse_money_limit("500/")
                .unwrap_err()
                .starts_with("no period given")
        );
        assert_eq!(
            parse_money_limit(" ").unwrap_err(),
            "no limit given: write one such as `500/month`"
        );
        assert!(
            parse_money_limit("5/00/month")
                .unwrap_err()
                .starts_with("`5/00` is not")
        );
    }

    #[test]
    fn rates_are_a_count_per_period() {
        assert_eq!(
            parse_count_limit("60/min"),
            Ok(Limit {
                amount: 60,
                period: Period::Minute
            })
        );
        assert_eq!(
            parse_count_limit("2M/day"),
            Ok(Limit {
                amount: 2_000_000,
                period: Period::Day
            })
        );
        assert_eq!(
            parse_count_limit("100k/minute"),
            Ok(Limit {
                amount: 100_000,
                period: Period::Minute
            })
        );
        assert_eq!(
            parse_count_limit("60").unwrap_err(),
            "`60` has no period: add one such as `/min`, as in `60/min`"
        );
        assert!(
            parse_count_limit("2M/M")
                .unwrap_err()
                .contains("write `month` or `minute`")
        );
        assert!(
            parse_count_limit("$60/min")
                .unwrap_err()
                .starts_with("`$60` is not a count")
        );
    }
}
