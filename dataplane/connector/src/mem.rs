//! `MemKv`: a [`KvStore`] in memory, for connector tests. Durable only as long as the value
//! lives; it exists so connector logic can be tested without RocksDB, never for production.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::{prefix_end, KvBatch, KvError, KvOp, KvStore, Rows, WriteFuture};

#[derive(Default)]
pub struct MemKv {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemKv {
    pub fn new() -> MemKv {
        MemKv::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        // A panic while holding the lock leaves a whole map behind: keep using it.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl KvStore for MemKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.map().get(key).cloned())
    }

    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Rows, KvError> {
        let map = self.map();
        Ok(map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn write(&self, batch: KvBatch) -> WriteFuture<'_> {
        let mut map = self.map();
        for op in batch.ops {
            match op {
                KvOp::Put { key, value } => {
                    map.insert(key, value);
                }
                KvOp::Delete { key } => {
                    map.remove(&key);
                }
                KvOp::DeletePrefix { prefix } => {
                    let doomed: Vec<Vec<u8>> = match prefix_end(&prefix) {
                        Some(end) => map.range(prefix.clone()..end).map(|(k, _)| k.clone()).collect(),
                        None => map.range(prefix.clone()..).map(|(k, _)| k.clone()).collect(),
                    };
                    for k in doomed {
                        map.remove(&k);
                    }
                }
            }
        }
        Box::pin(std::future::ready(Ok(())))
    }
}
