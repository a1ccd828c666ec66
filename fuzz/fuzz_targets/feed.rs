//! Feed extraction (RSS, RDF, Atom, JSON Feed in any encoding) must never panic.
#![no_main]

use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use kizashi::parse::{ParseContext, feed::parse_feed};
use libfuzzer_sys::fuzz_target;
use url::Url;

static BASE: LazyLock<Url> = LazyLock::new(|| Url::parse("http://example.org/feed").unwrap());
static NOW: LazyLock<DateTime<Utc>> =
    LazyLock::new(|| Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap());

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext {
        base_url: &BASE,
        timezone: chrono_tz::Asia::Tokyo,
        http_charset: None,
        lang: "ja",
    };
    if let Ok(parsed) = parse_feed(data, &ctx, *NOW) {
        assert!(parsed.items.len() <= kizashi::parse::MAX_ITEMS_PER_DOCUMENT);
    }
});
