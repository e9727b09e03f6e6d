//! The contract every [`KvStore`] must keep, as functions an implementation's tests call on a
//! fresh (empty) store: reads see writes, deletes and prefix deletes remove exactly what they
//! name, a batch applies whole and in order, and what was written survives a reopen
//! ([`write_durable_marker`] before, [`durable_marker_survived`] after). They panic with the
//! broken expectation, like test assertions.

use crate::{KvBatch, KvStore};

/// A put is read back; an overwrite replaces; a prefix scan returns exactly the keys with that
/// prefix, in order, up to its limit.
pub async fn reads_after_writes(kv: &dyn KvStore) {
    assert_eq!(kv.get(b"a/1").unwrap(), None, "an empty store has no value");
    kv.put(b"a/1", b"one").await.unwrap();
    assert_eq!(kv.get(b"a/1").unwrap().as_deref(), Some(&b"one"[..]), "a put is read back");
    kv.put(b"a/1", b"uno").await.unwrap();
    assert_eq!(kv.get(b"a/1").unwrap().as_deref(), Some(&b"uno"[..]), "an overwrite replaces");
    kv.put(b"a/3", b"three").await.unwrap();
    kv.put(b"a/2", b"").await.unwrap();
    kv.put(b"b/1", b"other").await.unwrap();
    kv.put(b"a", b"bare").await.unwrap();
    let scan = kv.scan_prefix(b"a/", 10).unwrap();
    let keys: Vec<&[u8]> = scan.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(keys, [&b"a/1"[..], b"a/2", b"a/3"], "a scan returns its prefix's keys in order");
    assert_eq!(scan[1].1, b"", "an empty value is a value");
    assert_eq!(kv.scan_prefix(b"a/", 2).unwrap().len(), 2, "a scan stops at its limit");
    assert_eq!(kv.scan_prefix(b"c/", 10).unwrap(), vec![], "a prefix with no keys scans empty");
}

/// A delete removes its key only; deleting a missing key is fine; a prefix delete removes the
/// keys with that prefix, the key equal to it included, and nothing else.
pub async fn deletes_remove_exactly_what_they_name(kv: &dyn KvStore) {
    for key in [&b"p/1"[..], b"p/2", b"p", b"p/\xff\xff", b"q", b"o\xff"] {
        kv.put(key, b"x").await.unwrap();
    }
    kv.delete(b"p/1").await.unwrap();
    assert_eq!(kv.get(b"p/1").unwrap(), None, "a deleted key is gone");
    assert!(kv.get(b"p/2").unwrap().is_some(), "a delete touches its key only");
    kv.delete(b"never-written").await.unwrap();
    let mut batch = KvBatch::new();
    batch.delete_prefix(b"p".to_vec());
    kv.write(batch).await.unwrap();
    for gone in [&b"p/2"[..], b"p", b"p/\xff\xff"] {
        assert_eq!(kv.get(gone).unwrap(), None, "a prefix delete removes {gone:?}");
    }
    for kept in [&b"q"[..], b"o\xff"] {
        assert!(kv.get(kept).unwrap().is_some(), "a prefix delete keeps {kept:?}");
    }
}

/// A prefix delete whose range has no end in key order (an empty prefix, or one of 0xff bytes
/// only) still removes exactly its keys, those put earlier in the same batch included.
pub async fn a_prefix_delete_runs_to_the_end_of_the_key_space(kv: &dyn KvStore) {
    for key in [&b"\xfe"[..], b"\xfe\xff", b"\xff", b"\xff\x00", b"\xff\xff\xff"] {
        kv.put(key, b"x").await.unwrap();
    }
    let mut batch = KvBatch::new();
    batch.put(b"\xff\x01".to_vec(), b"new".to_vec());
    batch.delete_prefix(b"\xff".to_vec());
    batch.put(b"\xff\x02".to_vec(), b"after".to_vec());
    kv.write(batch).await.unwrap();
    let keys: Vec<Vec<u8>> = kv.scan_prefix(b"", 100).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, [&b"\xfe"[..], b"\xfe\xff", b"\xff\x02"], "only the 0xff keys before the delete went");
    let mut batch = KvBatch::new();
    batch.delete_prefix(Vec::new());
    kv.write(batch).await.unwrap();
    assert_eq!(kv.scan_prefix(b"", 100).unwrap(), vec![], "the empty prefix names every key");
}

