//! HTML listing pages (a prefecture's news list, an operator's press releases) to items.
//!
//! With selectors, each `item` element gives a title, a link (PDF links are items too) and a
//! date; without, the listing is found by itself: the largest group of alike elements that
//! each hold one link and one date. A date that cannot be read is reported, never guessed.

use std::collections::{HashMap, HashSet};

use scraper::{ElementRef, Html, Selector};

use super::text::{MAX_TITLE_CHARS, citable, fold_whitespace, resolve_link, truncate_chars};
use super::textdate;
use super::{Error, MAX_ITEMS_PER_DOCUMENT, ParseContext, Parsed, dates, encoding};
use crate::model::{HtmlSelectors, RawItem};

/// Deepest element nesting accepted: html5ever's tree builder slows quadratically with depth
/// and browsers stop at 512.
pub const MAX_DEPTH: usize = 512;
/// Fewest alike elements that count as a listing when none is configured.
const MIN_LISTING: usize = 2;

/// Parses a listing page.
pub fn parse_listing(
    bytes: &[u8],
    ctx: &ParseContext<'_>,
    selectors: Option<&HtmlSelectors>,
) -> Result<Parsed, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Empty);
    }
    if nesting_depth(bytes) > MAX_DEPTH {
        return Err(Error::Html(format!(
            "elements nested deeper than {MAX_DEPTH}"
        )));
    }
    let decoded = encoding::decode(bytes, ctx.http_charset, ctx.lang);
    let document = Html::parse_document(&decoded.text);
    let configured = selectors.filter(|s| s.item.is_some());
    let candidates = match configured {
        Some(s) => configured_items(&document, s, ctx.timezone)?,
        None => detected_items(&document, ctx.timezone),
    };
    if candidates.is_empty() {
        return Err(Error::Html(match configured {
            Some(s) => format!(
                "the item selector {:?} matched nothing",
                s.item.as_deref().unwrap_or("")
            ),
            None => "no listing found: no repeated elements holding a link and a date".to_string(),
        }));
    }
    let mut parsed = Parsed {
        encoding: decoded.encoding.name(),
        ..Parsed::default()
    };
    let mut seen = HashSet::new();
    for c in candidates {
        if parsed.items.len() >= MAX_ITEMS_PER_DOCUMENT {
            parsed.skipped.push(format!(
                "items beyond the first {MAX_ITEMS_PER_DOCUMENT} ignored"
            ));
            break;
        }
        let Some(link) = c
            .href
            .as_deref()
            .and_then(|h| resolve_link(h, ctx.base_url))
        else {
            parsed
                .skipped
                .push(format!("item {:?} has no usable link", c.title));
            continue;
        };
        let Some(date) = c.date else {
            let shown = truncate_chars(&c.date_text, 40);
            parsed
                .problems
                .push(format!("item {:?}: no readable date in {shown:?}", c.title));
            continue;
        };
        let identity = format!("link:{link}");
        if !seen.insert(identity.clone()) {
            continue;
        }
        parsed.items.push(RawItem {
            identity,
            title: c.title,
            url: citable(&link),
            published: Some(dates::date_in_zone(date, ctx.timezone)),
            summary: String::new(),
            publisher: c.publisher,
            links: Vec::new(),
        });
    }
    Ok(parsed)
}

/// What an item's own page adds.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    /// The page's description, else its first paragraphs.
    pub summary: String,
    pub published: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Pages the main text links to (a release's statement).
    pub links: Vec<String>,
}

