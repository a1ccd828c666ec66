//! Stories: the pages about one event (a first notice and its 第2報 and 最終報, two news
//! reports of one attack) grouped so that the draft writes one report item citing them all.
//!
//! Two items of one section belong to one story when their titles are the same once update
//! markers are dropped, or share most of their words (CJK: character pairs), and they were
//! published within a month of each other.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use crate::model::Item;

/// Share of words two titles must have in common (Jaccard) to tell one story.
pub const SIMILARITY: f64 = 0.5;
/// Farthest apart two reports of one story are published, in days.
pub const MAX_DAYS_APART: i64 = 31;

static MARKERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[（(【\[]?\s*(第\s*[0-9]+\s*報|最終報|続報|更新|\bupdate\s*[0-9]+\b|\bupdated?\b)\s*[）)】\]]?\s*:?",
    )
    .expect("valid regex")
});

fn normalized(title: &str) -> String {
    let text: String = title.nfkc().flat_map(char::to_lowercase).collect();
    MARKERS.replace_all(&text, " ").into_owned()
}

/// The title with update markers, punctuation and spacing removed.
pub fn story_key(title: &str) -> String {
    normalized(title)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Words every incident headline shares: two stories about different organisations must
/// not look alike because both say "ransomware attack".
const GENERIC: [&str; 44] = [
    "the",
    "and",
    "for",
    "with",
    "after",
    "from",
    "that",
    "this",
    "into",
    "over",
    "says",
    "amid",
    "des",
    "les",
    "une",
    "dans",
    "ransomware",
    "attack",
    "cyberattack",
    "cyber",
    "hit",
    "hits",
    "breach",
    "data",
    "outage",
    "system",
    "disrupt",
    "hospital",
    "incident",
    "security",
    "hacker",
    "hackers",
    "leak",
    "revision",
    "update",
    "new",
    "warn",
    "claim",
    "group",
    "gang",
    "service",
    "network",
    "affect",
    "attaque",
];

/// Japanese terms every incident headline shares, removed before comparing.
const GENERIC_JA: [&str; 20] = [
    "ランサムウェア",
    "サイバー攻撃",
    "不正アクセス",
    "情報漏えい",
    "個人情報",
    "システム障害",
    "について",
    "被害",
    "発生",
    "感染",
    "流出",
    "可能性",
    "お知らせ",
    "障害",
    "攻撃",
    "漏えい",
    "当院",
    "当社",
    "による",
    "に関する",
];

fn stem(word: &str) -> String {
    // "diverts" and "divert", "ambulances" and "ambulance" are one word here.
    match word.strip_suffix('s') {
        Some(w) if w.len() >= 3 && !w.ends_with('s') => w.to_string(),
        _ => word.to_string(),
    }
}

fn words(title: &str) -> HashSet<String> {
    let mut text = normalized(title);
    for term in GENERIC_JA {
        text = text.replace(term, " ");
    }
    let mut out = HashSet::new();
    let mut cjk: Vec<char> = Vec::new();
    let mut word = String::new();
    let flush_word = |word: &mut String, out: &mut HashSet<String>| {
        let w = stem(word);
        if w.chars().count() >= 3
            && !GENERIC.contains(&w.as_str())
            && !GENERIC.contains(&word.as_str())
        {
            out.insert(w);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
            cjk.clear();
        } else if c.is_alphanumeric() && !c.is_ascii() {
            flush_word(&mut word, &mut out);
            cjk.push(c);
            if cjk.len() >= 2 {
                out.insert(cjk[cjk.len() - 2..].iter().collect());
            }
        } else {
            flush_word(&mut word, &mut out);
            cjk.clear();
        }
    }
    flush_word(&mut word, &mut out);
    out
}

fn similar(a: &HashSet<String>, b: &HashSet<String>) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let common = a.intersection(b).count() as f64;
    common / a.union(b).count() as f64 >= SIMILARITY
}

fn close_in_time(a: &Item, b: &Item) -> bool {
    match (a.published, b.published) {
        (Some(x), Some(y)) => (x - y).num_days().abs() <= MAX_DAYS_APART,
        _ => true,
    }
}

/// Whether two items report one event (same title but for update markers, or mostly the
/// same words, within a month).
pub fn same_story(a: &Item, b: &Item) -> bool {
    if !close_in_time(a, b) {
        return false;
    }
    let key = story_key(&a.title);
    (!key.is_empty() && key == story_key(&b.title)) || similar(&words(&a.title), &words(&b.title))
}

/// Groups items (kept in their order) into stories; each story lists its items in the
/// order given, so the first is the first report when items come sorted by date.
pub fn group<'a>(items: &[&'a Item]) -> Vec<Vec<&'a Item>> {
    let mut stories: Vec<Vec<&'a Item>> = Vec::new();
    let mut keys: Vec<Vec<(String, HashSet<String>)>> = Vec::new();
    for item in items {
        let key = story_key(&item.title);
        let w = words(&item.title);
        let found = stories.iter().zip(&keys).position(|(story, ks)| {
            story.iter().zip(ks).any(|(other, (k, ow))| {
                close_in_time(item, other) && ((!key.is_empty() && *k == key) || similar(&w, ow))
            })
        });
        match found {
            Some(i) => {
                stories[i].push(item);
                keys[i].push((key, w));
            }
            None => {
                stories.push(vec![item]);
                keys.push(vec![(key, w)]);
            }
        }
    }
    stories
}

/// Each item's story, named by the id of its first report, for items of one section.
pub fn story_ids(items: &[Item]) -> HashMap<String, String> {
    let mut by_section: HashMap<Option<crate::model::Section>, Vec<&Item>> = HashMap::new();
    for item in items {
        by_section.entry(item.section()).or_default().push(item);
    }
    let mut out = HashMap::new();
    for list in by_section.values() {
        for story in group(list) {
            let first = story[0].id.clone();
            for item in story {
                out.insert(item.id.clone(), first.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_markers_do_not_make_another_story() {
        assert_eq!(
            story_key("病院のシステム障害について（第2報）"),
            story_key("病院のシステム障害について")
        );
        assert_eq!(
            story_key("Update 3: Online payments restored"),
            story_key("Online payments restored")
        );
        assert_eq!(
            story_key("不正アクセスに関する最終報"),
            story_key("不正アクセスに関する")
        );
    }

    #[test]
    fn two_reports_of_one_attack_are_similar() {
        let a = words("Ohio hospital system diverts ambulances after ransomware attack");
        let b = words("Ransomware attack forces Ohio hospital system to divert ambulances");
        assert!(similar(&a, &b));
        let c = words("Pro-Russia hacktivists knock Italian airport websites offline");
        assert!(!similar(&a, &c));
        let d = words("Ransomware attack disrupts Texas hospital");
        let e = words("Ransomware attack disrupts Oregon hospital");
        assert!(
            !similar(&d, &e),
            "different organisations, different stories"
        );
        let f = words("A病院でランサムウェア被害、電子カルテが停止");
        let g = words("B市民病院でランサムウェア被害、外来を制限");
        assert!(!similar(&f, &g));
        let j1 = words("名古屋港のコンテナターミナルでシステム障害、ランサムウェア感染");
        let j2 = words("名古屋港コンテナターミナルのシステム障害、ランサムウェアによるもの");
        assert!(similar(&j1, &j2));
    }
}
