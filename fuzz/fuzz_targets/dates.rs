//! Date reading: feed timestamps and dates printed in page text must never panic, and
//! `find_date`'s byte range must slice the input on character boundaries.
#![no_main]

use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use kizashi::parse::{dates, textdate};
use libfuzzer_sys::fuzz_target;

static NOW: LazyLock<DateTime<Utc>> =
    LazyLock::new(|| Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap());

/// Home zones of the configured sources, plus zones with odd DST rules and far offsets.
const ZONES: [chrono_tz::Tz; 8] = [
    chrono_tz::Asia::Tokyo,
    chrono_tz::America::New_York,
    chrono_tz::Europe::London,
    chrono_tz::Europe::Paris,
    chrono_tz::Australia::Sydney,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Pacific::Kiritimati,
    chrono_tz::America::St_Johns,
];

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(t) = dates::parse_feed_time(s) {
        for zone in ZONES {
            let framed = dates::in_publisher_frame(t, zone);
            let _ = dates::plausible(framed, *NOW);
            let _ = dates::date_in_zone(framed.date_naive(), zone);
        }
    }
    let found = textdate::find_date(s);
    if let Some(f) = found {
        assert!(f.start < f.end, "empty or reversed range {f:?} in {s:?}");
        assert!(
            s.get(f.start..f.end).is_some(),
            "range {f:?} is not a char-boundary slice of {s:?}"
        );
        for zone in ZONES {
            let _ = dates::date_in_zone(f.date, zone);
        }
    }
    if let Some(date) = textdate::parse_date(s) {
        // A whole-text date is a date found in that text.
        assert_eq!(
            textdate::find_date(s.trim()).map(|f| f.date),
            Some(date),
            "parse_date and find_date disagree on {s:?}"
        );
    }
});
