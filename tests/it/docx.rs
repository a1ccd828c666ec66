//! The Word export through the library's one entry point: a real .docx package with the
//! draft's headings and one footnote per item, the range and `--all` applied as in Markdown.

use std::io::{Cursor, Read};

use chrono::DateTime;
use kizashi::export::{self, Format};
use kizashi::model::{DateRange, Item, Quarter};

/// From JSON, so that fields added to `Item` with serde defaults need no change here.
fn item(id: &str, publisher: &str, title: &str, published: &str, section: Option<&str>) -> Item {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "source": "s",
        "publisher": publisher,
        "country": "US",
        "lang": "en",
        "identity": id,
        "title": title,
        "url": format!("https://example.org/{id}"),
        "published": published,
        "accessed": "2025-05-14",
        "first_seen": "2025-05-14T00:00:00Z",
        "last_changed": "2025-05-14T00:00:00Z",
        "summary": format!("Summary of {id}."),
        "classification": {
            "section": section,
            "country": (section == Some("1")).then_some("US"),
            "sectors": [],
            "attack_types": [],
            "event_types": [],
            "reasons": [],
        },
    }))
    .unwrap()
}

fn sample() -> Vec<Item> {
    vec![
        item(
            "edge",
            "CISA",
            "Guidance at the edge",
            "2025-03-31T23:30:00-05:00",
            Some("1"),
        ),
        item(
            "wh",
            "The White House",
            "U.S. Cyber Trust Mark",
            "2025-01-07T10:30:00-05:00",
            Some("1"),
        ),
        item(
            "hosp",
            "The Record",
            "Ohio hospital ransomware",
            "2025-01-29T14:12:00-05:00",
            Some("2.1"),
        ),
        item(
            "kev",
            "CISA",
            "Two Known Exploited Vulnerabilities",
            "2025-02-11T07:00:00-05:00",
            None,
        ),
        item(
            "before",
            "CISA",
            "December item",
            "2024-12-31T23:59:00-05:00",
            Some("1"),
        ),
    ]
}

fn render(all: bool) -> Vec<u8> {
    let request = export::Request {
        range: DateRange::quarter("FY2024Q4".parse::<Quarter>().unwrap()),
        format: Format::Docx,
        all,
        generated_at: DateTime::parse_from_rfc3339("2025-05-14T10:00:00+09:00").unwrap(),
    };
    export::render(sample(), &request)
}

fn part(docx: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(docx)).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn docx_is_parsed_from_the_format_flag_and_named_for_word() {
    assert_eq!("docx".parse::<Format>(), Ok(Format::Docx));
    assert_eq!("DOCX".parse::<Format>(), Ok(Format::Docx));
    assert_eq!(
        Format::Docx.content_type(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
}

#[test]
fn docx_holds_the_draft_with_one_footnote_per_candidate() {
    let docx = render(false);
    let document = part(&docx, "word/document.xml");
    for text in [
        "サイバーセキュリティを取り巻く情勢（2024年度第4四半期）",
        "1. 国外サイバーセキュリティ政策",
        "1.1. 米国",
        "1.1.1. U.S. Cyber Trust Mark",
        "1.1.2. Guidance at the edge",
        "2025 年 1 月 7 日、The White Houseが「U.S. Cyber Trust Mark」を公表",
        "Summary of wh.",
        "2.1.1. Ohio hospital ransomware",
        "（候補なし）",
    ] {
        assert!(document.contains(text), "missing {text:?} in {document}");
    }
    assert!(!document.contains("December item"), "outside the quarter");
    assert!(
        !document.contains("Two Known Exploited"),
        "no section without --all"
    );
    assert_eq!(document.matches("<w:footnoteReference ").count(), 3);

    let footnotes = part(&docx, "word/footnotes.xml");
    for citation in [
        "The White House「U.S. Cyber Trust Mark(2025/1/7)」、https://example.org/wh(2025/5/14 閲覧)",
        "CISA「Guidance at the edge(2025/3/31)」、https://example.org/edge(2025/5/14 閲覧)",
        "The Record「Ohio hospital ransomware(2025/1/29)」、https://example.org/hosp(2025/5/14 閲覧)",
    ] {
        assert!(
            footnotes.contains(&format!(">{citation}</w:t>")),
            "missing {citation:?} in {footnotes}"
        );
    }
    // In document order: the White House (1.1.1) is footnote 1.
    let wh = footnotes.find("The White House「").unwrap();
    let edge = footnotes.find("CISA「Guidance").unwrap();
    let hosp = footnotes.find("The Record「").unwrap();
    assert!(wh < edge && edge < hosp);
}

#[test]
fn docx_with_all_adds_the_items_without_a_section() {
    let docx = render(true);
    let document = part(&docx, "word/document.xml");
    assert!(document.contains("参考: 区分外の項目"));
    assert!(document.contains("参考.1. Two Known Exploited Vulnerabilities"));
    assert_eq!(document.matches("<w:footnoteReference ").count(), 4);
    assert_eq!(render(true), docx, "the same request gives the same bytes");
}
