//! The sled implementation of [`Store`], with the mitigations of `shared/reliability.md`:
//! pinned 0.34.7, a bounded cache, few trees, multi-tree transactions for every poll,
//! checksummed values, an explicit flush after each poll and before anything leaves.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDate;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Error, Store, WriteSummary, envelope};
use crate::model::{AlertEntry, AlertState, Item, SourceState};

/// sled's page cache; its default (1 GiB) lets RSS grow far past the daemon's budget. A
/// quarter's export is one range read, which the OS's page cache serves as well.
pub const CACHE_CAPACITY: u64 = 16 * 1024 * 1024;

/// Items keyed by publication date then id (`YYYYMMDD/<id>`, `undated/<id>`): a quarter is one
/// contiguous range of the tree, so an export reads neighbouring pages instead of 25,000
/// random ones.
const RECORDS: &str = "item_records";
/// Item id → its key in [`RECORDS`].
const IDS: &str = "item_ids";
/// The layout before `item_records` (items by id plus a date index of empty values), migrated
/// on open.
const OLD_ITEMS: &str = "items";
const OLD_BY_DATE: &str = "by_date";
/// Meta key holding the layout version; absent means the first layout.
const LAYOUT_KEY: &str = "layout";
const LAYOUT: &str = "2";
/// Items moved per transaction while migrating.
const MIGRATE_CHUNK: usize = 1000;
const SOURCES: &str = "sources";
const META: &str = "meta";
const ALERTS: &str = "alerts";
/// Date-index prefix for items with no usable publication date.
const UNDATED: &str = "undated";

/// Items handed to [`Store::apply_poll_with_alerts`] after which the store lets go of its cache
/// (see [`SledStore`]). Writing an item pulls its `item_records` leaf (a dozen stored items;
/// new items land all over the date range) and its `item_ids` leaf into memory: during a first
/// round of 10,000 new items into a store of 90,000, the heap grew by about 12 MiB between two
/// reopens 2,000 items apart (`bench/memory.sh`). At 1,000 the first round's peak was 61–64 MiB
/// over five runs once the classifier had grown by 0.7 MiB, at 500 it was 60, 61 and 62 MiB. A reopen
/// costs 30–90 ms on that store (20 in such a round); a daemon in its stride writes a few items a
/// poll and reopens rarely.
pub const WRITE_RELEASE_EVERY: usize = 500;

/// A sled database in a data directory.
///
/// The open database sits behind a lock so that [`Store::release_memory`] can close and reopen
/// it: sled 0.34 learns of page accesses in per-shard batches (256 shards × 64 accesses), so a
/// scan of the whole store (the daily archive, a reclassification) or a large batch of writes
/// leaves every page it read in memory whatever `cache_capacity` says; reopening is the one way
/// to let them go.
pub struct SledStore {
    dir: std::path::PathBuf,
    open: std::sync::RwLock<Option<Trees>>,
    /// Items handed to `apply_poll_with_alerts` since the last reopen.
    written: AtomicUsize,
    /// Reopens so far.
    releases: AtomicUsize,
}

/// The open database and its trees.
struct Trees {
    db: sled::Db,
    records: sled::Tree,
    ids: sled::Tree,
    sources: sled::Tree,
    meta: sled::Tree,
    alerts: sled::Tree,
}

fn engine(e: sled::Error) -> Error {
    Error::Engine(Box::new(e))
}

impl SledStore {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<SledStore, Error> {
        Ok(SledStore {
            dir: dir.to_path_buf(),
            open: std::sync::RwLock::new(Some(Trees::open(dir)?)),
            written: AtomicUsize::new(0),
            releases: AtomicUsize::new(0),
        })
    }

    /// How often the store has let go of its cache since it was opened.
    pub fn releases(&self) -> usize {
        self.releases.load(Ordering::Relaxed)
    }

    /// Runs `f` on the open database; calls wait while it is being reopened. A store whose
    /// reopening failed is tried again here, so that one failed reopen is not the end.
    fn with<T>(&self, f: impl FnOnce(&Trees) -> Result<T, Error>) -> Result<T, Error> {
        {
            let open = self
                .open
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(trees) = open.as_ref() {
                return f(trees);
            }
        }
        let mut open = self
            .open
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if open.is_none() {
            *open = Some(Trees::open(&self.dir)?);
        }
        match open.as_ref() {
            Some(trees) => f(trees),
            None => Err(Error::Engine("the store could not be reopened".into())),
        }
    }
}

