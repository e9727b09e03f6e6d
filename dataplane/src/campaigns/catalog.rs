//! The catalog: audiences (numbers to send to) and variable groups (values per number), as the
//! client creates them — from JSON here, from CSV files in `import`. Each write is one batch
//! under the instance's catalog lock; counts are kept exact by looking up which numbers are
//! new (one multi-get per batch). Reads are bounded range reads. No HTTP, no shard.

use std::collections::HashSet;

use chatedge_config::InstanceId;
use rocksdb::{Direction, IteratorMode, ReadOptions};
use serde_json::{Map, Value};

use super::ledger::{encode, read};
use super::model::{Audience, VariableGroup, MAX_FIELDS};
use super::{keys, CampaignError, Campaigns};
use crate::store::{Batch, Cf, Store, StoreError};

/// Reads at most `limit` rows of `[from, to)`, calling `f(key, value)`; `f` returns false to
/// stop early.
pub fn scan(
    store: &Store,
    from: &[u8],
    to: &[u8],
    limit: usize,
    mut f: impl FnMut(&[u8], &[u8]) -> bool,
) -> Result<(), StoreError> {
    let mut opts = ReadOptions::default();
    opts.set_iterate_lower_bound(from.to_vec());
    opts.set_iterate_upper_bound(to.to_vec());
    let iter = store.db().iterator_cf_opt(store.cf(Cf::Campaigns), opts, IteratorMode::From(from, Direction::Forward));
    for item in iter.take(limit) {
        let (k, v) = item?;
        if !f(&k, &v) {
            break;
        }
    }
    Ok(())
}

/// Every record of one table (`tag`) of `instance`, at most `limit`.
fn records<T: serde::de::DeserializeOwned>(
    store: &Store,
    instance: &InstanceId,
    tag: u8,
    limit: usize,
) -> Result<Vec<T>, StoreError> {
    let (from, to) = keys::table(instance, tag);
    let mut out = Vec::new();
    let mut bad = None;
    scan(store, &from, &to, limit, |_, v| match serde_json::from_slice(v) {
        Ok(r) => {
            out.push(r);
            true
        }
        Err(e) => {
            bad = Some(e.to_string());
            false
        }
    })?;
    match bad {
        Some(e) => Err(StoreError::Corrupt(e)),
        None => Ok(out),
    }
}

/// Which of `keys` are not stored yet.
fn absent(store: &Store, keys: &[Vec<u8>]) -> Result<Vec<bool>, StoreError> {
    let cf = store.cf(Cf::Campaigns);
    store
        .db()
        .batched_multi_get_cf(cf, keys.iter(), false)
        .into_iter()
        .map(|r| r.map(|v| v.is_none()).map_err(StoreError::from))
        .collect()
}

impl Campaigns {
    pub fn audiences(&self, instance: &InstanceId) -> Result<Vec<Audience>, StoreError> {
        records(&self.store, instance, keys::AUDIENCE, self.settings.max_per_instance)
    }

    pub fn audience(&self, instance: &InstanceId, id: &str) -> Result<Option<Audience>, StoreError> {
        read(&self.store, &keys::audience(instance, id))
    }

    pub fn groups(&self, instance: &InstanceId) -> Result<Vec<VariableGroup>, StoreError> {
        records(&self.store, instance, keys::GROUP, self.settings.max_per_instance * 2)
    }

    pub fn group(&self, instance: &InstanceId, id: &str) -> Result<Option<VariableGroup>, StoreError> {
        read(&self.store, &keys::group(instance, id))
    }

    /// The audience `id` to add to: the stored one (renamed when `name` or `description` is
    /// given) or a new one, which needs a name and room under the per-instance limit.
    pub fn audience_to_fill(
        &self,
        instance: &InstanceId,
        id: &str,
        name: Option<String>,
        description: Option<String>,
    ) -> Result<Audience, CampaignError> {
        let mut audience = match self.audience(instance, id)? {
            Some(a) => a,
            None => {
                if self.audiences(instance)?.len() >= self.settings.max_per_instance {
                    return Err(CampaignError::TooMany { what: "audiences", limit: self.settings.max_per_instance });
                }
                Audience {
                    id: id.to_owned(),
                    name: id.to_owned(),
                    description: String::new(),
                    contacts: 0,
                    created_ms: chatedge_config::time::unix_ms(),
                }
            }
        };
        if let Some(n) = name {
            audience.name = n;
        }
        if let Some(d) = description {
            audience.description = d;
        }
        Ok(audience)
    }

