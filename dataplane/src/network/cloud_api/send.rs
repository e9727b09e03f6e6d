//! send: one message's trip to the Cloud API, as a local task on the shard that owns the
//! instance. In order: a message whose wamid is already recorded (sent before a crash) is
//! answered `Accepted` without a second POST; otherwise its body is built ([`super::body`]),
//! posted to `/{phone-number-id}/messages`, the wamid recorded ([`super::ids`], fsync'd) and
//! only then `Accepted` reported. Failures by kind ([`ErrorKind`]): a refusal → `Rejected` with
//! the network's code and title; a rate limit → the message stays on the wire, the instance
//! slows down ([`Pace`]) and the same body is posted again later, up to `[network.cloud_api]
//! rate_limit_max_retries`; a transport failure or 5xx → a few retries, each after asking
//! whether a `sent` status has meanwhile recorded the message (the post may have arrived), then the
//! connection counts as lost (`Disconnected`, the session requeues the message and reconnects);
//! an auth failure → `Disconnected { logged_out: true }`. Before every post the task checks
//! that its connection is still live: a closed connection's messages are the session's again,
//! and a task of it never posts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatedge_config::file::CloudApiConfig;
use chatedge_config::InstanceId;
use tokio::sync::mpsc;

use super::body::{self, BodyError};
use super::errors::graph_reason;
use super::graph::{ErrorKind, GraphError};
use super::inbound::{zaap_key, zaap_value};
use super::media::UploadError;
use super::{ids, CloudApiDeps, Lines};
use crate::network::{Generation, NetworkEvent};
use crate::queue::content::Action;
use crate::queue::{Content, OutboundMessage};
use crate::store::{Batch, Cf};

/// First wait before posting again after an answer that leaves open whether Meta took the
/// message (multiplied by the retry's number).
const AMBIGUOUS_WAIT: Duration = Duration::from_secs(2);

/// Instances slowed down at once on one shard; past it the oldest slow-down is dropped.
const MAX_SLOWED: usize = 10_000;

/// How fast each instance of a shard may post: after a rate-limit answer it waits `backoff`
/// (doubling per further answer, up to the maximum); each accepted send halves it again.
#[derive(Clone)]
pub struct Pace {
    initial: Duration,
    max: Duration,
    /// Shared by the shard's send tasks (one thread); the mutex makes it `Send`, held for a
    /// map operation only.
    slowed: Arc<Mutex<HashMap<InstanceId, (Instant, Duration)>>>,
}

