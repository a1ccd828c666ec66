//! Fills a data directory with generated items, for the memory and export measurements
//! (`bench/memory.sh`): `seed_store DIR N` writes N items from sources `source-00` ..
//! `source-49`, published over FY2015–FY2024, and records the built-in rules' hash so that a
//! daemon started on DIR does not re-tag them all first.
//!
//! `cargo run --release --example seed_store -- /tmp/kizashi-seed 100000`

#[path = "../benches/gen/mod.rs"]
mod generate;

use std::time::Instant;

use kizashi::classify::Classifier;
use kizashi::store::{SledStore, Store};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: seed_store DIR N"));
    let n: usize = args
        .next()
        .and_then(|v| v.parse().ok())
        .expect("usage: seed_store DIR N");
    let store = SledStore::open(&dir).expect("store opens");
    let started = Instant::now();
    let mut start = 0;
    while start < n {
        let end = (start + 10_000).min(n);
        let batch: Vec<_> = (start..end).map(|i| generate::stored_item(i, n)).collect();
        store.replace_items(&batch).expect("batch written");
        start = end;
    }
    let classifier = Classifier::builtin().expect("built-in rules load");
    store
        .set_meta("rules_hash", classifier.hash())
        .expect("rules hash recorded");
    store.flush().expect("store flushed");
    println!(
        "{} items in {} ({:.1} s)",
        store.item_count().expect("count"),
        dir.display(),
        started.elapsed().as_secs_f64()
    );
}
