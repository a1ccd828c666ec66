//! The classifier's reasons for one item, packed into two buffers.
//!
//! An item carries about a dozen short strings of reasons (tag, rule, matched words). Held as
//! separate `String`s they were half of the allocations made in decoding a quarter's items for
//! an export, and half of the frees in dropping them. They serialise as before: a list of
//! `{"tag", "rule", "matched": [...]}`, so stored items and the JSON export are unchanged.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

/// Every reason's strings end to end in `text`; `layout` holds, for each reason, the number of
/// its matched words, then where its tag, its rule and each matched word end in `text`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Reasons {
    text: String,
    layout: Vec<u32>,
}

/// One reason: what was decided, by which rule, on which words.
#[derive(Clone, Copy)]
pub struct Reason<'a> {
    /// What was decided, e.g. `section=2.1`, `sector=medical`, `kind=incident`.
    pub tag: &'a str,
    /// `file:rule-id` of the rule, or the name of the built-in decision.
    pub rule: &'a str,
    text: &'a str,
    /// Where the first matched word starts, and where each ends.
    start: usize,
    ends: &'a [u32],
}

impl<'a> Reason<'a> {
    /// The words or patterns that matched.
    pub fn matched(&self) -> impl Iterator<Item = &'a str> + 'a {
        let text = self.text;
        let mut start = self.start;
        self.ends.iter().map(move |&end| {
            let word = &text[start..end as usize];
            start = end as usize;
            word
        })
    }
}

impl fmt::Debug for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reason")
            .field("tag", &self.tag)
            .field("rule", &self.rule)
            .field("matched", &self.matched().collect::<Vec<_>>())
            .finish()
    }
}

impl Reasons {
    /// Adds a reason. Offsets are 32-bit: a reason that would take the text past 4 GiB is left
    /// out (an item's reasons are a few hundred bytes).
    pub fn push<S: AsRef<str>>(&mut self, tag: &str, rule: &str, matched: &[S]) {
        self.push_parts(tag, rule, matched.iter().map(AsRef::as_ref));
    }

    /// [`Reasons::push`]; false when the reason was left out.
    fn push_parts<'m>(
        &mut self,
        tag: &'m str,
        rule: &'m str,
        matched: impl ExactSizeIterator<Item = &'m str> + Clone,
    ) -> bool {
        let adding = tag.len() + rule.len() + matched.clone().map(str::len).sum::<usize>();
        let fits = self
            .text
            .len()
            .checked_add(adding)
            .is_some_and(|total| u32::try_from(total).is_ok());
        let Ok(count) = u32::try_from(matched.len()) else {
            return false;
        };
        if !fits {
            return false;
        }
        self.layout.push(count);
        for part in [tag, rule].into_iter().chain(matched) {
            self.text.push_str(part);
            // Fits: checked above.
            self.layout.push(self.text.len() as u32);
        }
        true
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.layout.is_empty()
    }

    /// The two buffers, for a store that keeps them as they are.
    pub fn raw_parts(&self) -> (&str, &[u32]) {
        (&self.text, &self.layout)
    }

    /// Reasons from [`Reasons::raw_parts`], unless the layout does not fit the text (every
    /// offset in order, on a character boundary, the last at the end).
    pub fn from_raw_parts(text: String, layout: Vec<u32>) -> Option<Reasons> {
        let mut at = 0;
        let mut end = 0usize;
        while at < layout.len() {
            let count = layout[at] as usize;
            let ends = layout.get(at + 1..)?.get(..count.checked_add(2)?)?;
            for &e in ends {
                let e = e as usize;
                if e < end || !text.is_char_boundary(e) {
                    return None;
                }
                end = e;
            }
            at += 3 + count;
        }
        (end == text.len()).then_some(Reasons { text, layout })
    }

    pub fn iter(&self) -> impl Iterator<Item = Reason<'_>> {
        let mut at = 0;
        let mut start = 0;
        std::iter::from_fn(move || {
            let (&count, rest) = self.layout.get(at..)?.split_first()?;
            let (&tag_end, &rule_end) = (rest.first()?, rest.get(1)?);
            let ends = rest.get(2..)?.get(..count as usize)?;
            let reason = Reason {
                tag: self.text.get(start..tag_end as usize)?,
                rule: self.text.get(tag_end as usize..rule_end as usize)?,
                text: &self.text,
                start: rule_end as usize,
                ends,
            };
            at += 3 + count as usize;
            start = ends.last().map_or(rule_end, |&e| e) as usize;
            Some(reason)
        })
    }
}

impl fmt::Debug for Reasons {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Reason<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Matched<'a>(Reason<'a>);
        impl Serialize for Matched<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.matched())
            }
        }
        let mut s = serializer.serialize_struct("Reason", 3)?;
        s.serialize_field("tag", self.tag)?;
        s.serialize_field("rule", self.rule)?;
        s.serialize_field("matched", &Matched(*self))?;
        s.end()
    }
}

impl Serialize for Reasons {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The length is known: say so, as a derived `Vec` would.
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for reason in self.iter() {
            seq.serialize_element(&reason)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Reasons {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ReasonsVisitor)
    }
}

struct ReasonsVisitor;

impl<'de> Visitor<'de> for ReasonsVisitor {
    type Value = Reasons;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of reasons")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Reasons, A::Error> {
        let mut reasons = Reasons::default();
        // The matched words of the reason being read: its keys may come in any order, and the
        // words are packed after its tag and rule. Reused from one reason to the next.
        let mut words = Words::default();
        while seq
            .next_element_seed(ReasonSeed {
                reasons: &mut reasons,
                words: &mut words,
            })?
            .is_some()
        {}
        Ok(reasons)
    }
}

