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
    let (year, month, day, hour, minute, second, zone) =
        minutes_only_w3c(s).or_else(|| captured_fields(&ISO, s))?;
    let num = |t: Option<&str>| t.and_then(|t| t.parse::<u32>().ok());
    let year: i32 = year.parse().ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(Some(month))?, num(Some(day))?)?;
    let time = NaiveTime::from_hms_opt(
        num(hour).unwrap_or(0),
        num(minute).unwrap_or(0),
        num(second).unwrap_or(0),
    )?;
    build(date.and_time(time), zone)
}

/// `YYYY-MM-DDThh:mm±hh:mm` or `…Z`, W3C-DTF without seconds (JVN, IPA), split without the
/// regex: [`ISO`] captures exactly these fields from such a text.
fn minutes_only_w3c(s: &str) -> Option<DateFields<'_>> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let shape = (b.len() == 17 && b[16] == b'Z')
        || (b.len() == 22 && matches!(b[16], b'+' | b'-') && b[19] == b':' && digits(17..19));
    if !(shape
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && (b.len() == 17 || digits(20..22)))
    {
        return None;
    }
    Some((
        &s[0..4],
        &s[5..7],
        &s[8..10],
        Some(&s[11..13]),
        Some(&s[14..16]),
        None,
        Some(&s[16..]),
    ))
}

static RFC822: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:[a-z]+\.?,?\s*)?(\d{1,2})[\s-]+([a-zéû]+)\.?[\s-]+(\d{2,4})(?:[\sT,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*([a-z]{1,5}|[+-]\d{2}:?\d{2})?\s*(?:\([a-z ]+\))?$",
    )
    .expect("valid regex")
});

/// The fields of a timestamp as written: day, month, year (year, month, day for ISO), hour,
/// minute, second, zone.
type DateFields<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

/// A date regex's seven groups (three required, four optional) as [`DateFields`]: the slow
/// path behind the hand-written readers of the usual shapes.
fn captured_fields<'a>(regex: &Regex, s: &'a str) -> Option<DateFields<'a>> {
    let c = regex.captures(s)?;
    let text = |i: usize| c.get(i).map(|m| m.as_str());
    Some((
        text(1)?,
        text(2)?,
        text(3)?,
        text(4),
        text(5),
        text(6),
        text(7),
    ))
}

/// `Mon, 31 Aug 26 12:00:00 +0000`, `Tue, 7 Jan 2025 15:30 GMT`, `07 Jan 2025 10:30:00 EST`
fn parse_rfc822_like(s: &str) -> Option<FeedTime> {
    let (day, month, year_text, hour, minute, second, zone) =
        strict_rfc822(s).or_else(|| captured_fields(&RFC822, s))?;
    let day: u32 = day.parse().ok()?;
    let month = month_number(month)?;
    let mut year: i32 = year_text.parse().ok()?;
    if year_text.len() == 2 {
        // RFC 2822 §4.3: two-digit years below 50 are 20xx.
        year += if year < 50 { 2000 } else { 1900 };
    } else if year_text.len() == 3 {
        year += 1900;
    }
    let num = |t: Option<&str>| t.and_then(|t| t.parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::from_hms_opt(
        num(hour).unwrap_or(0),
        num(minute).unwrap_or(0),
        num(second).unwrap_or(0),
    )?;
    build(date.and_time(time), zone)
}

/// `Www, D[D] Mon YY[YY] HH:MM:SS ZONE` (ZONE letters or `±hhmm`), the shape nearly every RSS
/// feed writes, split without the regex. [`RFC822`] captures exactly these fields from such a
/// text; any other shape is left to it.
fn strict_rfc822(s: &str) -> Option<DateFields<'_>> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let letters = |r: std::ops::Range<usize>| {
        b.get(r)
            .is_some_and(|d| d.iter().all(u8::is_ascii_alphabetic))
    };
    if !(letters(0..3) && b.get(3..5)? == b", ") {
        return None;
    }
    let day_len = if b.get(6) == Some(&b' ') { 1 } else { 2 };
    let d = 5 + day_len;
    // CISA writes two-digit years.
    let year_len = if b.get(d + 7) == Some(&b' ') { 2 } else { 4 };
    // `t`: where the time starts; `z`: where the zone starts.
    let t = d + 6 + year_len;
    if !(digits(5..d)
        && b.get(d) == Some(&b' ')
        && letters(d + 1..d + 4)
        && b.get(d + 4) == Some(&b' ')
        && digits(d + 5..t - 1)
        && b.get(t - 1) == Some(&b' ')
        && digits(t..t + 2)
        && b.get(t + 2) == Some(&b':')
        && digits(t + 3..t + 5)
        && b.get(t + 5) == Some(&b':')
        && digits(t + 6..t + 8)
        && b.get(t + 8) == Some(&b' '))
    {
        return None;
    }
    let z = t + 9;
    let zone = &b[z.min(b.len())..];
    let zone_ok = match zone.first() {
        Some(b'+' | b'-') => zone.len() == 5 && digits(z + 1..z + 5),
        _ => (1..=5).contains(&zone.len()) && letters(z..b.len()),
    };
    if !zone_ok {
        return None;
    }
    Some((
        &s[5..d],
        &s[d + 1..d + 4],
        &s[d + 5..t - 1],
        Some(&s[t..t + 2]),
        Some(&s[t + 3..t + 5]),
        Some(&s[t + 6..t + 8]),
        Some(&s[z..]),
    ))
}

