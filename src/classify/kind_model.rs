//! The kind model: a multinomial logistic regression over the words of an item's title and
//! summary, trained on the labelled set, that weighs in on the rules' kind decision.
//!
//! Why a model beside the rules: scored on batches it had never seen, the rules' kind decision
//! (none, policy or incident) was right for 76–85 % of items, and most section errors were kind
//! errors; a plain word model trained on the other labelled items was as good on its own, and
//! wrong on different items. Their sum is better than either (see `rules/README.md`).
//!
//! The file (`rules/kind-model.tsv`) is written by `kizashi rules train`; its header names the
//! labelled set's hash, so a test fails when labels change and the model was not retrained.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::matcher::normalize;
use crate::model::hex;

/// The model's file name inside a rules directory.
pub const FILE_NAME: &str = "kind-model.tsv";
/// The model compiled into the binary.
pub const BUILTIN: &str = include_str!("../../rules/kind-model.tsv");
const MAGIC: &str = "kizashi-kind-model";
/// The regularisation of `kizashi rules train` (scikit-learn's `C`): chosen by scoring batches
/// held out by turns, before the model was first used.
pub const REGULARISATION: f64 = 3.0;
/// The log-odds the rules' own kind adds to its class: chosen like [`REGULARISATION`].
pub const RULE_WEIGHT: f64 = 2.0;

/// What an item is, as the report sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    None,
    Policy,
    Incident,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::None, Kind::Policy, Kind::Incident];

    pub fn name(self) -> &'static str {
        match self {
            Kind::None => "none",
            Kind::Policy => "policy",
            Kind::Incident => "incident",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The kind a labelled section implies.
    pub fn of_section(section: Option<&str>) -> Option<Kind> {
        match section {
            None => Some(Kind::None),
            Some("1") => Some(Kind::Policy),
            Some("2.1" | "2.2" | "3.1" | "3.2") => Some(Kind::Incident),
            Some(_) => None,
        }
    }
}

/// A problem with a model file or a training set, with where it is.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct Error {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// Weights per word feature and kind.
#[derive(Debug, Clone)]
pub struct KindModel {
    weights: FxHashMap<String, [f32; 3]>,
    bias: [f32; 3],
    rule_weight: f64,
    regularisation: f64,
    /// `sha256:<hex> <n> items` of the labelled set it was trained on.
    trained_on: String,
}

/// The model's verdict on one item next to the rules'.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub kind: Kind,
    /// The words that pulled most towards `kind` and away from the rules' kind, when they differ.
    pub words: Vec<String>,
}

impl KindModel {
    pub fn builtin() -> Result<KindModel, Error> {
        KindModel::parse(&format!("rules/{FILE_NAME}"), BUILTIN)
    }

    /// Sums the model's log-odds and the rules' kind: the rules' kind wins unless the words
    /// are clearly against it.
    pub fn settle(&self, title: &str, summary: &str, rules: Kind) -> Verdict {
        let mut logits = self.bias.map(f64::from);
        for_each_feature(title, summary, |feature| {
            if let Some(w) = self.weights.get(feature) {
                for (l, w) in logits.iter_mut().zip(w) {
                    *l += f64::from(*w);
                }
            }
        });
        logits[rules.index()] += self.rule_weight;
        let mut best = rules;
        for k in Kind::ALL {
            if logits[k.index()] > logits[best.index()] {
                best = k;
            }
        }
        let words = if best == rules {
            Vec::new()
        } else {
            self.pulling_words(title, summary, best, rules)
        };
        Verdict { kind: best, words }
    }

    fn pulling_words(&self, title: &str, summary: &str, to: Kind, from: Kind) -> Vec<String> {
        let mut pull: BTreeMap<String, f64> = BTreeMap::new();
        for_each_feature(title, summary, |feature| {
            if let Some(w) = self.weights.get(feature) {
                let word = feature.split_once(':').map_or(feature, |(_, w)| w);
                *pull.entry(word.to_string()).or_default() +=
                    f64::from(w[to.index()]) - f64::from(w[from.index()]);
            }
        });
        let mut ranked: Vec<(String, f64)> = pull.into_iter().filter(|(_, p)| *p > 0.0).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked.into_iter().take(3).map(|(w, _)| w).collect()
    }

