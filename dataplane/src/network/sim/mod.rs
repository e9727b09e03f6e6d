//! sim: an in-process chat network, the default connector. It behaves like a real one as far
//! as chatedge can tell: pairing codes rotate every `qr_rotate` and expire; a phone "scans" a
//! code through [`SimNetwork::scan`] (the `/sim/scan` admin route); a sent message is accepted
//! after `ack_delay`, then RECEIVED and READ follow after their delays; numbers ending in
//! `unreachable_suffix` are not on the network and their messages are rejected; incoming
//! messages injected with [`SimNetwork::inbound`] are redelivered until acknowledged.
//!
//! [`SimNetwork`] is shared by all shards (pairing codes must be found from any thread; the
//! mutex guards only that directory and is never held across `.await`). Each shard owns one
//! [`SimConnector`], whose timers run as local tasks on that shard's thread.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chatedge_config::file::SimConfig;
use chatedge_config::{InstanceId, Phone};
use rand::RngCore;
use tokio::sync::mpsc;

use super::{Connector, Credentials, IncomingMessage, MessageStatus, NetworkError, NetworkEvent, Presence};
use crate::queue::OutboundMessage;

/// How long an expired code is remembered, to tell "expired" from "unknown".
const EXPIRED_CODE_MEMORY: Duration = Duration::from_secs(600);
/// Redeliveries of an unacknowledged incoming message before the sim gives up.
const MAX_REDELIVERIES: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("unknown QR code: it was never shown by this data plane")]
    UnknownCode,
    #[error("QR code expired: codes rotate every few seconds, fetch the current one from qr-code")]
    ExpiredCode,
    #[error("the instance is not connected")]
    NotConnected,
    #[error("the data plane is shutting down")]
    ShuttingDown,
}

struct Code {
    instance: InstanceId,
    generation: u64,
    expires: Instant,
}

#[derive(Default)]
struct Directory {
    codes: HashMap<String, Code>,
    /// Instances currently pairing, with the generation of their pairing run.
    pairing: HashMap<InstanceId, u64>,
    online: HashMap<InstanceId, Phone>,
    unacked: HashMap<String, InstanceId>,
    next_generation: u64,
}

/// The simulated network, shared by every shard.
pub struct SimNetwork {
    cfg: SimConfig,
    shards: Vec<mpsc::Sender<NetworkEvent>>,
    dir: Mutex<Directory>,
}

impl SimNetwork {
    /// `shards[i]` is shard i's event channel.
    pub fn new(cfg: SimConfig, shards: Vec<mpsc::Sender<NetworkEvent>>) -> Arc<SimNetwork> {
        Arc::new(SimNetwork { cfg, shards, dir: Mutex::new(Directory::default()) })
    }

    /// The connector shard `index` uses.
    pub fn connector(self: &Arc<Self>, index: usize) -> SimConnector {
        SimConnector { net: self.clone(), events: self.shards[index].clone() }
    }

    fn dir(&self) -> std::sync::MutexGuard<'_, Directory> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters to a simulation; keep going.
        self.dir.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn events_for(&self, instance: &InstanceId) -> &mpsc::Sender<NetworkEvent> {
        &self.shards[instance.shard(self.shards.len())]
    }

    /// A phone scans `code`: the instance showing it becomes connected as `phone`.
    pub async fn scan(&self, code: &str, phone: Phone) -> Result<InstanceId, SimError> {
        let instance = {
            let mut dir = self.dir();
            let found = dir.codes.get(code).ok_or(SimError::UnknownCode)?;
            let instance = found.instance;
            let current = dir.pairing.get(&instance) == Some(&found.generation);
            if found.expires <= Instant::now() || !current {
                return Err(SimError::ExpiredCode);
            }
            dir.codes.retain(|_, c| c.instance != instance);
            dir.pairing.remove(&instance);
            dir.online.insert(instance, phone.clone());
            instance
        };
        let credentials = credentials_for(&phone);
        let event = NetworkEvent::Connected { instance, phone, credentials };
        self.events_for(&instance).send(event).await.map_err(|_| SimError::ShuttingDown)?;
        Ok(instance)
    }

    /// Someone with `from` writes `text` to the instance's number.
    pub async fn inbound(
        self: &Arc<Self>,
        instance: InstanceId,
        from: Phone,
        text: String,
    ) -> Result<String, SimError> {
        if !self.dir().online.contains_key(&instance) {
            return Err(SimError::NotConnected);
        }
        let message =
            IncomingMessage { id: random_id(), from, sender_name: None, text, at_ms: chatedge_config::time::unix_ms() };
        let id = message.id.clone();
        self.dir().unacked.insert(id.clone(), instance);
        self.deliver_incoming(instance, message).await?;
        Ok(id)
    }

    /// A contact's presence changes in their chat with the instance.
    pub async fn presence(&self, instance: InstanceId, phone: Phone, presence: Presence) -> Result<(), SimError> {
        if !self.dir().online.contains_key(&instance) {
            return Err(SimError::NotConnected);
        }
        let at_ms = chatedge_config::time::unix_ms();
        let event = NetworkEvent::Presence { instance, phone, presence, at_ms };
        self.events_for(&instance).send(event).await.map_err(|_| SimError::ShuttingDown)
    }

