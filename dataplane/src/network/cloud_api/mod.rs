//! cloud_api: the connector for Meta's WhatsApp Business Platform (Cloud API), reached over
//! HTTPS through the Graph API (issue 12). It turns the seam's sends and account calls into
//! Graph API requests and the network's webhook notifications into [`super::NetworkEvent`]s.
//! It knows nothing of Z-API: the dialect and the HTTP route that receives notifications stay at
//! the edge.
//!
//! There is no pairing on this network: an instance is "connected" once its credentials
//! (from its configuration, [`chatedge_config::snapshot::CloudApiAccount`]) verify against the
//! Graph API (`resume`). A send is one `POST /{phone-number-id}/messages` carrying our message
//! id in `biz_opaque_callback_data`; the network's `wamid` is recorded ([`ids`]) before the
//! acceptance is reported, so a resend after a crash is answered from the record instead of
//! being posted again. Rate-limit answers keep the message on the wire and slow the instance
//! down, for at most `[network.cloud_api] rate_limit_give_up_ms`; a pair rate limit slows only
//! that recipient, whose messages are parked ([`park`], [`drain`]) while the others flow.
//!
//! One [`CloudApiConnector`] per shard, used on that shard's thread; its requests run as local
//! tasks on the shard's `LocalSet`. What all shards share ([`CloudApiDeps`]) is `Arc`s.

pub mod account;
pub mod body;
pub mod drain;
pub mod errors;
pub mod graph;
pub mod ids;
pub mod inbound;
pub mod media;
pub mod notification;
pub mod park;
pub mod receive;
pub mod seen;
pub mod send;
pub mod state;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chatedge_config::file::CloudApiConfig;
use chatedge_config::snapshot::{CloudApiAccount, Network};
use chatedge_config::{InstanceId, Phone, Snapshot};
use tokio::sync::mpsc;

pub use graph::{GraphClient, GraphError};

use super::account::{Account, AccountCall, ReplyTx};
use super::{AckId, Connector, Credentials, Generation, NetworkError, NetworkEvent, PairingMethod, Presence};
use crate::metrics::Metrics;
use crate::queue::OutboundMessage;
use crate::store::Store;

/// What every shard's Cloud API connector shares; built once per data plane.
#[derive(Clone)]
pub struct CloudApiDeps {
    pub config: Arc<ArcSwap<Snapshot>>,
    pub settings: CloudApiConfig,
    pub graph: GraphClient,
    pub store: Arc<Store>,
    pub media: Arc<crate::media::Media>,
    pub metrics: Arc<Metrics>,
    pub acks: Arc<inbound::AckBook>,
    /// Number details and last received messages (see [`state`]).
    pub state: Arc<state::CloudState>,
    /// Uploaded media ids by content hash (see [`media`]).
    pub uploads: Arc<media::UploadCache>,
    /// Messages waiting out a pair rate limit (see [`park`]).
    pub parked: Arc<park::ParkBook>,
    /// Templates found approved lately (see [`account::template_approval`]).
    pub approved: Arc<account::ApprovedTemplates>,
}

impl CloudApiDeps {
    /// The shared parts for `settings`: one Graph client, an empty upload cache and state.
    pub fn new(
        config: Arc<ArcSwap<Snapshot>>,
        settings: CloudApiConfig,
        store: Arc<Store>,
        media: Arc<crate::media::Media>,
        metrics: Arc<Metrics>,
    ) -> Result<CloudApiDeps, GraphError> {
        let graph = GraphClient::new(&settings)?;
        let uploads = Arc::new(media::UploadCache::new(settings.media_cache_entries, settings.media_id_ttl));
        let parked = Arc::new(park::ParkBook::new(metrics.cloud_api_parked.clone()));
        Ok(CloudApiDeps {
            config,
            settings,
            graph,
            store,
            media,
            metrics,
            acks: Arc::new(inbound::AckBook::new()),
            state: Arc::new(state::CloudState::new()),
            uploads,
            parked,
            approved: Arc::new(account::ApprovedTemplates::default()),
        })
    }

    /// The instance's Cloud API account, from the live configuration.
    pub fn account(&self, instance: &InstanceId) -> Option<CloudApiAccount> {
        match &self.config.load().instances.get(instance)?.network {
            Network::CloudApi(a) => Some(a.clone()),
            Network::Sim | Network::WhatsappWeb => None,
        }
    }
}

/// Per instance: the connection generation the session asked for last, and the one that is
/// live. A verification answered for an older generation never makes it live, and a send
/// task posts only while its generation is live (`close` ends both).
#[derive(Default)]
pub struct Lines {
    pub requested: HashMap<InstanceId, Generation>,
    pub online: HashMap<InstanceId, Generation>,
}

impl Lines {
    /// Whether `generation` is the instance's live connection.
    pub fn is_live(&self, instance: &InstanceId, generation: Generation) -> bool {
        self.online.get(instance) == Some(&generation)
    }

    /// A verification of `generation` succeeded: it goes live unless the session has asked for
    /// a newer connection (or closed) since. Returns whether it went live.
    pub fn verified(&mut self, instance: InstanceId, generation: Generation) -> bool {
        if self.requested.get(&instance) != Some(&generation) {
            return false;
        }
        self.online.insert(instance, generation);
        true
    }

    pub fn close(&mut self, instance: &InstanceId) {
        self.requested.remove(instance);
        self.online.remove(instance);
    }
}

