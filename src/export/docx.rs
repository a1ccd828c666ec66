//! The Markdown draft as a Word document: the same title, note, numbered headings, lead lines
//! and summaries (the shape comes from `layout`), with each citation as a real footnote
//! (`w:footnoteReference` in the text, its `w:footnote` in `word/footnotes.xml`), so that
//! Word numbers, places and renumbers them.
//!
//! Written with `docx-rs`. The bytes depend only on the items and the request: paragraph ids,
//! footnote ids and the document's dates are set here rather than left to the crate's
//! process-wide counters and clock, so the CLI and the API give the same file.

use std::io::Cursor;

use docx_rs::{
    AlignmentType, Docx, FieldCharType, Footnote, InstrText, LineSpacing, Paragraph, Run, RunFonts,
    Style, StyleType, VertAlignType,
};

use super::Request;
use super::layout::{self, Block};
use crate::model::Item;

/// Japanese-capable faces, with the Latin text in the same face so that a mixed line reads
/// evenly.
const BODY_FONT: &str = "游明朝";
const HEADING_FONT: &str = "游ゴシック";

const FOOTNOTE_REFERENCE: &str = "FootnoteReference";
const FOOTNOTE_TEXT: &str = "FootnoteText";

fn fonts(face: &str) -> RunFonts {
    RunFonts::new()
        .ascii(face)
        .hi_ansi(face)
        .east_asia(face)
        .cs(face)
}

/// Feed text as Word text: line breaks and tabs become spaces (as in the Markdown draft) and
/// characters XML 1.0 cannot carry are dropped, so that no feed can make the file unreadable.
/// `docx-rs` escapes `&`, `<`, `>` and quotes itself.
fn clean(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => None,
            _ => Some(c),
        })
        .collect()
}

/// The styles the document uses: Word's built-in names, so that the navigation pane, the
/// outline and the footnote tools treat them as their own.
fn styles(doc: Docx) -> Docx {
    let heading = |id: &str, name: &str, outline: usize, size: usize| {
        Style::new(id, StyleType::Paragraph)
            .name(name)
            .based_on("Normal")
            .next("Normal")
            .fonts(fonts(HEADING_FONT))
            .size(size)
            .bold()
            .outline_lvl(outline)
            .line_spacing(LineSpacing::new().before(240).after(120))
    };
    let mut reference = Style::new(FOOTNOTE_REFERENCE, StyleType::Character)
        .name("footnote reference")
        .ui_priority(99)
        .unhide_when_used();
    reference.run_property = reference
        .run_property
        .vert_align(VertAlignType::SuperScript);
    // docx-rs writes the `Normal` style itself; the document defaults give it its face,
    // size and spacing.
    doc.add_style(
        Style::new("Title", StyleType::Paragraph)
            .name("Title")
            .based_on("Normal")
            .next("Normal")
            .fonts(fonts(HEADING_FONT))
            .size(32)
            .bold()
            .align(AlignmentType::Center)
            .line_spacing(LineSpacing::new().after(240)),
    )
    .add_style(heading("Heading1", "heading 1", 0, 28))
    .add_style(heading("Heading2", "heading 2", 1, 24))
    .add_style(heading("Heading3", "heading 3", 2, 22))
    .add_style(
        Style::new(FOOTNOTE_TEXT, StyleType::Paragraph)
            .name("footnote text")
            .based_on("Normal")
            .size(18)
            .line_spacing(LineSpacing::new().after(0))
            .ui_priority(99)
            .unhide_when_used(),
    )
    .add_style(reference)
}

/// Builds the document body, numbering paragraphs and footnotes as it goes.
struct Writer {
    doc: Docx,
    paragraphs: u32,
    footnotes: usize,
}

impl Writer {
    /// A paragraph with the next stable `w14:paraId` (hex below 0x80000000, as Word wants).
    fn paragraph(&mut self) -> Paragraph {
        self.paragraphs += 1;
        Paragraph::new().id(format!("{:08X}", self.paragraphs))
    }

