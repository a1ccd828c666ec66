//! One poll of one source: fetch → parse → classify → store, and the source's new state.
//!
//! This and `daemon` are the only modules that wire stages together. A failure of the source
//! (network, status, unreadable document) is recorded against it and is not an error of the
//! poll; only a failing store is.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{Instrument, debug, info_span, trace, warn};

use crate::alert;
use crate::classify::{self, Classifier};
use crate::config::AlertSpec;
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
    /// The `[[alerts]]` channels: new items and source troubles are queued for them.
    pub alerts: Arc<Vec<AlertSpec>>,
    /// One permit per core: documents are parsed no more at once than there are cores to
    /// parse them, so a round of fifty changed feeds does not hold fifty parses in memory.
    pub parse_slots: Arc<tokio::sync::Semaphore>,
}

impl Deps {
    /// As many parse permits as the machine has cores.
    pub fn parse_slots() -> Arc<tokio::sync::Semaphore> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Arc::new(tokio::sync::Semaphore::new(cores))
    }
}

/// How often an unchanged (304) source's record is rewritten at most.
pub const QUIET_304_RECORD: std::time::Duration = std::time::Duration::from_secs(3600);

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
    let previous_poll = state.last_poll;
    state.last_poll = Some(now);
    state.polls += 1;

    let validators = Validators {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    let url = sources::url_for(&spec.url, now);
    let body = match deps
        .fetcher
        .fetch(&url, &validators, spec.allow_private)
        .await
    {
        Ok(Fetched::NotModified) => {
            // A healthy source answering 304 changes nothing worth a disk write each round:
            // its record is refreshed at most hourly (the daemon keeps its schedule in memory).
            let recorded_recently = state.last_status.as_deref() == Some("304")
                && state.last_error.is_none()
                && previous_poll.is_some_and(|p| {
                    now - p < chrono::Duration::from_std(QUIET_304_RECORD).unwrap_or_default()
                });
            state.last_status = Some("304".into());
            state.last_error = None;
            state.last_success = Some(now);
            state.consecutive_failures = 0;
            let next = sources::after(now, sources::jittered(spec.interval));
            state.next_poll = Some(next);
            let silence_before = state.silence_reported;
            track_cadence(deps, spec, &mut state, 0, now)?;
            if !recorded_recently || state.silence_reported != silence_before {
                deps.store.put_state(&spec.id, &state)?;
                deps.store.flush()?;
            }
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
    let parsed = match read_body(spec, &body, &deps.parse_slots, now).await {
        Ok(p) => p,
        Err(e) => return record_failure(spec, deps, state, now, "parse-error", e, None),
    };
    let raws = with_details(spec, deps, parsed.items, now).await;
    let items: Vec<Item> = raws
        .into_iter()
        .map(|raw| to_item(spec, raw, &deps.classifier, now))
        .collect();
    for item in &items {
        trace!(id = %item.id, title = %item.title, section = ?item.classification.section, "item");
    }
    // Items dropped for a reason the source's owner should hear of are reported against
    // the source, while the rest are stored.
    let problem = (!parsed.problems.is_empty()).then(|| parsed.problems.join("; "));

    state.etag = body.validators.etag;
    state.last_modified = body.validators.last_modified;
    state.last_status = Some(status.clone());
    state.last_error = problem.clone();
    state.last_success = Some(now);
    state.consecutive_failures = 0;
    let next = sources::after(now, sources::jittered(spec.interval));
    state.next_poll = Some(next);
    let silent = silent_baseline(deps, &spec.id)?;
    let specs = deps.alerts.clone();
    let told = already_told(deps, &items)?;
    let queue = move |item: &Item| {
        if silent {
            return Vec::new();
        }
        let mut entries = alert::entries_for_item(&specs, item, now);
        // One story alerts once, however many pages report it, unless a channel asks for
        // updates.
        if told.contains(&item.id) {
            entries.retain(|e| specs.iter().any(|s| s.name == e.channel && s.updates));
        }
        entries
    };
    let new_ids: std::collections::HashSet<String> = items
        .iter()
        .filter(|i| deps.store.item(&i.id).is_err())
        .map(|i| i.id.clone())
        .collect();
    track_cadence(deps, spec, &mut state, new_ids.len(), now)?;
    let written = deps
        .store
        .apply_poll_with_alerts(&spec.id, &items, &state, &queue)?;
    if silent {
        deps.store
            .set_meta(&format!("baselined:{}", spec.id), &now.to_rfc3339())?;
    }
    deps.store.flush()?;
    if let Some(p) = &problem {
        warn!(problem = %p, "items dropped");
    }
    Ok(PollOutcome {
        source: spec.id.clone(),
        status,
        written,
        skipped: parsed.skipped.len() + parsed.problems.len(),
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
    state.failures += 1;
    state.last_status = Some(status.to_string());
    state.last_error = Some(error.clone());
    // The operator hears of a failing source once per failure streak, and of broken
    // selectors at once.
    let streak = state
        .last_success
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "never".into());
    let broken_listing = error.contains("matched nothing") || error.contains("no listing found");
    let entries = if broken_listing && state.consecutive_failures == 1 {
        let message = format!("the listing page yields no items: {error}");
        alert::entries_for_operator(
            &deps.alerts,
            &spec.id,
            &message,
            &format!("broken:{streak}"),
            None,
            now,
        )
    } else {
        let message = format!(
            "{} polls in a row failed; last: {error}",
            state.consecutive_failures
        );
        alert::entries_for_operator(
            &deps.alerts,
            &spec.id,
            &message,
            &format!("failing:{streak}"),
            Some(state.consecutive_failures),
            now,
        )
    };
    for entry in &entries {
        deps.store.queue_alert(entry)?;
    }
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

/// Items of this poll that report a story already stored (an earlier page of the same
/// event, from any source).
fn already_told(
    deps: &Deps,
    items: &[Item],
) -> Result<std::collections::HashSet<String>, store::Error> {
    let mut told = std::collections::HashSet::new();
    if deps.alerts.is_empty() {
        return Ok(told);
    }
    for item in items.iter().filter(|i| i.candidate()) {
        let Some(date) = item.published_date() else {
            continue;
        };
        if deps.store.item(&item.id).is_ok() {
            continue;
        }
        let days = chrono::Days::new(crate::export::story::MAX_DAYS_APART as u64);
        let earlier = deps
            .store
            .items_published_between(date - days, date + days)?;
        if earlier.iter().any(|e| {
            e.id != item.id
                && e.section() == item.section()
                && crate::export::story::same_story(e, item)
        }) {
            told.insert(item.id.clone());
        }
    }
    Ok(told)
}

/// After a restore, each source's first poll records without alerting: the items it finds
/// again are not news.
fn silent_baseline(deps: &Deps, source: &str) -> Result<bool, store::Error> {
    let restored = deps
        .store
        .meta("silent_baseline")?
        .is_some_and(|v| !v.is_empty());
    Ok(restored && deps.store.meta(&format!("baselined:{source}"))?.is_none())
}

/// Keeps the source's usual gap between polls that bring something new, and tells the
/// operator (once) when a source that usually publishes has been silent far longer.
fn track_cadence(
    deps: &Deps,
    spec: &SourceSpec,
    state: &mut SourceState,
    new_items: usize,
    now: DateTime<Utc>,
) -> Result<(), store::Error> {
    /// Gaps needed before silence means anything.
    const SAMPLES: u32 = 3;
    if new_items > 0 {
        if let Some(last) = state.last_new_item {
            let gap = (now - last).num_seconds().max(0) as u64;
            state.typical_gap_secs = Some(match state.typical_gap_secs {
                Some(typical) if state.cadence_samples > 0 => (typical * 3 + gap) / 4,
                _ => gap,
            });
            state.cadence_samples = state.cadence_samples.saturating_add(1);
        }
        state.last_new_item = Some(now);
        state.silence_reported = false;
        return Ok(());
    }
    let (Some(last), Some(typical)) = (state.last_new_item, state.typical_gap_secs) else {
        return Ok(());
    };
    let limit = (typical * 3).max(24 * 3600);
    let silent_for = (now - last).num_seconds().max(0) as u64;
    if state.cadence_samples >= SAMPLES && !state.silence_reported && silent_for > limit {
        let message = format!(
            "nothing new for {} (usually every {})",
            humantime::format_duration(std::time::Duration::from_secs(silent_for)),
            humantime::format_duration(std::time::Duration::from_secs(typical))
        );
        for entry in alert::entries_for_operator(
            &deps.alerts,
            &spec.id,
            &message,
            &format!("silent:{}", last.to_rfc3339()),
            None,
            now,
        ) {
            deps.store.queue_alert(&entry)?;
        }
        state.silence_reported = true;
    }
    Ok(())
}

/// Parsing is CPU work on untrusted input: off the async workers, and a panic in a parser
/// becomes this source's error instead of the daemon's end.
async fn read_body(
    spec: &SourceSpec,
    body: &fetch::Body,
    slots: &tokio::sync::Semaphore,
    now: DateTime<Utc>,
) -> Result<parse::Parsed, String> {
    // The semaphore is never closed; if it were, parsing without a permit is still right.
    let _permit = slots.acquire().await.ok();
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
            parse_document(&spec, &bytes, &ctx, now).map_err(|e| e.to_string())
        }))
    });
    match task.await {
        Ok(Ok(result)) => result,
        Ok(Err(_panic)) => Err("the parser panicked on this document".into()),
        Err(e) => Err(format!("parse task failed: {e}")),
    }
}

