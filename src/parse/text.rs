//! Text and link clean-up shared by every parser.

use std::borrow::Cow;

use scraper::Html;
use url::Url;

/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest summary kept, in characters: enough to classify and to draft from.
pub const MAX_SUMMARY_CHARS: usize = 2000;

/// Folds runs of white space (including no-break and ideographic spaces) into one space.
pub fn fold_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// [`fold_whitespace`] appending to `out`: copies runs between spaces whole rather than
/// character by character, and decodes only non-ASCII characters (the only ones that can be
/// the wider spaces).
fn fold_into(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    let mut pending_space = false;
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let space_len = match b {
            b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' => 1,
            0x00..0x80 => 0,
            // Every other space starts with one of these (U+0085, U+00A0, U+1680, U+2000–U+205F,
            // U+3000): kana and kanji are skipped undecoded.
            0xC2 | 0xE1 | 0xE2 | 0xE3 => match s[i..].chars().next() {
                Some(c) if c.is_whitespace() || c == '\u{200b}' => c.len_utf8(),
                Some(c) => {
                    i += c.len_utf8();
                    continue;
                }
                None => break,
            },
            0xF0.. => {
                i += 4;
                continue;
            }
            0xE0.. => {
                i += 3;
                continue;
            }
            _ => {
                i += 2;
                continue;
            }
        };
        if space_len == 0 {
            i += 1;
            continue;
        }
        if run_start < i {
            if pending_space {
                out.push(' ');
            }
            out.push_str(&s[run_start..i]);
        }
        pending_space = !out.is_empty();
        i += space_len;
        run_start = i;
    }
    if run_start < bytes.len() {
        if pending_space {
            out.push(' ');
        }
        out.push_str(&s[run_start..]);
    }
}

/// A title: entities that survived XML (`&nbsp;`, `&#8217;`, double escapes) decoded,
/// tags removed when the feed says the title is HTML, white space folded.
pub fn clean_title(raw: &str, is_html: bool) -> String {
    let text = if is_html || looks_like_markup(raw) {
        Cow::Owned(html_to_text(raw))
    } else {
        Cow::Borrowed(raw)
    };
    let decoded = html_escape::decode_html_entities(&text);
    truncated(fold_whitespace(&decoded), MAX_TITLE_CHARS)
}

fn looks_like_markup(s: &str) -> bool {
    s.contains("</")
        || s.contains("<br")
        || s.contains("<span")
        || s.contains("<b>")
        || s.contains("<i>")
}

/// A summary as plain text: HTML parsed and its text kept, block elements separated.
pub fn clean_summary(raw: &str) -> String {
    let folded = if raw.contains(['<', '&']) {
        fold_whitespace(&html_to_text(raw))
    } else {
        fold_whitespace(raw)
    };
    truncated(folded, MAX_SUMMARY_CHARS)
}

/// The text of an HTML fragment, with a space where one block element ends and another starts.
pub fn html_to_text(html: &str) -> String {
    // html5ever looks through the whole stack of open elements for each new one: 20,000
    // nested `<div>` in a feed's summary took minutes (see: fuzz). Such text loses its tags
    // unparsed, as listing pages nested that deep are refused.
    if super::html::nesting_depth(html.as_bytes()) > super::html::MAX_DEPTH {
        return without_tags(html);
    }
    if let Some(text) = simple_html_to_text(html) {
        return text;
    }
    html5ever_text(html)
}

/// [`html_to_text`] through html5ever's tree.
fn html5ever_text(html: &str) -> String {
    use ego_tree::iter::Edge;
    let fragment = Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len() / 2);
    let mut hidden_depth = 0usize;
    // Iterative traversal: a recursive walk would overflow on deeply nested input.
    for edge in fragment.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                scraper::Node::Text(text) if hidden_depth == 0 => out.push_str(text),
                scraper::Node::Element(el) if is_hidden(el.name()) => hidden_depth += 1,
                scraper::Node::Element(el) if is_block(el.name()) => out.push(' '),
                _ => {}
            },
            Edge::Close(node) => match node.value() {
                scraper::Node::Element(el) if is_hidden(el.name()) => {
                    hidden_depth = hidden_depth.saturating_sub(1)
                }
                scraper::Node::Element(el) if is_block(el.name()) => out.push(' '),
                _ => {}
            },
        }
    }
    out
}

