//! Text and link clean-up shared by every parser.

use scraper::Html;
use url::Url;

/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest summary kept, in characters: enough to classify and to draft from.
pub const MAX_SUMMARY_CHARS: usize = 2000;

/// Folds runs of white space (including no-break and ideographic spaces) into one space.
pub fn fold_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() || c == '\u{a0}' || c == '\u{200b}' {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// A title: entities that survived XML (`&nbsp;`, `&#8217;`, double escapes) decoded,
/// tags removed when the feed says the title is HTML, white space folded.
pub fn clean_title(raw: &str, is_html: bool) -> String {
    let text = if is_html || looks_like_markup(raw) {
        html_to_text(raw)
    } else {
        raw.to_string()
    };
    let decoded = html_escape::decode_html_entities(&text);
    truncate_chars(&fold_whitespace(&decoded), MAX_TITLE_CHARS)
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
    let text = if raw.contains('<') || raw.contains('&') {
        html_to_text(raw)
    } else {
        raw.to_string()
    };
    truncate_chars(&fold_whitespace(&text), MAX_SUMMARY_CHARS)
}

/// The text of an HTML fragment, with a space where one block element ends and another starts.
pub fn html_to_text(html: &str) -> String {
    use ego_tree::iter::Edge;
    // html5ever looks through the whole stack of open elements for each new one: 20,000
    // nested `<div>` in a feed's summary took minutes (see: fuzz). Such text loses its tags
    // unparsed, as listing pages nested that deep are refused.
    if super::html::nesting_depth(html.as_bytes()) > super::html::MAX_DEPTH {
        return without_tags(html);
    }
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
