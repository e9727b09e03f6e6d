//! sim: an in-process chat network, the default connector. It behaves like a real one as far
//! as chatedge can tell: pairing codes rotate every `qr_rotate` and expire; a phone "scans" a
//! code through [`SimNetwork::scan`] (the `/sim/scan` admin route); a sent message is accepted
//! after `ack_delay`, then RECEIVED and READ follow after their delays; numbers ending in
//! `unreachable_suffix` are not on the network and their messages are rejected. Every event
//! chatedge must acknowledge (connection changes, send outcomes, statuses, presence, incoming
//! messages) is redelivered until acknowledged ([`redelivery`]). Faults on demand:
//! [`SimNetwork::drop_connection`] cuts an instance's connection for a while (attempts to
//! reconnect fail until it is over; the saved session stays good) and [`SimNetwork::logout`]
//! removes the device from the phone (its credentials stop working). A send still travelling
//! when its connection drops is answered anyway, on the old connection's generation.
//!
//! [`SimNetwork`] is shared by all shards (pairing codes must be found from any thread; the
//! mutex guards only that directory and is never held across `.await`). Each shard owns one
//! [`SimConnector`], whose timers run as local tasks on that shard's thread.

mod actions;
mod arrive;
mod redelivery;
#[cfg(test)]
mod tests;
mod votes;
pub mod witness;
pub mod world;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chatedge_config::file::SimConfig;
use chatedge_config::{InstanceId, Phone};
use rand::RngCore;
use tokio::sync::mpsc;

use super::{
    AckId, Connector, Credentials, Generation, IncomingMessage, MessageStatus, NetworkError, NetworkEvent,
    PairingMethod, Presence,
};
use crate::media::Media;
use crate::network::account::{Account, AccountCall, AccountError, ReplyTx};
use crate::queue::OutboundMessage;
use crate::store::Store;
use witness::{Arrived, SharedWitness};
use world::{Cx, World};

/// Messages each shard's phones remember (`GET /sim/received`).
const WITNESS_CAPACITY: usize = 50_000;

/// How long an expired code is remembered, to tell "expired" from "unknown".
const EXPIRED_CODE_MEMORY: Duration = Duration::from_secs(600);
/// Revoked credentials remembered; past it the set starts over (sim only: an old revoked
/// credential could then resume, which no test relies on).
const MAX_REVOKED: usize = 100_000;
/// How long a reconnect attempt takes to fail while the network is unreachable.
const UNREACHABLE_ANSWER: Duration = Duration::from_millis(20);

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
    /// The media of an inbound message could not be stored (not base64, wrong type, too large).
    #[error("data {0}")]
    Media(#[from] crate::media::MediaError),
}

struct Code {
    instance: InstanceId,
    generation: Generation,
    expires: Instant,
    /// A code for "Link with phone number": only this number's owner can enter it.
    phone: Option<Phone>,
}

#[derive(Default)]
struct Directory {
    codes: HashMap<String, Code>,
    /// Instances currently pairing, with the generation of their pairing run.
    pairing: HashMap<InstanceId, Generation>,
    /// Instances connected now, with the generation of their live connection.
    online: HashMap<InstanceId, Generation>,
    /// The credentials the phone of each paired instance still honours.
    devices: HashMap<InstanceId, Credentials>,
    /// Credentials whose device the phone removed.
    revoked: HashSet<String>,
    /// Instances whose network is unreachable until the instant (`/sim/drop`).
    unreachable: HashMap<InstanceId, Instant>,
}

impl Directory {
    fn revoke(&mut self, credentials: Credentials) {
        if self.revoked.len() >= MAX_REVOKED {
            self.revoked.clear();
        }
        self.revoked.insert(credentials.0);
    }
}