impl Trees {
    fn open(dir: &Path) -> Result<Trees, Error> {
        let path = dir.display().to_string();
        std::fs::create_dir_all(dir).map_err(|source| Error::Open {
            path: path.clone(),
            source,
        })?;
        // sled's flusher thread holds the file lock for a moment after the last handle of a
        // closed store is dropped; a reopen in the same process waits that moment out.
        let mut attempt = 0;
        let db = loop {
            match open_db(dir, &path) {
                Err(Error::Locked { .. }) if attempt < LOCK_RETRIES => {
                    attempt += 1;
                    std::thread::sleep(LOCK_RETRY_PAUSE);
                }
                other => break other?,
            }
        };
        let tree = |name: &str| db.open_tree(name).map_err(engine);
        let store = Trees {
            records: tree(RECORDS)?,
            ids: tree(IDS)?,
            sources: tree(SOURCES)?,
            meta: tree(META)?,
            alerts: tree(ALERTS)?,
            db,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Moves a store of the first layout into `item_records`/`item_ids`. Safe to interrupt:
    /// the layout key is set only once every item has moved, and a new attempt starts over.
    fn migrate(&self) -> Result<(), Error> {
        if self.meta.get(LAYOUT_KEY).map_err(engine)?.as_deref() == Some(LAYOUT.as_bytes()) {
            return Ok(());
        }
        let names = self.db.tree_names();
        if names.iter().any(|n| n.as_ref() == OLD_ITEMS.as_bytes()) {
            tracing::info!("moving stored items to the date-ordered layout (once)");
            self.records.clear().map_err(engine)?;
            self.ids.clear().map_err(engine)?;
            let old = self.db.open_tree(OLD_ITEMS).map_err(engine)?;
            let mut chunk = Vec::with_capacity(MIGRATE_CHUNK);
            for entry in old.iter() {
                let (key, value) = entry.map_err(engine)?;
                chunk.push(envelope::open_item(&key, &value)?);
                if chunk.len() == MIGRATE_CHUNK {
                    self.replace_items(&chunk)?;
                    chunk.clear();
                }
            }
            self.replace_items(&chunk)?;
            self.flush()?;
        }
        self.meta.insert(LAYOUT_KEY, LAYOUT).map_err(engine)?;
        self.flush()?;
        for old in [OLD_ITEMS, OLD_BY_DATE] {
            if names.iter().any(|n| n.as_ref() == old.as_bytes()) {
                self.db.drop_tree(old).map_err(engine)?;
            }
        }
        Ok(())
    }

    /// An item by id, with its key in [`RECORDS`].
    fn stored(&self, id: &str) -> Result<Option<Item>, Error> {
        let Some(key) = self.ids.get(id.as_bytes()).map_err(engine)? else {
            return Ok(None);
        };
        match self.records.get(&key).map_err(engine)? {
            Some(bytes) => Ok(Some(envelope::open_item(&key, &bytes)?)),
            None => Err(Error::Corrupt {
                key: id.to_string(),
                reason: format!(
                    "the id index points at {}, which holds nothing",
                    String::from_utf8_lossy(&key)
                ),
            }),
        }
    }
}

/// Entries decoded per thread at least: below this, threads cost more than they save.
const DECODE_CHUNK: usize = 2_000;

/// Decodes stored items, on every core when there are many (a quarter's export reads 25,000
/// of them, and JSON decoding is most of that read).
fn decode_all(
    entries: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
) -> Result<Vec<Item>, Error> {
    let raw: Vec<(sled::IVec, sled::IVec)> =
        entries.collect::<sled::Result<_>>().map_err(engine)?;
    let decode = |chunk: &[(sled::IVec, sled::IVec)]| -> Result<Vec<Item>, Error> {
        chunk
            .iter()
            .map(|(k, v)| envelope::open_item(k, v))
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || raw.len() < 2 * DECODE_CHUNK {
        return decode(&raw);
    }
    let chunk = raw.len().div_ceil(threads).max(DECODE_CHUNK);
    let decoded: Vec<Result<Vec<Item>, Error>> = std::thread::scope(|scope| {
        let workers: Vec<_> = raw
            .chunks(chunk)
            .map(|part| scope.spawn(move || decode(part)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(Error::Engine("a decoding thread panicked".into())))
            })
            .collect()
    });
    let mut items = Vec::with_capacity(raw.len());
    for part in decoded {
        items.extend(part?);
    }
    Ok(items)
}

/// How often, and how far apart, a held lock is tried again before it counts as held.
const LOCK_RETRIES: u32 = 10;
const LOCK_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

fn open_db(dir: &Path, path: &str) -> Result<sled::Db, Error> {
    // sled 0.34 panics on some damaged snapshots (sled #1410) instead of returning an error:
    // that is a corrupt store, to be restored, not the end of the process.
    let opened = std::panic::catch_unwind(|| {
        sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_CAPACITY)
            .flush_every_ms(Some(500))
            .open()
    })
    .map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into());
        Error::Corrupt {
            key: path.to_string(),
            reason: format!("sled failed while opening: {why}"),
        }
    })?;
    opened.map_err(|e| match e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => Error::Locked {
            path: path.to_string(),
        },
        sled::Error::Io(io) => Error::Open {
            path: path.to_string(),
            source: io,
        },
        other => engine(other),
    })
}

