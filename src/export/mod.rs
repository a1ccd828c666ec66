//! A quarter's items as the report's Markdown draft, its Word version, JSON or CSV
//! (`shared/spec/interface.md`).
//!
//! Owns: output formats and their order. Synchronous over items already read from the store;
//! used by the CLI and the API alike, so both give the same bytes. May import: model.

mod csv_out;
mod docx;
pub mod json;
mod json_item;
mod layout;
mod markdown;
pub mod sources;
pub mod story;

use std::io::{self, Write};
use std::str::FromStr;

use chrono::{DateTime, FixedOffset};

use crate::model::{DateRange, Item};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    /// The Markdown draft as a Word document, citations as real footnotes.
    Docx,
    Json,
    Csv,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(Format::Markdown),
            "docx" => Ok(Format::Docx),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            other => Err(format!(
                "unknown format {other:?} (expected md, docx, json or csv)"
            )),
        }
    }
}

impl Format {
    /// The media type an API answer carries.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// What to export.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    pub range: DateRange,
    pub format: Format,
    /// Include items with no section.
    pub all: bool,
    pub generated_at: DateTime<FixedOffset>,
}

/// Renders items (any order, any dates) as the requested export.
pub fn render(items: Vec<Item>, request: &Request) -> Vec<u8> {
    let items = select(items, request);
    let bytes = match request.format {
        Format::Markdown => markdown::render(&items, request).into_bytes(),
        Format::Docx => docx::render(&items, request),
        Format::Json => json::render(&items, request),
        Format::Csv => csv_out::render(&items),
    };
    drop_aside(items);
    bytes
}

/// Writes the requested export of `items` to `out` as it is made (the JSON export in blocks;
/// the others, which are smaller, whole).
pub fn render_to(items: Vec<Item>, request: &Request, out: &mut dyn Write) -> io::Result<()> {
    let items = select(items, request);
    let written = match request.format {
        Format::Markdown => out.write_all(markdown::render(&items, request).as_bytes()),
        Format::Docx => out.write_all(&docx::render(&items, request)),
        Format::Json => json::render_to(&items, request, out),
        Format::Csv => out.write_all(&csv_out::render(&items)),
    };
    drop_aside(items);
    written
}

/// Items a large export is done with are freed on a thread of their own: a quarter's 25,000
/// items take a fifth as long to free as to write, and whoever waits for the export need not
/// wait for that.
fn drop_aside(items: Vec<Item>) {
    const WORTH_A_THREAD: usize = 5_000;
    if items.len() < WORTH_A_THREAD {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("export-drop".into())
        .spawn(move || drop(items));
    // Without a thread (the process is out of them), the items were dropped with the closure.
    drop(spawned);
}

/// The candidates of the range, ordered by section, then published time, then id.
fn select(items: Vec<Item>, request: &Request) -> Vec<Item> {
    let items: Vec<Item> = items
        .into_iter()
        .filter(|i| {
            i.published_date()
                .is_some_and(|d| request.range.contains(d))
        })
        .filter(|i| request.all || i.candidate())
        .collect();
    // Items with no section sort last.
    let rank = |i: &Item| {
        i.section()
            .filter(|_| !i.excluded())
            .map_or(u8::MAX, |s| s as u8)
    };
    // Keys with indices are sorted, not items: an item is half a kilobyte to move at every step,
    // and its section and instant are worked out once, not at every comparison.
    let mut order: Vec<(u8, Option<i128>, usize)> = items
        .iter()
        .enumerate()
        .map(|(n, i)| (rank(i), i.published_nanos(), n))
        .collect();
    order.sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| items[a.2].id.cmp(&items[b.2].id))
            .then(a.2.cmp(&b.2))
    });
    let mut slots: Vec<Option<Item>> = items.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(_, _, i)| slots[i].take())
        .collect()
}

/// The report's Japanese name of a country, for section 1's subsections.
pub fn country_name_ja(code: &str) -> String {
    let name = match code {
        "US" => "米国",
        "GB" => "英国",
        "FR" => "フランス",
        "DE" => "ドイツ",
        "EU" => "欧州連合",
        "AU" => "豪州",
        "CA" => "カナダ",
        "NZ" => "ニュージーランド",
        "KR" => "韓国",
        "CN" => "中国",
        "TW" => "台湾",
        "SG" => "シンガポール",
        "IN" => "インド",
        "NL" => "オランダ",
        "BE" => "ベルギー",
        "IT" => "イタリア",
        "ES" => "スペイン",
        "IL" => "イスラエル",
        "UA" => "ウクライナ",
        "RU" => "ロシア",
        "CH" => "スイス",
        "SE" => "スウェーデン",
        "FI" => "フィンランド",
        "NO" => "ノルウェー",
        "DK" => "デンマーク",
        "EE" => "エストニア",
        "PL" => "ポーランド",
        "IE" => "アイルランド",
        "JP" => "日本",
        other => return other.to_string(),
    };
    name.to_string()
}

/// Report order of section 1's countries: 米国, 英国, フランス, ドイツ, 欧州連合, 豪州, then
/// the others by name.
pub fn country_order(code: &str) -> (usize, String) {
    const FIRST: [&str; 6] = ["US", "GB", "FR", "DE", "EU", "AU"];
    match FIRST.iter().position(|c| *c == code) {
        Some(i) => (i, String::new()),
        None => (FIRST.len(), country_name_ja(code)),
    }
}