/// The simulated network, shared by every shard.
pub struct SimNetwork {
    cfg: SimConfig,
    media: Arc<Media>,
    /// Where each instance's account state ([`world`]) is kept.
    store: Arc<Store>,
    /// Each instance's account state, loaded on first use.
    worlds: Mutex<HashMap<InstanceId, Arc<Mutex<World>>>>,
    /// Per shard: what its instances' recipients received.
    witnesses: Vec<SharedWitness>,
    /// Per shard: its unacknowledged events and its event channel.
    shards: Arc<Vec<(redelivery::Shared, mpsc::Sender<NetworkEvent>)>>,
    dir: Mutex<Directory>,
    next_ack: AtomicU64,
    /// Messages put on the wire, and those among them whose message id had been sent before:
    /// the witness for "never sent twice".
    sends: AtomicU64,
    duplicate_sends: AtomicU64,
}

/// What the sim network has seen, for tests and curious operators (`GET /sim/stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimStats {
    pub sends: u64,
    pub duplicate_sends: u64,
}

/// Message ids a shard's connector sent lately (the last [`RECENT_SENDS`]).
#[derive(Default)]
struct RecentSends {
    ids: std::collections::HashSet<chatedge_config::MessageId>,
    order: std::collections::VecDeque<chatedge_config::MessageId>,
}

/// How many sent message ids each connector remembers to recognise a second send.
const RECENT_SENDS: usize = 100_000;

impl RecentSends {
    /// Records `id`; true when it was sent before.
    fn seen_again(&mut self, id: chatedge_config::MessageId) -> bool {
        if !self.ids.insert(id) {
            return true;
        }
        self.order.push_back(id);
        if self.order.len() > RECENT_SENDS {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        false
    }
}

impl SimNetwork {
    /// `shards[i]` is shard i's event channel. Must be called inside a Tokio runtime: it starts
    /// the redelivery sweeper, which ends when the network is dropped.
    pub fn new(
        cfg: SimConfig,
        media: Arc<Media>,
        store: Arc<Store>,
        shards: Vec<mpsc::Sender<NetworkEvent>>,
    ) -> Arc<SimNetwork> {
        let witnesses = (0..shards.len()).map(|_| witness::Witness::shared(WITNESS_CAPACITY)).collect();
        let shards: Vec<_> = shards.into_iter().map(|tx| (redelivery::Shared::default(), tx)).collect();
        let shards = Arc::new(shards);
        tokio::spawn(redelivery::sweep(Arc::downgrade(&shards), cfg.incoming_redelivery));
        Arc::new(SimNetwork {
            cfg,
            media,
            store,
            worlds: Mutex::new(HashMap::new()),
            witnesses,
            shards,
            dir: Mutex::new(Directory::default()),
            next_ack: AtomicU64::new(1),
            sends: AtomicU64::new(0),
            duplicate_sends: AtomicU64::new(0),
        })
    }

    /// The connector shard `index` uses.
    pub fn connector(self: &Arc<Self>, index: usize) -> SimConnector {
        let (pending, events) = self.shards[index].clone();
        SimConnector { net: self.clone(), events, pending, recent: RecentSends::default() }
    }

    /// What `phone` received from `instance` and the presence it last saw (`GET /sim/received`).
    pub fn received(&self, instance: &InstanceId, phone: &Phone) -> (Vec<Arrived>, Option<(Presence, u64)>) {
        let w = witness::lock(&self.witnesses[instance.shard(self.witnesses.len())]);
        (w.received(instance, phone), w.last_presence(instance, phone))
    }

    pub fn stats(&self) -> SimStats {
        SimStats {
            sends: self.sends.load(Ordering::Relaxed),
            duplicate_sends: self.duplicate_sends.load(Ordering::Relaxed),
        }
    }

    fn next_ack(&self) -> AckId {
        AckId(self.next_ack.fetch_add(1, Ordering::Relaxed))
    }

    /// Loads the instance's account state when it connects, so its first send does not pay
    /// for reading it (a send must not wait on the store on the shard's thread).
    fn warm_up(&self, event: &NetworkEvent) {
        if let NetworkEvent::Connected { instance, .. } = event {
            if let Err(e) = self.world(*instance) {
                tracing::warn!(instance = %instance, error = %e, "sim: account state not loaded at connect");
            }
        }
    }

