//! Rule files (`rules/*.toml`): loading and validation.
//!
//! Each file declares one vocabulary and a list of rules; see `rules/README.md` for the format
//! written for analysts. Every problem is reported with its file and rule id.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::Deserialize;

use crate::model::{AttackType, EventType, Sector};

/// The rule files compiled into the binary, by file name.
pub const BUILTIN: [(&str, &str); 8] = [
    ("cyber.toml", include_str!("../../rules/cyber.toml")),
    ("sections.toml", include_str!("../../rules/sections.toml")),
    ("advisory.toml", include_str!("../../rules/advisory.toml")),
    ("sector.toml", include_str!("../../rules/sector.toml")),
    (
        "attack_types.toml",
        include_str!("../../rules/attack_types.toml"),
    ),
    (
        "event_types.toml",
        include_str!("../../rules/event_types.toml"),
    ),
    ("places.toml", include_str!("../../rules/places.toml")),
    (
        "organisations.toml",
        include_str!("../../rules/organisations.toml"),
    ),
];

/// What a rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vocabulary {
    Cyber,
    Kind,
    Sector,
    AttackType,
    EventType,
    Place,
}

/// The tags a `kind` rule may assign (the classifier reads each by name).
const KIND_TAGS: [&str; 9] = [
    "routine",
    "incident",
    "policy",
    "notice",
    "advice",
    "authority",
    "enforcement",
    "first-person",
    "physical",
];

impl Vocabulary {
    fn parse(s: &str) -> Option<Vocabulary> {
        Some(match s {
            "cyber" => Vocabulary::Cyber,
            "kind" => Vocabulary::Kind,
            "sector" => Vocabulary::Sector,
            "attack_type" => Vocabulary::AttackType,
            "event_type" => Vocabulary::EventType,
            "place" => Vocabulary::Place,
            _ => return None,
        })
    }

    /// Whether `tag` is a value this vocabulary can assign.
    fn accepts(self, tag: &str) -> Result<(), String> {
        let ok = match self {
            Vocabulary::Cyber => tag == "cyber",
            Vocabulary::Kind => KIND_TAGS.contains(&tag),
            Vocabulary::Sector => Sector::from_str(tag).is_ok(),
            Vocabulary::AttackType => AttackType::from_str(tag).is_ok(),
            Vocabulary::EventType => EventType::from_str(tag).is_ok(),
            Vocabulary::Place => tag.len() == 2 && tag.bytes().all(|b| b.is_ascii_uppercase()),
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            Vocabulary::Cyber => "tag must be \"cyber\"".into(),
            Vocabulary::Kind => {
                let (last, others) = KIND_TAGS.split_last().unwrap_or((&"", &[]));
                format!("tag must be {} or {last}", others.join(", "))
            }
            Vocabulary::Sector => Sector::from_str(tag).err().unwrap_or_default(),
            Vocabulary::AttackType => AttackType::from_str(tag).err().unwrap_or_default(),
            Vocabulary::EventType => EventType::from_str(tag).err().unwrap_or_default(),
            Vocabulary::Place => "tag must be an ISO 3166-1 alpha-2 country code (JP, US …)".into(),
        })
    }
}

/// Which parts of an item a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    pub title: bool,
    pub summary: bool,
}

/// One validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `file:id`, shown in reasons.
    pub name: String,
    pub vocabulary: Vocabulary,
    pub tag: String,
    pub keywords: Vec<String>,
    pub patterns: Vec<String>,
    pub unless: Vec<String>,
    pub fields: Fields,
}

/// One problem in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub rule: Option<String>,
    pub reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "{}: rule {rule:?}: {}", self.file, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// Every problem found in a set of rule files.
#[derive(Debug, thiserror::Error)]
pub struct Error(pub Vec<RuleError>);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} rule error{}", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    vocabulary: String,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    /// Every vocabulary but `organisation`.
    #[serde(default)]
    tag: Option<String>,
    /// `organisation` only: the sector the named organisation belongs to.
    #[serde(default)]
    sector: Option<String>,
    /// `organisation` only: the country it is in.
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default)]
    fields: Option<Vec<String>>,
}

/// The vocabulary of `organisations.toml`: named operators with their sector and country.
const ORGANISATION: &str = "organisation";

