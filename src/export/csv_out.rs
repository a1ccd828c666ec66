//! The CSV export: UTF-8 with a byte-order mark, one row per item, lists joined with `;`,
//! cells that a spreadsheet would run as a formula prefixed with `'`.

use crate::model::Item;

/// `decision` and `note` are what `kizashi review import` reads back.
const COLUMNS: [&str; 18] = [
    "id",
    "source",
    "publisher",
    "country",
    "lang",
    "title",
    "url",
    "published",
    "accessed",
    "summary",
    "section",
    "policy_country",
    "sectors",
    "attack_types",
    "event_types",
    "citation",
    "decision",
    "note",
];

/// Neutralises formula injection (OWASP "CSV injection").
pub fn escape_cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    }
}

fn join<T: std::fmt::Display>(values: &[T]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(";")
}

pub fn render(items: &[Item]) -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        // Writing to a Vec cannot fail.
        let _ = w.write_record(COLUMNS);
        for item in items {
            let c = &item.classification;
            let row = [
                item.id.clone(),
                item.source.clone(),
                item.publisher.clone(),
                item.country.clone(),
                item.lang.clone(),
                item.title.clone(),
                item.url.clone(),
                item.published.map(|p| p.to_rfc3339()).unwrap_or_default(),
                item.accessed.format("%Y-%m-%d").to_string(),
                item.summary.clone(),
                item.section()
                    .map(|s| s.code().to_string())
                    .unwrap_or_default(),
                item.policy_country().unwrap_or_default().to_string(),
                join(&c.sectors),
                join(&c.attack_types),
                join(&c.event_types),
                item.citation(),
                item.decision
                    .as_ref()
                    .and_then(|d| d.verdict)
                    .map_or("", crate::model::Verdict::name)
                    .to_string(),
                item.decision
                    .as_ref()
                    .and_then(|d| d.note.clone())
                    .unwrap_or_default(),
            ];
            let _ = w.write_record(row.iter().map(|v| escape_cell(v)));
        }
        let _ = w.flush();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(escape_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(escape_cell("-1"), "'-1");
        assert_eq!(escape_cell("@SUM"), "'@SUM");
        assert_eq!(escape_cell("+81"), "'+81");
        assert_eq!(escape_cell("CISA"), "CISA");
    }
}