fn date_key(item: &Item) -> Vec<u8> {
    let prefix = match item.published_date() {
        Some(d) => d.format("%Y%m%d").to_string(),
        None => UNDATED.to_string(),
    };
    format!("{prefix}/{}", item.id).into_bytes()
}

/// Whether a re-polled item differs from the stored one in anything a reader sees.
fn changed(old: &Item, new: &Item) -> bool {
    old.title != new.title
        || old.url != new.url
        || old.summary != new.summary
        || old.published != new.published
        || old.classification != new.classification
        || old.links != new.links
}

type TxResult<T> = Result<T, ConflictableTransactionError<Error>>;

fn abort(e: Error) -> ConflictableTransactionError<Error> {
    ConflictableTransactionError::Abort(e)
}

fn tx_error(e: TransactionError<Error>) -> Error {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => engine(e),
    }
}

impl Store for SledStore {
    fn apply_poll_with_alerts(
        &self,
        source: &str,
        items: &[Item],
        state: &SourceState,
        alerts: &dyn Fn(&Item) -> Vec<AlertEntry>,
    ) -> Result<WriteSummary, Error> {
        let summary = self.with(|t| t.apply_poll_with_alerts(source, items, state, alerts))?;
        // Exactly one writer crosses the limit; a release sets the count back to zero.
        let before = self.written.fetch_add(items.len(), Ordering::Relaxed);
        if before < WRITE_RELEASE_EVERY && before + items.len() >= WRITE_RELEASE_EVERY {
            let started = std::time::Instant::now();
            match self.release_memory() {
                Ok(()) => tracing::debug!(
                    items = before + items.len(),
                    took_ms = started.elapsed().as_millis() as u64,
                    "items written: the store let go of its cache"
                ),
                // The poll is stored; the next call opens the store again (`with`).
                Err(e) => tracing::warn!(error = %e, "the store could not let go of its cache"),
            }
        }
        Ok(summary)
    }
    fn put_state(&self, source: &str, state: &SourceState) -> Result<(), Error> {
        self.with(|t| t.put_state(source, state))
    }
    fn state(&self, source: &str) -> Result<Option<SourceState>, Error> {
        self.with(|t| t.state(source))
    }
    fn states(&self) -> Result<Vec<(String, SourceState)>, Error> {
        self.with(|t| t.states())
    }
    fn items_published_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Item>, Error> {
        self.with(|t| t.items_published_between(from, to))
    }
    fn item(&self, id: &str) -> Result<Item, Error> {
        self.with(|t| t.item(id))
    }
    fn all_items(&self) -> Result<Vec<Item>, Error> {
        self.with(|t| t.all_items())
    }
    fn items_page(&self, after: Option<&Item>, limit: usize) -> Result<Vec<Item>, Error> {
        self.with(|t| t.items_page(after, limit))
    }
    fn replace_items(&self, items: &[Item]) -> Result<(), Error> {
        self.with(|t| t.replace_items(items))
    }
    fn item_count(&self) -> Result<usize, Error> {
        self.with(|t| t.item_count())
    }
    fn meta(&self, key: &str) -> Result<Option<String>, Error> {
        self.with(|t| t.meta(key))
    }
    fn set_meta(&self, key: &str, value: &str) -> Result<(), Error> {
        self.with(|t| t.set_meta(key, value))
    }
    fn put_alert(&self, entry: &AlertEntry) -> Result<(), Error> {
        self.with(|t| t.put_alert(entry))
    }
    fn queue_alert(&self, entry: &AlertEntry) -> Result<bool, Error> {
        self.with(|t| t.queue_alert(entry))
    }
    fn alerts(&self) -> Result<Vec<AlertEntry>, Error> {
        self.with(|t| t.alerts())
    }
    fn prune_delivered(&self, before: chrono::DateTime<chrono::Utc>) -> Result<usize, Error> {
        self.with(|t| t.prune_delivered(before))
    }
    fn flush(&self) -> Result<(), Error> {
        self.with(|t| t.flush())
    }