static META_DESCRIPTION: std::sync::LazyLock<Selector> = std::sync::LazyLock::new(|| {
    Selector::parse(r#"meta[name="description"], meta[property="og:description"], meta[name="twitter:description"]"#)
        .expect("valid selector")
});
static META_DATE: std::sync::LazyLock<Selector> = std::sync::LazyLock::new(|| {
    Selector::parse(r#"meta[property="article:published_time"], meta[name="date"], meta[name="DC.date"], meta[name="dcterms.issued"]"#)
        .expect("valid selector")
});
static MAIN_PARAGRAPHS: std::sync::LazyLock<Selector> = std::sync::LazyLock::new(|| {
    Selector::parse("main p, article p, #main p, #contents p, .content p").expect("valid selector")
});
static MAIN_LINKS: std::sync::LazyLock<Selector> = std::sync::LazyLock::new(|| {
    Selector::parse(
        "main a[href], article a[href], #main a[href], #contents a[href], .content a[href]",
    )
    .expect("valid selector")
});
static PARAGRAPHS: std::sync::LazyLock<Selector> =
    std::sync::LazyLock::new(|| Selector::parse("p").expect("valid selector"));

/// Longest summary taken from an item's page.
const DETAIL_SUMMARY_CHARS: usize = 400;

/// Reads an item's own page for a summary and a precise publication time.
pub fn detail(bytes: &[u8], ctx: &ParseContext<'_>) -> Detail {
    if nesting_depth(bytes) > MAX_DEPTH {
        return Detail::default();
    }
    let decoded = encoding::decode(bytes, ctx.http_charset, ctx.lang);
    let page = Html::parse_document(&decoded.text);
    let described = page
        .select(&META_DESCRIPTION)
        .filter_map(|m| m.value().attr("content"))
        .map(fold_whitespace)
        .find(|d| d.chars().count() >= 10);
    let summary = described.unwrap_or_else(|| {
        let mut paragraphs: Vec<String> = page
            .select(&MAIN_PARAGRAPHS)
            .map(text_of)
            .filter(|p| !p.is_empty())
            .collect();
        if paragraphs.is_empty() {
            paragraphs = page
                .select(&PARAGRAPHS)
                .map(text_of)
                .filter(|p| p.chars().count() > 20)
                .collect();
        }
        paragraphs.join(" ")
    });
    let published = page
        .select(&META_DATE)
        .chain(page.select(&TIME))
        .find_map(|el| {
            el.value()
                .attr("content")
                .or_else(|| el.value().attr("datetime"))
        })
        .and_then(dates::parse_feed_time)
        .map(|t| dates::in_publisher_frame(t, ctx.timezone));
    let own = citable(ctx.base_url);
    let mut links: Vec<String> = Vec::new();
    for href in page
        .select(&MAIN_LINKS)
        .filter_map(|a| a.value().attr("href"))
    {
        if !super::links::keep_link(&mut links, href, ctx.base_url, &own) {
            break;
        }
    }
    Detail {
        summary: truncate_chars(&summary, DETAIL_SUMMARY_CHARS),
        published,
        links,
    }
}

/// What one listing element offers.
struct Candidate {
    title: String,
    href: Option<String>,
    date: Option<chrono::NaiveDate>,
    /// The text the date was looked for in, for the error message.
    date_text: String,
    publisher: Option<String>,
}

fn selector(css: &str) -> Result<Selector, Error> {
    Selector::parse(css).map_err(|e| Error::Html(format!("invalid CSS selector {css:?}: {e}")))
}

fn text_of(el: ElementRef<'_>) -> String {
    fold_whitespace(&el.text().collect::<String>())
}

fn configured_items(
    document: &Html,
    s: &HtmlSelectors,
    zone: chrono_tz::Tz,
) -> Result<Vec<Candidate>, Error> {
    let item = selector(s.item.as_deref().unwrap_or("*"))?;
    let title = s.title.as_deref().map(selector).transpose()?;
    let link = selector(s.link.as_deref().unwrap_or("a[href]"))?;
    let date = s.date.as_deref().map(selector).transpose()?;
    let publisher = s.publisher.as_deref().map(selector).transpose()?;
    let mut out = Vec::new();
    for el in document.select(&item) {
        let link_el = el.select(&link).find(|l| l.value().attr("href").is_some());
        let href = link_el
            .and_then(|l| l.value().attr("href"))
            .map(str::to_string);
        let title_text = match &title {
            Some(t) => el.select(t).next().map(text_of).unwrap_or_default(),
            None => link_el.map(text_of).unwrap_or_default(),
        };
        let (found, date_text) = match &date {
            Some(d) => match el.select(d).next() {
                Some(date_el) => (date_of_element(date_el, zone), text_of(date_el)),
                None => date_near(el, zone),
            },
            None => date_near(el, zone),
        };
        let title_text = if title_text.is_empty() {
            text_without_date(el)
        } else {
            title_text
        };
        out.push(Candidate {
            title: truncate_chars(&title_text, MAX_TITLE_CHARS),
            href,
            date: found,
            date_text,
            publisher: publisher
                .as_ref()
                .and_then(|p| el.select(p).next())
                .map(text_of)
                .filter(|p| !p.is_empty()),
        });
    }
    Ok(out)
}

/// A date element: its machine-readable `datetime` first (a UTC time there is dated in the
/// publisher's zone, like a feed's), then its text.
fn date_of_element(el: ElementRef<'_>, zone: chrono_tz::Tz) -> Option<chrono::NaiveDate> {
    let machine = el.value().attr("datetime").or_else(|| {
        el.select(&TIME)
            .next()
            .and_then(|t| t.value().attr("datetime"))
    });
    machine
        .and_then(|d| {
            dates::parse_feed_time(d)
                .map(|t| dates::in_publisher_frame(t, zone).date_naive())
                .or_else(|| textdate::find_date(d).map(|f| f.date))
        })
        .or_else(|| textdate::find_date(&text_of(el)).map(|f| f.date))
}

static TIME: std::sync::LazyLock<Selector> =
    std::sync::LazyLock::new(|| Selector::parse("time[datetime]").expect("valid selector"));
static LINKS: std::sync::LazyLock<Selector> =
    std::sync::LazyLock::new(|| Selector::parse("a[href]").expect("valid selector"));

/// The first date in an item, else in the element just before it (`<dt>date</dt><dd>link</dd>`).
fn date_near(el: ElementRef<'_>, zone: chrono_tz::Tz) -> (Option<chrono::NaiveDate>, String) {
    let own = date_of_element(el, zone);
    if own.is_some() {
        return (own, text_of(el));
    }
    match previous_element(el) {
        Some(prev) if prev.select(&LINKS).next().is_none() => {
            (date_of_element(prev, zone), text_of(prev))
        }
        _ => (None, text_of(el)),
    }
}

fn previous_element(el: ElementRef<'_>) -> Option<ElementRef<'_>> {
    el.prev_siblings().find_map(ElementRef::wrap)
}

fn text_without_date(el: ElementRef<'_>) -> String {
    let text = text_of(el);
    match textdate::find_date(&text) {
        Some(f) => fold_whitespace(&format!("{} {}", &text[..f.start], &text[f.end..])),
        None => text,
    }
}

/// Finds the listing: elements holding exactly one link and a date (their own, or in the
/// element just before), grouped by parent and shape; the largest group wins.
fn detected_items(document: &Html, zone: chrono_tz::Tz) -> Vec<Candidate> {
    let mut groups: HashMap<(ego_tree::NodeId, String), Vec<ElementRef<'_>>> = HashMap::new();
    let mut order: Vec<(ego_tree::NodeId, String)> = Vec::new();
    let mut taken: HashSet<ego_tree::NodeId> = HashSet::new();
    let mut holders: Vec<ElementRef<'_>> = Vec::new();
    let links: Vec<ElementRef<'_>> = document.select(&LINKS).collect();
    // Links within each element, counted in one pass: counting them for each link's
    // ancestors took minutes on a listing of a few thousand entries (see: fuzz). Only "one"
    // and "more" matter, so a count stops at 2, and so does the climb: every element above
    // one holding two links holds two as well.
    let mut links_within: HashMap<ego_tree::NodeId, u8> = HashMap::new();
    for link in &links {
        for ancestor in link.ancestors() {
            let count = links_within.entry(ancestor.id()).or_default();
            if *count == 2 {
                break;
            }
            *count += 1;
        }
    }
    for link in links {
        // The item is the largest element around the link that holds no other link: an
        // `li`, a table row, a `dd` (dated by the `dt` before it).
        let widest = link
            .ancestors()
            .filter_map(ElementRef::wrap)
            .take(6)
            .take_while(|a| {
                !matches!(a.value().name(), "body" | "html")
                    && links_within.get(&a.id()).copied() == Some(1)
            })
            .last();
        if let Some(holder) = widest.filter(|h| date_near(*h, zone).0.is_some()) {
            holders.push(holder);
        }
    }
    for el in holders {
        if !taken.insert(el.id()) {
            continue;
        }
        let Some(parent) = el.parent() else { continue };
        let shape = format!(
            "{}.{}",
            el.value().name(),
            el.value().attr("class").unwrap_or("")
        );
        let key = (parent.id(), shape);
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(el);
    }
    let Some(best) = order
        .iter()
        .max_by_key(|k| groups.get(k).map(Vec::len).unwrap_or(0))
    else {
        return Vec::new();
    };
    let members = groups.remove(best).unwrap_or_default();
    if members.len() < MIN_LISTING {
        return Vec::new();
    }
    // The listing's other rows of the same shape count too, even with a second link (a
    // press release and its PDF): they take their first link.
    let shape_of = |el: &ElementRef<'_>| {
        format!(
            "{}.{}",
            el.value().name(),
            el.value().attr("class").unwrap_or("")
        )
    };
    let shape = shape_of(&members[0]);
    let member_ids: HashSet<ego_tree::NodeId> = members.iter().map(|m| m.id()).collect();
    let rows: Vec<ElementRef<'_>> = match members[0].parent() {
        Some(parent) => parent
            .children()
            .filter_map(ElementRef::wrap)
            .filter(|el| shape_of(el) == shape && el.select(&LINKS).next().is_some())
            .filter(|el| member_ids.contains(&el.id()) || date_near(*el, zone).0.is_some())
            .collect(),
        None => members,
    };
    rows.into_iter()
        .map(|el| {
            let link = el.select(&LINKS).next();
            let (date, date_text) = date_near(el, zone);
            let link_text = link.map(text_of).unwrap_or_default();
            let title = if link_text.chars().count() >= 4 {
                link_text
            } else {
                text_without_date(el)
            };
            Candidate {
                title: truncate_chars(&title, MAX_TITLE_CHARS),
                href: link
                    .and_then(|l| l.value().attr("href"))
                    .map(str::to_string),
                date,
                date_text,
                publisher: None,
            }
        })
        .collect()
}

/// Nesting depth of start tags, counted cheaply before the tree builder sees the page.
pub(super) fn nesting_depth(bytes: &[u8]) -> usize {
    const VOID: [&[u8]; 14] = [
        b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta",
        b"param", b"source", b"track", b"wbr",
    ];
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    // The first `>` at or after the last place searched from (the length when there is none),
    // reused until passed: searching from each `<` anew took minutes on 100 kB of `<a<a<a…`
    // with no `>` (see: fuzz).
    let mut next_close = 0;
    while let Some(off) = bytes[i..].iter().position(|&b| b == b'<') {
        i += off + 1;
        let closing = bytes.get(i) == Some(&b'/');
        let start = if closing { i + 1 } else { i };
        let name_len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 {
            continue;
        }
        let name: Vec<u8> = bytes[start..start + name_len]
            .iter()
            .map(u8::to_ascii_lowercase)
            .collect();
        if next_close < start {
            next_close = bytes[start..]
                .iter()
                .position(|&b| b == b'>')
                .map_or(bytes.len(), |p| start + p);
        }
        let end = (next_close < bytes.len()).then_some(next_close);
        let self_closing = end.is_some_and(|e| e > 0 && bytes[e - 1] == b'/');
        if closing {
            depth = depth.saturating_sub(1);
        } else if !VOID.contains(&name.as_slice()) && !self_closing {
            depth += 1;
            max = max.max(depth);
        }
        i = start + name_len;
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn ctx(base: &Url) -> ParseContext<'_> {
        ParseContext {
            base_url: base,
            timezone: chrono_tz::Asia::Tokyo,
            http_charset: None,
            lang: "ja",
        }
    }

    #[test]
    fn a_listing_is_found_without_selectors() {
        let page = r#"<html><body><nav><a href="/">ホーム</a><a href="/about">概要</a></nav>
            <ul class="news"><li><span>2025年3月26日</span><a href="kisha/0326.html">県税システムの障害について</a></li>
            <li><span>令和7年3月20日</span><a href="/files/a.pdf">電子申請の停止について</a></li>
            <li><span>2025/3/1</span><a href="https://other.example/x#top">お知らせ</a></li></ul>
            <footer><p>最終更新日：2025年3月31日 <a href="/sitemap">サイトマップ</a></p></footer></body></html>"#;
        let base = Url::parse("https://www.pref.example.lg.jp/joho/index.html").unwrap();
        let parsed = parse_listing(page.as_bytes(), &ctx(&base), None).unwrap();
        let urls: Vec<&str> = parsed.items.iter().map(|i| i.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://www.pref.example.lg.jp/joho/kisha/0326.html",
                "https://www.pref.example.lg.jp/files/a.pdf",
                "https://other.example/x"
            ]
        );
        assert_eq!(parsed.items[0].title, "県税システムの障害について");
        assert_eq!(
            parsed.items[1].published.unwrap().to_rfc3339(),
            "2025-03-20T00:00:00+09:00"
        );
    }

    #[test]
    fn selectors_and_unreadable_dates() {
        let page = r#"<div class="l"><div class="i"><a href="/a">A item</a><span class="d">2025年1月31日</span></div>
            <div class="i"><a href="/b">B item</a><span class="d">近日公開</span></div></div>"#;
        let base = Url::parse("https://x.example/").unwrap();
        let s = HtmlSelectors {
            item: Some("div.i".into()),
            title: Some("a".into()),
            link: Some("a".into()),
            date: Some(".d".into()),
            publisher: None,
        };
        let parsed = parse_listing(page.as_bytes(), &ctx(&base), Some(&s)).unwrap();
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
        assert!(parsed.problems[0].contains("近日公開"));
        let none = HtmlSelectors {
            item: Some("li.nothing".into()),
            ..s
        };
        assert!(matches!(
            parse_listing(page.as_bytes(), &ctx(&base), Some(&none)),
            Err(Error::Html(_))
        ));
    }

    #[test]
    fn item_pages_give_a_summary_and_a_time() {
        let page = r#"<html><head><meta name="description" content="県税システムに障害が発生し、納税証明書の発行を停止しています。">
            <meta property="article:published_time" content="2025-03-26T17:30:00+09:00"></head>
            <body><main><p>本文です。</p></main></body></html>"#;
        let base = Url::parse("https://x.example/").unwrap();
        let d = detail(page.as_bytes(), &ctx(&base));
        assert!(d.summary.starts_with("県税システムに障害"));
        assert_eq!(
            d.published.unwrap().to_rfc3339(),
            "2025-03-26T17:30:00+09:00"
        );
        let plain = detail(
            b"<main><p>First paragraph of the notice.</p><p>Second.</p></main>",
            &ctx(&base),
        );
        assert_eq!(plain.summary, "First paragraph of the notice. Second.");
        assert!(plain.published.is_none());
    }

    // See: fuzz. Each link's ancestors counted the links under them again: a listing of 2,000
    // entries took 20 s (8,000: 5 min), and a listing page may be 15 MiB.
    #[test]
    fn a_long_listing_is_read_in_linear_time() {
        let rows: String = (0..3000)
            .map(|i| {
                format!(
                    r#"<li>2025/1/{} <a href="/n/{i}">item {i}</a></li>"#,
                    i % 28 + 1
                )
            })
            .collect();
        let page = format!("<html><body><ul>{rows}</ul></body></html>");
        let base = Url::parse("https://x.example/").unwrap();
        let started = std::time::Instant::now();
        let parsed = parse_listing(page.as_bytes(), &ctx(&base), None).unwrap();
        assert_eq!(parsed.items.len(), MAX_ITEMS_PER_DOCUMENT);
        assert_eq!(parsed.items[0].url, "https://x.example/n/0");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    // See: fuzz. 100 kB of `<a` and no `>` took three minutes: each `<` looked for its `>`
    // through the rest of the page.
    #[test]
    fn nesting_depth_is_linear_without_closing_brackets() {
        let page = "<a".repeat(200_000);
        let started = std::time::Instant::now();
        assert_eq!(nesting_depth(page.as_bytes()), 200_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(
            nesting_depth(b"<div><br><p/><img src=x><a href='/'>x</a></div>"),
            2
        );
        assert_eq!(nesting_depth(b"<div><p>x</p><p><b>y</b></p></div>"), 3);
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let page = "<div>".repeat(MAX_DEPTH + 10);
        let base = Url::parse("https://x.example/").unwrap();
        assert!(matches!(
            parse_listing(page.as_bytes(), &ctx(&base), None),
            Err(Error::Html(_))
        ));
        assert_eq!(
            nesting_depth(b"<ul><li>a<br><img src=x/></li><li>b</li></ul>"),
            2
        );
    }
}
