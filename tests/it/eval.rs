//! The labelled evaluation set (`tests/eval/items.jsonl`) scored with the built-in rules: the
//! bar of issue 3 (section accuracy and sector recall of at least 90 %), with the confusion
//! table and the misclassified items printed so that a failing run says what to fix.
//!
//! Each item names its part in `split`:
//! - `tune`: the items the rules were tuned on;
//! - `heldout`: held out while the rules were tuned (originally every fourth item);
//! - `fresh`: a later held-out portion of real items from sources and quarters not otherwise in
//!   the set, scored before any rule was changed for them;
//! - `fresh2`: a second unseen batch (more operators, municipalities, agencies and trap items in
//!   three languages), labelled and scored before any rule was changed for it;
//! - `fresh3`: a third unseen batch weighted towards the 15 sectors (at least four items each, in
//!   Japanese, English and French), labelled and scored before any rule was changed for it;
//! - `fresh4`: a fourth unseen batch of kinds and sources not in the earlier parts (policy of KR,
//!   TW, NL, IN, NZ, IL and EU bodies, casinos and universities abroad, prefectures' DDoS, vendor
//!   marketing and customer cautions as traps), labelled and scored before any rule was changed
//!   for it;
//! - `fresh5`: a fifth unseen batch mixed like a quarter's stream (a third each Japanese and
//!   English, a quarter French): policy of CH, MY, BE, IT, CA, EU, US and AU, Japanese reports of
//!   foreign policy and English reports of Japanese policy, incidents abroad and in Japan in most
//!   sectors (outages with no attacker among them), and many items with no section (routine
//!   advisories, patch news, a weekly digest, customer cautions, event notices, commentary and
//!   op-eds, non-cyber news), labelled and scored before any rule was changed for it.
//! - `fresh6`: a sixth batch, sealed: labelled by someone who did not see the classifier or the
//!   rule changes, and kept out of the repository until the rules tuned on fresh5 were final.
//! - `fresh7`: a seventh batch, sealed like fresh6, scored once with the rules tuned through fresh6
//!   and left untuned so that its figure stays honest.
//! - `fresh8`: an eighth batch, sealed like fresh6, weighted towards victims named only by
//!   their organisation's name; scored once after `organisations.toml` was written (from
//!   general knowledge, not from any batch's titles).
//! - `fresh9`: a ninth batch, sealed like fresh6, scored once with the rules tuned through fresh8,
//!   with and without the kind model (which had been trained on the parts above).
//! - `fresh10`: a tenth batch, sealed like fresh6, scored once with the rules of fresh9 and the
//!   kind model trained on every part through fresh9; then tuned on in general terms.
//! - `fresh11`: an eleventh batch, sealed like fresh6, scored once with the rules and the kind
//!   model of fresh10; tuned on in general terms a session later.
//! - `fresh12`: a twelfth batch, sealed like fresh6, scored once with the rules (organisations.toml
//!   grown to 2,356 names) and the kind model of fresh11; tuned on in general terms a session
//!   later.
//! - `fresh13` … `fresh16`: four batches sealed like fresh6 and labelled side by side (English and
//!   agencies' feeds; Japanese news and notices; French and European; operators' own notices and
//!   local news), each scored once on arrival with the rules and kind model of the moment, then
//!   tuned on in general terms. Items that repeated one already in the set (same address or
//!   title) were left out.
//! - `fresh17`, `fresh19`, `fresh20`: three more sealed batches of that kind (agencies' feeds and
//!   look-alikes; incidents abroad in many countries; headlines picked to be hard), scored once on
//!   arrival, then tuned on in general terms. Items whose summary the labeller wrote in their own
//!   words were left out (and the whole of a fourth batch, fresh18, which did not say which).
//! - `fresh24` … `fresh31`: eight more sealed batches (session 8), each scored once on arrival and
//!   then tuned on in general terms; items repeating one in the set and titles read from a page's
//!   URL were left out.
//! - `fresh32` … `fresh37`: six more (session 9: agencies' own feeds; security news; operators'
//!   own notices; trade press and law firms; Japanese; French-speaking countries and the rest of
//!   the world), each scored once on arrival with session 8's rules and model; fresh33, fresh36
//!   and fresh37 were scored a second time, unseen, after fixes drawn from the other three.
//! - `fresh38` … `fresh40`: three more (session 9), scored once on arrival with the fixes of
//!   fresh32–37, then tuned on in general terms.
//! - `fresh41` … `fresh47`: session 9's last batch and session 10's six, scored once on arrival,
//!   then tuned on in general terms.
//! - `fresh50` … `fresh61`: session 11's twelve; four scored on arrival with session 10's code and
//!   tuned on, six scored once with those fixes, then tuned on, and the last two (fresh60 and
//!   fresh61) scored once at the end of the session, then added.
//!
//! The held-out parts are printed separately because an acceptance check scores a set this
//! repository does not contain, and only the held-out figures say how well the rules
//! generalise. Their misclassified items stay hidden unless `KIZASHI_EVAL_SHOW_HELDOUT=1`, so
//! that tuning does not quietly turn them into training items.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use kizashi::classify::kind_model::{self, KindModel};
use kizashi::classify::kind_training;
use kizashi::classify::{Classifier, Input, rules};
use kizashi::model::{Section, Sector};
use serde::Deserialize;