#[derive(Default)]
struct Words {
    text: String,
    spans: Vec<(usize, usize)>,
}

struct ReasonSeed<'r> {
    reasons: &'r mut Reasons,
    words: &'r mut Words,
}

impl<'de> DeserializeSeed<'de> for ReasonSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ReasonSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a reason: tag, rule and matched words")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut tag, mut rule): (Option<Text<'de>>, Option<Text<'de>>) = (None, None);
        let mut has_matched = false;
        let words = self.words;
        words.text.clear();
        words.spans.clear();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match key.0.as_ref() {
                "tag" if tag.is_some() => return Err(de::Error::duplicate_field("tag")),
                "rule" if rule.is_some() => return Err(de::Error::duplicate_field("rule")),
                "matched" if has_matched => return Err(de::Error::duplicate_field("matched")),
                "tag" => tag = Some(map.next_value()?),
                "rule" => rule = Some(map.next_value()?),
                "matched" => {
                    map.next_value_seed(WordsSeed(&mut *words))?;
                    has_matched = true;
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let tag = tag.ok_or_else(|| de::Error::missing_field("tag"))?;
        let rule = rule.ok_or_else(|| de::Error::missing_field("rule"))?;
        if !has_matched {
            return Err(de::Error::missing_field("matched"));
        }
        let matched = words
            .spans
            .iter()
            .map(|&(start, end)| &words.text[start..end]);
        if self.reasons.push_parts(&tag.0, &rule.0, matched) {
            Ok(())
        } else {
            Err(de::Error::custom("reasons longer than 4 GiB"))
        }
    }
}

struct WordsSeed<'w>(&'w mut Words);

impl<'de> DeserializeSeed<'de> for WordsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for WordsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of matched words")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(word) = seq.next_element::<Text<'de>>()? {
            let start = self.0.text.len();
            self.0.text.push_str(&word.0);
            self.0.spans.push((start, self.0.text.len()));
        }
        Ok(())
    }
}

/// A string borrowed from the input when it can be (no escapes), copied when it cannot.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Reasons {
        let mut r = Reasons::default();
        r.push(
            "sector=medical",
            "sector.toml:medical-ja",
            &["病院", "電子カルテ"],
        );
        r.push("kind=incident", "kind.toml:incident", &[] as &[&str]);
        r.push("section=3.1", "decision", &["incident, \"Japan\"\n"]);
        r
    }

    #[test]
    fn reads_back_what_was_pushed() {
        let r = sample();
        assert_eq!(r.len(), 3);
        let all: Vec<(&str, &str, Vec<&str>)> = r
            .iter()
            .map(|x| (x.tag, x.rule, x.matched().collect()))
            .collect();
        assert_eq!(
            all,
            vec![
                (
                    "sector=medical",
                    "sector.toml:medical-ja",
                    vec!["病院", "電子カルテ"]
                ),
                ("kind=incident", "kind.toml:incident", vec![]),
                ("section=3.1", "decision", vec!["incident, \"Japan\"\n"]),
            ]
        );
        assert!(Reasons::default().is_empty());
        let (text, layout) = r.raw_parts();
        assert_eq!(
            Reasons::from_raw_parts(text.into(), layout.to_vec()),
            Some(r.clone())
        );
        let mut short = layout.to_vec();
        short.pop();
        assert_eq!(Reasons::from_raw_parts(text.into(), short), None);
        let cut = text[..text.len() - 1].to_string();
        assert_eq!(Reasons::from_raw_parts(cut, layout.to_vec()), None);
        // 病 is three bytes: an offset inside it is refused.
        let mut inside = layout.to_vec();
        inside[3] = inside[2] + 1;
        assert_eq!(Reasons::from_raw_parts(text.into(), inside), None);
        assert_eq!(Reasons::default().iter().count(), 0);
    }

    #[test]
    fn json_is_a_list_of_tag_rule_and_matched() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"tag": "sector=medical", "rule": "sector.toml:medical-ja", "matched": ["病院", "電子カルテ"]},
                {"tag": "kind=incident", "rule": "kind.toml:incident", "matched": []},
                {"tag": "section=3.1", "rule": "decision", "matched": ["incident, \"Japan\"\n"]},
            ])
        );
        let bytes = serde_json::to_vec(&sample()).unwrap();
        assert_eq!(serde_json::from_slice::<Reasons>(&bytes).unwrap(), sample());
    }

    #[test]
    fn keys_in_any_order_unknown_keys_ignored_missing_ones_refused() {
        let text = r#"[{"matched": ["a\u00e9", "b"], "extra": {"x": 1}, "rule": "r", "tag": "t"}]"#;
        let r: Reasons = serde_json::from_str(text).unwrap();
        let mut expected = Reasons::default();
        expected.push("t", "r", &["aé", "b"]);
        assert_eq!(r, expected);
        assert!(serde_json::from_str::<Reasons>(r#"[{"tag": "t", "matched": []}]"#).is_err());
        assert!(serde_json::from_str::<Reasons>(r#"[{"tag": "t", "rule": "r"}]"#).is_err());
        let twice = r#"[{"tag": "t", "rule": "r", "matched": ["a"], "matched": ["b"]}]"#;
        assert!(serde_json::from_str::<Reasons>(twice).is_err());
        assert!(serde_json::from_str::<Reasons>(r#"[{"tag": "t", "rule": 3}]"#).is_err());
    }
}