    /// Delivers `event` to the instance's shard and remembers it until acknowledged.
    async fn deliver(&self, instance: &InstanceId, event: NetworkEvent) -> Result<(), SimError> {
        self.warm_up(&event);
        let (pending, tx) = &self.shards[instance.shard(self.shards.len())];
        if emit(self, pending, tx, event).await {
            Ok(())
        } else {
            Err(SimError::ShuttingDown)
        }
    }

    fn dir(&self) -> std::sync::MutexGuard<'_, Directory> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters to a simulation; keep going.
        self.dir.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The instance's account state, loaded from the store on first use.
    fn world(&self, instance: InstanceId) -> Result<Arc<Mutex<World>>, AccountError> {
        if let Some(w) = lock(&self.worlds).get(&instance) {
            return Ok(w.clone());
        }
        // Loaded outside the map's lock; if two callers race, the first one inserted wins.
        let loaded = World::load(&self.store, instance).map_err(|e| AccountError::Unavailable(e.to_string()))?;
        Ok(lock(&self.worlds).entry(instance).or_insert_with(|| Arc::new(Mutex::new(loaded))).clone())
    }

    /// Applies `change` to the instance's account state, commits what it wrote (fsync'd) and
    /// then delivers the notices it produced. A refused change commits nothing; a failed
    /// commit forgets the in-memory state, so the next call reloads what is durable: nothing
    /// half-applied survives. (A call that arrives while an earlier change's commit is in
    /// flight reads that change already; should the commit fail, it saw state that is then
    /// gone — the store failing is the only way, and the caller of the failed change is told.)
    pub async fn change<R>(
        &self,
        instance: InstanceId,
        account: Account,
        change: impl FnOnce(&mut World, &mut Cx) -> Result<R, AccountError>,
    ) -> Result<R, AccountError> {
        let world = self.world(instance)?;
        let mut cx = Cx::new(instance, account, self.cfg.unreachable_suffix.clone());
        let result = change(&mut lock(&world), &mut cx);
        let (batch, notices) = cx.into_parts();
        if result.is_err() {
            // A refused change writes nothing; if it touched the in-memory world before it
            // failed, forgetting the world rolls that back (the next call reloads the store).
            if !batch.is_empty() {
                lock(&self.worlds).remove(&instance);
            }
            return result;
        }
        if !batch.is_empty() {
            // Submitted at the first poll, before any other change to this world can be
            // applied after this one: commits keep the order of the changes.
            if let Err(e) = self.store.commit(batch).await {
                lock(&self.worlds).remove(&instance);
                return Err(AccountError::Unavailable(e.to_string()));
            }
        }
        let result = result?;
        for mut notice in notices {
            if notice.id.is_empty() {
                notice.id = random_id();
            }
            if notice.at_ms == 0 {
                notice.at_ms = chatedge_config::time::unix_ms();
            }
            let (message, ack) = (Box::new(notice), Some(self.next_ack()));
            // The instance hears of it once connected (events wait for their acknowledgement).
            let _ = self.deliver(&instance, NetworkEvent::Incoming { instance, message, ack }).await;
        }
        Ok(result)
    }

    /// A change made on the phone (or by other people on the network) to the instance's
    /// account: [`change`](Self::change) with the account as the network knows it.
    pub async fn phone_change<R>(
        &self,
        instance: InstanceId,
        change: impl FnOnce(&mut World, &mut Cx) -> Result<R, AccountError>,
    ) -> Result<R, AccountError> {
        let phone = self.dir().devices.get(&instance).and_then(phone_of);
        self.change(instance, Account { phone, business: false }, change).await
    }

