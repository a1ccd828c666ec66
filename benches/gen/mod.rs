//! Generated data for the benchmarks and the bench/ scripts: feed documents in every format and
//! stored items spread over a span of years. Deterministic (a fixed xorshift), so that two runs
//! measure the same bytes. Shared by `benches/*.rs` and `examples/*.rs` through `#[path]`.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use kizashi::model::{AttackType, Classification, Item, Reasons, Section, Sector};

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
}

const ORGS: &[&str] = &[
    "CISA",
    "NCSC",
    "A regional hospital",
    "A water utility",
    "The Department of Energy",
    "A European airline",
    "A major bank",
    "A telecoms operator",
    "The FBI",
    "ANSSI",
    "A pipeline operator",
    "A port authority",
];
const EVENTS: &[&str] = &[
    "reports a ransomware attack on",
    "discloses unauthorized access to",
    "warns of a DDoS campaign against",
    "publishes guidance on securing",
    "confirms a data breach affecting",
    "issues an advisory on a vulnerability in",
    "announces a new cybersecurity strategy for",
    "restores services after an outage of",
];
const OBJECTS: &[&str] = &[
    "patient records systems",
    "industrial control systems",
    "online banking",
    "customer data",
    "billing systems",
    "operational technology networks",
    "email servers",
    "booking sites",
];
const JA_TITLES: &[&str] = &[
    "病院でランサムウェア被害、電子カルテが停止",
    "水道事業者への不正アクセスについて",
    "金融機関を狙ったDDoS攻撃に関する注意喚起",
    "個人情報漏えいのおそれに関するお知らせ",
    "重要インフラのサイバーセキュリティに関する行動計画を公表",
    "複数の製品に脆弱性、早急な対策を",
    "航空会社の予約システムに障害、サイバー攻撃の可能性",
];
const FILLER: &[&str] = &[
    "Officials said the incident was contained within hours.",
    "The agency urged operators to apply the vendor's patches without delay.",
    "Investigators are working with law enforcement to determine the scope.",
    "No evidence of data exfiltration has been found so far, the statement said.",
    "The guidance covers multi-factor authentication, backups and network segmentation.",
    "同社は外部の専門家と協力して調査を進めている。",
    "影響を受けた利用者には個別に連絡するとしている。",
];

/// A title and a plain-text summary of roughly `summary_len` bytes.
pub fn text(rng: &mut Rng, summary_len: usize) -> (String, String) {
    let title = if rng.below(4) == 0 {
        rng.pick(JA_TITLES).to_string()
    } else {
        format!(
            "{} {} {}",
            rng.pick(ORGS),
            rng.pick(EVENTS),
            rng.pick(OBJECTS)
        )
    };
    let mut summary = String::new();
    while summary.len() < summary_len {
        if !summary.is_empty() {
            summary.push(' ');
        }
        summary.push_str(rng.pick(FILLER));
    }
    (title, summary)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The feed formats measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rss2,
    Rdf,
    Atom,
    JsonFeed,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Rss2, Format::Rdf, Format::Atom, Format::JsonFeed];

    pub fn name(self) -> &'static str {
        match self {
            Format::Rss2 => "rss2",
            Format::Rdf => "rss1-rdf",
            Format::Atom => "atom",
            Format::JsonFeed => "jsonfeed",
        }
    }

    /// The format of a document, by its root; `None` for anything else (HTML, other JSON).
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        let head = &bytes[..bytes.len().min(4096)];
        let head = String::from_utf8_lossy(head);
        let t = head.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with('{') {
            return t.contains("jsonfeed.org").then_some(Format::JsonFeed);
        }
        if t.contains("<rdf:RDF") || t.contains("<RDF") {
            Some(Format::Rdf)
        } else if t.contains("<feed") {
            Some(Format::Atom)
        } else if t.contains("<rss") {
            Some(Format::Rss2)
        } else {
            None
        }
    }
}

fn time(rng: &mut Rng, i: usize) -> DateTime<FixedOffset> {
    let base = Utc.with_ymd_and_hms(2025, 3, 31, 12, 0, 0).unwrap();
    let t = base - Duration::minutes((i * 97 + rng.below(60)) as i64);
    let offset = FixedOffset::east_opt(if i % 3 == 0 { 9 * 3600 } else { -5 * 3600 }).unwrap();
    t.with_timezone(&offset)
}

