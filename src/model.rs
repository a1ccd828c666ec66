//! Plain data shared by every stage: sources, items, tags, quarters.
//!
//! Owns: the vocabularies of `shared/spec/report.md` (sections, sectors, attack and event
//! types), the item every stage passes along, fiscal quarters and the citation format.
//! May import: std, chrono, serde, url. Must not do I/O or import another stage.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

mod reasons;
pub use reasons::{Reason, Reasons};

/// Japan's time zone offset; access dates are JST calendar dates (report.md).
pub fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

/// How a source publishes its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// RSS 0.9x/1.0/2.0, Atom or JSON Feed.
    Feed,
    /// An HTML listing page read with CSS selectors.
    Html,
    /// A CSV file listing items, one per row.
    Csv,
}

/// Which columns of a CSV listing hold what (0-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvColumns {
    pub date: usize,
    pub title: usize,
    pub link: usize,
    pub publisher: Option<usize>,
    /// The first row names the columns.
    pub header: bool,
}

/// What kind of organisation publishes a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublisherKind {
    Government,
    Operator,
    News,
    Vendor,
}

/// CSS selectors for an HTML listing source, relative to each item element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HtmlSelectors {
    pub item: Option<String>,
    pub title: Option<String>,
    pub link: Option<String>,
    pub date: Option<String>,
    /// Per-item publisher (an aggregator listing every ministry's pages).
    pub publisher: Option<String>,
}

/// One configured source, validated.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub id: String,
    pub publisher: String,
    /// ISO 3166-1 alpha-2 of the publisher; `JP` is domestic.
    pub country: String,
    pub lang: String,
    pub url: Url,
    pub kind: SourceKind,
    pub interval: Duration,
    pub sector: Option<Sector>,
    pub publisher_kind: Option<PublisherKind>,
    /// The publisher's home zone, used where a feed states UTC.
    pub timezone: chrono_tz::Tz,
    pub allow_private: bool,
    pub html: Option<HtmlSelectors>,
    pub csv: Option<CsvColumns>,
    /// Fetch each new item's own page once for its summary and a better date.
    pub detail: bool,
}

impl SourceSpec {
    /// The publisher whose name may give an item's sector when the item speaks of itself: the
    /// item's own (an aggregator's), else the source's; none for a news source, whose stories
    /// quote their victims' "we" and whose name (a broadcaster, a trade paper) is not theirs.
    pub fn publisher_for_classification<'a>(&'a self, item_publisher: Option<&'a str>) -> &'a str {
        if self.publisher_kind == Some(PublisherKind::News) {
            return "";
        }
        item_publisher.unwrap_or(&self.publisher)
    }
}

/// An item as a parser found it, before classification and storage.
#[derive(Debug, Clone, PartialEq)]
pub struct RawItem {
    /// Identity inside the source: the feed's GUID, or the canonical link when GUIDs are
    /// missing or shared. Never the title.
    pub identity: String,
    pub title: String,
    /// Absolute URL without fragment or `utm_*` parameters.
    pub url: String,
    /// Publication time in the publisher's frame (report.md): its date part is the
    /// publication date. `None` when the source gave no usable date.
    pub published: Option<DateTime<FixedOffset>>,
    /// Plain text, HTML stripped.
    pub summary: String,
    /// The item's own publisher where a listing names one per item (an aggregator).
    pub publisher: Option<String>,
    /// Other pages the item's text links to (absolute, cleaned like `url`).
    pub links: Vec<String>,
}

/// A report section (report.md, "Sections").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Section {
    #[serde(rename = "1")]
    ForeignPolicy,
    #[serde(rename = "2.1")]
    AbroadCritical,
    #[serde(rename = "2.2")]
    AbroadOther,
    #[serde(rename = "3.1")]
    DomesticCritical,
    #[serde(rename = "3.2")]
    DomesticOther,
}

impl Section {
    pub const ALL: [Section; 5] = [
        Section::ForeignPolicy,
        Section::AbroadCritical,
        Section::AbroadOther,
        Section::DomesticCritical,
        Section::DomesticOther,
    ];