    /// Reads a model file; every problem names the file and line.
    pub fn parse(file: &str, text: &str) -> Result<KindModel, Error> {
        let fail = |line: usize, reason: String| Error {
            file: file.to_string(),
            line,
            reason,
        };
        let mut model = KindModel {
            weights: FxHashMap::default(),
            bias: [0.0; 3],
            rule_weight: RULE_WEIGHT,
            regularisation: REGULARISATION,
            trained_on: String::new(),
        };
        let mut seen_magic = false;
        let mut seen_bias = false;
        for (n, line) in text.lines().enumerate() {
            let n = n + 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let key = fields[0];
            if !seen_magic {
                if key != MAGIC || fields.get(1) != Some(&"1") {
                    return Err(fail(n, format!("not a kind model (expected `{MAGIC}\t1`)")));
                }
                seen_magic = true;
                continue;
            }
            let number = |i: usize| -> Result<f64, Error> {
                let raw = fields
                    .get(i)
                    .ok_or_else(|| fail(n, format!("{key}: expected {i} values")))?;
                raw.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| fail(n, format!("{key}: {raw:?} is not a number")))
            };
            let three = || -> Result<[f32; 3], Error> {
                if fields.len() != 4 {
                    return Err(fail(n, format!("{key}: expected three weights")));
                }
                Ok([number(1)? as f32, number(2)? as f32, number(3)? as f32])
            };
            match key {
                "trained_on" => model.trained_on = fields[1..].join(" "),
                "regularisation" => model.regularisation = number(1)?,
                "rule_weight" => model.rule_weight = number(1)?,
                "classes" => {
                    if fields[1..] != ["none", "policy", "incident"] {
                        return Err(fail(n, "classes must be none, policy, incident".into()));
                    }
                }
                "bias" => {
                    model.bias = three()?;
                    seen_bias = true;
                }
                _ if key.starts_with("T:") || key.starts_with("S:") || key.starts_with("A:") => {
                    if model.weights.insert(key.to_string(), three()?).is_some() {
                        return Err(fail(n, format!("{key}: given twice")));
                    }
                }
                _ => return Err(fail(n, format!("unknown line {key:?}"))),
            }
        }
        if !seen_magic {
            return Err(fail(0, "empty model file".into()));
        }
        if !seen_bias {
            return Err(fail(0, "no `bias` line".into()));
        }
        Ok(model)
    }

    /// The file `parse` reads back: features in name order, weights to four decimals.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# The kind model: log-odds of none, policy and incident per word of an item's title (T:),\n\
             # summary (S:) or either (A:). Written by `kizashi rules train`; do not edit by hand:\n\
             # add labelled items to tests/eval/items.jsonl and train again.\n",
        );
        let _ = writeln!(out, "{MAGIC}\t1");
        let _ = writeln!(out, "trained_on\t{}", self.trained_on.replace(' ', "\t"));
        let _ = writeln!(out, "regularisation\t{}", self.regularisation);
        let _ = writeln!(out, "rule_weight\t{}", self.rule_weight);
        out.push_str("classes\tnone\tpolicy\tincident\n");
        let _ = writeln!(
            out,
            "bias\t{:.4}\t{:.4}\t{:.4}",
            self.bias[0], self.bias[1], self.bias[2]
        );
        let mut features: Vec<(&String, &[f32; 3])> = self.weights.iter().collect();
        features.sort_by(|a, b| a.0.cmp(b.0));
        for (feature, w) in features {
            let _ = writeln!(out, "{feature}\t{:.4}\t{:.4}\t{:.4}", w[0], w[1], w[2]);
        }
        out
    }

    /// `sha256:<hex> <n> items` of the set the model was trained on.
    pub fn trained_on(&self) -> &str {
        &self.trained_on
    }

    pub fn features(&self) -> usize {
        self.weights.len()
    }
}

