//! seen: forgetting the "already delivered" marks of Cloud API notifications once Meta can no
//! longer redeliver them. [`super::inbound`] writes one mark per received message and per
//! status (`instance ‖ 'r'|'s' ‖ …` → the unix ms it was written) so a notification delivered
//! twice produces its events once; Meta retries a notification for at most 7 days, so a mark
//! older than `[network.cloud_api] seen_retention` (default 7 days) can go, and the family stays
//! bounded by the traffic of that window.
//!
//! [`run`] is a task on the data plane's runtime that, every [`PRUNE_EVERY`], walks the marks
//! on the blocking pool (never on an event loop) and deletes the stale ones through the
//! committer, [`CHUNK`] keys per batch. The same task then has [`super::ids::prune`] forget the
//! message-id maps and zaapId rows (`'o'`, `'w'`, `'z'`, by their time index `'e'`) older than
//! `[network.cloud_api] message_id_retention` (default 30 days); this walk touches only marks.

use std::sync::Arc;
use std::time::Duration;

use chatedge_config::file::CloudApiConfig;
use chatedge_config::InstanceId;
use tokio::sync::watch;

use super::inbound::{RECEIVED, STATUS};
use crate::metrics::Metrics;
use crate::store::{Batch, Cf, Store, StoreError};

/// How often the marks are walked.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Stale marks deleted per batch (and collected per walk step).
pub const CHUNK: usize = 10_000;

/// Whether `key → value` is a mark written before `cutoff_ms`.
fn stale(key: &[u8], value: &[u8], cutoff_ms: u64) -> bool {
    let is_mark = matches!(key.get(InstanceId::LEN), Some(&RECEIVED) | Some(&STATUS));
    let written = value.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes);
    is_mark && written.is_some_and(|ms| ms < cutoff_ms)
}

/// One walk step: stale marks found, and where the next step starts (`None`: the walk is over).
type Step = (Vec<Vec<u8>>, Option<Vec<u8>>);

/// Up to [`CHUNK`] stale marks at or after `from`.
fn collect(store: &Store, from: &[u8], cutoff_ms: u64) -> Result<Step, StoreError> {
    let mut it = store.db().raw_iterator_cf(store.cf(Cf::CloudMessages));
    it.seek(from);
    let mut found = Vec::new();
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        if found.len() == CHUNK {
            return Ok((found, Some(k.to_vec())));
        }
        if stale(k, v, cutoff_ms) {
            found.push(k.to_vec());
        }
        it.next();
    }
    it.status()?;
    Ok((found, None))
}

/// Deletes every mark written before `cutoff_ms`; returns how many went.
pub async fn prune(store: &Arc<Store>, cutoff_ms: u64) -> Result<u64, StoreError> {
    let mut from = Vec::new();
    let mut pruned = 0u64;
    loop {
        let s = store.clone();
        let (stale, next) = tokio::task::spawn_blocking(move || collect(&s, &from, cutoff_ms))
            .await
            .map_err(|e| StoreError::Rocks(format!("seen-mark walk stopped: {e}")))??;
        if !stale.is_empty() {
            pruned += stale.len() as u64;
            let mut batch = Batch::new();
            for k in stale {
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

/// Prunes the marks (older than `settings.seen_retention`) and the message-id maps (older than
/// `settings.message_id_retention`) every [`PRUNE_EVERY`] until `shutdown` turns true.
pub async fn run(
    store: Arc<Store>,
    settings: CloudApiConfig,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let cutoff = |retention: Duration| chatedge_config::time::unix_ms().saturating_sub(retention.as_millis() as u64);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
            _ = shutdown.changed() => return,
        }
        match prune(&store, cutoff(settings.seen_retention)).await {
            Ok(n) => metrics.cloud_api_seen_marks_pruned.inc_by(n),
            Err(e) => tracing::warn!("Cloud API seen marks not pruned: {e}"),
        }
        match super::ids::prune(&store, cutoff(settings.message_id_retention)).await {
            Ok(n) => metrics.cloud_api_message_ids_pruned.inc_by(n),
            Err(e) => tracing::warn!("Cloud API message ids not pruned: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(tag: u8, written_ms: u64) -> (Vec<u8>, Vec<u8>) {
        let mut k = vec![7u8; InstanceId::LEN];
        k.push(tag);
        k.extend_from_slice(b"wamid.HBgL");
        (k, written_ms.to_be_bytes().to_vec())
    }

    #[test]
    fn only_marks_older_than_the_cutoff_are_stale() {
        let cases = [
            (mark(RECEIVED, 999), true),
            (mark(STATUS, 999), true),
            (mark(RECEIVED, 1000), false),
            (mark(STATUS, 5000), false),
            (mark(b'o', 1), false), // our id → wamid: kept for replies and statuses
            (mark(b'w', 1), false),
            (mark(b'z', 1), false),
            ((vec![1, 2], vec![0; 8]), false),                // too short to be a mark
            ((mark(RECEIVED, 1).0, b"junk".to_vec()), false), // not a timestamp
        ];
        for ((k, v), want) in cases {
            assert_eq!(stale(&k, &v, 1000), want, "key {k:?} value {v:?}");
        }
    }

    #[tokio::test]
    async fn a_prune_deletes_exactly_the_stale_marks_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 64, Arc::new(Metrics::new())).unwrap();
        let instance = InstanceId::generate();
        let key = |tag: u8, i: usize| {
            let mut k = instance.as_bytes().to_vec();
            k.push(tag);
            k.extend_from_slice(format!("wamid.{i:06}").as_bytes());
            k
        };
        let old = CHUNK + 7; // more than one walk step
        let mut batch = Batch::new();
        for i in 0..old {
            batch.put(Cf::CloudMessages, key(RECEIVED, i), 100u64.to_be_bytes().to_vec());
        }
        for i in 0..5 {
            batch.put(Cf::CloudMessages, key(STATUS, i), 5_000u64.to_be_bytes().to_vec());
            batch.put(Cf::CloudMessages, key(b'w', i), b"ours".to_vec());
        }
        store.commit(batch).await.unwrap();

        assert_eq!(prune(&store, 1_000).await.unwrap(), old as u64);

        let left: Vec<Vec<u8>> = store
            .db()
            .iterator_cf(store.cf(Cf::CloudMessages), rocksdb::IteratorMode::Start)
            .map(|kv| kv.unwrap().0.to_vec())
            .collect();
        assert_eq!(left.len(), 10, "the 5 fresh status marks and the 5 id maps stay");
        assert!(left.iter().all(|k| k[InstanceId::LEN] != RECEIVED));
        assert_eq!(prune(&store, 1_000).await.unwrap(), 0, "nothing stale is left");
    }
}
