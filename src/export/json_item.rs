//! One exported item written as serde_json's pretty printer writes [`super::json::ItemOut`],
//! byte for byte, without going through serde.
//!
//! A quarter's JSON export is 41 MB, most of it strings. serde_json checks each string byte
//! against a table; here eight bytes are checked at once and only a group that holds a quote,
//! a backslash or a control character is looked at byte by byte. The test in `json` compares
//! the output with serde_json's.

use std::io::Write as _;

use chrono::{Datelike, NaiveDate, SecondsFormat};

use crate::model::{Decision, Item, Verdict};

/// A field name as written before its value (`"name": `); the item's own names need no
/// escaping.
macro_rules! key {
    ($name:literal) => {
        concat!("\"", $name, "\": ").as_bytes()
    };
}

/// Writes `item` as an object inside the document's `items` list (its fields three indents
/// deep).
pub fn write_item(out: &mut Vec<u8>, item: &Item, story: Option<&str>, scratch: &mut String) {
    let c = &item.classification;
    let mut w = Pretty { out, level: LEVEL };
    let mut o = w.object();
    for (key, value) in [
        (key!("id"), &item.id),
        (key!("source"), &item.source),
        (key!("publisher"), &item.publisher),
        (key!("country"), &item.country),
        (key!("lang"), &item.lang),
        (key!("title"), &item.title),
        (key!("url"), &item.url),
    ] {
        o.key(key);
        o.w.str(value);
    }
    o.key(key!("published"));
    o.w.opt_str(item.published.map(|p| p.to_rfc3339()).as_deref());
    o.key(key!("accessed"));
    o.w.out.push(b'"');
    iso_date(o.w.out, item.accessed);
    o.w.out.push(b'"');
    o.key(key!("summary"));
    o.w.str(&item.summary);
    o.key(key!("section"));
    o.w.opt_str(
        item.section()
            .filter(|_| !item.excluded())
            .map(|s| s.code()),
    );
    o.key(key!("classified_section"));
    o.w.opt_str(c.section.map(|s| s.code()));
    o.key(key!("policy_country"));
    o.w.opt_str(item.policy_country());
    o.key(key!("sectors"));
    o.w.str_array(c.sectors.iter().map(|s| s.slug()));
    o.key(key!("attack_types"));
    o.w.str_array(c.attack_types.iter().map(|s| s.slug()));
    o.key(key!("event_types"));
    o.w.str_array(c.event_types.iter().map(|s| s.slug()));
    o.key(key!("citation"));
    scratch.clear();
    item.write_citation(scratch, |out, text| out.push_str(text));
    o.w.str(scratch);
    o.key(key!("reasons"));
    let mut list = o.w.array();
    for reason in c.reasons.iter() {
        list.next();
        let mut r = list.w.object();
        r.key(key!("tag"));
        r.w.str(reason.tag);
        r.key(key!("rule"));
        r.w.str(reason.rule);
        r.key(key!("matched"));
        r.w.str_array(reason.matched());
        r.end();
    }
    list.end();
    o.key(key!("decision"));
    match &item.decision {
        Some(d) => write_decision(o.w, d),
        None => o.w.null(),
    }
    o.key(key!("story"));
    o.w.opt_str(story);
    o.key(key!("links"));
    o.w.str_array(item.links.iter().map(String::as_str));
    o.end();
}

/// `YYYY-MM-DD`, as chrono's `Display` writes a date, without its formatter.
fn iso_date(out: &mut Vec<u8>, d: NaiveDate) {
    let digits = |out: &mut Vec<u8>, n: u32, width: u32| {
        for place in (0..width).rev() {
            out.push(b'0' + (n / 10u32.pow(place) % 10) as u8);
        }
    };
    match u32::try_from(d.year()) {
        Ok(year) if year <= 9999 => {
            digits(out, year, 4);
            out.push(b'-');
            digits(out, d.month(), 2);
            out.push(b'-');
            digits(out, d.day(), 2);
        }
        // Years chrono writes with a sign or more digits.
        _ => {
            let _ = write!(out, "{d}");
        }
    }
}

