//! CSV listings: some publishers keep their news list as a spreadsheet file (国家サイバー統括室's
//! yearly `csv/{YYYY}.csv` drives its news page). Columns are configured by position.

use super::text::{MAX_TITLE_CHARS, citable, fold_whitespace, resolve_link, truncate_chars};
use super::{Error, MAX_ITEMS_PER_DOCUMENT, ParseContext, Parsed, dates, encoding, textdate};
use crate::model::{CsvColumns, RawItem};

/// Parses a CSV listing; rows without a readable date are reported, not guessed.
pub fn parse_csv(
    bytes: &[u8],
    ctx: &ParseContext<'_>,
    columns: &CsvColumns,
) -> Result<Parsed, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Empty);
    }
    let decoded = encoding::decode(bytes, ctx.http_charset, ctx.lang);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(columns.header)
        .flexible(true)
        .from_reader(decoded.text.as_bytes());
    let mut parsed = Parsed {
        encoding: decoded.encoding.name(),
        ..Parsed::default()
    };
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 1 + usize::from(columns.header);
        let record = record.map_err(|e| Error::Csv(format!("row {line}: {e}")))?;
        let cell = |i: usize| record.get(i).map(fold_whitespace).unwrap_or_default();
        let title = cell(columns.title);
        if title.is_empty() && record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let Some(link) = resolve_link(&cell(columns.link), ctx.base_url) else {
            parsed
                .skipped
                .push(format!("row {line} {title:?}: no usable link"));
            continue;
        };
        let date_text = cell(columns.date);
        let Some(found) = textdate::find_date(&date_text) else {
            parsed.problems.push(format!(
                "row {line} {title:?}: no readable date in {date_text:?}"
            ));
            continue;
        };
        rows.push(RawItem {
            identity: format!("link:{link}"),
            title: truncate_chars(&title, MAX_TITLE_CHARS),
            url: citable(&link),
            published: Some(dates::date_in_zone(found.date, ctx.timezone)),
            summary: String::new(),
            publisher: columns.publisher.map(cell).filter(|p| !p.is_empty()),
            links: Vec::new(),
        });
    }
    if rows.is_empty() && parsed.problems.is_empty() {
        return Err(Error::Csv("no rows".into()));
    }
    // Yearly files grow from the top or the bottom: keep the newest rows.
    rows.sort_by_key(|r| std::cmp::Reverse(r.published));
    let mut seen = std::collections::HashSet::new();
    rows.retain(|r| seen.insert(r.identity.clone()));
    if rows.len() > MAX_ITEMS_PER_DOCUMENT {
        parsed.skipped.push(format!(
            "{} older rows beyond the newest {MAX_ITEMS_PER_DOCUMENT} ignored",
            rows.len() - MAX_ITEMS_PER_DOCUMENT
        ));
        rows.truncate(MAX_ITEMS_PER_DOCUMENT);
    }
    parsed.items = rows;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    #[test]
    fn rows_become_items() {
        let csv = "\u{feff}2025/03/26,ランサムウェア被害に関する注意喚起,/news/press/20250326.html,,注意喚起,\n\
                   2025/03/10,\"Title, with comma\",https://www.cyber.go.jp/news/x.html,,報道発表資料,\n\
                   未定,予定の行,/news/y.html,,,\n";
        let base = Url::parse("https://www.cyber.go.jp/csv/2025.csv").unwrap();
        let ctx = ParseContext {
            base_url: &base,
            timezone: chrono_tz::Asia::Tokyo,
            http_charset: None,
            lang: "ja",
        };
        let cols = CsvColumns {
            date: 0,
            title: 1,
            link: 2,
            publisher: None,
            header: false,
        };
        let parsed = parse_csv(csv.as_bytes(), &ctx, &cols).unwrap();
        assert_eq!(parsed.items.len(), 2);
        assert_eq!(
            parsed.items[0].url,
            "https://www.cyber.go.jp/news/press/20250326.html"
        );
        assert_eq!(
            parsed.items[0].published.unwrap().to_rfc3339(),
            "2025-03-26T00:00:00+09:00"
        );
        assert_eq!(parsed.items[1].title, "Title, with comma");
        assert_eq!(parsed.problems.len(), 1);
    }
}
