//! The compiled rule set: every keyword of every rule in one Aho-Corasick automaton and every
//! pattern compiled once, each with a map back to its rules (ripgrep's globset shape).

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexSet};
use unicode_normalization::UnicodeNormalization;

use super::rules::{Fields, Rule};

/// Text as rules see it: NFKC (full-width and half-width alike) and lower case.
pub fn normalize(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).collect()
}

#[derive(Debug, Clone, Copy)]
struct Use {
    rule: usize,
    unless: bool,
}

/// Rules compiled for matching.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    keywords: AhoCorasick,
    keyword_text: Vec<String>,
    /// Whether a keyword starts / ends with an ASCII letter or digit: such ends must sit on a
    /// word boundary ("eau" does not match "beautiful", "city council" not "electricity council").
    keyword_bounds: Vec<(bool, bool)>,
    keyword_uses: Vec<Vec<Use>>,
    pattern_regexes: Vec<Regex>,
    pattern_rule: Vec<usize>,
}

/// Which rules fired on an item and the words that fired them.
#[derive(Debug, Default, Clone)]
pub struct Hits {
    // Keyed by rule number: Fx hashing, as SipHash was an eighth of classification's time.
    matched: FxHashMap<usize, Vec<String>>,
}

impl Hits {
    /// Matched words of a rule that fired.
    pub fn words(&self, rule: usize) -> Option<&[String]> {
        self.matched.get(&rule).map(Vec::as_slice)
    }

    /// Rules that fired, in rule order.
    pub fn fired(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.matched.keys().copied().collect();
        v.sort_unstable();
        v
    }
}

#[derive(Default)]
struct FieldHits {
    words: FxHashMap<usize, Vec<String>>,
    vetoed: FxHashMap<usize, bool>,
}

