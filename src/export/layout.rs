//! The report draft's shape, shared by the Markdown and Word exports: the title, the note
//! under it, and the walk over sections, section 1's countries and items that numbers every
//! heading. Each format only decides how a block looks.

use chrono::Datelike;

use super::{Request, country_name_ja, country_order};
use crate::model::{Item, Section, jst, slash_date};

/// One piece of the draft, in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block<'a> {
    /// A section heading with its number: level 2 is `1. 国外サイバーセキュリティ政策`, level 3
    /// is `1.1. 米国` or `2.1. 重要インフラ関連`.
    Heading { level: u8, text: String },
    /// `（候補なし）`: a section without candidates.
    Empty,
    /// One report item under its heading number (`1.1.1`, `2.2.3`, `参考.1`): the story's
    /// first report, and its later reports (第2報, other sites' reports), each cited.
    Item {
        number: String,
        item: &'a Item,
        related: Vec<&'a Item>,
    },
}

/// What a section without candidates says.
pub const EMPTY: &str = "（候補なし）";

/// `サイバーセキュリティを取り巻く情勢（2024年度第4四半期）`
pub fn title(request: &Request) -> String {
    let range = request.range;
    let period = match range.quarter {
        Some(q) => q.japanese(),
        None => format!("{}〜{}", slash_date(range.from), slash_date(range.to)),
    };
    format!("サイバーセキュリティを取り巻く情勢（{period}）")
}

/// The note under the title: these are candidates, for an analyst to check.
pub fn note(items: &[Item], request: &Request) -> String {
    let range = request.range;
    let generated = request.generated_at.with_timezone(&jst());
    let candidates = items.iter().filter(|i| i.candidate()).count();
    format!(
        "kizashi が収集した候補の下書きです。対象期間 {}〜{}、候補 {candidates} 件、作成 {} JST。掲載の可否、見出しと本文は分析者が確認してください。",
        slash_date(range.from),
        slash_date(range.to),
        generated.format("%Y/%-m/%-d %H:%M"),
    )
}

/// The item's title through `escape`, or `（無題）` when it has none.
pub fn item_title(item: &Item, escape: impl Fn(&str) -> String) -> String {
    if item.title.trim().is_empty() {
        "（無題）".to_string()
    } else {
        escape(&item.title)
    }
}

/// `2025 年 1 月 7 日`
pub fn japanese_date(item: &Item) -> String {
    match item.published_date() {
        Some(d) => format!("{} 年 {} 月 {} 日", d.year(), d.month(), d.day()),
        None => "日付不明".to_string(),
    }
}

/// The lead line, up to its footnote: `2025 年 1 月 7 日、{publisher}が「{title}」を公表`.
pub fn lead_line(item: &Item, escape: impl Fn(&str) -> String) -> String {
    format!(
        "{}、{}が「{}」を公表",
        japanese_date(item),
        escape(&item.publisher),
        item_title(item, &escape)
    )
}

/// The draft's blocks for items already selected and ordered by `select`: section 1 split by
/// country in the report's order, sections 2 and 3 with their subsections, then (with `all`)
/// the items without a section.
pub fn layout<'a>(items: &'a [Item], request: &Request) -> Vec<Block<'a>> {
    let mut blocks = Vec::new();
    let in_section = |s: Section| {
        items
            .iter()
            .filter(move |i| i.candidate() && i.section() == Some(s))
    };
    let policy_country = |i: &'a Item| -> &'a str { i.policy_country().unwrap_or(&i.country) };

    blocks.push(Block::Heading {
        level: 2,
        text: format!("1. {}", Section::ForeignPolicy.heading()),
    });
    let mut countries: Vec<&str> = in_section(Section::ForeignPolicy)
        .map(policy_country)
        .collect();
    countries.sort_by_key(|c| country_order(c));
    countries.dedup();
    if countries.is_empty() {
        blocks.push(Block::Empty);
    }
    for (ci, country) in countries.iter().enumerate() {
        blocks.push(Block::Heading {
            level: 3,
            text: format!("1.{}. {}", ci + 1, country_name_ja(country)),
        });
        let of_country: Vec<&Item> = in_section(Section::ForeignPolicy)
            .filter(|i| policy_country(i) == *country)
            .collect();
        for (ii, mut story) in super::story::group(&of_country).into_iter().enumerate() {
            let item = story.remove(0);
            blocks.push(Block::Item {
                number: format!("1.{}.{}", ci + 1, ii + 1),
                item,
                related: story,
            });
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
        blocks.push(Block::Heading {
            level: 2,
            text: format!("{major}. {heading}"),
        });
        for section in subs {
            blocks.push(Block::Heading {
                level: 3,
                text: format!("{}. {}", section.code(), section.heading()),
            });
            let list: Vec<&Item> = in_section(section).collect();
            if list.is_empty() {
                blocks.push(Block::Empty);
            }
            for (ii, mut story) in super::story::group(&list).into_iter().enumerate() {
                let item = story.remove(0);
                blocks.push(Block::Item {
                    number: format!("{}.{}", section.code(), ii + 1),
                    item,
                    related: story,
                });
            }
        }
    }

    let unplaced: Vec<&Item> = items.iter().filter(|i| !i.candidate()).collect();
    if request.all && !unplaced.is_empty() {
        blocks.push(Block::Heading {
            level: 2,
            text: "参考: 区分外の項目".to_string(),
        });
        for (ii, item) in unplaced.into_iter().enumerate() {
            blocks.push(Block::Item {
                number: format!("参考.{}", ii + 1),
                item,
                related: Vec::new(),
            });
        }
    }
    blocks
}