/// The (vocabulary, tag) pairs a rule assigns: its `tag`, or for an organisation its `sector`
/// and `country`.
fn rule_tags(
    organisations: bool,
    vocabulary: Vocabulary,
    r: &RawRule,
) -> Result<Vec<(Vocabulary, String)>, String> {
    if !organisations {
        if r.sector.is_some() || r.country.is_some() {
            return Err("`sector` and `country` belong to organisation rules; use `tag`".into());
        }
        let Some(tag) = &r.tag else {
            return Err("needs a `tag`".into());
        };
        vocabulary
            .accepts(tag)
            .map_err(|reason| format!("tag {tag:?}: {reason}"))?;
        return Ok(vec![(vocabulary, tag.clone())]);
    }
    if r.tag.is_some() {
        return Err("an organisation rule has `sector` and/or `country`, not `tag`".into());
    }
    let mut tags = Vec::new();
    for (vocabulary, value, key) in [
        (Vocabulary::Sector, &r.sector, "sector"),
        (Vocabulary::Place, &r.country, "country"),
    ] {
        if let Some(value) = value {
            vocabulary
                .accepts(value)
                .map_err(|reason| format!("{key} {value:?}: {reason}"))?;
            tags.push((vocabulary, value.clone()));
        }
    }
    if tags.is_empty() {
        return Err("needs a `sector`, a `country` or both".into());
    }
    Ok(tags)
}