    fn release_memory(&self) -> Result<(), Error> {
        let mut open = self
            .open
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.written.store(0, Ordering::Relaxed);
        self.releases.fetch_add(1, Ordering::Relaxed);
        if let Some(trees) = open.take() {
            trees.flush()?;
            drop(trees);
        }
        *open = Some(Trees::open(&self.dir)?);
        crate::return_freed_memory();
        Ok(())
    }
}

/// The store's work, on the open database ([`SledStore`] holds it behind its lock).
impl Store for Trees {
    fn apply_poll_with_alerts(
        &self,
        source: &str,
        items: &[Item],
        state: &SourceState,
        alerts: &dyn Fn(&Item) -> Vec<AlertEntry>,
    ) -> Result<WriteSummary, Error> {
        let trees = (&self.records, &self.ids, &self.sources, &self.alerts);
        let result = trees.transaction(|(records_t, ids_t, sources_t, alerts_t)| {
            let mut summary = WriteSummary::default();
            for item in items {
                let previous: Option<Item> = match ids_t.get(item.id.as_bytes())? {
                    Some(key) => match records_t.get(&key)? {
                        Some(bytes) => Some(envelope::open_item(&key, &bytes).map_err(abort)?),
                        None => None,
                    },
                    None => None,
                };
                let to_store = match previous {
                    None => {
                        summary.new += 1;
                        for entry in alerts(item) {
                            if alerts_t.get(entry.id.as_bytes())?.is_none() {
                                alerts_t.insert(entry.id.as_bytes(), envelope::seal(&entry))?;
                            }
                        }
                        item.clone()
                    }
                    Some(old) if !changed(&old, item) => {
                        summary.unchanged += 1;
                        continue;
                    }
                    Some(old) => {
                        summary.updated += 1;
                        records_t.remove(date_key(&old))?;
                        Item {
                            accessed: old.accessed,
                            first_seen: old.first_seen,
                            decision: old.decision.clone(),
                            ..item.clone()
                        }
                    }
                };
                let key = date_key(&to_store);
                records_t.insert(key.as_slice(), envelope::seal_item(&to_store))?;
                ids_t.insert(item.id.as_bytes(), key)?;
            }
            let mut state = state.clone();
            // The count lives in the store: callers may hold a stale copy of the state.
            let stored_before = match sources_t.get(source.as_bytes())? {
                Some(bytes) => {
                    envelope::open::<SourceState>(source.as_bytes(), &bytes)
                        .map_err(abort)?
                        .items_stored
                }
                None => 0,
            };
            state.items_stored = stored_before + summary.new as u64;
            sources_t.insert(source.as_bytes(), envelope::seal(&state))?;
            TxResult::Ok(summary)
        });
        result.map_err(tx_error)
    }

    fn put_state(&self, source: &str, state: &SourceState) -> Result<(), Error> {
        let mut state = state.clone();
        if let Some(stored) = self.state(source)? {
            state.items_stored = stored.items_stored;
        }
        self.sources
            .insert(source.as_bytes(), envelope::seal(&state))
            .map_err(engine)?;
        Ok(())
    }

