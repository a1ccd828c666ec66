//! Durable state: items, the publication-date index, per-source state.
//!
//! Owns: key design and every durable write. The rest of kizashi sees the [`Store`] trait, so
//! that the crash tests can run against another engine; [`sled_store`] is the only module that
//! imports sled. May import: model. Must not fetch, parse or classify.

pub mod backup;
mod envelope;
mod item_codec;
pub mod sled_store;

use chrono::NaiveDate;

use crate::model::{AlertEntry, Item, SourceState};

pub use sled_store::SledStore;

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process (usually the daemon) holds the store.
    #[error("the store in {path} is held by another process (is the daemon running?)")]
    Locked { path: String },
    /// The data directory could not be created or opened.
    #[error("cannot open the store in {path}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The engine failed.
    #[error("store engine error")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored value failed its checksum or did not decode.
    #[error("stored value under key {key:?} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    /// No such item or source.
    #[error("not found: {0}")]
    NotFound(String),
}

/// What one poll's write changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// The storage seam.
pub trait Store: Send + Sync {
    /// Stores one poll's items and the source's new state in one atomic batch. An item already
    /// stored keeps its id, first-seen time and access date; it is rewritten only when its
    /// title, link, summary, publication time or classification changed.
    fn apply_poll(
        &self,
        source: &str,
        items: &[Item],
        state: &SourceState,
    ) -> Result<WriteSummary, Error> {
        self.apply_poll_with_alerts(source, items, state, &|_| Vec::new())
    }

    /// [`Store::apply_poll`], queueing the alerts that `alerts` gives for each *new* item in
    /// the same atomic batch: an item is never stored without its alerts. An alert whose id
    /// is already stored is left alone.
    fn apply_poll_with_alerts(
        &self,
        source: &str,
        items: &[Item],
        state: &SourceState,
        alerts: &dyn Fn(&Item) -> Vec<AlertEntry>,
    ) -> Result<WriteSummary, Error>;

    /// Writes an alert entry (its new state after an attempt).
    fn put_alert(&self, entry: &AlertEntry) -> Result<(), Error>;

    /// Queues an alert unless one with its id exists; true when it was queued.
    fn queue_alert(&self, entry: &AlertEntry) -> Result<bool, Error>;

    /// Every alert entry, queued, dead and delivered.
    fn alerts(&self) -> Result<Vec<AlertEntry>, Error>;

    /// Forgets delivered alerts older than `before`.
    fn prune_delivered(&self, before: chrono::DateTime<chrono::Utc>) -> Result<usize, Error>;

    /// Records a source's state alone (a 304, a failure).
    fn put_state(&self, source: &str, state: &SourceState) -> Result<(), Error>;

    /// A source's state, if it was ever polled.
    fn state(&self, source: &str) -> Result<Option<SourceState>, Error>;

    /// Every source's state.
    fn states(&self) -> Result<Vec<(String, SourceState)>, Error>;

    /// Items published between two dates (both included), in date order: one range of the
    /// store, not a scan.
    fn items_published_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Item>, Error>;

    /// One item by id.
    fn item(&self, id: &str) -> Result<Item, Error>;

    /// Every stored item, in the store's order (publication date, then id; undated last).
    fn all_items(&self) -> Result<Vec<Item>, Error>;

    /// Up to `limit` items in the store's order after the item `after` (from the start when
    /// `None`): for walking a large store without holding it all in memory.
    fn items_page(&self, after: Option<&Item>, limit: usize) -> Result<Vec<Item>, Error>;

    /// Rewrites items (reclassification) keeping their index entries right.
    fn replace_items(&self, items: &[Item]) -> Result<(), Error>;

    /// Number of stored items.
    fn item_count(&self) -> Result<usize, Error>;

    /// A small named value (the rules' hash).
    fn meta(&self, key: &str) -> Result<Option<String>, Error>;

    /// Sets a small named value.
    fn set_meta(&self, key: &str, value: &str) -> Result<(), Error>;

    /// Makes everything written so far durable against a process crash.
    fn flush(&self) -> Result<(), Error>;

    /// Lets go of what a scan of the whole store left cached (after the daily archive or a
    /// reclassification); flushes first. Calls made meanwhile wait.
    fn release_memory(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// Items read between two releases of the store's cache during a full scan. Each item read
/// holds about 1.3 KiB until the next release (the heap grew 25–28 MiB between two releases
/// 20,000 items apart during the daily archive of 100,000 items); a release costs 30–90 ms
/// there, so 5,000 items keep the scan's share near 7 MiB for 1–2 s more per 100,000 items.
pub const SCAN_RELEASE_EVERY: usize = 5_000;

/// Hands every stored item to `each`, `page` at a time in date order. sled keeps every page a
/// scan reads in memory whatever its cache capacity, so the store lets them go every
/// `release_every` items ([`SCAN_RELEASE_EVERY`]) and at the end: an archive or a
/// reclassification of a million items must not hold the store in memory. Returns how many
/// items were read.
pub fn scan_items<E: From<Error>>(
    store: &dyn Store,
    page: usize,
    release_every: usize,
    mut each: impl FnMut(Vec<Item>) -> Result<(), E>,
) -> Result<usize, E> {
    let (mut read, mut since_release) = (0, 0);
    let mut after: Option<Item> = None;
    loop {
        let items = store.items_page(after.as_ref(), page)?;
        let Some(last) = items.last() else { break };
        after = Some(last.clone());
        read += items.len();
        since_release += items.len();
        each(items)?;
        if since_release >= release_every {
            store.release_memory()?;
            since_release = 0;
        }
    }
    store.release_memory()?;
    Ok(read)
}

/// Our item key: a hash of the source id and the item's identity (GUID or canonical link),
/// never feed-rs's invented id and never the title.
pub fn item_key(source: &str, identity: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    h.update([0]);
    h.update(identity.as_bytes());
    crate::model::hex(&h.finalize()[..16])
}
