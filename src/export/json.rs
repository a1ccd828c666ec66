//! The JSON export: interface.md's fields, plus `policy_country` and `reasons`.

use serde::Serialize;

use super::Request;
use crate::model::{AttackType, EventType, Item, Reasons, Section, Sector};

/// One exported item; a DTO so that the stored shape can change without moving the contract.
#[derive(Serialize)]
pub struct ItemOut<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub publisher: &'a str,
    pub country: &'a str,
    pub lang: &'a str,
    pub title: &'a str,
    pub url: &'a str,
    pub published: Option<String>,
    pub accessed: String,
    pub summary: &'a str,
    /// The report's section: the analyst's, else the classifier's; null when excluded.
    pub section: Option<Section>,
    /// The classifier's own section, for comparison with an analyst's move.
    pub classified_section: Option<Section>,
    pub policy_country: Option<&'a str>,
    pub sectors: &'a [Sector],
    pub attack_types: &'a [AttackType],
    pub event_types: &'a [EventType],
    pub citation: String,
    pub reasons: &'a Reasons,
    pub decision: Option<&'a crate::model::Decision>,
    /// The story it belongs to: the id of the story's first report.
    pub story: Option<&'a str>,
    /// Pages the item's text links to (what joins a release to the statement it links to).
    pub links: &'a [String],
}

impl<'a> ItemOut<'a> {
    pub fn new(item: &'a Item) -> ItemOut<'a> {
        let c = &item.classification;
        ItemOut {
            id: &item.id,
            source: &item.source,
            publisher: &item.publisher,
            country: &item.country,
            lang: &item.lang,
            title: &item.title,
            url: &item.url,
            published: item.published.map(|p| p.to_rfc3339()),
            accessed: item.accessed.format("%Y-%m-%d").to_string(),
            summary: &item.summary,
            section: item.section().filter(|_| !item.excluded()),
            classified_section: c.section,
            policy_country: item.policy_country(),
            sectors: &c.sectors,
            attack_types: &c.attack_types,
            event_types: &c.event_types,
            citation: item.citation(),
            reasons: &c.reasons,
            decision: item.decision.as_ref(),
            story: None,
            links: &item.links,
        }
    }
}

/// Items as exported, each with its story.
pub fn with_stories(items: &[Item]) -> Vec<ItemOut<'_>> {
    let stories = super::story::story_ids(items);
    items
        .iter()
        .map(|i| ItemOut {
            story: stories.get(i.id.as_str()).copied(),
            ..ItemOut::new(i)
        })
        .collect()
}

/// Items written per thread at least: below this, threads cost more than they save.
const CHUNK: usize = 2_000;

