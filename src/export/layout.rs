//! The report draft's shape, shared by the Markdown and Word exports: the title, the note
//! under it, and the walk over sections, section 1's countries and items that numbers every
//! heading. Each format only decides how a block looks.

use super::{Request, country_name_ja, country_order};
use crate::model::{Item, Section, jst, slash_date, write_date_parts};

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
    let mut out = String::new();
    write_item_title(&mut out, item, |out, text| out.push_str(&escape(text)));
    out
}

/// Appends the item's title through `escape`, or `（無題）` when it has none.
pub fn write_item_title(out: &mut String, item: &Item, escape: impl Fn(&mut String, &str)) {
    if item.title.trim().is_empty() {
        out.push_str("（無題）");
    } else {
        escape(out, &item.title);
    }
}

/// Appends `2025 年 1 月 7 日`.
pub fn write_japanese_date(out: &mut String, item: &Item) {
    match item.published_date() {
        Some(d) => write_date_parts(out, d, [" 年 ", " 月 ", " 日"]),
        None => out.push_str("日付不明"),
    }
}

/// The lead line, up to its footnote: `2025 年 1 月 7 日、{publisher}が「{title}」を公表`.
pub fn lead_line(item: &Item, escape: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    write_lead_line(&mut out, item, |out, text| out.push_str(&escape(text)));
    out
}

/// Appends the lead line, with publisher and title through `escape`.
pub fn write_lead_line(out: &mut String, item: &Item, escape: impl Fn(&mut String, &str)) {
    write_japanese_date(out, item);
    out.push('、');
    escape(out, &item.publisher);
    out.push_str("が「");
    write_item_title(out, item, &escape);
    out.push_str("」を公表");
}

/// The draft's blocks for items already selected and ordered by `select`: section 1 split by
/// country in the report's order, sections 2 and 3 with their subsections, then (with `all`)
/// the items without a section.
pub fn layout<'a>(items: &'a [Item], request: &Request) -> Vec<Block<'a>> {
    let in_section = |s: Section| {
        items
            .iter()
            .filter(move |i| i.candidate() && i.section() == Some(s))
    };
    let policy_country = |i: &'a Item| -> &'a str { i.policy_country().unwrap_or(&i.country) };

    let mut countries: Vec<&str> = in_section(Section::ForeignPolicy)
        .map(policy_country)
        .collect();
    countries.sort_by_key(|c| country_order(c));
    countries.dedup();
    const LATER: [Section; 4] = [
        Section::AbroadCritical,
        Section::AbroadOther,
        Section::DomesticCritical,
        Section::DomesticOther,
    ];
    // Section 1's countries, then the later sections: all grouped into stories at once.
    let lists: Vec<Vec<&Item>> = countries
        .iter()
        .map(|country| {
            in_section(Section::ForeignPolicy)
                .filter(|i| policy_country(i) == *country)
                .collect()
        })
        .chain(LATER.iter().map(|&s| in_section(s).collect()))
        .collect();
    let mut grouped = super::story::group_each(&lists).into_iter();
    let mut stories_as_blocks = |prefix: &str, blocks: &mut Vec<Block<'a>>| {
        let stories = grouped.next().unwrap_or_default();
        if stories.is_empty() {
            blocks.push(Block::Empty);
        }
        for (ii, mut story) in stories.into_iter().enumerate() {
            let item = story.remove(0);
            blocks.push(Block::Item {
                number: format!("{prefix}{}", ii + 1),
                item,
                related: story,
            });
        }
    };

    let mut blocks = Vec::new();
    blocks.push(Block::Heading {
        level: 2,
        text: format!("1. {}", Section::ForeignPolicy.heading()),
    });
    if countries.is_empty() {
        blocks.push(Block::Empty);
    }
    for (ci, country) in countries.iter().enumerate() {
        blocks.push(Block::Heading {
            level: 3,
            text: format!("1.{}. {}", ci + 1, country_name_ja(country)),
        });
        stories_as_blocks(&format!("1.{}.", ci + 1), &mut blocks);
    }

    for (major, heading, subs) in [
        (
            "2",
            "国外におけるサイバーセキュリティをめぐる情勢",
            &LATER[..2],
        ),
        (
            "3",
            "国内におけるサイバーセキュリティをめぐる情勢",
            &LATER[2..],
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
            stories_as_blocks(&format!("{}.", section.code()), &mut blocks);
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
