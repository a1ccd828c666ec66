//! Backups outside sled: a JSON Lines archive of every item and every source's state, and the
//! restore that rebuilds a store from one (`shared/reliability.md` D4, D9).
//!
//! An archive is `<data_dir>/backups/kizashi-YYYYMMDD.jsonl` (the JST date it was written),
//! one JSON object per line:
//!
//! ```text
//! {"type":"kizashi-archive","version":2,"created":"2025-05-14T03:00:00Z"}
//! {"type":"item","id":"…","source":"cisa-news",…every Item field…}
//! {"type":"source","id":"cisa-news","state":{…SourceState…}}
//! {"type":"end","items":1,"sources":1}
//! ```
//!
//! The closing counts let a restore tell a whole archive from a truncated copy; they close the
//! file rather than open it so that items can be streamed from the store page by page (the
//! daemon must not hold a whole store in memory to back it up). Version 1 archives, with the
//! counts in the header, are still read. An archive is
//! written to a temporary file, synced, read back and checked, renamed into place, and the
//! directory is synced; the newest [`DEFAULT_KEEP`] generations are kept.
//!
//! A restore sets the meta key [`SILENT_BASELINE_KEY`] to `"1"`: the first poll of each source
//! after a restore records its items without alerting (the alert code reads the key and clears
//! it per source), so that a rebuilt store does not announce everything again.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{SledStore, Store};
use crate::model::{Item, SourceState, jst};

/// Generations of archives kept.
pub const DEFAULT_KEEP: usize = 7;
/// The archive format's version (the header's `version`).
pub const ARCHIVE_VERSION: u32 = 2;
/// Items read from the store at a time while an archive is written.
const ARCHIVE_PAGE: usize = 500;
/// Meta key set by a restore: the first poll of each source records without alerting.
pub const SILENT_BASELINE_KEY: &str = "silent_baseline";
/// How often the daemon writes an archive.
pub const ARCHIVE_EVERY: Duration = Duration::from_secs(24 * 3600);

const PREFIX: &str = "kizashi-";
const SUFFIX: &str = ".jsonl";
const TMP_SUFFIX: &str = ".jsonl.tmp";
/// Items written to the store in one transaction during a restore.
const RESTORE_CHUNK: usize = 500;

/// Backup and restore failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] super::Error),
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a kizashi archive: line {line}: {reason}")]
    Format {
        path: String,
        line: usize,
        reason: String,
    },
    #[error(
        "the store in {path} already holds {items} items and {sources} sources; \
         restore with --force to move it aside first"
    )]
    NotEmpty {
        path: String,
        items: usize,
        sources: usize,
    },
    #[error(
        "the store in {path} cannot be opened ({reason}); restore with --force to move it \
         aside first"
    )]
    Unreadable { path: String, reason: String },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.display().to_string();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

/// One line of an archive.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
enum Line {
    #[serde(rename = "kizashi-archive")]
    Header {
        version: u32,
        created: DateTime<Utc>,
        /// Version 1 only: version 2 closes with [`Line::End`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        items: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sources: Option<usize>,
    },
    #[serde(rename = "item")]
    Item(Box<Item>),
    #[serde(rename = "source")]
    Source { id: String, state: SourceState },
    #[serde(rename = "end")]
    End { items: usize, sources: usize },
}

/// Where a data directory's archives live.
pub fn backups_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("backups")
}

/// The archives in `dir`, newest first (their names sort by date).
pub fn archives(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_archive_name)
        })
        .collect();
    found.sort();
    found.reverse();
    found
}

/// The newest archive of a data directory, if any.
pub fn newest_archive(data_dir: &Path) -> Option<PathBuf> {
    archives(&backups_dir(data_dir)).into_iter().next()
}

fn is_archive_name(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(SUFFIX))
        .is_some_and(|date| date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()))
}

