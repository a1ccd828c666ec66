//! Lifecycle: open the store, load the rules, poll every source on its schedule, serve the
//! API, and on shutdown drain and flush.
//!
//! One task per source (its schedule is its own loop), bounded by the fetcher's limits; one
//! task for the API. All of them stop on one `CancellationToken`; the store is flushed last.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::alert;
use crate::api;
use crate::classify::{self, Classifier};
use crate::config::Config;
use crate::fetch::Fetcher;
use crate::memory;
use crate::model::Item;
use crate::pipeline::{self, Deps, PollOutcome};
use crate::store::{self, SledStore, Store};

/// How long in-flight polls get to finish after a shutdown signal.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(20);
const RULES_HASH_KEY: &str = "rules_hash";
/// How often due alerts are looked for.
pub const ALERT_TICK: Duration = Duration::from_secs(1);
/// Longest the start-up archive waits for every source's first poll (a source whose fetch
/// hangs must not put the backup off for long).
pub const FIRST_ROUND_WAIT: Duration = Duration::from_secs(300);

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Rules(#[from] classify::rules::Error),
    #[error(transparent)]
    Fetch(#[from] crate::fetch::Error),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// What `run --once` did.
#[derive(Debug, Default)]
pub struct OnceSummary {
    pub outcomes: Vec<PollOutcome>,
    pub alerts: crate::alert::deliver::Summary,
}

impl OnceSummary {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.failed()).count()
    }
    pub fn new_items(&self) -> usize {
        self.outcomes.iter().map(|o| o.written.new).sum()
    }
}

/// Opens the store and everything a poll needs.
pub fn prepare(config: &Config) -> Result<Deps, Error> {
    let store: Arc<dyn Store> = Arc::new(SledStore::open(&config.data_dir)?);
    let classifier = Arc::new(Classifier::load(config.rules_dir.as_deref())?);
    // Parsing and compiling thousands of rules leaves megabytes of freed blocks between the ones
    // kept; hand them back now rather than carry them under the first poll round's peak.
    crate::memory::return_freed_memory();
    let (files, rules, keywords, patterns) = classifier.stats();
    info!(
        files,
        rules,
        keywords,
        patterns,
        hash = classifier.hash(),
        "rules loaded"
    );
    let fetcher = Arc::new(Fetcher::new(&config.fetch)?);
    reclassify_if_rules_changed(config, store.as_ref(), &classifier)?;
    Ok(Deps {
        alerts: Arc::new(config.alerts.clone()),
        store,
        fetcher,
        classifier,
        parse_slots: Deps::parse_slots(),
    })
}

/// Re-tags every stored item when the rules differ from those that tagged them.
pub fn reclassify_if_rules_changed(
    config: &Config,
    store: &dyn Store,
    classifier: &Classifier,
) -> Result<usize, store::Error> {
    if store.meta(RULES_HASH_KEY)?.as_deref() == Some(classifier.hash()) {
        return Ok(0);
    }
    let n = reclassify(config, store, classifier)?;
    store.set_meta(RULES_HASH_KEY, classifier.hash())?;
    if n > 0 {
        info!(changed = n, "rules changed: stored items re-tagged");
    }
    Ok(n)
}

/// Re-tags every stored item with the given rules; returns how many changed.
pub fn reclassify(
    config: &Config,
    store: &dyn Store,
    classifier: &Classifier,
) -> Result<usize, store::Error> {
    // Page by page: a store of a million items must not be loaded at once.
    const PAGE: usize = 1000;
    let mut total = 0;
    store::scan_items(store, PAGE, store::SCAN_RELEASE_EVERY, |page| {
        let mut changed: Vec<Item> = Vec::new();
        for mut item in page {
            let spec = config.source(&item.source);
            let classification = classifier.classify(classify::Input {
                title: &item.title,
                summary: &item.summary,
                country: spec.map(|s| s.country.as_str()).unwrap_or(&item.country),
                sector: spec.and_then(|s| s.sector),
                publisher: spec
                    .map(|s| s.publisher_for_classification(Some(&item.publisher)))
                    .unwrap_or(&item.publisher),
            });
            if classification != item.classification {
                item.classification = classification;
                changed.push(item);
            }
        }
        total += changed.len();
        store.replace_items(&changed)
    })?;
    Ok(total)
}

