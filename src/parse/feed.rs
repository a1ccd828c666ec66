//! RSS 0.9x/1.0/2.0, Atom and JSON Feed documents to [`RawItem`]s.
//!
//! feed-rs reads the structure. Two things it does not keep are read here in a raw pass over
//! the same text: each timestamp's own offset (feed-rs converts to UTC, but report.md dates an
//! item in the offset its feed states) and whether an entry had an id at all (feed-rs invents
//! one from link and title, which changes when a title is edited).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use chrono::{DateTime, Utc};
use quick_xml::events::Event;

use super::dates::{self, FeedTime};
use super::encoding;
use super::links::links_in;
use super::text::{citable, clean_summary, clean_title, resolve_link};
use super::{Error, MAX_ITEMS_PER_DOCUMENT, ParseContext, Parsed};
use crate::model::RawItem;

/// Deepest element nesting accepted in a feed (libxml2's default limit).
pub const MAX_XML_DEPTH: usize = 256;

/// Parses one feed document.
pub fn parse_feed(
    bytes: &[u8],
    ctx: &ParseContext<'_>,
    now: DateTime<Utc>,
) -> Result<Parsed, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Empty);
    }
    let (decoded, encoding) = encoding::decode_borrowed(bytes, ctx.http_charset, ctx.lang);
    let text = decoded.trim_start();
    if looks_like_html(text) {
        return Err(Error::HtmlNotFeed);
    }
    let (safe, raw_entries) = if text.starts_with('{') {
        prepare_json(text)
    } else {
        let (safe, entries, depth) = prepare_xml(text);
        // quick-xml's namespace depth is a u16 and feed-rs recurses: refuse what no feed needs.
        if depth > MAX_XML_DEPTH {
            return Err(Error::Feed(format!(
                "elements nested deeper than {MAX_XML_DEPTH}"
            )));
        }
        (safe, entries)
    };
    let text = safe.trim_start();

    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(ctx.base_url.as_str()))
        // An empty id marks "the feed gave none": we derive identity ourselves.
        .id_generator(|_, _, _| String::new())
        // Its result is only the fallback for entries the raw pass found no time in.
        .timestamp_parser(dates::feed_rs_timestamp)
        .build();
    let feed = match parser.parse(text.as_bytes()) {
        Ok(feed) => feed,
        // feed-rs knows only RSS versions 0.91, 0.92 and 2.0; feeds say "2.00", "2" or nothing.
        Err(feed_rs::parser::ParseFeedError::ParseError(
            feed_rs::parser::ParseErrorKind::NoFeedRoot,
        )) => match with_rss_version_2(text) {
            Some(fixed) => parser
                .parse(fixed.as_bytes())
                .map_err(|e| Error::Feed(e.to_string()))?,
            None => {
                return Err(Error::Feed(
                    "no feed root element (rss, feed or rdf:RDF)".into(),
                ));
            }
        },
        Err(e) => return Err(Error::Feed(e.to_string())),
    };

    // Raw entries line up with feed-rs's entries by document order; fall back to ids and
    // links when the counts differ.
    let aligned = raw_entries.len() == feed.entries.len();
    let by_key: HashMap<&str, &RawEntry> = if aligned {
        HashMap::new()
    } else {
        raw_entries
            .iter()
            .flat_map(|r| r.keys().map(move |k| (k, r)))
            .collect()
    };

    let guid_counts = count_ids(&feed.entries);
    let mut parsed = Parsed {
        encoding: encoding.name(),
        ..Parsed::default()
    };
    let mut identities = HashSet::new();

    for (index, entry) in feed.entries.iter().enumerate() {
        if parsed.items.len() >= MAX_ITEMS_PER_DOCUMENT {
            parsed.skipped.push(format!(
                "{} entries beyond the first {MAX_ITEMS_PER_DOCUMENT} ignored",
                feed.entries.len() - index
            ));
            break;
        }
        let raw = if aligned {
            raw_entries.get(index)
        } else {
            entry_keys(entry)
                .into_iter()
                .find_map(|k| by_key.get(k.as_str()).copied())
        };
        let title_text = entry.title.as_ref();
        let title = title_text
            .map(|t| clean_title(&t.content, t.content_type.as_str().contains("html")))
            .unwrap_or_default();

        let link = entry_link(entry, raw, ctx);
        let guid = Some(entry.id.trim())
            .filter(|id| !id.is_empty() && guid_counts.get(*id).copied().unwrap_or(0) < 2);

        let identity = match (guid, &link) {
            (Some(g), _) => format!("guid:{g}"),
            (None, Some(l)) => format!("link:{l}"),
            (None, None) => {
                parsed
                    .skipped
                    .push(format!("entry {:?} has neither id nor link", title));
                continue;
            }
        };
        let Some(url) = link.as_ref().map(citable) else {
            parsed
                .skipped
                .push(format!("entry {:?} has no usable link", title));
            continue;
        };
        if !identities.insert(identity.clone()) {
            // Repeated entries in one document (RDF sequences, broken CMSs) count once.
            continue;
        }

        let published = raw
            .and_then(|r| r.published_time())
            .or_else(|| entry.published.or(entry.updated).map(utc_time))
            .map(|t| dates::in_publisher_frame(t, ctx.timezone))
            .filter(|t| dates::plausible(*t, now));

        let summary_source = entry
            .summary
            .as_ref()
            .map(|s| s.content.as_str())
            .filter(|s| !s.trim().is_empty())
            .or_else(|| entry.content.as_ref().and_then(|c| c.body.as_deref()))
            .unwrap_or("");
        let links = links_in(summary_source, link.as_ref().unwrap_or(ctx.base_url), &url);
        parsed.items.push(RawItem {
            identity,
            title,
            url,
            published,
            summary: clean_summary(summary_source),
            publisher: None,
            links,
        });
    }
    Ok(parsed)
}

