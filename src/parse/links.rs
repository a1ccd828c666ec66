//! The pages an item's text links to, so that an agency release and the statement it links to
//! can be told as one story. A byte scan for `href` attributes, not an HTML parse: summaries are
//! read by the thousand and only their anchors matter here.

use url::Url;

use super::text::{citable, resolve_link};

/// Links kept per item at most: a summary that links more is a link list, not a release.
pub const MAX_LINKS: usize = 20;

/// The absolute http(s) URLs of the `<a href>`s in `html`, resolved against `base`, cleaned as
/// cited URLs are (no fragment, no `utm_*`), without `own` (the item's own URL) and repeats.
pub fn links_in(html: &str, base: &Url, own: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let bytes = html.as_bytes();
    let mut from = 0;
    while let Some(found) = memchr::memchr(b'<', &bytes[from..]) {
        let after_name = from + found + 2;
        from += found + 1;
        // `<a ` opens an anchor; `<abbr>`, `<article>`, `</a>` do not.
        let is_anchor = bytes
            .get(after_name - 1)
            .is_some_and(|b| b.eq_ignore_ascii_case(&b'a'))
            && bytes.get(after_name).is_some_and(u8::is_ascii_whitespace);
        if !is_anchor {
            continue;
        }
        let Some(tag_len) = memchr::memchr(b'>', &bytes[after_name..]) else {
            break;
        };
        let tag_end = after_name + tag_len;
        from = tag_end;
        // Byte offsets stay valid: ASCII lower-casing changes no length.
        let tag = &html[after_name..tag_end];
        let Some(href) = attribute(tag, &tag.to_ascii_lowercase(), "href") else {
            continue;
        };
        if !keep_link(&mut out, &href.replace("&amp;", "&"), base, own) {
            break;
        }
    }
    out
}

/// Adds `href`, resolved against `base` and cleaned as cited URLs are, to `links` unless it is
/// `own`, already there or not http(s). Returns false once `links` holds [`MAX_LINKS`].
pub fn keep_link(links: &mut Vec<String>, href: &str, base: &Url, own: &str) -> bool {
    if let Some(cited) = resolve_link(href, base).map(|u| citable(&u))
        && cited != own
        && !links.contains(&cited)
    {
        links.push(cited);
    }
    links.len() < MAX_LINKS
}

/// The value of attribute `name` in a tag's inside (`tag`, and the same text lower-cased).
fn attribute<'a>(tag: &'a str, lower: &str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let boundary = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !boundary || !rest.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - rest.len() + 1;
        let value = tag[value_start..].trim_start();
        let quote = value.chars().next()?;
        return if quote == '"' || quote == '\'' {
            value[1..].split(quote).next()
        } else {
            value.split(|c: char| c.is_ascii_whitespace()).next()
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_resolved_cleaned_and_deduplicated() {
        let base =
            Url::parse("https://www.whitehouse.gov/briefing-room/2025/05/01/release/").unwrap();
        let html = r#"<p>Read the <A class="x" HREF="/briefing-room/statements/joint-statement/?utm_source=rss#top">joint
            statement</a>, the <a href='https://www.state.gov/fact-sheet?id=3&amp;utm_medium=x'>fact sheet</a>
            and again the <a href="../../../statements/joint-statement/">statement</a>.
            <abbr title="x">CISA</abbr> <a name="anchor">no link</a> <a href="mailto:press@example.org">mail</a>
            <a href="https://www.whitehouse.gov/briefing-room/2025/05/01/release/#more">self</a>
            <a href=https://example.org/unquoted>u</a></p>"#;
        let own = "https://www.whitehouse.gov/briefing-room/2025/05/01/release/";
        assert_eq!(
            links_in(html, &base, own),
            [
                "https://www.whitehouse.gov/briefing-room/statements/joint-statement/",
                "https://www.state.gov/fact-sheet?id=3",
                "https://www.whitehouse.gov/briefing-room/2025/statements/joint-statement/",
                "https://example.org/unquoted",
            ]
        );
    }

    #[test]
    fn plain_text_and_broken_tags_have_no_links() {
        let base = Url::parse("https://example.org/").unwrap();
        assert!(links_in("no markup at all", &base, "").is_empty());
        assert!(links_in("<a href=\"/x\"", &base, "").is_empty());
        assert!(links_in("<a", &base, "").is_empty());
        let many: String = (0..50)
            .map(|n| format!("<a href=\"/p{n}\">p</a>"))
            .collect();
        assert_eq!(links_in(&many, &base, "").len(), MAX_LINKS);
    }
}