    /// A message from `instance` (whose number is `me`) to `to` is sent: who it reaches, or
    /// why nobody; the chat list shows it either way. One look at the world per send.
    fn sending(&self, instance: InstanceId, me: Option<&Phone>, to: &Phone) -> Result<Vec<Phone>, String> {
        let world = self.world(instance).map_err(|e| e.to_string())?;
        let mut world = lock(&world);
        world.saw_traffic(to, chatedge_config::time::unix_ms(), true);
        world.recipients(me, to)
    }

    /// A message went to or came from `chat`: the instance's chat list shows it.
    fn saw_traffic(&self, instance: InstanceId, chat: &Phone, from_me: bool) {
        if let Ok(world) = self.world(instance) {
            lock(&world).saw_traffic(chat, chatedge_config::time::unix_ms(), from_me);
        }
    }

    /// A phone scans `code`: the instance showing it becomes connected as `phone`.
    pub async fn scan(&self, code: &str, phone: Phone) -> Result<InstanceId, SimError> {
        let event = {
            let mut dir = self.dir();
            let found = dir.codes.get(code).filter(|c| c.phone.is_none()).ok_or(SimError::UnknownCode)?;
            let (instance, generation, expires) = (found.instance, found.generation, found.expires);
            self.paired(&mut dir, instance, generation, expires, phone)?
        };
        let instance = event.instance();
        self.deliver(&instance, event).await?;
        Ok(instance)
    }

    /// The owner of `phone` types `code` in "Link with phone number" (`/sim/pair-code`): the
    /// instance that asked for a code for that number becomes connected as it. A code is
    /// refused for another number or instance, and once it rotated or pairing stopped.
    pub async fn pair_code(&self, instance: InstanceId, code: &str, phone: Phone) -> Result<(), SimError> {
        let code: String = code.chars().filter(|c| *c != '-').collect::<String>().to_ascii_uppercase();
        let event = {
            let mut dir = self.dir();
            let found = dir.codes.get(&code).filter(|c| c.instance == instance && c.phone.as_ref() == Some(&phone));
            let found = found.ok_or(SimError::UnknownCode)?;
            let (generation, expires) = (found.generation, found.expires);
            self.paired(&mut dir, instance, generation, expires, phone)?
        };
        self.deliver(&instance, event).await
    }

    /// The number `phone` finished registering on `instance` (mobile registration): the
    /// instance's registration pairing run becomes connected as that number. Nothing happens
    /// when no such run is under way (it was closed or replaced meanwhile).
    async fn registered(&self, instance: InstanceId, phone: Phone) {
        let event = {
            let mut dir = self.dir();
            let Some(generation) = dir.pairing.get(&instance).copied() else { return };
            let never = Instant::now() + EXPIRED_CODE_MEMORY;
            match self.paired(&mut dir, instance, generation, never, phone) {
                Ok(event) => event,
                Err(_) => return,
            }
        };
        let _ = self.deliver(&instance, event).await;
    }

    /// Ends the pairing run `generation` of `instance` with a connection as `phone`, if the
    /// run is still current and its code had not expired.
    fn paired(
        &self,
        dir: &mut Directory,
        instance: InstanceId,
        generation: Generation,
        expires: Instant,
        phone: Phone,
    ) -> Result<NetworkEvent, SimError> {
        let current = dir.pairing.get(&instance) == Some(&generation);
        if expires <= Instant::now() || !current {
            return Err(SimError::ExpiredCode);
        }
        dir.codes.retain(|_, c| c.instance != instance);
        dir.pairing.remove(&instance);
        let credentials = credentials_for(&phone);
        dir.online.insert(instance, generation);
        dir.devices.insert(instance, credentials.clone());
        Ok(NetworkEvent::Connected { instance, generation, phone, credentials, ack: Some(self.next_ack()) })
    }

