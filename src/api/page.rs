//! The review page at `/`: a quarter's candidates by report section, with filters, the
//! reasons behind every tag, include/exclude/section/note controls and the export downloads.
//!
//! Server-rendered HTML; one small inline script (allowed by a per-response CSP nonce) sends
//! decisions as same-origin JSON to `POST /api/items/{id}/decision` and reloads. Every text
//! that comes from a feed or the configuration goes through [`text`] or [`attr`]; item ids
//! travel in `data-id` attributes, never inside script.
//!
//! With `[api] token` configured a browser cannot send the bearer header, so `GET
//! /login?token=…` sets an HttpOnly, SameSite=Strict cookie that `guard` accepts in its place
//! (state-changing requests authenticated by the cookie must still be same-origin JSON, see
//! [`cookie_may_change`]).

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{AppState, CLIENT_HEADER, ItemsQuery, filtered_items, query_range};
use crate::export::Format;
use crate::model::{DateRange, Item, Quarter, Section, Sector, Verdict, slash_date};

/// The cookie carrying proof of the token for browsers.
pub const COOKIE: &str = "kizashi_token";

/// Summaries longer than this many characters are cut.
const SUMMARY_CHARS: usize = 320;

/// Text content, escaped.
fn text(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_text(s)
}

/// A double-quoted attribute value, escaped.
fn attr(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_double_quoted_attribute(s)
}

