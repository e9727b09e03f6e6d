//! `StoreKv`: chatedge's RocksDB as the [`KvStore`] connectors in crates of their own keep their
//! state in (the WhatsApp Web engine's keys and sessions, its lease and cool-down), in the
//! column family [`Cf::WhatsappWeb`]. Reads go straight to RocksDB; every write is one batch
//! through the store's committer, so `Ok` means fsync'd, like every other write of the data
//! plane. It must not interpret keys: the connector owns their layout.

use std::sync::Arc;

use chatedge_connector::{prefix_end, KvBatch, KvError, KvOp, KvStore, Rows, WriteFuture};
use rocksdb::{Direction, IteratorMode, ReadOptions};

use crate::store::{Batch, Cf, Store, StoreError};

pub struct StoreKv {
    store: Arc<Store>,
    cf: Cf,
}

impl StoreKv {
    pub fn new(store: Arc<Store>) -> StoreKv {
        StoreKv { store, cf: Cf::WhatsappWeb }
    }
}

fn kv_error(e: StoreError) -> KvError {
    match e {
        StoreError::Closed => KvError::Closed,
        other => KvError::Storage(other.to_string()),
    }
}

impl KvStore for StoreKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        self.store.db().get_cf(self.store.cf(self.cf), key).map_err(|e| kv_error(e.into()))
    }

    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Rows, KvError> {
        let mut read = ReadOptions::default();
        if let Some(end) = prefix_end(prefix) {
            read.set_iterate_upper_bound(end);
        }
        let iter = self.store.db().iterator_cf_opt(
            self.store.cf(self.cf),
            read,
            IteratorMode::From(prefix, Direction::Forward),
        );
        let mut rows = Vec::new();
        for item in iter.take(limit) {
            let (k, v) = item.map_err(|e| kv_error(e.into()))?;
            if !k.starts_with(prefix) {
                break;
            }
            rows.push((k.into_vec(), v.into_vec()));
        }
        Ok(rows)
    }

    fn write(&self, batch: KvBatch) -> WriteFuture<'_> {
        let mut b = Batch::new();
        // Keys this batch put so far: a prefix delete without a range end must name them too.
        let mut put = Vec::new();
        for op in batch.ops {
            match op {
                KvOp::Put { key, value } => {
                    put.push(key.clone());
                    b.put(self.cf, key, value);
                }
                KvOp::Delete { key } => b.delete(self.cf, key),
                KvOp::DeletePrefix { prefix } => match prefix_end(&prefix) {
                    Some(end) => b.delete_range(self.cf, prefix, end),
                    // A prefix with no end (empty, or all 0xff) runs to the end of the key
                    // space, which a range delete cannot name: its keys are deleted one by one.
                    None => match self.scan_prefix(&prefix, usize::MAX) {
                        Ok(rows) => {
                            let stored = rows.into_iter().map(|(key, _)| key);
                            let earlier = put.iter().filter(|k| k.starts_with(&prefix)).cloned();
                            stored.chain(earlier).collect::<Vec<_>>().into_iter().for_each(|k| b.delete(self.cf, k));
                        }
                        Err(e) => return Box::pin(std::future::ready(Err(e))),
                    },
                },
            }
        }
        Box::pin(async move { self.store.commit(b).await.map_err(kv_error) })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chatedge_connector::contract;

    use super::*;
    use crate::metrics::Metrics;

    fn open(dir: &std::path::Path) -> Arc<Store> {
        Store::open(dir, 64, Arc::new(Metrics::new())).unwrap()
    }

    #[tokio::test]
    async fn the_rocksdb_store_keeps_the_connector_store_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        // Each part of the contract on its own corner of the family.
        contract::reads_after_writes(&chatedge_connector::Scoped::new(StoreKv::new(store.clone()), b"1/".to_vec()))
            .await;
        contract::deletes_remove_exactly_what_they_name(&chatedge_connector::Scoped::new(
            StoreKv::new(store.clone()),
            b"2/".to_vec(),
        ))
        .await;
        contract::a_batch_applies_whole_and_in_order(&chatedge_connector::Scoped::new(
            StoreKv::new(store.clone()),
            b"3/".to_vec(),
        ))
        .await;
        store.close();
    }

    #[tokio::test]
    async fn a_prefix_delete_without_a_range_end_removes_exactly_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        // Unscoped: the whole family is the store, so the prefixes have no end in key order.
        contract::a_prefix_delete_runs_to_the_end_of_the_key_space(&StoreKv::new(store.clone())).await;
        store.close();
    }

    #[tokio::test]
    async fn what_was_written_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        contract::write_durable_marker(&StoreKv::new(store.clone())).await;
        store.close();
        drop(store);
        let store = open(dir.path());
        contract::durable_marker_survived(&StoreKv::new(store.clone()));
        store.close();
    }

    #[tokio::test]
    async fn its_keys_stay_in_their_own_column_family() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let kv = StoreKv::new(store.clone());
        kv.put(b"k", b"v").await.unwrap();
        for cf in Cf::ALL.into_iter().filter(|cf| *cf != Cf::WhatsappWeb) {
            assert_eq!(store.db().get_cf(store.cf(cf), b"k").unwrap(), None, "{}", cf.name());
        }
        store.close();
    }

    /// The writer of the kill -9 test when run as its child (`CHATEDGE_KV_CHILD` names the
    /// directory): batches of 20 puts (`b{n}/{i}`), each reported on stdout once durable, until
    /// it is killed. Run alone, it does nothing.
    #[test]
    fn kv_child_writer() {
        let Ok(dir) = std::env::var("CHATEDGE_KV_CHILD") else { return };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = open(std::path::Path::new(&dir));
            let kv = StoreKv::new(store);
            for n in 0u32.. {
                let mut batch = KvBatch::new();
                for i in 0..20u32 {
                    batch.put(format!("b{n:08}/{i:02}").into_bytes(), vec![7u8; 512]);
                }
                kv.write(batch).await.unwrap();
                println!("durable {n}");
            }
        });
    }

    /// Runs the test `writer` of this binary as a child (`env` = `dir` tells it to write), reads
    /// its `durable {n}` lines until `enough`, then kills it with SIGKILL — no shutdown, no
    /// flush beyond what it acknowledged. Returns the last `n` it acknowledged.
    pub(crate) fn kill_writer_after(writer: &str, env: &str, dir: &std::path::Path, enough: u32) -> Option<u32> {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", writer, "--nocapture", "--test-threads", "1"])
            .env(env, dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut acked = None;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("durable ").and_then(|n| n.parse::<u32>().ok()) {
                acked = Some(n);
                if n >= enough {
                    break;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        acked
    }

    #[test]
    fn a_kill_9_keeps_every_acknowledged_batch_whole_and_no_batch_in_part() {
        let dir = tempfile::tempdir().unwrap();
        let acked = kill_writer_after("network::kv::tests::kv_child_writer", "CHATEDGE_KV_CHILD", dir.path(), 200)
            .expect("the child acknowledged batches");
        let store = open(dir.path());
        let kv = StoreKv::new(store.clone());
        let rows = kv.scan_prefix(b"b", 1_000_000).unwrap();
        let mut per_batch = std::collections::BTreeMap::<u32, usize>::new();
        for (k, _) in &rows {
            let n: u32 = std::str::from_utf8(&k[1..9]).unwrap().parse().unwrap();
            *per_batch.entry(n).or_default() += 1;
        }
        for n in 0..=acked {
            assert_eq!(per_batch.get(&n), Some(&20), "acknowledged batch {n} is whole");
        }
        for (n, count) in per_batch {
            assert_eq!(count, 20, "batch {n} is whole or absent");
        }
        store.close();
    }
}
