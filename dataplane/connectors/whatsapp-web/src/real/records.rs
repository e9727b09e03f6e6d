//! Records the engine keeps of what the account's devices sync (labels, contacts, chats): one
//! kind per prefix of the engine's part of the instance's store (a two-letter tag and a `/`;
//! the engine's own tables are a two-letter tag and a 0 byte, so they never clash), each
//! record JSON under its id, at most `limit` of a kind read back. Writes that depend on what is
//! kept (newest edit wins) hold [`Records::writing`] from the read to the write, so edits
//! arriving at once (a full sync) never interleave. It knows nothing of what a record means.

use std::marker::PhantomData;
use std::sync::Arc;

use chatedge_connector::{KvBatch, KvStore};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::engine::EngineError;

/// One kind of record.
pub struct Records<T> {
    store: Arc<dyn KvStore>,
    prefix: &'static [u8],
    limit: usize,
    writing: tokio::sync::Mutex<()>,
    kind: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> Records<T> {
    pub fn new(store: Arc<dyn KvStore>, prefix: &'static [u8], limit: usize) -> Records<T> {
        Records { store, prefix, limit, writing: tokio::sync::Mutex::new(()), kind: PhantomData }
    }

    /// Held from reading what is kept to writing what follows from it.
    pub async fn writing(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writing.lock().await
    }

    /// The record `id`, if kept (one that no longer reads is none).
    pub fn get(&self, id: &str) -> Result<Option<T>, EngineError> {
        let value = self.store.get(&self.key(id)).map_err(store_error)?;
        Ok(value.and_then(|v| serde_json::from_slice(&v).ok()))
    }

    /// Every record kept (at most the limit), by id.
    pub fn all(&self) -> Result<Vec<(String, T)>, EngineError> {
        let rows = self.store.scan_prefix(self.prefix, self.limit).map_err(store_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, v)| {
                let id = String::from_utf8(k.get(self.prefix.len()..)?.to_vec()).ok()?;
                Some((id, serde_json::from_slice(&v).ok()?))
            })
            .collect())
    }

    /// How many are kept (at most the limit).
    pub fn count(&self) -> Result<usize, EngineError> {
        Ok(self.store.scan_prefix(self.prefix, self.limit).map_err(store_error)?.len())
    }

    /// Writes `record` under `id` unless the one kept is newer (`at_ms` reads when a record's
    /// edit was made): a late or replayed edit never undoes a newer one.
    pub async fn keep_newest(&self, id: &str, record: T, at_ms: impl Fn(&T) -> u64) -> Result<(), EngineError> {
        let _writing = self.writing().await;
        if self.get(id)?.is_some_and(|kept| at_ms(&kept) > at_ms(&record)) {
            return Ok(());
        }
        self.put(&[(id.to_owned(), record)]).await
    }

    /// Writes `records` in one durable batch.
    pub async fn put(&self, records: &[(String, T)]) -> Result<(), EngineError> {
        let mut batch = KvBatch::new();
        for (id, record) in records {
            batch.put(self.key(id), serde_json::to_vec(record).map_err(|e| EngineError::Store(e.to_string()))?);
        }
        self.store.write(batch).await.map_err(store_error)
    }

    fn key(&self, id: &str) -> Vec<u8> {
        [self.prefix, id.as_bytes()].concat()
    }
}

fn store_error(e: chatedge_connector::KvError) -> EngineError {
    EngineError::Store(e.to_string())
}