/// The document with its `<rss>` root declaring version 2.0, if it has an `<rss>` root.
fn with_rss_version_2(text: &str) -> Option<String> {
    let start = text.find("<rss")?;
    let after = text[start + 4..].chars().next()?;
    if !(after.is_whitespace() || after == '>') {
        return None;
    }
    let end = start + text[start..].find('>')?;
    let tag = &text[start..end];
    let fixed_tag = match tag.find("version=") {
        Some(at) => {
            let quote = tag[at + 8..]
                .chars()
                .next()
                .filter(|q| *q == '"' || *q == '\'')?;
            let value_end = at + 9 + tag[at + 9..].find(quote)?;
            format!("{}version=\"2.0\"{}", &tag[..at], &tag[value_end + 1..])
        }
        None => format!("<rss version=\"2.0\"{}", &tag[4..]),
    };
    Some(format!("{}{}{}", &text[..start], fixed_tag, &text[end..]))
}

/// Elements feed-rs 3.0.0 reads as a person, `Name (mail@example.jp)`: it cuts the name one
/// byte before or after the address and panics when that byte is inside a character
/// (`担当：info@example.jp`, `広報（koho@example.go.jp）`). kizashi keeps no authors.
const PERSON_ELEMENTS: [&str; 5] = ["author", "creator", "managingEditor", "webMaster", "owner"];