/// What feed-rs 3.0.0's default timestamp parser (`parse_timestamp_lenient`) returns for a text,
/// given to feed-rs in its place. feed-rs's copy rewrites every text with up to eleven regex
/// replacements, each a new `String`; this one answers the two shapes nearly every feed writes
/// directly, where those rewrites provably change nothing, and runs the same rewrites on the
/// rest. The result is used only where kizashi's own reading finds no time.
pub fn feed_rs_timestamp(original: &str) -> Option<DateTime<Utc>> {
    let s = original.trim();
    let b = s.as_bytes();
    // The RFC 3339 rewrites fire only on a sign followed by four digits or a text ending in
    // `-dd`; without either the text is parsed as it is.
    let sign_and_four_digits = b
        .windows(5)
        .any(|w| matches!(w[0], b'+' | b'-') && w[1..].iter().all(u8::is_ascii_digit));
    let dash_and_two_digits_at_end =
        b.len() >= 3 && b[b.len() - 3] == b'-' && b[b.len() - 2..].iter().all(u8::is_ascii_digit);
    if !sign_and_four_digits && !dash_and_two_digits_at_end {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(t.with_timezone(&Utc));
        }
    }
    // W3C-DTF without seconds is none of the formats feed-rs tries, and none of its rewrites
    // apply to it.
    if minutes_only_w3c(s).is_some() {
        return None;
    }
    // `Www, DD Mon YY[YY] HH:MM:SS ±hhmm|GMT|UT` with an English weekday and month as
    // written: no RFC 3339 reading starts with a letter, and of the RFC 2822 rewrites only
    // the weekday's removal applies (hour 24 and `UTC` are left to the rewrites).
    if let Some((_, month, _, Some(hour), _, _, Some(zone))) = strict_rfc822(s)
        && ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].contains(&&s[..3])
        && FEED_RS_MONTHS.contains(&month)
        && hour != "24"
        && (matches!(zone, "GMT" | "UT") || zone.starts_with(['+', '-']))
        && let Ok(t) = DateTime::parse_from_rfc2822(&s[5..])
    {
        return Some(t.with_timezone(&Utc));
    }
    feed_rs_rewritten(original)
}

const FEED_RS_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// feed-rs 3.0.0's rewrites (`parser::util::fixes`, MIT), applied as it applies them: each
/// regex replaces its first match only, in this order.
static FEED_RS_RFC3339: LazyLock<[(Regex, &str); 2]> = LazyLock::new(|| {
    [
        (
            Regex::new(r"(\+|-)(\d{2})(\d{2})").expect("valid regex"),
            "${1}${2}:${3}",
        ),
        (
            Regex::new(r"-\d{2}$").expect("valid regex"),
            "${0}T00:00:00+00:00",
        ),
    ]
});
static FEED_RS_RFC2822: LazyLock<[(Regex, &str); 6]> = LazyLock::new(|| {
    [
        (Regex::new("(UTC|-0000$)").expect("valid regex"), "+0000"),
        (
            Regex::new("(Sun|Mon|Tue|Wed|Thu|Fri|Sat)[a-z]*, ").expect("valid regex"),
            "",
        ),
        (
            Regex::new("(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*")
                .expect("valid regex"),
            "$1",
        ),
        (
            Regex::new("(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\\d{1,2}) (\\d{4})")
                .expect("valid regex"),
            "$2 $1 $3",
        ),
        (Regex::new(" 24:").expect("valid regex"), " 00:"),
        (Regex::new(" ([0-9]):").expect("valid regex"), " 0${1}:"),
    ]
});
static FEED_RS_RFC1123: LazyLock<[(Regex, &str); 2]> = LazyLock::new(|| {
    [
        (Regex::new(" Z$").expect("valid regex"), " +0000"),
        (Regex::new("^[[:alpha:]]{3}, ").expect("valid regex"), ""),
    ]
});