    /// Cuts the instance's connection for `how_long`: it sees a connection loss, and attempts
    /// to reconnect fail until the time is over. Its saved session stays valid.
    pub async fn drop_connection(&self, instance: InstanceId, how_long: Duration) -> Result<(), SimError> {
        let generation = {
            let mut dir = self.dir();
            let generation = dir.online.remove(&instance).ok_or(SimError::NotConnected)?;
            dir.unreachable.insert(instance, Instant::now() + how_long);
            generation
        };
        let reason = "the connection to the network was lost".to_owned();
        let ack = Some(self.next_ack());
        self.deliver(&instance, NetworkEvent::Disconnected { instance, generation, reason, logged_out: false, ack })
            .await
    }

    /// The phone removes the instance's device: its credentials stop working and a live
    /// connection ends with a logout.
    pub async fn logout(&self, instance: InstanceId) -> Result<(), SimError> {
        let live = {
            let mut dir = self.dir();
            let credentials = dir.devices.remove(&instance).ok_or(SimError::NotConnected)?;
            dir.revoke(credentials);
            dir.online.remove(&instance)
        };
        // Not connected right now (dropped): its next reconnect attempt learns of the logout.
        let Some(generation) = live else { return Ok(()) };
        let reason = "the phone removed this device".to_owned();
        let ack = Some(self.next_ack());
        self.deliver(&instance, NetworkEvent::Disconnected { instance, generation, reason, logged_out: true, ack })
            .await
    }

    /// Someone writes `message` to the instance's number (or the network tells of something
    /// that happened in the chat). Received media arrives as `media`, the base64 text of its
    /// bytes: it is stored (sniffed, size-checked, fsync'd) before the message is handed over.
    /// An empty `message.id` gets a fresh one; the time is now. Answers the message id.
    pub async fn inbound(
        self: &Arc<Self>,
        instance: InstanceId,
        mut message: IncomingMessage,
        media: Option<bytes::Bytes>,
    ) -> Result<String, SimError> {
        if !self.dir().online.contains_key(&instance) {
            return Err(SimError::NotConnected);
        }
        if let (Some(kind), Some(base64)) = (message.content.media_kind(), media) {
            let len = base64.len();
            let stored = self.media.put_base64(kind, base64, 0..len).await?;
            message.content.attach(stored);
        }
        if message.id.is_empty() {
            message.id = random_id();
        }
        if message.sender_lid.is_none() {
            message.sender_lid = Some(lid_of(message.participant.as_ref().unwrap_or(&message.from)));
        }
        message.at_ms = chatedge_config::time::unix_ms();
        self.saw_traffic(instance, &message.from, false);
        let id = message.id.clone();
        let (message, ack) = (Box::new(message), Some(self.next_ack()));
        self.deliver(&instance, NetworkEvent::Incoming { instance, message, ack }).await?;
        Ok(id)
    }

    /// A contact's presence changes in their chat with the instance.
    pub async fn presence(&self, instance: InstanceId, phone: Phone, presence: Presence) -> Result<(), SimError> {
        if !self.dir().online.contains_key(&instance) {
            return Err(SimError::NotConnected);
        }
        let at_ms = chatedge_config::time::unix_ms();
        let event = NetworkEvent::Presence { instance, phone, presence, at_ms, ack: Some(self.next_ack()) };
        self.deliver(&instance, event).await
    }
}

/// The shard-local half of the sim.
pub struct SimConnector {
    net: Arc<SimNetwork>,
    events: mpsc::Sender<NetworkEvent>,
    pending: redelivery::Shared,
    recent: RecentSends,
}

impl Connector for SimConnector {
    fn resume(&mut self, instance: InstanceId, credentials: &Credentials, generation: Generation) {
        let ack = Some(self.net.next_ack());
        let refused = |reason: &str, logged_out| NetworkEvent::Disconnected {
            instance,
            generation,
            reason: reason.to_owned(),
            logged_out,
            ack,
        };
        let (delay, event) = {
            let mut dir = self.net.dir();
            let unreachable = dir.unreachable.get(&instance).is_some_and(|until| *until > Instant::now());
            match phone_of(credentials) {
                _ if dir.revoked.contains(&credentials.0) => {
                    (Duration::ZERO, refused("the phone removed this device", true))
                }
                None => (Duration::ZERO, refused("invalid session", true)),
                Some(_) if unreachable => (UNREACHABLE_ANSWER, refused("the network is unreachable", false)),
                Some(phone) => {
                    dir.unreachable.remove(&instance);
                    dir.online.insert(instance, generation);
                    dir.devices.insert(instance, credentials.clone());
                    let credentials = credentials.clone();
                    (Duration::ZERO, NetworkEvent::Connected { instance, generation, phone, credentials, ack })
                }
            }
        };
        self.net.warm_up(&event);
        self.emit_later(delay, vec![event]);
    }

