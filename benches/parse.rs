//! Parse + extract (`parse::feed::parse_feed`) and parse + extract + classify
//! (`pipeline::to_item` with the built-in rules) per feed format, over generated 200-item
//! documents, the fixtures in `fixtures/feeds`, and the real captures in
//! `../shared/corpus/feeds` when that folder is present.
//!
//! Two groups: `parse_bytes` reports MB/s (`Throughput::Bytes`), `parse_items` items/s
//! (`Throughput::Elements`, items extracted). `cargo bench --bench parse`.

#[path = "gen/mod.rs"]
mod generate;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use generate::Format;
use kizashi::classify::Classifier;
use kizashi::config::Config;
use kizashi::model::SourceSpec;
use kizashi::parse::ParseContext;

/// One benchmark input: documents of one format from one origin.
struct Set {
    name: String,
    docs: Vec<Vec<u8>>,
    bytes: u64,
    items: u64,
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap()
}

fn spec(lang: &str) -> SourceSpec {
    let text = format!(
        "data_dir = \"unused\"\n[[sources]]\nid = \"bench\"\npublisher = \"Bench\"\ncountry = \"US\"\nlang = {lang:?}\nurl = \"https://news.example.org/feed\"\n"
    );
    let config = Config::parse(&text, "bench.toml").expect("bench configuration is valid");
    config.sources[0].clone()
}

fn ctx(spec: &SourceSpec) -> ParseContext<'_> {
    ParseContext {
        base_url: &spec.url,
        timezone: spec.timezone,
        http_charset: None,
        lang: &spec.lang,
    }
}

fn parse_all(docs: &[Vec<u8>], spec: &SourceSpec) -> u64 {
    let ctx = ctx(spec);
    docs.iter()
        .map(|d| {
            kizashi::parse::feed::parse_feed(d, &ctx, now())
                .map(|p| p.items.len() as u64)
                .unwrap_or(0)
        })
        .sum()
}

fn set(name: String, docs: Vec<Vec<u8>>, spec: &SourceSpec) -> Option<Set> {
    let items = parse_all(&docs, spec);
    if docs.is_empty() || items == 0 {
        return None;
    }
    let bytes = docs.iter().map(|d| d.len() as u64).sum();
    Some(Set {
        name,
        docs,
        bytes,
        items,
    })
}

fn sets(spec: &SourceSpec) -> Vec<Set> {
    let mut out = Vec::new();
    for f in Format::ALL {
        out.extend(set(
            format!("generated-200/{}", f.name()),
            vec![generate::document(f, 200)],
            spec,
        ));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = generate::documents_under(&root.join("fixtures/feeds"));
    for f in Format::ALL {
        let docs = fixtures
            .iter()
            .filter(|(_, g, _)| *g == f)
            .map(|(_, _, b)| b.clone())
            .collect();
        out.extend(set(format!("fixtures/{}", f.name()), docs, spec));
    }
    let corpus = root.join("../shared/corpus/feeds");
    if corpus.is_dir() {
        let captures = generate::documents_under(&corpus);
        for f in Format::ALL {
            let docs = captures
                .iter()
                .filter(|(_, g, _)| *g == f)
                .map(|(_, _, b)| b.clone())
                .collect();
            out.extend(set(format!("corpus/{}", f.name()), docs, spec));
        }
    } else {
        println!("skipped: ../shared/corpus absent");
    }
    out
}

fn bench_set(
    group: &mut BenchmarkGroup<'_, WallTime>,
    s: &Set,
    spec: &SourceSpec,
    classifier: &Classifier,
) {
    let ctx = ctx(spec);
    group.bench_function(format!("parse/{}", s.name), |b| {
        b.iter(|| {
            for d in &s.docs {
                let _ = black_box(kizashi::parse::feed::parse_feed(black_box(d), &ctx, now()));
            }
        })
    });
    group.bench_function(format!("parse+classify/{}", s.name), |b| {
        b.iter(|| {
            for d in &s.docs {
                if let Ok(parsed) = kizashi::parse::feed::parse_feed(black_box(d), &ctx, now()) {
                    for raw in parsed.items {
                        black_box(kizashi::pipeline::to_item(spec, raw, classifier, now()));
                    }
                }
            }
        })
    });
}

fn parse(c: &mut Criterion) {
    // lang "ja": undeclared legacy bytes are guessed as Japanese; UTF-8 stays UTF-8.
    let spec = spec("ja");
    let classifier = Classifier::builtin().expect("built-in rules load");
    let sets = sets(&spec);
    for s in &sets {
        println!(
            "set {}: {} documents, {} bytes, {} items",
            s.name,
            s.docs.len(),
            s.bytes,
            s.items
        );
    }

    let mut group = c.benchmark_group("parse_bytes");
    for s in &sets {
        group.throughput(Throughput::Bytes(s.bytes));
        bench_set(&mut group, s, &spec, &classifier);
    }
    group.finish();

    let mut group = c.benchmark_group("parse_items");
    for s in &sets {
        group.throughput(Throughput::Elements(s.items));
        bench_set(&mut group, s, &spec, &classifier);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = parse
}
criterion_main!(benches);
