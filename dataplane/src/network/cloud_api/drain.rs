//! drain: posts one recipient's parked messages ([`super::park`]) once its pair rate limit
//! allows, oldest first, as a local task on the shard that owns the instance. One task per
//! (instance, recipient, connection): started when a message is parked and when a connection
//! is verified with messages still parked; it ends when the recipient has none left, or when
//! its connection is no longer live (the next connection starts its own).
//!
//! Each parked message was already reported accepted (its DeliveryCallback and `SENT` went out
//! when it was parked). Posted: its wamid and zaapId row are recorded and the park record
//! deleted in one batch, so its statuses are matched like any other send's. Refused by the
//! network, or still limited when `[network.cloud_api] rate_limit_give_up_ms` has passed
//! since it was parked: a [`NetworkEvent::Failed`] carries the network's error to the
//! integrator as a second DeliveryCallback (as a Cloud API `failed` status would), and the
//! record goes only once the shard acknowledged that event as committed. Before each post the
//! task asks whether the message's wamid is recorded (a `sent` status of an earlier post whose
//! answer was lost), so it is not posted twice.

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

/// Longest wait for the shard to commit a parked message's failure before trying again later.
const FAILED_COMMIT_WAIT: Duration = Duration::from_secs(30);

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
            if ids::theirs(store, &self.instance, &message.message_id).ok().flatten().is_some() {
                // An earlier post reached the network (its `sent` status was recorded).
                self.sent(key, &message, None).await;
                continue;
            }
            let path = format!("{}/messages", account.phone_number_id);
            let e = match self.deps.graph.post_json(&account.access_token, &path, &message.body).await {
                Ok(answer) => {
                    self.pace.accepted(&self.instance, &self.phone);
                    transient = 0;
                    self.sent(key, &message, answer["messages"][0]["id"].as_str()).await;
                    continue;
                }
                Err(e) => e,
            };
            let cfg = &self.deps.settings;
            let waited = chatedge_config::time::unix_ms().saturating_sub(message.parked_ms);
            let expired = waited >= cfg.rate_limit_give_up.as_millis() as u64;
            match e.kind() {
                ErrorKind::Refused => {
                    if !self.fail(key, &message, graph_reason(&e)).await {
                        return;
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
                    if !self.fail(key, &message, gave_up(&e, cfg.rate_limit_give_up)).await {
                        return;
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

    /// The network took `message`: record its wamid and zaapId row (when known) and forget the
    /// park record, in one batch.
    async fn sent(&self, key: Vec<u8>, message: &Parked, wamid: Option<&str>) {
        let mut batch = Batch::new();
        if let Some(w) = wamid {
            if ids::record(&mut batch, &self.instance, &message.message_id, w) {
                let (k, v) =
                    (zaap_key(&self.instance, &message.message_id), zaap_value(&message.zaap_id, &message.phone));
                batch.put(Cf::CloudMessages, k, v);
            }
        }
        batch.delete(Cf::CloudMessages, key);
        if let Err(e) = self.deps.store.commit(batch).await {
            // Posted all the same; after a restart it would be posted again unless its `sent`
            // status is recorded first.
            tracing::error!(instance = %self.instance, error = %e, "cloud api: parked message sent but not recorded");
        }
        self.deps.parked.forget_front(&self.instance, &self.phone, Some(&message.message_id));
        self.count("parked_sent");
    }

    /// The network will not take `message`: the integrator hears `reason` as its
    /// DeliveryCallback error; the record goes once that is committed. Returns false when the
    /// shard did not acknowledge in time (the task stops; the next connection tries again).
    async fn fail(&self, key: Vec<u8>, message: &Parked, reason: String) -> bool {
        let Some((ack, committed)) = self.deps.acks.register(self.instance) else {
            self.deps.parked.stop_draining(&self.instance, &self.phone, self.generation);
            return false;
        };
        let event = NetworkEvent::Failed {
            instance: self.instance,
            message_id: message.message_id,
            zaap_id: message.zaap_id,
            phone: message.phone.clone(),
            reason,
            ack: Some(ack),
        };
        let acked = self.events.send(event).await.is_ok()
            && matches!(tokio::time::timeout(FAILED_COMMIT_WAIT, committed).await, Ok(Ok(())));
        if !acked {
            self.deps.acks.forget(self.instance, ack);
            self.deps.parked.stop_draining(&self.instance, &self.phone, self.generation);
            return false;
        }
        let mut batch = Batch::new();
        batch.delete(Cf::CloudMessages, key);
        batch.delete(Cf::CloudMessages, zaap_key(&self.instance, &message.message_id));
        if let Err(e) = self.deps.store.commit(batch).await {
            tracing::error!(instance = %self.instance, error = %e, "cloud api: failed parked message not forgotten");
        }
        self.deps.parked.forget_front(&self.instance, &self.phone, Some(&message.message_id));
        self.count("parked_failed");
        true
    }
}