    async fn deliver_incoming(
        self: &Arc<Self>,
        instance: InstanceId,
        message: IncomingMessage,
    ) -> Result<(), SimError> {
        let events = self.events_for(&instance).clone();
        let event = NetworkEvent::Incoming { instance, message: message.clone() };
        events.send(event).await.map_err(|_| SimError::ShuttingDown)?;
        let redelivery = self.cfg.incoming_redelivery;
        let net = Arc::downgrade(self);
        // Owned by the runtime; ends after MAX_REDELIVERIES or once acknowledged.
        tokio::spawn(async move {
            for _ in 0..MAX_REDELIVERIES {
                tokio::time::sleep(redelivery).await;
                let Some(net) = net.upgrade() else { return };
                if !net.dir().unacked.contains_key(&message.id) {
                    return;
                }
                let event = NetworkEvent::Incoming { instance, message: message.clone() };
                if events.send(event).await.is_err() {
                    return;
                }
            }
        });
        Ok(())
    }
}

/// The shard-local half of the sim.
pub struct SimConnector {
    net: Arc<SimNetwork>,
    events: mpsc::Sender<NetworkEvent>,
}

impl Connector for SimConnector {
    fn resume(&mut self, instance: InstanceId, credentials: &Credentials) {
        let event = match phone_of(credentials) {
            Some(phone) => {
                self.net.dir().online.insert(instance, phone.clone());
                NetworkEvent::Connected { instance, phone, credentials: credentials.clone() }
            }
            None => NetworkEvent::Disconnected { instance, reason: "invalid session".into(), logged_out: true },
        };
        self.emit_later(Duration::ZERO, vec![event]);
    }

    fn start_pairing(&mut self, instance: InstanceId) {
        let generation = {
            let mut dir = self.net.dir();
            dir.next_generation += 1;
            let g = dir.next_generation;
            dir.pairing.insert(instance, g);
            g
        };
        let net = self.net.clone();
        let events = self.events.clone();
        // Owned by the shard's LocalSet; ends when pairing succeeds, is cancelled or expires.
        tokio::task::spawn_local(rotate_codes(net, events, instance, generation));
    }

    fn close(&mut self, instance: InstanceId, _logout: bool) {
        let mut dir = self.net.dir();
        dir.online.remove(&instance);
        dir.pairing.remove(&instance);
    }

    fn send(&mut self, message: &OutboundMessage) -> Result<(), NetworkError> {
        let (instance, message_id, phone) = (message.instance, message.message_id, message.phone.clone());
        let cfg = &self.net.cfg;
        if phone.ends_with(&cfg.unreachable_suffix) {
            let reason = format!("{} is not on the network", phone.as_str());
            self.emit_later(cfg.ack_delay, vec![NetworkEvent::Rejected { instance, message_id, reason }]);
            return Ok(());
        }
        let now = chatedge_config::time::unix_ms;
        let events = self.events.clone();
        let (ack, received, read) = (cfg.ack_delay, cfg.received_delay, cfg.read_delay);
        // Owned by the shard's LocalSet; ends after READ (or when the shard stops).
        tokio::task::spawn_local(async move {
            pause(ack).await;
            let _ = events.send(NetworkEvent::Accepted { instance, message_id, at_ms: now() }).await;
            for (delay, status) in [(received, MessageStatus::Received), (read, MessageStatus::Read)] {
                pause(delay).await;
                let phone = phone.clone();
                let event = NetworkEvent::Status { instance, message_id, phone, status, at_ms: now() };
                if events.send(event).await.is_err() {
                    return;
                }
            }
        });
        Ok(())
    }

    fn send_presence(&mut self, _instance: InstanceId, _to: &Phone, _presence: Presence) {
        // The simulated recipient sees it; nothing comes back.
    }

    fn ack_incoming(&mut self, _instance: InstanceId, id: &str) {
        self.net.dir().unacked.remove(id);
    }
}

impl SimConnector {
    fn emit_later(&self, delay: Duration, events: Vec<NetworkEvent>) {
        let tx = self.events.clone();
        // Owned by the shard's LocalSet; ends once the events are handed over.
        tokio::task::spawn_local(async move {
            pause(delay).await;
            for e in events {
                if tx.send(e).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn rotate_codes(net: Arc<SimNetwork>, events: mpsc::Sender<NetworkEvent>, instance: InstanceId, generation: u64) {
    let rotate = net.cfg.qr_rotate;
    for _ in 0..net.cfg.qr_codes_per_pairing {
        let code = pairing_code();
        {
            let mut dir = net.dir();
            if dir.pairing.get(&instance) != Some(&generation) {
                return;
            }
            let now = Instant::now();
            dir.codes.retain(|_, c| c.expires + EXPIRED_CODE_MEMORY > now);
            dir.codes.insert(code.clone(), Code { instance, generation, expires: now + rotate });
        }
        let event = NetworkEvent::PairingCode { instance, code, valid_for: rotate };
        if events.send(event).await.is_err() {
            return;
        }
        tokio::time::sleep(rotate).await;
    }
    let expired = {
        let mut dir = net.dir();
        let current = dir.pairing.get(&instance) == Some(&generation);
        if current {
            dir.pairing.remove(&instance);
        }
        current
    };
    if expired {
        let _ = events.send(NetworkEvent::PairingExpired { instance }).await;
    }
}

/// Waits `d`; zero means no timer at all (a timer rounds up to the next millisecond tick).
async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

/// Shaped like a WhatsApp Web code: `2@<ref>,<noise key>,<identity key>,<adv secret>`.
fn pairing_code() -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    format!(
        "2@{},{},{},{}",
        b64(&random_bytes::<48>()),
        b64(&random_bytes::<32>()),
        b64(&random_bytes::<32>()),
        b64(&random_bytes::<32>())
    )
}

fn random_id() -> String {
    let b = random_bytes::<10>();
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn credentials_for(phone: &Phone) -> Credentials {
    Credentials(format!("sim:{}:{}", phone.as_str(), random_id()))
}

fn phone_of(credentials: &Credentials) -> Option<Phone> {
    let mut parts = credentials.0.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("sim"), Some(phone), Some(_)) => Phone::parse(phone).ok(),
        _ => None,
    }
}
