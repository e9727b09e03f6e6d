//! Start-up scan of the `queue` column family: where each instance's queue begins and ends
//! and how many messages it holds. Reads keys only (a raw iterator, no value copies).

use std::collections::HashMap;

use chatedge_config::InstanceId;

use crate::store::{keys, Cf, Store, StoreError};

/// What survives a restart of one instance's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    pub head: u64,
    pub next_seq: u64,
    pub len: u64,
}

/// Every instance with queued messages.
pub fn scan(store: &Store) -> Result<HashMap<InstanceId, Recovered>, StoreError> {
    let mut out: HashMap<InstanceId, Recovered> = HashMap::new();
    let mut it = store.db().raw_iterator_cf(store.cf(Cf::Queue));
    it.seek_to_first();
    while it.valid() {
        if let Some((id, seq)) = it.key().and_then(keys::parse_queue) {
            let r = out.entry(id).or_insert(Recovered { head: seq, next_seq: seq + 1, len: 0 });
            r.next_seq = seq + 1;
            r.len += 1;
        }
        it.next();
    }
    it.status()?;
    Ok(out)
}
