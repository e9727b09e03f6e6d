//! The control plane's RocksDB: accounts, instances, the billing ledger, invoices and node-level
//! facts. Writes are few and
//! synchronous (`sync = true`); callers run them off the event loop (`spawn_blocking`).

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failure: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot create the store directory: {0}")]
    Directory(std::io::Error),
}

#[derive(Debug, Clone, Copy)]
pub enum Cf {
    Meta,
    Tenants,
    Instances,
    /// The billing ledger: one record per instance ever subscribed, until invoiced after
    /// its deletion.
    Subscriptions,
    Invoices,
    /// Registered data planes' credentials (`nodes::NodeRecord`).
    Nodes,
    /// Message counts per instance, day and reporting data plane (`usage`), never pushed.
    Usage,
}

impl Cf {
    const ALL: [Cf; 7] = [Cf::Meta, Cf::Tenants, Cf::Instances, Cf::Subscriptions, Cf::Invoices, Cf::Nodes, Cf::Usage];

    fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Tenants => "tenants",
            Cf::Instances => "instances",
            Cf::Subscriptions => "subscriptions",
            Cf::Invoices => "invoices",
            Cf::Nodes => "nodes",
            Cf::Usage => "usage",
        }
    }
}

pub struct Store {
    db: DB,
}

/// Most keys one [`Store::delete_where`] write deletes.
pub const DELETES_PER_WRITE: usize = 10_000;

/// Writes that become durable together (a `None` value deletes the key).
#[derive(Default)]
pub struct Writes(Vec<(Cf, Vec<u8>, Option<Vec<u8>>)>);

impl Writes {
    pub fn put(&mut self, cf: Cf, key: impl Into<Vec<u8>>, value: &impl Serialize) {
        self.0.push((cf, key.into(), Some(serde_json::to_vec(value).unwrap_or_default())));
    }

    pub fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) {
        self.0.push((cf, key.into(), None));
    }
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        // Before RocksDB creates it with its own 0755: tokens and instance settings live here.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(path)
            .map_err(StoreError::Directory)?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::None);
        let cfs = Cf::ALL.iter().map(|cf| ColumnFamilyDescriptor::new(cf.name(), Options::default()));
        Ok(Store { db: DB::open_cf_descriptors(&opts, path, cfs)? })
    }

    fn cf(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db.cf_handle(cf.name()).ok_or_else(|| StoreError::Corrupt(format!("missing column family {}", cf.name())))
    }

    /// Writes `w` durably (fsync).
    pub fn write(&self, w: Writes) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for (cf, k, v) in &w.0 {
            match v {
                Some(v) => batch.put_cf(self.cf(*cf)?, k, v),
                None => batch.delete_cf(self.cf(*cf)?, k),
            }
        }
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        Ok(self.db.write_opt(batch, &sync)?)
    }

    pub fn get<T: DeserializeOwned>(&self, cf: Cf, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.db.get_cf(self.cf(cf)?, key)? {
            Some(v) => serde_json::from_slice(&v).map(Some).map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(None),
        }
    }

    /// The keys and values of `cf` from `from` (inclusive) to `to` (exclusive), in key order.
    pub fn range<T: DeserializeOwned>(&self, cf: Cf, from: &[u8], to: &[u8]) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        let mut out = Vec::new();
        let start = rocksdb::IteratorMode::From(from, rocksdb::Direction::Forward);
        for item in self.db.iterator_cf(self.cf(cf)?, start) {
            let (k, v) = item?;
            if &*k >= to {
                break;
            }
            out.push((k.to_vec(), serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?));
        }
        Ok(out)
    }

    /// Deletes every key of `cf` that `doomed` picks, at most [`DELETES_PER_WRITE`] keys per
    /// durable write (so a first prune of a large family never builds one huge batch);
    /// answers how many. Blocking: run off the event loop.
    pub fn delete_where(&self, cf: Cf, doomed: impl Fn(&[u8]) -> bool) -> Result<usize, StoreError> {
        let mut deleted = 0;
        let mut writes = Writes::default();
        for item in self.db.iterator_cf(self.cf(cf)?, rocksdb::IteratorMode::Start) {
            let (k, _) = item?;
            if !doomed(&k) {
                continue;
            }
            writes.delete(cf, k.to_vec());
            deleted += 1;
            if writes.0.len() == DELETES_PER_WRITE {
                self.write(std::mem::take(&mut writes))?;
            }
        }
        if !writes.0.is_empty() {
            self.write(writes)?;
        }
        Ok(deleted)
    }

    /// Every value of `cf`.
    pub fn all<T: DeserializeOwned>(&self, cf: Cf) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(cf)?, rocksdb::IteratorMode::Start) {
            let (_, v) = item?;
            out.push(serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
        Ok(out)
    }
}