/// The document without what feed-rs 3.0.0 panics on, with what the raw pass keeps of each
/// entry and the deepest nesting it met. What is cut:
///
/// - XML declarations. The text is UTF-8 by now, so a declaration's encoding no longer holds:
///   feed-rs would switch quick-xml's decoder to it, garbling the rest, and quick-xml panics
///   (`set_encoding() called after prefix buffer was drained`) when the declaration ends past
///   the first 64 bytes, misplaced further down or padded out at the top;
/// - [`PERSON_ELEMENTS`].
///
/// quick-xml finds them as feed-rs will meet them: a `<?xml` in a comment or CDATA section is
/// no declaration; one after a stray quote in a tag name (`<'a>…<!-- '><?xml …?>`) is.
///
/// One reader serves both the cuts and the raw pass, which sees the events of the text as it
/// will be after the cuts: nothing inside a cut element, and it stops at the first error
/// outside one, as a reader of the cut text would.
fn prepare_xml(text: &str) -> (Cow<'_, str>, Vec<RawEntry>, usize) {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut cuts: Vec<Range<usize>> = Vec::new();
    let mut depth = 0;
    // The person element being cut: where it starts, and its depth.
    let mut person: Option<(usize, usize)> = None;
    let mut walk = RawWalk::default();
    // The raw pass is best effort: feed-rs decides whether the document is readable.
    let mut walking = true;
    loop {
        // Offsets in a str reader are byte offsets at markup boundaries: char boundaries.
        let start = reader.buffer_position() as usize;
        let event = reader.read_event();
        let end = reader.buffer_position() as usize;
        match event {
            Ok(Event::Decl(_)) if person.is_none() => cuts.push(start..end),
            Ok(Event::Start(e)) => {
                depth += 1;
                if person.is_none() {
                    if PERSON_ELEMENTS.contains(&local(e.name().as_ref())) {
                        person = Some((start, depth));
                    } else if walking {
                        walk.start(&e);
                    }
                }
            }
            Ok(Event::End(_)) => {
                match person {
                    Some((from, at)) if at == depth => {
                        cuts.push(from..end);
                        person = None;
                    }
                    Some(_) => {}
                    None if walking => walk.end(),
                    None => {}
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Eof) => break,
            Ok(other) if walking && person.is_none() => walk.other(other),
            Ok(_) => {}
            // feed-rs reads on after an error too: so does this, while the reader advances.
            Err(_) if end > start => walking &= person.is_some(),
            Err(_) => break,
        }
    }
    if let Some((from, _)) = person {
        cuts.push(from..text.len());
    }
    let RawWalk {
        entries, max_depth, ..
    } = walk;
    if cuts.is_empty() {
        return (Cow::Borrowed(text), entries, max_depth);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for cut in cuts {
        out.push_str(&text[copied..cut.start]);
        copied = cut.end;
    }
    out.push_str(&text[copied..]);
    (Cow::Owned(out), entries, max_depth)
}

/// The cut document alone, as feed-rs gets it.
#[cfg(test)]
fn for_feed_rs(text: &str) -> Cow<'_, str> {
    prepare_xml(text).0
}

/// A JSON Feed without its authors, for the reason given at [`PERSON_ELEMENTS`], and the raw
/// pass's facts from its `items[]`, read from the same parse.
fn prepare_json(text: &str) -> (Cow<'_, str>, Vec<RawEntry>) {
    let Ok(mut feed) = serde_json::from_str::<serde_json::Value>(text) else {
        return (Cow::Borrowed(text), Vec::new());
    };
    let entries = raw_json_entries(&feed);
    let mut removed = false;
    let mut strip = |v: &mut serde_json::Value| {
        if let Some(object) = v.as_object_mut() {
            removed |= object.remove("author").is_some() | object.remove("authors").is_some();
        }
    };
    strip(&mut feed);
    if let Some(items) = feed.get_mut("items").and_then(|i| i.as_array_mut()) {
        items.iter_mut().for_each(&mut strip);
    }
    if !removed {
        return (Cow::Borrowed(text), entries);
    }
    match serde_json::to_string(&feed) {
        Ok(json) => (Cow::Owned(json), entries),
        Err(_) => (Cow::Borrowed(text), entries),
    }
}

fn looks_like_html(text: &str) -> bool {
    let end = text
        .char_indices()
        .nth(512)
        .map_or(text.len(), |(at, _)| at);
    let head = text[..end].to_ascii_lowercase();
    let head = head.trim_start_matches(|c: char| c.is_whitespace());
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || (head.contains("<html")
            && !head.contains("<rss")
            && !head.contains("<feed")
            && !head.contains("<rdf"))
}

fn utc_time(t: DateTime<Utc>) -> FeedTime {
    FeedTime {
        time: t.fixed_offset(),
        zone_is_utc_or_absent: true,
        naive: false,
    }
}

fn count_ids(entries: &[feed_rs::model::Entry]) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for e in entries {
        let id = e.id.trim();
        if !id.is_empty() {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    counts
}

fn entry_keys(entry: &feed_rs::model::Entry) -> Vec<String> {
    let mut keys = vec![entry.id.trim().to_string()];
    keys.extend(entry.links.iter().map(|l| l.href.trim().to_string()));
    keys.retain(|k| !k.is_empty());
    keys
}

/// The entry's page: its alternate link, else an id that is a web address (RSS permalink
/// GUIDs, RDF `rdf:about`).
fn entry_link(
    entry: &feed_rs::model::Entry,
    raw: Option<&RawEntry>,
    ctx: &ParseContext<'_>,
) -> Option<url::Url> {
    let preferred = entry
        .links
        .iter()
        .find(|l| matches!(l.rel.as_deref(), None | Some("alternate")))
        .or_else(|| entry.links.first())
        .map(|l| l.href.as_str());
    preferred
        .and_then(|href| resolve_link(href, ctx.base_url))
        .or_else(|| {
            raw.and_then(|r| r.about.as_deref())
                .and_then(|a| resolve_link(a, ctx.base_url))
        })
        .or_else(|| {
            let id = entry.id.trim();
            (id.starts_with("http://") || id.starts_with("https://"))
                .then(|| resolve_link(id, ctx.base_url))
                .flatten()
        })
}

/// What the raw pass keeps of one entry.
#[derive(Debug, Default)]
struct RawEntry {
    id: Option<String>,
    link: Option<String>,
    about: Option<String>,
    /// (element local name, text) of the entry's direct children that hold times.
    times: Vec<(String, String)>,
}

impl RawEntry {
    fn keys(&self) -> impl Iterator<Item = &str> {
        [
            self.id.as_deref(),
            self.link.as_deref(),
            self.about.as_deref(),
        ]
        .into_iter()
        .flatten()
    }

    /// The first publication time by preference: an advisory's first issue beats its
    /// revision (JVN re-lists updated advisories with a new `dc:date` but the old `issued`).
    fn published_time(&self) -> Option<FeedTime> {
        const PREFERENCE: [&str; 8] = [
            "issued",
            "published",
            "pubDate",
            "date_published",
            "date",
            "created",
            "updated",
            "modified",
        ];
        PREFERENCE.iter().find_map(|name| {
            self.times
                .iter()
                .filter(|(n, _)| n == name)
                .find_map(|(_, text)| dates::parse_feed_time(text))
        })
    }
}

const TIME_ELEMENTS: [&str; 7] = [
    "pubDate",
    "date",
    "published",
    "updated",
    "issued",
    "modified",
    "created",
];

#[derive(Default)]
struct RawWalk {
    entries: Vec<RawEntry>,
    depth: usize,
    max_depth: usize,
    entry_depth: Option<usize>,
    current: RawEntry,
    capturing: Option<String>,
    captured: String,
}

/// The raw pass, fed by [`prepare_xml`]'s reader (no namespace resolution: it cannot fail on
/// undeclared prefixes): each entry's time texts, id and link.
impl RawWalk {
    fn other(&mut self, event: Event<'_>) {
        let capturing = self.capturing.is_some();
        match event {
            Event::Empty(start) => self.empty(&start),
            Event::Text(t) if capturing => self.captured.push_str(&t.xml10_content()),
            Event::CData(t) if capturing => self.captured.push_str(&t),
            Event::GeneralRef(r) if capturing => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    self.captured.push(c);
                } else if let Some(c) = quick_xml::escape::resolve_predefined_entity(&r) {
                    self.captured.push_str(c);
                }
            }
            _ => {}
        }
    }

    fn start(&mut self, start: &quick_xml::events::BytesStart<'_>) {
        self.depth += 1;
        self.max_depth = self.max_depth.max(self.depth);
        let qname = start.name();
        let name = local(qname.as_ref());
        match self.entry_depth {
            None if name == "item" || name == "entry" => {
                self.entry_depth = Some(self.depth);
                self.current = RawEntry {
                    about: attribute(start, "about"),
                    ..RawEntry::default()
                };
            }
            Some(d) if self.depth == d + 1 && is_captured(name) => {
                if name == "link"
                    && let Some(href) = attribute(start, "href")
                {
                    self.current.link.get_or_insert(href);
                }
                self.capturing = Some(name.to_string());
                self.captured.clear();
            }
            _ => {}
        }
    }

    /// `<link href="…"/>`: Atom's alternate link.
    fn empty(&mut self, start: &quick_xml::events::BytesStart<'_>) {
        let direct_child = self.entry_depth.is_some_and(|d| self.depth == d);
        if direct_child
            && local(start.name().as_ref()) == "link"
            && matches!(attribute(start, "rel").as_deref(), None | Some("alternate"))
            && let Some(href) = attribute(start, "href")
        {
            self.current.link.get_or_insert(href);
        }
    }

    fn end(&mut self) {
        if let Some(name) = self.capturing.take() {
            let value = self.captured.trim().to_string();
            match name.as_str() {
                "guid" | "id" => {
                    self.current.id.get_or_insert(value);
                }
                "link" if !value.is_empty() => {
                    self.current.link.get_or_insert(value);
                }
                "link" => {}
                _ => self.current.times.push((name, value)),
            }
        }
        if self.entry_depth == Some(self.depth) {
            self.entries.push(std::mem::take(&mut self.current));
            self.entry_depth = None;
        }
        self.depth = self.depth.saturating_sub(1);
    }
}