    /// Adds `phones` (normalised contact numbers) to `audience` in `batch`, with the audience's
    /// new count. Returns how many were new. Call under the instance's catalog lock.
    pub fn add_members(
        &self,
        instance: &InstanceId,
        audience: &mut Audience,
        phones: &[String],
        batch: &mut Batch,
    ) -> Result<u64, StoreError> {
        let mut seen = HashSet::with_capacity(phones.len());
        let unique: Vec<&String> = phones.iter().filter(|p| seen.insert(p.as_str())).collect();
        let member_keys: Vec<Vec<u8>> = unique.iter().map(|p| keys::member(instance, &audience.id, p)).collect();
        let fresh = absent(&self.store, &member_keys)?;
        let mut added = 0;
        for ((phone, key), new) in unique.iter().zip(member_keys).zip(fresh) {
            if new {
                batch.put(Cf::Campaigns, key, Vec::new());
                batch.put(Cf::Campaigns, keys::contact(instance, phone), Vec::new());
                added += 1;
            }
        }
        audience.contacts += added;
        batch.put(Cf::Campaigns, keys::audience(instance, &audience.id), encode(audience));
        Ok(added)
    }

    /// Numbers of audience `id` after `after`, at most `limit`, in order.
    pub fn audience_numbers(
        &self,
        instance: &InstanceId,
        id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = keys::member(instance, id, "");
        let prefix = &prefix[..prefix.len() - 1]; // without the trailing 0x00
        let (mut from, to) = keys::under(prefix);
        if let Some(a) = after {
            from = keys::member(instance, id, a);
            from.push(0); // the first key after `a`
        }
        let mut out = Vec::new();
        scan(&self.store, &from, &to, limit, |k, _| {
            out.push(String::from_utf8_lossy(keys::last_part(k)).into_owned());
            true
        })?;
        Ok(out)
    }

    /// The group `id` to add values to: the stored one with `fields` added (at most
    /// `MAX_FIELDS` in all) or a new one, which needs room under the per-instance limit.
    pub fn group_to_fill(
        &self,
        instance: &InstanceId,
        id: &str,
        name: Option<String>,
        description: Option<String>,
        fields: &[String],
    ) -> Result<VariableGroup, CampaignError> {
        let mut group = match self.group(instance, id)? {
            Some(g) if g.input => {
                return Err(CampaignError::invalid(
                    "id",
                    format!("'{id}' is a campaign's input group: choose another id"),
                ))
            }
            Some(g) => g,
            None => {
                if self.groups(instance)?.iter().filter(|g| !g.input).count() >= self.settings.max_per_instance {
                    return Err(CampaignError::TooMany {
                        what: "variable groups",
                        limit: self.settings.max_per_instance,
                    });
                }
                VariableGroup {
                    id: id.to_owned(),
                    name: id.to_owned(),
                    description: String::new(),
                    fields: Vec::new(),
                    numbers: 0,
                    input: false,
                    created_ms: chatedge_config::time::unix_ms(),
                }
            }
        };
        for f in fields {
            if !group.fields.contains(f) {
                group.fields.push(f.clone());
            }
        }
        if group.fields.len() > MAX_FIELDS {
            return Err(CampaignError::invalid(
                "fields",
                format!("a variable group holds at most {MAX_FIELDS} fields"),
            ));
        }
        if let Some(n) = name {
            group.name = n;
        }
        if let Some(d) = description {
            group.description = d;
        }
        Ok(group)
    }

    /// Puts each number's values (field → text) of `group` in `batch` (replacing what the
    /// number had), with the group's new count. Returns how many numbers were new. Call under
    /// the instance's catalog lock.
    pub fn add_values(
        &self,
        instance: &InstanceId,
        group: &mut VariableGroup,
        rows: &[(String, Map<String, Value>)],
        batch: &mut Batch,
    ) -> Result<u64, StoreError> {
        let value_keys: Vec<Vec<u8>> = rows.iter().map(|(p, _)| keys::values(instance, &group.id, p)).collect();
        let fresh = absent(&self.store, &value_keys)?;
        let mut counted = HashSet::new();
        let mut added = 0;
        for (((phone, values), key), new) in rows.iter().zip(value_keys).zip(fresh) {
            if new && counted.insert(phone.as_str()) {
                added += 1;
            }
            batch.put(Cf::Campaigns, key, encode(values));
        }
        group.numbers += added;
        batch.put(Cf::Campaigns, keys::group(instance, &group.id), encode(group));
        Ok(added)
    }

    /// Whether `phone` is on the instance's suppression list.
    pub fn suppressed(&self, instance: &InstanceId, phone: &str) -> Result<bool, StoreError> {
        Ok(self.store.db().get_cf(self.store.cf(Cf::Campaigns), keys::suppressed(instance, phone))?.is_some())
    }
}
