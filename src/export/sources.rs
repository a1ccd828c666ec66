//! The `kizashi sources` listing: each configured source with its last poll.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{SourceSpec, SourceState, jst};

/// One source as listed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceRow {
    pub id: String,
    pub publisher: String,
    pub url: String,
    pub last_poll: Option<DateTime<Utc>>,
    pub last_status: Option<String>,
    pub items_stored: u64,
    pub consecutive_failures: u32,
    pub next_poll: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// Rows for the configured sources, in configuration order, with their stored state.
pub fn rows(specs: &[SourceSpec], states: &[(String, SourceState)]) -> Vec<SourceRow> {
    specs
        .iter()
        .map(|spec| {
            let state = states
                .iter()
                .find(|(id, _)| *id == spec.id)
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            SourceRow {
                id: spec.id.clone(),
                publisher: spec.publisher.clone(),
                url: spec.url.to_string(),
                last_poll: state.last_poll,
                last_status: state.last_status,
                items_stored: state.items_stored,
                consecutive_failures: state.consecutive_failures,
                next_poll: state.next_poll,
                last_error: state.last_error,
            }
        })
        .collect()
}

/// A plain-text table, times in JST.
pub fn render_text(rows: &[SourceRow]) -> String {
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.with_timezone(&jst()).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "never".into())
    };
    let width = rows
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(2)
        .max(2);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:<16}  {:<11}  {:>6}  LAST ERROR",
        "ID", "LAST POLL (JST)", "STATUS", "ITEMS"
    );
    for r in rows {
        let status = match (&r.last_status, r.consecutive_failures) {
            (Some(s), 0) => s.clone(),
            (Some(s), n) => format!("{s} (x{n})"),
            (None, _) => "-".into(),
        };
        let error = r.last_error.as_deref().unwrap_or("");
        let _ = writeln!(
            out,
            "{:<width$}  {:<16}  {:<11}  {:>6}  {}",
            r.id,
            time(r.last_poll),
            status,
            r.items_stored,
            error.chars().take(160).collect::<String>()
        );
    }
    out
}
