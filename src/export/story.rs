//! Stories: the pages about one event (a first notice and its 第2報 and 最終報, two news
//! reports of one attack) grouped so that the draft writes one report item citing them all.
//!
//! Two items of one section belong to one story when their titles are the same once update
//! markers are dropped, or share most of their words (CJK: character pairs), and they were
//! published within a month of each other.

use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
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

/// The title NFKC-folded and lower-cased, update markers removed: what its story key and its
/// words are made of.
fn normalized(title: &str) -> String {
    // ASCII is NFKC already; a quarter's export normalises tens of thousands of titles.
    let text: String = if title.is_ascii() {
        title.to_ascii_lowercase()
    } else {
        title.nfkc().flat_map(char::to_lowercase).collect()
    };
    // Every marker holds one of these; most titles hold none.
    if text.contains("update") || text.contains('報') || text.contains("更新") {
        MARKERS.replace_all(&text, " ").into_owned()
    } else {
        text
    }
}

/// The title with update markers, punctuation and spacing removed.
pub fn story_key(title: &str) -> String {
    key_of(&normalized(title))
}

fn key_of(normalized: &str) -> String {
    normalized.chars().filter(|c| c.is_alphanumeric()).collect()
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

fn stem(word: &str) -> &str {
    // "diverts" and "divert", "ambulances" and "ambulance" are one word here.
    match word.strip_suffix('s') {
        Some(w) if w.len() >= 3 && !w.ends_with('s') => w,
        _ => word,
    }
}

static GENERIC_SET: LazyLock<FxHashSet<&'static str>> =
    LazyLock::new(|| GENERIC.into_iter().collect());

static GENERIC_JA_FINDER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(GENERIC_JA)
        .expect("valid patterns")
});

/// A title's distinctive words: stemmed ASCII words of three letters or more, and pairs of
/// CJK characters, without the words every incident headline shares (as [`word_ids`]).
fn words(title: &str) -> Vec<u64> {
    word_ids(&normalized(title))
}

/// The distinctive words of a normalised title as numbers (a hash of each word), sorted and
/// without repeats: grouping a quarter reads tens of thousands of titles, and a `String` for
/// every word and character pair was most of that. Two words with one 64-bit hash would count
/// as one; among a quarter's hundred thousand words that is a chance of about one in ten
/// billion.
fn word_ids(normalized: &str) -> Vec<u64> {
    use std::hash::BuildHasher;
    let hasher = rustc_hash::FxBuildHasher;
    let mut out = Vec::new();
    each_word(normalized, |w| out.push(hasher.hash_one(w)));
    out.sort_unstable();
    out.dedup();
    out
}

/// Calls `each` with every distinctive word of a normalised title, repeats included.
fn each_word(normalized: &str, mut each: impl FnMut(&str)) {
    let text = if normalized.is_ascii() {
        std::borrow::Cow::Borrowed(normalized)
    } else {
        std::borrow::Cow::Owned(GENERIC_JA_FINDER.replace_all(normalized, &[" "; GENERIC_JA.len()]))
    };
    // Where the ASCII word being read starts, and where the last CJK character starts.
    let mut word_start: Option<usize> = None;
    let mut last_cjk: Option<usize> = None;
    for (at, c) in text.char_indices() {
        if c.is_ascii_alphanumeric() {
            word_start.get_or_insert(at);
            last_cjk = None;
            continue;
        }
        if let Some(start) = word_start.take() {
            each_distinctive(&text[start..at], &mut each);
        }
        if c.is_alphanumeric() && !c.is_ascii() {
            if let Some(previous) = last_cjk {
                each(&text[previous..at + c.len_utf8()]);
            }
            last_cjk = Some(at);
        } else {
            last_cjk = None;
        }
    }
    if let Some(start) = word_start {
        each_distinctive(&text[start..], &mut each);
    }
}