const BAR: f64 = 0.90;
const SET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/eval/items.jsonl");
const NONE: &str = "none";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    title: String,
    summary: String,
    publisher: String,
    /// The publisher's country (ISO 3166-1 alpha-2).
    country: String,
    lang: String,
    #[serde(default)]
    source_sector: Option<String>,
    section: Option<String>,
    /// `policy` for Japanese policy, which has no section but is what the kind model learns as
    /// policy. Only training reads it (`kind_training::read_examples`, which refuses any other
    /// use; the freshness test below reads the set that way); the section is what is scored.
    #[serde(default)]
    #[allow(dead_code)]
    kind: Option<String>,
    #[serde(default)]
    policy_country: Option<String>,
    sectors: Vec<String>,
    /// Where the title and summary were taken from (a page or a repository copy of it).
    #[serde(default)]
    url: Option<String>,
    /// `tune`, `heldout`, `fresh`, `fresh2` … `fresh5` (see the module documentation).
    split: String,
    note: String,
}

fn load() -> Vec<Item> {
    let text = std::fs::read_to_string(SET).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{SET}:{}: {e}", n + 1)))
        .collect()
}

const SPLITS: [&str; 57] = [
    "tune", "heldout", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7",
    "fresh8", "fresh9", "fresh10", "fresh11", "fresh12", "fresh13", "fresh14", "fresh15",
    "fresh16", "fresh17", "fresh19", "fresh20", "fresh24", "fresh25", "fresh26", "fresh27",
    "fresh28", "fresh29", "fresh30", "fresh31", "fresh32", "fresh33", "fresh34", "fresh35",
    "fresh36", "fresh37", "fresh38", "fresh39", "fresh40", "fresh41", "fresh42", "fresh43",
    "fresh44", "fresh45", "fresh46", "fresh47", "fresh50", "fresh51", "fresh52", "fresh53",
    "fresh54", "fresh55", "fresh56", "fresh57", "fresh58", "fresh59", "fresh60", "fresh61",
];

fn held_out(items: &[Item], index: usize) -> bool {
    items[index].split != "tune"
}

/// What the classifier said about one item, next to what the label says.
struct Outcome {
    index: usize,
    expected: String,
    predicted: String,
    expected_country: Option<String>,
    predicted_country: Option<String>,
    expected_sectors: BTreeSet<String>,
    predicted_sectors: BTreeSet<String>,
}

impl Outcome {
    /// Section 1 is only right with the right country: the report files it under that country.
    fn section_right(&self) -> bool {
        self.expected == self.predicted
            && (self.expected != "1" || self.expected_country == self.predicted_country)
    }
}

fn run(items: &[Item]) -> Vec<Outcome> {
    run_with(&Classifier::builtin().unwrap(), items)
}

