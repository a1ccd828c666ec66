//! HTML listing pages (UTF-8, Shift_JIS, EUC-JP, undeclared) against their goldens, with the
//! configured selectors and with automatic listing detection.

use std::path::Path;

use kizashi::model::HtmlSelectors;
use kizashi::parse::{self, ParseContext};
use serde::Deserialize;
use url::Url;

#[derive(Deserialize)]
struct Golden {
    page_url: String,
    encoding: String,
    selectors: Sel,
    items: Vec<Expected>,
}

#[derive(Deserialize)]
struct Sel {
    item: Option<String>,
    title: Option<String>,
    link: Option<String>,
    date: Option<String>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Expected {
    title: String,
    url: String,
    date: Option<String>,
}

fn pages() -> Vec<(String, Vec<u8>, Golden)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/html");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".expected.json") {
            let golden: Golden = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let page = std::fs::read(dir.join(format!("{stem}.html"))).unwrap();
            out.push((stem.to_string(), page, golden));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 8, "fixtures present");
    out
}

fn zone_for(url: &str) -> chrono_tz::Tz {
    if url.contains(".jp/") || url.ends_with(".jp") {
        chrono_tz::Asia::Tokyo
    } else if url.contains(".fr") {
        chrono_tz::Europe::Paris
    } else {
        chrono_tz::America::New_York
    }
}

fn run(
    page: &[u8],
    golden: &Golden,
    selectors: Option<&HtmlSelectors>,
) -> Result<parse::Parsed, parse::Error> {
    let base = Url::parse(&golden.page_url).unwrap();
    let lang = if golden.page_url.contains(".jp") {
        "ja"
    } else {
        "en"
    };
    let ctx = ParseContext {
        base_url: &base,
        timezone: zone_for(&golden.page_url),
        http_charset: None,
        lang,
    };
    parse::html::parse_listing(page, &ctx, selectors)
}

fn got(parsed: &parse::Parsed) -> Vec<Expected> {
    parsed
        .items
        .iter()
        .map(|i| Expected {
            title: i.title.clone(),
            url: i.url.clone(),
            date: i.published.map(|p| p.date_naive().to_string()),
        })
        .collect()
}

#[test]
fn configured_selectors_extract_every_golden_item() {
    for (name, page, golden) in pages() {
        let Some(item) = golden.selectors.item.clone() else {
            continue;
        };
        let s = HtmlSelectors {
            item: Some(item),
            title: golden.selectors.title.clone(),
            link: golden.selectors.link.clone(),
            date: golden.selectors.date.clone(),
            publisher: None,
        };
        let parsed = run(&page, &golden, Some(&s)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parsed.encoding, golden.encoding, "{name}");
        let dated: Vec<&Expected> = golden.items.iter().filter(|e| e.date.is_some()).collect();
        let got = got(&parsed);
        assert_eq!(got.iter().collect::<Vec<_>>(), dated, "{name}");
        let undated = golden.items.len() - dated.len();
        assert_eq!(
            parsed.problems.len(),
            undated,
            "{name}: unreadable dates are reported: {:?}",
            parsed.problems
        );
    }
}

#[test]
fn listings_are_found_without_selectors() {
    for (name, page, golden) in pages() {
        let dated: Vec<&Expected> = golden.items.iter().filter(|e| e.date.is_some()).collect();
        match run(&page, &golden, None) {
            Ok(parsed) => {
                let got = got(&parsed);
                let found = dated.iter().filter(|e| got.contains(e)).count();
                assert!(
                    found * 10 >= dated.len() * 8 && !dated.is_empty(),
                    "{name}: found {found} of {} dated items: {got:?}",
                    dated.len()
                );
                assert!(
                    got.len() <= golden.items.len(),
                    "{name}: no noise taken for items: {got:?}"
                );
            }
            Err(e) => assert!(dated.is_empty(), "{name}: {e}"),
        }
    }
}

fn builtin_gov_online() -> kizashi::model::SourceSpec {
    let config = kizashi::config::Config::builtin().unwrap();
    config.source("gov-online-info").expect("built in").clone()
}

