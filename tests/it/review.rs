//! Analysts' decisions: kept across restarts and reclassification, honoured by every export,
//! and round-tripped through a spreadsheet.

use std::sync::Arc;

use chrono::Utc;
use kizashi::classify::Classifier;
use kizashi::export::{self, Format};
use kizashi::model::{DateRange, Section, Verdict};
use kizashi::review::{self, Change};
use kizashi::store::{SledStore, Store};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{config, fixture, src};

async fn stored(dir: &std::path::Path) -> Arc<kizashi::config::Config> {
    let server = MockServer::start().await;
    Mock::given(path("/tr"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(fixture("feeds/therecord.xml")))
        .mount(&server)
        .await;
    Mock::given(path("/sn"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(fixture("feeds/securitynext.xml")))
        .mount(&server)
        .await;
    let cfg = config(
        &server.uri(),
        dir,
        &[
            src("therecord", "/tr", "The Record", "US", "en"),
            src("security-next", "/sn", "Security NEXT", "JP", "ja"),
        ],
    );
    kizashi::daemon::run_once(cfg.clone()).await.unwrap();
    cfg
}

fn export_json(store: &SledStore, all: bool) -> serde_json::Value {
    let range = DateRange::quarter("FY2024Q4".parse().unwrap());
    let request = export::Request {
        range,
        format: Format::Json,
        all,
        generated_at: Utc::now().fixed_offset(),
    };
    serde_json::from_slice(&export::render(
        store.items_published_between(range.from, range.to).unwrap(),
        &request,
    ))
    .unwrap()
}

fn find<'a>(doc: &'a serde_json::Value, title_start: &str) -> Option<&'a serde_json::Value> {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with(title_start))
}

fn change(verdict: Option<&str>, section: Option<&str>, note: Option<&str>) -> Change {
    Change {
        verdict: verdict.map(Into::into),
        section: section.map(Into::into),
        country: None,
        note: note.map(Into::into),
    }
}

#[tokio::test]
async fn decisions_survive_restarts_reclassification_and_repolls() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = stored(dir.path()).await;
    let (hospital, port) = {
        let store = SledStore::open(dir.path()).unwrap();
        let doc = export_json(&store, false);
        let hospital = find(&doc, "Ohio hospital").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let port = find(&doc, "Ransomware attack halts container").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        review::apply(
            &store,
            &hospital,
            &change(Some("exclude"), None, Some("US local news only")),
            Utc::now(),
        )
        .unwrap();
        review::apply(&store, &port, &change(None, Some("3.2"), None), Utc::now()).unwrap();
        (hospital, port)
    };
    // A restart, a re-poll of the same feeds, and a reclassification with other rules.
    kizashi::daemon::run_once(cfg.clone()).await.unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        let only_cyber = vec![(
            "cyber.toml".to_string(),
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/cyber.toml"))
                .unwrap(),
        )];
        let sparse = Classifier::from_files(&only_cyber).unwrap();
        let changed = kizashi::daemon::reclassify(&cfg, &store, &sparse).unwrap();
        assert!(changed > 0, "the classification did change");
        let item = store.item(&hospital).unwrap();
        assert_eq!(
            item.decision.as_ref().and_then(|d| d.verdict),
            Some(Verdict::Exclude)
        );
        assert_eq!(
            item.decision.as_ref().and_then(|d| d.note.as_deref()),
            Some("US local news only")
        );
        let moved = store.item(&port).unwrap();
        assert_eq!(
            moved.section(),
            Some(Section::DomesticOther),
            "the analyst's section outlives the rules"
        );
        // Back to the real rules.
        kizashi::daemon::reclassify(&cfg, &store, &Classifier::builtin().unwrap()).unwrap();
        let doc = export_json(&store, false);
        assert!(
            find(&doc, "Ohio hospital").is_none(),
            "excluded items leave the export"
        );
        let port_out = find(&doc, "Ransomware attack halts container").unwrap();
        assert_eq!(port_out["section"], "3.2");
        assert_eq!(port_out["classified_section"], "3.1");
        let all = export_json(&store, true);
        let excluded = find(&all, "Ohio hospital").unwrap();
        assert!(excluded["section"].is_null());
        assert_eq!(excluded["decision"]["verdict"], "exclude");
        // Markdown puts the moved item under 3.2 and leaves the excluded one out.
        let range = DateRange::quarter("FY2024Q4".parse().unwrap());
        let md = export::render(
            store.items_published_between(range.from, range.to).unwrap(),
            &export::Request {
                range,
                format: Format::Markdown,
                all: false,
                generated_at: Utc::now().fixed_offset(),
            },
        );
        let md = String::from_utf8(md).unwrap();
        let in_32 = &md[md.find("### 3.2.").unwrap()..];
        assert!(in_32.contains("Ransomware attack halts container"), "{md}");
        assert!(!md.contains("Ohio hospital"));
    }
}

