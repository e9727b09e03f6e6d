//! The engine's store (whatsapp-rust's five store traits, `Backend`) on chatedge's
//! [`KvStore`]: one key tag per table, rows keyed by their fields joined with 0x00, blobs as
//! they are, structured rows as JSON. Every write is durable when it returns (the data plane's
//! store fsyncs each batch), which is what the engine requires of Signal state it flushes before
//! a stanza reaches the wire and of the pending-inbound buffer; batch methods are one atomic
//! batch. It follows `wacore::store::InMemoryBackend` (the crate's reference) table by table,
//! except that the highest pre-key id only grows (an id is never handed out twice).

use std::collections::HashMap;
use std::sync::Arc;

use chatedge_connector::{KvBatch, KvError, KvStore};
use serde::de::DeserializeOwned;
use serde::Serialize;
use whatsapp_rust::async_trait;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::error::{Result, StoreError};
use whatsapp_rust::wacore::store::traits::{
    merge_msg_secret_expiry, AppStateSyncKey, AppSyncStore, DeviceListRecord, DeviceStore, LidPnMappingEntry,
    MsgSecretEntry, MsgSecretStore, PendingInboundKey, PendingInboundRow, ProtocolStore, SignalStore, TcTokenEntry,
};
use whatsapp_rust::wacore::store::Device;

/// Most rows one scan reads (a table scan for sweeps and "all" reads).
const SCAN_LIMIT: usize = 100_000;

/// Table tags (short: they prefix every key).
mod t {
    pub const IDENTITY: &str = "id";
    pub const SESSION: &str = "se";
    pub const PREKEY: &str = "pk";
    pub const PREKEY_MAX: &str = "pm";
    pub const SIGNED_PREKEY: &str = "sp";
    pub const SENDER_KEY: &str = "sk";
    pub const SYNC_KEY: &str = "ak";
    pub const SYNC_KEY_LATEST: &str = "al";
    pub const VERSION: &str = "av";
    pub const MUTATION_MAC: &str = "am";
    pub const SKD: &str = "sd";
    pub const LID: &str = "li";
    pub const PN: &str = "pn";
    pub const BASE_KEY: &str = "bk";
    pub const DEVICES: &str = "dl";
    pub const GROUP: &str = "gm";
    pub const TC_TOKEN: &str = "tc";
    pub const SENT: &str = "sm";
    pub const PENDING: &str = "pi";
    pub const SECRET: &str = "ms";
    pub const DEVICE: &str = "dv";
}