    fn start_pairing(&mut self, instance: InstanceId, generation: Generation, method: PairingMethod) {
        self.net.dir().pairing.insert(instance, generation);
        let net = self.net.clone();
        let events = self.events.clone();
        let phone = match method {
            PairingMethod::Qr => None,
            PairingMethod::PhoneCode(phone) => Some(phone),
            // No code: the registration call that completes it connects the run; it expires
            // when a QR run would have.
            PairingMethod::Registration => {
                let lasts = net.cfg.qr_rotate * net.cfg.qr_codes_per_pairing;
                // Owned by the shard's LocalSet; ends when the run's time is up.
                tokio::task::spawn_local(async move {
                    tokio::time::sleep(lasts).await;
                    expire_pairing(&net, &events, instance, generation).await;
                });
                return;
            }
        };
        // Owned by the shard's LocalSet; ends when pairing succeeds, is cancelled or expires.
        tokio::task::spawn_local(rotate_codes(net, events, instance, generation, phone));
    }

    fn close(&mut self, instance: InstanceId, logout: bool) {
        let mut dir = self.net.dir();
        dir.online.remove(&instance);
        dir.pairing.remove(&instance);
        if logout {
            if let Some(credentials) = dir.devices.remove(&instance) {
                dir.revoke(credentials);
            }
        }
    }

