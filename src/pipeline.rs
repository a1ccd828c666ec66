//! One poll of one source: fetch → parse → classify → store, and the source's new state.
//!
//! This and `daemon` are the only modules that wire stages together. A failure of the source
//! (network, status, unreadable document) is recorded against it and is not an error of the
//! poll; only a failing store is.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{Instrument, debug, info_span, trace, warn};

use crate::classify::{self, Classifier};
use crate::fetch::{self, Fetched, Fetcher, Validators};
use crate::model::{Item, RawItem, SourceKind, SourceSpec, SourceState, jst};
use crate::parse::{self, ParseContext};
use crate::sources;
use crate::store::{self, Store, WriteSummary};

/// What a poll needs.
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn Store>,
    pub fetcher: Arc<Fetcher>,
    pub classifier: Arc<Classifier>,
}

/// How one poll went.
#[derive(Debug, Clone)]
pub struct PollOutcome {
    pub source: String,
    /// `200`, `304`, `500`, `timeout`, `parse-error` …
    pub status: String,
    pub written: WriteSummary,
    /// Items the document had that could not be kept (no link …).
    pub skipped: usize,
    pub error: Option<String>,
    pub next_poll: DateTime<Utc>,
}

impl PollOutcome {
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// Polls one source once and records the result. Errs only when the store fails.
pub async fn poll_once(spec: &SourceSpec, deps: &Deps) -> Result<PollOutcome, store::Error> {
    let span = info_span!("poll", source = %spec.id, url = %spec.url, status = tracing::field::Empty, items = tracing::field::Empty);
    async {
        let outcome = poll_inner(spec, deps).await?;
        let span = tracing::Span::current();
        span.record("status", outcome.status.as_str());
        span.record(
            "items",
            outcome.written.new + outcome.written.updated + outcome.written.unchanged,
        );
        match &outcome.error {
            Some(e) => warn!(error = %e, next_poll = %outcome.next_poll, "poll failed"),
            None => debug!(
                new = outcome.written.new,
                updated = outcome.written.updated,
                unchanged = outcome.written.unchanged,
                skipped = outcome.skipped,
                "poll done"
            ),
        }
        Ok(outcome)
    }
    .instrument(span)
    .await
}

async fn poll_inner(spec: &SourceSpec, deps: &Deps) -> Result<PollOutcome, store::Error> {
    let mut state = deps.store.state(&spec.id)?.unwrap_or_default();
    let now = Utc::now();
    state.last_poll = Some(now);

    if spec.kind == SourceKind::Html {
        let error = "kind = \"html\": HTML listing sources are not supported by this version yet"
            .to_string();
        return record_failure(spec, deps, state, now, "unsupported", error, None);
    }

    let validators = Validators {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    let body = match deps.fetcher.fetch(&spec.url, &validators).await {
        Ok(Fetched::NotModified) => {
            state.last_status = Some("304".into());
            state.last_error = None;
            state.last_success = Some(now);
            state.consecutive_failures = 0;
            let next = sources::after(now, sources::jittered(spec.interval));
            state.next_poll = Some(next);
            deps.store.put_state(&spec.id, &state)?;
            deps.store.flush()?;
            return Ok(PollOutcome {
                source: spec.id.clone(),
                status: "304".into(),
                written: WriteSummary::default(),
                skipped: 0,
                error: None,
                next_poll: next,
            });
        }
        Ok(Fetched::Body(body)) => body,
        Err(e) => {
            let label = e.label();
            let retry_after = e.retry_after();
            return record_failure(spec, deps, state, now, &label, e.to_string(), retry_after);
        }
    };

    let status = body.status.to_string();
    let parsed = match parse_and_classify(spec, &body, deps.classifier.clone(), now).await {
        Ok(p) => p,
        Err(e) => return record_failure(spec, deps, state, now, "parse-error", e, None),
    };
    for item in &parsed.items {
        trace!(id = %item.id, title = %item.title, section = ?item.classification.section, "item");
    }

    state.etag = body.validators.etag;
    state.last_modified = body.validators.last_modified;
    state.last_status = Some(status.clone());
    state.last_error = None;
    state.last_success = Some(now);
    state.consecutive_failures = 0;
    let next = sources::after(now, sources::jittered(spec.interval));
    state.next_poll = Some(next);
    let written = deps.store.apply_poll(&spec.id, &parsed.items, &state)?;
    deps.store.flush()?;
    Ok(PollOutcome {
        source: spec.id.clone(),
        status,
        written,
        skipped: parsed.skipped,
        error: None,
        next_poll: next,
    })
}

fn record_failure(
    spec: &SourceSpec,
    deps: &Deps,
    mut state: SourceState,
    now: DateTime<Utc>,
    status: &str,
    error: String,
    retry_after: Option<std::time::Duration>,
) -> Result<PollOutcome, store::Error> {
    state.consecutive_failures = state.consecutive_failures.saturating_add(1);
    state.last_status = Some(status.to_string());
    state.last_error = Some(error.clone());
    let wait = sources::backoff(spec.interval, state.consecutive_failures, retry_after);
    let next = sources::after(now, wait);
    state.next_poll = Some(next);
    deps.store.put_state(&spec.id, &state)?;
    deps.store.flush()?;
    Ok(PollOutcome {
        source: spec.id.clone(),
        status: status.to_string(),
        written: WriteSummary::default(),
        skipped: 0,
        error: Some(error),
        next_poll: next,
    })
}

struct Classified {
    items: Vec<Item>,
    skipped: usize,
}

/// Parsing and classifying are CPU work on untrusted input: off the async workers, and a
/// panic in a parser becomes this source's error instead of the daemon's end.
async fn parse_and_classify(
    spec: &SourceSpec,
    body: &fetch::Body,
    classifier: Arc<Classifier>,
    now: DateTime<Utc>,
) -> Result<Classified, String> {
    let spec = spec.clone();
    let bytes = body.bytes.clone();
    let charset = body.charset.clone();
    let base = body.final_url.clone();
    let task = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            let ctx = ParseContext {
                base_url: &base,
                timezone: spec.timezone,
                http_charset: charset.as_deref(),
                lang: &spec.lang,
            };
            let parsed = parse::feed::parse_feed(&bytes, &ctx, now).map_err(|e| e.to_string())?;
            let items = parsed
                .items
                .into_iter()
                .map(|raw| to_item(&spec, raw, &classifier, now))
                .collect();
            Ok::<_, String>(Classified {
                items,
                skipped: parsed.skipped.len(),
            })
        }))
    });
    match task.await {
        Ok(Ok(result)) => result,
        Ok(Err(_panic)) => Err("the parser panicked on this document".into()),
        Err(e) => Err(format!("parse task failed: {e}")),
    }
}

/// A parsed item classified and given its key, access date and citation fields.
pub fn to_item(
    spec: &SourceSpec,
    raw: RawItem,
    classifier: &Classifier,
    now: DateTime<Utc>,
) -> Item {
    let classification = classifier.classify(classify::Input {
        title: &raw.title,
        summary: &raw.summary,
        country: &spec.country,
        sector: spec.sector,
    });
    Item {
        id: store::item_key(&spec.id, &raw.identity),
        source: spec.id.clone(),
        publisher: spec.publisher.clone(),
        country: spec.country.clone(),
        lang: spec.lang.clone(),
        identity: raw.identity,
        title: raw.title,
        url: raw.url,
        published: raw.published,
        accessed: now.with_timezone(&jst()).date_naive(),
        first_seen: now,
        last_changed: now,
        summary: raw.summary,
        classification,
    }
}
