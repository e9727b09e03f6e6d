//! Key layouts, big-endian so RocksDB's byte order is numeric order.

use chatedge_config::{EventId, InstanceId, Phone, ZaapId};

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

/// Tags of the `queue_index` family's three kinds of key, after the instance id. Every tag is
/// below [`INDEX_END`], so `instance ‖ INDEX_END` bounds all of an instance's index keys.
const TAG_ZAAP: u8 = b'z';
const TAG_PHONE: u8 = b'p';
const INDEX_END: u8 = 0xFF;
/// Ends the phone in a phone-index key: phones are ASCII digits and dashes, never 0x00, so
/// one phone's keys are never a prefix of another's.
const PHONE_END: u8 = 0x00;

pub const ZAAP_INDEX_KEY_LEN: usize = InstanceId::LEN + 1 + ZaapId::LEN;

/// `instance ‖ 'z' ‖ zaap_id` → [`zaap_index_value`]: finds a queued message by its zaapId.
pub fn zaap_index(instance: &InstanceId, zaap: &ZaapId) -> [u8; ZAAP_INDEX_KEY_LEN] {
    let mut k = [0u8; ZAAP_INDEX_KEY_LEN];
    k[..InstanceId::LEN].copy_from_slice(instance.as_bytes());
    k[InstanceId::LEN] = TAG_ZAAP;
    k[InstanceId::LEN + 1..].copy_from_slice(zaap.as_bytes());
    k
}

/// `seq ‖ phone`: where the message is, and the recipient, so removing it by zaapId can delete
/// its phone-index key without reading the message.
pub fn zaap_index_value(seq: u64, phone: &Phone) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + phone.as_str().len());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(phone.as_str().as_bytes());
    v
}

pub fn parse_zaap_index_value(value: &[u8]) -> Option<(u64, Phone)> {
    let seq = u64::from_be_bytes(value.get(..8)?.try_into().ok()?);
    let phone = Phone::parse(std::str::from_utf8(value.get(8..)?).ok()?).ok()?;
    Some((seq, phone))
}

/// `instance ‖ 'p' ‖ phone ‖ 0x00`: the prefix of every phone-index key of one recipient.
pub fn phone_index_prefix(instance: &InstanceId, phone: &Phone) -> Vec<u8> {
    let mut k = Vec::with_capacity(InstanceId::LEN + phone.as_str().len() + 10);
    k.extend_from_slice(instance.as_bytes());
    k.push(TAG_PHONE);
    k.extend_from_slice(phone.as_str().as_bytes());
    k.push(PHONE_END);
    k
}

/// `instance ‖ 'p' ‖ phone ‖ 0x00 ‖ seq` → zaap_id: the queued messages to one recipient, in
/// queue order.
pub fn phone_index(instance: &InstanceId, phone: &Phone, seq: u64) -> Vec<u8> {
    let mut k = phone_index_prefix(instance, phone);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The seq at the end of a phone-index key.
pub fn parse_phone_index_seq(key: &[u8]) -> Option<u64> {
    let tail = key.len().checked_sub(8)?;
    Some(u64::from_be_bytes(key[tail..].try_into().ok()?))
}

/// `[from, to)` covering every `queue_index` key of `instance`.
pub fn index_span(instance: &InstanceId) -> (Vec<u8>, Vec<u8>) {
    let from = instance.as_bytes().to_vec();
    let mut to = from.clone();
    to.push(INDEX_END);
    (from, to)
}

/// The byte just past `prefix` in key order: the exclusive upper bound of a prefix scan.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1] // all 0xFF: nothing sorts after it but longer 0xFF runs
}

pub const INSTANCE_TIMED_KEY_LEN: usize = InstanceId::LEN + 8 + EventId::LEN;

