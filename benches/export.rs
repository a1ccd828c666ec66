//! Export of one fiscal quarter from a sled store holding 1,000,000 items published over ten
//! years (FY2015–FY2024, about 25,000 a quarter): the date index is read, not the whole store.
//!
//! The store is built once per run in a temporary directory (its build time is printed, not
//! measured by criterion); set `KIZASHI_BENCH_STORE=DIR` to build it there once and reuse it
//! on later runs. `KIZASHI_BENCH_ITEMS=N` changes the item count.
//! `cargo bench --bench export`.

#[path = "gen/mod.rs"]
mod generate;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, TimeZone};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kizashi::export::{Format, Request, render, render_to};
use kizashi::model::{DateRange, Quarter};
use kizashi::store::{SledStore, Store};

const DEFAULT_ITEMS: usize = 1_000_000;
const BATCH: usize = 10_000;

fn item_count() -> usize {
    std::env::var("KIZASHI_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ITEMS)
}

/// Fills `store` with `n` generated items in batches; returns how long it took.
pub fn fill(store: &SledStore, n: usize) -> Duration {
    let started = Instant::now();
    let mut start = 0;
    while start < n {
        let end = (start + BATCH).min(n);
        let batch: Vec<_> = (start..end).map(|i| generate::stored_item(i, n)).collect();
        store.replace_items(&batch).expect("batch written");
        start = end;
    }
    store.flush().expect("store flushed");
    started.elapsed()
}

fn export(c: &mut Criterion) {
    let n = item_count();
    let (_temp, dir): (Option<tempfile::TempDir>, PathBuf) =
        match std::env::var_os("KIZASHI_BENCH_STORE") {
            Some(d) => (None, PathBuf::from(d)),
            None => {
                let t = tempfile::tempdir().expect("temporary directory");
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
    let store = SledStore::open(&dir).expect("store opens");
    let have = store.item_count().expect("count");
    if have == n {
        println!("store: reusing {} with {n} items", dir.display());
    } else {
        assert_eq!(have, 0, "{} holds {have} items, not {n}", dir.display());
        let took = fill(&store, n);
        println!(
            "store: built {n} items in {:.1} s ({:.0} items/s) in {}",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            dir.display()
        );
    }
    // A fresh handle, as `kizashi export` would have: nothing of the build left in sled's cache.
    drop(store);
    let store = SledStore::open(&dir).expect("store reopens");

    let quarter: Quarter = "FY2022Q3".parse().expect("quarter");
    let range = DateRange::quarter(quarter);
    let generated_at = FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(2025, 4, 1, 9, 0, 0)
        .unwrap();
    let request = |format| Request {
        range,
        format,
        all: false,
        generated_at,
    };
    let cold = Instant::now();
    let items = store
        .items_published_between(range.from, range.to)
        .expect("quarter read");
    let in_quarter = items.len();
    println!(
        "first (cold) read of {quarter}: {in_quarter} items in {:.1} ms",
        cold.elapsed().as_secs_f64() * 1e3
    );
    for format in [Format::Json, Format::Markdown] {
        let once = Instant::now();
        let items = store
            .items_published_between(range.from, range.to)
            .expect("quarter read");
        let bytes = render(items, &request(format));
        println!(
            "one export of {quarter} as {format:?}: {} bytes in {:.1} ms",
            bytes.len(),
            once.elapsed().as_secs_f64() * 1e3
        );
    }

    let mut group = c.benchmark_group("export_quarter");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(in_quarter as u64));
    group.bench_function("read_index_and_items", |b| {
        b.iter(|| black_box(store.items_published_between(range.from, range.to).unwrap()))
    });
    for (name, format) in [("json", Format::Json), ("markdown", Format::Markdown)] {
        group.bench_function(format!("read_and_render/{name}"), |b| {
            b.iter(|| {
                let items = store.items_published_between(range.from, range.to).unwrap();
                black_box(render(items, &request(format)))
            })
        });
    }
    // As `kizashi export` writes it: made and handed over in blocks, never held whole. The
    // writer here takes the bytes and drops them, so this is the export without its
    // destination (a file costs the kernel's copy into the page cache on top).
    group.bench_function("read_and_stream/json", |b| {
        b.iter(|| {
            let items = store.items_published_between(range.from, range.to).unwrap();
            render_to(items, &request(Format::Json), &mut std::io::sink()).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, export);
criterion_main!(benches);