/// Polls every source once, concurrently within the fetcher's limits.
pub async fn run_once(config: Arc<Config>) -> Result<OnceSummary, Error> {
    let deps = prepare(&config)?;
    let mut set = tokio::task::JoinSet::new();
    for spec in config.sources.clone() {
        let deps = deps.clone();
        set.spawn(async move { pipeline::poll_once(&spec, &deps).await });
    }
    let mut summary = OnceSummary::default();
    let mut store_error = None;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(outcome)) => summary.outcomes.push(outcome),
            Ok(Err(e)) => store_error = Some(e),
            Err(e) => warn!(error = %e, "poll task ended abnormally"),
        }
    }
    if let Some(e) = store_error {
        return Err(e.into());
    }
    summary.alerts =
        alert::deliver::run_due(deps.store.as_ref(), &config.alerts, Utc::now()).await?;
    deps.store.flush()?;
    summary.outcomes.sort_by(|a, b| a.source.cmp(&b.source));
    Ok(summary)
}

/// Binds the configured API address.
pub async fn bind(config: &Config) -> Result<TcpListener, Error> {
    let addr = config.api.listen;
    TcpListener::bind(addr).await.map_err(|source| Error::Bind {
        addr: addr.to_string(),
        source,
    })
}

/// Runs until `shutdown` resolves (or the store fails), then drains and flushes.
pub async fn run(
    config: Arc<Config>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let deps = prepare(&config)?;
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let fatal: Arc<std::sync::Mutex<Option<store::Error>>> = Arc::default();

    let listen = listener.local_addr().map_err(|source| Error::Bind {
        addr: config.api.listen.to_string(),
        source,
    })?;
    let app = api::router(api::AppState {
        store: deps.store.clone(),
        config: config.clone(),
        listen,
    });
    let api_token = token.child_token();
    tracker.spawn(async move {
        api::serve::serve(listener, app, api::serve::Limits::default(), api_token).await;
    });
    info!(%listen, sources = config.sources.len(), "kizashi started");
    let heap_at_start = memory::heap_in_use();
    // How many sources have finished their first poll, for the start-up archive to wait on.
    let (polled_once, mut first_polls) = tokio::sync::watch::channel(0usize);

    for spec in config.sources.clone() {
        let deps = deps.clone();
        let parent = token.clone();
        let token = token.child_token();
        let fatal = fatal.clone();
        let polled_once = polled_once.clone();
        tracker.spawn(async move {
            // The stored schedule starts the loop; afterwards each poll says when it is next
            // due (an unchanged source's record is not rewritten every round).
            let mut next_poll = match deps.store.state(&spec.id) {
                Ok(s) => s.and_then(|s| s.next_poll),
                Err(e) => {
                    record_fatal(&fatal, e, &parent);
                    return;
                }
            };
            let mut first = true;
            loop {
                let wait = next_poll
                    .and_then(|t| (t - Utc::now()).to_std().ok())
                    .unwrap_or_default();
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
                // Cancellation lands only between polls: a store write is never cut in half.
                let poll = pipeline::poll_once(&spec, &deps);
                let result = tokio::select! {
                    _ = token.cancelled() => break,
                    result = poll => result,
                };
                if first {
                    first = false;
                    polled_once.send_modify(|n| *n += 1);
                }
                match result {
                    Ok(outcome) => {
                        next_poll = Some(outcome.next_poll);
                        // Each poll frees what it allocated (a parsed document, a
                        // connection's buffers) on whichever worker thread's arena; glibc
                        // keeps it mapped unless told. A trim costs about a millisecond.
                        crate::return_freed_memory();
                    }
                    Err(e) => {
                        record_fatal(&fatal, e, &parent);
                        break;
                    }
                }
            }
        });
    }
    tracker.spawn(keep_heap_bounded(
        deps.store.clone(),
        heap_at_start,
        token.child_token(),
    ));
    // A JSON Lines archive at start when the newest is a day old, then daily; the one at start
    // waits for the first poll round, whose writes would otherwise share the peak with its scan.
    let sources = config.sources.len();
    let first_round = async move {
        let every_source = first_polls.wait_for(|n| *n >= sources);
        // Past the wait, or once every source task has ended (the daemon is stopping), the
        // archive goes ahead.
        let _ = tokio::time::timeout(FIRST_ROUND_WAIT, every_source).await;
    };
    drop(polled_once);
    tracker.spawn(store::backup::archive_daily(
        deps.store.clone(),
        config.data_dir.clone(),
        first_round,
        token.child_token(),
    ));
    if !config.alerts.is_empty() {
        let store = deps.store.clone();
        let specs = config.alerts.clone();
        let stop = token.child_token();
        let parent = token.clone();
        let fatal = fatal.clone();
        tracker.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(ALERT_TICK) => {}
                }
                if let Err(e) = alert::deliver::run_due(store.as_ref(), &specs, Utc::now()).await {
                    record_fatal(&fatal, e, &parent);
                    break;
                }
            }
        });
    }
    tracker.close();

    tokio::select! {
        _ = shutdown => info!("stopping"),
        _ = token.cancelled() => {}
    }
    token.cancel();
    if tokio::time::timeout(DRAIN_DEADLINE, tracker.wait())
        .await
        .is_err()
    {
        warn!(deadline = ?DRAIN_DEADLINE, "tasks did not finish in time");
    }
    deps.store.flush()?;
    let fatal = fatal.lock().unwrap_or_else(|p| p.into_inner()).take();
    match fatal {
        Some(e) => {
            error!(error = %e, "store failed; stopped");
            Err(e.into())
        }
        None => {
            info!("stopped");
            Ok(())
        }
    }
}

