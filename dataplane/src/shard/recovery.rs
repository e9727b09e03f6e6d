//! Start-up: what each shard takes over from disk — queues, paired sessions and unfinished
//! teardowns — split by the shard that owns each instance.

use chatedge_config::InstanceId;

use crate::queue::recovery::{self, Recovered};
use crate::session::SessionRecord;
use crate::store::{Cf, Store, StoreError};

#[derive(Default)]
pub struct ShardRecovery {
    pub queues: Vec<(InstanceId, Recovered)>,
    pub sessions: Vec<(InstanceId, SessionRecord)>,
    /// Instances with a removal marker: torn down before anything else (`shard::teardown`).
    pub teardowns: Vec<InstanceId>,
}

/// Reads queues and sessions once and hands each shard its part.
pub fn load(store: &Store, shards: usize) -> Result<Vec<ShardRecovery>, StoreError> {
    let mut out: Vec<ShardRecovery> = (0..shards).map(|_| ShardRecovery::default()).collect();
    for (id, r) in recovery::scan(store)? {
        out[id.shard(shards)].queues.push((id, r));
    }
    let mut it = store.db().raw_iterator_cf(store.cf(Cf::Sessions));
    it.seek_to_first();
    while it.valid() {
        if let (Some(id), Some(v)) = (it.key().and_then(InstanceId::from_slice), it.value()) {
            match SessionRecord::decode(v) {
                Ok(record) => out[id.shard(shards)].sessions.push((id, record)),
                Err(e) => tracing::error!(instance = %id, error = %e, "skipping unreadable session record"),
            }
        }
        it.next();
    }
    it.status()?;
    for id in crate::sync::persist::pending_teardowns(store)? {
        out[id.shard(shards)].teardowns.push(id);
    }
    Ok(out)
}