/// Reads every `*.toml` in a directory, in name order.
pub fn load_dir(dir: &Path) -> Result<Vec<(String, String)>, Error> {
    let fail = |reason: String| {
        Error(vec![RuleError {
            file: dir.display().to_string(),
            rule: None,
            reason,
        }])
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| fail(format!("cannot read rules directory: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| fail(e.to_string()))?.path();
        if super::kind_model::is_model_file(&path) || path.extension().is_some_and(|e| e == "toml")
        {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| fail(format!("{}: cannot read: {e}", path.display())))?;
            files.push((path.display().to_string(), text));
        }
    }
    if files.iter().all(|(name, _)| !name.ends_with(".toml")) {
        return Err(fail("no *.toml rule files".into()));
    }
    files.sort();
    Ok(files)
}

/// The built-in rule files as (name, text).
pub fn builtin_files() -> Vec<(String, String)> {
    BUILTIN
        .iter()
        .chain([&(super::kind_model::FILE_NAME, super::kind_model::BUILTIN)])
        .map(|(n, t)| (format!("rules/{n}"), t.to_string()))
        .collect()
}

/// Parses and validates rule files; all problems are reported together.
pub fn parse_files(files: &[(String, String)]) -> Result<Vec<Rule>, Error> {
    let mut errors = Vec::new();
    let mut rules = Vec::new();
    let mut named = Vec::new();
    for (file, text) in files {
        let short = Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(file.clone());
        let err = |rule: Option<&str>, reason: String| RuleError {
            file: file.clone(),
            rule: rule.map(str::to_string),
            reason,
        };
        let raw: RawFile = match toml::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(
                    None,
                    format!("invalid rule file: {}", e.to_string().trim()),
                ));
                continue;
            }
        };
        // An organisation rule knows a named operator's sector and country at once, so it
        // compiles into a sector rule and a place rule under one name.
        let organisations = raw.vocabulary == ORGANISATION;
        let vocabulary = if organisations {
            Some(Vocabulary::Sector)
        } else {
            Vocabulary::parse(&raw.vocabulary)
        };
        let Some(vocabulary) = vocabulary else {
            errors.push(err(
                None,
                format!(
                    "unknown vocabulary {:?} (expected cyber, kind, sector, attack_type, event_type, place or organisation)",
                    raw.vocabulary
                ),
            ));
            continue;
        };
        let mut ids = std::collections::HashSet::new();
        for r in raw.rules {
            let id = r.id.as_str();
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                errors.push(err(Some(id), "id must match [a-z0-9-]+".into()));
            }
            if !ids.insert(r.id.clone()) {
                errors.push(err(Some(id), "duplicate rule id in this file".into()));
            }
            let tags = match rule_tags(organisations, vocabulary, &r) {
                Ok(tags) => tags,
                Err(reason) => {
                    errors.push(err(Some(id), reason));
                    Vec::new()
                }
            };
            if r.keywords.is_empty() && r.patterns.is_empty() {
                errors.push(err(
                    Some(id),
                    "needs at least one keyword or pattern".into(),
                ));
            }
            for k in r.keywords.iter().chain(&r.unless) {
                if super::matcher::normalize(k).trim().is_empty() {
                    errors.push(err(Some(id), "empty keyword".into()));
                }
            }
            for p in &r.patterns {
                if let Err(e) = regex::Regex::new(p) {
                    errors.push(err(
                        Some(id),
                        format!("pattern {p:?} does not compile: {e}"),
                    ));
                }
            }
            let fields = match &r.fields {
                None => Fields {
                    title: true,
                    summary: true,
                },
                Some(list) => {
                    let mut f = Fields {
                        title: false,
                        summary: false,
                    };
                    for name in list {
                        match name.as_str() {
                            "title" => f.title = true,
                            "summary" => f.summary = true,
                            other => errors.push(err(
                                Some(id),
                                format!("fields: {other:?} (expected \"title\" or \"summary\")"),
                            )),
                        }
                    }
                    f
                }
            };
            for (vocabulary, tag) in tags {
                let rule = Rule {
                    name: format!("{short}:{}", r.id),
                    vocabulary,
                    tag,
                    keywords: r.keywords.clone(),
                    patterns: r.patterns.clone(),
                    unless: r.unless.clone(),
                    fields,
                };
                if organisations {
                    named.push(rule);
                } else {
                    rules.push(rule);
                }
            }
        }
    }
    // Last: a policy's country is the first foreign place that fired, in places.toml's order
    // (the report's); an organisation's country comes after every place rule's.
    rules.extend(named);
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(Error(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_load() {
        let files: Vec<_> = builtin_files()
            .into_iter()
            .filter(|(name, _)| name.ends_with(".toml"))
            .collect();
        let rules = parse_files(&files).expect("built-in rules validate");
        for v in [
            Vocabulary::Cyber,
            Vocabulary::Kind,
            Vocabulary::Sector,
            Vocabulary::Place,
        ] {
            assert!(rules.iter().any(|r| r.vocabulary == v), "no {v:?} rules");
        }
    }

    #[test]
    fn errors_name_file_and_rule() {
        let files = vec![(
            "rules/bad.toml".to_string(),
            r#"
vocabulary = "sector"
[[rules]]
id = "Space"
tag = "space"
patterns = ["(unclosed"]
[[rules]]
id = "ok"
tag = "water"
"#
            .to_string(),
        )];
        let shown = parse_files(&files).unwrap_err().to_string();
        assert!(
            shown.contains("rules/bad.toml: rule \"Space\": id must match"),
            "{shown}"
        );
        assert!(shown.contains("rule \"Space\": tag \"space\""), "{shown}");
        assert!(shown.contains("does not compile"), "{shown}");
        assert!(
            shown.contains("rule \"ok\": needs at least one keyword"),
            "{shown}"
        );
    }

    fn organisation_file(body: &str) -> Vec<(String, String)> {
        vec![
            (
                "rules/places.toml".to_string(),
                "vocabulary = \"place\"\n[[rules]]\nid = \"fr\"\ntag = \"FR\"\nkeywords = [\"france\"]\n"
                    .to_string(),
            ),
            (
                "rules/organisations.toml".to_string(),
                format!("vocabulary = \"organisation\"\n{body}"),
            ),
        ]
    }

    #[test]
    fn an_organisation_gives_its_sector_and_country_after_the_place_rules() {
        let files = organisation_file(
            "[[rules]]\nid = \"viamedis\"\nsector = \"medical\"\ncountry = \"FR\"\nkeywords = [\"viamedis\"]\n\
             [[rules]]\nid = \"somewhere\"\ncountry = \"CA\"\nkeywords = [\"ciusss\"]\n",
        );
        let rules = parse_files(&files).expect("valid");
        let shown: Vec<(&str, Vocabulary, &str)> = rules
            .iter()
            .map(|r| (r.name.as_str(), r.vocabulary, r.tag.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("places.toml:fr", Vocabulary::Place, "FR"),
                ("organisations.toml:viamedis", Vocabulary::Sector, "medical"),
                ("organisations.toml:viamedis", Vocabulary::Place, "FR"),
                ("organisations.toml:somewhere", Vocabulary::Place, "CA"),
            ]
        );
    }

    #[test]
    fn organisation_and_tag_keys_are_not_mixed_up() {
        for (body, expected) in [
            (
                "[[rules]]\nid = \"a\"\ntag = \"medical\"\nkeywords = [\"x\"]\n",
                "rule \"a\": an organisation rule has `sector` and/or `country`, not `tag`",
            ),
            (
                "[[rules]]\nid = \"b\"\nkeywords = [\"x\"]\n",
                "rule \"b\": needs a `sector`, a `country` or both",
            ),
            (
                "[[rules]]\nid = \"c\"\nsector = \"hospital\"\nkeywords = [\"x\"]\n",
                "rule \"c\": sector \"hospital\":",
            ),
            (
                "[[rules]]\nid = \"d\"\ncountry = \"France\"\nkeywords = [\"x\"]\n",
                "rule \"d\": country \"France\": tag must be an ISO 3166-1",
            ),
        ] {
            let shown = parse_files(&organisation_file(body))
                .unwrap_err()
                .to_string();
            assert!(
                shown.contains(&format!("rules/organisations.toml: {expected}")),
                "{shown}"
            );
        }
        let files = vec![(
            "rules/sector.toml".to_string(),
            "vocabulary = \"sector\"\n[[rules]]\nid = \"e\"\nsector = \"water\"\nkeywords = [\"x\"]\n[[rules]]\nid = \"f\"\nkeywords = [\"y\"]\n"
                .to_string(),
        )];
        let shown = parse_files(&files).unwrap_err().to_string();
        assert!(
            shown.contains("rule \"e\": `sector` and `country` belong to organisation rules"),
            "{shown}"
        );
        assert!(shown.contains("rule \"f\": needs a `tag`"), "{shown}");
    }
}
