//! What a hostile or broken server may send, straight into the parsers: each ends with a clean
//! error or a bounded result, never a panic, a hang or an outside request.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kizashi::parse::{self, ParseContext};
use url::Url;

fn feed(bytes: &[u8]) -> Result<parse::Parsed, parse::Error> {
    feed_with(bytes, None)
}

fn feed_with(bytes: &[u8], charset: Option<&str>) -> Result<parse::Parsed, parse::Error> {
    let base = Url::parse("https://feeds.example/feed").unwrap();
    let ctx = ParseContext {
        base_url: &base,
        timezone: chrono_tz::UTC,
        http_charset: charset,
        lang: "en",
    };
    let now: DateTime<Utc> = "2025-05-14T00:00:00Z".parse().unwrap();
    parse::feed::parse_feed(bytes, &ctx, now)
}

fn rss(items: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>"
    )
}

fn item(title: &str, link: &str, date: &str) -> String {
    format!("<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate></item>")
}

#[test]
fn billion_laughs_is_not_expanded() {
    let mut doc = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for i in 1..=9 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        doc.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    doc.push_str("]>");
    doc.push_str(
        &rss(&item(
            "&lol9;",
            "https://x.example/a",
            "Tue, 07 Jan 2025 10:00:00 GMT",
        ))[21..],
    );
    let started = Instant::now();
    let result = feed(doc.as_bytes());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no expansion: {:?}",
        started.elapsed()
    );
    if let Ok(parsed) = result {
        assert!(
            parsed.items.iter().all(|i| i.title.len() < 100),
            "entity left unexpanded"
        );
    }
}

#[test]
fn external_entities_are_never_read() {
    let doc = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\"><!ENTITY web SYSTEM \"http://127.0.0.1:9/x\">]>{}",
        &rss(&item(
            "a &xxe; b &web;",
            "https://x.example/a",
            "Tue, 07 Jan 2025 10:00:00 GMT"
        ))[21..]
    );
    if let Ok(parsed) = feed(doc.as_bytes()) {
        for i in &parsed.items {
            assert!(
                !i.title.contains("root:") && !i.summary.contains("root:"),
                "{i:?}"
            );
        }
    }
}

#[test]
fn deep_nesting_is_refused() {
    let depth = 70_000;
    let doc = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>{}{}</channel></rss>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    );
    let err = feed(doc.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("nested deeper"), "{err}");
}

#[test]
fn huge_attributes_and_many_attributes_stay_bounded() {
    let many: String = (0..50_000).map(|i| format!(" a{i}=\"x\"")).collect();
    let doc = rss(&format!(
        "<item{many}><title>t</title><link>https://x.example/a</link></item>"
    ));
    let started = Instant::now();
    let _ = feed(doc.as_bytes());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let huge = format!(
        "<item><title x=\"{}\">t</title><link>https://x.example/a</link></item>",
        "y".repeat(5 * 1024 * 1024)
    );
    let _ = feed(rss(&huge).as_bytes());
}

#[test]
fn invalid_utf8_and_lying_charsets() {
    // Declared UTF-8 with one stray windows-1252 byte: the item survives with U+FFFD.
    let mut bytes = rss(&item(
        "caf",
        "https://x.example/a",
        "Tue, 07 Jan 2025 10:00:00 GMT",
    ))
    .into_bytes();
    let at = bytes.windows(3).position(|w| w == b"caf").unwrap() + 3;
    bytes.insert(at, 0xE9);
    let parsed = feed(&bytes).unwrap();
    assert_eq!(parsed.items.len(), 1);
    assert!(parsed.items[0].title.starts_with("caf"));
    // The server says ISO-8859-1 but the bytes are UTF-8 Japanese: read as UTF-8.
    let jp = rss(&item(
        "重要インフラ",
        "https://x.example/b",
        "Tue, 07 Jan 2025 10:00:00 GMT",
    ));
    let parsed = feed_with(jp.as_bytes(), Some("iso-8859-1")).unwrap();
    assert_eq!(parsed.items[0].title, "重要インフラ");
}

#[test]
fn impossible_dates_are_no_dates() {
    let doc = rss(&[
        item(
            "future",
            "https://x.example/1",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ),
        item(
            "epoch",
            "https://x.example/2",
            "Thu, 01 Jan 1970 00:00:00 GMT",
        ),
        item(
            "fine",
            "https://x.example/3",
            "Tue, 07 Jan 2025 10:00:00 GMT",
        ),
    ]
    .concat());
    let parsed = feed(doc.as_bytes()).unwrap();
    let dated: Vec<bool> = parsed.items.iter().map(|i| i.published.is_some()).collect();
    assert_eq!(dated, [false, false, true]);
}

#[test]
fn thousands_of_items_are_capped() {
    let items: String = (0..5000)
        .map(|i| {
            item(
                &format!("n{i}"),
                &format!("https://x.example/{i}"),
                "Tue, 07 Jan 2025 10:00:00 GMT",
            )
        })
        .collect();
    let parsed = feed(rss(&items).as_bytes()).unwrap();
    assert_eq!(parsed.items.len(), parse::MAX_ITEMS_PER_DOCUMENT);
    assert_eq!(
        parsed.items[0].title, "n0",
        "document order: the newest first"
    );
}

#[test]
fn truncated_empty_and_wrong_documents_fail_cleanly() {
    let full = rss(&item(
        "t",
        "https://x.example/a",
        "Tue, 07 Jan 2025 10:00:00 GMT",
    ));
    for cut in [10, 40, full.len() / 2, full.len() - 5] {
        let _ = feed(&full.as_bytes()[..cut]);
    }
    assert!(matches!(feed(b""), Err(parse::Error::Empty)));
    assert!(matches!(feed(b"   \n"), Err(parse::Error::Empty)));
    assert!(feed(b"{\"version\": \"not a feed\"").is_err());
    assert!(feed(b"\x00\x01\x02\x03").is_err());
    assert!(matches!(
        feed(b"<!DOCTYPE html><html><body>Just a moment...</body></html>"),
        Err(parse::Error::HtmlNotFeed)
    ));
}

#[test]
fn rss_without_a_version_is_still_read() {
    let doc = "<?xml version=\"1.0\"?><rss><channel><title>t</title><item><title>x</title><link>https://x.example/a</link></item></channel></rss>";
    match feed(doc.as_bytes()) {
        Ok(parsed) => assert_eq!(parsed.items.len(), 1),
        Err(e) => panic!("version-less RSS: {e}"),
    }
}

#[test]
fn rss_with_an_odd_version_is_read_as_2() {
    for root in [
        "<rss version=\"2.00\">",
        "<rss version='2'>",
        "<rss xmlns:dc=\"http://purl.org/dc/elements/1.1/\">",
    ] {
        let doc = format!(
            "<?xml version=\"1.0\"?>{root}<channel><title>t</title><item><title>x</title><link>https://x.example/a</link></item></channel></rss>"
        );
        assert_eq!(
            feed(doc.as_bytes())
                .unwrap_or_else(|e| panic!("{root}: {e}"))
                .items
                .len(),
            1,
            "{root}"
        );
    }
}