#[tokio::test]
async fn a_reviewed_spreadsheet_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    stored(dir.path()).await;
    let store = SledStore::open(dir.path()).unwrap();
    let range = DateRange::quarter("FY2024Q4".parse().unwrap());
    let csv = export::render(
        store.items_published_between(range.from, range.to).unwrap(),
        &export::Request {
            range,
            format: Format::Csv,
            all: true,
            generated_at: Utc::now().fixed_offset(),
        },
    );
    // What a spreadsheet user does: mark one row out, move one, note one, add junk rows.
    let text = String::from_utf8(csv).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let mut rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let title_col = col("title");
    let edit = |rows: &mut Vec<csv::StringRecord>, title: &str, column: usize, value: &str| {
        let row = rows
            .iter_mut()
            .find(|r| r[title_col].starts_with(title))
            .unwrap();
        let mut fields: Vec<String> = row.iter().map(str::to_string).collect();
        fields[column] = value.to_string();
        *row = csv::StringRecord::from(fields);
    };
    edit(&mut rows, "Ohio hospital", col("decision"), "exclude");
    edit(
        &mut rows,
        "市役所サーバに不正アクセス",
        col("section"),
        "3.2",
    );
    edit(
        &mut rows,
        "水道局の料金システム",
        col("note"),
        "第2報を待つ",
    );
    let mut bogus: Vec<String> = rows[0].iter().map(str::to_string).collect();
    bogus[col("id")] = "0000no-such-item".into();
    rows.push(csv::StringRecord::from(bogus));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&headers).unwrap();
    for r in &rows {
        out.write_record(r).unwrap();
    }
    let mut file = "\u{feff}".as_bytes().to_vec();
    file.extend(out.into_inner().unwrap());

    let report = review::import_csv(&store, &file, Utc::now()).unwrap();
    assert_eq!(report.applied, 3, "{report}");
    assert_eq!(report.unmatched.len(), 1, "{report}");
    assert!(report.to_string().contains("0000no-such-item"));
    let doc = export_json(&store, true);
    assert_eq!(
        find(&doc, "Ohio hospital").unwrap()["decision"]["verdict"],
        "exclude"
    );
    let moved = find(&doc, "市役所サーバに不正アクセス").unwrap();
    assert_eq!(
        (
            moved["section"].as_str(),
            moved["classified_section"].as_str()
        ),
        (Some("3.2"), Some("3.1"))
    );
    assert_eq!(
        find(&doc, "水道局の料金システム").unwrap()["decision"]["note"],
        "第2報を待つ"
    );
    // The same file again changes nothing.
    let again = review::import_csv(&store, &file, Utc::now()).unwrap();
    assert_eq!(again.applied, 0, "{again}");
    // A file without ids is refused with a reason.
    assert!(review::import_csv(&store, b"title,decision\nx,exclude\n", Utc::now()).is_err());
}