fn key(table: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(table.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>() + 1);
    k.extend_from_slice(table.as_bytes());
    k.push(0);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

fn table(table: &str) -> Vec<u8> {
    key(table, &[])
}

fn db(e: KvError) -> StoreError {
    StoreError::Database(Box::new(e))
}

fn ser(e: serde_json::Error) -> StoreError {
    StoreError::Serialization(Box::new(e))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn stamped(ts: i64, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + payload.len());
    v.extend_from_slice(&ts.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn unstamp(v: &[u8]) -> Option<(i64, &[u8])> {
    let ts = i64::from_be_bytes(v.get(..8)?.try_into().ok()?);
    Some((ts, &v[8..]))
}

/// One instance's engine store.
pub struct KvBackend {
    kv: Arc<dyn KvStore>,
}

impl KvBackend {
    pub fn new(kv: Arc<dyn KvStore>) -> KvBackend {
        KvBackend { kv }
    }

    fn get(&self, k: &[u8]) -> Result<Option<Vec<u8>>> {
        self.kv.get(k).map_err(db)
    }

    fn get_json<T: DeserializeOwned>(&self, k: &[u8]) -> Result<Option<T>> {
        match self.get(k)? {
            Some(v) => serde_json::from_slice(&v).map(Some).map_err(ser),
            None => Ok(None),
        }
    }

    fn scan(&self, prefix: &[u8]) -> Result<chatedge_connector::Rows> {
        self.kv.scan_prefix(prefix, SCAN_LIMIT).map_err(db)
    }

    async fn write(&self, batch: KvBatch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.kv.write(batch).await.map_err(db)
    }

    async fn put(&self, k: Vec<u8>, v: Vec<u8>) -> Result<()> {
        let mut b = KvBatch::new();
        b.put(k, v);
        self.write(b).await
    }

    async fn put_json<T: Serialize>(&self, k: Vec<u8>, v: &T) -> Result<()> {
        let bytes = serde_json::to_vec(v).map_err(ser)?;
        self.put(k, bytes).await
    }

    async fn delete(&self, k: Vec<u8>) -> Result<()> {
        let mut b = KvBatch::new();
        b.delete(k);
        self.write(b).await
    }

    /// Deletes the rows of `prefix` whose value `expired` says so; returns how many.
    async fn sweep(&self, prefix: &[u8], expired: impl Fn(&[u8]) -> bool) -> Result<u32> {
        let mut b = KvBatch::new();
        let mut n = 0u32;
        for (k, v) in self.scan(prefix)? {
            if expired(&v) {
                b.delete(k);
                n += 1;
            }
        }
        self.write(b).await?;
        Ok(n)
    }
}

#[async_trait]
impl SignalStore for KvBackend {
    async fn put_identity(&self, address: &str, key_bytes: [u8; 32]) -> Result<()> {
        self.put(key(t::IDENTITY, &[address.as_bytes()]), key_bytes.to_vec()).await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        let mut b = KvBatch::new();
        for (address, k) in identities {
            b.put(key(t::IDENTITY, &[address.as_bytes()]), k.to_vec());
        }
        self.write(b).await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        match self.get(&key(t::IDENTITY, &[address.as_bytes()]))? {
            Some(v) => v
                .as_slice()
                .try_into()
                .map(Some)
                .map_err(|_| StoreError::Validation(format!("identity key of {} bytes", v.len()))),
            None => Ok(None),
        }
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        self.delete(key(t::IDENTITY, &[address.as_bytes()])).await
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        Ok(self.get(&key(t::SESSION, &[address.as_bytes()]))?.map(Bytes::from))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        self.put(key(t::SESSION, &[address.as_bytes()]), session.to_vec()).await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let mut b = KvBatch::new();
        for (address, session) in sessions {
            b.put(key(t::SESSION, &[address.as_bytes()]), session.to_vec());
        }
        self.write(b).await
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        self.delete(key(t::SESSION, &[address.as_bytes()])).await
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> Result<()> {
        self.store_prekeys_batch(&[(id, Bytes::copy_from_slice(record))], uploaded).await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], _uploaded: bool) -> Result<()> {
        let mut b = KvBatch::new();
        let mut max = self.get_max_prekey_id().await?;
        for (id, record) in keys {
            b.put(key(t::PREKEY, &[&id.to_be_bytes()]), record.to_vec());
            max = max.max(*id);
        }
        b.put(table(t::PREKEY_MAX), max.to_be_bytes().to_vec());
        self.write(b).await
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        Ok(self.get(&key(t::PREKEY, &[&id.to_be_bytes()]))?.map(Bytes::from))
    }

    async fn mark_prekeys_uploaded(&self, _ids: &[u32]) -> Result<()> {
        // Like the reference store: the uploaded flag is not kept; the contract that matters is
        // not resurrecting deleted rows, which doing nothing keeps.
        Ok(())
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        self.delete(key(t::PREKEY, &[&id.to_be_bytes()])).await
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        Ok(self.get(&table(t::PREKEY_MAX))?.and_then(|v| v.as_slice().try_into().ok()).map_or(0, u32::from_be_bytes))
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        self.put(key(t::SIGNED_PREKEY, &[&id.to_be_bytes()]), record.to_vec()).await
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        self.get(&key(t::SIGNED_PREKEY, &[&id.to_be_bytes()]))
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let prefix = table(t::SIGNED_PREKEY);
        Ok(self
            .scan(&prefix)?
            .into_iter()
            .filter_map(|(k, v)| Some((u32::from_be_bytes(k.get(prefix.len()..)?.try_into().ok()?), v)))
            .collect())
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        self.delete(key(t::SIGNED_PREKEY, &[&id.to_be_bytes()])).await
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        self.put(key(t::SENDER_KEY, &[address.as_bytes()]), record.to_vec()).await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let mut b = KvBatch::new();
        for (address, record) in sender_keys {
            b.put(key(t::SENDER_KEY, &[address.as_bytes()]), record.to_vec());
        }
        self.write(b).await
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        self.get(&key(t::SENDER_KEY, &[address.as_bytes()]))
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        self.delete(key(t::SENDER_KEY, &[address.as_bytes()])).await
    }
}

#[async_trait]
impl AppSyncStore for KvBackend {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        self.get_json(&key(t::SYNC_KEY, &[key_id]))
    }

    async fn set_sync_key(&self, key_id: &[u8], sync_key: AppStateSyncKey) -> Result<()> {
        let mut b = KvBatch::new();
        b.put(key(t::SYNC_KEY, &[key_id]), serde_json::to_vec(&sync_key).map_err(ser)?);
        b.put(table(t::SYNC_KEY_LATEST), key_id.to_vec());
        self.write(b).await
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        Ok(self.get_json(&key(t::VERSION, &[name.as_bytes()]))?.unwrap_or_default())
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        self.put_json(key(t::VERSION, &[name.as_bytes()]), &state).await
    }

    async fn put_mutation_macs(&self, name: &str, _version: u64, mutations: &[AppStateMutationMAC]) -> Result<()> {
        let mut b = KvBatch::new();
        for m in mutations {
            b.put(key(t::MUTATION_MAC, &[name.as_bytes(), &m.index_mac]), m.value_mac.clone());
        }
        self.write(b).await
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(&key(t::MUTATION_MAC, &[name.as_bytes(), index_mac]))
    }

    async fn get_mutation_macs(&self, name: &str, index_macs: &[[u8; 32]]) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        let mut out = HashMap::with_capacity(index_macs.len());
        for index_mac in index_macs {
            if let Some(mac) = self.get(&key(t::MUTATION_MAC, &[name.as_bytes(), index_mac]))? {
                out.insert(*index_mac, mac);
            }
        }
        Ok(out)
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        let mut b = KvBatch::new();
        for index_mac in index_macs {
            b.delete(key(t::MUTATION_MAC, &[name.as_bytes(), index_mac]));
        }
        self.write(b).await
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        let mut b = KvBatch::new();
        let mut prefix = key(t::MUTATION_MAC, &[name.as_bytes()]);
        prefix.push(0);
        b.delete_prefix(prefix);
        self.write(b).await
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        self.get(&table(t::SYNC_KEY_LATEST))
    }
}

#[async_trait]
impl ProtocolStore for KvBackend {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        let mut prefix = key(t::SKD, &[group_jid.as_bytes()]);
        prefix.push(0);
        Ok(self
            .scan(&prefix)?
            .into_iter()
            .filter_map(|(k, v)| {
                let device = String::from_utf8(k.get(prefix.len()..)?.to_vec()).ok()?;
                Some((device, v.first() == Some(&1)))
            })
            .collect())
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        let mut b = KvBatch::new();
        for (device, has_key) in entries {
            b.put(key(t::SKD, &[group_jid.as_bytes(), device.as_bytes()]), vec![u8::from(*has_key)]);
        }
        self.write(b).await
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        let mut prefix = key(t::SKD, &[group_jid.as_bytes()]);
        prefix.push(0);
        let mut b = KvBatch::new();
        b.delete_prefix(prefix);
        self.write(b).await
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        if device_jids.is_empty() {
            return Ok(());
        }
        let mut b = KvBatch::new();
        for (k, _) in self.scan(&table(t::SKD))? {
            let device = k.rsplit(|b| *b == 0).next().unwrap_or_default();
            if device_jids.iter().any(|d| d.as_bytes() == device) {
                b.delete(k);
            }
        }
        self.write(b).await
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        let mut b = KvBatch::new();
        b.delete_prefix(table(t::SKD));
        self.write(b).await
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        self.get_json(&key(t::LID, &[lid.as_bytes()]))
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        match self.get(&key(t::PN, &[phone.as_bytes()]))? {
            Some(lid) => self.get_json(&key(t::LID, &[&lid])),
            None => Ok(None),
        }
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        self.put_lid_mappings(std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        let mut b = KvBatch::new();
        for entry in entries {
            let old: Option<LidPnMappingEntry> = self.get_json(&key(t::LID, &[entry.lid.as_bytes()]))?;
            if let Some(old) = old.filter(|o| o.phone_number != entry.phone_number) {
                b.delete(key(t::PN, &[old.phone_number.as_bytes()]));
            }
            b.put(key(t::PN, &[entry.phone_number.as_bytes()]), entry.lid.as_bytes().to_vec());
            b.put(key(t::LID, &[entry.lid.as_bytes()]), serde_json::to_vec(entry).map_err(ser)?);
        }
        self.write(b).await
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        self.scan(&table(t::LID))?.into_iter().map(|(_, v)| serde_json::from_slice(&v).map_err(ser)).collect()
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        self.put(key(t::BASE_KEY, &[address.as_bytes(), message_id.as_bytes()]), base_key.to_vec()).await
    }

    async fn has_same_base_key(&self, address: &str, message_id: &str, current_base_key: &[u8]) -> Result<bool> {
        Ok(self
            .get(&key(t::BASE_KEY, &[address.as_bytes(), message_id.as_bytes()]))?
            .is_some_and(|stored| stored == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        self.delete(key(t::BASE_KEY, &[address.as_bytes(), message_id.as_bytes()])).await
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.update_device_lists(vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        let mut b = KvBatch::new();
        for record in records {
            b.put(key(t::DEVICES, &[record.user.as_bytes()]), serde_json::to_vec(&record).map_err(ser)?);
        }
        self.write(b).await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        self.get_json(&key(t::DEVICES, &[user.as_bytes()]))
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        self.delete(key(t::DEVICES, &[user.as_bytes()])).await
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        self.get(&key(t::GROUP, &[group_jid.as_bytes()]))
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        self.put(key(t::GROUP, &[group_jid.as_bytes()]), blob.to_vec()).await
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        self.delete(key(t::GROUP, &[group_jid.as_bytes()])).await
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        self.get_json(&key(t::TC_TOKEN, &[jid.as_bytes()]))
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        self.put_json(key(t::TC_TOKEN, &[jid.as_bytes()]), entry).await
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        self.delete(key(t::TC_TOKEN, &[jid.as_bytes()])).await
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        let prefix = table(t::TC_TOKEN);
        Ok(self
            .scan(&prefix)?
            .into_iter()
            .filter_map(|(k, _)| String::from_utf8(k.get(prefix.len()..)?.to_vec()).ok())
            .collect())
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        // A row goes only when both its received token and its sender bucket are stale.
        self.sweep(&table(t::TC_TOKEN), |v| {
            let Ok(entry) = serde_json::from_slice::<TcTokenEntry>(v) else { return true };
            let token_live = !entry.token.is_empty() && entry.token_timestamp >= token_cutoff;
            let sender_live = entry.sender_timestamp.is_some_and(|ts| ts >= sender_cutoff);
            !(token_live || sender_live)
        })
        .await
    }

    async fn store_sent_message(&self, chat_jid: &str, message_id: &str, payload: &[u8]) -> Result<()> {
        self.put(key(t::SENT, &[chat_jid.as_bytes(), message_id.as_bytes()]), stamped(now_secs(), payload)).await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        let k = key(t::SENT, &[chat_jid.as_bytes(), message_id.as_bytes()]);
        let Some(v) = self.get(&k)? else { return Ok(None) };
        self.delete(k).await?;
        Ok(unstamp(&v).map(|(_, payload)| payload.to_vec()))
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.sweep(&table(t::SENT), |v| unstamp(v).is_none_or(|(ts, _)| ts < cutoff_timestamp)).await
    }

    async fn store_pending_inbound(&self, chat: &str, sender: &str, id: &str, message: &[u8]) -> Result<()> {
        self.store_pending_inbound_batch(&[PendingInboundRow { chat, sender, id, message }]).await
    }

    async fn get_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<Option<Vec<u8>>> {
        let v = self.get(&key(t::PENDING, &[chat.as_bytes(), sender.as_bytes(), id.as_bytes()]))?;
        Ok(v.as_deref().and_then(unstamp).map(|(_, m)| m.to_vec()))
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        self.delete_pending_inbound_batch(&[PendingInboundKey { chat, sender, id }]).await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.sweep(&table(t::PENDING), |v| unstamp(v).is_none_or(|(ts, _)| ts < cutoff_timestamp)).await
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        let now = now_secs();
        let mut b = KvBatch::new();
        for r in rows {
            b.put(key(t::PENDING, &[r.chat.as_bytes(), r.sender.as_bytes(), r.id.as_bytes()]), stamped(now, r.message));
        }
        self.write(b).await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        let mut b = KvBatch::new();
        for k in keys {
            b.delete(key(t::PENDING, &[k.chat.as_bytes(), k.sender.as_bytes(), k.id.as_bytes()]));
        }
        self.write(b).await
    }
}

/// A message secret row: secret ‖ expires_at ‖ message_ts.
fn secret_row(secret: &[u8], expires_at: i64, message_ts: i64) -> Vec<u8> {
    let mut v = secret.to_vec();
    v.extend_from_slice(&expires_at.to_be_bytes());
    v.extend_from_slice(&message_ts.to_be_bytes());
    v
}

fn parse_secret_row(v: &[u8]) -> Option<(&[u8], i64, i64)> {
    let n = v.len().checked_sub(16)?;
    let expires_at = i64::from_be_bytes(v[n..n + 8].try_into().ok()?);
    let message_ts = i64::from_be_bytes(v[n + 8..].try_into().ok()?);
    Some((&v[..n], expires_at, message_ts))
}

#[async_trait]
impl MsgSecretStore for KvBackend {
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        let stored = entries.len();
        let mut b = KvBatch::new();
        for e in entries {
            let k = key(t::SECRET, &[e.chat.as_bytes(), e.sender.as_bytes(), e.msg_id.as_bytes()]);
            let (expires_at, message_ts) = match self.get(&k)?.as_deref().and_then(parse_secret_row) {
                Some((_, old_exp, old_ts)) => (
                    merge_msg_secret_expiry(old_exp, e.expires_at),
                    whatsapp_rust::wacore::store::traits::merge_msg_secret_message_ts(old_ts, e.message_ts),
                ),
                None => (e.expires_at, e.message_ts),
            };
            b.put(k, secret_row(&e.secret, expires_at, message_ts));
        }
        self.write(b).await?;
        Ok(stored)
    }

    async fn get_msg_secret(&self, chat: &str, sender: &str, msg_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_msg_secret_with_ts(chat, sender, msg_id).await?.map(|(s, _)| s))
    }

    async fn get_msg_secret_with_ts(&self, chat: &str, sender: &str, msg_id: &str) -> Result<Option<(Vec<u8>, i64)>> {
        let v = self.get(&key(t::SECRET, &[chat.as_bytes(), sender.as_bytes(), msg_id.as_bytes()]))?;
        Ok(v.as_deref().and_then(parse_secret_row).map(|(s, _, ts)| (s.to_vec(), ts)))
    }

    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        // 0 = never expires.
        self.sweep(&table(t::SECRET), |v| {
            parse_secret_row(v).is_none_or(|(_, exp, _)| exp != 0 && exp <= cutoff_timestamp)
        })
        .await
    }
}

#[async_trait]
impl DeviceStore for KvBackend {
    async fn save(&self, device: &Device) -> Result<()> {
        self.put_json(table(t::DEVICE), device).await
    }

    async fn load(&self) -> Result<Option<Device>> {
        self.get_json(&table(t::DEVICE))
    }

    async fn exists(&self) -> Result<bool> {
        Ok(self.get(&table(t::DEVICE))?.is_some())
    }

    async fn create(&self) -> Result<i32> {
        // One device per instance store: its id is always 1.
        if !self.exists().await? {
            self.save(&Device::new()).await?;
        }
        Ok(1)
    }
}