fn is_captured(name: &str) -> bool {
    TIME_ELEMENTS.contains(&name) || matches!(name, "guid" | "id" | "link")
}

fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

fn attribute(start: &quick_xml::events::BytesStart<'_>, wanted: &str) -> Option<String> {
    start.attributes().flatten().find_map(|a| {
        (local(a.key.as_ref()) == wanted)
            .then(|| html_escape::decode_html_entities(&a.value).into_owned())
    })
}

/// JSON Feed: the same facts from `items[]`.
fn raw_json_entries(value: &serde_json::Value) -> Vec<RawEntry> {
    let Some(items) = value.get("items").and_then(|v| v.as_array()) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let s = |k: &str| item.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let mut times = Vec::new();
            if let Some(t) = s("date_published") {
                times.push(("date_published".to_string(), t));
            }
            if let Some(t) = s("date_modified") {
                times.push(("modified".to_string(), t));
            }
            RawEntry {
                id: s("id"),
                link: s("url"),
                about: None,
                times,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn parse(doc: &str) -> Result<Parsed, Error> {
        let base = url::Url::parse("http://example.org/feed").unwrap();
        let ctx = ParseContext {
            base_url: &base,
            timezone: chrono_tz::Asia::Tokyo,
            http_charset: None,
            lang: "ja",
        };
        parse_feed(
            doc.as_bytes(),
            &ctx,
            Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
        )
    }

    // See: fuzz. An XML declaration naming another encoding that ends past the document's
    // first 64 bytes made feed-rs switch quick-xml's decoder too late, and quick-xml panicked.
    #[test]
    fn declarations_past_the_start_do_not_panic() {
        let late = r#"<rss version="2.0"><channel><title>t</title><description>padding padding</description><?xml version="1.0" encoding="Shift_JIS"?><item><link>http://a/</link></item></channel></rss>"#;
        let padded = r#"<?xml version="1.0 encoding='x'" encoding="Shift_JIS" standalone="yes"   ?><rss version="2.0"><channel><title>t</title><item><link>http://a/</link></item></channel></rss>"#;
        for doc in [late, padded] {
            let parsed = parse(doc).unwrap_or_else(|e| panic!("{doc:?}: {e}"));
            assert_eq!(parsed.items.len(), 1, "{doc:?}");
            assert_eq!(parsed.items[0].url, "http://a/");
        }
        // A quote in the root's name hides the comment: the declaration is quick-xml's next.
        let quoted = "<'?x a='1'?>\n<!--\n('x padding padding padding padding padding>t\
                      <?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n<rss version=\"2.0\">\
                      <channel><item><link>http://a/</link></item></channel></rss>-->";
        assert!(parse(quoted).is_err());
    }

    // See: fuzz. feed-rs cut `担当：info@example.jp` one byte before the address, inside `：`.
    #[test]
    fn authors_with_an_address_next_to_japanese_text_do_not_panic() {
        let rss = "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>\
                   <managingEditor>広報（koho@example.go.jp）</managingEditor><item>\
                   <title>t</title><link>http://a/</link><author>担当：info@example.jp</author>\
                   <dc:creator>x@example.jp（担当）</dc:creator></item></channel></rss>";
        let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>urn:1</id>\
                    <link href=\"http://a/\"/><author><name>担当：info@example.jp</name></author>\
                    </entry></feed>";
        let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "t",
            "authors": [{"name": "広報（koho@example.go.jp）"}],
            "items": [{"id": "1", "url": "http://a/", "author": {"name": "担当：info@example.jp"}}]}"#;
        for doc in [rss, atom, json] {
            let parsed = parse(doc).unwrap_or_else(|e| panic!("{doc:?}: {e}"));
            assert_eq!(parsed.items.len(), 1, "{doc:?}");
            assert_eq!(parsed.items[0].url, "http://a/");
        }
    }

    #[test]
    fn only_real_declarations_and_person_elements_are_cut() {
        let doc = "<?xml version=\"1.0\"?><?xml-stylesheet href=\"s.xsl\"?><rss><!-- <?xml a?> -->\
                   <d><![CDATA[<?xml version=\"1.0\"?><author>]]></d><?xml?>\
                   <author><b>a</b>c@d.jp</author><?xml\tencoding='utf-16'?><authority/></rss>";
        assert_eq!(
            for_feed_rs(doc),
            "<?xml-stylesheet href=\"s.xsl\"?><rss><!-- <?xml a?> -->\
             <d><![CDATA[<?xml version=\"1.0\"?><author>]]></d><authority/></rss>"
        );
        assert!(matches!(for_feed_rs("<rss/>"), Cow::Borrowed(_)));
        assert_eq!(for_feed_rs("<rss><dc:creator>x"), "<rss>");
        let quoted =
            "<'?x a='1'?>\n<!--\n('x>t<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n-->";
        assert_eq!(for_feed_rs(quoted), "<'?x a='1'?>\n<!--\n('x>t\n-->");
    }
}
