//! Bytes to UTF-8 text, by the order feedparser uses: byte-order mark, HTTP charset, the XML
//! declaration, then a guess. quick-xml cannot read UTF-16 or ISO-2022-JP and feed-rs ignores
//! HTTP headers, so every document is transcoded here (and feed.rs drops the declarations).

use std::borrow::Cow;

use encoding_rs::{EUC_JP, Encoding, SHIFT_JIS, UTF_8, WINDOWS_1252};

/// Text in UTF-8 and the encoding it was read from.
#[derive(Debug)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
}

/// Decodes a document; never fails: undecodable bytes become U+FFFD.
pub fn decode(bytes: &[u8], http_charset: Option<&str>, lang: &str) -> Decoded {
    let (text, encoding) = decode_borrowed(bytes, http_charset, lang);
    Decoded {
        text: text.into_owned(),
        encoding,
    }
}

/// [`decode`] without copying a document that is already clean UTF-8.
pub fn decode_borrowed<'a>(
    bytes: &'a [u8],
    http_charset: Option<&str>,
    lang: &str,
) -> (Cow<'a, str>, &'static Encoding) {
    let encoding = choose(bytes, http_charset, lang);
    let (text, _had_errors) = encoding.decode_with_bom_removal(bytes);
    (without_illegal_xml_chars(text), encoding)
}

fn choose(bytes: &[u8], http_charset: Option<&str>, lang: &str) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        return enc;
    }
    let declared = http_charset
        .and_then(|c| Encoding::for_label(c.trim().trim_matches('"').as_bytes()))
        .or_else(|| declared_in_prolog(bytes).or_else(|| declared_in_meta(bytes)));
    if let Some(enc) = declared {
        // Servers and prologs that say UTF-8 over legacy bytes (or the reverse) are common:
        // valid UTF-8 is taken as UTF-8, as miniflux does.
        if enc != UTF_8 && enc.is_ascii_compatible() && is_utf8_beyond_ascii(bytes) {
            return UTF_8;
        }
        // UTF-16 without a BOM declared in an ASCII prolog cannot be: the prolog itself
        // would be UTF-16. Trust the bytes.
        if (enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE)
            && bytes.first() == Some(&b'<')
        {
            return UTF_8;
        }
        return enc;
    }
    // ISO-2022-JP is 7-bit, so it passes for UTF-8: its escape sequences give it away.
    if looks_like_iso_2022_jp(bytes) {
        return encoding_rs::ISO_2022_JP;
    }
    if std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    let candidates: &[&'static Encoding] = if lang.starts_with("ja") {
        &[SHIFT_JIS, EUC_JP]
    } else {
        &[WINDOWS_1252]
    };
    candidates
        .iter()
        .filter_map(|enc| {
            let text = enc.decode_without_bom_handling_and_without_replacement(bytes)?;
            Some((japanese_score(&text), *enc))
        })
        .max_by_key(|(score, _)| *score)
        .map(|(_, enc)| enc)
        .unwrap_or(UTF_8)
}

/// How much decoded text looks like Japanese: kana and kanji count for, half-width katakana
/// (what EUC-JP bytes become when read as Shift_JIS) counts against.
fn japanese_score(text: &str) -> i64 {
    text.chars()
        .map(|c| match c {
            '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}' | '\u{3000}'..='\u{303f}' => 2,
            '\u{ff61}'..='\u{ff9f}' => -3,
            _ => 0,
        })
        .sum()
}

fn looks_like_iso_2022_jp(bytes: &[u8]) -> bool {
    bytes.is_ascii() && (find(bytes, b"\x1b$B").is_some() || find(bytes, b"\x1b$@").is_some())
}

fn is_utf8_beyond_ascii(bytes: &[u8]) -> bool {
    !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok()
}

/// The `encoding` pseudo-attribute of an XML declaration.
fn declared_in_prolog(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(512)];
    // The declaration is ASCII in every ASCII-compatible encoding.
    let ascii_end = head
        .iter()
        .position(|b| !b.is_ascii())
        .unwrap_or(head.len());
    let head = std::str::from_utf8(&head[..ascii_end]).ok()?.trim_start();
    if !head.starts_with("<?xml") {
        return None;
    }
    let decl = &head[..head.find("?>")?];
    let after = &decl[decl.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next()?;
    let rest = &after[1..];
    let label = &rest[..rest.find(quote)?];
    Encoding::for_label(label.as_bytes())
}

/// `<meta charset>` or `http-equiv` in the first 2 KiB of an HTML page.
fn declared_in_meta(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(2048)];
    let lower: Vec<u8> = head.iter().map(|b| b.to_ascii_lowercase()).collect();
    let at = find(&lower, b"charset=")?;
    let rest = &head[at + b"charset=".len()..];
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| matches!(b, b'"' | b'\'' | b';' | b' ' | b'>' | b'/'))
        .unwrap_or(rest.len());
    Encoding::for_label(&rest[..end])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Byte-wise test for [`without_illegal_xml_chars`]: the C0 controls are single bytes and
