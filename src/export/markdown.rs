//! The Markdown draft in the report's own shape: title, the section headings of report.md,
//! section 1 split by country, one numbered heading per item with a dated lead line and the
//! summary, citations as numbered footnotes.

use std::fmt::Write;

use super::Request;
use super::layout::{self, Block};
use crate::model::Item;

/// Whether a byte of the text would turn it into markup.
fn needs_escape(b: u8) -> bool {
    matches!(
        b,
        b'<' | b'>' | b'\\' | b'`' | b'*' | b'_' | b'[' | b']' | b'\n' | b'\r'
    )
}

/// Appends text with the characters that would turn it into markup escaped.
fn escape_into(out: &mut String, text: &str) {
    // Most titles and summaries have none: copied in one piece.
    if !text.bytes().any(needs_escape) {
        out.push_str(text);
        return;
    }
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
}

/// The draft is written into one buffer and the footnotes into another, appended at the end.
struct Writer {
    out: String,
    footnotes: String,
    cited: usize,
}

impl Writer {
    /// Appends `[^n]` and the item's citation as footnote `n`.
    fn cite(&mut self, item: &Item) {
        self.cited += 1;
        let n = self.cited;
        let _ = write!(self.out, "[^{n}]");
        let _ = write!(self.footnotes, "[^{n}]: ");
        item.write_citation(&mut self.footnotes, escape_into);
        self.footnotes.push('\n');
    }

    /// A later report of the story (第2報, another site's report), cited in its own footnote.
    fn later_report(&mut self, item: &Item) {
        self.out.push_str("○ ");
        layout::write_lead_line(&mut self.out, item, escape_into);
        self.cite(item);
        self.out.push_str("。\n\n");
    }

    fn item(&mut self, number: &str, item: &Item) {
        let _ = write!(self.out, "#### {number}. ");
        layout::write_item_title(&mut self.out, item, escape_into);
        self.out.push_str("\n\n");
        layout::write_lead_line(&mut self.out, item, escape_into);
        self.cite(item);
        self.out.push_str("。\n\n");
        if !item.summary.is_empty() {
            escape_into(&mut self.out, &item.summary);
            self.out.push_str("\n\n");
        }
        let c = &item.classification;
        let tags = [
            ("分野", c.sectors.iter().map(|s| s.ja()).collect::<Vec<_>>()),
            ("攻撃", c.attack_types.iter().map(|s| s.ja()).collect()),
            ("事象", c.event_types.iter().map(|s| s.ja()).collect()),
        ];
        let mut first = true;
        for (label, names) in tags.iter().filter(|(_, names)| !names.is_empty()) {
            self.out.push_str(if first { "<!-- " } else { " / " });
            first = false;
            let _ = write!(self.out, "{label}: {}", names.join("、"));
        }
        if !first {
            self.out.push_str(" -->\n\n");
        }
    }
}

pub fn render(items: &[Item], request: &Request) -> String {
    // About 300 bytes of draft and 250 of footnote an item: no doubling of a 6 MB buffer.
    let mut w = Writer {
        out: String::with_capacity(1024 + items.len() * 320),
        footnotes: String::with_capacity(items.len() * 260),
        cited: 0,
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
    if w.cited > 0 {
        w.out.push_str("---\n\n");
        w.out.push_str(&w.footnotes);
    }
    w.out
}

#[cfg(test)]
mod tests {
    use super::escape_into;

    #[test]
    fn feed_text_cannot_make_markup() {
        let mut out = String::from("> ");
        escape_into(&mut out, "plain 日本語 text");
        escape_into(&mut out, " <b>*x*</b> [a](b) `c` _d_ \\ e\r\nf");
        assert_eq!(
            out,
            "> plain 日本語 text &lt;b&gt;\\*x\\*&lt;/b&gt; \\[a\\](b) \\`c\\` \\_d\\_ \\\\ e  f"
        );
    }
}
