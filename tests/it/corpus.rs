//! The shared corpus (real captures, feedparser's and feed-rs's test feeds) through the feed
//! parser: nothing panics. Skipped, saying so, when `../shared/corpus` is not beside the
//! checkout.

use std::path::Path;

use kizashi::parse::{self, ParseContext};
use url::Url;

use crate::common::shared_corpus;

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("xml" | "rdf" | "atom" | "json")
        ) && !p.to_string_lossy().ends_with(".serde.json")
        {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_document_parses_or_fails_cleanly() {
    let Some(root) = shared_corpus() else {
        eprintln!("SKIPPED: ../shared/corpus is not present; corpus test not run");
        return;
    };
    let mut files = Vec::new();
    walk(&root, &mut files);
    let base = Url::parse("http://example.org/feed").unwrap();
    let (mut ok, mut failed, mut items) = (0, 0, 0);
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let ctx = ParseContext {
            base_url: &base,
            timezone: chrono_tz::UTC,
            http_charset: None,
            lang: "en",
        };
        let result =
            std::panic::catch_unwind(|| parse::feed::parse_feed(&bytes, &ctx, chrono::Utc::now()));
        match result {
            Ok(Ok(p)) => {
                ok += 1;
                items += p.items.len();
            }
            Ok(Err(_)) => failed += 1,
            Err(_) => panic!("parser panicked on {}", f.display()),
        }
    }
    eprintln!(
        "corpus: {} documents, {ok} parsed ({items} items), {failed} rejected",
        files.len()
    );
    assert!(
        ok > files.len() / 2,
        "most of the corpus parses: {ok} of {}",
        files.len()
    );
}
