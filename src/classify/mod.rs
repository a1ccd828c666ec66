//! Places items in the report: section, sectors, attack and event types, with reasons.
//!
//! Owns: rule loading ([`rules`]), the compiled matcher ([`matcher`]) and the decisions of
//! report.md (relevance, kind, where it happened, sector, section). May import: model.
//! Must not do I/O beyond reading a rules directory at start.

pub mod kind_model;
pub mod kind_training;
pub mod matcher;
pub mod rules;

use std::path::Path;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::model::{AttackType, Classification, EventType, Section, Sector, hex};
use kind_model::{Kind, KindModel};
use matcher::RuleSet;
use rules::Vocabulary;

/// What the classifier needs to know about an item and its source.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    /// The publisher's country: the prior for where an event happened.
    pub country: &'a str,
    /// The source's own sector, for operators' press pages.
    pub sector: Option<Sector>,
    /// Who published the item (the source's or the item's own publisher); its name gives the
    /// sector when an operator writes of itself (「当院の…」, "our systems") and names none.
    pub publisher: &'a str,
}

/// The loaded rules and a hash of their text (a change re-tags stored items).
#[derive(Debug)]
pub struct Classifier {
    set: RuleSet,
    /// Weighs in on the rules' kind decision (see [`kind_model`]).
    model: KindModel,
    hash: String,
    files: usize,
}

impl Classifier {
    /// The rules compiled into the binary.
    pub fn builtin() -> Result<Classifier, rules::Error> {
        Classifier::from_files(&rules::builtin_files())
    }

    /// The rules of a directory (`rules_dir`), else the built-in ones.
    pub fn load(dir: Option<&Path>) -> Result<Classifier, rules::Error> {
        match dir {
            Some(d) => Classifier::from_files(&rules::load_dir(d)?),
            None => Classifier::builtin(),
        }
    }