/// Writes an archive of `store` into `dir` (usually [`backups_dir`]), named by the JST date
/// of `now`, replacing that day's archive if there is one, and keeps the newest `keep`.
pub fn write_archive(
    store: &dyn Store,
    dir: &Path,
    keep: usize,
    now: DateTime<Utc>,
) -> Result<PathBuf, Error> {
    fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
    let name = format!("{PREFIX}{}", now.with_timezone(&jst()).format("%Y%m%d"));
    let path = dir.join(format!("{name}{SUFFIX}"));
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));

    let header = Line::Header {
        version: ARCHIVE_VERSION,
        created: now,
        items: None,
        sources: None,
    };
    let written = (|| -> Result<(), Error> {
        let file = File::create(&tmp).map_err(io("cannot write", &tmp))?;
        let mut out = BufWriter::new(file);
        let line = |out: &mut BufWriter<File>, line: &Line| {
            write_line(out, line).map_err(io("cannot write", &tmp))
        };
        line(&mut out, &header)?;
        let items =
            super::scan_items::<Error>(store, ARCHIVE_PAGE, super::SCAN_RELEASE_EVERY, |page| {
                for item in page {
                    line(&mut out, &Line::Item(Box::new(item)))?;
                }
                Ok(())
            })?;
        let states = store.states()?;
        let sources = states.len();
        for (id, state) in states {
            line(&mut out, &Line::Source { id, state })?;
        }
        line(&mut out, &Line::End { items, sources })?;
        let file = out
            .into_inner()
            .map_err(|e| io("cannot write", &tmp)(e.into_error()))?;
        file.sync_all().map_err(io("cannot sync", &tmp))
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Read it back before it replaces anything: a short write must not become the newest.
    if let Err(e) = read_archive(&tmp, |_| {}) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, &path).map_err(io("cannot rename into", &path))?;
    sync_dir(dir)?;
    prune(dir, keep.max(1))?;
    Ok(path)
}

fn write_line(out: &mut impl Write, line: &Line) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync", dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), Error> {
    Ok(())
}

/// Removes archives beyond the newest `keep`, and temporary files of interrupted writes.
fn prune(dir: &Path, keep: usize) -> Result<(), Error> {
    for old in archives(dir).into_iter().skip(keep) {
        fs::remove_file(&old).map_err(io("cannot remove", &old))?;
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name();
            if name
                .to_str()
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(TMP_SUFFIX))
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    sync_dir(dir)
}

/// An archive's header and source states, checked; its items went to the reader's callback.
struct Archive {
    created: DateTime<Utc>,
    states: Vec<(String, SourceState)>,
}

/// Reads and checks an archive, handing each item to `on_item` as it is read.
fn read_archive(path: &Path, mut on_item: impl FnMut(Item)) -> Result<Archive, Error> {
    let file = File::open(path).map_err(io("cannot read", path))?;
    let format = |line: usize, reason: String| Error::Format {
        path: path.display().to_string(),
        line,
        reason,
    };
    // (items, sources): announced by a version 1 header, or by a version 2 end line.
    type Counts = (usize, usize);
    let mut header: Option<(DateTime<Utc>, Option<Counts>)> = None;
    let mut closing: Option<Counts> = None;
    let mut items = 0;
    let mut states = Vec::new();
    for (n, text) in BufReader::new(file).lines().enumerate() {
        let number = n + 1;
        let text = text.map_err(io("cannot read", path))?;
        if text.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(&text).map_err(|e| format(number, e.to_string()))?;
        if closing.is_some() {
            return Err(format(number, "a line after the end line".into()));
        }
        match (line, &header) {
            (
                Line::Header {
                    version,
                    created,
                    items,
                    sources,
                },
                None,
            ) if number == 1 => {
                let announced = match (version, items, sources) {
                    (1, Some(items), Some(sources)) => Some((items, sources)),
                    (1, _, _) => {
                        return Err(format(number, "a version 1 header without counts".into()));
                    }
                    (ARCHIVE_VERSION, _, _) => None,
                    _ => {
                        return Err(format(
                            number,
                            format!(
                                "version {version}; this kizashi reads 1 and {ARCHIVE_VERSION}"
                            ),
                        ));
                    }
                };
                header = Some((created, announced));
            }
            (_, None) => return Err(format(number, "no kizashi-archive header".into())),
            (Line::Header { .. }, Some(_)) => {
                return Err(format(number, "a second header".into()));
            }
            (Line::Item(item), Some(_)) => {
                items += 1;
                on_item(*item);
            }
            (Line::Source { id, state }, Some(_)) => states.push((id, state)),
            (Line::End { items, sources }, Some((_, None))) => closing = Some((items, sources)),
            (Line::End { .. }, Some(_)) => {
                return Err(format(number, "an end line in a version 1 archive".into()));
            }
        }
    }
    let Some((created, announced)) = header else {
        return Err(format(1, "empty file".into()));
    };
    let Some((want_items, want_sources)) = announced.or(closing) else {
        return Err(format(
            0,
            format!(
                "truncated: no end line after {items} items and {} sources",
                states.len()
            ),
        ));
    };
    if items != want_items || states.len() != want_sources {
        return Err(format(
            0,
            format!(
                "truncated: {items} items and {} sources, the archive announces {want_items} and \
                 {want_sources}",
                states.len()
            ),
        ));
    }
    Ok(Archive { created, states })
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    pub items: usize,
    pub sources: usize,
    pub created: DateTime<Utc>,
    /// Where the previous store was moved (with `force`).
    pub moved_aside: Option<PathBuf>,
}

