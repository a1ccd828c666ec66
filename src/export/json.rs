//! The JSON export: interface.md's fields, plus `policy_country` and `reasons`.

use serde::Serialize;

use super::Request;
use crate::model::{AttackType, EventType, Item, Reason, Section, Sector};

#[derive(Serialize)]
struct Document<'a> {
    quarter: Option<String>,
    from: String,
    to: String,
    generated_at: String,
    items: Vec<ItemOut<'a>>,
}

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
    pub reasons: &'a [Reason],
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

pub fn render(items: &[Item], request: &Request) -> Vec<u8> {
    let doc = Document {
        quarter: request.range.quarter.map(|q| q.to_string()),
        from: request.range.from.format("%Y-%m-%d").to_string(),
        to: request.range.to.format("%Y-%m-%d").to_string(),
        generated_at: request.generated_at.to_rfc3339(),
        items: with_stories(items),
    };
    // About 1.6 KB an item: one allocation instead of a dozen doublings of 40 MB.
    let mut out = Vec::with_capacity(4096 + items.len() * 1600);
    if serde_json::to_writer_pretty(&mut out, &doc).is_err() {
        out.clear();
    }
    out.push(b'\n');
    out
}
