//! Export formats over stored items: JSON fields, Markdown headings and footnotes, CSV with
//! its byte-order mark and formula escaping, quarter boundaries.

use chrono::{DateTime, NaiveDate, Utc};
use kizashi::export::{self, Format};
use kizashi::model::{Classification, DateRange, Item, Quarter, Section, Sector};

pub fn item(
    id: &str,
    publisher: &str,
    country: &str,
    title: &str,
    published: &str,
    section: Option<Section>,
) -> Item {
    Item {
        id: id.into(),
        source: "s".into(),
        publisher: publisher.into(),
        country: country.into(),
        lang: "en".into(),
        identity: id.into(),
        title: title.into(),
        url: format!("https://example.org/{id}"),
        published: Some(DateTime::parse_from_rfc3339(published).unwrap()),
        accessed: NaiveDate::from_ymd_opt(2025, 5, 14).unwrap(),
        first_seen: Utc::now(),
        last_changed: Utc::now(),
        summary: format!("Summary of {id}."),
        classification: Classification {
            section,
            country: (section == Some(Section::ForeignPolicy)).then(|| country.to_string()),
            sectors: if matches!(
                section,
                Some(Section::AbroadCritical | Section::DomesticCritical)
            ) {
                vec![Sector::Medical]
            } else {
                vec![]
            },
            ..Default::default()
        },
        decision: None,
        links: Vec::new(),
    }
}

fn sample() -> Vec<Item> {
    vec![
        item(
            "edge",
            "CISA",
            "US",
            "Guidance at the edge",
            "2025-03-31T23:30:00-05:00",
            Some(Section::ForeignPolicy),
        ),
        item(
            "wh",
            "The White House",
            "US",
            "White House Launches \"U.S. Cyber Trust Mark\"",
            "2025-01-07T10:30:00-05:00",
            Some(Section::ForeignPolicy),
        ),
        item(
            "ncsc",
            "NCSC",
            "GB",
            "=cmd|' /C calc'!A0",
            "2025-02-01T12:00:00+00:00",
            Some(Section::ForeignPolicy),
        ),
        item(
            "hosp",
            "The Record",
            "US",
            "Ohio hospital ransomware",
            "2025-01-29T14:12:00-05:00",
            Some(Section::AbroadCritical),
        ),
        item(
            "city",
            "Security NEXT",
            "JP",
            "市役所サーバに不正アクセス",
            "2025-03-31T18:40:00+09:00",
            Some(Section::DomesticOther),
        ),
        item(
            "kev",
            "CISA",
            "US",
            "CISA Adds Two Known Exploited Vulnerabilities to Catalog",
            "2025-02-11T07:00:00-05:00",
            None,
        ),
        item(
            "before",
            "CISA",
            "US",
            "December item",
            "2024-12-31T23:59:00-05:00",
            Some(Section::ForeignPolicy),
        ),
        item(
            "after",
            "METI",
            "JP",
            "April item",
            "2025-04-01T00:00:00+09:00",
            Some(Section::DomesticOther),
        ),
    ]
}

fn render(format: Format, all: bool) -> Vec<u8> {
    let request = export::Request {
        range: DateRange::quarter("FY2024Q4".parse::<Quarter>().unwrap()),
        format,
        all,
        generated_at: DateTime::parse_from_rfc3339("2025-05-14T10:00:00+09:00").unwrap(),
    };
    export::render(sample(), &request)
}

#[test]
fn json_has_the_contract_fields_in_section_then_date_order() {
    let doc: serde_json::Value = serde_json::from_slice(&render(Format::Json, false)).unwrap();
    assert_eq!(doc["quarter"], "FY2024Q4");
    assert_eq!(doc["from"], "2025-01-01");
    assert_eq!(doc["to"], "2025-03-31");
    assert_eq!(doc["generated_at"], "2025-05-14T10:00:00+09:00");
    let items = doc["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["wh", "ncsc", "edge", "hosp", "city"],
        "boundaries and order"
    );
    let wh = &items[0];
    for key in [
        "id",
        "source",
        "publisher",
        "country",
        "lang",
        "title",
        "url",
        "published",
        "accessed",
        "summary",
        "section",
        "sectors",
        "attack_types",
        "event_types",
        "citation",
    ] {
        assert!(wh.get(key).is_some(), "missing {key}");
    }
    assert_eq!(wh["section"], "1");
    assert_eq!(wh["published"], "2025-01-07T10:30:00-05:00");
    assert_eq!(wh["accessed"], "2025-05-14");
    assert_eq!(
        wh["citation"],
        "The White House「White House Launches \"U.S. Cyber Trust Mark\"(2025/1/7)」、https://example.org/wh(2025/5/14 閲覧)"
    );
    assert_eq!(items[3]["sectors"], serde_json::json!(["medical"]));
    assert_eq!(
        items[2]["citation"],
        "CISA「Guidance at the edge(2025/3/31)」、https://example.org/edge(2025/5/14 閲覧)"
    );
}

#[test]
fn all_adds_items_without_a_section_last() {
    let doc: serde_json::Value = serde_json::from_slice(&render(Format::Json, true)).unwrap();
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert_eq!(items[5]["id"], "kev");
    assert!(items[5]["section"].is_null());
}

