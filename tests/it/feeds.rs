//! Real-shaped fixtures through the feed parser: titles, links, identities, and dates by
//! report.md's rule.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use kizashi::model::RawItem;
use kizashi::parse::{self, ParseContext};
use url::Url;

use crate::common::fixture;

fn parse_with(
    path: &str,
    base: &str,
    zone: Tz,
    lang: &str,
    charset: Option<&str>,
) -> Result<parse::Parsed, parse::Error> {
    let base = Url::parse(base).unwrap();
    let ctx = ParseContext {
        base_url: &base,
        timezone: zone,
        http_charset: charset,
        lang,
    };
    let now: DateTime<Utc> = "2025-05-14T01:00:00Z".parse().unwrap();
    parse::feed::parse_feed(&fixture(path), &ctx, now)
}

fn items(path: &str, zone: Tz, lang: &str) -> Vec<RawItem> {
    parse_with(path, "https://feeds.example/feed", zone, lang, None)
        .unwrap()
        .items
}

fn date(item: &RawItem) -> String {
    item.published
        .map(|p| p.date_naive().to_string())
        .unwrap_or_else(|| "none".into())
}

fn find<'a>(items: &'a [RawItem], title_start: &str) -> &'a RawItem {
    items
        .iter()
        .find(|i| i.title.starts_with(title_start))
        .unwrap_or_else(|| {
            panic!(
                "no item starting {title_start:?} in {:?}",
                items.iter().map(|i| &i.title).collect::<Vec<_>>()
            )
        })
}

#[test]
fn cisa_two_digit_years_relative_guids_and_the_quarter_edge() {
    let items = items("feeds/cisa-all.xml", chrono_tz::America::New_York, "en");
    assert_eq!(items.len(), 5);
    let edge = find(
        &items,
        "CISA Releases Guidance on Hardening Network Edge Devices",
    );
    assert_eq!(
        edge.published.unwrap().to_rfc3339(),
        "2025-03-31T23:30:00-05:00"
    );
    assert_eq!(edge.identity, "guid:/node/21958");
    assert_eq!(
        edge.url,
        "https://www.cisa.gov/news-events/alerts/2025/03/31/cisa-releases-guidance-hardening-network-edge-devices"
    );
    // 12:00 UTC is the same day in New York.
    assert_eq!(date(find(&items, "CISA Adds Two Known")), "2025-02-11");
    assert_eq!(date(find(&items, "CISA Adds One Known")), "2024-12-31");
    // Entity-escaped HTML bodies come out as plain text.
    let kev = find(&items, "CISA Adds Two Known");
    assert!(
        !kev.summary.contains('<') && !kev.summary.contains("&nbsp;"),
        "{}",
        kev.summary
    );
}

#[test]
fn white_house_utc_dates_move_to_new_york_and_tracking_is_dropped() {
    let items = items("feeds/whitehouse.xml", chrono_tz::America::New_York, "en");
    let trust = find(&items, "White House Launches “U.S. Cyber Trust Mark”");
    assert_eq!(date(trust), "2025-01-07");
    assert!(!trust.url.contains("utm_"), "{}", trust.url);
    let water = find(&items, "National Security Council Convenes");
    assert_eq!(date(water), "2025-01-31");
    assert!(!water.url.contains('#'), "{}", water.url);
    assert_eq!(
        date(find(&items, "Statement from the National Security Advisor")),
        "2024-12-31"
    );
    assert_eq!(
        date(find(&items, "Fact Sheet: President Donald J. Trump")),
        "2025-03-31"
    );
}

#[test]
fn rdf_sequences_with_repeated_entries_count_once() {
    let items = items("feeds/ipa-alert.rdf", chrono_tz::Asia::Tokyo, "ja");
    assert_eq!(items.len(), 5);
    assert_eq!(
        date(find(&items, "「ファイル転送アプライアンス")),
        "2025-04-01"
    );
    assert_eq!(date(find(&items, "ランサムウェア被害の予防")), "2025-01-29");
}

