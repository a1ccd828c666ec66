//! Training the kind model ([`super::kind_model`]) on a labelled set: `kizashi rules train`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::kind_model::{Error, Kind, MAGIC, RULE_WEIGHT, for_each_feature};
use crate::model::hex;

/// The regularisation (scikit-learn's `C`): chosen with [`RULE_WEIGHT`] on sealed batches scored
/// as they arrived (see there).
pub const REGULARISATION: f64 = 6.0;

/// Features whose weights are all smaller are left out of the file: two in three of them. On the
/// 1,510 labelled items, leave-one-part-out accuracy was 91.5 % with 16,731 features (0.02),
/// 91.7 % with 5,428 (0.05) and 91.1 % with 1,456 (0.1); the model's memory went with the count.
const PRUNE: f32 = 0.05;

/// A trained model, as its file will say it.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    weights: BTreeMap<String, [f32; 3]>,
    bias: [f32; 3],
    regularisation: f64,
    trained_on: String,
}

impl TrainedModel {
    /// The file [`super::kind_model::KindModel::parse`] reads: features in name order, weights to
    /// four decimals.
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
        let _ = writeln!(out, "rule_weight\t{RULE_WEIGHT}");
        out.push_str("classes\tnone\tpolicy\tincident\n");
        let _ = writeln!(
            out,
            "bias\t{:.4}\t{:.4}\t{:.4}",
            self.bias[0], self.bias[1], self.bias[2]
        );
        for (feature, w) in &self.weights {
            let _ = writeln!(out, "{feature}\t{:.4}\t{:.4}\t{:.4}", w[0], w[1], w[2]);
        }
        out
    }

    /// The number of features with a weight.
    pub fn features(&self) -> usize {
        self.weights.len()
    }
}

/// One labelled item of the training set (the evaluation set's lines; other fields ignored).
#[derive(Debug, Deserialize)]
struct Labelled {
    title: String,
    #[serde(default)]
    summary: String,
    section: Option<String>,
    /// The item's kind where its section does not tell it: Japanese policy has no section but
    /// is policy, and learning it as "none" would teach the model that policy words in Japanese
    /// mean nothing.
    #[serde(default)]
    kind: Option<String>,
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
        let by_section = Kind::of_section(item.section.as_deref()).ok_or_else(|| {
            fail(format!(
                "section {:?} is not 1, 2.1, 2.2, 3.1, 3.2 or null",
                item.section
            ))
        })?;
        let kind = match item.kind.as_deref() {
            None => by_section,
            // Only an item without a section can be given another kind: one with a section
            // already says what it is.
            Some("policy") if by_section == Kind::None => Kind::Policy,
            Some(other) => {
                return Err(fail(format!(
                    "kind {other:?} with section {:?}: only \"policy\" with section null \
                     (Japanese policy) may be given",
                    item.section
                )));
            }
        };
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
pub fn train(examples: &[Example], regularisation: f64, trained_on: String) -> TrainedModel {
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
            v.iter().any(|x| x.abs() >= PRUNE).then_some((feature, v))
        })
        .collect();
    TrainedModel {
        weights,
        bias: [b[0] as f32, b[1] as f32, b[2] as f32],
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
    use crate::classify::kind_model::KindModel;

    fn example(title: &str, kind: Kind) -> Example {
        Example {
            title: title.into(),
            summary: String::new(),
            kind,
        }
    }

    #[test]
    fn learns_words_and_its_file_reads_back() {
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
        let trained = train(&examples, REGULARISATION, "test".into());
        let text = trained.to_text();
        let model = KindModel::parse("m.tsv", &text).unwrap();
        assert_eq!(model.features(), trained.features());
        assert_eq!(model.trained_on(), "test");
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
        // Training is deterministic: the same set gives the same file.
        assert_eq!(
            train(&examples, REGULARISATION, "test".into()).to_text(),
            text
        );
    }

    #[test]
    fn japanese_policy_is_learnt_as_policy_and_other_kinds_are_refused() {
        let set = "{\"title\":\"a\",\"section\":null,\"kind\":\"policy\"}\n\
                   {\"title\":\"b\",\"section\":null}\n";
        let e = read_examples("set.jsonl", set).unwrap();
        assert_eq!((e[0].kind, e[1].kind), (Kind::Policy, Kind::None));
        for wrong in [
            "{\"title\":\"a\",\"section\":\"2.1\",\"kind\":\"policy\"}",
            "{\"title\":\"a\",\"section\":null,\"kind\":\"incident\"}",
        ] {
            let e = read_examples("set.jsonl", wrong).unwrap_err().to_string();
            assert!(e.starts_with("set.jsonl:1: kind"), "{e}");
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
