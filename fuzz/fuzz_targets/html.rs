//! HTML listing extraction (found by itself and by configured selectors) and item-page
//! reading must never panic.
#![no_main]

use std::sync::LazyLock;

use kizashi::model::HtmlSelectors;
use kizashi::parse::{ParseContext, html};
use libfuzzer_sys::fuzz_target;
use url::Url;

static BASE: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://www.example.lg.jp/news/index.html").unwrap());

fn selectors(
    item: &str,
    title: Option<&str>,
    link: Option<&str>,
    date: Option<&str>,
    publisher: Option<&str>,
) -> HtmlSelectors {
    HtmlSelectors {
        item: Some(item.to_string()),
        title: title.map(str::to_string),
        link: link.map(str::to_string),
        date: date.map(str::to_string),
        publisher: publisher.map(str::to_string),
    }
}

/// Configurations like the built-in sources' (gov-online's aggregator listing among them).
static SELECTORS: LazyLock<Vec<HtmlSelectors>> = LazyLock::new(|| {
    vec![
        selectors(
            "ul.p-newsList li",
            Some(".p-newsList__title"),
            Some(".p-newsList__link"),
            Some(".p-newsList__date"),
            Some(".p-newsList__categoryLabel"),
        ),
        selectors("li", None, None, None, None),
        selectors("dl dd", Some("a"), Some("a"), Some("time"), None),
        selectors(
            "tr",
            Some("td:nth-child(2)"),
            None,
            Some("td:first-child"),
            None,
        ),
    ]
});

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext {
        base_url: &BASE,
        timezone: chrono_tz::Asia::Tokyo,
        http_charset: None,
        lang: "ja",
    };
    if let Ok(parsed) = html::parse_listing(data, &ctx, None) {
        assert!(parsed.items.len() <= kizashi::parse::MAX_ITEMS_PER_DOCUMENT);
    }
    // Selector runs cost a full parse each: one configuration per input, picked by its length.
    let s = &SELECTORS[data.len() % SELECTORS.len()];
    if let Ok(parsed) = html::parse_listing(data, &ctx, Some(s)) {
        assert!(parsed.items.len() <= kizashi::parse::MAX_ITEMS_PER_DOCUMENT);
    }
    let _ = html::detail(data, &ctx);
});