/// An ASCII word, stemmed, unless it is short or every headline's.
fn each_distinctive(word: &str, each: &mut impl FnMut(&str)) {
    let w = stem(word);
    // ASCII only: bytes are characters.
    if w.len() >= 3 && !GENERIC_SET.contains(w) && !GENERIC_SET.contains(word) {
        each(w);
    }
}

fn close_in_time(a: &Item, b: &Item) -> bool {
    close_instants(a.published_nanos(), b.published_nanos())
}

/// Within [`MAX_DAYS_APART`] whole days of each other (as `TimeDelta::num_days` counts them:
/// less than one more day apart), or either undated.
fn close_instants(a: Option<i128>, b: Option<i128>) -> bool {
    const LIMIT: i128 = (MAX_DAYS_APART as i128 + 1) * 86_400 * 1_000_000_000;
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() < LIMIT,
        _ => true,
    }
}

/// Whether one item links to the other's page (an agency release and the statement it
/// links to).
fn linked(a: &Item, b: &Item) -> bool {
    a.links.contains(&b.url) || b.links.contains(&a.url)
}

/// Whether two items report one event (same title but for update markers, mostly the same
/// words, or one linking to the other), within a month.
pub fn same_story(a: &Item, b: &Item) -> bool {
    if !close_in_time(a, b) {
        return false;
    }
    let key = story_key(&a.title);
    (!key.is_empty() && key == story_key(&b.title))
        || similar(&words(&a.title), &words(&b.title))
        || linked(a, b)
}

/// Groups items into stories: the connected groups of [`same_story`]. Stories come in the
/// order of their first item as given, and list their items in the order given, so the first
/// is the first report when items come sorted by date.
///
/// Near-linear, for a quarter of tens of thousands of items: items are visited in date order
/// and each is compared only with the latest earlier item of each title that can match it
/// (an earlier item of that title in the window is already joined to the latest); matching
/// word sets are found through an index of their rarest words (a prefix filter, see
/// [`prefix_len`]).
pub fn group<'a>(items: &[&'a Item]) -> Vec<Vec<&'a Item>> {
    let n = items.len();
    let mut joined = Joined::new(n);
    let titles = Titles::of(items);
    let when: Vec<Option<i128>> = items.iter().map(|i| i.published_nanos()).collect();
    let close = |i: usize, j: usize| close_instants(when[i], when[j]);
    let mut order: Vec<usize> = (0..n).collect();
    // Dated items first, oldest first; undated items (close to everything) last.
    order.sort_by_key(|&i| (when[i].is_none(), when[i]));
    // Every earlier item of each title: an undated item is close to all of them.
    let mut by_key: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    let mut by_words: Vec<Vec<usize>> = vec![Vec::new(); titles.sets.len()];
    for &i in &order {
        let key = titles.key(i);
        let mut same_title: Vec<&[usize]> = Vec::new();
        if !key.is_empty() {
            same_title.extend(by_key.get(key).map(Vec::as_slice));
        }
        if let Some(set) = titles.set(i) {
            let own = by_words[set].as_slice();
            let own_in_reach = when[i].is_some() && own.last().is_some_and(|&j| close(i, j));
            if own_in_reach {
                // Every item of a similar title in reach was joined to the latest of this
                // title when it came (it was in that one's reach too).
                same_title.push(own);
            } else {
                same_title.extend(titles.matches[set].iter().map(|&m| by_words[m].as_slice()));
            }
        }
        for earlier in same_title {
            let candidates = match when[i] {
                // Dated items come in date order: the latest is the one that can be in reach,
                // and earlier ones in reach are joined to it already.
                Some(_) => earlier.last().map(std::slice::from_ref).unwrap_or_default(),
                None => earlier,
            };
            for &j in candidates {
                if close(i, j) {
                    joined.union(i, j);
                }
            }
        }
        if !key.is_empty() {
            by_key.entry(key).or_default().push(i);
        }
        if let Some(set) = titles.set(i) {
            by_words[set].push(i);
        }
    }
    let by_url: FxHashMap<&str, Vec<usize>> =
        items
            .iter()
            .enumerate()
            .fold(FxHashMap::default(), |mut map, (i, item)| {
                map.entry(item.url.as_str()).or_default().push(i);
                map
            });
    for (i, item) in items.iter().enumerate() {
        for link in &item.links {
            for &j in by_url.get(link.as_str()).into_iter().flatten() {
                if i != j && close(i, j) {
                    joined.union(i, j);
                }
            }
        }
    }
    let mut story_of_root: FxHashMap<usize, usize> = FxHashMap::default();
    let mut stories: Vec<Vec<&'a Item>> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let root = joined.find(i);
        let story = *story_of_root.entry(root).or_insert_with(|| {
            stories.push(Vec::new());
            stories.len() - 1
        });
        stories[story].push(item);
    }
    stories
}