    /// Validates and compiles rule files given as (name, text); a `kind-model.tsv` among them
    /// replaces the built-in kind model.
    pub fn from_files(files: &[(String, String)]) -> Result<Classifier, rules::Error> {
        let (models, rule_files): (Vec<_>, Vec<_>) = files
            .iter()
            .cloned()
            .partition(|(name, _)| kind_model::is_model_file(Path::new(name)));
        let model = match models.first() {
            Some((name, text)) => KindModel::parse(name, text),
            None => KindModel::builtin(),
        }
        .map_err(|e| {
            rules::Error(vec![rules::RuleError {
                file: e.file.clone(),
                rule: None,
                reason: format!("line {}: {}", e.line, e.reason),
            }])
        })?;
        let parsed = rules::parse_files(&rule_files)?;
        // A directory without its own model is classified with the built-in one, so that one's
        // text is part of what the hash says.
        let builtin_model = models.is_empty().then(|| {
            (
                kind_model::FILE_NAME.to_string(),
                kind_model::BUILTIN.to_string(),
            )
        });
        let hashed = files.iter().chain(builtin_model.iter());
        let mut hasher = Sha256::new();
        for (name, text) in hashed {
            let short = Path::new(name)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            hasher.update(short.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
        }
        let hash = hex(&hasher.finalize()[..16]);
        let set = RuleSet::compile(parsed).map_err(|reason| {
            rules::Error(vec![rules::RuleError {
                file: "rules".into(),
                rule: None,
                reason,
            }])
        })?;
        Ok(Classifier {
            set,
            model,
            hash,
            files: files.len(),
        })
    }

    /// Hash of the rule texts.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// (files, rules, keywords, patterns), for the start-up log.
    pub fn stats(&self) -> (usize, usize, usize, usize) {
        let (k, p) = self.set.size();
        (self.files, self.set.rules.len(), k, p)
    }

    /// An operator writing of itself names no sector in its notice; its own name does
    /// (「益城病院」, «Centre de santé …», "… County"). Only used when the text speaks in the
    /// first person, so a news outlet's name (NHK is a broadcaster) never lends its sector.
    fn add_publisher_sectors(&self, publisher: &str, c: &mut Classification) {
        if publisher.trim().is_empty() {
            return;
        }
        let hits = self.set.matches(&matcher::normalize(publisher), "");
        self.add_sectors(&hits, &hits.fired(), "publisher:", c);
    }

    /// The sectors of the fired sector rules, each with its reason; `from` goes before the rule's
    /// name there ("publisher:" when the words matched were the publisher's name).
    fn add_sectors(
        &self,
        hits: &matcher::Hits,
        fired: &[usize],
        from: &str,
        c: &mut Classification,
    ) {
        for &ri in fired {
            let rule = &self.set.rules[ri];
            if rule.vocabulary != Vocabulary::Sector {
                continue;
            }
            if let Ok(s) = Sector::from_str(&rule.tag) {
                push_unique(&mut c.sectors, s);
                c.reasons.push(
                    &format!("sector={}", rule.tag),
                    &format!("{from}{}", rule.name),
                    hits.words(ri).unwrap_or_default(),
                );
            }
        }
    }

    /// Classifies one item.
    pub fn classify(&self, input: Input<'_>) -> Classification {
        // Normalised once for the rules and the kind model; one pass over both fields, the
        // title's own hits kept apart.
        let title = matcher::normalize(input.title);
        let summary = matcher::normalize(input.summary);
        let (hits, title_hits) = self.set.matches_with_title(&title, &summary);
        let fired_rules = hits.fired();
        let mut c = Classification::default();
        let fired = |v: Vocabulary| -> Vec<(String, String, Vec<String>)> {
            fired_rules
                .iter()
                .copied()
                .filter(|&ri| self.set.rules[ri].vocabulary == v)
                .map(|ri| {
                    let r = &self.set.rules[ri];
                    (
                        r.tag.clone(),
                        r.name.clone(),
                        hits.words(ri).unwrap_or_default().to_vec(),
                    )
                })
                .collect()
        };
        let title_tags: Vec<(Vocabulary, &str)> = title_hits
            .fired()
            .into_iter()
            .map(|ri| {
                let r = &self.set.rules[ri];
                (r.vocabulary, r.tag.as_str())
            })
            .collect();
        let in_title =
            |v: Vocabulary, tag: &str| title_tags.iter().any(|&(tv, tt)| tv == v && tt == tag);

        let cyber = fired(Vocabulary::Cyber);
        let kinds = fired(Vocabulary::Kind);
        let places = fired(Vocabulary::Place);
        self.add_sectors(&hits, &fired_rules, "", &mut c);
        if let Some(s) = input.sector {
            push_unique(&mut c.sectors, s);
            c.reasons
                .push(&format!("sector={s}"), "source:sector", &[] as &[&str]);
        }
        for (tag, rule, matched) in fired(Vocabulary::AttackType) {
            if let Ok(a) = AttackType::from_str(&tag) {
                push_unique(&mut c.attack_types, a);
                c.reasons
                    .push(&format!("attack_type={tag}"), &rule, &matched);
            }
        }
        for (tag, rule, matched) in fired(Vocabulary::EventType) {
            if let Ok(e) = EventType::from_str(&tag) {
                push_unique(&mut c.event_types, e);
                c.reasons
                    .push(&format!("event_type={tag}"), &rule, &matched);
            }
        }
        for (vocabulary, list) in [("cyber", &cyber), ("kind", &kinds), ("place", &places)] {
            for (tag, rule, matched) in list.iter() {
                c.reasons
                    .push(&format!("{vocabulary}={tag}"), rule, matched);
            }
        }

        let RuleKind {
            kind: by_rules,
            settled,
        } = rule_kind(RuleEvidence {
            relevant: !cyber.is_empty() || !c.attack_types.is_empty(),
            has_kind: &|k: &str| kinds.iter().any(|(t, _, _)| t == k),
            in_title: &|k: &str| in_title(Vocabulary::Kind, k),
            incident_types: !c.event_types.is_empty() || !c.attack_types.is_empty(),
        });
        let authority = in_title(Vocabulary::Kind, "authority");
        let rules_kind = by_rules.unwrap_or(Kind::None);
        let overruled = (!settled)
            .then(|| self.model.settle(&title, &summary, rules_kind))
            .filter(|verdict| verdict.kind != rules_kind);
        let kind = match overruled {
            None => match by_rules {
                Ok(kind) => kind,
                Err(why) => return decided(c, None, why),
            },
            Some(verdict) => {
                c.reasons.push(
                    &format!("kind={}", verdict.kind.name()),
                    &format!("{}:words", kind_model::FILE_NAME),
                    &verdict.words,
                );
                match verdict.kind {
                    Kind::None => {
                        return decided(c, None, "the words say neither an incident nor a policy");
                    }
                    kind => kind,
                }
            }
        };

        // Where it happened: markers in the title outweigh the summary, the content outweighs
        // the publisher's country.
        let place_in = |title_only: bool| -> (bool, Option<String>) {
            let tags: Vec<&String> = places
                .iter()
                .filter(|(tag, _, _)| !title_only || in_title(Vocabulary::Place, tag))
                .map(|(tag, _, _)| tag)
                .collect();
            let jp = tags.iter().any(|t| *t == "JP");
            // A named country before "a unit abroad": ZZ's rule comes first in places.toml, and a
            // policy's country must not be lost to it when a country fired too.
            let foreign = tags
                .iter()
                .find(|t| t.as_str() != "JP" && t.as_str() != ABROAD)
                .or_else(|| tags.iter().find(|t| t.as_str() == ABROAD))
                .map(|t| t.to_string());
            (jp, foreign)
        };
        let (title_jp, title_foreign) = place_in(true);
        // The words that made the title Japanese, to tell the headline's subject from a mention.
        let title_jp_words: Vec<String> = title_hits
            .fired()
            .into_iter()
            .filter(|&ri| {
                let r = &self.set.rules[ri];
                r.vocabulary == Vocabulary::Place && r.tag == "JP"
            })
            .flat_map(|ri| title_hits.words(ri).unwrap_or_default().to_vec())
            .collect();
        let headline_starts_with = |words: &[String]| -> bool {
            let head = title
                .trim_start_matches(|ch: char| ch.is_whitespace() || "「『【[(“\"'‘".contains(ch));
            // «Le Japon ouvre la voie …», "The Japanese government …"
            let head = ["the ", "le ", "la ", "l'", "l’"]
                .iter()
                .find_map(|article| head.strip_prefix(article))
                .unwrap_or(head);
            words.iter().any(|w| head.starts_with(w.as_str()))
        };
        let (any_jp, any_foreign) = place_in(false);
        let publisher_jp = input.country == "JP";
        let (domestic, why) = match (
            title_jp,
            title_foreign.is_some(),
            any_jp,
            any_foreign.is_some(),
        ) {
            // 「ブリヂストンの米グループ会社にサイバー攻撃」: the firm is Japanese, the event abroad.
            _ if in_title(Vocabulary::Place, ABROAD) => (false, "a unit abroad in the title"),
            (true, false, _, _) => (true, "Japanese names in the title"),
            (false, true, _, _) => (false, "foreign names in the title"),
            (_, _, true, false) => (true, "Japanese names in the text"),
            (_, _, false, true) => (false, "foreign names in the text"),
            _ if publisher_jp => (true, "the publisher is Japanese"),
            _ => (false, "the publisher is foreign"),
        };

        if kind == Kind::Policy {
            // Whose policy: the publisher's own country unless the title names another one
            // (a news site reporting a foreign government's strategy).
            let title_places: Vec<&str> = places
                .iter()
                .map(|(tag, _, _)| tag.as_str())
                .filter(|tag| *tag != "JP" && *tag != ABROAD && in_title(Vocabulary::Place, tag))
                .collect();
            // The headline's subject decides whose policy it is: "Japan enacts active cyber
            // defense law" is Japanese policy whoever reports it, and has no section. Japan named
            // further on ("CISA and Japan's NISC release …") is a partner, not the subject.
            if title_jp && title_places.is_empty() && headline_starts_with(&title_jp_words) {
                return decided(c, None, "Japanese policy is not a section of the report");
            }
            let country = if !publisher_jp
                && (title_places.is_empty() || title_places.contains(&input.country))
            {
                Some(input.country.to_string())
            } else if let Some(first) = title_places.first() {
                Some(first.to_string())
            } else if !domestic {
                any_foreign.filter(|country| country != ABROAD)
            } else {
                None
            };
            let Some(country) = country else {
                return decided(c, None, "Japanese policy is not a section of the report");
            };
            // The lede of a policy item names its authors (a ministry, "the government", public
            // authorities), so there the government is the author, not the sector the policy is
            // about; a headline naming the government (「自治体向け…」, «collectivités») still counts.
            // Where the headline's subject is the government acting ("Treasury Department
            // Imposes Sanctions …", "U.S. charges … government officials"), the government is
            // the author even in the title.
            let from_source = input.sector;
            c.sectors.retain(|s| {
                *s != Sector::Government
                    || Some(*s) == from_source
                    || (in_title(Vocabulary::Sector, s.slug()) && !authority)
            });
            c.country = Some(country.clone());
            return decided(
                c,
                Some(Section::ForeignPolicy),
                &format!("policy of {country}"),
            );
        }
        if c.sectors.is_empty()
            && input.sector.is_none()
            && kinds.iter().any(|(tag, _, _)| tag == FIRST_PERSON)
        {
            self.add_publisher_sectors(input.publisher, &mut c);
        }
        let critical = !c.sectors.is_empty();
        let section = match (domestic, critical) {
            (false, true) => Section::AbroadCritical,
            (false, false) => Section::AbroadOther,
            (true, true) => Section::DomesticCritical,
            (true, false) => Section::DomesticOther,
        };
        let sector_note = if critical {
            "a critical-infrastructure sector"
        } else {
            "no critical-infrastructure sector"
        };
        decided(c, Some(section), &format!("incident, {why}, {sector_note}"))
    }
}

/// The place tag of an organisation's unit abroad whose country the words do not name
/// (「海外子会社」, "US unit" of a Japanese firm): ISO 3166-1 leaves ZZ to its users. It places an
/// incident abroad and never names a policy's country.
const ABROAD: &str = "ZZ";

/// The kind tag of words by which a publisher speaks of itself (当院, 弊社, "our", «nous»).
const FIRST_PERSON: &str = "first-person";

/// The kind tag of a physical cause named with no cyber word (storms, quakes, animals, strikes).
const PHYSICAL: &str = "physical";

/// What the rules found, for the kind decision.
struct RuleEvidence<'a> {
    /// Cyber-security words or an attack type.
    relevant: bool,
    /// A kind rule fired anywhere.
    has_kind: &'a dyn Fn(&str) -> bool,
    /// A kind rule fired on the title.
    in_title: &'a dyn Fn(&str) -> bool,
    /// An event or attack type was found.
    incident_types: bool,
}