/// Elements a simple fragment may hold that html5ever places where they stand. Blocks that
/// implicitly close a `<p>` (`hr`, tables, `dd`, …) and everything with its own parsing rules
/// (`script`, `pre`, `textarea`, foreign content, …) are left to html5ever.
const SIMPLE_BLOCKS: [&str; 15] = [
    "p",
    "div",
    "ul",
    "ol",
    "li",
    "blockquote",
    "section",
    "article",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "br",
];
const SIMPLE_INLINE: [&str; 26] = [
    "a", "b", "i", "em", "strong", "span", "code", "small", "sub", "sup", "u", "abbr", "cite", "q",
    "s", "strike", "tt", "font", "big", "mark", "time", "kbd", "var", "samp", "del", "ins",
];
const SIMPLE_VOID: [&str; 3] = ["br", "img", "wbr"];
/// Entities decoded without html5ever; any other `&name` sends the fragment to it.
const SIMPLE_ENTITIES: [(&str, char); 19] = [
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{a0}'),
    ("hellip", '…'),
    ("rsquo", '’'),
    ("lsquo", '‘'),
    ("rdquo", '”'),
    ("ldquo", '“'),
    ("mdash", '—'),
    ("ndash", '–'),
    ("copy", '©'),
    ("reg", '®'),
    ("trade", '™'),
    ("middot", '·'),
    ("laquo", '«'),
    ("raquo", '»'),
];

/// [`html_to_text`] for the fragments feeds mostly carry (paragraphs, lists, links, emphasis,
/// plain entities), read in one pass without building a tree: `None` for anything where
/// html5ever's tree could differ from the tags' order: an end tag that does not close the
/// innermost open element, a block opened inside a `<p>` (html5ever closes the `<p>` first),
/// a heading in a heading, an `<li>` in an `<li>`, an `<a>` in an `<a>`, comments, unknown
/// elements, character references beyond [`SIMPLE_ENTITIES`] and plain code points.
fn simple_html_to_text(html: &str) -> Option<String> {
    // html5ever drops a leading byte-order mark.
    if html.starts_with('\u{feff}') {
        return None;
    }
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len());
    let mut open: Vec<&'static str> = Vec::new();
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\0' => return None,
            b'&' => {
                out.push_str(&html[copied..i]);
                let (c, len) = simple_reference(&b[i + 1..])?;
                out.push(c);
                i += 1 + len;
                copied = i;
            }
            b'<' => {
                let next = b.get(i + 1).copied();
                let closing = next == Some(b'/');
                let name_start = i + 1 + usize::from(closing);
                if !b.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
                    // `<` before a space, a digit or the end is text; `</>`, `<!`, `<?` are not.
                    if closing || matches!(next, Some(b'!' | b'?')) {
                        return None;
                    }
                    i += 1;
                    continue;
                }
                out.push_str(&html[copied..i]);
                let name_end = name_start
                    + b[name_start..]
                        .iter()
                        .position(|c| !c.is_ascii_alphanumeric())?;
                // `<b-x>` and `<o:p>` are other elements than `<b>` and `<o>`.
                if !(is_html_space(b[name_end]) || matches!(b[name_end], b'/' | b'>')) {
                    return None;
                }
                let name = html[name_start..name_end].to_ascii_lowercase();
                let (end, self_closing) = if closing {
                    let rest = &b[name_end..];
                    let gt = rest.iter().position(|c| !is_html_space(*c))?;
                    (rest[gt] == b'>').then_some((name_end + gt + 1, false))?
                } else {
                    tag_end(b, name_end)?
                };
                let element = SIMPLE_BLOCKS
                    .iter()
                    .chain(SIMPLE_INLINE.iter())
                    .chain(SIMPLE_VOID.iter())
                    .find(|e| **e == name)
                    .copied()?;
                let block = is_block(element);
                let void = SIMPLE_VOID.contains(&element);
                if closing {
                    if void || open.pop() != Some(element) {
                        return None;
                    }
                    if block {
                        out.push(' ');
                    }
                } else {
                    if self_closing && !void {
                        return None;
                    }
                    let reopens = |names: &[&str]| open.iter().any(|o| names.contains(o));
                    let heading = |e: &str| e.len() == 2 && e.starts_with('h');
                    let closes_something = (block && element != "br" && reopens(&["p"]))
                        || (heading(element) && open.iter().any(|o| heading(o)))
                        || (element == "li"
                            && open
                                .iter()
                                .rev()
                                .find(|o| matches!(**o, "li" | "ul" | "ol"))
                                == Some(&"li"))
                        || (element == "a" && reopens(&["a"]));
                    if closes_something {
                        return None;
                    }
                    if block {
                        // html_to_text's space where the element opens, and for a void one
                        // where it closes.
                        out.push(' ');
                        if void {
                            out.push(' ');
                        }
                    }
                    if !void {
                        open.push(element);
                    }
                }
                i = end;
                copied = i;
            }
            // Text runs to the next byte that needs a look; memchr skips it word by word.
            _ => i = memchr::memchr3(b'<', b'&', b'\0', &b[i..]).map_or(b.len(), |at| i + at),
        }
    }
    out.push_str(&html[copied..]);
    // Elements left open close at the end, as html5ever closes them.
    for element in open.iter().rev() {
        if is_block(element) {
            out.push(' ');
        }
    }
    Some(out)
}

