//! table: how a family of the sim's account state is kept — a bounded map of rows, each row
//! one key of `Cf::SimWorld` (instance ‖ table name ‖ 0x00 ‖ row key → JSON), loaded once by
//! prefix scan and changed only through a [`Cx`], which collects the writes of one call into
//! the batch committed before the call is answered. [`Cell`] is a table of one row.

use std::collections::BTreeMap;

use chatedge_config::InstanceId;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Cx;
use crate::network::account::AccountError;
use crate::store::{keys, Cf, Store, StoreError};

/// The key of `row` in `table` of `instance`.
pub fn key(instance: &InstanceId, table: &str, row: &str) -> Vec<u8> {
    let mut k = prefix(instance, table);
    k.extend_from_slice(row.as_bytes());
    k
}

fn prefix(instance: &InstanceId, table: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(16 + table.len() + 1 + 24);
    k.extend_from_slice(instance.as_bytes());
    k.extend_from_slice(table.as_bytes());
    k.push(0);
    k
}

/// Every key of `instance`'s account state lies in `[from, to)`.
pub fn instance_span(instance: &InstanceId) -> (Vec<u8>, Vec<u8>) {
    let from = instance.as_bytes().to_vec();
    let to = keys::prefix_end(&from);
    (from, to)
}

/// Reads an instance's tables from the store.
pub struct Loader<'a> {
    pub store: &'a Store,
    pub instance: InstanceId,
}

impl Loader<'_> {
    /// The table `name` with at most `max` rows. A row that no longer parses (written by an
    /// older, incompatible sim) is skipped with a warning rather than failing the instance.
    pub fn table<T: DeserializeOwned>(&self, name: &'static str, max: usize) -> Result<Table<T>, StoreError> {
        let start = prefix(&self.instance, name);
        let end = keys::prefix_end(&start);
        let mut rows = BTreeMap::new();
        let mut read = rocksdb::ReadOptions::default();
        read.set_iterate_upper_bound(end);
        let cf = self.store.cf(Cf::SimWorld);
        let iter =
            self.store.db().iterator_cf_opt(cf, read, rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward));
        for item in iter {
            let (k, v) = item?;
            let row = String::from_utf8_lossy(&k[start.len()..]).into_owned();
            match serde_json::from_slice(&v) {
                Ok(value) => drop(rows.insert(row, value)),
                Err(e) => tracing::warn!(table = name, row, error = %e, "sim: unreadable account state row skipped"),
            }
        }
        Ok(Table { name, max, rows })
    }

    pub fn cell<T: DeserializeOwned + Default>(&self, name: &'static str) -> Result<Cell<T>, StoreError> {
        let mut t = self.table::<T>(name, 1)?;
        Ok(Cell { name, value: t.rows.remove("").unwrap_or_default() })
    }
}

/// A bounded, durable map of rows, ordered by key.
#[derive(Debug)]
pub struct Table<T> {
    name: &'static str,
    max: usize,
    rows: BTreeMap<String, T>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table { name: "", max: 0, rows: BTreeMap::new() }
    }
}

impl<T> Table<T> {
    /// An empty table (what `Loader::table` gives for an instance with no rows yet).
    pub fn new(name: &'static str, max: usize) -> Self {
        Table { name, max, rows: BTreeMap::new() }
    }

    /// How many more rows fit.
    pub fn room(&self) -> usize {
        self.max.saturating_sub(self.rows.len())
    }
}

impl<T: Serialize> Table<T> {
    pub fn get(&self, key: &str) -> Option<&T> {
        self.rows.get(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.rows.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &T)> {
        self.rows.iter()
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.rows.values()
    }

    /// Adds or replaces a row; a new row beyond the table's bound is refused.
    pub fn insert(&mut self, key: impl Into<String>, value: T, cx: &mut Cx) -> Result<(), AccountError> {
        let key = key.into();
        if !self.rows.contains_key(&key) && self.rows.len() >= self.max {
            return Err(AccountError::Limit(format!("at most {} {} per account", self.max, self.name)));
        }
        cx.put(self.name, &key, &value);
        self.rows.insert(key, value);
        Ok(())
    }

    /// Changes an existing row in place and persists it; `None` when there is no such row.
    pub fn update<R>(&mut self, key: &str, cx: &mut Cx, change: impl FnOnce(&mut T) -> R) -> Option<R> {
        let row = self.rows.get_mut(key)?;
        let r = change(row);
        cx.put(self.name, key, row);
        Some(r)
    }

    pub fn remove(&mut self, key: &str, cx: &mut Cx) -> Option<T> {
        let row = self.rows.remove(key)?;
        cx.delete(self.name, key);
        Some(row)
    }
}

/// A durable value with a default: a table of one row.
#[derive(Debug, Default)]
pub struct Cell<T> {
    name: &'static str,
    value: T,
}

impl<T: Serialize> Cell<T> {
    pub fn get(&self) -> &T {
        &self.value
    }

    /// Changes the value and persists it.
    pub fn update<R>(&mut self, cx: &mut Cx, change: impl FnOnce(&mut T) -> R) -> R {
        let r = change(&mut self.value);
        cx.put(self.name, "", &self.value);
        r
    }
}