    /// The report's own code: `1`, `2.1` …
    pub fn code(self) -> &'static str {
        match self {
            Section::ForeignPolicy => "1",
            Section::AbroadCritical => "2.1",
            Section::AbroadOther => "2.2",
            Section::DomesticCritical => "3.1",
            Section::DomesticOther => "3.2",
        }
    }

    /// The heading the report prints for this section.
    pub fn heading(self) -> &'static str {
        match self {
            Section::ForeignPolicy => "国外サイバーセキュリティ政策",
            Section::AbroadCritical | Section::DomesticCritical => "重要インフラ関連",
            Section::AbroadOther | Section::DomesticOther => "その他",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Section {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Section::ALL
            .into_iter()
            .find(|sec| sec.code() == s.trim())
            .ok_or_else(|| format!("unknown section {s:?} (expected 1, 2.1, 2.2, 3.1 or 3.2)"))
    }
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $slug:literal, $ja:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $slug)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The slug used in JSON, CSV and rule files.
            pub fn slug(self) -> &'static str {
                match self { $($name::$variant => $slug,)+ }
            }

            /// The report's Japanese name.
            pub fn ja(self) -> &'static str {
                match self { $($name::$variant => $ja,)+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.slug() == s).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|v| v.slug()).collect();
                    format!("unknown {} {s:?} (expected one of {})", stringify!($name), known.join(", "))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.slug())
            }
        }
    };
}

vocabulary!(
    /// Japan's 15 critical-infrastructure sectors (重要インフラ分野).
    Sector {
        Telecom => "telecom", "情報通信";
        Finance => "finance", "金融";
        Aviation => "aviation", "航空";
        Airport => "airport", "空港";
        Railway => "railway", "鉄道";
        Electricity => "electricity", "電力";
        Gas => "gas", "ガス";
        Government => "government", "政府・行政サービス";
        Medical => "medical", "医療";
        Water => "water", "水道";
        Logistics => "logistics", "物流";
        Chemical => "chemical", "化学";
        Credit => "credit", "クレジット";
        Petroleum => "petroleum", "石油";
        Port => "port", "港湾";
    }
);

vocabulary!(
    /// サイバー攻撃の類型 from the report's statistics annex.
    AttackType {
        Ransomware => "ransomware", "ランサムウェア攻撃";
        Malware => "malware", "ランサムウェアを除くマルウェア感染";
        Ddos => "ddos", "DDoS攻撃等の大量アクセス";
        Other => "other", "その他";
    }
);

vocabulary!(
    /// 事象の類型 from the report's statistics annex.
    EventType {
        Leak => "leak", "情報の漏えい";
        Destruction => "destruction", "情報の破壊";
        Outage => "outage", "システム等の利用困難";
        MalwareInfection => "malware_infection", "マルウェア等の感染";
        CodeExecution => "code_execution", "不正コード等の実行";
        Intrusion => "intrusion", "システム等への侵入";
        WarningSign => "warning_sign", "予兆・ヒヤリハット";
        Other => "other", "その他";
    }
);

/// The classifier's verdict on one item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub section: Option<Section>,
    /// For section 1: the country whose policy it is (ISO alpha-2).
    pub country: Option<String>,
    pub sectors: Vec<Sector>,
    pub attack_types: Vec<AttackType>,
    pub event_types: Vec<EventType>,
    pub reasons: Reasons,
}

/// A stored item with everything the export and alerts need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Stable id: hex of our own hash of source id and identity.
    pub id: String,
    pub source: String,
    pub publisher: String,
    pub country: String,
    pub lang: String,
    pub identity: String,
    pub title: String,
    pub url: String,
    pub published: Option<DateTime<FixedOffset>>,
    /// JST date of the first fetch that saw this item.
    pub accessed: NaiveDate,
    pub first_seen: DateTime<Utc>,
    pub last_changed: DateTime<Utc>,
    pub summary: String,
    pub classification: Classification,
    /// What an analyst decided; survives re-polls and reclassification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Other pages the item's text links to (absolute, cleaned like `url`): an agency release
    /// and the statement it links to are one story.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

