//! ids: chatedge's message id ↔ the Cloud API's message id (`wamid`) of each instance, kept
//! both ways in `Cf::CloudMessages` (instance ‖ 'o' ‖ our id → wamid; instance ‖ 'w' ‖ wamid →
//! our id). A send records the pair once the network answered, before the acceptance is
//! reported, so a resend after a crash finds the wamid and is not posted twice; a status
//! notification finds which of our messages it is about. Reads go to RocksDB directly (point
//! reads from any thread); writes go into the caller's [`Batch`]. Nothing here talks to the
//! network.
//!
//! The pairs are not kept for ever: each record also writes a time-ordered index entry
//! (instance ‖ 'e' ‖ written ms ‖ our id → wamid), and [`prune`] deletes, for every index entry
//! older than `[network.cloud_api] message_id_retention` (default 30 days: a status can arrive
//! days late), the pair, the message's zaapId row (instance ‖ 'z' ‖ our id, see
//! [`super::inbound::zaap_key`]) and the entry itself. The walk seeks straight to each
//! instance's index and stops at its first recent entry, so its cost is the number of
//! instances plus what it deletes, never the family's size; it runs on the blocking pool (see
//! [`super::seen::run`]), never on an event loop or a send.

use chatedge_config::{InstanceId, MessageId};

use crate::store::{Batch, Cf, Store, StoreError};

/// Longest wamid kept; Meta's are ~60 characters of base64.
pub const MAX_WAMID_BYTES: usize = 256;

const OURS: u8 = b'o';
const THEIRS: u8 = b'w';
/// The time-ordered index of recorded pairs (see the module docs).
const BY_TIME: u8 = b'e';
/// instance ‖ 'e' ‖ ms ‖ our id.
const INDEX_KEY_LEN: usize = InstanceId::LEN + 1 + 8 + MessageId::LEN;

/// Expired index entries handled per batch (and per walk step).
pub const PRUNE_CHUNK: usize = 5_000;

fn key(instance: &InstanceId, side: u8, id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(instance.as_bytes().len() + 1 + id.len());
    k.extend_from_slice(instance.as_bytes());
    k.push(side);
    k.extend_from_slice(id);
    k
}

/// Every key of `instance` (for teardown): `[from, to)`.
pub fn instance_span(instance: &InstanceId) -> (Vec<u8>, Vec<u8>) {
    let from = instance.as_bytes().to_vec();
    (from.clone(), crate::store::keys::prefix_end(&from))
}

/// Records that our message `ours` is the network's `wamid`, both ways (and in the time index),
/// in `batch`. A wamid longer than [`MAX_WAMID_BYTES`] is not recorded (the network would not
/// send one).
/// Returns whether it was recorded.
pub fn record(batch: &mut Batch, instance: &InstanceId, ours: &MessageId, wamid: &str) -> bool {
    record_at(batch, instance, ours, wamid, chatedge_config::time::unix_ms())
}

/// [`record`] as if written at `written_ms` (the index entry's time).
pub fn record_at(batch: &mut Batch, instance: &InstanceId, ours: &MessageId, wamid: &str, written_ms: u64) -> bool {
    if wamid.is_empty() || wamid.len() > MAX_WAMID_BYTES {
        return false;
    }
    batch.put(Cf::CloudMessages, key(instance, OURS, ours.as_bytes()), wamid.as_bytes().to_vec());
    batch.put(Cf::CloudMessages, key(instance, THEIRS, wamid.as_bytes()), ours.as_bytes().to_vec());
    let mut at = written_ms.to_be_bytes().to_vec();
    at.extend_from_slice(ours.as_bytes());
    batch.put(Cf::CloudMessages, key(instance, BY_TIME, &at), wamid.as_bytes().to_vec());
    true
}

/// One walk step: the keys to delete, how many pairs they are, and where the next step starts
/// (`None`: the walk is over).
type Step = (Vec<Vec<u8>>, u64, Option<Vec<u8>>);