/// A batch's operations apply in order, all of them: a put after a prefix delete stays, a
/// delete after a put wins.
pub async fn a_batch_applies_whole_and_in_order(kv: &dyn KvStore) {
    kv.put(b"s/old", b"x").await.unwrap();
    let mut batch = KvBatch::new();
    batch.put(b"s/1".to_vec(), b"1".to_vec());
    batch.delete_prefix(b"s/".to_vec());
    batch.put(b"s/2".to_vec(), b"2".to_vec());
    batch.put(b"t/1".to_vec(), b"1".to_vec());
    batch.delete(b"t/1".to_vec());
    for i in 0..100u32 {
        batch.put(format!("u/{i:03}").into_bytes(), i.to_be_bytes().to_vec());
    }
    kv.write(batch).await.unwrap();
    assert_eq!(kv.get(b"s/old").unwrap(), None);
    assert_eq!(kv.get(b"s/1").unwrap(), None, "deleted by the prefix delete after it");
    assert_eq!(kv.get(b"s/2").unwrap().as_deref(), Some(&b"2"[..]), "put after the prefix delete");
    assert_eq!(kv.get(b"t/1").unwrap(), None, "a delete after a put wins");
    assert_eq!(kv.scan_prefix(b"u/", 1000).unwrap().len(), 100, "every put of the batch applied");
}

/// Writes what [`durable_marker_survived`] checks after the store is reopened.
pub async fn write_durable_marker(kv: &dyn KvStore) {
    let mut batch = KvBatch::new();
    for i in 0..10u32 {
        batch.put(format!("durable/{i}").into_bytes(), i.to_be_bytes().to_vec());
    }
    batch.put(b"durable/gone".to_vec(), b"x".to_vec());
    kv.write(batch).await.unwrap();
    kv.delete(b"durable/gone").await.unwrap();
}

/// What [`write_durable_marker`] wrote is all there, and its delete held.
pub fn durable_marker_survived(kv: &dyn KvStore) {
    let rows = kv.scan_prefix(b"durable/", 100).unwrap();
    assert_eq!(rows.len(), 10, "every acknowledged put survived the reopen: {rows:?}");
    assert_eq!(kv.get(b"durable/gone").unwrap(), None, "an acknowledged delete survived the reopen");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemKv, Scoped};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        // The in-memory store's futures are ready at once: a no-op waker polls them to the end.
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn the_in_memory_store_keeps_the_contract() {
        block_on(reads_after_writes(&MemKv::new()));
        block_on(deletes_remove_exactly_what_they_name(&MemKv::new()));
        block_on(a_batch_applies_whole_and_in_order(&MemKv::new()));
        block_on(a_prefix_delete_runs_to_the_end_of_the_key_space(&MemKv::new()));
    }

    #[test]
    fn a_scoped_view_keeps_the_contract_and_stays_in_its_scope() {
        let shared = std::sync::Arc::new(MemKv::new());
        block_on(shared.put(b"other", b"x")).unwrap();
        block_on(reads_after_writes(&Scoped::new(shared.clone(), b"i1/".to_vec())));
        block_on(deletes_remove_exactly_what_they_name(&Scoped::new(shared.clone(), b"i2/".to_vec())));
        block_on(a_batch_applies_whole_and_in_order(&Scoped::new(shared.clone(), b"i3/".to_vec())));
        assert_eq!(shared.get(b"other").unwrap().as_deref(), Some(&b"x"[..]), "outside every scope");
        assert!(shared.get(b"i1/a/1").unwrap().is_some(), "scoped keys carry the scope's prefix");
    }
}
