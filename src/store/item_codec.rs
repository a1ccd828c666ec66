//! The stored form of an item: fields in a fixed order, strings length-prefixed, dates as
//! numbers, the reasons' two buffers as they are.
//!
//! Items were stored as JSON. Decoding a quarter's 25,000 of them for an export took about a
//! billion instructions, nearly all in serde_json reading strings byte by byte and parsing
//! RFC 3339 dates. This form is read with a copy and a UTF-8 check per string. Items stored as
//! JSON by earlier versions are still read (see `envelope`).
//!
//! A new field in `Item` needs a new envelope version, and this module must say how the older
//! form reads.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

use crate::model::{
    AttackType, Classification, Decision, EventType, Item, Reasons, Section, Sector, Verdict,
};

/// Writes an item.
pub fn encode(item: &Item, out: &mut Vec<u8>) {
    // Named in full, so that a field added to the model does not compile until it is written.
    let Item {
        id,
        source,
        publisher,
        country,
        lang,
        identity,
        title,
        url,
        published,
        accessed,
        first_seen,
        last_changed,
        summary,
        classification,
        decision,
        links,
    } = item;
    let mut w = Writer(out);
    for text in [id, source, publisher, country, lang, identity, title, url] {
        w.str(text);
    }
    w.option(published.as_ref(), |w, p| {
        w.instant(p.timestamp(), p.timestamp_subsec_nanos());
        w.varint(zigzag(i64::from(p.offset().local_minus_utc())));
    });
    w.varint(zigzag(i64::from(accessed.num_days_from_ce())));
    for instant in [first_seen, last_changed] {
        w.instant(instant.timestamp(), instant.timestamp_subsec_nanos());
    }
    w.str(summary);
    let Classification {
        section,
        country: policy_country,
        sectors,
        attack_types,
        event_types,
        reasons,
    } = classification;
    w.option(*section, |w, s| w.str(s.code()));
    w.option(policy_country.as_deref(), |w, s| w.str(s));
    w.list(sectors, |w, s| w.str(s.slug()));
    w.list(attack_types, |w, s| w.str(s.slug()));
    w.list(event_types, |w, s| w.str(s.slug()));
    let (text, layout) = reasons.raw_parts();
    w.str(text);
    w.list(layout, |w, &n| w.varint(u64::from(n)));
    w.option(decision.as_ref(), |w, d| {
        let Decision {
            verdict,
            section,
            country,
            note,
            decided_at,
        } = d;
        w.option(*verdict, |w, v| w.str(v.name()));
        w.option(*section, |w, s| w.str(s.code()));
        w.option(country.as_deref(), |w, s| w.str(s));
        w.option(note.as_deref(), |w, s| w.str(s));
        w.option(*decided_at, |w, t| {
            w.instant(t.timestamp(), t.timestamp_subsec_nanos())
        });
    });
    w.list(links, |w, l| w.str(l));
}