/// Rebuilds the store in `data_dir` from an archive. An existing store that holds anything,
/// or cannot be opened, is left alone unless `force`, which moves the whole directory aside
/// to `<data_dir>.before-restore-<timestamp>` (its archives are carried over to the new one).
/// The restored store has the meta key [`SILENT_BASELINE_KEY`] set.
pub fn restore(
    archive: &Path,
    data_dir: &Path,
    force: bool,
    now: DateTime<Utc>,
) -> Result<RestoreSummary, Error> {
    // Read everything first: the archive may live inside the directory moved aside. A restore
    // is a one-off command, so holding the archive's items is fine here.
    let mut items = Vec::new();
    let Archive { created, states } = read_archive(archive, |item| items.push(item))?;
    let mut moved_aside = None;
    if holds_anything(data_dir) {
        let verdict = match SledStore::open(data_dir) {
            Ok(store) => {
                let (n_items, n_sources) = (store.item_count()?, store.states()?.len());
                if n_items == 0 && n_sources == 0 {
                    None
                } else {
                    Some(Error::NotEmpty {
                        path: data_dir.display().to_string(),
                        items: n_items,
                        sources: n_sources,
                    })
                }
            }
            // The daemon holds it: never move a live store.
            Err(e @ super::Error::Locked { .. }) => return Err(e.into()),
            Err(e) => Some(Error::Unreadable {
                path: data_dir.display().to_string(),
                reason: error_chain(&e),
            }),
        };
        match verdict {
            None => {}
            Some(refusal) if !force => return Err(refusal),
            Some(_) => moved_aside = Some(move_aside(data_dir, now)?),
        }
    }

    let store = SledStore::open(data_dir)?;
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for item in &items {
        *counts.entry(item.source.as_str()).or_default() += 1;
    }
    for chunk in items.chunks(RESTORE_CHUNK) {
        store.replace_items(chunk)?;
    }
    for (id, state) in &states {
        // The archive is not a snapshot across trees: the count follows the items restored.
        let state = SourceState {
            items_stored: counts.get(id.as_str()).copied().unwrap_or(0),
            ..state.clone()
        };
        store.put_state(id, &state)?;
    }
    store.set_meta(SILENT_BASELINE_KEY, "1")?;
    store.flush()?;
    Ok(RestoreSummary {
        items: items.len(),
        sources: states.len(),
        created,
        moved_aside,
    })
}

/// Whether a data directory holds anything besides its archives.
fn holds_anything(data_dir: &Path) -> bool {
    fs::read_dir(data_dir).is_ok_and(|entries| {
        entries
            .filter_map(|e| e.ok())
            .any(|e| e.file_name() != "backups")
    })
}

fn move_aside(data_dir: &Path, now: DateTime<Utc>) -> Result<PathBuf, Error> {
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let named = |n: u32| {
        let mut aside = data_dir.as_os_str().to_owned();
        aside.push(format!(".before-restore-{stamp}"));
        if n > 0 {
            aside.push(format!("-{n}"));
        }
        PathBuf::from(aside)
    };
    let mut n = 0;
    while named(n).exists() {
        n += 1;
    }
    let aside = named(n);
    fs::rename(data_dir, &aside).map_err(io("cannot move aside", data_dir))?;
    fs::create_dir_all(data_dir).map_err(io("cannot create", data_dir))?;
    let old_backups = backups_dir(&aside);
    if old_backups.is_dir() {
        let new_backups = backups_dir(data_dir);
        fs::rename(&old_backups, &new_backups).map_err(io("cannot move", &old_backups))?;
    }
    if let Some(parent) = data_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(aside)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

/// How long until the next archive is due: now when there is none or the newest is a day old.
fn next_archive_in(data_dir: &Path) -> Duration {
    let age = newest_archive(data_dir)
        .and_then(|p| fs::metadata(p).ok())
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.elapsed().ok());
    match age {
        Some(age) => ARCHIVE_EVERY.saturating_sub(age),
        None => Duration::ZERO,
    }
}

