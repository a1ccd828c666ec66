//! The delivery loop's one step: every due alert is attempted once, and its new state written.
//!
//! Retries follow the channel's schedule (Standard Webhooks' by default) with ±10 % jitter and
//! never sooner than a `Retry-After`; other 4xx answers are retried once, then dead; 410 Gone
//! disables the channel. A delivered alert is never attempted again.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::channels::{self, ItemPayload, Message, Outcome};
use crate::config::AlertSpec;
use crate::model::{AlertEntry, AlertState, AlertSubject};
use crate::store::{self, Store};

/// Delivered alerts are remembered this long for `kizashi alerts`.
pub const KEEP_DELIVERED_DAYS: i64 = 30;

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
}

/// Meta key marking a channel disabled by a 410.
pub fn disabled_key(channel: &str) -> String {
    format!("alert_disabled:{channel}")
}

fn digest_key(channel: &str) -> String {
    format!("alert_digest_last:{channel}")
}

/// Attempts every alert that is due.
pub async fn run_due(
    store: &dyn Store,
    specs: &[AlertSpec],
    now: DateTime<Utc>,
) -> Result<Summary, store::Error> {
    // Nothing leaves the process before what it reports is durable.
    store.flush()?;
    let entries = store.alerts()?;
    let mut summary = Summary::default();
    for spec in specs {
        if store
            .meta(&disabled_key(&spec.name))?
            .is_some_and(|v| !v.is_empty())
        {
            continue;
        }
        let queued: Vec<&AlertEntry> = entries
            .iter()
            .filter(|e| e.channel == spec.name && e.state == AlertState::Queued)
            .collect();
        let (items, operator): (Vec<&AlertEntry>, Vec<&AlertEntry>) = queued
            .into_iter()
            .partition(|e| matches!(e.subject, AlertSubject::Item { .. }));
        let singles: Vec<&AlertEntry> = match spec.digest {
            Some(_) => operator,
            None => items.iter().chain(operator.iter()).copied().collect(),
        };
        for entry in singles.into_iter().filter(|e| e.next_attempt <= now) {
            let message = match message_for(store, entry, now)? {
                Some(m) => m,
                None => {
                    let mut dead = entry.clone();
                    dead.state = AlertState::Dead;
                    dead.last_error = Some("its item is no longer stored".into());
                    store.put_alert(&dead)?;
                    summary.dead += 1;
                    continue;
                }
            };
            let outcome = channels::send(spec, &message).await;
            record(
                store,
                spec,
                std::slice::from_ref(&entry),
                &outcome,
                now,
                &mut summary,
            )?;
            if matches!(outcome, Outcome::Gone { .. }) {
                // The receiver asked never to be called again: the rest stay queued.
                break;
            }
        }
        if let Some(interval) = spec.digest {
            digest(store, spec, &items, interval, now, &mut summary).await?;
        }
    }
    let cutoff = now - chrono::Duration::days(KEEP_DELIVERED_DAYS);
    store.prune_delivered(cutoff)?;
    store.flush()?;
    Ok(summary)
}

async fn digest(
    store: &dyn Store,
    spec: &AlertSpec,
    pending: &[&AlertEntry],
    interval: std::time::Duration,
    now: DateTime<Utc>,
    summary: &mut Summary,
) -> Result<(), store::Error> {
    let last = store
        .meta(&digest_key(&spec.name))?
        .and_then(|t| t.parse::<DateTime<Utc>>().ok());
    let Some(last) = last else {
        // The first digest comes one interval after the channel first appears.
        store.set_meta(&digest_key(&spec.name), &now.to_rfc3339())?;
        return Ok(());
    };
    let due = now.signed_duration_since(last).to_std().unwrap_or_default() >= interval;
    if !due || pending.is_empty() || pending.iter().any(|e| e.next_attempt > now) {
        return Ok(());
    }
    let mut lines = Vec::new();
    let mut payloads = Vec::new();
    for entry in pending {
        if let AlertSubject::Item { item_id } = &entry.subject
            && let Ok(item) = store.item(item_id)
        {
            lines.push(format!("・{}", channels::item_line(&item)));
            payloads.push(ItemPayload::new(&item));
        }
    }
    let ids: Vec<&str> = pending.iter().map(|e| e.id.as_str()).collect();
    let message = Message {
        id: super::alert_id(&spec.name, &format!("digest\u{0}{}", ids.join(","))),
        kind: "kizashi.digest",
        timestamp: now,
        text: format!(
            "kizashi: 新しい候補 {} 件\n{}",
            payloads.len(),
            lines.join("\n")
        ),
        subject: format!("[kizashi] 新しい候補 {} 件", payloads.len()),
        items: payloads,
        source: None,
        message: None,
    };
    let outcome = channels::send(spec, &message).await;
    if outcome == Outcome::Delivered {
        store.set_meta(&digest_key(&spec.name), &now.to_rfc3339())?;
    }
    record(store, spec, pending, &outcome, now, summary)
}

