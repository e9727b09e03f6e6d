//! The stored form of a key's record: `version (1) ‖ fingerprint (32) ‖ created_ms (u64 BE) ‖
//! status (u16 BE) ‖ answer body`. Fixed-width fields first, so the compaction filter reads
//! the age without parsing the rest.

use bytes::Bytes;

use super::TTL;

const VERSION: u8 = 1;
const HEAD: usize = 1 + 32 + 8 + 2;

/// What a key remembers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub fingerprint: [u8; 32],
    pub created_ms: u64,
    pub status: u16,
    pub answer: Bytes,
}

impl Record {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEAD + self.answer.len());
        v.push(VERSION);
        v.extend_from_slice(&self.fingerprint);
        v.extend_from_slice(&self.created_ms.to_be_bytes());
        v.extend_from_slice(&self.status.to_be_bytes());
        v.extend_from_slice(&self.answer);
        v
    }

    /// `None` for bytes this version did not write (treated as no record).
    pub fn decode(v: &[u8]) -> Option<Record> {
        if v.len() < HEAD || v[0] != VERSION {
            return None;
        }
        Some(Record {
            fingerprint: v[1..33].try_into().ok()?,
            created_ms: created_ms(v)?,
            status: u16::from_be_bytes(v[41..43].try_into().ok()?),
            answer: Bytes::copy_from_slice(&v[HEAD..]),
        })
    }
}

fn created_ms(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.get(33..41)?.try_into().ok()?))
}

/// Whether a record made at `created_ms` is past [`TTL`] at `now_ms`.
pub fn expired(created_ms: u64, now_ms: u64) -> bool {
    now_ms.saturating_sub(created_ms) >= TTL.as_millis() as u64
}

/// For the compaction filter: whether stored bytes can be dropped at `now_ms` (expired, or
/// not a record this version can read).
pub fn droppable(v: &[u8], now_ms: u64) -> bool {
    match created_ms(v) {
        Some(t) if v[0] == VERSION => expired(t, now_ms),
        _ => true,
    }
}