    fn state(&self, source: &str) -> Result<Option<SourceState>, Error> {
        match self.sources.get(source.as_bytes()).map_err(engine)? {
            Some(bytes) => Ok(Some(envelope::open(source.as_bytes(), &bytes)?)),
            None => Ok(None),
        }
    }

    fn states(&self) -> Result<Vec<(String, SourceState)>, Error> {
        self.sources
            .iter()
            .map(|entry| {
                let (k, v) = entry.map_err(engine)?;
                Ok((
                    String::from_utf8_lossy(&k).into_owned(),
                    envelope::open(&k, &v)?,
                ))
            })
            .collect()
    }

    fn items_published_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Item>, Error> {
        let start = from.format("%Y%m%d").to_string();
        // '/' sorts before '0': "YYYYMMDD0" is past every key of the last day.
        let end = format!("{}0", to.format("%Y%m%d"));
        decode_all(self.records.range(start.as_bytes()..end.as_bytes()))
    }

    fn item(&self, id: &str) -> Result<Item, Error> {
        self.stored(id)?
            .ok_or_else(|| Error::NotFound(format!("item {id}")))
    }

    fn all_items(&self) -> Result<Vec<Item>, Error> {
        decode_all(self.records.iter())
    }

    fn items_page(&self, after: Option<&Item>, limit: usize) -> Result<Vec<Item>, Error> {
        let range = match after {
            Some(item) => self.records.range::<Vec<u8>, _>((
                std::ops::Bound::Excluded(date_key(item)),
                std::ops::Bound::Unbounded,
            )),
            None => self.records.iter(),
        };
        decode_all(range.take(limit))
    }

    fn replace_items(&self, items: &[Item]) -> Result<(), Error> {
        let result = (&self.records, &self.ids).transaction(|(records_t, ids_t)| {
            for item in items {
                if let Some(old_key) = ids_t.get(item.id.as_bytes())? {
                    records_t.remove(old_key)?;
                }
                let key = date_key(item);
                records_t.insert(key.as_slice(), envelope::seal_item(item))?;
                ids_t.insert(item.id.as_bytes(), key)?;
            }
            TxResult::Ok(())
        });
        result.map_err(tx_error)
    }