/// Items sit two indents deep in the document (`{"items": [ … ]}`).
const LEVEL: usize = 2;

/// A new line and the indentation of the deepest level an item reaches (a reason's matched
/// words, seven levels), written as one slice instead of two spaces at a time.
const INDENT: &[u8; 17] = b"\n                ";

fn write_decision(w: &mut Pretty<'_>, d: &Decision) {
    let mut o = w.object();
    o.key(key!("verdict"));
    o.w.opt_str(d.verdict.map(Verdict::name));
    o.key(key!("section"));
    o.w.opt_str(d.section.map(|s| s.code()));
    o.key(key!("country"));
    o.w.opt_str(d.country.as_deref());
    o.key(key!("note"));
    o.w.opt_str(d.note.as_deref());
    o.key(key!("decided_at"));
    // chrono serialises a DateTime as RFC 3339 with as many fraction digits as it needs.
    let decided = d
        .decided_at
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    o.w.opt_str(decided.as_deref());
    o.end();
}

struct Pretty<'o> {
    out: &'o mut Vec<u8>,
    level: usize,
}

impl<'o> Pretty<'o> {
    fn newline_and_indent(&mut self) {
        match INDENT.get(..1 + 2 * self.level) {
            Some(indent) => self.out.extend_from_slice(indent),
            None => {
                self.out.push(b'\n');
                for _ in 0..self.level {
                    self.out.extend_from_slice(b"  ");
                }
            }
        }
    }

    fn null(&mut self) {
        self.out.extend_from_slice(b"null");
    }

    fn opt_str(&mut self, value: Option<&str>) {
        match value {
            Some(v) => self.str(v),
            None => self.null(),
        }
    }

    /// An empty list comes out as `[]`: [`Nested::end`] adds no new line when nothing was written.
    fn str_array<'s>(&mut self, values: impl Iterator<Item = &'s str>) {
        let mut list = self.array();
        for v in values {
            list.next();
            list.w.str(v);
        }
        list.end();
    }

    fn object(&mut self) -> Nested<'_, 'o> {
        self.open(b'{', b"}")
    }

    fn array(&mut self) -> Nested<'_, 'o> {
        self.open(b'[', b"]")
    }

    fn open(&mut self, bracket: u8, close: &'static [u8]) -> Nested<'_, 'o> {
        self.out.push(bracket);
        self.level += 1;
        Nested {
            w: self,
            first: true,
            close,
        }
    }

    /// A JSON string, escaped as serde_json escapes: `"` `\` and control characters only.
    fn str(&mut self, s: &str) {
        let bytes = s.as_bytes();
        self.out.reserve(bytes.len() + 2);
        self.out.push(b'"');
        match first_to_escape(bytes) {
            None => self.out.extend_from_slice(bytes),
            Some(from) => {
                self.out.extend_from_slice(&bytes[..from]);
                let mut clean_from = from;
                for (at, &b) in bytes.iter().enumerate().skip(from) {
                    if let Some(escaped) = escape(b) {
                        self.out.extend_from_slice(&bytes[clean_from..at]);
                        escaped.write(self.out);
                        clean_from = at + 1;
                    }
                }
                self.out.extend_from_slice(&bytes[clean_from..]);
            }
        }
        self.out.push(b'"');
    }
}

/// Where the first group of eight bytes that holds a byte to escape starts (or that byte, in
/// the last few), if any: most strings have none and are copied whole.
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    let groups = bytes.chunks_exact(8);
    let tail = groups.remainder();
    for (n, g) in groups.enumerate() {
        if needs_escape(u64::from_le_bytes([
            g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7],
        ])) {
            return Some(n * 8);
        }
    }
    let tail_start = bytes.len() - tail.len();
    tail.iter()
        .position(|&b| escape(b).is_some())
        .map(|at| tail_start + at)
}

