//! networks: the routing connector a shard talks to. It holds one connector per network (the
//! sim, the Cloud API, WhatsApp Web) and passes each call to the one the instance lives on, read from the
//! live configuration snapshot (`InstanceConfig::network`) at every call, so an instance
//! created on the Cloud API needs nothing else to be wired. It holds no state of its own and
//! must not translate anything: each network's connector keeps the [`Connector`] contract.
//!
//! An instance the configuration no longer knows (removed, and being torn down) gets `close`
//! on every network (harmless for an instance a connector never served); an `ack` goes to
//! the network that issued it, told by its number ([`AckBook::owns`]).
//!
//! One value per shard, used only on that shard's thread, like the connectors it holds.

use std::sync::Arc;

use arc_swap::ArcSwap;
use chatedge_config::snapshot::Network;
use chatedge_config::{InstanceId, Phone, Snapshot};

use super::account::{Account, AccountCall, ReplyTx};
use super::cloud_api::inbound::AckBook;
use super::cloud_api::CloudApiConnector;
use super::{AckId, Connector, Credentials, Generation, NetworkError, PairingMethod, Presence};
use crate::queue::OutboundMessage;

/// Which network an instance is on, as far as the live configuration says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Sim,
    Cloud,
    WhatsappWeb,
    Unknown,
}

pub struct Networks {
    sim: Box<dyn Connector + Send>,
    cloud: CloudApiConnector,
    /// The WhatsApp Web connector, or [`super::whatsapp_web::Unbuilt`] without the feature.
    whatsapp: Box<dyn Connector + Send>,
    config: Arc<ArcSwap<Snapshot>>,
}

impl Networks {
    pub fn new(sim: Box<dyn Connector + Send>, cloud: CloudApiConnector, config: Arc<ArcSwap<Snapshot>>) -> Self {
        Networks { sim, cloud, whatsapp: Box::new(super::whatsapp_web::Unbuilt), config }
    }

    /// Serves WhatsApp Web instances with `whatsapp`.
    pub fn with_whatsapp_web(mut self, whatsapp: Box<dyn Connector + Send>) -> Self {
        self.whatsapp = whatsapp;
        self
    }

    fn which(&self, instance: &InstanceId) -> Which {
        match self.config.load().instances.get(instance).map(|c| &c.network) {
            Some(Network::Sim) => Which::Sim,
            Some(Network::CloudApi(_)) => Which::Cloud,
            Some(Network::WhatsappWeb) => Which::WhatsappWeb,
            None => Which::Unknown,
        }
    }

    /// The connector of a known instance's network; an unknown instance is the sim's (the sim
    /// answers calls about instances it does not know with its usual refusals).
    fn pick(&mut self, instance: &InstanceId) -> &mut dyn Connector {
        match self.which(instance) {
            Which::Cloud => &mut self.cloud,
            Which::WhatsappWeb => self.whatsapp.as_mut(),
            Which::Sim | Which::Unknown => self.sim.as_mut(),
        }
    }
}

impl Connector for Networks {
    fn resume(&mut self, instance: InstanceId, credentials: &Credentials, generation: Generation) {
        self.pick(&instance).resume(instance, credentials, generation);
    }

    fn start_pairing(&mut self, instance: InstanceId, generation: Generation, method: PairingMethod) {
        self.pick(&instance).start_pairing(instance, generation, method);
    }

    fn close(&mut self, instance: InstanceId, logout: bool) {
        match self.which(&instance) {
            Which::Sim => self.sim.close(instance, logout),
            Which::Cloud => self.cloud.close(instance, logout),
            Which::WhatsappWeb => self.whatsapp.close(instance, logout),
            Which::Unknown => {
                self.sim.close(instance, logout);
                self.cloud.close(instance, logout);
                self.whatsapp.close(instance, logout);
            }
        }
    }

    fn send(&mut self, message: &OutboundMessage, generation: Generation) -> Result<(), NetworkError> {
        self.pick(&message.instance).send(message, generation)
    }

    fn account(&mut self, instance: InstanceId, account: Account, call: AccountCall, reply: ReplyTx) {
        self.pick(&instance).account(instance, account, call, reply);
    }

    fn send_presence(&mut self, instance: InstanceId, to: &Phone, presence: Presence) {
        self.pick(&instance).send_presence(instance, to, presence);
    }

    fn reject_call(&mut self, instance: InstanceId, call_id: &str) {
        self.pick(&instance).reject_call(instance, call_id);
    }

    fn ack(&mut self, instance: InstanceId, ack: AckId) {
        if AckBook::owns(ack) {
            self.cloud.ack(instance, ack);
        } else if super::whatsapp_web::owns(ack) {
            self.whatsapp.ack(instance, ack);
        } else {
            self.sim.ack(instance, ack);
        }
    }
}