/// The parser for the source's kind.
pub fn parse_document(
    spec: &SourceSpec,
    bytes: &[u8],
    ctx: &ParseContext<'_>,
    now: DateTime<Utc>,
) -> Result<parse::Parsed, parse::Error> {
    match spec.kind {
        SourceKind::Feed => parse::feed::parse_feed(bytes, ctx, now),
        SourceKind::Html => parse::html::parse_listing(bytes, ctx, spec.html.as_ref()),
        SourceKind::Csv => match &spec.csv {
            Some(columns) => parse::csv_listing::parse_csv(bytes, ctx, columns),
            None => Err(parse::Error::Csv(
                "no [sources.csv] columns configured".into(),
            )),
        },
    }
}

/// Most item pages fetched in one poll: a first poll of a long listing must not become a crawl.
pub const MAX_DETAIL_FETCHES: usize = 20;

/// For sources with `detail = true`: each item not stored yet gets its own page read once,
/// for a summary (and a precise time on the listing's date), through the same fetcher and so
/// the same per-host limit.
async fn with_details(
    spec: &SourceSpec,
    deps: &Deps,
    items: Vec<RawItem>,
    now: DateTime<Utc>,
) -> Vec<RawItem> {
    if !spec.detail {
        return items;
    }
    let mut fetched = 0;
    let mut out = Vec::with_capacity(items.len());
    for mut raw in items {
        let known = deps
            .store
            .item(&store::item_key(&spec.id, &raw.identity))
            .is_ok();
        let Ok(url) = url::Url::parse(&raw.url) else {
            out.push(raw);
            continue;
        };
        if known
            || fetched >= MAX_DETAIL_FETCHES
            || url.path().to_ascii_lowercase().ends_with(".pdf")
        {
            out.push(raw);
            continue;
        }
        fetched += 1;
        if !spec.allow_private && is_other_private_literal(&url, &spec.url) {
            debug!(url = %url, "item page on a non-public address not read");
            out.push(raw);
            continue;
        }
        match deps
            .fetcher
            .fetch(&url, &Validators::default(), spec.allow_private)
            .await
        {
            Ok(Fetched::Body(body)) => {
                let ctx = ParseContext {
                    base_url: &body.final_url,
                    timezone: spec.timezone,
                    http_charset: body.charset.as_deref(),
                    lang: &spec.lang,
                };
                let detail = parse::html::detail(&body.bytes, &ctx);
                if raw.summary.is_empty() {
                    raw.summary = detail.summary;
                }
                for link in detail.links {
                    if !raw.links.contains(&link) {
                        raw.links.push(link);
                    }
                }
                let same_day = |t: &chrono::DateTime<chrono::FixedOffset>| {
                    raw.published
                        .is_some_and(|p| p.date_naive() == t.date_naive())
                };
                if let Some(t) = detail
                    .published
                    .filter(|t| same_day(t) || raw.published.is_none())
                {
                    raw.published = Some(t).filter(|t| parse::dates::plausible(*t, now));
                }
            }
            Ok(Fetched::NotModified) => {}
            Err(e) => debug!(url = %url, error = %e, "item page not read"),
        }
        out.push(raw);
    }
    out
}

/// A page named by a document (not by the operator) at a literal non-public address on
/// another host than the source's: the resolver never sees literals, so refuse it here.
fn is_other_private_literal(url: &url::Url, source: &url::Url) -> bool {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
        _ => return false,
    };
    url.host() != source.host() && fetch::guard::is_non_public(ip)
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
        publisher: spec.publisher_for_classification(raw.publisher.as_deref()),
    });
    Item {
        id: store::item_key(&spec.id, &raw.identity),
        source: spec.id.clone(),
        publisher: raw
            .publisher
            .clone()
            .unwrap_or_else(|| spec.publisher.clone()),
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
        decision: None,
        links: raw.links,
    }
}
