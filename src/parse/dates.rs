//! Feed timestamps, read so that each keeps the offset its feed states.
//!
//! report.md's rule: the publication date is the date part of the timestamp in the offset the
//! feed states; where the feed states UTC (`Z`, `+0000`, `GMT`) the date is taken in the
//! publisher's home zone; a time with no zone at all is the publisher's local time.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use regex::Regex;

/// Earliest publication year believed: older dates are placeholders (1970, 1900 …).
pub const EARLIEST_YEAR: i32 = 1990;

/// A timestamp as a feed wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedTime {
    /// The instant with the offset the feed stated (UTC when it stated none).
    pub time: DateTime<FixedOffset>,
    /// True when the feed stated UTC (`Z`, `+0000`, `GMT`, `UT`) or no zone at all.
    pub zone_is_utc_or_absent: bool,
    /// True when the feed gave a wall-clock time with no zone.
    pub naive: bool,
}

/// Reads a feed timestamp: RFC 3339 / W3C-DTF, RFC 822/2822/1123 with their common
/// deviations (two-digit years, named zones, missing seconds or weekday), and bare dates.
pub fn parse_feed_time(raw: &str) -> Option<FeedTime> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(stated(
            t,
            s.ends_with('Z') || s.ends_with('z') || t.offset().local_minus_utc() == 0,
        ));
    }
    parse_iso_like(s).or_else(|| parse_rfc822_like(s))
}

/// The publication time in the publisher's frame: its date part is the publication date.
pub fn in_publisher_frame(t: FeedTime, zone: chrono_tz::Tz) -> DateTime<FixedOffset> {
    if t.naive {
        let local = t.time.naive_local();
        return match zone.from_local_datetime(&local).earliest() {
            Some(z) => z.fixed_offset(),
            // A wall-clock time skipped by a DST change: shift it past the gap.
            None => zone
                .from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
                .map(|z| z.fixed_offset())
                .unwrap_or(t.time),
        };
    }
    if t.zone_is_utc_or_absent {
        t.time.with_timezone(&zone).fixed_offset()
    } else {
        t.time
    }
}

/// A date-only publication (a listing page, a date element): midnight in the publisher's zone.
pub fn date_in_zone(date: NaiveDate, zone: chrono_tz::Tz) -> DateTime<FixedOffset> {
    let midnight = date.and_time(NaiveTime::MIN);
    zone.from_local_datetime(&midnight)
        .earliest()
        .map(|z| z.fixed_offset())
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight).fixed_offset())
}

/// True for dates a publisher can really have published on.
pub fn plausible(t: DateTime<FixedOffset>, now: DateTime<Utc>) -> bool {
    t.year() >= EARLIEST_YEAR && t.with_timezone(&Utc) <= now + chrono::Duration::days(2)
}

fn stated(time: DateTime<FixedOffset>, utc: bool) -> FeedTime {
    FeedTime {
        time,
        zone_is_utc_or_absent: utc,
        naive: false,
    }
}

static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$",
    )
    .expect("valid regex")
});

fn parse_iso_like(s: &str) -> Option<FeedTime> {
    let c = ISO.captures(s)?;
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let year: i32 = c.get(1)?.as_str().parse().ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(2)?, num(3)?)?;
    let time = NaiveTime::from_hms_opt(
        num(4).unwrap_or(0),
        num(5).unwrap_or(0),
        num(6).unwrap_or(0),
    )?;
    build(date.and_time(time), c.get(7).map(|m| m.as_str()))
}

static RFC822: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:[a-z]+\.?,?\s*)?(\d{1,2})[\s-]+([a-zéû]+)\.?[\s-]+(\d{2,4})(?:[\sT,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*([a-z]{1,5}|[+-]\d{2}:?\d{2})?\s*(?:\([a-z ]+\))?$",
    )
    .expect("valid regex")
});

/// `Mon, 31 Aug 26 12:00:00 +0000`, `Tue, 7 Jan 2025 15:30 GMT`, `07 Jan 2025 10:30:00 EST`
fn parse_rfc822_like(s: &str) -> Option<FeedTime> {
    let c = RFC822.captures(s)?;
    let day: u32 = c.get(1)?.as_str().parse().ok()?;
    let month = month_number(c.get(2)?.as_str())?;
    let year_text = c.get(3)?.as_str();
    let mut year: i32 = year_text.parse().ok()?;
    if year_text.len() == 2 {
        // RFC 2822 §4.3: two-digit years below 50 are 20xx.
        year += if year < 50 { 2000 } else { 1900 };
    } else if year_text.len() == 3 {
        year += 1900;
    }
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::from_hms_opt(
        num(4).unwrap_or(0),
        num(5).unwrap_or(0),
        num(6).unwrap_or(0),
    )?;
    build(date.and_time(time), c.get(7).map(|m| m.as_str()))
}

fn build(local: NaiveDateTime, zone: Option<&str>) -> Option<FeedTime> {
    let Some(zone) = zone else {
        let time = Utc.from_utc_datetime(&local).fixed_offset();
        return Some(FeedTime {
            time,
            zone_is_utc_or_absent: true,
            naive: true,
        });
    };
    let seconds = zone_offset_seconds(zone)?;
    let offset = FixedOffset::east_opt(seconds)?;
    let time = offset.from_local_datetime(&local).single()?;
    Some(stated(time, seconds == 0))
}