/// `instance ‖ ms ‖ event_id`: the layout of the `dead_letter` (ms = when the event died) and
/// `webhook_history` (ms = when the event was created) families. One instance's keys are one
/// span in time order, so listing is a bounded scan, and retention is one range delete per
/// instance, `[instance_time(i, 0), instance_time(i, cutoff))`.
pub fn instance_timed(instance: &InstanceId, ms: u64, event: &EventId) -> [u8; INSTANCE_TIMED_KEY_LEN] {
    let mut k = [0u8; INSTANCE_TIMED_KEY_LEN];
    k[..InstanceId::LEN].copy_from_slice(instance.as_bytes());
    k[InstanceId::LEN..InstanceId::LEN + 8].copy_from_slice(&ms.to_be_bytes());
    k[InstanceId::LEN + 8..].copy_from_slice(event.as_bytes());
    k
}

pub fn parse_instance_timed(key: &[u8]) -> Option<(InstanceId, u64, EventId)> {
    if key.len() != INSTANCE_TIMED_KEY_LEN {
        return None;
    }
    let ms = u64::from_be_bytes(key[InstanceId::LEN..InstanceId::LEN + 8].try_into().ok()?);
    Some((InstanceId::from_slice(key)?, ms, EventId::from_slice(&key[InstanceId::LEN + 8..])?))
}

/// `instance ‖ ms`: every [`instance_timed`] key of `instance` at `ms` or later sorts at or
/// after it, every earlier one before it.
pub fn instance_time(instance: &InstanceId, ms: u64) -> [u8; InstanceId::LEN + 8] {
    let mut k = [0u8; InstanceId::LEN + 8];
    k[..InstanceId::LEN].copy_from_slice(instance.as_bytes());
    k[InstanceId::LEN..].copy_from_slice(&ms.to_be_bytes());
    k
}

/// The `sessions` key of an instance: its id.
pub fn session(instance: &InstanceId) -> Vec<u8> {
    instance.as_bytes().to_vec()
}

pub const OUTBOX_QUEUE_PREFIX_LEN: usize = InstanceId::LEN + 1;
pub const OUTBOX_KEY_LEN: usize = OUTBOX_QUEUE_PREFIX_LEN + 8;

/// `instance ‖ queue`: the prefix of every key of one outbox queue (one webhook kind of one
/// instance), so a queue is one contiguous range and its keys sort by `seq`.
pub fn outbox_queue(instance: &InstanceId, queue: u8) -> [u8; OUTBOX_QUEUE_PREFIX_LEN] {
    let mut k = [0u8; OUTBOX_QUEUE_PREFIX_LEN];
    k[..InstanceId::LEN].copy_from_slice(instance.as_bytes());
    k[InstanceId::LEN] = queue;
    k
}

/// `instance ‖ queue ‖ seq`: iteration order within a queue is the order events happened.
pub fn outbox(instance: &InstanceId, queue: u8, seq: u64) -> [u8; OUTBOX_KEY_LEN] {
    let mut k = [0u8; OUTBOX_KEY_LEN];
    k[..OUTBOX_QUEUE_PREFIX_LEN].copy_from_slice(&outbox_queue(instance, queue));
    k[OUTBOX_QUEUE_PREFIX_LEN..].copy_from_slice(&seq.to_be_bytes());
    k
}

pub fn parse_outbox(key: &[u8]) -> Option<(InstanceId, u8, u64)> {
    if key.len() != OUTBOX_KEY_LEN {
        return None;
    }
    let id = InstanceId::from_slice(key)?;
    let seq = u64::from_be_bytes(key[OUTBOX_QUEUE_PREFIX_LEN..].try_into().ok()?);
    Some((id, key[InstanceId::LEN], seq))
}

pub const WEBHOOK_ENDPOINT_KEY_LEN: usize = InstanceId::LEN + 16;

/// `instance ‖ sha256(url)[..16]`: the delivery state of one instance's endpoint.
pub fn webhook_endpoint(instance: &InstanceId, url: &str) -> [u8; WEBHOOK_ENDPOINT_KEY_LEN] {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(url.as_bytes());
    let mut k = [0u8; WEBHOOK_ENDPOINT_KEY_LEN];
    k[..InstanceId::LEN].copy_from_slice(instance.as_bytes());
    k[InstanceId::LEN..].copy_from_slice(&digest[..16]);
    k
}

/// The value of a `media_ref` key: the digests of the message's stored files.
pub fn media_ref_value(digests: &[crate::media::Digest]) -> Vec<u8> {
    digests.iter().flat_map(|d| d.0).collect()
}

