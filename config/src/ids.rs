//! Fixed-size identifiers. Each is a newtype over bytes so it is `Copy`, hashes cheaply and
//! makes a big-endian RocksDB key as is; each displays as upper-case hex, as Z-API ids do
//! (`3C67AB641C8AA0412F6A2242B4E23AC7`). Parsing is strict: a value of the type is valid.

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must be {expected} hexadecimal characters, got {got}")]
    Length { expected: usize, got: usize },
    #[error("must contain only hexadecimal characters 0-9 A-F")]
    NotHex,
}

fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], IdError> {
    let bytes = s.as_bytes();
    if bytes.len() != N * 2 {
        return Err(IdError::Length { expected: N * 2, got: bytes.len() });
    }
    let mut out = [0u8; N];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = hex_value(pair[0]).ok_or(IdError::NotHex)?;
        let lo = hex_value(pair[1]).ok_or(IdError::NotHex)?;
        out[i] = (hi << 4) | lo;
    }
    Ok(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Writes `bytes` as upper-case hex into `f`.
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_str(hex_upper(bytes, &mut [0u8; 64]))
}

/// `bytes` (at most 32) as upper-case hex in `buf`.
fn hex_upper<'b>(bytes: &[u8], buf: &'b mut [u8; 64]) -> &'b str {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for (i, b) in bytes.iter().take(32).enumerate() {
        buf[2 * i] = DIGITS[(b >> 4) as usize];
        buf[2 * i + 1] = DIGITS[(b & 0xF) as usize];
    }
    // Only ASCII hex digits were written.
    std::str::from_utf8(&buf[..bytes.len().min(32) * 2]).unwrap_or_default()
}

/// Milliseconds since the Unix epoch, for time-ordered ids.
fn now_ms() -> u64 {
    crate::time::unix_ms()
}

/// Random bytes with the first six holding the current time in ms (big-endian), so ids sort
/// by creation time, like ULIDs, and keys built from them append at the end of a range.
fn time_ordered<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rng().fill_bytes(&mut out);
    let ms = now_ms().to_be_bytes();
    out[..6].copy_from_slice(&ms[2..]);
    out
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Parses the upper- or lower-case hex form.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                parse_hex::<$len>(s).map(Self)
            }

            /// A new time-ordered random id.
            pub fn generate() -> Self {
                Self(time_ordered::<$len>())
            }

            /// A new id with every byte random (nothing about when it was made).
            pub fn random() -> Self {
                let mut b = [0u8; $len];
                rand::rng().fill_bytes(&mut b);
                Self(b)
            }

            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// Reads an id from the first `LEN` bytes of `bytes`, if there are that many.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                let arr: [u8; $len] = bytes.get(..$len)?.try_into().ok()?;
                Some(Self(arr))
            }

            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            // The hex straight into the serializer: `collect_str` would go through `fmt`,
            // which costs every queued message (it holds several ids) a few hundred ns.
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(hex_upper(&self.0, &mut [0u8; 64]))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_id!(
    /// One connected phone number (Z-API "instance"): 32 hex characters.
    InstanceId,
    16
);
hex_id!(
    /// An account that owns instances.
    TenantId,
    16
);
hex_id!(
    /// chatedge's id of an accepted message (Z-API `zaapId`): 32 hex characters.
    ZaapId,
    16
);
hex_id!(
    /// A webhook event id, stable across retries (Standard Webhooks `webhook-id`).
    EventId,
    16
);
hex_id!(
    /// Media stored under an id (an upload, or received media a dialect names by id):
    /// 32 hex characters.
    MediaId,
    16
);
hex_id!(
    /// A data plane node.
    NodeId,
    8
);
hex_id!(
    /// The chat network's id of a message (Z-API `messageId`): 20 hex characters, chosen by
    /// chatedge before sending so a resend after a crash is the same message.
    MessageId,
    10
);

impl EventId {
    /// An id determined by what the event is about: the same parts always give the same id,
    /// so an event created again after a crash (a message resent, an incoming message the
    /// network redelivered) reaches the receiver under the `webhook-id` it may already have.
    pub fn derive(parts: &[&[u8]]) -> EventId {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p);
        }
        let digest = h.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        EventId(id)
    }
}

impl InstanceId {
    /// A stable spread of instances over `n` shards.
    pub fn shard(&self, n: usize) -> usize {
        let mut tail = [0u8; 8];
        tail.copy_from_slice(&self.0[8..]);
        (u64::from_be_bytes(tail) % n.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_hex_form() {
        let id = InstanceId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert!(text.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        assert_eq!(InstanceId::parse(&text), Ok(id));
        assert_eq!(InstanceId::parse(&text.to_lowercase()), Ok(id));
        assert_eq!(MessageId::generate().to_string().len(), 20);
    }

    #[test]
    fn malformed_ids_are_refused_with_the_reason() {
        assert_eq!(InstanceId::parse("ABC"), Err(IdError::Length { expected: 32, got: 3 }));
        assert_eq!(InstanceId::parse(&"G".repeat(32)), Err(IdError::NotHex));
    }

    #[test]
    fn generated_ids_sort_by_creation_time() {
        let a = ZaapId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = ZaapId::generate();
        assert!(a < b);
    }

    #[test]
    fn derived_event_ids_depend_only_on_their_parts() {
        let a = EventId::derive(&[b"instance", b"delivery", b"zaap"]);
        assert_eq!(a, EventId::derive(&[b"instance", b"delivery", b"zaap"]));
        assert_ne!(a, EventId::derive(&[b"instance", b"status", b"zaap"]));
        // Part boundaries count: ("ab", "c") is not ("a", "bc").
        assert_ne!(EventId::derive(&[b"ab", b"c"]), EventId::derive(&[b"a", b"bc"]));
    }

    #[test]
    fn ids_serialize_as_strings() {
        let id = InstanceId::generate();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<InstanceId>(&json).unwrap(), id);
        // Every nibble, in the upper-case form `Display` writes, for ids of either length.
        let bytes = [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10];
        let zaap = ZaapId::from_bytes(bytes);
        assert_eq!(serde_json::to_string(&zaap).unwrap(), "\"0123456789ABCDEFFEDCBA9876543210\"");
        let message = MessageId::from_slice(&bytes).unwrap();
        assert_eq!(serde_json::to_string(&message).unwrap(), format!("\"{message}\""));
        assert_eq!(serde_json::to_string(&message).unwrap(), "\"0123456789ABCDEFFEDC\"");
    }
}