/// Up to [`PRUNE_CHUNK`] expired pairs at or after `from` (see the module docs).
fn collect_expired(store: &Store, from: &[u8], cutoff_ms: u64) -> Result<Step, StoreError> {
    let mut it = store.db().raw_iterator_cf(store.cf(Cf::CloudMessages));
    it.seek(from);
    let (mut doomed, mut pairs) = (Vec::new(), 0u64);
    while let Some(k) = it.key() {
        let Some(instance) = k.get(..InstanceId::LEN).and_then(InstanceId::from_slice) else {
            it.next(); // shorter than any key written here
            continue;
        };
        let mut index = instance.as_bytes().to_vec();
        index.push(BY_TIME);
        if k < index.as_slice() {
            it.seek(&index);
            continue;
        }
        let written = k.get(InstanceId::LEN + 1..InstanceId::LEN + 9).and_then(|b| <[u8; 8]>::try_from(b).ok());
        let ours = k.get(InstanceId::LEN + 9..).and_then(MessageId::from_slice);
        match (k.starts_with(&index) && k.len() == INDEX_KEY_LEN, written.map(u64::from_be_bytes), ours) {
            (true, Some(ms), Some(ours)) if ms < cutoff_ms => {
                if pairs as usize == PRUNE_CHUNK {
                    return Ok((doomed, pairs, Some(k.to_vec())));
                }
                doomed.push(k.to_vec());
                doomed.push(key(&instance, OURS, ours.as_bytes()));
                doomed.push(super::inbound::zaap_key(&instance, &ours));
                if let Some(wamid) = it.value() {
                    doomed.push(key(&instance, THEIRS, wamid));
                }
                pairs += 1;
                it.next();
            }
            // The instance's first recent entry (or past its index): on to the next instance.
            _ => {
                let next = crate::store::keys::prefix_end(instance.as_bytes());
                if next.len() > InstanceId::LEN {
                    break; // the last possible instance
                }
                it.seek(&next);
            }
        }
    }
    it.status()?;
    Ok((doomed, pairs, None))
}

/// Deletes every pair recorded before `cutoff_ms`, with its zaapId row; returns how many pairs
/// went. Walks on the blocking pool, deletes through the committer, [`PRUNE_CHUNK`] at a time.
pub async fn prune(store: &std::sync::Arc<Store>, cutoff_ms: u64) -> Result<u64, StoreError> {
    let mut from = Vec::new();
    let mut pruned = 0u64;
    loop {
        let s = store.clone();
        let (doomed, pairs, next) = tokio::task::spawn_blocking(move || collect_expired(&s, &from, cutoff_ms))
            .await
            .map_err(|e| StoreError::Rocks(format!("message-id walk stopped: {e}")))??;
        if !doomed.is_empty() {
            pruned += pairs;
            let mut batch = Batch::new();
            for k in doomed {
                batch.delete(Cf::CloudMessages, k);
            }
            store.commit(batch).await?;
        }
        match next {
            Some(n) => from = n,
            None => return Ok(pruned),
        }
    }
}

/// Our message that the network calls `wamid`, if recorded.
pub fn ours(store: &Store, instance: &InstanceId, wamid: &str) -> Result<Option<MessageId>, StoreError> {
    let found = store.db().get_cf(store.cf(Cf::CloudMessages), key(instance, THEIRS, wamid.as_bytes()))?;
    match found {
        None => Ok(None),
        Some(bytes) => MessageId::from_slice(&bytes)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt("cloud message id of the wrong length".into())),
    }
}

