//! Every stored value is wrapped as `version | crc32 | payload`, so that a damaged value is
//! reported as corruption of that key instead of decoding into nonsense.
//!
//! Version 1 is JSON, for every kind of value. Items are written as version 2, the compact form
//! of `item_codec`; items written as version 1 by earlier releases are still read.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Error, item_codec};
use crate::model::Item;

const VERSION: u8 = 1;
const ITEM_VERSION: u8 = 2;

/// Wraps a value for storage.
pub fn seal<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising plain data structs to JSON cannot fail.
    let payload = serde_json::to_vec(value).unwrap_or_default();
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(VERSION);
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Unwraps a stored value, checking version and checksum.
pub fn open<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, Error> {
    let payload = checked(key, bytes, VERSION, crc32fast::hash)?;
    serde_json::from_slice(payload).map_err(|e| corrupt(key, e.to_string()))
}

/// Wraps an item for storage.
pub fn seal_item(item: &Item) -> Vec<u8> {
    // Most items take less than a kilobyte: one allocation.
    let mut out = Vec::with_capacity(1024);
    out.push(ITEM_VERSION);
    out.extend_from_slice(&[0; 4]);
    item_codec::encode(item, &mut out);
    let crc = item_crc(out[0], &out[5..]);
    out[1..5].copy_from_slice(&crc.to_le_bytes());
    out
}

/// An item's checksum covers its version byte too: a flipped version is damage, not another
/// format.
fn item_crc(version: u8, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&[version]);
    hasher.update(payload);
    hasher.finalize()
}

/// Unwraps a stored item, of either version.
pub fn open_item(key: &[u8], bytes: &[u8]) -> Result<Item, Error> {
    if bytes.first() == Some(&VERSION) {
        return open(key, bytes);
    }
    let payload = checked(key, bytes, ITEM_VERSION, |p| item_crc(ITEM_VERSION, p))?;
    item_codec::decode(payload).map_err(|reason| corrupt(key, reason))
}

fn corrupt(key: &[u8], reason: String) -> Error {
    Error::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason,
    }
}

/// The payload, once the version is the one expected and the checksum matches.
fn checked<'a>(
    key: &[u8],
    bytes: &'a [u8],
    version: u8,
    checksum: impl Fn(&[u8]) -> u32,
) -> Result<&'a [u8], Error> {
    if bytes.len() < 5 {
        return Err(corrupt(key, "value too short".into()));
    }
    if bytes[0] != version {
        return Err(corrupt(key, format!("unknown value version {}", bytes[0])));
    }
    let crc = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let payload = &bytes[5..];
    if checksum(payload) != crc {
        return Err(corrupt(key, "checksum mismatch".into()));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let sealed = seal(&vec!["a".to_string()]);
        assert_eq!(
            open::<Vec<String>>(b"k", &sealed).unwrap(),
            vec!["a".to_string()]
        );
        let mut damaged = sealed.clone();
        let last = damaged.len() - 2;
        damaged[last] ^= 1;
        assert!(matches!(
            open::<Vec<String>>(b"k", &damaged),
            Err(Error::Corrupt { .. })
        ));
    }
}