    fn push(&mut self, p: Paragraph) {
        let doc = std::mem::take(&mut self.doc);
        self.doc = doc.add_paragraph(p);
    }

    fn text(&mut self, style: Option<&str>, text: &str) {
        let mut p = self.paragraph();
        if let Some(style) = style {
            p = p.style(style);
        }
        let p = p.add_run(Run::new().add_text(clean(text)));
        self.push(p);
    }

    /// The item's numbered heading, its lead line ending in the footnote reference, and its
    /// summary.
    fn item(&mut self, number: &str, item: &Item) {
        let title = layout::item_title(item, clean);
        self.text(Some("Heading3"), &format!("{number}. {title}"));
        self.cited_line(layout::lead_line(item, clean), item);
        if !item.summary.is_empty() {
            self.text(None, &item.summary);
        }
    }

    /// A line ending in a footnote reference whose note is the item's citation.
    fn cited_line(&mut self, text: String, item: &Item) {
        self.footnotes += 1;
        let n = self.footnotes;
        let bookmark = format!("_RefFootnote{n}");
        let note = self.paragraph().style(FOOTNOTE_TEXT);
        let footnote = Footnote {
            id: n,
            content: vec![
                self.note_number(note, n, &bookmark)
                    .add_run(Run::new().add_text(" "))
                    .add_run(Run::new().add_text(item.citation_with(clean))),
            ],
        };
        let lead = self
            .paragraph()
            .add_run(Run::new().add_text(text))
            .add_bookmark_start(n, bookmark)
            .add_run(Run::new().add_footnote_reference(footnote))
            .add_bookmark_end(n)
            .add_run(Run::new().add_text("。"));
        self.push(lead);
    }

    /// The footnote's own number: a `NOTEREF … \f` field on the reference's bookmark, which is
    /// what Word's footnote mark is when written as a field (docx-rs has no `w:footnoteRef`).
    /// Its cached result is the number Word gives the footnote, and updating fields keeps it
    /// right after footnotes are added or removed.
    fn note_number(&self, p: Paragraph, n: usize, bookmark: &str) -> Paragraph {
        let run = || Run::new().style(FOOTNOTE_REFERENCE);
        p.add_run(run().add_field_char(FieldCharType::Begin, false))
            .add_run(run().add_instr_text(InstrText::Unsupported(format!(
                " NOTEREF {bookmark} \\f \\h "
            ))))
            .add_run(run().add_field_char(FieldCharType::Separate, false))
            .add_run(run().add_text(n.to_string()))
            .add_run(run().add_field_char(FieldCharType::End, false))
    }
}