/// A feed document of `n` entries (summaries of about 400 bytes, some HTML).
pub fn document(format: Format, n: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x6b697a61 + n as u64 + format as u64);
    let mut out = String::new();
    match format {
        Format::Rss2 => {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<channel>\n<title>Generated news</title>\n<link>https://news.example.org/</link>\n<description>Generated for benchmarks</description>\n");
            for i in 0..n {
                let (title, summary) = text(&mut rng, 400);
                let t = time(&mut rng, i);
                let _ = write!(
                    out,
                    "<item>\n<title>{}</title>\n<link>https://news.example.org/{i}/story.html?utm_source=rss</link>\n<guid isPermaLink=\"false\">news-{i}</guid>\n<pubDate>{}</pubDate>\n<category>security</category>\n<description>{}</description>\n</item>\n",
                    escape(&title),
                    t.to_rfc2822(),
                    escape(&format!("<p>{summary}</p>"))
                );
            }
            out.push_str("</channel>\n</rss>\n");
        }
        Format::Rdf => {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rdf:RDF xmlns=\"http://purl.org/rss/1.0/\" xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xml:lang=\"ja\">\n<channel rdf:about=\"https://jp.example.org/rss.rdf\">\n<title>Generated RDF</title>\n<link>https://jp.example.org/</link>\n<description>Generated for benchmarks</description>\n<items><rdf:Seq>\n");
            for i in 0..n {
                let _ = writeln!(
                    out,
                    "<rdf:li rdf:resource=\"https://jp.example.org/{i}.html\"/>"
                );
            }
            out.push_str("</rdf:Seq></items>\n</channel>\n");
            for i in 0..n {
                let (title, summary) = text(&mut rng, 400);
                let t = time(&mut rng, i);
                let _ = write!(
                    out,
                    "<item rdf:about=\"https://jp.example.org/{i}.html\">\n<title>{}</title>\n<link>https://jp.example.org/{i}.html</link>\n<description>{}</description>\n<dc:date>{}</dc:date>\n</item>\n",
                    escape(&title),
                    escape(&summary),
                    t.to_rfc3339()
                );
            }
            out.push_str("</rdf:RDF>\n");
        }
        Format::Atom => {
            out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title>Generated Atom</title>\n<id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>\n<updated>2025-03-31T12:00:00Z</updated>\n<link href=\"https://atom.example.org/\"/>\n");
            for i in 0..n {
                let (title, summary) = text(&mut rng, 400);
                let t = time(&mut rng, i);
                let _ = write!(
                    out,
                    "<entry>\n<title>{}</title>\n<id>tag:atom.example.org,2025:{i}</id>\n<link rel=\"alternate\" href=\"https://atom.example.org/{i}\"/>\n<published>{}</published>\n<updated>{}</updated>\n<summary type=\"html\">{}</summary>\n</entry>\n",
                    escape(&title),
                    t.to_rfc3339(),
                    t.to_rfc3339(),
                    escape(&format!("<p>{summary}</p>"))
                );
            }
            out.push_str("</feed>\n");
        }
        Format::JsonFeed => {
            let items: Vec<serde_json::Value> = (0..n)
                .map(|i| {
                    let (title, summary) = text(&mut rng, 400);
                    let t = time(&mut rng, i);
                    serde_json::json!({
                        "id": format!("https://json.example.org/{i}"),
                        "url": format!("https://json.example.org/{i}"),
                        "title": title,
                        "content_html": format!("<p>{summary}</p>"),
                        "date_published": t.to_rfc3339(),
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "version": "https://jsonfeed.org/version/1.1",
                "title": "Generated JSON Feed",
                "home_page_url": "https://json.example.org/",
                "items": items,
            });
            out = serde_json::to_string_pretty(&doc).unwrap();
        }
    }
    out.into_bytes()
}

/// Feed documents under a directory (recursively), with their format, sorted by path.
pub fn documents_under(dir: &Path) -> Vec<(PathBuf, Format, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p)
                && let Some(f) = Format::detect(&bytes)
            {
                files.push((p, f, bytes));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// The `i`-th of `n` stored items, published evenly over the ten fiscal years FY2015–FY2024
/// (2015-04-01 .. 2025-03-31), from 50 sources, with a classification of realistic size.
pub fn stored_item(i: usize, n: usize) -> Item {
    let mut rng = Rng::new(i as u64 * 7919 + 1);
    let first = NaiveDate::from_ymd_opt(2015, 4, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2025, 3, 31).unwrap();
    let days = (last - first).num_days() as usize + 1;
    let day = first + Duration::days((i * days / n.max(1)) as i64);
    let offset = FixedOffset::east_opt(if i % 2 == 0 { 9 * 3600 } else { -5 * 3600 }).unwrap();
    let published = offset
        .from_local_datetime(
            &day.and_hms_opt(8 + (i % 12) as u32, (i % 60) as u32, 0)
                .unwrap(),
        )
        .unwrap();
    let source = format!("source-{:02}", i % 50);
    let identity = format!("guid:{source}/{i}");
    let (title, summary) = text(&mut rng, 300);
    let section = match i % 6 {
        0 => None,
        1 => Some(Section::ForeignPolicy),
        2 => Some(Section::AbroadCritical),
        3 => Some(Section::AbroadOther),
        4 => Some(Section::DomesticCritical),
        _ => Some(Section::DomesticOther),
    };
    let sectors = if matches!(
        section,
        Some(Section::AbroadCritical | Section::DomesticCritical)
    ) {
        vec![Sector::Medical]
    } else {
        vec![]
    };
    let mut reasons = Reasons::default();
    reasons.push("cyber=cyber", "cyber.toml:cyber-general", &["ransomware"]);
    reasons.push(
        "attack_type=ransomware",
        "attack_types.toml:ransomware",
        &["ransomware"],
    );
    reasons.push(
        "kind=incident",
        "kinds.toml:incident",
        &["attack", "breach"],
    );
    reasons.push(
        "section=2.1",
        "decision",
        &["incident, foreign names in the text, a critical-infrastructure sector"],
    );
    let seen: DateTime<Utc> = published.with_timezone(&Utc) + Duration::hours(3);
    Item {
        id: kizashi::store::item_key(&source, &identity),
        source: source.clone(),
        publisher: format!("Publisher {}", i % 50),
        country: if i % 2 == 0 { "JP".into() } else { "US".into() },
        lang: if i % 2 == 0 { "ja".into() } else { "en".into() },
        identity,
        title,
        url: format!("https://{source}.example.org/news/{i}.html"),
        published: Some(published),
        accessed: seen.with_timezone(&kizashi::model::jst()).date_naive(),
        first_seen: seen,
        last_changed: seen,
        summary,
        classification: Classification {
            section,
            country: (section == Some(Section::ForeignPolicy)).then(|| "US".to_string()),
            sectors,
            attack_types: vec![AttackType::Ransomware],
            event_types: vec![],
            reasons,
        },
        decision: None,
        links: Vec::new(),
    }
}