/// Disjoint sets of item indices (union by size, path halving).
struct Joined {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl Joined {
    fn new(n: usize) -> Joined {
        Joined {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
    }
}

/// The titles of a list of items: story keys, and distinct word sets with the sets similar
/// to each.
struct Titles {
    /// Each item's title, as an index into the distinct titles.
    title_of: Vec<usize>,
    /// Each distinct title's story key.
    keys: Vec<String>,
    /// Each distinct title's word set, `None` when it has no distinctive word.
    set_of: Vec<Option<usize>>,
    /// Distinct word sets, as word numbers sorted rarest first.
    sets: Vec<Vec<u32>>,
    /// For each set, the sets (itself included) with a Jaccard index ≥ [`SIMILARITY`].
    matches: Vec<Vec<usize>>,
}

impl Titles {
    fn of(items: &[&Item]) -> Titles {
        // Titles repeat (weekly digests, a notice and its updates): each is read once.
        let mut index: FxHashMap<&str, usize> = FxHashMap::default();
        let mut distinct: Vec<&str> = Vec::new();
        let title_of: Vec<usize> = items
            .iter()
            .map(|i| {
                *index.entry(i.title.as_str()).or_insert_with(|| {
                    distinct.push(i.title.as_str());
                    distinct.len() - 1
                })
            })
            .collect();
        let normalized: Vec<String> = distinct.iter().map(|t| normalized(t)).collect();
        let keys: Vec<String> = normalized.iter().map(|n| key_of(n)).collect();
        let word_sets: Vec<Vec<u64>> = normalized.iter().map(|n| word_ids(n)).collect();
        // Number words by how many titles hold them, rarest first.
        let mut frequency: FxHashMap<u64, usize> = FxHashMap::default();
        for set in &word_sets {
            for &w in set {
                *frequency.entry(w).or_default() += 1;
            }
        }
        let mut by_rarity: Vec<(u64, usize)> = frequency.into_iter().collect();
        by_rarity.sort_unstable_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        let number: FxHashMap<u64, u32> = by_rarity
            .iter()
            .enumerate()
            .map(|(n, (w, _))| (*w, n as u32))
            .collect();

        let mut sets: Vec<Vec<u32>> = Vec::new();
        let mut set_number: FxHashMap<Vec<u32>, usize> = FxHashMap::default();
        let mut set_of = Vec::with_capacity(distinct.len());
        for set in &word_sets {
            if set.is_empty() {
                set_of.push(None);
                continue;
            }
            let mut numbers: Vec<u32> = set.iter().map(|w| number[w]).collect();
            numbers.sort_unstable();
            let next = sets.len();
            let id = *set_number.entry(numbers.clone()).or_insert(next);
            if id == next {
                sets.push(numbers);
            }
            set_of.push(Some(id));
        }

        let mut matches: Vec<Vec<usize>> = (0..sets.len()).map(|s| vec![s]).collect();
        let mut by_prefix_word: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
        // The set each earlier set was last compared with: a set sharing several prefix words
        // with this one is compared once, without collecting and sorting the candidates.
        let mut compared_with: Vec<usize> = vec![usize::MAX; sets.len()];
        for (s, set) in sets.iter().enumerate() {
            let prefix = &set[..prefix_len(set.len())];
            for &c in prefix
                .iter()
                .filter_map(|w| by_prefix_word.get(w))
                .flatten()
            {
                if compared_with[c] == s {
                    continue;
                }
                compared_with[c] = s;
                if similar(set, &sets[c]) {
                    matches[s].push(c);
                    matches[c].push(s);
                }
            }
            for &w in prefix {
                by_prefix_word.entry(w).or_default().push(s);
            }
        }
        Titles {
            title_of,
            keys,
            set_of,
            sets,
            matches,
        }
    }

