//! The stored form of one webhook event: encoded once, in binary, when the event is created (no
//! JSON inside JSON). Layout, version 1: `version (u8) ‖ id (16) ‖ instance (16) ‖ queue (u8) ‖
//! created_ms (u64) ‖ attempts (u32) ‖ not_before_ms (u64) ‖ name_len (u8) ‖ name ‖
//! error_len (u16) ‖ error ‖ body`, integers big-endian. The body is the exact bytes POSTed.
//! Pure data: no I/O, any thread.

use bytes::Bytes;
use chatedge_config::snapshot::WebhookKind;
use chatedge_config::{EventId, InstanceId};

use crate::store::StoreError;

const VERSION: u8 = 1;
/// Longest failure reason kept with an event (longer ones are cut at a char boundary).
const MAX_ERROR_LEN: usize = 512;

/// One webhook event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: EventId,
    pub instance: InstanceId,
    pub kind: WebhookKind,
    /// The event's name (the Z-API callback `type`, e.g. `ReceivedCallback`), for the
    /// `X-Webhook-Event` header.
    pub name: String,
    pub created_ms: u64,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not to be attempted before this time (0: at once): the retry schedule, kept in the
    /// store so a restart resumes it.
    pub not_before_ms: u64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The JSON body, fixed at creation so every attempt sends the same bytes.
    pub body: Bytes,
}

impl StoredEvent {
    pub fn new(id: EventId, instance: InstanceId, kind: WebhookKind, name: String, body: Bytes) -> Self {
        StoredEvent {
            id,
            instance,
            kind,
            name,
            created_ms: chatedge_config::time::unix_ms(),
            attempts: 0,
            not_before_ms: 0,
            last_error: None,
            body,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let name = truncate(&self.name, u8::MAX as usize);
        let error = truncate(self.last_error.as_deref().unwrap_or(""), MAX_ERROR_LEN);
        let mut v = Vec::with_capacity(64 + name.len() + error.len() + self.body.len());
        v.push(VERSION);
        v.extend_from_slice(self.id.as_bytes());
        v.extend_from_slice(self.instance.as_bytes());
        v.push(super::queue_of(self.kind));
        v.extend_from_slice(&self.created_ms.to_be_bytes());
        v.extend_from_slice(&self.attempts.to_be_bytes());
        v.extend_from_slice(&self.not_before_ms.to_be_bytes());
        v.push(name.len() as u8);
        v.extend_from_slice(name.as_bytes());
        v.extend_from_slice(&(error.len() as u16).to_be_bytes());
        v.extend_from_slice(error.as_bytes());
        v.extend_from_slice(&self.body);
        v
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("outbox event: {what}"));
        let mut r = Reader(bytes);
        if r.take(1).ok_or_else(|| bad("empty"))?[0] != VERSION {
            return Err(bad("unknown version"));
        }
        let id = r.take(EventId::LEN).and_then(EventId::from_slice).ok_or_else(|| bad("id"))?;
        let instance = r.take(InstanceId::LEN).and_then(InstanceId::from_slice).ok_or_else(|| bad("instance"))?;
        let kind = r.take(1).and_then(|q| super::kind_of(q[0])).ok_or_else(|| bad("kind"))?;
        let created_ms = r.u64().ok_or_else(|| bad("created"))?;
        let attempts =
            r.take(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok_or_else(|| bad("attempts"))?;
        let not_before_ms = r.u64().ok_or_else(|| bad("not before"))?;
        let name_len = r.take(1).ok_or_else(|| bad("name"))?[0] as usize;
        let name = r.take(name_len).and_then(|b| std::str::from_utf8(b).ok()).ok_or_else(|| bad("name"))?;
        let error_len = r.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize).ok_or_else(|| bad("error"))?;
        let error = r.take(error_len).and_then(|b| std::str::from_utf8(b).ok()).ok_or_else(|| bad("error"))?;
        Ok(StoredEvent {
            id,
            instance,
            kind,
            name: name.to_owned(),
            created_ms,
            attempts,
            not_before_ms,
            last_error: (!error.is_empty()).then(|| error.to_owned()),
            body: Bytes::copy_from_slice(r.0),
        })
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoredEvent {
        let mut e = StoredEvent::new(
            EventId::generate(),
            InstanceId::generate(),
            WebhookKind::MessageStatus,
            "MessageStatusCallback".into(),
            Bytes::from_static(br#"{"type":"MessageStatusCallback","status":"READ"}"#),
        );
        e.attempts = 3;
        e.not_before_ms = 1_700_000_000_123;
        e.last_error = Some("HTTP 503".into());
        e
    }

    #[test]
    fn an_event_decodes_to_what_was_encoded_with_the_body_bytes_untouched() {
        let e = sample();
        assert_eq!(StoredEvent::decode(&e.encode()).unwrap(), e);
        let plain = StoredEvent { last_error: None, ..sample() };
        assert_eq!(StoredEvent::decode(&plain.encode()).unwrap(), plain);
    }

    #[test]
    fn a_truncated_or_foreign_record_is_corrupt_not_a_panic() {
        let bytes = sample().encode();
        for cut in [0, 1, 10, 40, 50] {
            assert!(StoredEvent::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(StoredEvent::decode(br#"{"id":"json from before"}"#).is_err());
    }

    #[test]
    fn a_long_error_is_cut_at_a_character_boundary() {
        let e = StoredEvent { last_error: Some("é".repeat(400)), ..sample() };
        let back = StoredEvent::decode(&e.encode()).unwrap();
        assert!(back.last_error.unwrap().len() <= MAX_ERROR_LEN);
    }
}