/// The network's wamid of our message `ours`, if it was accepted.
pub fn theirs(store: &Store, instance: &InstanceId, ours: &MessageId) -> Result<Option<String>, StoreError> {
    let found = store.db().get_cf(store.cf(Cf::CloudMessages), key(instance, OURS, ours.as_bytes()))?;
    match found {
        None => Ok(None),
        Some(bytes) => {
            String::from_utf8(bytes).map(Some).map_err(|_| StoreError::Corrupt("cloud wamid is not UTF-8".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::metrics::Metrics;

    #[tokio::test]
    async fn a_recorded_pair_is_found_both_ways_and_only_for_its_instance() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 64, Arc::new(Metrics::new())).unwrap();
        let (a, b) = (InstanceId::generate(), InstanceId::generate());
        let ours_id = MessageId::random();
        let mut batch = Batch::new();
        record(&mut batch, &a, &ours_id, "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI");
        store.commit(batch).await.unwrap();
        assert_eq!(theirs(&store, &a, &ours_id).unwrap().as_deref(), Some("wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI"));
        assert_eq!(ours(&store, &a, "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI").unwrap(), Some(ours_id));
        assert_eq!(theirs(&store, &b, &ours_id).unwrap(), None);
        assert_eq!(ours(&store, &a, "wamid.other").unwrap(), None);
    }

    #[tokio::test]
    async fn pairs_older_than_the_retention_go_with_their_zaap_rows_and_recent_ones_stay() {
        use super::super::inbound::{zaap_key, zaap_value};
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), 64, Arc::new(Metrics::new())).unwrap());
        let phone = chatedge_config::Phone::parse("5511988887777").unwrap();
        // Two instances, each with old and recent pairs; more old ones than one walk step.
        let instances = [InstanceId::generate(), InstanceId::generate()];
        let mut old = Vec::new();
        let mut recent = Vec::new();
        let mut batch = Batch::new();
        for (n, instance) in instances.iter().enumerate() {
            let count = if n == 0 { PRUNE_CHUNK + 3 } else { 2 };
            for i in 0..count {
                let ours = MessageId::random();
                let wamid = format!("wamid.old.{n}.{i}");
                assert!(record_at(&mut batch, instance, &ours, &wamid, 1_000 + i as u64));
                batch.put(
                    Cf::CloudMessages,
                    zaap_key(instance, &ours),
                    zaap_value(&chatedge_config::ZaapId::generate(), &phone),
                );
                old.push((*instance, ours, wamid));
            }
            for i in 0..3 {
                let ours = MessageId::random();
                let wamid = format!("wamid.new.{n}.{i}");
                assert!(record_at(&mut batch, instance, &ours, &wamid, 50_000 + i));
                batch.put(
                    Cf::CloudMessages,
                    zaap_key(instance, &ours),
                    zaap_value(&chatedge_config::ZaapId::generate(), &phone),
                );
                recent.push((*instance, ours, wamid));
            }
        }
        // A seen-mark of the same family is not this walk's business.
        let mut mark = instances[0].as_bytes().to_vec();
        mark.extend_from_slice(b"rwamid.seen");
        batch.put(Cf::CloudMessages, mark.clone(), 1u64.to_be_bytes().to_vec());
        store.commit(batch).await.unwrap();

        assert_eq!(prune(&store, 10_000).await.unwrap(), old.len() as u64);

        let get = |k: Vec<u8>| store.db().get_cf(store.cf(Cf::CloudMessages), k).unwrap();
        for (instance, ours_id, wamid) in &old {
            assert_eq!(theirs(&store, instance, ours_id).unwrap(), None, "{wamid}: our id → wamid goes");
            assert_eq!(ours(&store, instance, wamid).unwrap(), None, "{wamid}: wamid → our id goes");
            assert_eq!(get(zaap_key(instance, ours_id)), None, "{wamid}: its zaapId row goes");
        }
        for (instance, ours_id, wamid) in &recent {
            assert_eq!(theirs(&store, instance, ours_id).unwrap().as_deref(), Some(wamid.as_str()));
            assert_eq!(ours(&store, instance, wamid).unwrap(), Some(*ours_id));
            assert!(get(zaap_key(instance, ours_id)).is_some());
        }
        assert!(get(mark).is_some(), "the seen-mark stays");
        assert_eq!(prune(&store, 10_000).await.unwrap(), 0, "nothing expired is left");
        let left = store.db().iterator_cf(store.cf(Cf::CloudMessages), rocksdb::IteratorMode::Start).count();
        assert_eq!(
            left,
            recent.len() * 4 + 1,
            "per recent pair: two ids, the index entry, the zaapId row; and the mark"
        );
    }
}