impl Pace {
    pub fn new(cfg: &CloudApiConfig) -> Self {
        Pace {
            initial: cfg.rate_limit_initial_backoff,
            max: cfg.rate_limit_max_backoff,
            slowed: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<InstanceId, (Instant, Duration)>> {
        self.slowed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When `instance` may post next (now when it is not slowed down).
    pub fn next_post(&self, instance: &InstanceId) -> Option<Instant> {
        self.lock().get(instance).map(|(at, _)| *at).filter(|at| *at > Instant::now())
    }

    /// The network said "too many": the next post waits longer. Returns the wait.
    pub fn limited(&self, instance: InstanceId) -> Duration {
        let mut slowed = self.lock();
        if slowed.len() >= MAX_SLOWED && !slowed.contains_key(&instance) {
            slowed.clear();
        }
        let backoff = match slowed.get(&instance) {
            Some((_, b)) => (*b * 2).min(self.max),
            None => self.initial,
        };
        slowed.insert(instance, (Instant::now() + backoff, backoff));
        backoff
    }

    /// A post was accepted: the instance speeds up again.
    pub fn accepted(&self, instance: &InstanceId) {
        let mut slowed = self.lock();
        if let Some((at, backoff)) = slowed.get_mut(instance) {
            *backoff /= 2;
            if *backoff < self.initial {
                slowed.remove(instance);
            } else {
                *at = Instant::now() + *backoff;
            }
        }
    }

    pub fn forget(&self, instance: &InstanceId) {
        self.lock().remove(instance);
    }
}

/// One message on its way.
pub struct SendTask {
    pub deps: CloudApiDeps,
    pub events: mpsc::Sender<NetworkEvent>,
    pub pace: Pace,
    pub lines: Arc<Mutex<Lines>>,
    pub message: OutboundMessage,
    pub generation: Generation,
}

impl SendTask {
    pub async fn run(self) {
        let Some(event) = self.outcome().await else {
            // Its connection was closed meanwhile: the session has taken the message back and
            // sends it on the next connection; posting it here too would deliver it twice.
            self.deps.metrics.cloud_api_sends.with_label_values(&["abandoned"]).inc();
            return;
        };
        let label = match &event {
            NetworkEvent::Accepted { .. } => "accepted",
            NetworkEvent::Rejected { .. } => "rejected",
            _ => "connection_lost",
        };
        self.deps.metrics.cloud_api_sends.with_label_values(&[label]).inc();
        if let NetworkEvent::Disconnected { .. } = &event {
            let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
            if lines.online.get(&self.message.instance) == Some(&self.generation) {
                lines.online.remove(&self.message.instance);
            }
        }
        let _ = self.events.send(event).await;
    }

    fn rejected(&self, reason: String) -> NetworkEvent {
        let m = &self.message;
        NetworkEvent::Rejected {
            instance: m.instance,
            generation: self.generation,
            message_id: m.message_id,
            reason,
            ack: None,
        }
    }

    fn accepted(&self) -> NetworkEvent {
        let m = &self.message;
        let at_ms = chatedge_config::time::unix_ms();
        NetworkEvent::Accepted {
            instance: m.instance,
            generation: self.generation,
            message_id: m.message_id,
            at_ms,
            ack: None,
        }
    }

    fn lost(&self, e: &GraphError, logged_out: bool) -> NetworkEvent {
        NetworkEvent::Disconnected {
            instance: self.message.instance,
            generation: self.generation,
            reason: graph_reason(e),
            logged_out,
            ack: None,
        }
    }

    /// Whether this task's connection is still the instance's live one.
    fn live(&self) -> bool {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).is_live(&self.message.instance, self.generation)
    }

    /// Whether the network already took this message: its wamid is recorded (by an earlier
    /// post's answer, before a crash, or by a `sent` status carrying our id).
    fn recorded(&self) -> bool {
        let m = &self.message;
        match ids::theirs(&self.deps.store, &m.instance, &m.message_id) {
            Ok(found) => found.is_some(),
            Err(e) => {
                tracing::warn!(instance = %m.instance, error = %e, "cloud api: wamid lookup failed; sending");
                false
            }
        }
    }

    /// The event to report, or `None` when the connection closed before the message was
    /// posted (or while it waited to be posted again).
    async fn outcome(&self) -> Option<NetworkEvent> {
        let m = &self.message;
        let Some(account) = self.deps.account(&m.instance) else {
            return Some(self.rejected("the instance is no longer on the Cloud API network".into()));
        };
        let cfg = &self.deps.settings;
        let (mut limited, mut transient) = (0u32, 0u32);
        loop {
            if let Some(at) = self.pace.next_post(&m.instance) {
                tokio::time::sleep_until(at.into()).await;
            }
            if !self.live() {
                return None;
            }
            if self.recorded() {
                // Taken by the network already (before a crash, or an earlier post whose answer
                // was lost): report it, do not post it again.
                self.deps.metrics.cloud_api_sends.with_label_values(&["recognised"]).inc();
                return Some(self.accepted());
            }
            let e = match self.post(&account).await {
                Ok(event) => return Some(event),
                Err(BodyError::Unsupported(u)) => return Some(self.rejected(u.to_string())),
                Err(BodyError::Upload(UploadError::Graph(e))) => e,
                Err(BodyError::Upload(other)) => return Some(self.rejected(other.to_string())),
            };
            match e.kind() {
                ErrorKind::RateLimited if limited < cfg.rate_limit_max_retries => {
                    limited += 1;
                    let wait = self.pace.limited(m.instance);
                    self.deps.metrics.cloud_api_rate_limited.inc();
                    tracing::info!(instance = %m.instance, code = ?e.code(), ?wait, "cloud api: rate limited; slowing down");
                }
                ErrorKind::Transient if transient < cfg.transient_retries => {
                    // The post may have reached Meta all the same (a timeout, a 5xx): the wait
                    // gives its `sent` status, which carries our id, time to be recorded, and
                    // `recorded` is asked again before posting.
                    transient += 1;
                    tracing::info!(instance = %m.instance, error = %e, "cloud api: send failed; retrying");
                    tokio::time::sleep(AMBIGUOUS_WAIT * transient).await;
                }
                ErrorKind::Transient => return Some(self.lost(&e, false)),
                ErrorKind::Auth => return Some(self.lost(&e, true)),
                ErrorKind::RateLimited | ErrorKind::Refused => return Some(self.rejected(graph_reason(&e))),
            }
        }
    }

    /// One attempt: build, post, record. `Ok` carries the event to report.
    async fn post(&self, account: &chatedge_config::snapshot::CloudApiAccount) -> Result<NetworkEvent, BodyError> {
        let m = &self.message;
        let path = format!("{}/messages", account.phone_number_id);
        if let Content::Action(a) = &m.content {
            if let Action::Read { message_id } = a.as_ref() {
                let wamid = body::wamid_of(&self.deps, &m.instance, message_id);
                self.deps.graph.post_json(&account.access_token, &path, &body::read_body(&wamid)).await?;
                self.pace.accepted(&m.instance);
                return Ok(self.accepted());
            }
        }
        let request = body::build(&self.deps, account, m).await?;
        let answer = self.deps.graph.post_json(&account.access_token, &path, &request).await?;
        self.pace.accepted(&m.instance);
        let wamid = answer["messages"][0]["id"].as_str().unwrap_or_default();
        if wamid.is_empty() {
            tracing::warn!(instance = %m.instance, "cloud api: send answered without a message id");
            return Ok(self.accepted());
        }
        let mut batch = Batch::new();
        ids::record(&mut batch, &m.instance, &m.message_id, wamid);
        // With the wamid, so a `failed` status that overtakes the acceptance finds its zaapId.
        batch.put(Cf::CloudMessages, zaap_key(&m.instance, &m.message_id), zaap_value(&m.zaap_id, &m.phone));
        if let Err(e) = self.deps.store.commit(batch).await {
            // The acceptance is still reported; a resend after a crash would post it again.
            tracing::error!(instance = %m.instance, error = %e, "cloud api: wamid not recorded");
        }
        Ok(self.accepted())
    }
}