/// An array or object being written: a comma and a new line before each entry, and its closing
/// bracket on a line of its own (serde_json writes `[]` and `{}` when empty).
struct Nested<'w, 'o> {
    w: &'w mut Pretty<'o>,
    first: bool,
    close: &'static [u8],
}

impl Nested<'_, '_> {
    fn next(&mut self) {
        if !self.first {
            self.w.out.push(b',');
        }
        self.first = false;
        self.w.newline_and_indent();
    }

    /// A field name, as [`key!`] writes it.
    fn key(&mut self, quoted: &'static [u8]) {
        self.next();
        self.w.out.extend_from_slice(quoted);
    }

    fn end(self) {
        self.w.level -= 1;
        if !self.first {
            self.w.newline_and_indent();
        }
        self.w.out.extend_from_slice(self.close);
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of eight bytes is below 0x20, a `"` or a `\` (the classic "has a zero byte"
/// and "has a byte less than" word tricks).
fn needs_escape(word: u64) -> bool {
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = has_zero(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
    (below_space | quote | backslash) & HIGHS != 0
}

enum Escaped {
    Short(&'static [u8]),
    Unicode(u8),
}

impl Escaped {
    fn write(self, out: &mut Vec<u8>) {
        match self {
            Escaped::Short(s) => out.extend_from_slice(s),
            Escaped::Unicode(b) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
}

fn escape(b: u8) -> Option<Escaped> {
    Some(match b {
        b'"' => Escaped::Short(b"\\\""),
        b'\\' => Escaped::Short(b"\\\\"),
        0x08 => Escaped::Short(b"\\b"),
        0x0c => Escaped::Short(b"\\f"),
        b'\n' => Escaped::Short(b"\\n"),
        b'\r' => Escaped::Short(b"\\r"),
        b'\t' => Escaped::Short(b"\\t"),
        0..=0x1f => Escaped::Unicode(b),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_as_serde_json_escapes_them() {
        let mut every_byte_char = String::new();
        for b in 0u8..=0x7f {
            every_byte_char.push(char::from(b));
        }
        for s in [
            "",
            "plain ascii, longer than eight bytes",
            "病院でランサムウェア被害 \"第2報\"",
            "\\\\ back\\slashes \u{1} \u{1f} \t\r\n\u{8}\u{c} é \u{7f}",
            "1234567\"",
            "\"1234567",
            &every_byte_char,
        ] {
            let mut out = Vec::new();
            Pretty {
                out: &mut out,
                level: 0,
            }
            .str(s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn the_word_test_finds_every_byte_that_needs_escaping() {
        let by_bytes = |word: [u8; 8]| word.iter().any(|&b| escape(b).is_some());
        for filler in [b'a', 0xe3, 0x80, 0xff, b'!', b']'] {
            for b in 0u8..=255 {
                for position in 0..8 {
                    let mut word = [filler; 8];
                    word[position] = b;
                    assert_eq!(
                        needs_escape(u64::from_le_bytes(word)),
                        by_bytes(word),
                        "byte {b:#x} at {position} among {filler:#x}"
                    );
                }
            }
        }
        // Random words (xorshift), most of them with several bytes that need escaping.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            assert_eq!(needs_escape(x), by_bytes(x.to_le_bytes()), "{x:#x}");
        }
    }

    #[test]
    fn dates_are_written_as_chrono_displays_them() {
        for (y, m, d) in [
            (2025, 1, 9),
            (1, 12, 31),
            (999, 7, 4),
            (9999, 12, 31),
            (10000, 1, 1),
            (-44, 3, 15),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let mut out = Vec::new();
            iso_date(&mut out, date);
            assert_eq!(String::from_utf8(out).unwrap(), date.to_string());
        }
    }
}