/// The digests in a `media_ref` value (a malformed tail is ignored).
pub fn parse_media_ref_value(value: &[u8]) -> impl Iterator<Item = crate::media::Digest> + '_ {
    value.chunks_exact(crate::media::Digest::LEN).filter_map(crate::media::Digest::from_slice)
}

pub const MEDIA_HOLD_KEY_LEN: usize = 8 + crate::media::Digest::LEN;

/// `expires_at_ms ‖ digest`: received media kept until then.
pub fn media_hold(expires_at_ms: u64, digest: &crate::media::Digest) -> [u8; MEDIA_HOLD_KEY_LEN] {
    let mut k = [0u8; MEDIA_HOLD_KEY_LEN];
    k[..8].copy_from_slice(&expires_at_ms.to_be_bytes());
    k[8..].copy_from_slice(&digest.0);
    k
}

pub fn parse_media_hold(key: &[u8]) -> Option<(u64, crate::media::Digest)> {
    if key.len() != MEDIA_HOLD_KEY_LEN {
        return None;
    }
    let at = u64::from_be_bytes(key[..8].try_into().ok()?);
    Some((at, crate::media::Digest::from_slice(&key[8..])?))
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
    fn one_recipients_index_keys_are_a_prefix_range_in_queue_order() {
        let a = InstanceId::generate();
        let phone = Phone::parse("5511999999999").unwrap();
        let longer = Phone::parse("55119999999990").unwrap();
        let prefix = phone_index_prefix(&a, &phone);
        let end = prefix_end(&prefix);
        for seq in [0u64, 255, 256, u64::MAX] {
            let k = phone_index(&a, &phone, seq);
            assert!(k.as_slice() >= prefix.as_slice() && k < end);
            assert_eq!(parse_phone_index_seq(&k), Some(seq));
        }
        assert!(phone_index(&a, &phone, 1) < phone_index(&a, &phone, 256));
        let other = phone_index(&a, &longer, 0);
        assert!(!(other.as_slice() >= prefix.as_slice() && other < end), "a longer number is another range");
        let (from, to) = index_span(&a);
        assert!(from.as_slice() <= prefix.as_slice() && end <= to);
        assert!(zaap_index(&a, &ZaapId::generate()).as_slice() < to.as_slice());
    }

    #[test]
    fn a_zaap_index_value_names_the_seq_and_the_recipient() {
        let phone = Phone::parse("120363019502650977-group").unwrap();
        assert_eq!(parse_zaap_index_value(&zaap_index_value(42, &phone)), Some((42, phone)));
        assert_eq!(parse_zaap_index_value(b"short"), None);
    }

    #[test]
    fn one_instances_timed_keys_sort_by_time_and_a_cutoff_splits_them() {
        let (a, e) = (InstanceId::generate(), EventId::generate());
        assert!(instance_timed(&a, 999, &e).as_slice() < instance_time(&a, 1000).as_slice());
        assert!(instance_timed(&a, 1000, &e).as_slice() >= instance_time(&a, 1000).as_slice());
        assert!(instance_timed(&a, 256, &e) > instance_timed(&a, 255, &e));
        assert!(instance_timed(&a, u64::MAX, &e).as_slice() < prefix_end(a.as_bytes()).as_slice());
        assert_eq!(parse_instance_timed(&instance_timed(&a, 42, &e)), Some((a, 42, e)));
        assert_eq!(parse_instance_timed(b"short"), None);
    }

    #[test]
    fn outbox_keys_group_by_instance_then_queue_and_sort_by_seq() {
        let a = InstanceId::generate();
        assert!(outbox(&a, 1, 1) < outbox(&a, 1, 256));
        assert!(outbox(&a, 1, u64::MAX) < outbox(&a, 2, 0));
        assert!(outbox(&a, 3, 7).starts_with(&outbox_queue(&a, 3)));
        assert_eq!(parse_outbox(&outbox(&a, 4, 99)), Some((a, 4, 99)));
        assert_eq!(parse_outbox(b"short"), None);
    }
}
