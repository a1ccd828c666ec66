//! Analysts' decisions: include or exclude an item, move it to another section or country,
//! add a note; and the spreadsheet round trip (`kizashi review import FILE.csv`).
//!
//! Decisions live in the stored item beside (not inside) its classification, so re-polls and
//! reclassification keep them. May import: model, store. Must not classify or fetch.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Decision, Item, Section, Verdict};
use crate::store::{self, Store};

/// A change to an item's decision, as the API and the CSV give it. A field left out keeps
/// its value; an empty string clears it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// `include`, `exclude`, or empty to clear.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// A section code, or empty to go back to the classifier's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A change that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Applies a change to one item and stores it.
pub fn apply(
    store: &dyn Store,
    id: &str,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<Item, Error> {
    let item = store.item(id)?;
    Ok(write(store, item, change, now)?.0)
}

/// The item with the change applied, and whether that changed anything (only then is it
/// written).
fn write(
    store: &dyn Store,
    mut item: Item,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<(Item, bool), Error> {
    let decision = merged(&item, change)?;
    let same = |a: &Option<Decision>, b: &Option<Decision>| {
        let strip = |d: &Option<Decision>| {
            d.clone().map(|d| Decision {
                decided_at: None,
                ..d
            })
        };
        strip(a) == strip(b)
    };
    if same(&decision, &item.decision) {
        return Ok((item, false));
    }
    item.decision = decision.map(|d| Decision {
        decided_at: Some(now),
        ..d
    });
    store.replace_items(std::slice::from_ref(&item))?;
    store.flush()?;
    Ok((item, true))
}

/// The decision an item has after a change. Values equal to the classifier's are no
/// decision: the analyst agreed.
fn merged(item: &Item, change: &Change) -> Result<Option<Decision>, Error> {
    let mut decision = item.decision.clone().unwrap_or_default();
    if let Some(v) = &change.verdict {
        decision.verdict = match v.trim().to_ascii_lowercase().as_str() {
            "" => None,
            "include" | "in" | "yes" | "y" | "○" => Some(Verdict::Include),
            "exclude" | "out" | "no" | "n" | "×" => Some(Verdict::Exclude),
            other => {
                return Err(Error::Invalid(format!(
                    "decision {other:?}: expected include, exclude or empty"
                )));
            }
        };
    }
    if let Some(s) = &change.section {
        let s = s.trim();
        decision.section =
            if s.is_empty() || Some(s) == item.classification.section.map(Section::code) {
                None
            } else {
                Some(s.parse::<Section>().map_err(Error::Invalid)?)
            };
    }
    if let Some(c) = &change.country {
        let c = c.trim().to_ascii_uppercase();
        decision.country =
            if c.is_empty() || Some(c.as_str()) == item.classification.country.as_deref() {
                None
            } else if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                Some(c)
            } else {
                return Err(Error::Invalid(format!(
                    "country {c:?}: expected an ISO 3166-1 alpha-2 code"
                )));
            };
    }
    if let Some(n) = &change.note {
        decision.note = Some(n.trim().to_string()).filter(|n| !n.is_empty());
    }
    Ok(if decision.is_empty() {
        None
    } else {
        Some(decision)
    })
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub applied: usize,
    pub unchanged: usize,
    /// (row number, id) of rows whose id matches no stored item.
    pub unmatched: Vec<(usize, String)>,
    /// (row number, why) of rows that could not be applied.
    pub invalid: Vec<(usize, String)>,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} decisions applied, {} rows unchanged",
            self.applied, self.unchanged
        )?;
        for (row, id) in &self.unmatched {
            writeln!(f, "row {row}: no stored item with id {id:?}")?;
        }
        for (row, why) in &self.invalid {
            writeln!(f, "row {row}: {why}")?;
        }
        Ok(())
    }
}

/// Reads a CSV export back (as saved by a spreadsheet: with or without the byte-order mark,
/// any column order) and applies its `decision`, `section`, `policy_country` and `note`
/// columns to the items named by `id`.
pub fn import_csv(
    store: &dyn Store,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<ImportReport, Error> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Error::Invalid(format!("header row: {e}")))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let id_col = col("id")
        .ok_or_else(|| Error::Invalid("no id column: export with kizashi first".into()))?;
    let (verdict_col, section_col, country_col, note_col) = (
        col("decision"),
        col("section"),
        col("policy_country"),
        col("note"),
    );
    let mut report = ImportReport::default();
    for (n, record) in reader.records().enumerate() {
        let row = n + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.invalid.push((row, e.to_string()));
                continue;
            }
        };
        let cell = |c: Option<usize>| c.and_then(|c| record.get(c)).map(unescape_formula);
        let id = cell(Some(id_col)).unwrap_or_default();
        if id.trim().is_empty() {
            continue;
        }
        let before = match store.item(id.trim()) {
            Ok(item) => item,
            Err(store::Error::NotFound(_)) => {
                report.unmatched.push((row, id));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let change = Change {
            verdict: cell(verdict_col),
            section: cell(section_col),
            country: if before.section() == Some(Section::ForeignPolicy) {
                cell(country_col)
            } else {
                None
            },
            note: cell(note_col),
        };
        match write(store, before, &change, now) {
            Ok((_, true)) => report.applied += 1,
            Ok((_, false)) => report.unchanged += 1,
            Err(Error::Invalid(why)) => report.invalid.push((row, why)),
            Err(e) => return Err(e),
        }
    }
    store.flush()?;
    Ok(report)
}

/// Undoes the CSV export's formula guard (`'=…` back to `=…`).
fn unescape_formula(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
        _ => cell.to_string(),
    }
}

/// Decisions as the review page and API show them: `include`, `exclude` or empty.
pub fn verdict_label(decision: Option<&Decision>) -> &'static str {
    decision.and_then(|d| d.verdict).map_or("", Verdict::name)
}