/// U+FFFE and U+FFFF both start with 0xEF, so whole blocks are ruled out without decoding.
fn has_illegal_xml_chars(bytes: &[u8]) -> bool {
    let suspect = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF;
    bytes.chunks(64).enumerate().any(|(n, block)| {
        // `fold` without early exit lets the compiler test the block's bytes side by side.
        block.iter().fold(false, |found, &b| found | suspect(b))
            && block.iter().enumerate().any(|(i, &b)| {
                let at = n * 64 + i;
                (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
                    || (b == 0xEF
                        && bytes.get(at + 1) == Some(&0xBF)
                        && matches!(bytes.get(at + 2), Some(0xBE | 0xBF)))
            })
    })
}

/// XML 1.0 forbids C0 controls other than tab, LF and CR; feeds carry them anyway.
fn without_illegal_xml_chars(text: Cow<'_, str>) -> Cow<'_, str> {
    let illegal = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
    };
    if has_illegal_xml_chars(text.as_bytes()) {
        Cow::Owned(text.chars().filter(|&c| !illegal(c)).collect())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_jis_declared_in_prolog_is_transcoded() {
        let body = "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><rss><title>総務省</title></rss>";
        let (bytes, _, _) = SHIFT_JIS.encode(body);
        let d = decode(&bytes, None, "ja");
        assert_eq!(d.encoding, SHIFT_JIS);
        assert!(d.text.contains("総務省"));
    }

    #[test]
    fn http_charset_wins_over_nothing_and_utf8_bytes_win_over_a_wrong_label() {
        let (euc, _, _) = EUC_JP.encode("<rss>警察庁</rss>");
        assert!(decode(&euc, Some("EUC-JP"), "en").text.contains("警察庁"));
        let utf8 = "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><p>日本</p>".as_bytes();
        assert!(decode(utf8, None, "ja").text.contains("日本"));
    }

    #[test]
    fn undeclared_japanese_bytes_are_guessed_by_language() {
        let (sjis, _, _) = SHIFT_JIS.encode("<rss>不正アクセス</rss>");
        assert!(decode(&sjis, None, "ja").text.contains("不正アクセス"));
        let (euc, _, _) = EUC_JP.encode("<rss>漏えい事案について</rss>");
        assert!(decode(&euc, None, "ja").text.contains("漏えい事案について"));
    }

    #[test]
    fn iso_2022_jp_declared_or_not() {
        let body = "<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?><rss><title>重要インフラの障害</title></rss>";
        let (bytes, _, _) = encoding_rs::ISO_2022_JP.encode(body);
        assert!(bytes.is_ascii());
        assert!(
            decode(&bytes, None, "ja")
                .text
                .contains("重要インフラの障害")
        );
        let undeclared = "<rss><title>不正アクセスについて</title></rss>";
        let (bytes, _, _) = encoding_rs::ISO_2022_JP.encode(undeclared);
        assert!(
            decode(&bytes, None, "en")
                .text
                .contains("不正アクセスについて")
        );
    }

    #[test]
    fn illegal_characters_are_found_at_any_position() {
        for text in ["", "plain", "日本語（全角）", "ｱｲｳ\u{FFFD}"] {
            assert!(!has_illegal_xml_chars(text.as_bytes()), "{text:?}");
        }
        for bad in ['\u{0}', '\u{8}', '\u{1f}', '\u{FFFE}', '\u{FFFF}'] {
            for at in [0, 1, 62, 63, 64, 65, 130] {
                let text = format!("{}{bad}{}", "a".repeat(at), "（".repeat(30));
                assert!(has_illegal_xml_chars(text.as_bytes()), "{bad:?} at {at}");
                let cleaned = without_illegal_xml_chars(Cow::Borrowed(&text));
                assert!(!cleaned.contains(bad));
            }
        }
    }

    #[test]
    fn bom_and_control_characters() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(b"<a>x\x08y</a>");
        let d = decode(&bytes, Some("iso-8859-1"), "en");
        assert_eq!(d.text, "<a>xy</a>");
        let (utf16, _, _) = encoding_rs::UTF_16LE.encode("<a/>");
        // encoding_rs never encodes to UTF-16; build the bytes by hand.
        let mut le = vec![0xFF, 0xFE];
        for unit in "<rss>é</rss>".encode_utf16() {
            le.extend_from_slice(&unit.to_le_bytes());
        }
        assert!(!utf16.is_empty());
        assert_eq!(decode(&le, None, "fr").text, "<rss>é</rss>");
    }
}
