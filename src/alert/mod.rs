//! Alerts: which new items (and which source troubles) each `[[alerts]]` channel hears of,
//! and their delivery.
//!
//! Owns: the filters, the stable alert ids, the retry schedule ([`deliver`]) and the channels
//! ([`channels`]: webhook, command, email). Alerts are queued in the store in the same batch
//! as their item (see `Store::apply_poll_with_alerts`), so delivery is at least once and
//! survives restarts; the id is the receivers' idempotency key. May import: model, config,
//! store. Must not fetch sources or classify.

pub mod channels;
pub mod deliver;

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use sha2::{Digest, Sha256};

use crate::config::AlertSpec;
use crate::model::{AlertEntry, AlertState, AlertSubject, Item, hex};

/// The stable id of an alert: one per channel and subject, whatever happens to it.
pub fn alert_id(channel: &str, subject_key: &str) -> String {
    let mut h = Sha256::new();
    h.update(channel.as_bytes());
    h.update([0]);
    h.update(subject_key.as_bytes());
    format!("msg_{}", hex(&h.finalize()[..12]))
}

static UPDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)第\s*([2-9２-９]|[1-9１-９][0-9０-９])\s*報|最終報|続報|（更新）|\(更新\)|\bupdate\s*\d*\s*:|\bupdated\b|\(update\)|mise à jour",
    )
    .expect("valid regex")
});

/// Whether a title reports a later stage of a story (第2報, 最終報, "Update 3:").
pub fn is_update(title: &str) -> bool {
    UPDATE.is_match(title)
}

/// Whether a channel wants to hear of a new item.
pub fn wants(spec: &AlertSpec, item: &Item, now: DateTime<Utc>) -> bool {
    let c = &item.classification;
    let Some(section) = c.section else {
        return false;
    };
    if !spec.sections.contains(&section) {
        return false;
    }
    if !spec.sectors.is_empty() && !c.sectors.iter().any(|s| spec.sectors.contains(s)) {
        return false;
    }
    if !spec.attack_types.is_empty()
        && !c.attack_types.iter().any(|a| spec.attack_types.contains(a))
    {
        return false;
    }
    if !spec.sources.is_empty() && !spec.sources.contains(&item.source) {
        return false;
    }
    // Undated items are judged by when kizashi first saw them.
    let when = item
        .published
        .map(|p| p.with_timezone(&Utc))
        .unwrap_or(item.first_seen);
    let age = now.signed_duration_since(when).to_std().unwrap_or_default();
    if age > spec.max_age {
        return false;
    }
    spec.updates || !is_update(&item.title)
}

/// The alerts a new item queues: one per channel that wants it.
pub fn entries_for_item(specs: &[AlertSpec], item: &Item, now: DateTime<Utc>) -> Vec<AlertEntry> {
    specs
        .iter()
        .filter(|spec| wants(spec, item, now))
        .map(|spec| {
            new_entry(
                spec,
                AlertSubject::Item {
                    item_id: item.id.clone(),
                },
                &item.id,
                now,
            )
        })
        .collect()
}

/// The alerts an operator event queues, on the channels that take them. `key` makes the
/// event unique (a failure streak's start, a silence's start), so it is told once.
pub fn entries_for_operator(
    specs: &[AlertSpec],
    source: &str,
    message: &str,
    key: &str,
    failures: Option<u32>,
    now: DateTime<Utc>,
) -> Vec<AlertEntry> {
    specs
        .iter()
        .filter(|spec| spec.operator)
        .filter(|spec| failures.is_none_or(|n| n == spec.failures))
        .map(|spec| {
            let subject = AlertSubject::Operator {
                source: source.to_string(),
                message: message.to_string(),
            };
            new_entry(
                spec,
                subject,
                &format!("operator\u{0}{source}\u{0}{key}"),
                now,
            )
        })
        .collect()
}

fn new_entry(spec: &AlertSpec, subject: AlertSubject, key: &str, now: DateTime<Utc>) -> AlertEntry {
    AlertEntry {
        id: alert_id(&spec.name, key),
        channel: spec.name.clone(),
        subject,
        created: now,
        state: AlertState::Queued,
        attempts: 0,
        next_attempt: now,
        last_error: None,
        delivered: None,
    }
}

/// The `kizashi alerts` listing: channels, then queued, dead and recently delivered alerts.
pub fn listing(
    store: &dyn crate::store::Store,
    specs: &[AlertSpec],
) -> Result<String, crate::store::Error> {
    use std::fmt::Write;
    let entries = store.alerts()?;
    let mut out = String::new();
    if specs.is_empty() {
        out.push_str("no alert channels configured ([[alerts]] in the configuration)\n");
    }
    for spec in specs {
        let disabled = store
            .meta(&deliver::disabled_key(&spec.name))?
            .filter(|v| !v.is_empty());
        let count = |state: AlertState| {
            entries
                .iter()
                .filter(|e| e.channel == spec.name && e.state == state)
                .count()
        };
        let _ = writeln!(
            out,
            "channel {} ({}{}): {} queued, {} dead, {} delivered{}",
            spec.name,
            spec.channel.kind(),
            spec.digest
                .map(|d| format!(", digest every {}", humantime::format_duration(d)))
                .unwrap_or_default(),
            count(AlertState::Queued),
            count(AlertState::Dead),
            count(AlertState::Delivered),
            disabled
                .map(|d| format!(" — DISABLED ({d}); `kizashi alerts replay` re-enables it"))
                .unwrap_or_default()
        );
    }
    let mut shown: Vec<&AlertEntry> = entries.iter().collect();
    shown.sort_by_key(|e| std::cmp::Reverse(e.delivered.unwrap_or(e.created)));
    for (label, state, limit) in [
        ("queued", AlertState::Queued, usize::MAX),
        ("dead", AlertState::Dead, usize::MAX),
        ("recently delivered", AlertState::Delivered, 20),
    ] {
        let list: Vec<&&AlertEntry> = shown
            .iter()
            .filter(|e| e.state == state)
            .take(limit)
            .collect();
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{label}:");
        for e in list {
            let what = match &e.subject {
                AlertSubject::Item { item_id } => match store.item(item_id) {
                    Ok(item) => format!("{} — {}", item.publisher, item.title),
                    Err(_) => format!("item {item_id}"),
                },
                AlertSubject::Operator { source, message } => format!("source {source}: {message}"),
            };
            let when = match state {
                AlertState::Delivered => e
                    .delivered
                    .map(|d| format!("delivered {}", d.to_rfc3339()))
                    .unwrap_or_default(),
                AlertState::Queued => format!("next attempt {}", e.next_attempt.to_rfc3339()),
                AlertState::Dead => "dead".to_string(),
            };
            let error = e
                .last_error
                .as_deref()
                .map(|x| format!(" — last error: {x}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} [{}] {what} ({when}, {} attempts){error}",
                e.id, e.channel, e.attempts
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_recognised() {
        for t in [
            "病院のシステム障害について（第2報）",
            "不正アクセスに関する最終報",
            "第１２報",
            "Update 3: services restored",
            "Incident (updated)",
        ] {
            assert!(is_update(t), "{t}");
        }
        for t in [
            "病院のシステム障害について",
            "第1報",
            "Updates to the NIST framework",
            "Firmware update released",
        ] {
            assert!(!is_update(t), "{t}");
        }
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(alert_id("a", "x"), alert_id("a", "x"));
        assert_ne!(alert_id("a", "x"), alert_id("b", "x"));
        assert!(alert_id("a", "x").starts_with("msg_"));
    }
}