    fn send(&mut self, message: &OutboundMessage, generation: Generation) -> Result<(), NetworkError> {
        let live = self.net.dir().online.get(&message.instance).is_some_and(|g| *g == generation);
        if !live {
            return Err(NetworkError::NotConnected);
        }
        let (instance, message_id, phone) = (message.instance, message.message_id, message.phone.clone());
        self.net.sends.fetch_add(1, Ordering::Relaxed);
        if self.recent.seen_again(message_id) {
            tracing::warn!(instance = %instance, message = %message_id, "sim: the same message was sent twice");
            self.net.duplicate_sends.fetch_add(1, Ordering::Relaxed);
        }
        let cfg = &self.net.cfg;
        if phone.ends_with(&cfg.unreachable_suffix) {
            let reason = format!("{} is not on the network", phone.as_str());
            let ack = Some(self.net.next_ack());
            let event = NetworkEvent::Rejected { instance, generation, message_id, reason, ack };
            self.emit_later(cfg.ack_delay, vec![event]);
            return Ok(());
        }
        let me = self.net.dir().devices.get(&instance).and_then(phone_of);
        let recipients = self.net.sending(instance, me.as_ref(), &phone);
        let now = chatedge_config::time::unix_ms;
        let (net, events, pending) = (self.net.clone(), self.events.clone(), self.pending.clone());
        let (ack_delay, received, read) = (cfg.ack_delay, cfg.received_delay, cfg.read_delay);
        let message = message.clone();
        // Owned by the shard's LocalSet; ends after READ (or when the shard stops). Once on the
        // wire the message is answered even if its connection drops meanwhile.
        tokio::task::spawn_local(async move {
            pause(ack_delay).await;
            let ack = Some(net.next_ack());
            // An admin invitation to a channel the account manages is kept on the channel
            // (pending until answered or revoked); the message travels either way, as the
            // seed's examples invite to channels the sender need not own.
            if let Some(channel) = admin_invite(&message) {
                let invited = |w: &mut World, cx: &mut Cx| world::channels::invited(w, &channel, &phone, cx);
                if let Err(e) = net.phone_change(instance, invited).await {
                    tracing::debug!(instance = %instance, error = %e, "sim: admin invitation not kept on the channel");
                }
            }
            let arrived = match recipients {
                Ok(recipients) => arrive::arrive(&net, &message, recipients).await,
                Err(reason) => Err(reason),
            };
            if let Err(reason) = arrived {
                let event = NetworkEvent::Rejected { instance, generation, message_id, reason, ack };
                emit(&net, &pending, &events, event).await;
                return;
            }
            let accepted = NetworkEvent::Accepted { instance, generation, message_id, at_ms: now(), ack };
            if !emit(&net, &pending, &events, accepted).await {
                return;
            }
            // Reading a received message: the instance's own read shows as READ_BY_ME on it.
            if let Some(read) = read_by_me(&message) {
                let (phone, ack) = (phone.clone(), Some(net.next_ack()));
                let status = MessageStatus::ReadByMe;
                let event = NetworkEvent::Status { instance, message_id: read, phone, status, at_ms: now(), ack };
                if !emit(&net, &pending, &events, event).await {
                    return;
                }
            }
            // Audio, video notes and videos are played after they are read (seed 001,
            // MessageStatusCallback PLAYED).
            let played = plays(&message).then_some((read, MessageStatus::Played));
            let statuses = [(received, MessageStatus::Received), (read, MessageStatus::Read)];
            for (delay, status) in statuses.into_iter().chain(played) {
                pause(delay).await;
                let (phone, ack) = (phone.clone(), Some(net.next_ack()));
                let event = NetworkEvent::Status { instance, message_id, phone, status, at_ms: now(), ack };
                if !emit(&net, &pending, &events, event).await {
                    return;
                }
            }
        });
        Ok(())
    }

    fn account(&mut self, instance: InstanceId, account: Account, call: AccountCall, reply: ReplyTx) {
        let net = self.net.clone();
        // Owned by the shard's LocalSet; ends once the change is committed and answered.
        tokio::task::spawn_local(async move {
            let result = net.change(instance, account, |world, cx| world.apply(call, cx)).await;
            let registered = world::registration::registered(&result);
            let _ = reply.send(result);
            if let Some(phone) = registered {
                net.registered(instance, phone).await;
            }
        });
    }

    fn send_presence(&mut self, instance: InstanceId, to: &Phone, presence: Presence) {
        // The simulated recipient sees it; nothing comes back.
        let shard = instance.shard(self.net.witnesses.len());
        witness::lock(&self.net.witnesses[shard]).presence(instance, to, presence, chatedge_config::time::unix_ms());
    }

    fn reject_call(&mut self, _instance: InstanceId, _call_id: &str) {
        // The sim settles a call in its world when it is placed (`/sim/call`, with the
        // instance's callRejectAuto) and reports it as notices: no call of its rings here.
    }