/// The document, pretty-printed as `serde_json::to_writer_pretty` would print it. The items
/// (41 MB for a quarter of 25,000) are written by `json_item`, in parts on every core: the
/// first straight into the document, the others beside it and then appended.
pub fn render(items: &[Item], request: &Request) -> Vec<u8> {
    let stories = super::story::story_ids(items);
    let write_items = |mut out: Vec<u8>, part: &[Item], first: bool| -> Vec<u8> {
        let mut scratch = String::new();
        for (n, item) in part.iter().enumerate() {
            out.extend_from_slice(if first && n == 0 {
                b"\n    "
            } else {
                b",\n    "
            });
            let story = stories.get(item.id.as_str()).copied();
            super::json_item::write_item(&mut out, item, story, &mut scratch);
        }
        out
    };
    // About 1.6 KB an item: one allocation instead of a dozen doublings of 40 MB.
    let mut out = Vec::with_capacity(512 + items.len() * 1600);
    out.extend_from_slice(b"{");
    // The document's fields before its items.
    for (key, value) in [
        ("quarter", request.range.quarter.map(|q| q.to_string())),
        (
            "from",
            Some(request.range.from.format("%Y-%m-%d").to_string()),
        ),
        ("to", Some(request.range.to.format("%Y-%m-%d").to_string())),
        ("generated_at", Some(request.generated_at.to_rfc3339())),
    ] {
        out.extend_from_slice(format!("\n  \"{key}\": ").as_bytes());
        let _ = serde_json::to_writer(&mut out, &value);
        out.push(b',');
    }
    out.extend_from_slice(b"\n  \"items\": [");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = if threads < 2 || items.len() < 2 * CHUNK {
        write_items(out, items, true)
    } else {
        // The first part is written straight into the document, the others beside it.
        let chunk = items.len().div_ceil(threads).max(CHUNK);
        let (first, rest) = items.split_at(chunk);
        let write_items = &write_items;
        std::thread::scope(|scope| {
            let workers: Vec<_> = rest
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        write_items(Vec::with_capacity(part.len() * 1600), part, false)
                    })
                })
                .collect();
            let mut out = write_items(out, first, true);
            for (worker, part) in workers.into_iter().zip(rest.chunks(chunk)) {
                // A panicking worker is a bug; its part is written again here to say so.
                match worker.join() {
                    Ok(bytes) => out.extend_from_slice(&bytes),
                    Err(_) => out = write_items(out, part, false),
                }
            }
            out
        })
    };
    out.extend_from_slice(if items.is_empty() {
        b"]\n}\n"
    } else {
        b"\n  ]\n}\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DateRange, Quarter};
    use chrono::TimeZone;

    /// The document as serde_json prints it in one piece.
    #[derive(Serialize)]
    struct Document<'a> {
        quarter: Option<String>,
        from: String,
        to: String,
        generated_at: String,
        items: Vec<ItemOut<'a>>,
    }

    fn item(n: usize) -> Item {
        let published = crate::model::jst()
            .with_ymd_and_hms(2025, 1, 1 + (n % 28) as u32, 9, 0, 0)
            .unwrap();
        let mut item: Item = serde_json::from_value(serde_json::json!({
            "id": format!("i{n}"), "source": "s", "publisher": "P \"q\"", "country": "JP",
            "lang": "ja", "identity": format!("g{n}"), "title": format!("速報{n} alpha{n}\n<b>"),
            "url": format!("https://example.org/{n}"), "published": published,
            "accessed": "2025-04-01", "first_seen": "2025-04-01T00:00:00Z",
            "last_changed": "2025-04-01T00:00:00Z", "summary": "",
            "classification": {"section": "3.1", "country": null, "sectors": ["medical"],
                "attack_types": [], "event_types": [], "reasons": [
                    {"tag": "sector=medical", "rule": "sector.toml:medical", "matched": ["病院"]}]},
        }))
        .unwrap();
        if n % 3 == 0 {
            item.links = vec!["https://example.org/other".into()];
        }
        // Every shape the writer has a branch for: no date, an analyst's decision (empty and
        // full), a policy country, no reasons, several matched words, characters to escape.
        match n % 5 {
            1 => item.published = None,
            2 => {
                item.decision = Some(crate::model::Decision {
                    verdict: Some(crate::model::Verdict::Exclude),
                    section: Some(crate::model::Section::ForeignPolicy),
                    country: Some("US".into()),
                    note: Some("dup \\ of \"i1\"\t\u{1}".into()),
                    decided_at: chrono::DateTime::from_timestamp(1_740_000_000, 120_000_000),
                });
                item.classification.country = Some("GB".into());
            }
            3 => {
                item.decision = Some(crate::model::Decision::default());
                item.classification.reasons = crate::model::Reasons::default();
                item.classification.sectors.clear();
            }
            4 => {
                item.summary = "a\u{7f}b\r\n\u{1f}\u{8}\u{c}c 病院".into();
                item.classification.reasons.push(
                    "kind=incident",
                    "kind.toml:incident",
                    &["attack", "\"breach\""],
                );
            }
            _ => {}
        }
        item
    }

    #[test]
    fn written_in_parts_it_reads_as_serde_json_prints_it() {
        let request = |quarter: bool| Request {
            range: if quarter {
                DateRange::quarter("FY2024Q4".parse::<Quarter>().unwrap())
            } else {
                DateRange::between(
                    chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
                    chrono::NaiveDate::from_ymd_opt(2025, 1, 9).unwrap(),
                )
            },
            format: super::super::Format::Json,
            all: false,
            generated_at: crate::model::jst()
                .with_ymd_and_hms(2025, 4, 1, 9, 0, 0)
                .unwrap(),
        };
        // Empty, one chunk, and enough items for several threads.
        for (count, quarter) in [(0, true), (3, false), (2 * CHUNK + 7, true)] {
            let items: Vec<Item> = (0..count).map(item).collect();
            let request = request(quarter);
            let whole = Document {
                quarter: request.range.quarter.map(|q| q.to_string()),
                from: request.range.from.format("%Y-%m-%d").to_string(),
                to: request.range.to.format("%Y-%m-%d").to_string(),
                generated_at: request.generated_at.to_rfc3339(),
                items: with_stories(&items),
            };
            let mut expected = serde_json::to_vec_pretty(&whole).unwrap();
            expected.push(b'\n');
            let got = render(&items, &request);
            assert!(
                got == expected,
                "{count} items differ:\n{}",
                String::from_utf8_lossy(&got[..got.len().min(3000)])
            );
        }
    }
}
