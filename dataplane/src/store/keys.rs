//! Key layouts, big-endian so RocksDB's byte order is numeric order.

use chatedge_config::{EventId, InstanceId};

pub const QUEUE_KEY_LEN: usize = InstanceId::LEN + 8;

/// `instance ‖ seq`.
pub fn queue(instance: &InstanceId, seq: u64) -> [u8; QUEUE_KEY_LEN] {
    let mut k = [0u8; QUEUE_KEY_LEN];
    k[..InstanceId::LEN].copy_from_slice(instance.as_bytes());
    k[InstanceId::LEN..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Splits a queue key into its instance and sequence number.
pub fn parse_queue(key: &[u8]) -> Option<(InstanceId, u64)> {
    if key.len() != QUEUE_KEY_LEN {
        return None;
    }
    let id = InstanceId::from_slice(key)?;
    let seq = u64::from_be_bytes(key[InstanceId::LEN..].try_into().ok()?);
    Some((id, seq))
}

/// The `sessions` key of an instance: its id.
pub fn session(instance: &InstanceId) -> Vec<u8> {
    instance.as_bytes().to_vec()
}

pub const OUTBOX_KEY_LEN: usize = 8 + EventId::LEN;

/// `due_at_ms ‖ event_id`: iteration order is delivery order.
pub fn outbox(due_ms: u64, event: &EventId) -> [u8; OUTBOX_KEY_LEN] {
    let mut k = [0u8; OUTBOX_KEY_LEN];
    k[..8].copy_from_slice(&due_ms.to_be_bytes());
    k[8..].copy_from_slice(event.as_bytes());
    k
}

pub fn parse_outbox(key: &[u8]) -> Option<(u64, EventId)> {
    if key.len() != OUTBOX_KEY_LEN {
        return None;
    }
    let due = u64::from_be_bytes(key[..8].try_into().ok()?);
    Some((due, EventId::from_slice(&key[8..])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_keys_sort_by_instance_then_sequence() {
        let a = InstanceId::generate();
        let mut keys: Vec<_> = [300u64, 2, 256, 1].iter().map(|s| queue(&a, *s)).collect();
        keys.sort();
        let seqs: Vec<u64> = keys.iter().map(|k| parse_queue(k).unwrap().1).collect();
        assert_eq!(seqs, vec![1, 2, 256, 300]);
        assert_eq!(parse_queue(&queue(&a, 7)), Some((a, 7)));
    }

    #[test]
    fn outbox_keys_sort_by_due_time() {
        let e = EventId::generate();
        assert!(outbox(1, &e) < outbox(256, &e));
        assert_eq!(parse_outbox(&outbox(99, &e)), Some((99, e)));
        assert_eq!(parse_outbox(b"short"), None);
    }
}
