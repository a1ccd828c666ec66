//! The Markdown draft in the report's own shape: title, the section headings of report.md,
//! section 1 split by country, one numbered heading per item with a dated lead line and the
//! summary, citations as numbered footnotes.

use std::fmt::Write;

use super::Request;
use super::layout::{self, Block};
use crate::model::Item;

/// Characters that would turn feed text into markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn title_of(item: &Item) -> String {
    layout::item_title(item, escape)
}

struct Writer {
    out: String,
    footnotes: Vec<String>,
}

impl Writer {
    /// A later report of the story (第2報, another site's report), cited in its own footnote.
    fn later_report(&mut self, item: &Item) {
        self.footnotes.push(item.citation_with(escape));
        let n = self.footnotes.len();
        let _ = writeln!(self.out, "○ {}[^{n}]。\n", layout::lead_line(item, escape));
    }

    fn item(&mut self, number: &str, item: &Item) {
        self.footnotes.push(item.citation_with(escape));
        let n = self.footnotes.len();
        let _ = writeln!(self.out, "#### {number}. {}\n", title_of(item));
        let _ = writeln!(self.out, "{}[^{n}]。\n", layout::lead_line(item, escape));
        if !item.summary.is_empty() {
            let _ = writeln!(self.out, "{}\n", escape(&item.summary));
        }
        let c = &item.classification;
        let mut tags = Vec::new();
        if !c.sectors.is_empty() {
            tags.push(format!(
                "分野: {}",
                c.sectors
                    .iter()
                    .map(|s| s.ja())
                    .collect::<Vec<_>>()
                    .join("、")
            ));
        }
        if !c.attack_types.is_empty() {
            tags.push(format!(
                "攻撃: {}",
                c.attack_types
                    .iter()
                    .map(|s| s.ja())
                    .collect::<Vec<_>>()
                    .join("、")
            ));
        }
        if !c.event_types.is_empty() {
            tags.push(format!(
                "事象: {}",
                c.event_types
                    .iter()
                    .map(|s| s.ja())
                    .collect::<Vec<_>>()
                    .join("、")
            ));
        }
        if !tags.is_empty() {
            let _ = writeln!(self.out, "<!-- {} -->\n", tags.join(" / "));
        }
    }
}

pub fn render(items: &[Item], request: &Request) -> String {
    let mut w = Writer {
        out: String::new(),
        footnotes: Vec::new(),
    };
    let _ = writeln!(w.out, "# {}\n", layout::title(request));
    let _ = writeln!(w.out, "> {}\n", layout::note(items, request));
    for block in layout::layout(items, request) {
        match block {
            Block::Heading { level, text } => {
                let _ = writeln!(w.out, "{} {text}\n", "#".repeat(usize::from(level)));
            }
            Block::Empty => {
                let _ = writeln!(w.out, "{}\n", layout::EMPTY);
            }
            Block::Item {
                number,
                item,
                related,
            } => {
                w.item(&number, item);
                for later in related {
                    w.later_report(later);
                }
            }
        }
    }
    if !w.footnotes.is_empty() {
        let _ = writeln!(w.out, "---\n");
        for (i, f) in w.footnotes.iter().enumerate() {
            let _ = writeln!(w.out, "[^{}]: {f}", i + 1);
        }
    }
    w.out
}