/// Calls `f` with every feature of an item, once per occurrence: each title word as `T:` and
/// `A:`, each summary word as `S:` and `A:`. Words are runs of letters and digits (inner
/// apostrophes and hyphens kept); Japanese and Chinese text, which has no spaces, gives
/// overlapping pairs of characters.
fn for_each_feature(title: &str, summary: &str, mut f: impl FnMut(&str)) {
    let mut key = String::new();
    for (prefix, text) in [("T:", title), ("S:", summary)] {
        for_each_token(&normalize(text), |token| {
            for p in [prefix, "A:"] {
                key.clear();
                key.push_str(p);
                key.push_str(token);
                f(&key);
            }
        });
    }
}

fn is_cjk(ch: char) -> bool {
    matches!(ch, '\u{3005}' | '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

fn for_each_token(text: &str, mut f: impl FnMut(&str)) {
    let mut word = String::new();
    let mut run: Vec<char> = Vec::new();
    let mut pair = String::new();
    let flush_word = |word: &mut String, f: &mut dyn FnMut(&str)| {
        let trimmed = word.trim_end_matches(['\'', '’', '-']);
        if !trimmed.is_empty() {
            f(trimmed);
        }
        word.clear();
    };
    let mut flush_run = |run: &mut Vec<char>, f: &mut dyn FnMut(&str)| {
        if run.len() == 1 {
            pair.clear();
            pair.push(run[0]);
            f(&pair);
        }
        for two in run.windows(2) {
            pair.clear();
            pair.extend(two);
            f(&pair);
        }
        run.clear();
    };
    for ch in text.chars() {
        if is_cjk(ch) {
            flush_word(&mut word, &mut f);
            run.push(ch);
        } else if ch.is_alphanumeric() {
            flush_run(&mut run, &mut f);
            word.push(ch);
        } else if !word.is_empty() && matches!(ch, '\'' | '’' | '-') {
            word.push(ch);
        } else {
            flush_word(&mut word, &mut f);
            flush_run(&mut run, &mut f);
        }
    }
    flush_word(&mut word, &mut f);
    flush_run(&mut run, &mut f);
}

/// One labelled item of the training set (the evaluation set's lines; other fields ignored).
#[derive(Debug, Deserialize)]
struct Labelled {
    title: String,
    #[serde(default)]
    summary: String,
    section: Option<String>,
}

/// An item to learn from.
#[derive(Debug, Clone)]
pub struct Example {
    pub title: String,
    pub summary: String,
    pub kind: Kind,
}

/// Reads a labelled set (JSON lines with `title`, `summary` and `section`).
pub fn read_examples(file: &str, text: &str) -> Result<Vec<Example>, Error> {
    let mut examples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fail = |reason: String| Error {
            file: file.to_string(),
            line: n + 1,
            reason,
        };
        let item: Labelled = serde_json::from_str(line).map_err(|e| fail(e.to_string()))?;
        let kind = Kind::of_section(item.section.as_deref()).ok_or_else(|| {
            fail(format!(
                "section {:?} is not 1, 2.1, 2.2, 3.1, 3.2 or null",
                item.section
            ))
        })?;
        examples.push(Example {
            title: item.title,
            summary: item.summary,
            kind,
        });
    }
    if examples.is_empty() {
        return Err(Error {
            file: file.to_string(),
            line: 0,
            reason: "no labelled items".into(),
        });
    }
    Ok(examples)
}

/// `sha256:<hex> <n> items`, as a model's header records its training set.
pub fn describe_set(text: &str, items: usize) -> String {
    format!(
        "sha256:{} {items} items",
        hex(&Sha256::digest(text.as_bytes()))
    )
}

/// Fits the model by L-BFGS on `regularisation · Σ log-loss + ½‖W‖²` (the intercepts are not
/// penalised), the objective of scikit-learn's `LogisticRegression(C=regularisation)`.
pub fn train(examples: &[Example], regularisation: f64, trained_on: String) -> KindModel {
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let rows: Vec<(Vec<(usize, f64)>, usize)> = examples
        .iter()
        .map(|e| {
            let mut counts: BTreeMap<usize, f64> = BTreeMap::new();
            for_each_feature(&e.title, &e.summary, |feature| {
                let next = index.len();
                let i = *index.entry(feature.to_string()).or_insert(next);
                *counts.entry(i).or_default() += 1.0;
            });
            (counts.into_iter().collect(), e.kind.index())
        })
        .collect();
    let features = index.len();
    let objective = |theta: &[f64], grad: &mut [f64]| -> f64 {
        grad.fill(0.0);
        let (w, b) = theta.split_at(features * 3);
        let mut loss = 0.0;
        for (x, y) in &rows {
            let mut logits = [b[0], b[1], b[2]];
            for &(i, v) in x {
                for (k, l) in logits.iter_mut().enumerate() {
                    *l += w[i * 3 + k] * v;
                }
            }
            let top = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = logits.iter().map(|l| (l - top).exp()).sum();
            let log_sum = top + sum.ln();
            loss += log_sum - logits[*y];
            for k in 0..3 {
                let p = (logits[k] - log_sum).exp();
                let d = regularisation * (p - if k == *y { 1.0 } else { 0.0 });
                for &(i, v) in x {
                    grad[i * 3 + k] += d * v;
                }
                grad[features * 3 + k] += d;
            }
        }
        let mut penalty = 0.0;
        for (g, t) in grad[..features * 3].iter_mut().zip(w) {
            *g += t;
            penalty += t * t;
        }
        regularisation * loss + 0.5 * penalty
    };
    let theta = lbfgs(features * 3 + 3, objective);
    let (w, b) = theta.split_at(features * 3);
    let weights = index
        .into_iter()
        .filter_map(|(feature, i)| {
            let v = [w[i * 3] as f32, w[i * 3 + 1] as f32, w[i * 3 + 2] as f32];
            // Weights that round to 0.0000 in the file change nothing.
            v.iter().any(|x| x.abs() >= 0.00005).then_some((feature, v))
        })
        .collect();
    KindModel {
        weights,
        bias: [b[0] as f32, b[1] as f32, b[2] as f32],
        rule_weight: RULE_WEIGHT,
        regularisation,
        trained_on,
    }
}

/// Minimises a smooth convex function from zero: limited-memory BFGS (ten pairs) with a
/// backtracking line search.
fn lbfgs(n: usize, mut f: impl FnMut(&[f64], &mut [f64]) -> f64) -> Vec<f64> {
    const MEMORY: usize = 10;
    const MAX_ITERATIONS: usize = 1000;
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut x = vec![0.0; n];
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let mut pairs: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> = Default::default();
    let mut next = vec![0.0; n];
    let mut next_g = vec![0.0; n];
    for iteration in 0..MAX_ITERATIONS {
        if g.iter().all(|v| v.abs() < 1e-5) {
            break;
        }
        // Two-loop recursion: d = -H·g.
        let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
        let mut alphas = Vec::with_capacity(pairs.len());
        for (s, y, rho) in pairs.iter().rev() {
            let a = rho * dot(s, &d);
            for (di, yi) in d.iter_mut().zip(y) {
                *di -= a * yi;
            }
            alphas.push(a);
        }
        if let Some((s, y, _)) = pairs.back() {
            let gamma = dot(s, y) / dot(y, y);
            d.iter_mut().for_each(|v| *v *= gamma);
        }
        for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
            let beta = rho * dot(y, &d);
            for (di, si) in d.iter_mut().zip(s) {
                *di += (a - beta) * si;
            }
        }
        let slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): start the memory again.
            pairs.clear();
            d = g.iter().map(|v| -v).collect();
        }
        let slope = dot(&g, &d);
        let mut step = if iteration == 0 {
            1.0 / dot(&g, &g).sqrt().max(1.0)
        } else {
            1.0
        };
        let mut accepted = false;
        for _ in 0..50 {
            for ((ni, xi), di) in next.iter_mut().zip(&x).zip(&d) {
                *ni = xi + step * di;
            }
            let f_next = f(&next, &mut next_g);
            if f_next <= fx + 1e-4 * step * slope {
                let s: Vec<f64> = next.iter().zip(&x).map(|(a, b)| a - b).collect();
                let y: Vec<f64> = next_g.iter().zip(&g).map(|(a, b)| a - b).collect();
                let sy = dot(&s, &y);
                if sy > 1e-12 {
                    if pairs.len() == MEMORY {
                        pairs.pop_front();
                    }
                    pairs.push_back((s, y, 1.0 / sy));
                }
                let improvement = fx - f_next;
                std::mem::swap(&mut x, &mut next);
                std::mem::swap(&mut g, &mut next_g);
                fx = f_next;
                accepted = improvement > 1e-12 * fx.abs().max(1.0);
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_token(&normalize(text), |t| out.push(t.to_string()));
        out
    }

    #[test]
    fn words_and_character_pairs() {
        assert_eq!(
            tokens("L’hôpital d'Armentières hit by Ransomware-as-a-service -"),
            [
                "l’hôpital",
                "d'armentières",
                "hit",
                "by",
                "ransomware-as-a-service"
            ]
        );
        assert_eq!(
            tokens("名古屋港でシステム障害、ＡＢＣ"),
            [
                "名古", "古屋", "屋港", "港で", "でシ", "シス", "ステ", "テム", "ム障", "障害",
                "abc"
            ]
        );
        assert_eq!(tokens("港 a"), ["港", "a"]);
    }

    fn example(title: &str, kind: Kind) -> Example {
        Example {
            title: title.into(),
            summary: String::new(),
            kind,
        }
    }

    #[test]
    fn learns_words_and_round_trips_through_its_file() {
        let examples = vec![
            example("hospital hit by ransomware", Kind::Incident),
            example("airport hit by ransomware", Kind::Incident),
            example("port systems down after attack", Kind::Incident),
            example("government publishes cyber strategy", Kind::Policy),
            example("new cyber law passed", Kind::Policy),
            example("agency publishes guidance", Kind::Policy),
            example("webinar next week", Kind::None),
            example("patch tuesday bulletin", Kind::None),
            example("weekly bulletin", Kind::None),
        ];
        // Ten of each, so that the words are learnt with some confidence.
        let examples: Vec<Example> = (0..10).flat_map(|_| examples.clone()).collect();
        let model = train(&examples, REGULARISATION, "test".into());
        assert_eq!(
            model.settle("bank hit by ransomware", "", Kind::None).kind,
            Kind::Incident
        );
        let v = model.settle("ministry publishes strategy", "", Kind::None);
        assert_eq!(v.kind, Kind::Policy);
        assert!(v.words.contains(&"publishes".to_string()), "{:?}", v.words);
        // Agreement costs nothing and says nothing.
        let v = model.settle("weekly bulletin", "", Kind::None);
        assert_eq!((v.kind, v.words.len()), (Kind::None, 0));
        // Words the model never saw leave the rules' kind as it is.
        assert_eq!(model.settle("zzz", "", Kind::Policy).kind, Kind::Policy);

        let text = model.to_text();
        let back = KindModel::parse("m.tsv", &text).unwrap();
        assert_eq!(back.to_text(), text);
        assert_eq!(back.features(), model.features());
    }

    #[test]
    fn a_broken_file_names_its_line() {
        let good = KindModel::builtin().unwrap().to_text();
        let cases = [
            ("", "empty model file"),
            ("something else\n", "not a kind model"),
            (&good.replace("bias\t", "bais\t"), "unknown line \"bais\""),
            (&format!("{good}A:x\t1\t2\n"), "expected three weights"),
            (&format!("{good}A:x\t1\tnan\t2\n"), "is not a number"),
            (
                &format!("{good}A:x\t1\t1\t2\nA:x\t1\t1\t2\n"),
                "given twice",
            ),
        ];
        for (text, wanted) in cases {
            let e = KindModel::parse("m.tsv", text).unwrap_err().to_string();
            assert!(e.starts_with("m.tsv:") && e.contains(wanted), "{e}");
        }
    }

    #[test]
    fn a_labelled_set_with_a_wrong_section_names_its_line() {
        let e = read_examples("set.jsonl", "{\"title\":\"a\",\"section\":\"4\"}\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("set.jsonl:1: section"), "{e}");
        let ok =
            read_examples("set.jsonl", "{\"title\":\"a\",\"section\":null,\"x\":1}\n").unwrap();
        assert_eq!(ok[0].kind, Kind::None);
    }
}