#[test]
fn markdown_is_a_draft_of_the_report() {
    let md = String::from_utf8(render(Format::Markdown, false)).unwrap();
    assert!(
        md.starts_with("# サイバーセキュリティを取り巻く情勢（2024年度第4四半期）\n"),
        "{md}"
    );
    for heading in [
        "## 1. 国外サイバーセキュリティ政策",
        "### 1.1. 米国",
        "### 1.2. 英国",
        "## 2. 国外におけるサイバーセキュリティをめぐる情勢",
        "### 2.1. 重要インフラ関連",
        "### 2.2. その他",
        "## 3. 国内におけるサイバーセキュリティをめぐる情勢",
        "### 3.1. 重要インフラ関連",
        "### 3.2. その他",
    ] {
        assert!(
            md.contains(&format!("{heading}\n")),
            "missing {heading:?} in\n{md}"
        );
    }
    assert!(
        md.contains("#### 1.1.1. White House Launches \"U.S. Cyber Trust Mark\"\n"),
        "{md}"
    );
    assert!(md.contains("2025 年 1 月 7 日、The White Houseが「White House Launches \"U.S. Cyber Trust Mark\"」を公表[^1]。"), "{md}");
    assert!(md.contains("#### 1.1.2. Guidance at the edge"));
    assert!(md.contains("#### 2.1.1. Ohio hospital ransomware"));
    assert!(md.contains("#### 3.2.1. 市役所サーバに不正アクセス"));
    assert!(md.contains("[^1]: The White House「White House Launches \"U.S. Cyber Trust Mark\"(2025/1/7)」、https://example.org/wh(2025/5/14 閲覧)"), "{md}");
    assert!(md.contains("[^5]: "), "five footnotes");
    assert!(
        !md.contains("December item")
            && !md.contains("April item")
            && !md.contains("CISA Adds Two")
    );
    assert!(md.contains("### 3.1. 重要インフラ関連\n\n（候補なし）"));
}

#[test]
fn csv_has_a_bom_and_neutralises_formulas() {
    let csv = render(Format::Csv, false);
    assert!(csv.starts_with("\u{feff}".as_bytes()));
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    assert!(headers.iter().any(|h| h == "citation"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    let title_col = headers.iter().position(|h| h == "title").unwrap();
    let ncsc = rows.iter().find(|r| &r[0] == "ncsc").unwrap();
    assert_eq!(&ncsc[title_col], "'=cmd|' /C calc'!A0");
    let sectors_col = headers.iter().position(|h| h == "sectors").unwrap();
    assert_eq!(
        &rows.iter().find(|r| &r[0] == "hosp").unwrap()[sectors_col],
        "medical"
    );
}

#[test]
fn a_date_range_that_is_a_quarter_is_named_as_one() {
    let q = DateRange::between(
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
    );
    assert_eq!(
        q.quarter.map(|q| q.to_string()).as_deref(),
        Some("FY2024Q4")
    );
    let custom = DateRange::between(
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2025, 1, 31).unwrap(),
    );
    assert!(custom.quarter.is_none());
}

#[test]
fn a_story_is_one_report_item_citing_every_page() {
    let items = vec![
        item(
            "first",
            "市立病院",
            "JP",
            "電子カルテシステムの障害について",
            "2025-02-03T10:00:00+09:00",
            Some(Section::DomesticCritical),
        ),
        item(
            "second",
            "市立病院",
            "JP",
            "電子カルテシステムの障害について（第2報）",
            "2025-02-05T10:00:00+09:00",
            Some(Section::DomesticCritical),
        ),
        item(
            "other-site",
            "Security NEXT",
            "JP",
            "Ohio hospital ransomware",
            "2025-02-06T10:00:00+09:00",
            Some(Section::DomesticCritical),
        ),
    ];
    let request = export::Request {
        range: DateRange::quarter("FY2024Q4".parse::<Quarter>().unwrap()),
        format: Format::Markdown,
        all: false,
        generated_at: DateTime::parse_from_rfc3339("2025-05-14T10:00:00+09:00").unwrap(),
    };
    let md = String::from_utf8(export::render(items.clone(), &request)).unwrap();
    assert!(
        md.contains("#### 3.1.1. 電子カルテシステムの障害について\n"),
        "{md}"
    );
    assert!(md.contains("○ 2025 年 2 月 5 日、市立病院が「電子カルテシステムの障害について（第2報）」を公表[^2]。"), "{md}");
    assert!(
        md.contains("#### 3.1.2. Ohio hospital ransomware"),
        "another event is another item: {md}"
    );
    assert!(!md.contains("#### 3.1.3."));
    assert!(md.contains("[^3]: "), "every page cited");
    let json: serde_json::Value = serde_json::from_slice(&export::render(
        items,
        &export::Request {
            format: Format::Json,
            ..request
        },
    ))
    .unwrap();
    let story = |i: usize| json["items"][i]["story"].as_str().unwrap().to_string();
    assert_eq!(story(0), "first");
    assert_eq!(story(1), "first");
    assert_eq!(story(2), "other-site");
}