fn run_with(classifier: &Classifier, items: &[Item]) -> Vec<Outcome> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let sector = item
                .source_sector
                .as_deref()
                .map(|s| s.parse::<Sector>().unwrap());
            let c = classifier.classify(Input {
                title: &item.title,
                summary: &item.summary,
                country: &item.country,
                sector,
                publisher: &item.publisher,
            });
            Outcome {
                index,
                expected: item.section.clone().unwrap_or_else(|| NONE.into()),
                predicted: c
                    .section
                    .map(|s| s.code().to_string())
                    .unwrap_or_else(|| NONE.into()),
                expected_country: item.policy_country.clone(),
                predicted_country: c.country.clone(),
                expected_sectors: item.sectors.iter().cloned().collect(),
                predicted_sectors: c.sectors.iter().map(|s| s.slug().to_string()).collect(),
            }
        })
        .collect()
}

struct Scores {
    items: usize,
    section_accuracy: f64,
    /// Micro-averaged over the items whose label has sectors.
    sector_recall: f64,
    /// Micro-averaged over the items whose label has a section (only candidates carry sectors).
    sector_precision: f64,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

fn scores<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> Scores {
    let (mut n, mut right, mut tp, mut fn_, mut fp) = (0, 0, 0, 0, 0);
    for o in outcomes {
        n += 1;
        right += usize::from(o.section_right());
        if o.expected != NONE {
            tp += o
                .expected_sectors
                .intersection(&o.predicted_sectors)
                .count();
            fn_ += o.expected_sectors.difference(&o.predicted_sectors).count();
            fp += o.predicted_sectors.difference(&o.expected_sectors).count();
        }
    }
    Scores {
        items: n,
        section_accuracy: ratio(right, n),
        sector_recall: ratio(tp, tp + fn_),
        sector_precision: ratio(tp, tp + fp),
    }
}

fn section_codes() -> Vec<String> {
    Section::ALL
        .iter()
        .map(|s| s.code().to_string())
        .chain([NONE.to_string()])
        .collect()
}

fn confusion(outcomes: &[Outcome]) -> String {
    let codes = section_codes();
    let mut table: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for o in outcomes {
        *table
            .entry((o.expected.as_str(), o.predicted.as_str()))
            .or_default() += 1;
    }
    let mut out = String::from("expected \\ predicted");
    for c in &codes {
        let _ = write!(out, "{c:>6}");
    }
    out.push_str("  recall precision\n");
    for row in &codes {
        let _ = write!(out, "{row:<20}");
        for col in &codes {
            let _ = write!(
                out,
                "{:>6}",
                table.get(&(row.as_str(), col.as_str())).unwrap_or(&0)
            );
        }
        let diag = *table.get(&(row.as_str(), row.as_str())).unwrap_or(&0);
        let row_total: usize = codes
            .iter()
            .map(|c| table.get(&(row.as_str(), c.as_str())).unwrap_or(&0))
            .sum();
        let col_total: usize = codes
            .iter()
            .map(|c| table.get(&(c.as_str(), row.as_str())).unwrap_or(&0))
            .sum();
        let _ = writeln!(
            out,
            "  {:>5.1}% {:>8.1}%",
            100.0 * ratio(diag, row_total),
            100.0 * ratio(diag, col_total)
        );
    }
    out
}

fn sector_table(outcomes: &[Outcome]) -> String {
    let mut out = String::from("sector        items  recall  precision\n");
    for s in Sector::ALL {
        let slug = s.slug();
        let (mut tp, mut fn_, mut fp) = (0, 0, 0);
        for o in outcomes.iter().filter(|o| o.expected != NONE) {
            match (
                o.expected_sectors.contains(slug),
                o.predicted_sectors.contains(slug),
            ) {
                (true, true) => tp += 1,
                (true, false) => fn_ += 1,
                (false, true) => fp += 1,
                (false, false) => {}
            }
        }
        let _ = writeln!(
            out,
            "{slug:<12} {:>6}  {:>5.1}%  {:>8.1}%",
            tp + fn_,
            100.0 * ratio(tp, tp + fn_),
            100.0 * ratio(tp, tp + fp)
        );
    }
    out
}

fn line(items: &[Item], o: &Outcome) -> String {
    let item = &items[o.index];
    let mut what = format!("expected {} got {}", o.expected, o.predicted);
    if o.expected == "1" || o.predicted == "1" {
        let _ = write!(
            what,
            " (country {} / {})",
            o.expected_country.as_deref().unwrap_or("-"),
            o.predicted_country.as_deref().unwrap_or("-")
        );
    }
    if o.expected != NONE && o.expected_sectors != o.predicted_sectors {
        let _ = write!(
            what,
            " sectors {:?} / {:?}",
            o.expected_sectors, o.predicted_sectors
        );
    }
    format!(
        "  #{:<3} [{} {}] {what}: {}",
        o.index, item.country, item.publisher, item.title
    )
}

#[test]
fn labelled_set_covers_every_section_sector_and_language() {
    let items = load();
    assert!(items.len() >= 200, "{} items", items.len());
    let mut sections: BTreeMap<String, usize> = BTreeMap::new();
    let mut sectors: BTreeMap<String, usize> = BTreeMap::new();
    let mut langs: BTreeMap<&str, usize> = BTreeMap::new();
    for item in &items {
        assert!(!item.title.trim().is_empty() && !item.note.trim().is_empty());
        assert!(
            SPLITS.contains(&item.split.as_str()),
            "split {:?}: {}",
            item.split,
            item.title
        );
        assert!(
            item.url.as_deref().is_none_or(|u| !u.trim().is_empty()),
            "empty url: {}",
            item.title
        );
        assert_eq!(item.country.len(), 2, "{}", item.title);
        let section = item.section.clone().unwrap_or_else(|| NONE.into());
        if let Some(s) = &item.section {
            s.parse::<Section>().unwrap();
        } else {
            assert!(
                item.sectors.is_empty(),
                "sectors without a section: {}",
                item.title
            );
        }
        assert_eq!(
            item.section.as_deref() == Some("1"),
            item.policy_country.is_some(),
            "policy_country goes with section 1 only: {}",
            item.title
        );
        for s in item.sectors.iter().chain(&item.source_sector) {
            s.parse::<Sector>().unwrap();
        }
        *sections.entry(section).or_default() += 1;
        for s in &item.sectors {
            *sectors.entry(s.clone()).or_default() += 1;
        }
        *langs.entry(item.lang.as_str()).or_default() += 1;
    }
    for code in section_codes() {
        assert!(
            sections.get(&code).is_some_and(|n| *n >= 10),
            "section {code}: {sections:?}"
        );
    }
    for s in Sector::ALL {
        assert!(
            sectors.get(s.slug()).is_some_and(|n| *n >= 3),
            "sector {s}: {sectors:?}"
        );
    }
    for (lang, min) in [("ja", 20), ("en", 20), ("fr", 20)] {
        assert!(langs.get(lang).is_some_and(|n| *n >= min), "{langs:?}");
    }
}

#[test]
fn classification_meets_the_bar_on_the_labelled_set() {
    let items = load();
    let outcomes = run(&items);
    let all = scores(outcomes.iter());
    let part = |name: &str| scores(outcomes.iter().filter(|o| items[o.index].split == name));
    println!(
        "\nsections (rows = expected, columns = predicted):\n{}",
        confusion(&outcomes)
    );
    println!(
        "sectors (items whose label has a section):\n{}",
        sector_table(&outcomes)
    );
    let parts: Vec<(String, Scores)> = SPLITS
        .iter()
        .map(|name| (format!("{name} part"), part(name)))
        .collect();
    for (name, s) in
        std::iter::once(("all", &all)).chain(parts.iter().map(|(n, s)| (n.as_str(), s)))
    {
        println!(
            "{name:<14} {:>4} items  section accuracy {:>5.1}%  sector recall {:>5.1}%  sector precision {:>5.1}%",
            s.items,
            100.0 * s.section_accuracy,
            100.0 * s.sector_recall,
            100.0 * s.sector_precision
        );
    }

    let show_held = std::env::var_os("KIZASHI_EVAL_SHOW_HELDOUT").is_some();
    let wrong: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| {
            !o.section_right() || (o.expected != NONE && o.expected_sectors != o.predicted_sectors)
        })
        .collect();
    println!("\nmisclassified (section or sectors):");
    let mut hidden = 0;
    for o in &wrong {
        if held_out(&items, o.index) && !show_held {
            hidden += 1;
        } else {
            println!("{}", line(&items, o));
        }
    }
    if hidden > 0 {
        println!("  … and {hidden} held-out items (KIZASHI_EVAL_SHOW_HELDOUT=1 to list them)");
    }

