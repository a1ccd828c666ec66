//! Publication dates printed in page text: the dates listing pages show next to each entry.
//!
//! Owns: Japanese calendar forms (2025年1月31日, Japanese eras 令和/平成/昭和 and their
//! R/H/S abbreviations), numeric forms (2025/1/31, 2025-01-31), English, French and Spanish
//! month names, and full-width (全角) digits and punctuation. Pure: no I/O, no clock.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::{Captures, Regex};

/// A date found in text, and where: the byte range of the match in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundDate {
    pub date: NaiveDate,
    pub start: usize,
    pub end: usize,
}

/// The first date in `text` (leftmost match), in any supported form; None when there is none.
pub fn find_date(text: &str) -> Option<FoundDate> {
    let norm = normalise(text);
    let (start, end, date) = FORMS
        .iter()
        .filter_map(|(re, read)| first_valid(&norm.text, re, *read))
        // Leftmost wins; at the same start the longer reading is the more complete one.
        .min_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)))?;
    Some(FoundDate {
        date,
        start: norm.origin[start],
        end: norm.origin[end],
    })
}

/// Like find_date but the whole trimmed text must be one date (for a dedicated date element);
/// None otherwise.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let found = find_date(text)?;
    let rest = normalise(&text[found.end..]).text;
    // A weekday after the date, 2025年1月31日（金） or (Fri), is part of how it is printed.
    (found.start == 0 && (rest.is_empty() || WEEKDAY.is_match(&rest))).then_some(found.date)
}

/// Every month name read, lower case, with its number.
#[rustfmt::skip]
const MONTHS: &[(&str, u32)] = &[
    ("january", 1), ("jan", 1), ("janvier", 1), ("enero", 1),
    ("february", 2), ("feb", 2), ("février", 2), ("fevrier", 2), ("febrero", 2),
    ("march", 3), ("mar", 3), ("mars", 3), ("marzo", 3),
    ("april", 4), ("apr", 4), ("avril", 4), ("abril", 4),
    ("may", 5), ("mai", 5), ("mayo", 5),
    ("june", 6), ("jun", 6), ("juin", 6), ("junio", 6),
    ("july", 7), ("jul", 7), ("juillet", 7), ("julio", 7),
    ("august", 8), ("aug", 8), ("août", 8), ("aout", 8), ("agosto", 8),
    ("september", 9), ("sept", 9), ("sep", 9), ("septembre", 9), ("septiembre", 9),
    ("setiembre", 9),
    ("october", 10), ("oct", 10), ("octobre", 10), ("octubre", 10),
    ("november", 11), ("nov", 11), ("novembre", 11), ("noviembre", 11),
    ("december", 12), ("dec", 12), ("décembre", 12), ("decembre", 12), ("diciembre", 12),
];

/// A Japanese era. A date outside its span is a misprint, not a date to guess at.
struct Era {
    name: &'static str,
    letter: &'static str,
    /// The Gregorian year before its year 1.
    year_zero: i32,
    first: (i32, u32, u32),
    last: (i32, u32, u32),
}

#[rustfmt::skip]
const ERAS: [Era; 3] = [
    Era { name: "令和", letter: "R", year_zero: 2018, first: (2019, 5, 1), last: (i32::MAX, 12, 31) },
    Era { name: "平成", letter: "H", year_zero: 1988, first: (1989, 1, 8), last: (2019, 4, 30) },
    Era { name: "昭和", letter: "S", year_zero: 1925, first: (1926, 12, 25), last: (1989, 1, 7) },
];

type Reader = fn(&Captures) -> Option<NaiveDate>;

static FORMS: LazyLock<[(Regex, Reader); 6]> = LazyLock::new(|| {
    let mut names: Vec<&str> = MONTHS.iter().map(|(name, _)| *name).collect();
    // Longest first, so that "september" is not read as "sep" followed by junk.
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    let month = format!(r"(?-u:\b)({})(?-u:\b)\.?", names.join("|"));
    let re = |pattern: &str| Regex::new(pattern).expect("valid regex");
    [
        (
            re(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
            |c| ymd(num(c, 1)?, num(c, 2)?, num(c, 3)?),
        ),
        (
            re(r"(令和|平成|昭和)\s*(\d{1,2}|元)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
            |c| era_date(c, [1, 2, 3, 4]),
        ),
        (re(r"([RHS])(\d{1,2})([./])(\d{1,2})([./])(\d{1,2})"), |c| {
            same(c, 3, 5)?;
            era_date(c, [1, 2, 4, 6])
        }),
        (re(r"(\d{4})([/.-])(\d{1,2})([/.-])(\d{1,2})"), |c| {
            same(c, 2, 4)?;
            ymd(num(c, 1)?, num(c, 3)?, num(c, 5)?)
        }),
        (
            re(&format!(
                r"(?i){month}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})"
            )),
            |c| ymd(num(c, 3)?, month_number(c.get(1)?.as_str())?, num(c, 2)?),
        ),
        (
            re(&format!(
                r"(?i)(\d{{1,2}})(?:er|st|nd|rd|th)?\s+(?:de\s+)?{month}\s+(?:de\s+)?(\d{{4}})"
            )),
            |c| ymd(num(c, 3)?, month_number(c.get(2)?.as_str())?, num(c, 1)?),
        ),
    ]
});

static WEEKDAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\(\s*(?:[月火水木金土日祝](?:曜日?)?|[a-z]{2,9}\.?)\s*\)$")
        .expect("valid regex")
});