fn feed_rs_rewritten(original: &str) -> Option<DateTime<Utc>> {
    let rewrite = |fixes: &[(Regex, &str)]| {
        let mut cleaned = original.trim().to_string();
        for (regex, replacement) in fixes {
            cleaned = regex.replace(&cleaned, *replacement).to_string();
        }
        cleaned
    };
    DateTime::parse_from_rfc3339(rewrite(&*FEED_RS_RFC3339).trim())
        .or_else(|_| DateTime::parse_from_rfc2822(&rewrite(&*FEED_RS_RFC2822)))
        .or_else(|_| DateTime::parse_from_str(&rewrite(&*FEED_RS_RFC1123), "%d %b %Y %H:%M:%S %z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
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

    const SHAPES: [&str; 35] = [
        "Mon, 31 Aug 26 12:00:00 +0000",
        "Thu, 1 Jan 70 00:00:00 GMT",
        "2025-03-31T20:27-05:00",
        "2025-03-31T20:27Z",
        "2025-03-31T20:27+0900",
        "Tue, 15 Nov 2022 20:15:04 +0000",
        "Tue, 15 Nov 2022 20:15:04 -0000",
        "Tue, 15 Nov 2022 20:15:04 GMT",
        "Tue, 15 Nov 2022 20:15:04 UT",
        "Tue, 15 Nov 2022 20:15:04 UTC",
        "Tue, 15 Nov 2022 20:15:04 Z",
        "Tue, 15 Nov 2022 20:15:04 JST",
        "Tue, 15 Nov 2022 24:15:04 +0900",
        "Tue, 5 Nov 2022 20:15:04 +0930",
        "Fri, 15 Nov 2022 20:15:04 +0100",
        "Thurs, 13 Jul 2011 07:38:00 GMT",
        "tue, 15 nov 2022 20:15:04 +0000",
        "Tue, 15 November 2022 20:15:04 +0000",
        "Tue, 15 Nov 22 20:15:04 +0000",
        "Tue, 15 Nov 2022 20:15 +0000",
        "Tue, 15 Nov 2022 9:15:04 +0000",
        "Tue, Nov 15 2022 20:15:04 +0000",
        "Tue, 31 Feb 2022 20:15:04 +0000",
        "Tue, 15 Nov 2022 20:15:60 +0000",
        "Tue, 15 Nov 2022 20:15:04 +2500",
        "15 Nov 2022 20:15:04 +0000",
        "2025-03-31T20:27:00+09:00",
        "2025-03-31T20:27:00.123Z",
        "2025-03-31t20:27:00z",
        "2025-03-31 20:27:00+09:00",
        "2025-03-31T20:27:00+0900",
        "2025-03-31T20:27+09:00",
        "2025-03-31",
        "  2025-03-31T20:27:00-05:00 ",
        "not a date",
    ];

    #[test]
    fn feed_rs_timestamps_are_what_feed_rs_reads() {
        for text in SHAPES {
            let doc = format!(
                "<rss version=\"2.0\"><channel><item><pubDate>{text}</pubDate></item></channel></rss>"
            );
            let feed_rs = feed_rs::parser::parse(doc.as_bytes()).unwrap().entries[0].published;
            assert_eq!(feed_rs_timestamp(text), feed_rs, "{text:?}");
            assert_eq!(feed_rs_rewritten(text), feed_rs, "{text:?}");
        }
    }

    /// Reads each shape (and `extra`) with `fast`; every field it reads must be the capture of
    /// `regex`, the reader it stands in for. Returns how many shapes `fast` read.
    fn fields_are_captures(
        fast: fn(&str) -> Option<DateFields<'_>>,
        regex: &Regex,
        extra: &[&str],
    ) -> usize {
        let mut read = 0;
        for text in SHAPES.iter().map(|s| s.trim()).chain(extra.iter().copied()) {
            let Some(fields) = fast(text) else {
                continue;
            };
            read += 1;
            assert_eq!(Some(fields), captured_fields(regex, text), "{text:?}");
        }
        read
    }

    #[test]
    fn minutes_only_w3c_fields_are_the_regex_captures() {
        assert_eq!(fields_are_captures(minutes_only_w3c, &ISO, &[]), 3);
    }

    #[test]
    fn strict_rfc822_fields_are_the_regex_captures() {
        let extra = ["Tue, 15 Nov 2022 20:15:04 ABCDEF"];
        assert_eq!(fields_are_captures(strict_rfc822, &RFC822, &extra), 17);
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