/// An analyst's verdict on an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Include,
    Exclude,
}

impl Verdict {
    pub const ALL: [Verdict; 2] = [Verdict::Include, Verdict::Exclude];

    /// `include` or `exclude`, as in JSON, CSV and the stored form.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Include => "include",
            Verdict::Exclude => "exclude",
        }
    }
}

/// An analyst's decision: include or exclude, another section or country, a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Decision {
    pub verdict: Option<Verdict>,
    /// Moves the item to this section (overrides the classifier).
    pub section: Option<Section>,
    /// For section 1: whose policy it is (overrides the classifier).
    pub country: Option<String>,
    pub note: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl Decision {
    /// True when it says nothing at all.
    pub fn is_empty(&self) -> bool {
        self.verdict.is_none()
            && self.section.is_none()
            && self.country.is_none()
            && self.note.as_deref().is_none_or(str::is_empty)
    }
}

impl Item {
    /// The section the report uses: the analyst's, else the classifier's.
    pub fn section(&self) -> Option<Section> {
        self.decision
            .as_ref()
            .and_then(|d| d.section)
            .or(self.classification.section)
    }

    /// Whether an analyst excluded it.
    pub fn excluded(&self) -> bool {
        self.decision
            .as_ref()
            .is_some_and(|d| d.verdict == Some(Verdict::Exclude))
    }

    /// Whether it is a candidate for the report: placed in a section and not excluded.
    pub fn candidate(&self) -> bool {
        !self.excluded() && self.section().is_some()
    }

    /// For section 1: the country whose policy it is, the analyst's first.
    pub fn policy_country(&self) -> Option<&str> {
        self.decision
            .as_ref()
            .and_then(|d| d.country.as_deref())
            .or(self.classification.country.as_deref())
    }

    /// The publication instant in nanoseconds since 1970: sorting and comparing these is ten
    /// times cheaper than `DateTime` arithmetic, for exports of tens of thousands of items. A
    /// leap second (nanoseconds past 999,999,999) counts as the end of its second.
    pub fn published_nanos(&self) -> Option<i128> {
        self.published.map(|at| {
            i128::from(at.timestamp()) * 1_000_000_000
                + i128::from(at.timestamp_subsec_nanos().min(999_999_999))
        })
    }

    /// The publication date by report.md's rule, when known.
    pub fn published_date(&self) -> Option<NaiveDate> {
        self.published.map(|p| p.date_naive())
    }

    /// The citation in report.md's exact format:
    /// `{publisher}「{title}({Y/M/D})」、{url}({Y/M/D} 閲覧)`.
    pub fn citation(&self) -> String {
        let mut out = String::new();
        self.write_citation(&mut out, |out, text| out.push_str(text));
        out
    }

    /// The citation with publisher and title passed through `escape` (for Word).
    pub fn citation_with(&self, escape: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        self.write_citation(&mut out, |out, text| out.push_str(&escape(text)));
        out
    }

    /// Appends the citation to `out`, publisher and title written through `escape` (an
    /// export writes tens of thousands of them into one buffer).
    pub fn write_citation(&self, out: &mut String, escape: impl Fn(&mut String, &str)) {
        escape(out, &self.publisher);
        out.push('「');
        escape(out, &self.title);
        out.push('(');
        match self.published_date() {
            Some(d) => write_slash_date(out, d),
            None => out.push_str("日付不明"),
        }
        out.push_str(")」、");
        out.push_str(&self.url);
        out.push('(');
        write_slash_date(out, self.accessed);
        out.push_str(" 閲覧)");
    }
}