    assert!(
        all.section_accuracy >= BAR,
        "section accuracy {:.1}% is below {:.0}%",
        100.0 * all.section_accuracy,
        100.0 * BAR
    );
    assert!(
        all.sector_recall >= BAR,
        "sector recall {:.1}% is below {:.0}%",
        100.0 * all.sector_recall,
        100.0 * BAR
    );
}

/// The built-in rules with another kind model.
fn classifier_with_model(model_text: String) -> Classifier {
    let mut files: Vec<(String, String)> = rules::builtin_files()
        .into_iter()
        .filter(|(name, _)| name.ends_with(".toml"))
        .collect();
    files.push((kind_model::FILE_NAME.to_string(), model_text));
    Classifier::from_files(&files).unwrap()
}

// The model must be the one `kizashi rules train` makes from this set: labels changed without
// training again would leave the shipped model behind the set it is scored on.
#[test]
fn the_kind_model_is_the_one_trained_on_this_set() {
    let text = std::fs::read_to_string(SET).unwrap();
    let examples = kind_training::read_examples(SET, &text).unwrap();
    let described = kind_training::describe_set(&text, examples.len());
    let shipped = KindModel::builtin().unwrap();
    assert_eq!(
        shipped.trained_on(),
        described,
        "rules/kind-model.tsv was trained on another labelled set: run `cargo run --release -- rules train`"
    );
    let again = kind_training::train(&examples, kind_training::REGULARISATION, described);
    assert!(
        again.to_text() == kind_model::BUILTIN,
        "training again on the same set gave another model"
    );
}