    fn item_count(&self) -> Result<usize, Error> {
        Ok(self.ids.len())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, Error> {
        Ok(self
            .meta
            .get(key.as_bytes())
            .map_err(engine)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), Error> {
        self.meta
            .insert(key.as_bytes(), value.as_bytes())
            .map_err(engine)?;
        Ok(())
    }

    fn put_alert(&self, entry: &AlertEntry) -> Result<(), Error> {
        self.alerts
            .insert(entry.id.as_bytes(), envelope::seal(entry))
            .map_err(engine)?;
        Ok(())
    }

    fn queue_alert(&self, entry: &AlertEntry) -> Result<bool, Error> {
        let sealed = envelope::seal(entry);
        let swapped = self
            .alerts
            .compare_and_swap(entry.id.as_bytes(), None as Option<&[u8]>, Some(sealed))
            .map_err(engine)?;
        Ok(swapped.is_ok())
    }

    fn alerts(&self) -> Result<Vec<AlertEntry>, Error> {
        self.alerts
            .iter()
            .map(|entry| {
                let (k, v) = entry.map_err(engine)?;
                envelope::open(&k, &v)
            })
            .collect()
    }

    fn prune_delivered(&self, before: chrono::DateTime<chrono::Utc>) -> Result<usize, Error> {
        let mut pruned = 0;
        for entry in self.alerts()? {
            if entry.state == AlertState::Delivered && entry.delivered.is_some_and(|d| d < before) {
                self.alerts.remove(entry.id.as_bytes()).map_err(engine)?;
                pruned += 1;
            }
        }
        Ok(pruned)
    }

    fn flush(&self) -> Result<(), Error> {
        self.db.flush().map_err(engine)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Classification, Section};
    use chrono::{DateTime, Utc};

    fn item(id: &str, published: &str, title: &str) -> Item {
        Item {
            id: id.into(),
            source: "s".into(),
            publisher: "P".into(),
            country: "US".into(),
            lang: "en".into(),
            identity: format!("guid:{id}"),
            title: title.into(),
            url: format!("https://example.org/{id}"),
            published: Some(DateTime::parse_from_rfc3339(published).unwrap()),
            accessed: NaiveDate::from_ymd_opt(2025, 5, 14).unwrap(),
            first_seen: Utc::now(),
            last_changed: Utc::now(),
            summary: String::new(),
            classification: Classification {
                section: Some(Section::AbroadOther),
                ..Default::default()
            },
            decision: None,
            links: Vec::new(),
        }
    }

    #[test]
    fn polls_insert_update_and_index_by_date() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let a = item("a", "2025-03-31T23:30:00-05:00", "A");
        let b = item("b", "2025-04-01T00:10:00+09:00", "B");
        let s = store
            .apply_poll("s", &[a.clone(), b.clone()], &SourceState::default())
            .unwrap();
        assert_eq!((s.new, s.updated, s.unchanged), (2, 0, 0));
        let again = store
            .apply_poll("s", &[a.clone(), b.clone()], &SourceState::default())
            .unwrap();
        assert_eq!((again.new, again.updated, again.unchanged), (0, 0, 2));
        assert_eq!(store.state("s").unwrap().unwrap().items_stored, 2);

        let q4 = |st: &SledStore| {
            st.items_published_between(
                NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
            )
            .unwrap()
        };
        assert_eq!(
            q4(&store).iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            ["a"]
        );

        // An edited title updates the item; its first access date stays; a moved date moves
        // the index entry.
        let mut edited = item("a", "2025-04-02T09:00:00+09:00", "A, corrected");
        edited.accessed = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let s = store
            .apply_poll("s", &[edited], &SourceState::default())
            .unwrap();
        assert_eq!(s.updated, 1);
        let stored = store.item("a").unwrap();
        assert_eq!(stored.title, "A, corrected");
        assert_eq!(
            stored.accessed,
            NaiveDate::from_ymd_opt(2025, 5, 14).unwrap()
        );
        assert!(q4(&store).is_empty());
        store.flush().unwrap();
        drop(store);

        let reopened = SledStore::open(dir.path()).unwrap();
        assert_eq!(reopened.item_count().unwrap(), 2);
        assert!(matches!(reopened.item("zz"), Err(Error::NotFound(_))));
    }

    #[test]
    fn a_store_of_the_first_layout_is_migrated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let a = item("a", "2025-03-31T23:30:00-05:00", "A");
        let b = item("b", "2024-12-01T10:00:00+09:00", "B");
        {
            let db = sled::open(dir.path()).unwrap();
            let items = db.open_tree(OLD_ITEMS).unwrap();
            let by_date = db.open_tree(OLD_BY_DATE).unwrap();
            for it in [&a, &b] {
                items.insert(it.id.as_bytes(), envelope::seal(it)).unwrap();
                by_date.insert(date_key(it), &[]).unwrap();
            }
            db.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.item_count().unwrap(), 2);
        assert_eq!(store.item("a").unwrap(), a);
        // Date order now, not id order.
        assert_eq!(store.all_items().unwrap(), vec![b.clone(), a.clone()]);
        let names = store.with(|t| Ok(t.db.tree_names())).unwrap();
        assert!(!names.iter().any(|n| n.as_ref() == OLD_ITEMS.as_bytes()));
        assert_eq!(store.meta(LAYOUT_KEY).unwrap().as_deref(), Some(LAYOUT));
        drop(store);
        let reopened = SledStore::open(dir.path()).unwrap();
        assert_eq!(reopened.all_items().unwrap(), vec![b, a]);
    }

    /// A store of items `i00`..`i24`, item `n` published on 2025-01-`day_of(n)`.
    fn store_of_25(day_of: impl Fn(usize) -> usize) -> (tempfile::TempDir, SledStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let items: Vec<Item> = (0..25)
            .map(|n| {
                let published = format!("2025-01-{:02}T10:00:00+09:00", day_of(n));
                item(&format!("i{n:02}"), &published, "T")
            })
            .collect();
        store.replace_items(&items).unwrap();
        (dir, store)
    }

