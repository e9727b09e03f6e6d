//! inbound (E2 owns; this is E1's placeholder so the connector compiles): the pending
//! acknowledgements of events the webhook route handed to a shard. [`AckBook::acked`] is what
//! the connector's `ack` calls for a Cloud API instance.

use std::collections::HashMap;
use std::sync::Mutex;

use chatedge_config::InstanceId;

use crate::network::AckId;

/// Events handed to shards and not yet acknowledged, by (instance, ack id).
#[derive(Default)]
pub struct AckBook {
    /// Touched for a moment per event from the webhook route's and the shards' threads; never
    /// held across `.await`.
    pending: Mutex<HashMap<(InstanceId, AckId), tokio::sync::oneshot::Sender<()>>>,
}

impl AckBook {
    pub fn new() -> Self {
        AckBook::default()
    }

    /// The event `ack` of `instance` is durable: whoever waits for it hears so.
    pub fn acked(&self, instance: InstanceId, ack: AckId) {
        let waiter = self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&(instance, ack));
        if let Some(tx) = waiter {
            let _ = tx.send(());
        }
    }
}