    /// The story key of item `i`.
    fn key(&self, i: usize) -> &str {
        &self.keys[self.title_of[i]]
    }

    /// The word set of item `i`, if its title has distinctive words.
    fn set(&self, i: usize) -> Option<usize> {
        self.set_of[self.title_of[i]]
    }
}

/// How many of a set's rarest words another set similar to it must share one of: with
/// `|a ∩ b| ≥ t·|a|`, a common word lies among a's first `|a| − ⌈t·|a|⌉ + 1`.
fn prefix_len(len: usize) -> usize {
    let need = ((SIMILARITY * len as f64).ceil() as usize).clamp(1, len);
    len - need + 1
}

/// `|a ∩ b| / |a ∪ b| ≥ SIMILARITY` for sorted, distinct words (hashes or numbers); never for
/// a title with no distinctive word.
fn similar<T: Ord>(a: &[T], b: &[T]) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    // |a ∩ b| ≤ min and |a ∪ b| ≥ max: sets of too different sizes cannot be similar.
    let (small, large) = (a.len().min(b.len()), a.len().max(b.len()));
    if (small as f64) < SIMILARITY * large as f64 {
        return false;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    common as f64 / union as f64 >= SIMILARITY
}

/// [`group`] on each list, on as many threads as there are cores when the lists are long
/// enough to pay for them.
pub fn group_each<'a>(lists: &[Vec<&'a Item>]) -> Vec<Vec<Vec<&'a Item>>> {
    let total: usize = lists.iter().map(Vec::len).sum();
    if total < 2_000 || lists.len() < 2 {
        return lists.iter().map(|l| group(l)).collect();
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = lists
            .iter()
            .map(|list| scope.spawn(move || group(list)))
            .collect();
        workers
            .into_iter()
            .zip(lists)
            // A panicking worker is a bug; its list is grouped again here to say so.
            .map(|(w, list)| w.join().unwrap_or_else(|_| group(list)))
            .collect()
    })
}

