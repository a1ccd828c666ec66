//! Every stored value is wrapped as `version | crc32 | payload`, so that a damaged value is
//! reported as corruption of that key instead of decoding into nonsense.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Error;

const VERSION: u8 = 1;

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
    let corrupt = |reason: String| Error::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason,
    };
    if bytes.len() < 5 {
        return Err(corrupt("value too short".into()));
    }
    if bytes[0] != VERSION {
        return Err(corrupt(format!("unknown value version {}", bytes[0])));
    }
    let crc = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let payload = &bytes[5..];
    if crc32fast::hash(payload) != crc {
        return Err(corrupt("checksum mismatch".into()));
    }
    serde_json::from_slice(payload).map_err(|e| corrupt(e.to_string()))
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
