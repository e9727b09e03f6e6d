//! drain: posts one recipient's parked messages ([`super::park`]) once its pair rate limit
//! allows, oldest first, as a local task on the shard that owns the instance. One task per
//! (instance, recipient, connection): started when a message is parked and when a connection
//! is verified with messages still parked; it ends when the recipient has none left, or when
//! its connection is no longer live (the next connection starts its own).
//!
//! Each parked message was reported `Deferred` when it was parked: the integrator has heard
//! nothing of it yet. Posted: its wamid and zaapId row are recorded (fsync'd), then its
//! [`NetworkEvent::DeferredOutcome`] is reported and, once the shard acknowledged that event
//! as committed, the park record is deleted — so its statuses are matched like any other
//! send's, and a crash in between reports the same outcome again (same webhook event ids),
//! never loses it. Refused by the network, or still limited when `[network.cloud_api]
//! rate_limit_give_up_ms` has passed since it was parked: the outcome carries the network's
//! error to the integrator as the message's one DeliveryCallback, and the record goes the
//! same way. Before each post the task asks whether the message's wamid is recorded (a post
//! whose outcome was not yet committed, or whose answer was lost but whose `sent` status
//! arrived), so it is not posted twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatedge_config::{InstanceId, Phone};
use tokio::sync::mpsc;

use super::errors::graph_reason;
use super::graph::ErrorKind;
use super::inbound::{zaap_key, zaap_value};
use super::park::Parked;
use super::send::{gave_up, Pace, AMBIGUOUS_WAIT};
use super::{ids, CloudApiDeps, Lines};
use crate::network::{Generation, NetworkEvent};
use crate::store::{Batch, Cf};

/// Longest wait for the shard to commit a parked message's outcome before trying again later.
const OUTCOME_COMMIT_WAIT: Duration = Duration::from_secs(30);

/// The drain task of one recipient of one instance, on one connection.
pub struct Drain {
    pub deps: CloudApiDeps,
    pub events: mpsc::Sender<NetworkEvent>,
    pub pace: Pace,
    pub lines: Arc<Mutex<Lines>>,
    pub instance: InstanceId,
    pub phone: Phone,
    pub generation: Generation,
}

impl Drain {
    /// Runs the task on the shard's `LocalSet`; it ends as the module docs say.
    pub fn spawn(self) {
        tokio::task::spawn_local(self.run());
    }