impl RuleSet {
    /// Compiles validated rules.
    pub fn compile(rules: Vec<Rule>) -> Result<RuleSet, String> {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut keyword_text = Vec::new();
        let mut keyword_uses: Vec<Vec<Use>> = Vec::new();
        let mut patterns = Vec::new();
        let mut pattern_rule = Vec::new();
        for (ri, rule) in rules.iter().enumerate() {
            let all = rule
                .keywords
                .iter()
                .map(|k| (k, false))
                .chain(rule.unless.iter().map(|k| (k, true)));
            for (k, unless) in all {
                let norm = normalize(k.trim());
                let id = *index.entry(norm.clone()).or_insert_with(|| {
                    keyword_text.push(norm);
                    keyword_uses.push(Vec::new());
                    keyword_text.len() - 1
                });
                keyword_uses[id].push(Use { rule: ri, unless });
            }
            for p in &rule.patterns {
                patterns.push(p.clone());
                pattern_rule.push(ri);
            }
        }
        let keywords = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&keyword_text)
            .map_err(|e| format!("keyword automaton: {e}"))?;
        let pattern_regexes = patterns
            .iter()
            .map(|p| Regex::new(p).map_err(|e| format!("pattern {p:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        // The set is no longer searched (see `field_hits`), but it still vets the patterns
        // together as before.
        RegexSet::new(&patterns).map_err(|e| format!("pattern set: {e}"))?;
        let keyword_bounds = keyword_text
            .iter()
            .map(|k| {
                let bytes = k.as_bytes();
                let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
                (edge(bytes.first()), edge(bytes.last()))
            })
            .collect();
        // The automaton and the regexes hold the words now; the daemon keeps the rules for their
        // names and tags only.
        let mut rules = rules;
        for rule in &mut rules {
            rule.keywords = Vec::new();
            rule.patterns = Vec::new();
            rule.unless = Vec::new();
        }
        Ok(RuleSet {
            rules,
            keywords,
            keyword_text,
            keyword_bounds,
            keyword_uses,
            pattern_regexes,
            pattern_rule,
        })
    }

    /// Number of distinct keywords and patterns, for the start-up log.
    pub fn size(&self) -> (usize, usize) {
        (self.keyword_text.len(), self.pattern_regexes.len())
    }

    /// Runs every rule over an item's title and summary.
    pub fn matches(&self, title: &str, summary: &str) -> Hits {
        let title_hits = self.field_hits(&normalize(title));
        let summary_hits = self.field_hits(&normalize(summary));
        self.combine(&title_hits, &summary_hits)
    }

    /// One pass over an item: the hits over title and summary (as [`RuleSet::matches`]) and
    /// the hits over the title alone (as `matches(title, "")`), each field searched once. The
    /// fields come already [`normalize`]d: the classifier's kind model reads the same text.
    pub fn matches_with_title(&self, title: &str, summary: &str) -> (Hits, Hits) {
        let title_hits = self.field_hits(title);
        let summary_hits = self.field_hits(summary);
        (
            self.combine(&title_hits, &summary_hits),
            self.combine(&title_hits, &FieldHits::default()),
        )
    }

    /// Rules that fired over a title and a summary searched separately.
    fn combine(&self, title_hits: &FieldHits, summary_hits: &FieldHits) -> Hits {
        let mut hits = Hits::default();
        if title_hits.words.is_empty() && summary_hits.words.is_empty() {
            return hits;
        }
        // Only rules with a word in either field can fire: walking all of them was a third of
        // classification's time once organisations.toml had thousands.
        let mut candidates: Vec<usize> = title_hits
            .words
            .keys()
            .chain(summary_hits.words.keys())
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        for ri in candidates {
            let rule = &self.rules[ri];
            let Fields {
                title: in_title,
                summary: in_summary,
            } = rule.fields;
            let title_words = title_hits.words.get(&ri).filter(|_| in_title);
            let summary_words = summary_hits.words.get(&ri).filter(|_| in_summary);
            if title_words.is_none() && summary_words.is_none() {
                continue;
            }
            let vetoed = (in_title && title_hits.vetoed.contains_key(&ri))
                || (in_summary && summary_hits.vetoed.contains_key(&ri));
            if vetoed {
                continue;
            }
            let mut words: Vec<String> = Vec::new();
            for w in [title_words, summary_words].into_iter().flatten() {
                for word in w {
                    if !words.contains(word) {
                        words.push(word.clone());
                    }
                }
            }
            if !words.is_empty() {
                hits.matched.insert(ri, words);
            }
        }
        hits
    }

    fn field_hits(&self, text: &str) -> FieldHits {
        let mut out = FieldHits::default();
        if text.is_empty() {
            return out;
        }
        let bytes = text.as_bytes();
        for m in self.keywords.find_overlapping_iter(text) {
            let k = m.pattern().as_usize();
            let (bounded_start, bounded_end) = self.keyword_bounds[k];
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            if (bounded_start && before.is_some_and(|b| b.is_ascii_alphanumeric()))
                || (bounded_end && !ends_word(bytes, m.end(), self.keyword_text[k].as_bytes()))
            {
                continue;
            }
            for u in &self.keyword_uses[k] {
                if u.unless {
                    out.vetoed.insert(u.rule, true);
                } else {
                    let words = out.words.entry(u.rule).or_default();
                    if !words.contains(&self.keyword_text[k]) {
                        words.push(self.keyword_text[k].clone());
                    }
                }
            }
        }
        // Each pattern on its own, in pattern order: the same answers as the `RegexSet`, but
        // each regex gets its own literal prefilter and anchoring, where the set falls back to
        // a PikeVM over the whole text as soon as a Unicode `\b` meets a non-ASCII byte.
        for (pi, regex) in self.pattern_regexes.iter().enumerate() {
            if let Some(m) = regex.find(text) {
                let words = out.words.entry(self.pattern_rule[pi]).or_default();
                let found = m.as_str().to_string();
                if !words.contains(&found) {
                    words.push(found);
                }
            }
        }
        out
    }
}

/// Whether a keyword that ends in an ASCII letter or digit ends a word at `end`. A plural `s`
/// after a keyword that ends in a letter still ends it: headlines write "cyber attacks",
/// "rançongiciels" and "undersea cables" as often as the singular, and a rule list that names
/// only one form misses the other.
fn ends_word(text: &[u8], end: usize, keyword: &[u8]) -> bool {
    let boundary = |i: usize| text.get(i).is_none_or(|b| !b.is_ascii_alphanumeric());
    boundary(end)
        || (text.get(end) == Some(&b's')
            && keyword
                .last()
                .is_some_and(|b| b.is_ascii_alphabetic() && *b != b's')
            && boundary(end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::rules::parse_files;

    fn set(text: &str) -> RuleSet {
        RuleSet::compile(parse_files(&[("t.toml".into(), text.into())]).unwrap()).unwrap()
    }

    #[test]
    fn width_case_and_word_boundaries() {
        let rs = set(r#"
vocabulary = "sector"
[[rules]]
id = "water"
tag = "water"
keywords = ["eau potable", "水道", "water utility", "eau", "city utility"]
[[rules]]
id = "med"
tag = "medical"
keywords = ["hospital"]
unless = ["hospitality"]
"#);
        let hits = rs.matches("ＷＡＴＥＲ Utility hit", "");
        assert_eq!(hits.words(0), Some(&["water utility".to_string()][..]));
        assert!(
            rs.matches("A beautiful day", "").words(0).is_none(),
            "eau inside a word"
        );
        assert_eq!(
            rs.matches("", "市の水道局").words(0),
            Some(&["水道".to_string()][..])
        );
        assert!(
            rs.matches("Hospital and hospitality", "")
                .words(1)
                .is_none(),
            "unless vetoes"
        );
        assert!(rs.matches("Hospital hit", "").words(1).is_some());
        assert!(
            rs.matches("Hospitals hit", "").words(1).is_some(),
            "a plural s still ends the word"
        );
        assert!(
            rs.matches("Hospitalsx hit", "").words(1).is_none(),
            "but not a longer word"
        );
        assert!(
            rs.matches("", "Water utilitys").words(0).is_some(),
            "on phrases too"
        );
    }

    #[test]
    fn patterns_report_what_they_matched() {
        let rs = set(r#"
vocabulary = "kind"
[[rules]]
id = "cve"
tag = "routine"
patterns = ['cve-\d{4}-\d+']
fields = ["title"]
"#);
        assert_eq!(
            rs.matches("Fix for CVE-2025-1234", "").words(0),
            Some(&["cve-2025-1234".to_string()][..])
        );
        assert!(
            rs.matches("nothing", "CVE-2025-1234").words(0).is_none(),
            "title only"
        );
    }
}