    /// Long reads are decoded in parts on several threads: the items still come whole and in
    /// the store's order, at lengths around the part sizes.
    #[test]
    fn a_long_read_decoded_on_several_threads_keeps_the_store_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let total = 4 * DECODE_CHUNK + 321;
        let items: Vec<Item> = (0..total)
            .map(|n| {
                // Ids run against dates, so that key order is not insertion order.
                let published = format!("2025-01-{:02}T10:00:00+09:00", 1 + n % 28);
                item(&format!("i{:05}", total - n), &published, "T")
            })
            .collect();
        store.replace_items(&items).unwrap();
        let all = store.all_items().unwrap();
        assert_eq!(all.len(), total);
        let keys: Vec<(Option<NaiveDate>, String)> = all
            .iter()
            .map(|i| (i.published_date(), i.id.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert!(keys == sorted, "not in store order");
        for (from, days) in [(1, 27), (1, 1), (3, 14)] {
            let from = NaiveDate::from_ymd_opt(2025, 1, from).unwrap();
            let to = from + chrono::Days::new(days);
            let read = store.items_published_between(from, to).unwrap();
            let want: Vec<&str> = all
                .iter()
                .filter(|i| i.published_date().is_some_and(|d| d >= from && d <= to))
                .map(|i| i.id.as_str())
                .collect();
            let got: Vec<&str> = read.iter().map(|i| i.id.as_str()).collect();
            assert!(
                got == want,
                "{from}..{to}: {} read, {} wanted",
                got.len(),
                want.len()
            );
        }
    }

    #[test]
    fn pages_walk_the_store_in_date_order() {
        let (_dir, store) = store_of_25(|n| 25 - n);
        let mut seen = Vec::new();
        let mut after: Option<Item> = None;
        loop {
            let page = store.items_page(after.as_ref(), 10).unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.clone());
            seen.extend(page.into_iter().map(|i| i.id));
        }
        let want: Vec<String> = (0..25).rev().map(|n| format!("i{n:02}")).collect();
        assert_eq!(seen, want);

        // Reopened in place: everything is still there and writes go on.
        store.release_memory().unwrap();
        assert_eq!(store.item_count().unwrap(), 25);
        store
            .replace_items(&[item("late", "2025-02-01T10:00:00+09:00", "L")])
            .unwrap();
        assert_eq!(store.item("late").unwrap().title, "L");
    }

    #[test]
    fn a_scan_that_lets_the_cache_go_reads_and_writes_every_item_once() {
        let (_dir, store) = store_of_25(|n| n + 1);
        let mut seen = Vec::new();
        // Pages of 4, the store reopened every 8 items, each page rewritten as a
        // reclassification would.
        let read = crate::store::scan_items::<Error>(&store, 4, 8, |page| {
            let changed: Vec<Item> = page
                .into_iter()
                .map(|mut i| {
                    seen.push(i.id.clone());
                    i.title = "changed".into();
                    i
                })
                .collect();
            store.replace_items(&changed)
        })
        .unwrap();
        assert_eq!(read, 25);
        let want: Vec<String> = (0..25).map(|n| format!("i{n:02}")).collect();
        assert_eq!(seen, want);
        assert_eq!(store.item_count().unwrap(), 25);
        assert!(
            store
                .all_items()
                .unwrap()
                .iter()
                .all(|i| i.title == "changed")
        );
    }

    #[test]
    fn the_store_lets_go_after_a_thousand_items_written_and_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let per_poll = 300;
        let polls = WRITE_RELEASE_EVERY.div_ceil(per_poll) + 1;
        let mut ids = Vec::new();
        for poll in 0..polls {
            let items: Vec<Item> = (0..per_poll)
                .map(|n| {
                    let day = (poll * per_poll + n) % 28 + 1;
                    item(
                        &format!("p{poll}-{n}"),
                        &format!("2025-02-{day:02}T10:00:00+09:00"),
                        "T",
                    )
                })
                .collect();
            ids.extend(items.iter().map(|i| i.id.clone()));
            let written = store
                .apply_poll("s", &items, &SourceState::default())
                .unwrap();
            assert_eq!(written.new, per_poll);
        }
        // One release once the limit was crossed, none for the polls after it.
        assert_eq!(store.releases(), 1);
        assert_eq!(store.item_count().unwrap(), ids.len());
        assert!(ids.iter().all(|id| store.item(id).is_ok()));
        assert_eq!(
            store.state("s").unwrap().unwrap().items_stored,
            ids.len() as u64
        );
    }
}