pub fn render(items: &[Item], request: &Request) -> Vec<u8> {
    let generated = request
        .generated_at
        .to_utc()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let doc = Docx::new()
        .default_fonts(fonts(BODY_FONT))
        .default_size(21)
        .default_line_spacing(LineSpacing::new().after(120))
        .created_at(&generated)
        .updated_at(&generated);
    let mut w = Writer {
        doc: styles(doc),
        paragraphs: 0,
        footnotes: 0,
    };
    w.text(Some("Title"), &layout::title(request));
    w.text(None, &layout::note(items, request));
    for block in layout::layout(items, request) {
        match block {
            Block::Heading { level, text } => {
                // Markdown's `##` and `###` are the document's first two levels.
                let style = if level <= 2 { "Heading1" } else { "Heading2" };
                w.text(Some(style), &text);
            }
            Block::Empty => w.text(None, layout::EMPTY),
            Block::Item {
                number,
                item,
                related,
            } => {
                w.item(&number, item);
                for later in related {
                    w.cited_line(format!("○ {}", layout::lead_line(later, clean)), later);
                }
            }
        }
    }
    let mut out = Cursor::new(Vec::new());
    w.doc
        .pack(&mut out)
        .expect("writing a Word document into memory does not fail");
    out.into_inner()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use chrono::DateTime;
    use quick_xml::events::Event;

    use super::*;
    use crate::export::{self, Format, Request};
    use crate::model::{DateRange, Item, Quarter, Section};

    /// Built from JSON so that fields added to `Item` later (with serde defaults) need no
    /// change here.
    fn item(id: &str, publisher: &str, title: &str, published: &str, section: Section) -> Item {
        let country = if section == Section::DomesticOther {
            "JP"
        } else {
            "US"
        };
        serde_json::from_value(serde_json::json!({
            "id": id,
            "source": "s",
            "publisher": publisher,
            "country": country,
            "lang": "en",
            "identity": id,
            "title": title,
            "url": format!("https://example.org/{id}?a=1&b=<2>"),
            "published": published,
            "accessed": "2025-05-14",
            "first_seen": "2025-05-14T00:00:00Z",
            "last_changed": "2025-05-14T00:00:00Z",
            "summary": format!("Summary of {id}.\nSecond line."),
            "classification": {
                "section": section,
                "country": (section == Section::ForeignPolicy).then_some("US"),
                "sectors": [],
                "attack_types": [],
                "event_types": [],
                "reasons": [],
            },
        }))
        .unwrap()
    }

    fn sample() -> Vec<Item> {
        vec![
            item(
                "wh",
                "The White House",
                "White House Launches \"U.S. Cyber Trust Mark\" & <more>",
                "2025-01-07T10:30:00-05:00",
                Section::ForeignPolicy,
            ),
            item(
                "hosp",
                "The Record",
                "Ohio hospital's ransomware\u{7}",
                "2025-01-29T14:12:00-05:00",
                Section::AbroadCritical,
            ),
            item(
                "city",
                "Security NEXT",
                "市役所サーバに不正アクセス",
                "2025-03-31T18:40:00+09:00",
                Section::DomesticOther,
            ),
        ]
    }

    fn request() -> Request {
        Request {
            range: DateRange::quarter("FY2024Q4".parse::<Quarter>().unwrap()),
            format: Format::Docx,
            all: false,
            generated_at: DateTime::parse_from_rfc3339("2025-05-14T10:00:00+09:00").unwrap(),
        }
    }

    fn part(docx: &[u8], name: &str) -> String {
        let mut zip = zip::ZipArchive::new(Cursor::new(docx)).unwrap();
        let mut text = String::new();
        zip.by_name(name)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    /// The text of each `w:p` (with `w:t` and `w:instrText`), XML entities resolved.
    fn paragraphs(xml: &str) -> Vec<String> {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut out = Vec::new();
        let mut in_text = false;
        loop {
            match reader.read_event().unwrap() {
                Event::Start(e) if e.name().as_ref() == "w:p" => out.push(String::new()),
                Event::Start(e) if matches!(e.name().as_ref(), "w:t" | "w:instrText") => {
                    in_text = true
                }
                Event::End(e) if matches!(e.name().as_ref(), "w:t" | "w:instrText") => {
                    in_text = false
                }
                Event::Text(t) if in_text => {
                    out.last_mut().unwrap().push_str(&t.xml10_content());
                }
                Event::GeneralRef(r) if in_text => {
                    let text = match r.resolve_char_ref().unwrap() {
                        Some(c) => c.to_string(),
                        None => quick_xml::escape::resolve_predefined_entity(&r)
                            .unwrap_or_else(|| panic!("unknown entity {:?}", &*r))
                            .to_string(),
                    };
                    out.last_mut().unwrap().push_str(&text);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        out
    }

    #[test]
    fn the_document_is_the_markdown_draft_with_real_footnotes() {
        let items = sample();
        let docx = export::render(items.clone(), &request());
        assert!(docx.starts_with(b"PK"), "a zip archive");
        let document = part(&docx, "word/document.xml");
        let body = paragraphs(&document);
        let expected = [
            "サイバーセキュリティを取り巻く情勢（2024年度第4四半期）",
            "1. 国外サイバーセキュリティ政策",
            "1.1. 米国",
            "1.1.1. White House Launches \"U.S. Cyber Trust Mark\" & <more>",
            "2025 年 1 月 7 日、The White Houseが「White House Launches \"U.S. Cyber Trust Mark\" & <more>」を公表。",
            "Summary of wh. Second line.",
            "2. 国外におけるサイバーセキュリティをめぐる情勢",
            "2.1. 重要インフラ関連",
            "2.1.1. Ohio hospital's ransomware",
            "2025 年 1 月 29 日、The Recordが「Ohio hospital's ransomware」を公表。",
            "2.2. その他",
            "（候補なし）",
            "3. 国内におけるサイバーセキュリティをめぐる情勢",
            "3.1. 重要インフラ関連",
            "（候補なし）",
            "3.2. その他",
            "3.2.1. 市役所サーバに不正アクセス",
            "2025 年 3 月 31 日、Security NEXTが「市役所サーバに不正アクセス」を公表。",
        ];
        let mut at = 0;
        for want in expected {
            let found = body[at..].iter().position(|p| p == want);
            assert!(
                found.is_some(),
                "missing {want:?} after paragraph {at} in {body:#?}"
            );
            at += found.unwrap() + 1;
        }
        assert!(body[1].starts_with("kizashi が収集した候補の下書きです。"));
        assert!(
            document.contains(r#"<w:pStyle w:val="Heading3" />"#),
            "{document}"
        );

        // One reference per item, right after 公表, each to its own footnote.
        assert_eq!(
            document.matches("<w:footnoteReference ").count(),
            items.len()
        );
        for n in 1..=items.len() {
            assert!(document.contains(&format!(
                r#"を公表</w:t></w:r><w:bookmarkStart w:id="{n}" w:name="_RefFootnote{n}" /><w:r><w:rPr><w:rStyle w:val="FootnoteReference" /></w:rPr><w:footnoteReference w:id="{n}" /></w:r><w:bookmarkEnd w:id="{n}" />"#
            )), "{document}");
        }

        let footnotes = part(&docx, "word/footnotes.xml");
        let notes = paragraphs(&footnotes);
        let mut in_order = items.clone();
        in_order.sort_by_key(|i| i.classification.section);
        assert_eq!(notes.len(), items.len());
        for (n, (note, item)) in notes.iter().zip(&in_order).enumerate() {
            let n = n + 1;
            let citation = item.citation().replace('\u{7}', "");
            assert_eq!(
                note,
                &format!(" NOTEREF _RefFootnote{n} \\f \\h {n} {citation}")
            );
            assert!(footnotes.contains(&format!(r#"<w:footnote w:id="{n}">"#)));
        }
        // The citation as one escaped text run.
        assert!(footnotes.contains(
            "The White House「White House Launches &quot;U.S. Cyber Trust Mark&quot; &amp; &lt;more&gt;(2025/1/7)」、https://example.org/wh?a=1&amp;b=&lt;2&gt;(2025/5/14 閲覧)"
        ), "{footnotes}");

        let types = part(&docx, "[Content_Types].xml");
        assert!(types.contains("/word/footnotes.xml"), "{types}");
        let rels = part(&docx, "word/_rels/document.xml.rels");
        assert!(rels.contains("relationships/footnotes"), "{rels}");
        let styles = part(&docx, "word/styles.xml");
        assert!(styles.contains(r#"w:eastAsia="游明朝""#), "{styles}");
    }

    #[test]
    fn the_same_request_gives_the_same_bytes() {
        let a = export::render(sample(), &request());
        let b = export::render(sample(), &request());
        assert_eq!(a, b);
        let core = part(&a, "docProps/core.xml");
        assert!(core.contains("2025-05-14T01:00:00Z"), "{core}");
    }

    #[test]
    fn an_empty_quarter_is_a_document_without_footnotes() {
        let docx = export::render(vec![], &request());
        let body = paragraphs(&part(&docx, "word/document.xml"));
        assert_eq!(body.iter().filter(|p| *p == "（候補なし）").count(), 5);
    }
}