/// Parts no rule was tuned on: their rows in the test below are unseen by the rules and the model.
const UNTUNED: [&str; 1] = ["fresh7"];

// An honest figure for the kind model: each part scored by a model trained on every other part.
// On parts the rules were tuned on, the rules alone are right by construction and the model can
// only disagree; the parts in UNTUNED say what it does on items nobody has seen.
#[test]
#[ignore = "trains the kind model once per part; run with --release -- --ignored --nocapture"]
fn kind_model_scored_on_parts_it_was_not_trained_on() {
    let items = load();
    let text = std::fs::read_to_string(SET).unwrap();
    let examples = kind_training::read_examples(SET, &text).unwrap();
    assert_eq!(examples.len(), items.len());
    let rules_alone = classifier_with_model(kind_model::NEUTRAL.into());
    println!(
        "\npart         items  section accuracy: rules alone / with a model trained without the part"
    );
    let (mut right_alone, mut right_with, mut n) = (0.0, 0.0, 0);
    let (mut untuned_alone, mut untuned_with) = (0.0, 0.0);
    for part in SPLITS {
        let train_on: Vec<kind_training::Example> = examples
            .iter()
            .zip(&items)
            .filter(|(_, item)| item.split != part)
            .map(|(e, _)| e.clone())
            .collect();
        let model = kind_training::train(&train_on, kind_training::REGULARISATION, part.into());
        let with_model = classifier_with_model(model.to_text());
        let held: Vec<Item> = load().into_iter().filter(|i| i.split == part).collect();
        let alone = scores(run_with(&rules_alone, &held).iter());
        let with = scores(run_with(&with_model, &held).iter());
        println!(
            "{part:<12} {:>5}  {:>5.1}% / {:>5.1}%",
            held.len(),
            100.0 * alone.section_accuracy,
            100.0 * with.section_accuracy
        );
        if UNTUNED.contains(&part) {
            untuned_alone += alone.section_accuracy * held.len() as f64;
            untuned_with += with.section_accuracy * held.len() as f64;
        }
        right_alone += alone.section_accuracy * held.len() as f64;
        right_with += with.section_accuracy * held.len() as f64;
        n += held.len();
    }
    let (alone, with) = (right_alone / n as f64, right_with / n as f64);
    println!(
        "all          {n:>5}  {:>5.1}% / {:>5.1}%",
        100.0 * alone,
        100.0 * with
    );
    // The model is there to help on what nobody has seen; if it hurts there, it should not ship.
    assert!(
        untuned_with > untuned_alone,
        "the kind model does not raise accuracy on the untuned parts {UNTUNED:?}"
    );
}