/// Reloads the instance's parked messages (from before a restart or a reconnect) and starts a
/// drain task for each of their recipients on the connection `generation`.
async fn drain_parked(
    deps: &CloudApiDeps,
    events: &mpsc::Sender<NetworkEvent>,
    pace: &send::Pace,
    lines: &Arc<Mutex<Lines>>,
    instance: InstanceId,
    generation: Generation,
) {
    let (book, store) = (deps.parked.clone(), deps.store.clone());
    let loaded = tokio::task::spawn_blocking(move || book.load(&store, instance, generation)).await;
    let phones = match loaded {
        Ok(Ok(phones)) => phones,
        Ok(Err(e)) => {
            tracing::warn!(instance = %instance, error = %e, "cloud api: parked messages not read");
            return;
        }
        Err(e) => {
            tracing::warn!(instance = %instance, error = %e, "cloud api: parked messages not read");
            return;
        }
    };
    for phone in phones {
        drain::Drain {
            deps: deps.clone(),
            events: events.clone(),
            pace: pace.clone(),
            lines: lines.clone(),
            instance,
            phone,
            generation,
        }
        .spawn();
    }
}

/// The shard-local Cloud API connector.
pub struct CloudApiConnector {
    shard: usize,
    deps: CloudApiDeps,
    events: mpsc::Sender<NetworkEvent>,
    /// Shared with this connector's own local tasks (a send learns whether its generation is
    /// still live); only this shard's thread touches it, the mutex only makes it `Send`.
    lines: Arc<Mutex<Lines>>,
    pace: send::Pace,
}

impl CloudApiConnector {
    pub fn new(shard: usize, deps: CloudApiDeps, events: mpsc::Sender<NetworkEvent>) -> Self {
        let pace = send::Pace::new(&deps.settings);
        CloudApiConnector { shard, deps, events, lines: Arc::new(Mutex::new(Lines::default())), pace }
    }

    /// The shard this connector serves.
    pub fn shard(&self) -> usize {
        self.shard
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Connector for CloudApiConnector {
    fn resume(&mut self, instance: InstanceId, credentials: &Credentials, generation: Generation) {
        let (deps, events, lines) = (self.deps.clone(), self.events.clone(), self.lines.clone());
        let pace = self.pace.clone();
        let credentials = credentials.clone();
        self.lines().requested.insert(instance, generation);
        // Owned by the shard's LocalSet; ends once the verification is answered.
        tokio::task::spawn_local(async move {
            let event = account::verify(&deps, instance, generation, credentials).await;
            // A stale verification (the session moved on) is reported all the same: the
            // session ignores events of generations it replaced.
            let live = matches!(event, NetworkEvent::Connected { .. })
                && lines.lock().unwrap_or_else(|p| p.into_inner()).verified(instance, generation);
            if live {
                drain_parked(&deps, &events, &pace, &lines, instance, generation).await;
            }
            let _ = events.send(event).await;
        });
    }

    fn start_pairing(&mut self, instance: InstanceId, generation: Generation, _method: PairingMethod) {
        // The Cloud API has no QR code or pairing code: the number connects with the
        // credentials given at creation. The edge refuses the pairing routes before this.
        let events = self.events.clone();
        tokio::task::spawn_local(async move {
            let _ = events.send(NetworkEvent::PairingExpired { instance, generation }).await;
        });
    }

    fn close(&mut self, instance: InstanceId, logout: bool) {
        // Send tasks of the closed connection see it and stop before their next post.
        self.lines().close(&instance);
        self.pace.forget(&instance);
        if logout {
            self.deps.state.forget(&instance);
            self.deps.parked.forget(&instance);
        }
    }

    fn send(&mut self, message: &OutboundMessage, generation: Generation) -> Result<(), NetworkError> {
        if !self.lines().is_live(&message.instance, generation) {
            return Err(NetworkError::NotConnected);
        }
        let task = send::SendTask {
            deps: self.deps.clone(),
            events: self.events.clone(),
            pace: self.pace.clone(),
            lines: self.lines.clone(),
            message: message.clone(),
            generation,
        };
        // Owned by the shard's LocalSet; ends once the network answered (or the retries ran out).
        tokio::task::spawn_local(task.run());
        Ok(())
    }

    fn account(&mut self, instance: InstanceId, account: Account, call: AccountCall, reply: ReplyTx) {
        let deps = self.deps.clone();
        // Owned by the shard's LocalSet; ends once the Graph API answered.
        tokio::task::spawn_local(async move {
            let result = account::call(&deps, instance, account, call).await;
            let _ = reply.send(result);
        });
    }

    fn send_presence(&mut self, instance: InstanceId, to: &Phone, presence: Presence) {
        if presence != Presence::Composing {
            return; // the Cloud API shows only "typing…", and only in reply to a received message
        }
        let Some(wamid) = self.deps.state.last_received(&instance, to) else { return };
        let deps = self.deps.clone();
        // Owned by the shard's LocalSet; ends once the Graph API answered.
        tokio::task::spawn_local(async move { account::typing(&deps, instance, &wamid).await });
    }

    fn reject_call(&mut self, _instance: InstanceId, _call_id: &str) {
        // Calls on the Cloud API are Meta's Calling API, which this connector does not take:
        // it reports no call that rings.
    }

    fn ack(&mut self, instance: InstanceId, ack: AckId) {
        self.deps.acks.acked(instance, ack);
    }
}
