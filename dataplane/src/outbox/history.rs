//! history owns the `webhook_history` column family: delivered webhook events kept for
//! `webhook-replay` for `[webhooks] delivered_retention` (0 keeps none), keyed
//! `instance ‖ created_ms ‖ event_id` so "everything of this instance since T" is one bounded
//! forward scan. The dispatcher adds a delivered event with [`record`] in the batch that deletes
//! it from the outbox (a replayed event delivered again lands on the same key); replay reads
//! with [`scan`]; the compactor prunes each instance's span older than the retention with one
//! range delete, on its own thread.
//!
//! It never writes by itself and never runs on an event loop: [`scan`] iterates RocksDB and is
//! called from `spawn_blocking`; writes are puts and deletes added to the caller's [`Batch`].

use std::ops::ControlFlow;

use chatedge_config::InstanceId;

use super::StoredEvent;
use crate::store::{keys, Batch, Cf, Store, StoreError};

pub type HistoryKey = [u8; keys::INSTANCE_TIMED_KEY_LEN];

/// Adds the delivered `event` to `batch`.
pub fn record(batch: &mut Batch, event: &StoredEvent) {
    let key = keys::instance_timed(&event.instance, event.created_ms, &event.id);
    batch.put(Cf::WebhookHistory, key.to_vec(), event.encode());
}

/// Deletes every history entry of `instance` (instance teardown).
pub fn forget_instance(batch: &mut Batch, instance: &InstanceId) {
    batch.delete_range(Cf::WebhookHistory, keys::instance_time(instance, 0), keys::instance_time(instance, u64::MAX));
}

/// Calls `f` with each delivered event of `instance` created in `[since, until)`, oldest
/// first, one at a time (nothing is collected here), until `f` breaks.
pub fn scan(
    store: &Store,
    instance: &InstanceId,
    since: u64,
    until: u64,
    mut f: impl FnMut(&HistoryKey, StoredEvent) -> ControlFlow<()>,
) -> Result<(), StoreError> {
    let mut opts = rocksdb::ReadOptions::default();
    opts.set_iterate_upper_bound(keys::instance_time(instance, until).to_vec());
    let mut it = store.db().raw_iterator_cf_opt(store.cf(Cf::WebhookHistory), opts);
    it.seek(keys::instance_time(instance, since));
    while it.valid() {
        if let (Some(k), Some(v)) = (it.key(), it.value()) {
            let key = HistoryKey::try_from(k).map_err(|_| StoreError::Corrupt("history: bad key".into()))?;
            if f(&key, StoredEvent::decode(v)?).is_break() {
                return Ok(());
            }
        }
        it.next();
    }
    it.status()?;
    Ok(())
}

#[cfg(test)]
mod tests;
