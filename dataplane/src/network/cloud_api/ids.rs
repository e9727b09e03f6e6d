//! ids: chatedge's message id ↔ the Cloud API's message id (`wamid`) of each instance, kept
//! both ways in `Cf::CloudMessages` (instance ‖ 'o' ‖ our id → wamid; instance ‖ 'w' ‖ wamid →
//! our id). A send records the pair once the network answered, before the acceptance is
//! reported, so a resend after a crash finds the wamid and is not posted twice; a status
//! notification finds which of our messages it is about. Reads go to RocksDB directly (point
//! reads from any thread); writes go into the caller's [`Batch`]. Nothing here talks to the
//! network.

use chatedge_config::{InstanceId, MessageId};

use crate::store::{Batch, Cf, Store, StoreError};

/// Longest wamid kept; Meta's are ~60 characters of base64.
pub const MAX_WAMID_BYTES: usize = 256;

const OURS: u8 = b'o';
const THEIRS: u8 = b'w';

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

/// Records that our message `ours` is the network's `wamid`, both ways, in `batch`. A wamid
/// longer than [`MAX_WAMID_BYTES`] is not recorded (the network would not send one).
pub fn record(batch: &mut Batch, instance: &InstanceId, ours: &MessageId, wamid: &str) {
    if wamid.is_empty() || wamid.len() > MAX_WAMID_BYTES {
        return;
    }
    batch.put(Cf::CloudMessages, key(instance, OURS, ours.as_bytes()), wamid.as_bytes().to_vec());
    batch.put(Cf::CloudMessages, key(instance, THEIRS, wamid.as_bytes()), ours.as_bytes().to_vec());
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
}
