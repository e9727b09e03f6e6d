use std::convert::Infallible;

use bytes::Bytes;
use chatedge_config::InstanceId;
use hyper::HeaderMap;

use super::*;

fn claim(key: &str, body: &[u8]) -> Claim {
    let mut h = HeaderMap::new();
    h.insert(HEADER, key.parse().unwrap());
    let instance = InstanceId::parse("3C5E0D2A6F1B4E8C9A7D2B1F0E3C5A7D").unwrap();
    let mut c = Claim::read(&h, &instance, "zapi.send-text", None, body).unwrap().unwrap();
    c.answer = Bytes::from_static(b"{\"zaapId\":\"first\"}");
    c
}

fn none() -> Result<Option<Record>, Infallible> {
    Ok(None)
}

fn stored(c: &Claim, created_ms: u64) -> impl FnOnce() -> Result<Option<Record>, Infallible> {
    let r = Record { fingerprint: c.fingerprint, created_ms, status: 200, answer: c.answer.clone() };
    move || Ok(Some(r))
}

#[test]
fn a_missing_header_is_no_claim_and_a_malformed_key_is_refused() {
    let instance = InstanceId::parse("3C5E0D2A6F1B4E8C9A7D2B1F0E3C5A7D").unwrap();
    assert!(Claim::read(&HeaderMap::new(), &instance, "r", None, b"{}").unwrap().is_none());
    for bad in ["has space", &"k".repeat(MAX_KEY_LEN + 1)] {
        let mut h = HeaderMap::new();
        h.insert(HEADER, bad.parse().unwrap());
        assert_eq!(Claim::read(&h, &instance, "r", None, b"{}").unwrap_err(), KeyError::Malformed, "{bad}");
    }
}

#[test]
fn the_same_key_replays_and_another_body_conflicts_until_the_record_expires() {
    let table: InFlight<(), ()> = InFlight::default();
    let first = claim("k1", b"{\"message\":\"a\"}");
    let now = 10 * TTL.as_millis() as u64;
    assert!(matches!(table.admit(&first, none, now).unwrap(), Admission::Fresh));
    match table.admit(&first, stored(&first, now - 1), now).unwrap() {
        Admission::Replay(answer) => assert_eq!(answer, first.answer),
        other => panic!("expected a replay, got {other:?}"),
    }
    let other_body = claim("k1", b"{\"message\":\"b\"}");
    assert!(matches!(table.admit(&other_body, stored(&first, now - 1), now).unwrap(), Admission::Conflict));
    let a_day_later = now + TTL.as_millis() as u64;
    assert!(matches!(table.admit(&other_body, stored(&first, now), a_day_later).unwrap(), Admission::Fresh));
}

#[test]
fn a_duplicate_in_flight_waits_and_hears_the_first_answer() {
    let mut table: InFlight<&str, &str> = InFlight::default();
    let first = claim("k2", b"{}");
    table.begin(&first);
    let read_must_not_happen = || -> Result<Option<Record>, Infallible> { panic!("the in-flight table answers first") };
    assert!(matches!(table.admit(&first, read_must_not_happen, 0).unwrap(), Admission::Wait));
    assert!(matches!(table.admit(&claim("k2", b"{\"x\":1}"), none, 0).unwrap(), Admission::Conflict));
    assert!(table.wait(Waiter { message: "second", reply: "reply-2", claim: first.clone() }).is_ok());
    match table.finish(&first.store_key, true) {
        Finished::Replay(replies, answer) => {
            assert_eq!(replies, vec!["reply-2"]);
            assert_eq!(answer, first.answer);
        }
        Finished::Retry(_) => panic!("the first succeeded"),
    }
    assert!(table.is_empty());
}

#[test]
fn when_the_first_fails_its_waiters_are_sent_again_and_waiters_are_bounded() {
    let mut table: InFlight<u32, u32> = InFlight::default();
    let first = claim("k3", b"{}");
    table.begin(&first);
    for i in 0..MAX_WAITERS as u32 {
        assert!(matches!(table.admit(&first, none, 0).unwrap(), Admission::Wait));
        assert!(table.wait(Waiter { message: i, reply: i, claim: first.clone() }).is_ok());
    }
    assert!(matches!(table.admit(&first, none, 0).unwrap(), Admission::Busy));
    match table.finish(&first.store_key, false) {
        Finished::Retry(waiters) => assert_eq!(waiters.len(), MAX_WAITERS),
        Finished::Replay(..) => panic!("the first failed"),
    }
}

#[test]
fn a_record_round_trips_and_the_compaction_filter_drops_only_expired_ones() {
    let r = Record { fingerprint: [7; 32], created_ms: 1_000, status: 200, answer: Bytes::from_static(b"{}") };
    let bytes = r.encode();
    assert_eq!(Record::decode(&bytes), Some(r));
    assert!(!droppable(&bytes, 1_000 + TTL.as_millis() as u64 - 1));
    assert!(droppable(&bytes, 1_000 + TTL.as_millis() as u64));
    assert!(droppable(b"junk", 0), "unreadable bytes are not kept forever");
}
