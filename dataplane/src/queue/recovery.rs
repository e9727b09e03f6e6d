//! Start-up scan of the `queue` column family: where each instance's queue begins and ends
//! and which seqs between are holes (removed out of order, or never written). Reads keys only
//! — a raw iterator, no value copied or decoded — so a restart with 1,000,000 queued messages
//! costs one sequential pass over the family (see benches/benches/queue_huge.rs for the
//! figure), and the queue's length and page positions are exact afterwards, whatever was
//! removed or abandoned before the restart. Runs once at start-up, before the shards start.

use std::collections::HashMap;

use chatedge_config::InstanceId;
use rocksdb::ReadOptions;

use crate::store::{keys, Cf, Store, StoreError};

/// What survives a restart of one instance's queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    pub head: u64,
    pub next_seq: u64,
    /// Missing seqs in `[head, next_seq)`, as `[start, end)` spans in order.
    pub holes: Vec<(u64, u64)>,
}

impl Recovered {
    /// Messages stored.
    pub fn len(&self) -> u64 {
        self.next_seq - self.head - self.holes.iter().map(|(s, e)| e - s).sum::<u64>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn saw(&mut self, seq: u64) {
        if seq > self.next_seq {
            self.holes.push((self.next_seq, seq));
        }
        self.next_seq = seq + 1;
    }
}

/// Every instance with queued messages.
pub fn scan(store: &Store) -> Result<HashMap<InstanceId, Recovered>, StoreError> {
    let mut out: HashMap<InstanceId, Recovered> = HashMap::new();
    let mut opts = ReadOptions::default();
    // One pass over the whole family: keep its blocks out of the block cache (they would evict
    // what the running data plane reads), and read ahead since the pass is sequential.
    opts.fill_cache(false);
    opts.set_readahead_size(2 * 1024 * 1024);
    let mut it = store.db().raw_iterator_cf_opt(store.cf(Cf::Queue), opts);
    it.seek_to_first();
    // Keys come instance by instance, so the current one is kept out of the map lookup.
    let mut current: Option<(InstanceId, Recovered)> = None;
    while it.valid() {
        if let Some((id, seq)) = it.key().and_then(keys::parse_queue) {
            match &mut current {
                Some((cur, r)) if *cur == id => r.saw(seq),
                _ => {
                    if let Some((done, r)) = current.take() {
                        out.insert(done, r);
                    }
                    current = Some((id, Recovered { head: seq, next_seq: seq + 1, holes: Vec::new() }));
                }
            }
        }
        it.next();
    }
    it.status()?;
    if let Some((done, r)) = current {
        out.insert(done, r);
    }
    Ok(out)
}