fn zone_offset_seconds(zone: &str) -> Option<i32> {
    let z = zone.trim();
    if let Some(sign) = z
        .strip_prefix('+')
        .map(|r| (1, r))
        .or_else(|| z.strip_prefix('-').map(|r| (-1, r)))
    {
        let digits: String = sign.1.chars().filter(|c| c.is_ascii_digit()).collect();
        let (h, m) = match digits.len() {
            2 => (digits.parse::<i32>().ok()?, 0),
            4 => (
                digits[..2].parse::<i32>().ok()?,
                digits[2..].parse::<i32>().ok()?,
            ),
            _ => return None,
        };
        if h > 14 || m > 59 {
            return None;
        }
        return Some(sign.0 * (h * 3600 + m * 60));
    }
    let hours = match z.to_ascii_uppercase().as_str() {
        "Z" | "UT" | "UTC" | "GMT" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "JST" | "KST" => 9,
        "BST" | "CET" => 1,
        "CEST" | "EET" => 2,
        "EEST" => 3,
        "AEST" => 10,
        "AEDT" => 11,
        _ => return None,
    };
    Some(hours * 3600)
}

fn month_number(name: &str) -> Option<u32> {
    const PREFIXES: [(&str, u32); 17] = [
        ("jan", 1),
        ("feb", 2),
        ("fév", 2),
        ("fev", 2),
        ("mar", 3),
        ("apr", 4),
        ("avr", 4),
        ("may", 5),
        ("mai", 5),
        ("jun", 6),
        ("juin", 6),
        ("jul", 7),
        ("juil", 7),
        ("aug", 8),
        ("ao", 8),
        ("sep", 9),
        ("oct", 10),
    ];
    let n = name.to_lowercase();
    // Longest prefix first so that "juin" and "juil" are told apart.
    let mut best: Option<(usize, u32)> = None;
    for (prefix, month) in PREFIXES
        .iter()
        .chain([("nov", 11), ("dec", 12), ("déc", 12)].iter())
    {
        if n.starts_with(prefix) && best.is_none_or(|(len, _)| prefix.len() > len) {
            best = Some((prefix.len(), *month));
        }
    }
    best.map(|(_, m)| m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Asia, Europe};

    fn date_of(raw: &str, zone: chrono_tz::Tz) -> String {
        let t = parse_feed_time(raw).unwrap_or_else(|| panic!("{raw:?} did not parse"));
        in_publisher_frame(t, zone).to_rfc3339()
    }

    #[test]
    fn the_feed_offset_decides_the_date() {
        assert_eq!(
            date_of("Mon, 31 Mar 2025 23:30:00 -0500", America::New_York),
            "2025-03-31T23:30:00-05:00"
        );
        assert_eq!(
            date_of("Wed, 05 Mar 2025 14:00:00 -0500", Asia::Tokyo),
            "2025-03-05T14:00:00-05:00"
        );
        assert_eq!(
            date_of("2025-02-12T09:00:00+09:00", America::New_York),
            "2025-02-12T09:00:00+09:00"
        );
    }

    #[test]
    fn utc_feeds_are_read_in_the_publishers_zone() {
        assert_eq!(
            date_of("Tue, 07 Jan 2025 15:30:00 +0000", America::New_York),
            "2025-01-07T10:30:00-05:00"
        );
        assert_eq!(
            date_of("Sat, 01 Feb 2025 02:30:00 GMT", America::New_York),
            "2025-01-31T21:30:00-05:00"
        );
        assert_eq!(
            date_of("2025-03-31T16:00:00Z", Asia::Tokyo),
            "2025-04-01T01:00:00+09:00"
        );
        assert_eq!(
            date_of("Thu, 20 Aug 2026 12:00:00 +0000", Europe::London),
            "2026-08-20T13:00:00+01:00"
        );
    }

    #[test]
    fn deviations_seen_in_real_feeds() {
        // CISA: two-digit year.
        assert_eq!(
            date_of("Mon, 31 Aug 26 12:00:00 +0000", America::New_York),
            "2026-08-31T08:00:00-04:00"
        );
        // Named zones, missing seconds, missing weekday.
        assert_eq!(
            date_of("7 Jan 2025 10:30 EST", Asia::Tokyo),
            "2025-01-07T10:30:00-05:00"
        );
        assert_eq!(
            date_of("Tue, 7 Jan 2025 10:30:00 JST", Asia::Tokyo),
            "2025-01-07T10:30:00+09:00"
        );
        // Naive local time: the publisher's zone.
        assert_eq!(
            date_of("2026-09-22 13:31", Asia::Tokyo),
            "2026-09-22T13:31:00+09:00"
        );
        assert_eq!(
            date_of("2025-01-31", Asia::Tokyo),
            "2025-01-31T00:00:00+09:00"
        );
        // A wrong weekday does not lose the date.
        assert_eq!(
            date_of("Fri, 07 Jan 2025 10:00:00 +0100", Europe::Paris),
            "2025-01-07T10:00:00+01:00"
        );
        assert!(parse_feed_time("not a date").is_none());
        assert!(parse_feed_time("").is_none());
        assert!(parse_feed_time("Tue, 32 Jan 2025 10:00:00 GMT").is_none());
    }

    #[test]
    fn implausible_dates() {
        let now = Utc::now();
        let t = |s| DateTime::parse_from_rfc3339(s).unwrap();
        assert!(!plausible(t("1970-01-01T00:00:00Z"), now));
        assert!(!plausible(t("9999-12-31T00:00:00Z"), now));
        assert!(plausible(t("2025-01-07T00:00:00Z"), now));
    }
}
