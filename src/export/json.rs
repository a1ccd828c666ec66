//! The JSON export: interface.md's fields, plus `policy_country` and `reasons`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

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

/// Items written as one block: about half a megabyte, small enough to stay in the cache and
/// to be handed to the writer while the next blocks are being written.
const BLOCK: usize = 256;

/// Bytes to set aside for the items' JSON: their text (the title and URL twice, with the
/// citation), the field names and indentation around it (about 700 bytes an item, 110 a
/// reason), and a quarter more for escapes and longer dates. Too little would copy the whole
/// buffer to grow it; pages set aside and never written cost nothing.
fn room_for(items: &[Item]) -> usize {
    let one = |i: &Item| {
        let (reasons_text, _) = i.classification.reasons.raw_parts();
        let links: usize = i.links.iter().map(|l| l.len() + 8).sum();
        700 + i.id.len()
            + i.source.len()
            + 2 * (i.publisher.len() + i.title.len() + i.url.len())
            + i.summary.len()
            + reasons_text.len()
            + 110 * i.classification.reasons.len()
            + links
    };
    let text: usize = items.iter().map(one).sum();
    text + text / 4
}

/// The document, pretty-printed as `serde_json::to_writer_pretty` would print it, in one
/// buffer.
pub fn render(items: &[Item], request: &Request) -> Vec<u8> {
    // One allocation, a little too large, instead of doubling 40 MB and copying it.
    let mut out = Vec::with_capacity(512 + room_for(items));
    // Writing into a Vec cannot fail.
    let _ = render_to(items, request, &mut out);
    out
}

/// The document written to `out` as it is made. The items (41 MB for a quarter of 25,000) are
/// written by `json_item` in blocks on every core and handed to `out` in order, so that no
/// copy of the whole document is ever held: a 41 MB buffer costs ten thousand page faults to
/// fill.
pub fn render_to(items: &[Item], request: &Request, out: &mut dyn Write) -> io::Result<()> {
    let stories = super::story::story_ids(items);
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"{");
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
        head.extend_from_slice(format!("\n  \"{key}\": ").as_bytes());
        let _ = serde_json::to_writer(&mut head, &value);
        head.push(b',');
    }
    head.extend_from_slice(b"\n  \"items\": [");
    out.write_all(&head)?;
    let write_block = |number: usize, block: &[Item], buffer: &mut Vec<u8>| {
        let mut scratch = String::new();
        for (n, item) in block.iter().enumerate() {
            buffer.extend_from_slice(if number == 0 && n == 0 {
                b"\n    "
            } else {
                b",\n    "
            });
            let story = stories.get(item.id.as_str()).copied();
            super::json_item::write_item(buffer, item, story, &mut scratch);
        }
    };
    let blocks: Vec<&[Item]> = items.chunks(BLOCK).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || blocks.len() < 2 {
        let mut buffer = Vec::new();
        for (number, block) in blocks.iter().enumerate() {
            write_block(number, block, &mut buffer);
            out.write_all(&buffer)?;
            buffer.clear();
        }
    } else {
        in_parallel(&blocks, threads, &write_block, out)?;
    }
    out.write_all(if items.is_empty() {
        b"]\n}\n"
    } else {
        b"\n  ]\n}\n"
    })
}

/// Writes block number `n`, its items, at the end of a buffer.
type WriteBlock<'a> = dyn Fn(usize, &[Item], &mut Vec<u8>) + Sync + 'a;

/// Writes the blocks on `threads` workers and hands them to `out` in order. Buffers go back to
/// the workers once written, so a handful of them serve the whole document.
fn in_parallel(
    blocks: &[&[Item]],
    threads: usize,
    write_block: &WriteBlock<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let next = AtomicUsize::new(0);
    let spare: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    let (done, written) = mpsc::sync_channel::<(usize, Vec<u8>)>(2 * threads);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done = done.clone();
            let (next, spare) = (&next, &spare);
            scope.spawn(move || {
                loop {
                    let number = next.fetch_add(1, Ordering::Relaxed);
                    let Some(block) = blocks.get(number) else {
                        break;
                    };
                    let mut buffer = spare
                        .lock()
                        .ok()
                        .and_then(|mut s| s.pop())
                        .unwrap_or_default();
                    write_block(number, block, &mut buffer);
                    // The receiver is gone when writing failed: stop.
                    if done.send((number, buffer)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        hand_over_in_order(written, &spare, blocks.len(), out)
    })
}

/// Writes the blocks to `out` in their order as they come, and puts each buffer back. Takes the
/// receiver by value so that returning early (a write failed) drops it: the workers' next send
/// fails and they stop.
fn hand_over_in_order(
    written: mpsc::Receiver<(usize, Vec<u8>)>,
    spare: &Mutex<Vec<Vec<u8>>>,
    blocks: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut early: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut expected = 0;
    for (number, buffer) in written {
        early.insert(number, buffer);
        while let Some(mut buffer) = early.remove(&expected) {
            out.write_all(&buffer)?;
            buffer.clear();
            if let Ok(mut s) = spare.lock() {
                s.push(buffer);
            }
            expected += 1;
        }
    }
    if expected == blocks {
        Ok(())
    } else {
        // Only a panicking worker leaves a block unwritten.
        Err(io::Error::other("an export thread stopped"))
    }
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
        // Empty, one block, and enough blocks for every thread to write several.
        for (count, quarter) in [(0, true), (3, false), (9 * BLOCK + 7, true)] {
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

    /// A destination that takes `room` bytes, then fails.
    struct FullDisk {
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_destination_stops_the_export_with_its_error() {
        let items: Vec<Item> = (0..20 * BLOCK).map(item).collect();
        let request = Request {
            range: DateRange::quarter("FY2024Q4".parse::<Quarter>().unwrap()),
            format: super::super::Format::Json,
            all: false,
            generated_at: crate::model::jst()
                .with_ymd_and_hms(2025, 4, 1, 9, 0, 0)
                .unwrap(),
        };
        for room in [0, 100, 700_000, 3_000_000] {
            let failed = render_to(&items, &request, &mut FullDisk { room }).unwrap_err();
            assert_eq!(failed.kind(), io::ErrorKind::StorageFull, "{room}");
        }
    }
}