/// What kizashi remembers about one source between polls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    /// Validators for conditional requests.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_poll: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    /// `200`, `304`, `500`, `timeout` … of the last poll.
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    /// When the source is due again (wall clock, so that it survives restarts).
    pub next_poll: Option<DateTime<Utc>>,
    pub items_stored: u64,
    /// When a poll last found a new item, and the usual gap between such polls (an average
    /// over `cadence_samples` gaps): a source silent for much longer is reported.
    #[serde(default)]
    pub last_new_item: Option<DateTime<Utc>>,
    #[serde(default)]
    pub typical_gap_secs: Option<u64>,
    #[serde(default)]
    pub cadence_samples: u32,
    #[serde(default)]
    pub silence_reported: bool,
    /// Counters since the store was made, for `/metrics`.
    #[serde(default)]
    pub polls: u64,
    #[serde(default)]
    pub failures: u64,
}

/// What an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AlertSubject {
    /// A new stored item that matched the channel's filters.
    Item { item_id: String },
    /// Something the operator must hear of: a failing, broken or silent source.
    Operator { source: String, message: String },
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Waiting for its next attempt (or, on a digest channel, for the digest).
    Queued,
    Delivered,
    /// Given up: the receiver refused it, or the retry schedule ran out. Can be replayed.
    Dead,
}

/// One alert for one channel, kept in the store from the moment its item is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEntry {
    /// Stable across retries and restarts: the receivers' idempotency key (`webhook-id`).
    pub id: String,
    /// The `name` of the `[[alerts]]` channel.
    pub channel: String,
    pub subject: AlertSubject,
    pub created: DateTime<Utc>,
    pub state: AlertState,
    pub attempts: u32,
    pub next_attempt: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered: Option<DateTime<Utc>>,
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `2025/1/7`: the report's date form, no zero padding.
pub fn slash_date(d: NaiveDate) -> String {
    let mut out = String::with_capacity(10);
    write_slash_date(&mut out, d);
    out
}

/// Appends `2025/1/7`.
pub fn write_slash_date(out: &mut String, d: NaiveDate) {
    write_date_parts(out, d, ["/", "/", ""]);
}

/// Year, month and day as plain numbers, each followed by its separator: an export writes
/// two or three dates for every one of tens of thousands of items, and `write!` costs five
/// times as much.
pub fn write_date_parts(out: &mut String, d: NaiveDate, after: [&str; 3]) {
    let year = d.year();
    match u32::try_from(year) {
        Ok(y) => push_decimal(out, y),
        Err(_) => out.push_str(&year.to_string()),
    }
    out.push_str(after[0]);
    push_decimal(out, d.month());
    out.push_str(after[1]);
    push_decimal(out, d.day());
    out.push_str(after[2]);
}

fn push_decimal(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

/// A Japanese fiscal quarter: FY2024Q4 = 2025-01-01 .. 2025-03-31.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    pub fiscal_year: i32,
    pub number: u8,
}

impl Quarter {
    /// First day of the quarter.
    pub fn first_day(self) -> NaiveDate {
        let (year, month) = match self.number {
            1 => (self.fiscal_year, 4),
            2 => (self.fiscal_year, 7),
            3 => (self.fiscal_year, 10),
            _ => (self.fiscal_year + 1, 1),
        };
        NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// Last day of the quarter.
    pub fn last_day(self) -> NaiveDate {
        let next = Quarter {
            fiscal_year: if self.number == 4 {
                self.fiscal_year + 1
            } else {
                self.fiscal_year
            },
            number: if self.number == 4 { 1 } else { self.number + 1 },
        };
        next.first_day().pred_opt().unwrap_or(NaiveDate::MAX)
    }

    /// The quarter holding a date.
    pub fn containing(date: NaiveDate) -> Quarter {
        let (fiscal_year, number) = match date.month() {
            4..=6 => (date.year(), 1),
            7..=9 => (date.year(), 2),
            10..=12 => (date.year(), 3),
            _ => (date.year() - 1, 4),
        };
        Quarter {
            fiscal_year,
            number,
        }
    }

    /// `2024年度第4四半期`
    pub fn japanese(self) -> String {
        format!("{}年度第{}四半期", self.fiscal_year, self.number)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FY{}Q{}", self.fiscal_year, self.number)
    }
}

impl FromStr for Quarter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("invalid quarter {s:?}: expected the form FY2024Q4 (fiscal year, quarter 1-4)")
        };
        let upper = s.trim().to_ascii_uppercase();
        let rest = upper.strip_prefix("FY").ok_or_else(bad)?;
        let (year, q) = rest.split_once('Q').ok_or_else(bad)?;
        let fiscal_year: i32 = year.parse().map_err(|_| bad())?;
        let number: u8 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&number) || !(1900..=9998).contains(&fiscal_year) {
            return Err(bad());
        }
        Ok(Quarter {
            fiscal_year,
            number,
        })
    }
}