fn parse_as(spec: &kizashi::model::SourceSpec, page: &[u8]) -> parse::Parsed {
    let ctx = ParseContext {
        base_url: &spec.url,
        timezone: spec.timezone,
        http_charset: None,
        lang: &spec.lang,
    };
    kizashi::pipeline::parse_document(spec, page, &ctx, chrono::Utc::now()).unwrap()
}

#[test]
fn the_builtin_aggregator_source_names_each_ministry() {
    let spec = builtin_gov_online();
    let page = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/html/gov-online-excerpt.html"),
    )
    .unwrap();
    let parsed = parse_as(&spec, &page);
    let got: Vec<(&str, &str, String)> = parsed
        .items
        .iter()
        .map(|i| {
            (
                i.publisher.as_deref().unwrap_or(""),
                i.title.as_str(),
                i.published.unwrap().date_naive().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got[0],
        (
            "総務省",
            "電気通信事業者に対する行政指導（通信障害の発生）",
            "2025-03-28".to_string()
        )
    );
    assert_eq!(
        got[1].1,
        "ランサムウェア被害の防止に向けた注意喚起 （関係団体向け）"
    );
    assert_eq!(got[2].0, "金融庁");
    assert_eq!(parsed.items.len(), 3);
}

#[test]
fn the_builtin_aggregator_selectors_fit_the_real_capture() {
    let Some(root) = crate::common::shared_corpus() else {
        eprintln!("SKIPPED: ../shared/corpus is not present; gov-online capture not checked");
        return;
    };
    let spec = builtin_gov_online();
    for page in ["info-index.page0.html", "info-index.page1.html"] {
        let bytes = std::fs::read(root.join("feeds/gov-online-jp").join(page)).unwrap();
        let parsed = parse_as(&spec, &bytes);
        assert_eq!(parsed.items.len(), 20, "{page}: 20 items a page");
        assert!(parsed.problems.is_empty(), "{page}: {:?}", parsed.problems);
        assert!(
            parsed
                .items
                .iter()
                .all(|i| i.publisher.is_some() && !i.title.is_empty())
        );
        assert!(parsed.items.iter().all(|i| i.url.starts_with("https://")));
    }
}

/// Listing sources through the whole pipeline: selectors, detection, Shift_JIS without a
/// charset anywhere, item pages read for summaries, unreadable dates reported.
#[tokio::test]
async fn listing_sources_end_to_end() {
    use kizashi::store::Store;
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let fixture = |name: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/html")
                .join(name),
        )
        .unwrap()
    };
    let server = MockServer::start().await;
    let html = |body: Vec<u8>| {
        ResponseTemplate::new(200)
            .insert_header("Content-Type", "text/html")
            .set_body_bytes(body)
    };
    Mock::given(path("/soshiki/joho/index.html"))
        .respond_with(html(fixture("pref-news-utf8.html")))
        .mount(&server)
        .await;
    Mock::given(path("/corporate/press/2025/index.html"))
        .respond_with(html(fixture("power-press-sjis.html")))
        .mount(&server)
        .await;
    Mock::given(path("/press/index.html"))
        .respond_with(html(fixture("ministry-nocharset-sjis.html")))
        .mount(&server)
        .await;
    Mock::given(path("/events/"))
        .respond_with(html(fixture("undatable.html")))
        .mount(&server)
        .await;
    Mock::given(path("/soshiki/joho/kisha/20250326.html"))
        .respond_with(html(
            "<html><head><meta name=\"description\" content=\"県税システムで障害が発生し、納税証明書の発行を停止しています。\"></head><body><p>本文</p></body></html>"
                .as_bytes()
                .to_vec(),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let base = server.uri();
    let text = format!(
        r#"data_dir = {data:?}
[api]
listen = "127.0.0.1:0"
[fetch]
timeout = "3s"
[[sources]]
id = "pref"
publisher = "架空県"
country = "JP"
lang = "ja"
url = "{base}/soshiki/joho/index.html"
kind = "html"
detail = true
[sources.html]
item = "ul.news-list li"
title = "a"
link = "a"
date = ".date"
[[sources]]
id = "power"
publisher = "架空電力株式会社"
country = "JP"
lang = "ja"
url = "{base}/corporate/press/2025/index.html"
kind = "html"
sector = "electricity"
publisher_kind = "operator"
[sources.html]
item = "table.press tbody tr"
title = "a"
link = "a"
date = "td.day"
[[sources]]
id = "ministry"
publisher = "架空省"
country = "JP"
lang = "ja"
url = "{base}/press/index.html"
kind = "html"
[[sources]]
id = "events"
publisher = "架空ISAC"
country = "JP"
lang = "ja"
url = "{base}/events/"
kind = "html"
[sources.html]
item = "ul.event-list li"
title = "a"
link = "a"
date = "span.date"
"#,
        data = dir.path().display().to_string()
    );
    let config = std::sync::Arc::new(kizashi::config::Config::parse(&text, "html.toml").unwrap());
    let summary = kizashi::daemon::run_once(config.clone()).await.unwrap();
    assert_eq!(summary.failed(), 0, "{:?}", summary.outcomes);

    let store = kizashi::store::SledStore::open(dir.path()).unwrap();
    let items = store.all_items().unwrap();
    let of = |source: &str| {
        items
            .iter()
            .filter(|i| i.source == source)
            .collect::<Vec<_>>()
    };
    assert_eq!(of("pref").len(), 6);
    assert_eq!(of("power").len(), 5);
    assert_eq!(of("ministry").len(), 4);
    assert_eq!(of("events").len(), 2);

    let tax = items
        .iter()
        .find(|i| i.title == "県税システムの障害について（第2報）")
        .unwrap();
    assert!(
        tax.summary.starts_with("県税システムで障害が発生"),
        "item page read: {:?}",
        tax.summary
    );
    assert_eq!(
        tax.published.unwrap().to_rfc3339(),
        "2025-03-26T00:00:00+09:00"
    );
    assert_eq!(
        tax.citation().split('、').next().unwrap(),
        "架空県「県税システムの障害について（第2報）(2025/3/26)」"
    );

    let billing = items
        .iter()
        .find(|i| {
            i.title
                .starts_with("一部のお客さまへの電気料金請求システム不具合")
        })
        .unwrap();
    assert!(
        billing
            .url
            .ends_with("/corporate/press/2025/pdf/250326_1.pdf"),
        "PDF links are items: {}",
        billing.url
    );
    assert!(
        billing
            .classification
            .sectors
            .contains(&kizashi::model::Sector::Electricity)
    );
    assert!(
        of("ministry")
            .iter()
            .any(|i| i.title == "サイバーセキュリティ戦略本部の開催について"),
        "undeclared Shift_JIS decoded"
    );

    let events = store.state("events").unwrap().unwrap();
    assert_eq!(events.last_status.as_deref(), Some("200"));
    assert!(
        events
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("no readable date"),
        "{events:?}"
    );
    let pref = store.state("pref").unwrap().unwrap();
    assert!(pref.last_error.is_none());
    drop(store);

    // The quarter's export carries listing items with their citations.
    let request = kizashi::export::Request {
        range: kizashi::model::DateRange::quarter("FY2024Q4".parse().unwrap()),
        format: kizashi::export::Format::Json,
        all: true,
        generated_at: chrono::Utc::now().fixed_offset(),
    };
    let store = kizashi::store::SledStore::open(dir.path()).unwrap();
    let items = store
        .items_published_between(request.range.from, request.range.to)
        .unwrap();
    drop(store);
    let doc: serde_json::Value =
        serde_json::from_slice(&kizashi::export::render(items, &request)).unwrap();
    let exported: Vec<&str> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["citation"].as_str().unwrap())
        .collect();
    assert!(exported.iter().any(|c| c.starts_with("架空電力株式会社「一部のお客さまへの電気料金請求システム不具合について(2025/3/26)」、http")), "{exported:?}");
    assert!(
        !exported.iter().any(|c| c.contains("(2024/12/")),
        "December items are outside FY2024Q4"
    );

    // A second poll does not read the item pages again (the mock expects one call).
    let again = kizashi::daemon::run_once(config).await.unwrap();
    assert_eq!(again.new_items(), 0);
}