/// The rules' kind, or why the item is not a candidate.
struct RuleKind {
    kind: Result<Kind, &'static str>,
    /// A rule named what the item is (advice in the headline, a government acting, an arrest, an
    /// event notice, a routine advisory): the kind model does not weigh in. On the sealed batches
    /// fresh24–29 the model of the time overruled such rules on 8 items and was wrong on all 8.
    settled: bool,
}

impl RuleKind {
    fn settled(kind: Result<Kind, &'static str>) -> RuleKind {
        RuleKind {
            kind,
            settled: true,
        }
    }

    fn open(kind: Result<Kind, &'static str>) -> RuleKind {
        RuleKind {
            kind,
            settled: false,
        }
    }
}

fn rule_kind(e: RuleEvidence<'_>) -> RuleKind {
    if !e.relevant {
        // A power cut from a typhoon or a bird, a quake's gas shut-off, a rail strike: with no
        // cyber word the item says what stopped the service, and it was no system. Left open,
        // the kind model read their outage words as an incident.
        return if (e.has_kind)(PHYSICAL) {
            RuleKind::settled(Err("a physical cause and no cyber-security content"))
        } else {
            RuleKind::open(Err("no cyber-security content"))
        };
    }
    let has_kind = e.has_kind;
    let incident_in_title = (e.in_title)("incident");
    // A headline whose subject is a government or a national agency acting in its own name
    // ("U.S. charges Chinese hackers …", 「英国 NCSC …」) is that government's policy: the
    // incident or vulnerability words after the verb are what the measure is about.
    let authority = (e.in_title)("authority");
    let policy_in_title = authority || (e.in_title)("policy");
    // A headline that tells the reader what to do (「…にご注意ください」「…のご確認を」) or
    // explains a threat in general names harm only as the reason for the advice, so its
    // incident words do not make it an incident; a foreign agency's advice is still policy.
    // Advice in the lede alone ("Please be aware of fraudulent texts …" under "Text Message
    // Phishing Scam") counts only when the headline names no incident.
    let advice_in_title = (e.in_title)("advice");
    if !policy_in_title && (advice_in_title || (has_kind("advice") && !incident_in_title)) {
        let advice = Err("advice to readers, not a candidate");
        return if advice_in_title {
            RuleKind::settled(advice)
        } else {
            RuleKind::open(advice)
        };
    }
    if authority {
        RuleKind::settled(Ok(Kind::Policy))
    } else if (e.in_title)("enforcement") {
        // Police and courts acting against attackers report no attack, outage or leak of their
        // own, whatever the crime's name in the headline ("… sentenced for ransomware attacks").
        RuleKind::settled(Err(
            "an arrest, a trial or a takedown, not an incident report",
        ))
    } else if has_kind("notice") && !incident_in_title {
        RuleKind::settled(Err("an event notice or advert, not a candidate"))
    } else if has_kind("routine") && !incident_in_title {
        RuleKind::settled(Err("a routine advisory or patch notice"))
    } else if incident_in_title || (has_kind("incident") && !policy_in_title) {
        RuleKind::open(Ok(Kind::Incident))
    } else if has_kind("policy") {
        RuleKind::open(Ok(Kind::Policy))
    } else if has_kind("incident") || e.incident_types {
        RuleKind::open(Ok(Kind::Incident))
    } else {
        RuleKind::open(Err("neither an incident nor a policy"))
    }
}