#[test]
fn jpcert_weekly_report_topics_stay_apart() {
    let items = items("feeds/jpcert.rdf", chrono_tz::Asia::Tokyo, "ja");
    assert_eq!(items.len(), 6);
    let weekly: Vec<&RawItem> = items
        .iter()
        .filter(|i| i.title.starts_with("Weekly Report"))
        .collect();
    assert_eq!(weekly.len(), 3);
    let ids: std::collections::HashSet<&str> = weekly.iter().map(|i| i.identity.as_str()).collect();
    assert_eq!(ids.len(), 3, "fragments keep the topics apart: {ids:?}");
    assert!(weekly.iter().all(|i| date(i) == "2025-02-12"));
    // Whitespace is folded: the feed has two spaces before (公開).
    assert!(items.iter().any(|i| i.title.ends_with("注意喚起 (公開)")));
}

#[test]
fn the_record_comment_after_the_root_and_cdata() {
    let items = items("feeds/therecord.xml", chrono_tz::America::New_York, "en");
    assert_eq!(items.len(), 6);
    assert_eq!(date(find(&items, "Senators push")), "2025-03-31");
    assert_eq!(date(find(&items, "Police in five")), "2025-04-01");
}

#[test]
fn meti_atom_z_times_are_read_in_tokyo() {
    let items = items("feeds/meti.atom", chrono_tz::Asia::Tokyo, "ja");
    assert_eq!(items.len(), 5);
    assert_eq!(date(find(&items, "サプライチェーン強化")), "2025-04-01");
    assert_eq!(date(find(&items, "年末年始の長期休暇")), "2025-01-01");
    // The entry with an empty title is kept (its link identifies it).
    assert!(
        items
            .iter()
            .any(|i| i.title.is_empty() && i.url.ends_with("20250210001.html"))
    );
}

#[test]
fn shift_jis_feed_comes_out_as_unicode() {
    let parsed = parse_with(
        "feeds/soumu-sjis.rdf",
        "https://www.soumu.go.jp/news.rdf",
        chrono_tz::Asia::Tokyo,
        "ja",
        None,
    )
    .unwrap();
    assert_eq!(parsed.encoding, "Shift_JIS");
    assert_eq!(parsed.items.len(), 4);
    assert_eq!(
        date(find(&parsed.items, "電気通信事業者における通信障害")),
        "2025-02-18"
    );
}

#[test]
fn json_feed_offsets_and_undated_items() {
    let items = items("feeds/feed.json", chrono_tz::America::New_York, "en");
    assert_eq!(items.len(), 3);
    assert_eq!(date(find(&items, "Japan warns of DDoS")), "2025-01-01");
    assert_eq!(date(find(&items, "Comment period closes")), "2025-03-31");
    assert_eq!(date(find(&items, "Explainer:")), "none", "no made-up date");
}

#[test]
fn shared_guids_fall_back_to_links_never_titles() {
    let items = items("feeds/shared-guid.xml", chrono_tz::America::New_York, "en");
    assert_eq!(items.len(), 4);
    assert!(
        items.iter().all(|i| i.identity.starts_with("link:")),
        "{:?}",
        items.iter().map(|i| &i.identity).collect::<Vec<_>>()
    );
}

#[test]
fn feeds_without_guids_use_links_and_drop_items_without_either() {
    let parsed = parse_with(
        "feeds/no-guid.xml",
        "https://feeds.example/feed",
        chrono_tz::Europe::London,
        "en",
        None,
    )
    .unwrap();
    assert_eq!(parsed.items.len(), 3);
    assert_eq!(parsed.skipped.len(), 1, "{:?}", parsed.skipped);
    assert!(parsed.items.iter().all(|i| i.identity.starts_with("link:")));
}

#[test]
fn an_html_page_is_not_a_feed() {
    let err = parse_with(
        "feeds/garbage.xml",
        "https://feeds.example/feed",
        chrono_tz::UTC,
        "en",
        None,
    )
    .unwrap_err();
    assert!(matches!(err, parse::Error::HtmlNotFeed), "{err}");
}