/// The daemon's archive task: one archive at start when the newest is older than a day (or
/// there is none), then one a day, until `stop` is cancelled. A failed archive is logged and
/// tried again in an hour; it never stops the daemon.
///
/// Nothing is read before `first_round` resolves (the daemon's first poll round is over): a
/// scan's cache on top of a first round's writes and parses was the daemon's highest resident
/// size.
pub async fn archive_daily(
    store: Arc<dyn Store>,
    data_dir: PathBuf,
    first_round: impl std::future::Future<Output = ()>,
    stop: tokio_util::sync::CancellationToken,
) {
    tokio::select! {
        _ = stop.cancelled() => return,
        _ = first_round => {}
    }
    let mut wait = next_archive_in(&data_dir);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let (store, dir) = (store.clone(), backups_dir(&data_dir));
        // The archive's scan lets the store's cache go as it reads (`scan_items`).
        let written = tokio::task::spawn_blocking(move || {
            write_archive(store.as_ref(), &dir, DEFAULT_KEEP, Utc::now())
        })
        .await;
        wait = match written {
            Ok(Ok(path)) => {
                tracing::info!(archive = %path.display(), "archive written");
                ARCHIVE_EVERY
            }
            Ok(Err(e)) => {
                tracing::error!(error = %error_chain(&e), "archive failed; retrying in an hour");
                Duration::from_secs(3600)
            }
            Err(e) => {
                tracing::error!(error = %e, "archive task failed; retrying in an hour");
                Duration::from_secs(3600)
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Classification, Section};
    use chrono::{NaiveDate, TimeZone};

    fn item(source: &str, n: usize) -> Item {
        let id = crate::store::item_key(source, &format!("guid:{n}"));
        Item {
            id,
            source: source.into(),
            publisher: "P".into(),
            country: "JP".into(),
            lang: "ja".into(),
            identity: format!("guid:{n}"),
            title: format!("項目 {n} \"quoted\"\nline"),
            url: format!("https://example.org/{n}"),
            published: (n % 3 != 0).then(|| {
                DateTime::parse_from_rfc3339(&format!("2025-01-{:02}T10:00:00+09:00", n % 28 + 1))
                    .unwrap()
            }),
            accessed: NaiveDate::from_ymd_opt(2025, 5, 14).unwrap(),
            first_seen: Utc::now(),
            last_changed: Utc::now(),
            summary: "s".into(),
            classification: Classification {
                section: Some(Section::AbroadOther),
                ..Default::default()
            },
            decision: None,
            links: Vec::new(),
        }
    }

    fn filled(dir: &Path) -> SledStore {
        let store = SledStore::open(dir).unwrap();
        for source in ["a", "b"] {
            let items: Vec<Item> = (0..20).map(|n| item(source, n)).collect();
            let state = SourceState {
                etag: Some("\"e\"".into()),
                last_status: Some("200".into()),
                ..Default::default()
            };
            store.apply_poll(source, &items, &state).unwrap();
        }
        store.flush().unwrap();
        store
    }

    #[test]
    fn archive_round_trips_and_keeps_generations() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = filled(&data);
        let backups = backups_dir(&data);
        let mut last = PathBuf::new();
        for day in 1..=9 {
            let now = Utc.with_ymd_and_hms(2025, 5, day, 3, 0, 0).unwrap();
            last = write_archive(&store, &backups, 3, now).unwrap();
        }
        assert_eq!(last, backups.join("kizashi-20250509.jsonl"));
        let names: Vec<_> = archives(&backups)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "kizashi-20250509.jsonl",
                "kizashi-20250508.jsonl",
                "kizashi-20250507.jsonl"
            ]
        );
        let text = fs::read_to_string(&last).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["type"], "kizashi-archive");
        assert_eq!(first["version"], 2);
        assert_eq!(text.lines().count(), 1 + 40 + 2 + 1);
        let end: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(
            end,
            serde_json::json!({"type": "end", "items": 40, "sources": 2})
        );

        let before = store.all_items().unwrap();
        drop(store);
        let target = dir.path().join("restored");
        let summary = restore(&last, &target, false, Utc::now()).unwrap();
        assert_eq!((summary.items, summary.sources), (40, 2));
        let restored = SledStore::open(&target).unwrap();
        assert_eq!(restored.all_items().unwrap(), before);
        let wide = restored
            .items_published_between(
                NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
            )
            .unwrap();
        assert_eq!(
            wide.len(),
            before.iter().filter(|i| i.published.is_some()).count()
        );
        let a = restored.state("a").unwrap().unwrap();
        assert_eq!(a.items_stored, 20);
        assert_eq!(a.etag.as_deref(), Some("\"e\""));
        assert_eq!(
            restored.meta(SILENT_BASELINE_KEY).unwrap().as_deref(),
            Some("1")
        );
    }

    #[test]
    fn restore_refuses_a_full_store_unless_forced_and_truncation_always() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = filled(&data);
        let archive = write_archive(&store, &backups_dir(&data), 7, Utc::now()).unwrap();
        drop(store);

        let refused = restore(&archive, &data, false, Utc::now()).unwrap_err();
        assert!(
            matches!(refused, Error::NotEmpty { items: 40, .. }),
            "{refused}"
        );

        let text = fs::read_to_string(&archive).unwrap();
        let cut = dir.path().join("cut.jsonl");
        let keep: Vec<&str> = text.lines().take(10).collect();
        fs::write(&cut, keep.join("\n")).unwrap();
        let truncated = restore(&cut, &dir.path().join("other"), false, Utc::now()).unwrap_err();
        assert!(truncated.to_string().contains("truncated"), "{truncated}");
        let mut miscounted: Vec<&str> = text.lines().collect();
        miscounted.remove(3);
        fs::write(&cut, miscounted.join("\n")).unwrap();
        let short = restore(&cut, &dir.path().join("other"), false, Utc::now()).unwrap_err();
        assert!(short.to_string().contains("39 items"), "{short}");
        // A version 1 archive carried its counts in the header and had no end line.
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let v1_header =
            lines[0].replace("\"version\":2", "\"version\":1,\"items\":40,\"sources\":2");
        let body = &lines[1..lines.len() - 1];
        fs::write(&cut, format!("{v1_header}\n{}\n", body.join("\n"))).unwrap();
        let v1 = restore(&cut, &dir.path().join("from-v1"), false, Utc::now()).unwrap();
        assert_eq!((v1.items, v1.sources), (40, 2));
        fs::write(&cut, "{\"type\":\"item\"}\n").unwrap();
        assert!(matches!(
            restore(&cut, &dir.path().join("other"), false, Utc::now()),
            Err(Error::Format { .. })
        ));

        let now = Utc.with_ymd_and_hms(2025, 5, 14, 1, 2, 3).unwrap();
        let summary = restore(&archive, &data, true, now).unwrap();
        let aside = dir.path().join("data.before-restore-20250514T010203Z");
        assert_eq!(summary.moved_aside.as_deref(), Some(aside.as_path()));
        assert!(aside.join("db").exists() || aside.join("conf").exists());
        assert_eq!(
            newest_archive(&data).unwrap().file_name(),
            archive.file_name()
        );
        let restored = SledStore::open(&data).unwrap();
        assert_eq!(restored.item_count().unwrap(), 40);
    }

    #[tokio::test]
    async fn the_archive_at_start_waits_for_the_first_poll_round() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store: Arc<dyn Store> = Arc::new(filled(&data));
        let (round_over, first_round) = tokio::sync::oneshot::channel::<()>();
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(archive_daily(
            store,
            data.clone(),
            async {
                let _ = first_round.await;
            },
            stop.clone(),
        ));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            archives(&backups_dir(&data)).is_empty(),
            "no archive while the first round runs"
        );
        round_over.send(()).unwrap();
        let mut written = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if !archives(&backups_dir(&data)).is_empty() {
                written = true;
                break;
            }
        }
        assert!(written, "the archive is written once the round is over");
        stop.cancel();
        task.await.unwrap();
    }
}