fn decided(mut c: Classification, section: Option<Section>, why: &str) -> Classification {
    let tag = match section {
        Some(s) => format!("section={s}"),
        None => "section=none".to_string(),
    };
    c.section = section;
    c.reasons.push(&tag, "decision", &[why]);
    c
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An item from a publisher in `country`, with no source sector.
    fn classify(
        classifier: &Classifier,
        title: &str,
        summary: &str,
        country: &str,
    ) -> Classification {
        classifier.classify(Input {
            title,
            summary,
            country,
            sector: None,
            publisher: "",
        })
    }

    /// The country of a foreign policy item; `None` for anything else.
    fn policy_country(
        classifier: &Classifier,
        title: &str,
        summary: &str,
        country: &str,
    ) -> Option<String> {
        let c = classify(classifier, title, summary, country);
        c.country
            .filter(|_| c.section == Some(Section::ForeignPolicy))
    }

    fn section(
        classifier: &Classifier,
        title: &str,
        summary: &str,
        country: &str,
    ) -> Option<Section> {
        classify(classifier, title, summary, country).section
    }

    // An operator's own notice names no sector; its name, as publisher, gives it, and only when
    // the notice speaks of itself: a news outlet's name (NHK is a broadcaster) lends nothing, even
    // when the story names 熊本県立大学 (本県 inside a word is not "this prefecture").
    #[test]
    fn an_operator_writing_of_itself_lends_its_sector() {
        let classifier = Classifier::builtin().expect("built-in rules");
        let notice = |summary: &str, publisher: &str| {
            classifier.classify(Input {
                title: "コンピューターウイルスによる偽装メールに関して",
                summary,
                country: "JP",
                sector: None,
                publisher,
            })
        };
        let own = notice(
            "当院のPC複数台がマルウエア(EMOTET)に感染していることが発覚しました。",
            "益城病院",
        );
        assert_eq!(own.section, Some(Section::DomesticCritical));
        assert_eq!(own.sectors, [Sector::Medical]);
        assert!(own.reasons.iter().any(|r| r.rule.starts_with("publisher:")));
        let reported = notice(
            "熊本県立大学のPCがマルウエアに感染していることが発覚しました。",
            "NHK",
        );
        assert_eq!(reported.section, Some(Section::DomesticOther));
        assert!(reported.sectors.is_empty(), "{:?}", reported.sectors);
    }

    // Any country named places a Japanese publisher's item abroad, not only the report's usual ones.
    #[test]
    fn countries_beyond_the_usual_ones_place_an_event_abroad() {
        let classifier = Classifier::builtin().expect("built-in rules");
        for title in [
            "ケニアの電力会社にサイバー攻撃 送電に影響",
            "ルクセンブルクの電力会社にサイバー攻撃",
            "Cyberattaque contre un hôpital au Sénégal",
        ] {
            assert_eq!(
                section(&classifier, title, "", "JP"),
                Some(Section::AbroadCritical),
                "{title}"
            );
        }
    }

    // A national law transposing an EU directive is the nation's policy, not the Union's.
    #[test]
    fn a_transposition_law_belongs_to_its_country() {
        let classifier = Classifier::builtin().expect("built-in rules");
        let law = "Loi du 28 mai 2019 portant transposition de la directive (UE) 2016/1148 \
                   concernant la sécurité des réseaux et des systèmes d'information";
        assert_eq!(
            policy_country(&classifier, law, "", "LU").as_deref(),
            Some("LU")
        );
    }

    // A Japanese firm named in the title with its unit abroad: the unit places the event.
    #[test]
    fn a_japanese_firms_unit_abroad_is_abroad() {
        let classifier = Classifier::builtin().expect("built-in rules");
        let unit_abroad = "ブリヂストンの米グループ会社にサイバー攻撃 工場が1週間操業停止";
        let the_firm = "ブリヂストンにサイバー攻撃 工場が操業停止";
        assert_eq!(
            section(&classifier, unit_abroad, "", "JP"),
            Some(Section::AbroadOther)
        );
        assert_eq!(
            section(&classifier, the_firm, "", "JP"),
            Some(Section::DomesticOther)
        );
    }

    // A policy told by a Japanese site, naming a unit abroad and its country in the lede: the
    // country is the policy's, the unit abroad never is.
    #[test]
    fn a_unit_abroad_does_not_hide_a_policys_country() {
        let classifier = Classifier::builtin().expect("built-in rules");
        let lede = "Every US subsidiary must report incidents under the law of the United States.";
        assert_eq!(
            policy_country(&classifier, "New cybersecurity law enacted", lede, "JP").as_deref(),
            Some("US")
        );
    }

    #[test]
    fn a_victim_named_only_by_name_is_placed_by_organisations_toml() {
        let classifier = Classifier::builtin().expect("built-in rules");
        // a Japanese publisher would make it domestic: the organisations' country decides
        let c = classify(
            &classifier,
            "Viamedis et Almerys victimes d'une cyberattaque",
            "",
            "JP",
        );
        assert_eq!(c.section, Some(Section::AbroadCritical));
        assert_eq!(c.sectors, [Sector::Medical]);
        let from_organisations: Vec<(String, String)> = c
            .reasons
            .iter()
            .filter(|r| r.rule == "organisations.toml:viamedis-almerys")
            .map(|r| (r.tag.to_string(), r.matched().collect::<Vec<_>>().join(",")))
            .collect();
        assert_eq!(
            from_organisations,
            [
                ("sector=medical".to_string(), "viamedis,almerys".to_string()),
                ("place=FR".to_string(), "viamedis,almerys".to_string()),
            ]
        );
    }

    /// Toy rule files come with a model that knows no words, so that they test the rules alone.
    fn rules_alone(mut files: Vec<(String, String)>) -> Vec<(String, String)> {
        files.push((
            kind_model::FILE_NAME.to_string(),
            kind_model::NEUTRAL.to_string(),
        ));
        files
    }

    fn built(files: &[(String, String)]) -> Classifier {
        match Classifier::from_files(files) {
            Ok(c) => c,
            Err(e) => panic!("{e:?}"),
        }
    }

    /// A classifier whose one cyber word is "cyber", with the given kind-model lines and more files.
    fn with_kind_model(model_lines: &str, mut files: Vec<(String, String)>) -> Classifier {
        files.push((
            "cyber.toml".to_string(),
            "vocabulary = \"cyber\"\n[[rules]]\nid = \"c\"\ntag = \"cyber\"\nkeywords = [\"cyber\"]\n"
                .to_string(),
        ));
        files.push((
            format!("dir/{}", kind_model::FILE_NAME),
            format!("{}{model_lines}", kind_model::NEUTRAL),
        ));
        built(&files)
    }

    /// A rule file of one kind rule with `tag` and the given keys (keywords, fields).
    fn kind_rule(tag: &str, keys: &str) -> (String, String) {
        (
            format!("{tag}.toml"),
            format!("vocabulary = \"kind\"\n[[rules]]\nid = \"{tag}\"\ntag = \"{tag}\"\n{keys}\n"),
        )
    }

    // The rules find nothing in "Outage at the port" (no cyber word); the kind model knows
    // that outages are incidents and says so in the reasons.
    #[test]
    fn the_kind_model_can_overrule_the_rules_and_says_why() {
        let c = with_kind_model("A:outage\t0\t0\t0.75\nT:outage\t0\t0\t1.5\n", Vec::new());
        let r = classify(&c, "Outage at the port", "", "US");
        assert_eq!(r.section, Some(Section::AbroadOther));
        let from_model: Vec<(&str, &str, Vec<&str>)> = r
            .reasons
            .iter()
            .filter(|r| r.tag.starts_with("kind="))
            .map(|r| (r.tag, r.rule, r.matched().collect()))
            .collect();
        assert_eq!(
            from_model,
            [("kind=incident", "kind-model.tsv:words", vec!["outage"])]
        );
        // In the summary alone the word weighs 0.75, short of the rules' 1: nothing changes.
        let r = classify(&c, "Port news", "An outage.", "US");
        assert_eq!(r.section, None);
    }

    // A rule that names what the item is (here a routine advisory) settles the kind: the same
    // model that overrules "no kind" on its own words does not overrule it.
    #[test]
    fn the_kind_model_does_not_overrule_a_rule_that_names_the_item() {
        let routine = kind_rule(
            "routine",
            "fields = [\"title\"]\nkeywords = [\"security update\"]",
        );
        let c = with_kind_model("A:outage\t0\t0\t9\n", vec![routine]);
        settled_without_the_model(
            &c,
            "Cyber outage at the port",
            "Security update for the cyber outage",
        );
    }

    /// `open` is left to the model, which makes it an incident abroad; `settled` is settled by a
    /// rule to no section, and the model has no say in its reasons.
    fn settled_without_the_model(c: &Classifier, open: &str, settled: &str) -> Classification {
        assert_eq!(
            classify(c, open, "", "US").section,
            Some(Section::AbroadOther)
        );
        let r = classify(c, settled, "", "US");
        assert_eq!(r.section, None);
        assert!(r.reasons.iter().all(|r| r.rule != "kind-model.tsv:words"));
        r
    }

    // A storm named in an item with no cyber word settles it: the model that reads "outage" as an
    // incident is not asked. With a cyber word the storm changes nothing.
    #[test]
    fn a_physical_cause_without_cyber_words_settles_no_section() {
        let c = with_kind_model(
            "A:outage\t0\t0\t9\n",
            vec![kind_rule("physical", "keywords = [\"storm\"]")],
        );
        let r = settled_without_the_model(
            &c,
            "Outage at the port",
            "Outage at the port after the storm",
        );
        assert!(
            r.reasons
                .iter()
                .any(|r| r.matched().any(|w| w.starts_with("a physical cause")))
        );
        assert_eq!(
            classify(&c, "Cyber outage at the port after the storm", "", "US").section,
            Some(Section::AbroadOther)
        );
    }

    // The model is part of what the rules' hash covers (a new model re-tags stored items), also
    // when a directory leaves it to the built-in one.
    #[test]
    fn the_hash_covers_the_kind_model() {
        let hash = |files: Vec<(String, String)>| built(&files).hash().to_string();
        let without_model = policy_files()
            .into_iter()
            .filter(|(name, _)| name != kind_model::FILE_NAME)
            .collect::<Vec<_>>();
        let mut with_builtin = without_model.clone();
        with_builtin.push((
            kind_model::FILE_NAME.to_string(),
            kind_model::BUILTIN.to_string(),
        ));
        assert_eq!(hash(without_model.clone()), hash(with_builtin));
        assert_ne!(hash(without_model), hash(policy_files()));
    }

    fn policy_files() -> Vec<(String, String)> {
        rules_alone(vec![
            (
                "kind.toml".to_string(),
                "vocabulary = \"kind\"\n[[rules]]\nid = \"p\"\ntag = \"policy\"\nkeywords = [\"law\"]\n"
                    .to_string(),
            ),
            (
                "cyber.toml".to_string(),
                "vocabulary = \"cyber\"\n[[rules]]\nid = \"c\"\ntag = \"cyber\"\nkeywords = [\"cyber\"]\n"
                    .to_string(),
            ),
            (
                "places.toml".to_string(),
                "vocabulary = \"place\"\n[[rules]]\nid = \"jp\"\ntag = \"JP\"\nkeywords = [\"japan\"]\n[[rules]]\nid = \"us\"\ntag = \"US\"\nkeywords = [\"us\"]\n"
                    .to_string(),
            ),
        ])
    }

    // A policy headline about Japan is Japanese policy, whoever publishes it; one that also names
    // a foreign country is that country's.
    #[test]
    fn japan_in_a_policy_title_is_japanese_policy() {
        let c = built(&policy_files());
        assert_eq!(
            section(&c, "Japan enacts active cyber defense law", "", "US"),
            None
        );
        // «Le Japon adopte …»: the article does not hide the headline's subject
        assert_eq!(section(&c, "The Japan cyber law passes", "", "FR"), None);
        assert_eq!(
            section(&c, "US and Japan agree cyber law", "", "GB"),
            Some(Section::ForeignPolicy)
        );
        // Japan further on is a partner of the publisher's agency, not the headline's subject.
        assert_eq!(
            section(&c, "Agency and Japan release cyber law guide", "", "GB"),
            Some(Section::ForeignPolicy)
        );
        let r = classify(&c, "New cyber law", "It applies in Japan too.", "US");
        assert_eq!(r.section, Some(Section::ForeignPolicy));
        assert_eq!(r.country.as_deref(), Some("US"));
    }

    // Advice outranks incident words in its own title, but not an organisation's own notice, and a
    // foreign agency's advice stays policy.
    #[test]
    fn advice_to_readers_is_not_an_incident() {
        let files = vec![(
            "kind.toml".to_string(),
            r#"vocabulary = "kind"
[[rules]]
id = "advice"
tag = "advice"
fields = ["title"]
keywords = ["ご注意ください"]
unless = ["お詫び"]
[[rules]]
id = "incident"
tag = "incident"
keywords = ["不正アクセスによる", "breach"]
[[rules]]
id = "policy"
tag = "policy"
fields = ["title"]
keywords = ["guidance"]
"#
            .to_string(),
        ), (
            "cyber.toml".to_string(),
            "vocabulary = \"cyber\"\n[[rules]]\nid = \"c\"\ntag = \"cyber\"\nkeywords = [\"不正アクセス\", \"breach\"]\n"
                .to_string(),
        )];
        let c = built(&rules_alone(files));
        assert_eq!(
            section(&c, "不正アクセスによる被害にご注意ください", "", "JP"),
            None
        );
        assert_eq!(
            section(
                &c,
                "不正アクセスによる情報流出のお詫び、不審なメールにご注意ください",
                "",
                "JP"
            ),
            Some(Section::DomesticOther)
        );
        assert_eq!(
            section(&c, "不正アクセス guidance: ご注意ください", "", "US"),
            Some(Section::ForeignPolicy)
        );
    }

    fn authority_files() -> Vec<(String, String)> {
        rules_alone(vec![
            (
                "kind.toml".to_string(),
                r#"vocabulary = "kind"
[[rules]]
id = "authority"
tag = "authority"
fields = ["title"]
patterns = ['^(u\.s\.|treasury department) (charges|imposes)\b']
[[rules]]
id = "incident"
tag = "incident"
fields = ["title"]
keywords = ["charges", "hackers stole", "ransomware attacks"]
[[rules]]
id = "enforcement"
tag = "enforcement"
fields = ["title"]
keywords = ["sentenced"]
[[rules]]
id = "routine"
tag = "routine"
fields = ["title"]
keywords = ["flaw"]
[[rules]]
id = "advice-lede"
tag = "advice"
fields = ["summary"]
keywords = ["please be aware"]
"#
                .to_string(),
            ),
            (
                "cyber.toml".to_string(),
                "vocabulary = \"cyber\"\n[[rules]]\nid = \"c\"\ntag = \"cyber\"\nkeywords = [\"hackers\", \"phishing\", \"ransomware\"]\n"
                    .to_string(),
            ),
            (
                "sector.toml".to_string(),
                "vocabulary = \"sector\"\n[[rules]]\nid = \"g\"\ntag = \"government\"\nkeywords = [\"treasury department\", \"city hall\"]\n"
                    .to_string(),
            ),
            (
                "attack_types.toml".to_string(),
                "vocabulary = \"attack_type\"\n[[rules]]\nid = \"o\"\ntag = \"other\"\nkeywords = [\"phishing\"]\n"
                    .to_string(),
            ),
        ])
    }

    // A headline whose subject is a government acting is that government's policy, whatever
    // incident or vulnerability words follow; the government is then its author, not its sector.
    #[test]
    fn a_government_acting_in_the_headline_is_policy() {
        let c = built(&authority_files());
        assert_eq!(
            section(&c, "U.S. charges hackers over flaw", "", "FR"),
            Some(Section::ForeignPolicy)
        );
        // Without the government as the subject, the same words are an incident.
        assert_eq!(
            section(&c, "Police charges hackers", "", "US"),
            Some(Section::AbroadOther)
        );
        let r = classify(
            &c,
            "Treasury Department imposes sanctions on hackers",
            "",
            "US",
        );
        assert_eq!(r.section, Some(Section::ForeignPolicy));
        assert!(r.sectors.is_empty(), "{:?}", r.sectors);
    }

    // A sentence or an arrest is no attack, outage or leak, whatever crime the headline names.
    #[test]
    fn police_and_courts_acting_against_attackers_are_not_incidents() {
        let c = built(&authority_files());
        let r = classify(
            &c,
            "Man sentenced for ransomware attacks on hospitals",
            "",
            "US",
        );
        assert_eq!(r.section, None);
        assert!(
            r.reasons.iter().any(|reason| reason.rule == "decision"
                && reason.matched().any(|why| why.contains("arrest"))),
            "{:?}",
            r.reasons
        );
        assert_eq!(
            section(
                &c,
                "Hospital hit: ransomware attacks stop surgery",
                "",
                "US"
            ),
            Some(Section::AbroadOther)
        );
    }

    // A caution in the lede makes an item advice only when its headline names no incident.
    #[test]
    fn advice_in_the_lede_yields_to_an_incident_headline() {
        let c = built(&authority_files());
        assert_eq!(
            section(
                &c,
                "Text message phishing",
                "Please be aware of fraudulent texts.",
                "US"
            ),
            None
        );
        assert_eq!(
            section(
                &c,
                "City hall: hackers stole records",
                "Please be aware of phishing.",
                "US"
            ),
            Some(Section::AbroadCritical)
        );
    }
}