/// A URL component, percent-encoded (for the query strings the page builds).
fn component(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What the cookie holds: a digest of the token, so that the token itself (which may hold
/// characters a cookie cannot) never sits in the browser.
pub fn cookie_value(token: &str) -> String {
    let digest = Sha256::digest(format!("kizashi-cookie-v1\0{token}").as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The `kizashi_token` cookie's value in a request, if any.
pub fn cookie_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
}

/// A state-changing request authenticated only by the cookie must also be one no page on
/// another origin could send (a site on another port of this host is "same-site" and would
/// get the SameSite cookie): the client header, or JSON whose `Origin` is this server.
pub fn cookie_may_change(headers: &HeaderMap) -> bool {
    if headers.contains_key(CLIENT_HEADER) {
        return true;
    }
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let is_json = value(header::CONTENT_TYPE)
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    let host = value(header::HOST).unwrap_or("");
    let same_origin = match value(header::ORIGIN) {
        None => true,
        Some(origin) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| !host.is_empty() && rest == host),
    };
    is_json && same_origin
}

#[derive(Deserialize)]
pub struct LoginQuery {
    token: Option<String>,
}

/// `GET /login?token=…`: sets the cookie and sends the browser to `/`.
pub async fn login(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, HeaderValue::from_static("/"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let Some(token) = &state.config.api.token else {
        return response;
    };
    let given = q.token.as_deref().unwrap_or("");
    if !super::constant_time_eq(
        cookie_value(given).as_bytes(),
        cookie_value(token).as_bytes(),
    ) {
        return super::ApiError(StatusCode::UNAUTHORIZED, "wrong token".into()).into_response();
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        cookie_value(token)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// `GET /`: the review page.
pub async fn review_page(
    State(state): State<AppState>,
    Query(mut q): Query<ItemsQuery>,
) -> Response {
    // An empty form field means "not given".
    for field in [&mut q.quarter, &mut q.from, &mut q.to] {
        if field.as_deref().is_some_and(|s| s.trim().is_empty()) {
            *field = None;
        }
    }
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>());
    let store = state.store.clone();
    let result = tokio::task::spawn_blocking(move || {
        let found = filtered_items(store.as_ref(), &q);
        (q, found)
    })
    .await;
    let (status, body) = match result {
        Ok((q, Ok((range, items)))) => (
            StatusCode::OK,
            render(&state, &q, range, &items, None, &nonce),
        ),
        Ok((q, Err(e))) => {
            // Keep the form so that the mistake can be corrected.
            let range = query_range(None, None, None).unwrap_or_else(|_| {
                DateRange::quarter(Quarter::containing(chrono::Utc::now().date_naive()))
            });
            (e.0, render(&state, &q, range, &[], Some(&e.1), &nonce))
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    };
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    );
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:0 1rem 3rem;line-height:1.45;color:#222}
h1{font-size:1.4rem;margin:1rem 0 .2rem}h2{font-size:1.15rem;border-bottom:2px solid #ccc;margin-top:2rem}
form.filters{display:flex;flex-wrap:wrap;gap:.4rem .8rem;align-items:end;background:#f4f4f4;padding:.6rem;border-radius:4px}
form.filters label{display:flex;flex-direction:column;font-size:.85rem}
.downloads a{margin-right:.6rem}.muted{color:#666;font-size:.9rem}.error{color:#a00;font-weight:bold}
ol.items{list-style:none;padding:0}li.story{border-left:3px solid #88a;padding-left:.6rem;margin:.6rem 0}li.item{border:1px solid #ddd;border-radius:4px;padding:.6rem .8rem;margin:.6rem 0}
li.item.excluded{opacity:.6;background:#fafafa}li.item.included{border-left:4px solid #2a7}
.title{font-weight:600;font-size:1.02rem}.meta{color:#555;font-size:.85rem}
.tag{display:inline-block;background:#eef;border-radius:3px;padding:0 .35rem;margin:.1rem .2rem .1rem 0;font-size:.8rem}
.citation{font-size:.85rem;color:#444;word-break:break-all}.decision{font-size:.9rem}
.controls{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin-top:.4rem}
.controls input.note{min-width:16rem}.status{color:#a00;font-size:.85rem}
details{font-size:.85rem;margin-top:.3rem}code{font-size:.85em}
";

/// Sends a decision for the item around the clicked button, then reloads.
const SCRIPT: &str = "
document.addEventListener('click', async function (event) {
  var button = event.target.closest('button[data-action]');
  if (!button) return;
  var item = button.closest('[data-id]');
  var id = item.getAttribute('data-id');
  var body;
  switch (button.getAttribute('data-action')) {
    case 'include': body = {verdict: 'include'}; break;
    case 'exclude': body = {verdict: 'exclude'}; break;
    case 'clear': body = {verdict: ''}; break;
    default:
      body = {section: item.querySelector('select.section').value,
              note: item.querySelector('input.note').value};
      var country = item.querySelector('input.country');
      if (country) body.country = country.value;
  }
  var status = item.querySelector('.status');
  button.disabled = true;
  try {
    var response = await fetch('/api/items/' + encodeURIComponent(id) + '/decision', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify(body)
    });
    if (response.ok) { location.reload(); return; }
    status.textContent = response.status + ': ' + (await response.text());
  } catch (e) {
    status.textContent = String(e);
  }
  button.disabled = false;
});
";

/// The section a review groups an item under.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Section(Section),
    Excluded,
    Unplaced,
}

fn group_of(item: &Item) -> Group {
    match item.section() {
        _ if item.excluded() => Group::Excluded,
        Some(s) => Group::Section(s),
        None => Group::Unplaced,
    }
}

/// `2.1 国外 — 重要インフラ関連`
fn section_label(s: Section) -> String {
    let part = match s {
        Section::ForeignPolicy => "",
        Section::AbroadCritical | Section::AbroadOther => "国外 — ",
        Section::DomesticCritical | Section::DomesticOther => "国内 — ",
    };
    format!("{} {part}{}", s.code(), s.heading())
}

fn render(
    state: &AppState,
    q: &ItemsQuery,
    range: DateRange,
    items: &[Item],
    error: Option<&str>,
    nonce: &str,
) -> String {
    let mut h = String::with_capacity(16 * 1024 + items.len() * 3 * 1024);
    let period = match range.quarter {
        Some(quarter) => format!("{} ({quarter})", quarter.japanese()),
        None => format!("{}〜{}", slash_date(range.from), slash_date(range.to)),
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>kizashi review — {}</title>\n<style nonce=\"{}\">{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>サイバーセキュリティを取り巻く情勢 — {}</h1>\n",
        text(&period),
        attr(nonce),
        text(&period),
    );
    let candidates = items.iter().filter(|i| i.candidate()).count();
    let _ = writeln!(
        h,
        "<p class=\"muted\">{}〜{}: {} items shown, {candidates} candidates for the report.{}</p>",
        slash_date(range.from),
        slash_date(range.to),
        items.len(),
        if let Some(quarter) = range.quarter {
            let prev = Quarter::containing(
                quarter
                    .first_day()
                    .pred_opt()
                    .unwrap_or(quarter.first_day()),
            );
            let next =
                Quarter::containing(quarter.last_day().succ_opt().unwrap_or(quarter.last_day()));
            let all = if q.all { "&amp;all=true" } else { "" };
            format!(
                " <a href=\"/?quarter={prev}{all}\">← {prev}</a> · <a href=\"/?quarter={next}{all}\">{next} →</a>"
            )
        } else {
            String::new()
        }
    );
    if let Some(e) = error {
        let _ = writeln!(h, "<p class=\"error\" role=\"alert\">{}</p>", text(e));
    }
    filter_form(&mut h, state, q, range);
    downloads(&mut h, range, q.all);
    h.push_str("</header>\n<main>\n");

    let filtered_section = q
        .section
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<Section>().ok());
    for section in Section::ALL {
        if filtered_section.is_some_and(|f| f != section) {
            continue;
        }
        let members: Vec<&Item> = items
            .iter()
            .filter(|i| group_of(i) == Group::Section(section))
            .collect();
        if members.is_empty() && error.is_none() && filtered_section.is_none() {
            let _ = writeln!(
                h,
                "<section id=\"s{0}\"><h2>{1}</h2><p class=\"muted\">（候補なし）</p></section>",
                section.code(),
                text(&section_label(section))
            );
        } else if !members.is_empty() {
            group(
                &mut h,
                &format!("s{}", section.code()),
                &section_label(section),
                &members,
            );
        }
    }
    for (g, id, label) in [
        (Group::Excluded, "excluded", "除外 — excluded by an analyst"),
        (
            Group::Unplaced,
            "unplaced",
            "No section — not in the report",
        ),
    ] {
        let members: Vec<&Item> = items.iter().filter(|i| group_of(i) == g).collect();
        if !members.is_empty() {
            group(&mut h, id, label, &members);
        }
    }
    if !q.all && error.is_none() {
        h.push_str("<p class=\"muted\">Excluded items and items with no section are hidden; tick “all” to see them.</p>\n");
    }
    let _ = write!(
        h,
        "</main>\n<script nonce=\"{}\">{SCRIPT}</script>\n</body>\n</html>\n",
        attr(nonce)
    );
    h
}

fn option(h: &mut String, value: &str, label: &str, selected: bool) {
    let _ = writeln!(
        h,
        "<option value=\"{}\"{}>{}</option>",
        attr(value),
        if selected { " selected" } else { "" },
        text(label)
    );
}

fn filter_form(h: &mut String, state: &AppState, q: &ItemsQuery, range: DateRange) {
    let quarter = range.quarter.map(|q| q.to_string()).unwrap_or_default();
    let given = |v: &Option<String>| v.as_deref().unwrap_or("").to_string();
    let _ = writeln!(
        h,
        "<form class=\"filters\" method=\"get\" action=\"/\">\n\
         <label>Quarter <input name=\"quarter\" value=\"{}\" placeholder=\"FY2024Q4\" size=\"9\"></label>",
        attr(q.quarter.as_deref().unwrap_or(&quarter))
    );
    h.push_str("<label>Section <select name=\"section\">\n");
    let section = given(&q.section);
    option(h, "", "all sections", section.is_empty());
    for s in Section::ALL {
        option(h, s.code(), &section_label(s), section == s.code());
    }
    h.push_str("</select></label>\n<label>Sector <select name=\"sector\">\n");
    let sector = given(&q.sector);
    option(h, "", "all sectors", sector.is_empty());
    for s in Sector::ALL {
        option(
            h,
            s.slug(),
            &format!("{} ({})", s.ja(), s.slug()),
            sector == s.slug(),
        );
    }
    h.push_str("</select></label>\n<label>Source <select name=\"source\">\n");
    let source = given(&q.source);
    option(h, "", "all sources", source.is_empty());
    for s in &state.config.sources {
        option(
            h,
            &s.id,
            &format!("{} — {}", s.id, s.publisher),
            source == s.id,
        );
    }
    let _ = writeln!(
        h,
        "</select></label>\n\
         <label>Words <input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"ransomware 病院\"></label>\n\
         <label><span><input type=\"checkbox\" name=\"all\" value=\"true\"{}> all (excluded, no section)</span></label>\n\
         <button type=\"submit\">Show</button>\n</form>",
        attr(&given(&q.q)),
        if q.all { " checked" } else { "" }
    );
}

fn downloads(h: &mut String, range: DateRange, all: bool) {
    let span = match range.quarter {
        Some(quarter) => format!("quarter={}", component(&quarter.to_string())),
        None => format!(
            "from={}&to={}",
            range.from.format("%Y-%m-%d"),
            range.to.format("%Y-%m-%d")
        ),
    };
    let all = if all { "&all=true" } else { "" };
    h.push_str("<p class=\"downloads\">Download the export:\n");
    for (format, label) in [
        ("md", "Markdown draft"),
        ("docx", "Word (.docx)"),
        ("json", "JSON"),
        ("csv", "CSV"),
    ] {
        if format.parse::<Format>().is_err() {
            continue;
        }
        let href = format!("/api/export?{span}&format={format}{all}");
        let _ = writeln!(
            h,
            "<a class=\"download\" data-format=\"{format}\" href=\"{}\" download>{label}</a>",
            attr(&href)
        );
    }
    h.push_str("</p>\n");
}

fn group(h: &mut String, id: &str, label: &str, members: &[&Item]) {
    let _ = writeln!(
        h,
        "<section id=\"{}\">\n<h2>{} <span class=\"muted\">({})</span></h2>\n<ol class=\"items\">",
        attr(id),
        text(label),
        members.len()
    );
    // The pages about one event (a notice and its 第2報, a release and the statement it links
    // to) are shown together, under the first, as the draft writes them as one report item.
    for story in crate::export::story::group(members) {
        if story.len() == 1 {
            item_block(h, story[0]);
            continue;
        }
        let _ = writeln!(
            h,
            "<li class=\"story\"><div class=\"muted\">同じ出来事 — one story, {} pages</div>\n<ol class=\"items\">",
            story.len()
        );
        for item in story {
            item_block(h, item);
        }
        h.push_str("</ol></li>\n");
    }
    h.push_str("</ol>\n</section>\n");
}

/// The first `n` characters of `s`, with `…` when cut.
fn shortened(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", s[..at].trim_end()),
        None => s.to_string(),
    }
}

fn is_web_link(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

fn item_block(h: &mut String, item: &Item) {
    let verdict = item.decision.as_ref().and_then(|d| d.verdict);
    let class = match verdict {
        Some(Verdict::Include) => " included",
        Some(Verdict::Exclude) => " excluded",
        None => "",
    };
    let _ = writeln!(
        h,
        "<li class=\"item{class}\" data-id=\"{}\">",
        attr(&item.id)
    );
    let title = if item.title.trim().is_empty() {
        "（無題）"
    } else {
        item.title.as_str()
    };
    if is_web_link(&item.url) {
        let _ = writeln!(
            h,
            "<div class=\"title\"><a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">{}</a></div>",
            attr(&item.url),
            text(title)
        );
    } else {
        let _ = writeln!(h, "<div class=\"title\">{}</div>", text(title));
    }
    let date = item
        .published_date()
        .map(slash_date)
        .unwrap_or_else(|| "日付不明".into());
    let _ = writeln!(
        h,
        "<div class=\"meta\">{} · {} · <code>{}</code> · {} {}</div>",
        text(&item.publisher),
        text(&date),
        text(&item.source),
        text(&item.country),
        text(&item.lang),
    );
    if !item.summary.trim().is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"summary\">{}</p>",
            text(&shortened(item.summary.trim(), SUMMARY_CHARS))
        );
    }
    let c = &item.classification;
    let mut tags = String::new();
    for s in &c.sectors {
        let _ = write!(tags, "<span class=\"tag sector\">{}</span>", text(s.ja()));
    }
    for a in &c.attack_types {
        let _ = write!(tags, "<span class=\"tag attack\">{}</span>", text(a.ja()));
    }
    for e in &c.event_types {
        let _ = write!(tags, "<span class=\"tag event\">{}</span>", text(e.ja()));
    }
    if let Some(country) = item
        .policy_country()
        .filter(|_| item.section() == Some(Section::ForeignPolicy))
    {
        let _ = write!(tags, "<span class=\"tag country\">{}</span>", text(country));
    }
    if !tags.is_empty() {
        let _ = writeln!(h, "<div class=\"tags\">{tags}</div>");
    }
    let _ = writeln!(h, "<p class=\"citation\">{}</p>", text(&item.citation()));

    // Why: the classifier's reasons.
    let _ = writeln!(
        h,
        "<details class=\"reasons\"><summary>Why: {} · classifier's section {}</summary>\n<ul>",
        plural(c.reasons.len(), "reason"),
        c.section.map(Section::code).unwrap_or("none")
    );
    for r in c.reasons.iter() {
        let _ = writeln!(
            h,
            "<li><code>{}</code> by <code>{}</code>: {}</li>",
            text(r.tag),
            text(r.rule),
            text(&r.matched().collect::<Vec<_>>().join(", "))
        );
    }
    h.push_str("</ul></details>\n");

    // The decision so far.
    let decision = item.decision.as_ref();
    let mut said = Vec::new();
    match verdict {
        Some(Verdict::Include) => said.push("included".to_string()),
        Some(Verdict::Exclude) => said.push("excluded".to_string()),
        None => {}
    }
    if let Some(s) = decision.and_then(|d| d.section) {
        said.push(format!("moved to {}", s.code()));
    }
    if let Some(country) = decision.and_then(|d| d.country.as_deref()) {
        said.push(format!("country {country}"));
    }
    if let Some(at) = decision.and_then(|d| d.decided_at) {
        said.push(format!(
            "decided {}",
            at.with_timezone(&crate::model::jst())
                .format("%Y/%-m/%-d %H:%M JST")
        ));
    }
    let note = decision.and_then(|d| d.note.as_deref()).unwrap_or("");
    let _ = writeln!(
        h,
        "<p class=\"decision\">Decision: <strong class=\"verdict\">{}</strong>{}{}</p>",
        match crate::review::verdict_label(decision) {
            "" => "undecided",
            v => v,
        },
        if said.is_empty() {
            String::new()
        } else {
            format!(" — {}", text(&said.join(", ")))
        },
        if note.is_empty() {
            String::new()
        } else {
            format!("<br>Note: <span class=\"note\">{}</span>", text(note))
        },
    );

    // Controls.
    h.push_str("<div class=\"controls\">\n");
    for (action, label, pressed) in [
        ("include", "Include", verdict == Some(Verdict::Include)),
        ("exclude", "Exclude", verdict == Some(Verdict::Exclude)),
        ("clear", "Clear", false),
    ] {
        let _ = writeln!(
            h,
            "<button type=\"button\" class=\"{action}\" data-action=\"{action}\"{}>{label}</button>",
            if pressed {
                " aria-pressed=\"true\""
            } else {
                ""
            }
        );
    }
    let current = item.section();
    h.push_str("<label>Section <select class=\"section\">\n");
    let classifier = match c.section {
        Some(s) => format!("classifier's ({})", s.code()),
        None => "classifier's (none)".to_string(),
    };
    option(
        h,
        "",
        &classifier,
        decision.and_then(|d| d.section).is_none(),
    );
    for s in Section::ALL {
        option(
            h,
            s.code(),
            &section_label(s),
            decision.and_then(|d| d.section).is_some() && current == Some(s),
        );
    }
    h.push_str("</select></label>\n");
    if current == Some(Section::ForeignPolicy) {
        let _ = writeln!(
            h,
            "<label>Country <input class=\"country\" size=\"3\" maxlength=\"2\" value=\"{}\"></label>",
            attr(item.policy_country().unwrap_or(""))
        );
    }
    let _ = writeln!(
        h,
        "<label>Note <input class=\"note\" value=\"{}\"></label>\n\
         <button type=\"button\" class=\"save\" data-action=\"save\">Save section and note</button>\n\
         <span class=\"status\" role=\"status\"></span>\n</div>\n</li>",
        attr(note)
    );
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