fn message_for(
    store: &dyn Store,
    entry: &AlertEntry,
    now: DateTime<Utc>,
) -> Result<Option<Message>, store::Error> {
    Ok(Some(match &entry.subject {
        AlertSubject::Item { item_id } => {
            let item = match store.item(item_id) {
                Ok(i) => i,
                Err(store::Error::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let section = item
                .classification
                .section
                .map(|s| s.code().to_string())
                .unwrap_or_default();
            Message {
                id: entry.id.clone(),
                kind: "kizashi.item",
                timestamp: now,
                text: channels::item_line(&item),
                subject: format!("[kizashi {section}] {}: {}", item.publisher, item.title),
                items: vec![ItemPayload::new(&item)],
                source: None,
                message: None,
            }
        }
        AlertSubject::Operator { source, message } => Message {
            id: entry.id.clone(),
            kind: "kizashi.operator",
            timestamp: now,
            text: format!(
                "[kizashi] source {source}: {}",
                channels::neutralise(message)
            ),
            subject: format!("[kizashi] source {source} needs attention"),
            items: Vec::new(),
            source: Some(source.clone()),
            message: Some(message.clone()),
        },
    }))
}

fn record(
    store: &dyn Store,
    spec: &AlertSpec,
    entries: &[&AlertEntry],
    outcome: &Outcome,
    now: DateTime<Utc>,
    summary: &mut Summary,
) -> Result<(), store::Error> {
    for entry in entries {
        let mut e = (*entry).clone();
        e.attempts += 1;
        match outcome {
            Outcome::Delivered => {
                e.state = AlertState::Delivered;
                e.delivered = Some(now);
                e.last_error = None;
                summary.delivered += 1;
            }
            Outcome::Retry { error, retry_after } => {
                e.last_error = Some(error.clone());
                match spec.retries.get(e.attempts as usize - 1) {
                    Some(wait) => {
                        let wait =
                            crate::sources::jittered(*wait).max(retry_after.unwrap_or_default());
                        e.next_attempt = crate::sources::after(now, wait);
                        summary.retrying += 1;
                    }
                    None => {
                        e.state = AlertState::Dead;
                        summary.dead += 1;
                    }
                }
            }
            Outcome::Refused { error } => {
                e.last_error = Some(error.clone());
                if e.attempts >= 2 || spec.retries.is_empty() {
                    e.state = AlertState::Dead;
                    summary.dead += 1;
                } else {
                    e.next_attempt =
                        crate::sources::after(now, crate::sources::jittered(spec.retries[0]));
                    summary.retrying += 1;
                }
            }
            Outcome::Gone { error } => {
                e.last_error = Some(error.clone());
                e.state = AlertState::Dead;
                summary.dead += 1;
            }
        }
        store.put_alert(&e)?;
    }
    match outcome {
        Outcome::Gone { error } => {
            warn!(channel = %spec.name, error = %error, "alert channel disabled");
            store.set_meta(&disabled_key(&spec.name), &format!("{now}: {error}"))?;
        }
        Outcome::Delivered => {
            info!(channel = %spec.name, alerts = entries.len(), "alert delivered")
        }
        Outcome::Retry { error, .. } | Outcome::Refused { error } => {
            warn!(channel = %spec.name, error = %error, "alert not delivered")
        }
    }
    Ok(())
}

/// Queues dead alerts again (all, or those whose id starts with `id`), and re-enables their
/// channels. Returns how many.
pub fn replay(
    store: &dyn Store,
    id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<usize, store::Error> {
    let mut n = 0;
    for mut e in store.alerts()? {
        if e.state != AlertState::Dead || id.is_some_and(|i| !e.id.starts_with(i)) {
            continue;
        }
        store.set_meta(&disabled_key(&e.channel), "")?;
        e.state = AlertState::Queued;
        e.attempts = 0;
        e.next_attempt = now;
        e.last_error = None;
        store.put_alert(&e)?;
        n += 1;
    }
    store.flush()?;
    Ok(n)
}