    fn ack(&mut self, _instance: InstanceId, ack: AckId) {
        redelivery::lock(&self.pending).ack(ack);
    }
}

impl SimConnector {
    fn emit_later(&self, delay: Duration, events: Vec<NetworkEvent>) {
        let (net, pending, tx) = (self.net.clone(), self.pending.clone(), self.events.clone());
        // Owned by the shard's LocalSet; ends once the events are handed over.
        tokio::task::spawn_local(async move {
            pause(delay).await;
            for e in events {
                if !emit(&net, &pending, &tx, e).await {
                    return;
                }
            }
        });
    }
}

/// Hands `event` to the shard, remembering it for redelivery until acknowledged. False once
/// the shard is gone.
async fn emit(
    net: &SimNetwork,
    pending: &redelivery::Shared,
    tx: &mpsc::Sender<NetworkEvent>,
    event: NetworkEvent,
) -> bool {
    if let Some(ack) = event.ack() {
        redelivery::lock(pending).track(ack, &event, net.cfg.incoming_redelivery);
    }
    tx.send(event).await.is_ok()
}

/// Shows the codes of pairing run `generation`: QR codes, or (`phone`) codes for "Link with
/// phone number", each valid for one rotation.
async fn rotate_codes(
    net: Arc<SimNetwork>,
    events: mpsc::Sender<NetworkEvent>,
    instance: InstanceId,
    generation: Generation,
    phone: Option<Phone>,
) {
    let rotate = net.cfg.qr_rotate;
    for _ in 0..net.cfg.qr_codes_per_pairing {
        let code = match phone {
            Some(_) => phone_code(),
            None => pairing_code(),
        };
        {
            let mut dir = net.dir();
            if dir.pairing.get(&instance) != Some(&generation) {
                return;
            }
            let now = Instant::now();
            dir.codes.retain(|_, c| c.expires + EXPIRED_CODE_MEMORY > now);
            let phone = phone.clone();
            dir.codes.insert(code.clone(), Code { instance, generation, expires: now + rotate, phone });
        }
        let event = NetworkEvent::PairingCode { instance, generation, code, valid_for: rotate };
        if events.send(event).await.is_err() {
            return;
        }
        tokio::time::sleep(rotate).await;
    }
    expire_pairing(&net, &events, instance, generation).await;
}

/// Ends pairing run `generation` of `instance` if it is still the current one: nobody
/// completed it in time.
async fn expire_pairing(
    net: &SimNetwork,
    events: &mpsc::Sender<NetworkEvent>,
    instance: InstanceId,
    generation: Generation,
) {
    let expired = {
        let mut dir = net.dir();
        let current = dir.pairing.get(&instance) == Some(&generation);
        if current {
            dir.pairing.remove(&instance);
        }
        current
    };
    if expired {
        let _ = events.send(NetworkEvent::PairingExpired { instance, generation }).await;
    }
}

/// Locks `m`, carrying on after a panic elsewhere: a simulation's maps stay usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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

/// Shaped like WhatsApp's "Link with phone number" code: 8 characters of an alphabet without
/// look-alikes (no 0, O, I, U).
fn phone_code() -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTVWXYZ";
    random_bytes::<8>().iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

fn random_id() -> String {
    let b = random_bytes::<10>();
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// The received message a read-message action marks as read (ids the sim gave its incoming
/// messages are message ids; any other id has no status to report).
fn read_by_me(message: &OutboundMessage) -> Option<chatedge_config::MessageId> {
    match &message.content {
        crate::queue::content::Content::Action(a) => match a.as_ref() {
            crate::queue::content::Action::Read { message_id } => chatedge_config::MessageId::parse(message_id).ok(),
            _ => None,
        },
        _ => None,
    }
}

/// The channel a send-newsletter-admin-invite message invites its recipient to administer.
fn admin_invite(message: &OutboundMessage) -> Option<Phone> {
    match &message.content {
        crate::queue::content::Content::Card(card) => match card.as_ref() {
            crate::queue::content::Card::NewsletterAdminInvite { newsletter_id, .. } => Some(newsletter_id.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Whether the recipient plays the message (and a PLAYED status follows READ).
fn plays(message: &OutboundMessage) -> bool {
    use crate::media::MediaKind;
    matches!(&message.content, crate::queue::content::Content::Media(m)
        if matches!(m.kind, MediaKind::Audio | MediaKind::Ptv | MediaKind::Video))
}

/// The sim's WhatsApp LID of `phone`: stable, 15 digits, unrelated to the number.
pub(crate) fn lid_of(phone: &Phone) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(phone.as_str().as_bytes());
    let n = u64::from_be_bytes(hash[..8].try_into().unwrap_or_default()) % 1_000_000_000_000_000;
    format!("{n:015}@lid")
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
