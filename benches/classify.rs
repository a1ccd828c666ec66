//! Classification alone, with the full built-in rule set, over the labelled evaluation items
//! (`tests/eval/items.jsonl`, compiled in so that the benchmark needs nothing outside the
//! repository). Reports items per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kizashi::classify::{Classifier, Input};
use kizashi::model::Sector;
use serde::Deserialize;

const ITEMS: &str = include_str!("../tests/eval/items.jsonl");

#[derive(Deserialize)]
struct Item {
    title: String,
    summary: String,
    publisher: String,
    country: String,
    #[serde(default)]
    source_sector: Option<String>,
}

fn items() -> Vec<Item> {
    ITEMS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("tests/eval/items.jsonl is valid JSON Lines"))
        .collect()
}

fn classify(c: &mut Criterion) {
    let classifier = Classifier::builtin().expect("built-in rules load");
    let items = items();
    let sectors: Vec<Option<Sector>> = items
        .iter()
        .map(|i| i.source_sector.as_deref().and_then(|s| s.parse().ok()))
        .collect();
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(items.len() as u64));
    group.bench_function("eval_items", |b| {
        b.iter(|| {
            for (item, sector) in items.iter().zip(&sectors) {
                black_box(classifier.classify(Input {
                    title: black_box(&item.title),
                    summary: black_box(&item.summary),
                    country: &item.country,
                    sector: *sector,
                    publisher: &item.publisher,
                }));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, classify);
criterion_main!(benches);
