//! CSV listings, read with the column layouts sources use, must never panic.
#![no_main]

use std::sync::LazyLock;

use kizashi::model::CsvColumns;
use kizashi::parse::{ParseContext, csv_listing::parse_csv};
use libfuzzer_sys::fuzz_target;
use url::Url;

static BASE: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://www.cyber.go.jp/csv/2025.csv").unwrap());

const LAYOUTS: [CsvColumns; 3] = [
    // 国家サイバー統括室's yearly news list: date, title, link, …, category.
    CsvColumns {
        date: 0,
        title: 1,
        link: 2,
        publisher: None,
        header: false,
    },
    CsvColumns {
        date: 2,
        title: 0,
        link: 1,
        publisher: Some(3),
        header: true,
    },
    // Columns past the end of every row.
    CsvColumns {
        date: 9,
        title: 7,
        link: 8,
        publisher: Some(usize::MAX),
        header: false,
    },
];

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext {
        base_url: &BASE,
        timezone: chrono_tz::Asia::Tokyo,
        http_charset: None,
        lang: "ja",
    };
    for columns in &LAYOUTS {
        if let Ok(parsed) = parse_csv(data, &ctx, columns) {
            assert!(parsed.items.len() <= kizashi::parse::MAX_ITEMS_PER_DOCUMENT);
        }
    }
});
