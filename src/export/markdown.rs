//! The Markdown draft in the report's own shape: title, the section headings of report.md,
//! section 1 split by country, one numbered heading per item with a dated lead line and the
//! summary, citations as numbered footnotes.

use std::fmt::Write;

use chrono::Datelike;

use super::{Request, country_name_ja, country_order};
use crate::model::{Item, Section, jst, slash_date};

/// Characters that would turn feed text into markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
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
    out
}

fn title_of(item: &Item) -> String {
    if item.title.trim().is_empty() {
        "（無題）".to_string()
    } else {
        escape(&item.title)
    }
}

/// `2025 年 1 月 7 日`
fn japanese_date(item: &Item) -> String {
    match item.published_date() {
        Some(d) => format!("{} 年 {} 月 {} 日", d.year(), d.month(), d.day()),
        None => "日付不明".to_string(),
    }
}

struct Writer {
    out: String,
    footnotes: Vec<String>,
}

impl Writer {
    fn item(&mut self, number: &str, item: &Item) {
        self.footnotes.push(item.citation_with(escape));
        let n = self.footnotes.len();
        let _ = writeln!(self.out, "#### {number}. {}\n", title_of(item));
        let _ = writeln!(
            self.out,
            "{}、{}が「{}」を公表[^{n}]。\n",
            japanese_date(item),
            escape(&item.publisher),
            title_of(item)
        );
        if !item.summary.is_empty() {
            let _ = writeln!(self.out, "{}\n", escape(&item.summary));
        }
        let c = &item.classification;
        let mut tags = Vec::new();
        if !c.sectors.is_empty() {
            tags.push(format!(
                "分野: {}",
                c.sectors
                    .iter()
                    .map(|s| s.ja())
                    .collect::<Vec<_>>()
                    .join("、")
            ));
        }
        if !c.attack_types.is_empty() {
            tags.push(format!(
                "攻撃: {}",
                c.attack_types
                    .iter()
                    .map(|s| s.ja())
                    .collect::<Vec<_>>()
                    .join("、")
            ));
        }
        if !c.event_types.is_empty() {
            tags.push(format!(
                "事象: {}",
                c.event_types
                    .iter()
                    .map(|s| s.ja())
                    .collect::<Vec<_>>()
                    .join("、")
            ));
        }
        if !tags.is_empty() {
            let _ = writeln!(self.out, "<!-- {} -->\n", tags.join(" / "));
        }
    }
}

pub fn render(items: &[Item], request: &Request) -> String {
    let range = request.range;
    let period = match range.quarter {
        Some(q) => q.japanese(),
        None => format!("{}〜{}", slash_date(range.from), slash_date(range.to)),
    };
    let generated = request.generated_at.with_timezone(&jst());
    let candidates = items
        .iter()
        .filter(|i| i.classification.section.is_some())
        .count();
    let mut w = Writer {
        out: String::new(),
        footnotes: Vec::new(),
    };
    let _ = writeln!(w.out, "# サイバーセキュリティを取り巻く情勢（{period}）\n");
    let _ = writeln!(
        w.out,
        "> kizashi が収集した候補の下書きです。対象期間 {}〜{}、候補 {candidates} 件、作成 {} JST。掲載の可否、見出しと本文は分析者が確認してください。\n",
        slash_date(range.from),
        slash_date(range.to),
        generated.format("%Y/%-m/%-d %H:%M"),
    );

    let in_section = |s: Section| {
        items
            .iter()
            .filter(move |i| i.classification.section == Some(s))
    };

    let _ = writeln!(w.out, "## 1. {}\n", Section::ForeignPolicy.heading());
    let mut countries: Vec<String> = in_section(Section::ForeignPolicy)
        .map(|i| {
            i.classification
                .country
                .clone()
                .unwrap_or_else(|| i.country.clone())
        })
        .collect();
    countries.sort_by_key(|c| country_order(c));
    countries.dedup();
    if countries.is_empty() {
        let _ = writeln!(w.out, "（候補なし）\n");
    }
    for (ci, country) in countries.iter().enumerate() {
        let _ = writeln!(w.out, "### 1.{}. {}\n", ci + 1, country_name_ja(country));
        let of_country = in_section(Section::ForeignPolicy)
            .filter(|i| i.classification.country.as_deref().unwrap_or(&i.country) == country);
        for (ii, item) in of_country.enumerate() {
            w.item(&format!("1.{}.{}", ci + 1, ii + 1), item);
        }
    }

    for (major, heading, subs) in [
        (
            "2",
            "国外におけるサイバーセキュリティをめぐる情勢",
            [Section::AbroadCritical, Section::AbroadOther],
        ),
        (
            "3",
            "国内におけるサイバーセキュリティをめぐる情勢",
            [Section::DomesticCritical, Section::DomesticOther],
        ),
    ] {
        let _ = writeln!(w.out, "## {major}. {heading}\n");
        for section in subs {
            let _ = writeln!(w.out, "### {}. {}\n", section.code(), section.heading());
            let list: Vec<&Item> = in_section(section).collect();
            if list.is_empty() {
                let _ = writeln!(w.out, "（候補なし）\n");
            }
            for (ii, item) in list.into_iter().enumerate() {
                w.item(&format!("{}.{}", section.code(), ii + 1), item);
            }
        }
    }

    let unplaced: Vec<&Item> = items
        .iter()
        .filter(|i| i.classification.section.is_none())
        .collect();
    if request.all && !unplaced.is_empty() {
        let _ = writeln!(w.out, "## 参考: 区分外の項目\n");
        for (ii, item) in unplaced.into_iter().enumerate() {
            w.item(&format!("参考.{}", ii + 1), item);
        }
    }

    if !w.footnotes.is_empty() {
        let _ = writeln!(w.out, "---\n");
        for (i, f) in w.footnotes.iter().enumerate() {
            let _ = writeln!(w.out, "[^{}]: {f}", i + 1);
        }
    }
    w.out
}