/// The span of publication dates an export covers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Set when the range is exactly one fiscal quarter.
    pub quarter: Option<Quarter>,
}

impl DateRange {
    pub fn quarter(q: Quarter) -> DateRange {
        DateRange {
            from: q.first_day(),
            to: q.last_day(),
            quarter: Some(q),
        }
    }

    /// A range given by dates; recognised as a quarter when it is exactly one.
    pub fn between(from: NaiveDate, to: NaiveDate) -> DateRange {
        let q = Quarter::containing(from);
        let quarter = (q.first_day() == from && q.last_day() == to).then_some(q);
        DateRange { from, to, quarter }
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_are_written_as_plain_numbers() {
        let mut out = String::new();
        for (y, m, d) in [(2025, 1, 7), (1999, 12, 31), (0, 10, 30), (-44, 3, 15)] {
            out.clear();
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            write_slash_date(&mut out, date);
            assert_eq!(out, format!("{y}/{m}/{d}"));
        }
        out.clear();
        write_date_parts(
            &mut out,
            NaiveDate::from_ymd_opt(2025, 1, 7).unwrap(),
            ["年", "月", "日"],
        );
        assert_eq!(out, "2025年1月7日");
    }

    #[test]
    fn quarters_follow_the_japanese_fiscal_year() {
        let q: Quarter = "FY2024Q4".parse().unwrap();
        assert_eq!(
            (q.first_day(), q.last_day()),
            (d(2025, 1, 1), d(2025, 3, 31))
        );
        let q1: Quarter = "fy2024q1".parse().unwrap();
        assert_eq!(
            (q1.first_day(), q1.last_day()),
            (d(2024, 4, 1), d(2024, 6, 30))
        );
        assert_eq!(Quarter::containing(d(2025, 3, 31)).to_string(), "FY2024Q4");
        assert_eq!(Quarter::containing(d(2025, 4, 1)).to_string(), "FY2025Q1");
        assert_eq!(Quarter::containing(d(2024, 12, 31)).to_string(), "FY2024Q3");
        assert!("FY2024Q5".parse::<Quarter>().is_err());
        assert!("2024Q1".parse::<Quarter>().is_err());
        assert_eq!(q.japanese(), "2024年度第4四半期");
    }

    #[test]
    fn citation_has_the_exact_format() {
        let item = Item {
            id: "x".into(),
            source: "wh".into(),
            publisher: "The White House".into(),
            country: "US".into(),
            lang: "en".into(),
            identity: "x".into(),
            title: "White House Launches \"U.S. Cyber Trust Mark\"".into(),
            url: "https://example.org/a".into(),
            published: Some(DateTime::parse_from_rfc3339("2025-01-07T10:30:00-05:00").unwrap()),
            accessed: d(2025, 5, 14),
            first_seen: Utc::now(),
            last_changed: Utc::now(),
            summary: String::new(),
            classification: Classification::default(),
            decision: None,
            links: Vec::new(),
        };
        assert_eq!(
            item.citation(),
            "The White House「White House Launches \"U.S. Cyber Trust Mark\"(2025/1/7)」、https://example.org/a(2025/5/14 閲覧)"
        );
    }

    #[test]
    fn vocabularies_round_trip() {
        assert_eq!("medical".parse::<Sector>().unwrap(), Sector::Medical);
        assert_eq!(Sector::ALL.len(), 15);
        assert_eq!(
            serde_json::to_string(&Section::AbroadCritical).unwrap(),
            "\"2.1\""
        );
        assert_eq!(EventType::MalwareInfection.slug(), "malware_infection");
    }
}