/// Reads an item, or says what is wrong with the bytes.
pub fn decode(bytes: &[u8]) -> Result<Item, String> {
    let mut r = Reader(bytes);
    let mut strings = [(); 8].map(|_| String::new());
    for s in &mut strings {
        *s = r.string()?;
    }
    let [id, source, publisher, country, lang, identity, title, url] = strings;
    let published = r.option(|r| {
        let (secs, nanos) = r.instant()?;
        let offset = i32::try_from(unzigzag(r.varint()?))
            .ok()
            .and_then(FixedOffset::east_opt)
            .ok_or("a UTC offset out of range")?;
        offset
            .timestamp_opt(secs, nanos)
            .single()
            .ok_or_else(|| "a publication time out of range".to_string())
    })?;
    let accessed = i32::try_from(unzigzag(r.varint()?))
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or("an access date out of range")?;
    let first_seen = r.utc()?;
    let last_changed = r.utc()?;
    let summary = r.string()?;
    let section = r.option(|r| r.parsed::<Section>())?;
    let policy_country = r.option(Reader::string)?;
    let sectors = r.list(|r| r.parsed::<Sector>())?;
    let attack_types = r.list(|r| r.parsed::<AttackType>())?;
    let event_types = r.list(|r| r.parsed::<EventType>())?;
    let text = r.string()?;
    let layout = r.list(|r| u32::try_from(r.varint()?).map_err(|_| "a reason offset".into()))?;
    let reasons =
        Reasons::from_raw_parts(text, layout).ok_or("reasons that do not fit their text")?;
    let decision = r.option(|r| {
        Ok(Decision {
            verdict: r.option(|r| {
                let name = r.str()?;
                Verdict::ALL
                    .into_iter()
                    .find(|v| v.name() == name)
                    .ok_or_else(|| format!("an unknown verdict {name:?}"))
            })?,
            section: r.option(|r| r.parsed::<Section>())?,
            country: r.option(Reader::string)?,
            note: r.option(Reader::string)?,
            decided_at: r.option(Reader::utc)?,
        })
    })?;
    let links = r.list(Reader::string)?;
    if !r.0.is_empty() {
        return Err(format!("{} bytes after the item", r.0.len()));
    }
    Ok(Item {
        id,
        source,
        publisher,
        country,
        lang,
        identity,
        title,
        url,
        published,
        accessed,
        first_seen,
        last_changed,
        summary,
        classification: Classification {
            section,
            country: policy_country,
            sectors,
            attack_types,
            event_types,
            reasons,
        },
        decision,
        links,
    })
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn instant(&mut self, secs: i64, nanos: u32) {
        self.varint(zigzag(secs));
        self.varint(u64::from(nanos));
    }

    fn option<T>(&mut self, value: Option<T>, write: impl FnOnce(&mut Self, T)) {
        match value {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                write(self, v);
            }
        }
    }

    fn list<T>(&mut self, values: &[T], mut write: impl FnMut(&mut Self, &T)) {
        self.varint(values.len() as u64);
        for v in values {
            write(self, v);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let (&b, rest) = self.0.split_first().ok_or("the item ends early")?;
        self.0 = rest;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            // The tenth byte holds the 64th bit only.
            if shift == 63 && b > 1 {
                return Err("a number longer than 64 bits".into());
            }
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err("a number longer than 64 bits".into())
    }

    fn str(&mut self) -> Result<&'a str, String> {
        let len = usize::try_from(self.varint()?).map_err(|_| "a string length")?;
        if len > self.0.len() {
            return Err("a string runs past the end of the item".into());
        }
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        std::str::from_utf8(text).map_err(|e| format!("a string that is not UTF-8: {e}"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.str().map(str::to_owned)
    }

    fn parsed<T: std::str::FromStr<Err = String>>(&mut self) -> Result<T, String> {
        self.str()?.parse()
    }

    fn instant(&mut self) -> Result<(i64, u32), String> {
        let secs = unzigzag(self.varint()?);
        let nanos = u32::try_from(self.varint()?).map_err(|_| "nanoseconds out of range")?;
        Ok((secs, nanos))
    }

    fn utc(&mut self) -> Result<DateTime<Utc>, String> {
        let (secs, nanos) = self.instant()?;
        DateTime::from_timestamp(secs, nanos).ok_or_else(|| "a time out of range".into())
    }

    fn option<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        match self.byte()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            other => Err(format!("an option marked {other}")),
        }
    }

    fn list<T>(
        &mut self,
        mut read: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let len = usize::try_from(self.varint()?).map_err(|_| "a list length")?;
        // Every element takes at least a byte: a damaged length cannot reserve gigabytes.
        if len > self.0.len() {
            return Err("a list longer than the rest of the item".into());
        }
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(read(self)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rich() -> Item {
        let mut reasons = Reasons::default();
        reasons.push("sector=medical", "sector.toml:medical-ja", &["病院"]);
        reasons.push("section=3.1", "decision", &["incident, Japan"]);
        let jst = FixedOffset::east_opt(9 * 3600).unwrap();
        Item {
            id: "0123abcd".into(),
            source: "nisc".into(),
            publisher: "国家サイバー統括室".into(),
            country: "JP".into(),
            lang: "ja".into(),
            identity: "guid:https://example.jp/a".into(),
            title: "病院でランサムウェア被害 \"第2報\"\n".into(),
            url: "https://example.jp/a?x=1&y=é".into(),
            published: Some(jst.with_ymd_and_hms(2024, 10, 3, 9, 30, 15).unwrap()),
            accessed: NaiveDate::from_ymd_opt(2024, 10, 4).unwrap(),
            first_seen: DateTime::from_timestamp(1_728_000_000, 123_456_789).unwrap(),
            last_changed: DateTime::from_timestamp(-86_400, 0).unwrap(),
            summary: String::new(),
            classification: Classification {
                section: Some(Section::DomesticCritical),
                country: Some("JP".into()),
                sectors: vec![Sector::Medical, Sector::Port],
                attack_types: vec![AttackType::Ransomware],
                event_types: vec![EventType::Outage, EventType::Leak],
                reasons,
            },
            decision: Some(Decision {
                verdict: Some(Verdict::Exclude),
                section: Some(Section::ForeignPolicy),
                country: Some("US".into()),
                note: Some("重複".into()),
                decided_at: Some(DateTime::from_timestamp(1_730_000_000, 1).unwrap()),
            }),
            links: vec!["https://example.jp/b".into(), String::new()],
        }
    }

    fn bare() -> Item {
        let west = FixedOffset::west_opt(5 * 3600 + 30 * 60).unwrap();
        Item {
            published: Some(west.with_ymd_and_hms(1969, 12, 31, 23, 0, 0).unwrap()),
            classification: Classification::default(),
            decision: Some(Decision::default()),
            links: vec![],
            ..rich()
        }
    }

    fn round_trip(item: &Item) -> Item {
        let mut bytes = Vec::new();
        encode(item, &mut bytes);
        decode(&bytes).unwrap()
    }

    #[test]
    fn every_field_reads_back_as_written() {
        for item in [
            rich(),
            bare(),
            Item {
                published: None,
                decision: None,
                ..rich()
            },
        ] {
            let back = round_trip(&item);
            assert_eq!(back, item);
            // The offset is kept, not only the instant.
            assert_eq!(
                back.published.map(|p| p.to_rfc3339()),
                item.published.map(|p| p.to_rfc3339())
            );
        }
    }

    #[test]
    fn items_stored_as_json_by_earlier_releases_still_open() {
        use crate::store::{Error, envelope};
        let item = rich();
        let old = envelope::seal(&item);
        let new = envelope::seal_item(&item);
        assert_eq!((old[0], new[0]), (1, 2));
        assert!(new.len() < old.len());
        assert_eq!(envelope::open_item(b"k", &old).unwrap(), item);
        assert_eq!(envelope::open_item(b"k", &new).unwrap(), item);
        let mut damaged = new.clone();
        damaged[20] ^= 1;
        let Err(Error::Corrupt { key, reason }) = envelope::open_item(b"k", &damaged) else {
            panic!("damage not seen");
        };
        assert_eq!((key.as_str(), reason.as_str()), ("k", "checksum mismatch"));
        let mut unknown = new;
        unknown[0] = 9;
        assert!(matches!(
            envelope::open_item(b"k", &unknown),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        let mut bytes = Vec::new();
        encode(&rich(), &mut bytes);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).unwrap_err().contains("after the item"));
        // Every byte flipped in turn: an error or another item, never a panic.
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0xa5;
            let _ = decode(&damaged);
        }
        let huge_list = [0u8, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(decode(&huge_list).is_err());
        // A length with bits past the 64th.
        let mut too_long = vec![0xffu8; 9];
        too_long.push(0x02);
        assert!(decode(&too_long).unwrap_err().contains("64 bits"));
    }
}