/// HTML's white space between a tag's parts (a carriage return is a line feed by then).
fn is_html_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Where a start tag whose name ends at `from` ends, and whether it ends in `/>`, following
/// HTML's attribute states; `None` where they would be in doubt (the document ends first,
/// quotes or `<` inside names or unquoted values, a quoted value directly followed by another
/// attribute).
fn tag_end(b: &[u8], from: usize) -> Option<(usize, bool)> {
    let mut i = from;
    loop {
        while b.get(i).copied().is_some_and(is_html_space) {
            i += 1;
        }
        match *b.get(i)? {
            b'>' => return Some((i + 1, false)),
            b'/' if b.get(i + 1) == Some(&b'>') => return Some((i + 2, true)),
            b'/' => i += 1,
            b'=' | b'"' | b'\'' | b'<' => return None,
            _ => {
                let name_len = b[i..]
                    .iter()
                    .position(|&c| is_html_space(c) || matches!(c, b'/' | b'>' | b'='))?;
                if b[i..i + name_len]
                    .iter()
                    .any(|c| matches!(c, b'"' | b'\'' | b'<'))
                {
                    return None;
                }
                i += name_len;
                while b.get(i).copied().is_some_and(is_html_space) {
                    i += 1;
                }
                if b.get(i) != Some(&b'=') {
                    continue;
                }
                i += 1;
                while b.get(i).copied().is_some_and(is_html_space) {
                    i += 1;
                }
                match *b.get(i)? {
                    quote @ (b'"' | b'\'') => {
                        i += 1 + b[i + 1..].iter().position(|&c| c == quote)? + 1;
                        if !b
                            .get(i)
                            .is_some_and(|&c| is_html_space(c) || matches!(c, b'/' | b'>'))
                        {
                            return None;
                        }
                    }
                    b'>' => return Some((i + 1, false)),
                    _ => {
                        let len = b[i..].iter().position(|&c| is_html_space(c) || c == b'>')?;
                        if b[i..i + len]
                            .iter()
                            .any(|c| matches!(c, b'"' | b'\'' | b'<' | b'=' | b'`'))
                        {
                            return None;
                        }
                        i += len;
                    }
                }
            }
        }
    }
}

/// The character a reference after `&` stands for and the bytes it takes, when it is one of
/// [`SIMPLE_ENTITIES`] or a code point html5ever keeps as written; a `&` before white space,
/// `<`, `&` or the end is text.
fn simple_reference(after: &[u8]) -> Option<(char, usize)> {
    match after.first() {
        None => return Some(('&', 0)),
        Some(c) if is_html_space(*c) || matches!(c, b'<' | b'&') => return Some(('&', 0)),
        _ => {}
    }
    let semi = after.iter().take(12).position(|&c| c == b';')?;
    let body = std::str::from_utf8(&after[..semi]).ok()?;
    if let Some(number) = body.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex)
                if !hex.is_empty()
                    && hex.len() <= 6
                    && hex.bytes().all(|c| c.is_ascii_hexdigit()) =>
            {
                u32::from_str_radix(hex, 16).ok()?
            }
            Some(_) => return None,
            None if !number.is_empty()
                && number.len() <= 7
                && number.bytes().all(|c| c.is_ascii_digit()) =>
            {
                number.parse().ok()?
            }
            None => return None,
        };
        // Not NUL, C0 or C1 controls (cp1252 stands in for some), surrogates, noncharacters.
        let kept = matches!(code, 0x09 | 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFDCF | 0xFDF0..=0x10FFFF)
            && code & 0xFFFE != 0xFFFE;
        return kept
            .then(|| char::from_u32(code))
            .flatten()
            .map(|c| (c, semi + 1));
    }
    SIMPLE_ENTITIES
        .iter()
        .find(|(name, _)| *name == body)
        .map(|(_, c)| (*c, semi + 1))
}