    fn live(&self) -> bool {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).is_live(&self.instance, self.generation)
    }

    fn count(&self, outcome: &str) {
        self.deps.metrics.cloud_api_sends.with_label_values(&[outcome]).inc();
    }

    async fn run(self) {
        let (parked, store) = (&self.deps.parked, &self.deps.store);
        let mut transient = 0u32;
        loop {
            if let Some(at) = self.pace.next_post(&self.instance, &self.phone) {
                tokio::time::sleep_until(at.into()).await;
            }
            let Some(account) = self.deps.account(&self.instance).filter(|_| self.live()) else {
                parked.stop_draining(&self.instance, &self.phone, self.generation);
                return;
            };
            let (key, message) = match parked.front(store, &self.instance, &self.phone, self.generation) {
                Ok(Some(front)) => front,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(instance = %self.instance, error = %e, "cloud api: parked message unreadable");
                    parked.stop_draining(&self.instance, &self.phone, self.generation);
                    return;
                }
            };
            if ids::theirs(store, &self.instance, &message.message.message_id).ok().flatten().is_some() {
                // An earlier post reached the network (recorded, or its `sent` status was).
                if !self.sent(key, message, None).await {
                    tokio::time::sleep(AMBIGUOUS_WAIT).await;
                }
                continue;
            }
            let path = format!("{}/messages", account.phone_number_id);
            let e = match self.deps.graph.post_json(&account.access_token, &path, &message.body).await {
                Ok(answer) => {
                    self.pace.accepted(&self.instance, &self.phone);
                    transient = 0;
                    if !self.sent(key, message, answer["messages"][0]["id"].as_str()).await {
                        tokio::time::sleep(AMBIGUOUS_WAIT).await;
                    }
                    continue;
                }
                Err(e) => e,
            };
            let cfg = &self.deps.settings;
            let waited = chatedge_config::time::unix_ms().saturating_sub(message.parked_ms);
            let expired = waited >= cfg.rate_limit_give_up.as_millis() as u64;
            match e.kind() {
                ErrorKind::Refused => {
                    if !self.settle(key, message, Err(graph_reason(&e))).await {
                        tokio::time::sleep(AMBIGUOUS_WAIT).await;
                    }
                }
                ErrorKind::Auth => {
                    parked.stop_draining(&self.instance, &self.phone, self.generation);
                    let lost = NetworkEvent::Disconnected {
                        instance: self.instance,
                        generation: self.generation,
                        reason: graph_reason(&e),
                        logged_out: true,
                        ack: None,
                    };
                    let _ = self.events.send(lost).await;
                    return;
                }
                _ if expired => {
                    if !self.settle(key, message, Err(gave_up(&e, cfg.rate_limit_give_up))).await {
                        tokio::time::sleep(AMBIGUOUS_WAIT).await;
                    }
                }
                ErrorKind::PairRateLimited => {
                    self.deps.metrics.cloud_api_rate_limited.inc();
                    self.pace.pair_limited(self.instance, self.phone.clone());
                }
                ErrorKind::RateLimited => {
                    self.deps.metrics.cloud_api_rate_limited.inc();
                    self.pace.limited(self.instance);
                }
                ErrorKind::Transient => {
                    // Only this recipient waits; the post may have arrived (asked again above).
                    transient = transient.saturating_add(1);
                    let wait = (AMBIGUOUS_WAIT * transient).min(cfg.rate_limit_max_backoff.max(AMBIGUOUS_WAIT));
                    tracing::info!(instance = %self.instance, error = %e, "cloud api: parked message not posted; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// The network took `message`: its wamid and zaapId row are recorded (when the answer
    /// named the wamid; a failing store is tried again while the connection lives, since the
    /// record is what keeps the message from being posted twice), then its outcome is
    /// settled. Returns false when it is not settled yet (the task tries again).
    async fn sent(&self, key: Vec<u8>, message: Parked, wamid: Option<&str>) -> bool {
        let m = &message.message;
        if let Some(w) = wamid {
            let mut batch = Batch::new();
            if ids::record(&mut batch, &self.instance, &m.message_id, w) {
                let (k, v) = (zaap_key(&self.instance, &m.message_id), zaap_value(&m.zaap_id, &m.phone));
                batch.put(Cf::CloudMessages, k, v);
            }
            while let Err(e) = self.deps.store.commit(batch.clone()).await {
                tracing::error!(instance = %self.instance, error = %e, "cloud api: parked message sent but not recorded yet");
                if !self.live() {
                    return false; // the next connection asks for its `sent` status first
                }
                tokio::time::sleep(AMBIGUOUS_WAIT).await;
            }
        }
        self.settle(key, message, Ok(chatedge_config::time::unix_ms())).await
    }

    /// Reports `message`'s outcome and, once the shard acknowledged it as committed, deletes
    /// its park record (a refused one's zaapId row too: no status will come for it). Returns
    /// false when the shard did not acknowledge in time (the task tries again later, and
    /// the same outcome is reported under the same webhook event ids).
    async fn settle(&self, key: Vec<u8>, message: Parked, outcome: Result<u64, String>) -> bool {
        let Some((ack, committed)) = self.deps.acks.register(self.instance) else { return false };
        let (message_id, refused) = (message.message.message_id, outcome.is_err());
        let event = NetworkEvent::DeferredOutcome {
            instance: self.instance,
            message: Box::new(message.message),
            outcome,
            ack: Some(ack),
        };
        let acked = self.events.send(event).await.is_ok()
            && matches!(tokio::time::timeout(OUTCOME_COMMIT_WAIT, committed).await, Ok(Ok(())));
        if !acked {
            self.deps.acks.forget(self.instance, ack);
            return false;
        }
        let mut batch = Batch::new();
        batch.delete(Cf::CloudMessages, key);
        if refused {
            batch.delete(Cf::CloudMessages, zaap_key(&self.instance, &message_id));
        }
        if let Err(e) = self.deps.store.commit(batch).await {
            // Settled all the same; a later drain settles it again, under the same event ids.
            tracing::error!(instance = %self.instance, error = %e, "cloud api: settled parked message not forgotten");
        }
        self.deps.parked.forget_front(&self.instance, &self.phone, Some(&message_id));
        self.count(if refused { "parked_failed" } else { "parked_sent" });
        true
    }
}