fn record_fatal(
    slot: &std::sync::Mutex<Option<store::Error>>,
    e: store::Error,
    token: &CancellationToken,
) {
    let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
    guard.get_or_insert(e);
    token.cancel();
}

/// How often the heap is looked at.
const HEAP_CHECK_EVERY: Duration = Duration::from_secs(5);

/// Makes the store let go of its cache when the heap has grown well past its level after the
/// last release (see [`memory`](crate::memory) for why sled needs this).
async fn keep_heap_bounded(
    store: Arc<dyn Store>,
    heap_at_start: Option<usize>,
    stop: CancellationToken,
) {
    let mut watch = memory::HeapWatch::new(
        memory::HEAP_GROWTH_LIMIT,
        memory::RELEASE_AT_MOST_EVERY,
        heap_at_start,
    );
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(HEAP_CHECK_EVERY) => {}
        }
        let Some(before) = memory::heap_in_use() else {
            return;
        };
        if !watch.should_release(before, std::time::Instant::now()) {
            continue;
        }
        let store = store.clone();
        let started = std::time::Instant::now();
        let released = tokio::task::spawn_blocking(move || store.release_memory()).await;
        let after = memory::heap_in_use().unwrap_or(before);
        match released {
            Ok(Ok(())) => info!(
                before_mib = before >> 20,
                after_mib = after >> 20,
                took_ms = started.elapsed().as_millis() as u64,
                "heap grew: the store let go of its cache"
            ),
            Ok(Err(e)) => warn!(error = %e, "the store could not let go of its cache"),
            Err(e) => warn!(error = %e, "releasing the store's cache stopped"),
        }
        watch.released(after, std::time::Instant::now());
    }
}