/// The first match of `re` that is a real date and not part of a longer number or word.
fn first_valid(hay: &str, re: &Regex, read: Reader) -> Option<(usize, usize, NaiveDate)> {
    let mut from = 0;
    while let Some(c) = re.captures_at(hay, from) {
        let m = c.get(0)?;
        if standalone(hay, m.start(), m.end()) {
            if let Some(date) = read(&c) {
                return Some((m.start(), m.end(), date));
            }
        }
        // Retry one character on: a rejected match may hide a real date that overlaps it.
        from = m.start() + hay[m.start()..].chars().next()?.len_utf8();
    }
    None
}

/// False when the match continues a number or word: "12025/1/31", "2025/1/312", "XR7.1.1".
fn standalone(hay: &str, start: usize, end: usize) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let (first, before) = (
        hay[start..].chars().next(),
        hay[..start].chars().next_back(),
    );
    let (last, after) = (hay[..end].chars().next_back(), hay[end..].chars().next());
    !(alnum(first) && alnum(before) || digit(last) && digit(after))
}

fn num(c: &Captures, i: usize) -> Option<u32> {
    c.get(i)?.as_str().parse().ok()
}

fn ymd(year: u32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// "2025/1.31" is more likely two numbers side by side than a date.
fn same(c: &Captures, a: usize, b: usize) -> Option<()> {
    (c.get(a)?.as_str() == c.get(b)?.as_str()).then_some(())
}

/// The era, its year, the month and the day are read from the capture groups given.
fn era_date(c: &Captures, [era, year, month, day]: [usize; 4]) -> Option<NaiveDate> {
    let name = c.get(era)?.as_str();
    let era = ERAS.iter().find(|e| e.name == name || e.letter == name)?;
    let year: i32 = match c.get(year)?.as_str() {
        "元" => 1,
        digits => digits.parse().ok().filter(|&y| y >= 1)?,
    };
    let (month, day) = (num(c, month)?, num(c, day)?);
    let gregorian = (era.year_zero + year, month, day);
    let date = NaiveDate::from_ymd_opt(gregorian.0, month, day)?;
    (era.first <= gregorian && gregorian <= era.last).then_some(date)
}

fn month_number(name: &str) -> Option<u32> {
    let name = name.to_lowercase();
    MONTHS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

/// Text with full-width forms made ASCII, and where each of its bytes came from.
struct Normalised {
    text: String,
    /// `origin[i]`: the byte offset in the original text of the character holding byte `i`;
    /// one extra entry, the original length, so a match end maps too.
    origin: Vec<usize>,
}

fn normalise(text: &str) -> Normalised {
    let mut out = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len() + 1);
    for (i, c) in text.char_indices() {
        let ascii = match c {
            // Full-width ASCII (０-９, Ａ-Ｚ, ．／－（）…) sits at a fixed distance from ASCII.
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        };
        out.push(ascii);
        origin.extend(std::iter::repeat_n(i, ascii.len_utf8()));
    }
    origin.push(text.len());
    Normalised { text: out, origin }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd_of(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn every_supported_form() {
        let cases = [
            ("2025年1月31日", (2025, 1, 31)),
            ("2025年 1月 31日", (2025, 1, 31)),
            ("令和7年1月31日", (2025, 1, 31)),
            ("令和元年5月1日", (2019, 5, 1)),
            ("R7.1.31", (2025, 1, 31)),
            ("R7/1/31", (2025, 1, 31)),
            ("H31.4.30", (2019, 4, 30)),
            ("平成31年4月30日", (2019, 4, 30)),
            ("平成元年1月8日", (1989, 1, 8)),
            ("昭和64年1月7日", (1989, 1, 7)),
            ("令和６年１２月２５日", (2024, 12, 25)),
            ("２０２５年１月３１日", (2025, 1, 31)),
            ("Ｒ７．１．３１", (2025, 1, 31)),
            ("２０２５／１／３１", (2025, 1, 31)),
            ("2025/1/31", (2025, 1, 31)),
            ("2025/01/31", (2025, 1, 31)),
            ("2025.1.31", (2025, 1, 31)),
            ("2025-01-31", (2025, 1, 31)),
            ("2025年1月31日（金）", (2025, 1, 31)),
            ("2025年1月31日(金)", (2025, 1, 31)),
            ("January 31, 2025", (2025, 1, 31)),
            ("Jan. 31, 2025", (2025, 1, 31)),
            ("Jan 31, 2025", (2025, 1, 31)),
            ("Sept. 5, 2025", (2025, 9, 5)),
            ("SEPTEMBER 5th, 2025", (2025, 9, 5)),
            ("31 January 2025", (2025, 1, 31)),
            ("31 Jan 2025", (2025, 1, 31)),
            ("31 janvier 2025", (2025, 1, 31)),
            ("1er février 2025", (2025, 2, 1)),
            ("1er fevrier 2025", (2025, 2, 1)),
            ("15 août 2025", (2025, 8, 15)),
            ("3 Décembre 2024", (2024, 12, 3)),
            ("31 de enero de 2025", (2025, 1, 31)),
            ("7 de setiembre de 2025", (2025, 9, 7)),
        ];
        for (text, (y, m, d)) in cases {
            assert_eq!(
                find_date(text).map(|f| f.date),
                ymd_of(y, m, d),
                "find_date({text:?})"
            );
            assert_eq!(parse_date(text), ymd_of(y, m, d), "parse_date({text:?})");
        }
    }

    #[test]
    fn not_dates() {
        let cases = [
            "2025年1月",
            "2025年度",
            "2025年度 第3四半期",
            "Jan 31, 25",
            "31/01/25",
            "Mayor 5, 2025",
            "Semay 5, 2025",
            "2025年2月30日",
            "令和7年13月1日",
            "平成32年1月1日",
            "令和元年4月1日",
            "平成元年1月7日",
            "昭和64年1月8日",
            "R7.1/31",
            "2025/1.31",
            "12025/1/31",
            "2025/1/312",
            "XR7.1.31",
            "version 2.1.31",
            "",
        ];
        for text in cases {
            assert_eq!(find_date(text), None, "{text:?}");
        }
    }

    #[test]
    fn byte_offsets_point_into_the_original_text() {
        let cases = [
            ("公開日：令和６年１２月２５日（水）", "令和６年１２月２５日"),
            (
                "更新　２０２５．０１．３１　お知らせ",
                "２０２５．０１．３１",
            ),
            ("Ｒ７．１．３１更新", "Ｒ７．１．３１"),
            ("Posted on Jan. 31, 2025 by CISA", "Jan. 31, 2025"),
            ("Publié le 1er février 2025.", "1er février 2025"),
            ("2025-01-31T10:00:00+09:00", "2025-01-31"),
        ];
        for (text, slice) in cases {
            let found = find_date(text).unwrap_or_else(|| panic!("no date in {text:?}"));
            assert_eq!(&text[found.start..found.end], slice, "{text:?}");
        }
    }

    #[test]
    fn the_leftmost_valid_date_wins() {
        let cases = [
            ("2025年2月30日のち2025年3月1日", (2025, 3, 1)),
            ("令和7年13月1日、令和7年3月2日", (2025, 3, 2)),
            ("updated 2025/3/1, published January 31, 2025", (2025, 3, 1)),
            ("January 31, 2025 (updated 2025/3/1)", (2025, 1, 31)),
            ("2025年度の計画を2025年4月1日に公表", (2025, 4, 1)),
        ];
        for (text, (y, m, d)) in cases {
            assert_eq!(find_date(text).map(|f| f.date), ymd_of(y, m, d), "{text:?}");
        }
    }

    #[test]
    fn parse_date_wants_the_whole_text() {
        let cases = [
            ("  2025/1/31\n", Some((2025, 1, 31))),
            ("2025年1月31日 (Fri)", Some((2025, 1, 31))),
            ("2025/1/31（金曜日）", Some((2025, 1, 31))),
            ("2025/1/31 (更新)", None),
            ("公開 2025/1/31", None),
            ("2025/1/31 更新", None),
            ("2025年1月", None),
        ];
        for (text, want) in cases {
            let want = want.and_then(|(y, m, d)| ymd_of(y, m, d));
            assert_eq!(parse_date(text), want, "{text:?}");
        }
    }
}
