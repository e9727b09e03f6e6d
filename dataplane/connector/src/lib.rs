//! chatedge-connector: the small seam between the data plane and the network connectors that
//! live in crates of their own (the WhatsApp Web connector). It owns the [`KvStore`] trait — the
//! durable key-value store a connector keeps its network state in (keys, sessions, leases) —
//! and the [`contract`] every implementation must pass. It must not know RocksDB, Z-API or any
//! engine: the data plane implements [`KvStore`] on its RocksDB (`network::kv::StoreKv`), a
//! connector implements its engine's store on top of it.
//!
//! Reads are synchronous (point reads and bounded prefix scans are microseconds); writes are
//! batches, atomic, and durable (fsync'd) when the returned future resolves `Ok`.

#![forbid(unsafe_code)]

pub mod contract;
mod mem;

use std::future::Future;
use std::pin::Pin;

pub use mem::MemKv;

/// Why the store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    #[error("storage failure: {0}")]
    Storage(String),
    #[error("the store is shutting down")]
    Closed,
}

/// One change in a [`KvBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        key: Vec<u8>,
    },
    /// Every key starting with `prefix`.
    DeletePrefix {
        prefix: Vec<u8>,
    },
}

/// Changes applied all together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvBatch {
    pub ops: Vec<KvOp>,
}

impl KvBatch {
    pub fn new() -> KvBatch {
        KvBatch::default()
    }

    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut KvBatch {
        self.ops.push(KvOp::Put { key: key.into(), value: value.into() });
        self
    }

    pub fn delete(&mut self, key: impl Into<Vec<u8>>) -> &mut KvBatch {
        self.ops.push(KvOp::Delete { key: key.into() });
        self
    }

    pub fn delete_prefix(&mut self, prefix: impl Into<Vec<u8>>) -> &mut KvBatch {
        self.ops.push(KvOp::DeletePrefix { prefix: prefix.into() });
        self
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Key-value pairs in key order, as a prefix scan returns them.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// A write in flight: resolves once the batch is durable, or failed (then none of it applied).
pub type WriteFuture<'a> = Pin<Box<dyn Future<Output = Result<(), KvError>> + Send + 'a>>;

/// The end of the key range that starts with `prefix` (exclusive), or `None` when the range
/// runs to the end of the key space (`prefix` empty or all `0xff`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A durable, ordered key-value store (see the crate docs for the contract).
pub trait KvStore: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError>;

    /// Up to `limit` entries whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Rows, KvError>;

    /// Applies `batch` atomically; `Ok` means durable.
    fn write(&self, batch: KvBatch) -> WriteFuture<'_>;

    fn put<'a>(&'a self, key: &[u8], value: &[u8]) -> WriteFuture<'a> {
        let mut batch = KvBatch::new();
        batch.put(key, value);
        self.write(batch)
    }

    fn delete<'a>(&'a self, key: &[u8]) -> WriteFuture<'a> {
        let mut batch = KvBatch::new();
        batch.delete(key);
        self.write(batch)
    }
}

/// A view of a store whose every key is prefixed with `prefix` (one instance's keys): reads,
/// scans and writes see and touch only that part.
pub struct Scoped<S> {
    inner: S,
    prefix: Vec<u8>,
}

impl<S: KvStore> Scoped<S> {
    pub fn new(inner: S, prefix: impl Into<Vec<u8>>) -> Scoped<S> {
        Scoped { inner, prefix: prefix.into() }
    }

    fn key(&self, key: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + key.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(key);
        k
    }
}

impl<S: KvStore> KvStore for Scoped<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        self.inner.get(&self.key(key))
    }

    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Rows, KvError> {
        let n = self.prefix.len();
        let rows = self.inner.scan_prefix(&self.key(prefix), limit)?;
        Ok(rows.into_iter().map(|(k, v)| (k[n..].to_vec(), v)).collect())
    }

    fn write(&self, batch: KvBatch) -> WriteFuture<'_> {
        let ops = batch
            .ops
            .into_iter()
            .map(|op| match op {
                KvOp::Put { key, value } => KvOp::Put { key: self.key(&key), value },
                KvOp::Delete { key } => KvOp::Delete { key: self.key(&key) },
                KvOp::DeletePrefix { prefix } => KvOp::DeletePrefix { prefix: self.key(&prefix) },
            })
            .collect();
        self.inner.write(KvBatch { ops })
    }
}

impl<S: KvStore + ?Sized> KvStore for std::sync::Arc<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        (**self).get(key)
    }

    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Rows, KvError> {
        (**self).scan_prefix(prefix, limit)
    }

    fn write(&self, batch: KvBatch) -> WriteFuture<'_> {
        (**self).write(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_where_its_last_byte_below_0xff_is_incremented() {
        let table: [(&[u8], Option<&[u8]>); 5] =
            [(b"ab", Some(b"ac")), (&[1, 0xff], Some(&[2])), (&[0xff, 0xff], None), (b"", None), (&[0], Some(&[1]))];
        for (prefix, end) in table {
            assert_eq!(prefix_end(prefix).as_deref(), end, "{prefix:?}");
        }
    }
}
