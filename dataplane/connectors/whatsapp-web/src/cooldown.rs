//! Cool-down after a lock or a temporary ban: the connector stops connecting the instance until
//! the recorded time (hours), because reconnecting prolongs a lock. The record lives in the
//! instance's store so a restart honours it; a new pairing (the operator's decision) clears it.

use chatedge_connector::{KvError, KvStore};
use serde::{Deserialize, Serialize};

const KEY: &[u8] = b"cooldown";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cooldown {
    pub until_ms: u64,
    /// What WhatsApp said, for `status` and the DisconnectedCallback.
    pub reason: String,
}

pub fn load(kv: &dyn KvStore) -> Result<Option<Cooldown>, KvError> {
    Ok(kv.get(KEY)?.and_then(|b| serde_json::from_slice(&b).ok()))
}

pub async fn save(kv: &dyn KvStore, cooldown: &Cooldown) -> Result<(), KvError> {
    let bytes = serde_json::to_vec(cooldown).unwrap_or_default(); // plain data: cannot fail
    kv.put(KEY, &bytes).await
}

pub async fn clear(kv: &dyn KvStore) -> Result<(), KvError> {
    kv.delete(KEY).await
}