/// Each item's story, named by the id of its first report, for items of one section.
pub fn story_ids(items: &[Item]) -> FxHashMap<&str, &str> {
    let mut by_section: FxHashMap<Option<crate::model::Section>, Vec<&Item>> = FxHashMap::default();
    for item in items {
        by_section.entry(item.section()).or_default().push(item);
    }
    let lists: Vec<Vec<&Item>> = by_section.into_values().collect();
    group_each(&lists)
        .into_iter()
        .flatten()
        .flat_map(|story| {
            let first = story[0].id.as_str();
            story.into_iter().map(move |item| (item.id.as_str(), first))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closeness_in_nanoseconds_agrees_with_whole_days_apart() {
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
        let base = at("2025-01-01T00:00:00+09:00");
        for (later, close) in [
            ("2025-02-01T23:59:59.999999999+09:00", true),
            ("2025-02-02T00:00:00+09:00", false),
            ("2025-02-01T15:00:00+00:00", false),
            ("2025-02-01T14:59:59+00:00", true),
        ] {
            let later = at(later);
            let whole_days = (later - base).num_days().abs() <= MAX_DAYS_APART;
            assert_eq!(whole_days, close, "{later}");
            let (a, b) = (item(0, "a", 0), item(1, "b", 0));
            let (a, b) = (
                Item {
                    published: Some(base),
                    ..a
                },
                Item {
                    published: Some(later),
                    ..b
                },
            );
            assert_eq!(close_in_time(&a, &b), close, "{later}");
            assert_eq!(close_in_time(&b, &a), close, "{later}");
        }
        assert!(close_instants(None, Some(0)));
    }

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

    fn item(n: usize, title: &str, day: i64) -> Item {
        use chrono::{Duration, FixedOffset, NaiveDate, TimeZone, Utc};
        let published = FixedOffset::east_opt(9 * 3600)
            .unwrap()
            .with_ymd_and_hms(2025, 4, 1, 9, 0, 0)
            .unwrap()
            + Duration::days(day);
        Item {
            id: format!("i{n:04}"),
            source: "s".into(),
            publisher: "P".into(),
            country: "JP".into(),
            lang: "ja".into(),
            identity: format!("guid:{n}"),
            title: title.into(),
            url: format!("https://example.org/{n}"),
            published: Some(published),
            accessed: NaiveDate::from_ymd_opt(2025, 4, 1).unwrap(),
            first_seen: Utc::now(),
            last_changed: Utc::now(),
            summary: String::new(),
            classification: Default::default(),
            decision: None,
            links: Vec::new(),
        }
    }

    /// The stories as sets of ids, for comparing groupings.
    fn as_sets(stories: &[Vec<&Item>]) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = stories
            .iter()
            .map(|s| {
                let mut ids: Vec<String> = s.iter().map(|i| i.id.clone()).collect();
                ids.sort();
                ids
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn grouping_equals_the_connected_pairs_of_same_story() {
        // Titles from a small vocabulary, so that many pairs are near the threshold.
        const WORDS: [&str; 14] = [
            "Osaka", "port", "terminal", "Nagoya", "hospital", "clinic", "water", "utility",
            "diverts", "patients", "shut", "down", "payment", "portal",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut items = Vec::new();
        for n in 0..160 {
            let len = 2 + next(4);
            let title: Vec<&str> = (0..len).map(|_| WORDS[next(WORDS.len())]).collect();
            let mut it = item(n, &title.join(" "), next(120) as i64);
            if n % 37 == 0 && n > 0 {
                it.links.push(format!("https://example.org/{}", next(n)));
            }
            if n % 53 == 0 {
                it.published = None;
            }
            items.push(it);
        }
        let refs: Vec<&Item> = items.iter().collect();

        let mut joined = Joined::new(refs.len());
        for i in 0..refs.len() {
            for j in 0..i {
                if same_story(refs[i], refs[j]) {
                    joined.union(i, j);
                }
            }
        }
        let mut brute: FxHashMap<usize, Vec<&Item>> = FxHashMap::default();
        for (i, it) in refs.iter().enumerate() {
            brute.entry(joined.find(i)).or_default().push(it);
        }
        let brute: Vec<Vec<&Item>> = brute.into_values().collect();
        let fast = group(&refs);
        assert!(
            fast.len() < refs.len() && fast.len() > 1,
            "{} stories",
            fast.len()
        );
        assert_eq!(as_sets(&fast), as_sets(&brute));
        // Stories keep the given order: each begins with its earliest given item.
        let firsts: Vec<usize> = fast
            .iter()
            .map(|s| items.iter().position(|i| i.id == s[0].id).unwrap())
            .collect();
        assert!(firsts.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_release_and_the_statement_it_links_to_are_one_story() {
        let statement = item(1, "Joint statement on the security of undersea cables", 0);
        let mut release = item(2, "Minister welcomes international agreement", 1);
        release.links.push(statement.url.clone());
        let other = item(
            3,
            "Regional hospital restores its patient records system",
            1,
        );
        let stories = group(&[&statement, &release, &other]);
        assert_eq!(
            as_sets(&stories),
            as_sets(&[vec![&statement, &release], vec![&other]])
        );
        assert!(same_story(&release, &statement));
        let mut old = release.clone();
        old.published = statement.published.map(|p| p + chrono::Duration::days(200));
        assert!(
            !same_story(&old, &statement),
            "a link to an old page is a reference, not a story"
        );
    }
}