/// Text with each `<…>` replaced by a space, entities decoded.
fn without_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        let Some(end) = rest[at..].find('>') else {
            break;
        };
        out.push_str(&rest[..at]);
        out.push(' ');
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    html_escape::decode_html_entities(&out).into_owned()
}

fn is_hidden(name: &str) -> bool {
    matches!(name, "script" | "style" | "template" | "noscript")
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "br"
            | "li"
            | "ul"
            | "ol"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "section"
            | "article"
            | "blockquote"
            | "dd"
            | "dt"
    )
}

/// Cuts at a character boundary, marking the cut with an ellipsis.
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", s[..at].trim_end()),
        None => s.to_string(),
    }
}

/// [`truncate_chars`] keeping the string when it is short enough: a text of at most `max`
/// bytes has at most `max` characters, so most need no counting and no copy.
fn truncated(s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", s[..at].trim_end()),
        None => s,
    }
}

/// Resolves a link against the document's URL and drops `utm_*` tracking parameters.
/// The fragment is kept: JPCERT/CC's weekly report gives one item per `#n`.
pub fn resolve_link(raw: &str, base: &Url) -> Option<Url> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let mut url = base.join(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !k.to_ascii_lowercase().starts_with("utm_"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(url)
}

/// The URL as cited: no fragment.
pub fn citable(url: &Url) -> String {
    if url.fragment().is_none() {
        return url.as_str().to_string();
    }
    let mut u = url.clone();
    u.set_fragment(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    // See: fuzz. 20,000 nested `<div>` in a summary took html5ever minutes.
    #[test]
    fn deeply_nested_summaries_lose_their_tags_unparsed() {
        let html = format!(
            "{}Fuite &amp; panne{}",
            "<div>".repeat(20_000),
            "</div>".repeat(20_000)
        );
        let started = std::time::Instant::now();
        assert_eq!(clean_summary(&html), "Fuite & panne");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(without_tags("a<b>b</b> &lt; c <"), "a b  < c <");
    }

    #[test]
    fn titles_lose_entities_and_extra_space() {
        assert_eq!(
            clean_title("  CISA&nbsp;Adds\n  Two &amp;#8217; KEVs ", false),
            "CISA Adds Two &#8217; KEVs"
        );
        assert_eq!(clean_title("It&#8217;s <b>bad</b>", false), "It’s bad");
        assert_eq!(
            clean_title("「重要」　注意喚起", false),
            "「重要」 注意喚起"
        );
    }

    #[test]
    fn summaries_are_plain_text() {
        let html = "<p>CISA has added two&nbsp;vulnerabilities.</p><ul><li>CVE-1</li><li>CVE-2</li></ul><script>alert(1)</script>";
        assert_eq!(
            clean_summary(html),
            "CISA has added two vulnerabilities. CVE-1 CVE-2"
        );
        assert_eq!(clean_summary("a < b and c"), "a < b and c");
    }

    #[test]
    fn folding_matches_the_character_by_character_rule() {
        let reference = |s: &str| {
            let mut out = String::new();
            let mut pending_space = false;
            for c in s.chars() {
                if c.is_whitespace() || c == '\u{200b}' {
                    pending_space = !out.is_empty();
                } else {
                    if pending_space {
                        out.push(' ');
                    }
                    pending_space = false;
                    out.push(c);
                }
            }
            out
        };
        for s in [
            "",
            " ",
            "a",
            "  a  b\t\n c  ",
            "「重要」\u{3000}注意喚起\u{3000}",
            "x\u{200b}\u{a0}y\u{2028}z\u{85}",
            "\u{1c}a\u{0b}b\u{0c}",
            "é è\r\nü",
        ] {
            assert_eq!(fold_whitespace(s), reference(s), "{s:?}");
        }
        let long = "word ".repeat(MAX_SUMMARY_CHARS);
        assert_eq!(
            clean_summary(&long),
            truncate_chars(&fold_whitespace(&long), MAX_SUMMARY_CHARS)
        );
        assert_eq!(clean_summary(&"é".repeat(1500)), "é".repeat(1500));
    }

    /// Fragments the one-pass reading must read as html5ever does, or leave to it.
    const FRAGMENTS: [&str; 48] = [
        "<p>CISA has added two&nbsp;vulnerabilities.</p><ul><li>CVE-1</li><li>CVE-2</li></ul>",
        "<p>a</p><p>b</p>",
        "<p>a<div>b</div>c</p>",
        "<p>a<p>b",
        "<p>a<hr>b</p>",
        "a</div>b",
        "<div>a<br>b<br/>c</div>",
        "<b>bold</b><i>it</i>x",
        "<b><p>x</p></b>y",
        "<b><p>x</b>y</p>",
        "<a href=\"/x?a=1&amp;b=2\" title='t>t'>link</a> after",
        "<a href=x>one<a href=y>two</a></a>",
        "<A HREF=\"x\">Upper</A>",
        "<b-x>custom</b-x>",
        "<o:p>office</o:p>",
        "<span/>a<span/>b",
        "<img src=\"a.png\" alt=\"\"/>text<img src=b>",
        "x &lt; y &amp;&amp; y &gt; z",
        "AT&T and R&D",
        "a & b",
        "&copy; 2025 &mdash; &hellip;",
        "&notin; &amp &ampx; &AMP;",
        "&#39;&#x2019;&#8217;&#0;&#128;&#x110000;&#xD800;&#65535;",
        "a < b and c",
        "a <3 b",
        "x</>y",
        "x<!-- comment -->y",
        "x<?pi?>y",
        "<ul><li>a<li>b</ul>",
        "<ul><li>a<ul><li>b</li></ul></li></ul>",
        "<li>a<li>b",
        "<h2>a<h3>b</h3></h2>",
        "<h2>a</h2><h3>b</h3>",
        "<blockquote>q</blockquote>tail",
        "<script>alert(1)</script>shown",
        "<table><tr><td>a</td></tr></table>",
        "<pre>\ncode</pre>",
        "unclosed <b>bold <div>block",
        "<p attr=\"x\"attr2=y>no space</p>",
        "<p a = \"1\" b c=d/>x</p>",
        "<p\tclass=x\n>tabs</p>",
        "<br>",
        "</br>",
        "x\u{0}y",
        "\u{feff}<p>bom</p>",
        "\r\n<p>crlf\r\n</p>\r",
        "<p>日本語の<strong>文章</strong>です。</p>",
        "<span class=\"a\" <p>",
    ];

    #[test]
    fn one_pass_html_reads_as_html5ever_or_not_at_all() {
        let mut fast = 0;
        for html in FRAGMENTS {
            if let Some(text) = simple_html_to_text(html) {
                fast += 1;
                assert_eq!(
                    fold_whitespace(&text),
                    fold_whitespace(&html5ever_text(html)),
                    "{html:?}"
                );
            }
        }
        assert!(fast >= 20, "{fast} read in one pass");
    }

    #[test]
    fn links_are_absolute_without_tracking() {
        let base = Url::parse("https://www.cisa.gov/news.xml").unwrap();
        let u = resolve_link("/node/25385?utm_source=rss&utm_medium=rss&id=3#top", &base).unwrap();
        assert_eq!(u.as_str(), "https://www.cisa.gov/node/25385?id=3#top");
        assert_eq!(citable(&u), "https://www.cisa.gov/node/25385?id=3");
        let only = resolve_link("https://x.org/a?utm_source=rss", &base).unwrap();
        assert_eq!(only.as_str(), "https://x.org/a");
        assert!(resolve_link("javascript:alert(1)", &base).is_none());
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate_chars("日本語の文章", 3), "日本語…");
    }
}
