//! send: one message's trip to the Cloud API, as a local task on the shard that owns the
//! instance. In order: a message whose wamid is already recorded (sent before a crash, or its
//! `sent` status arrived) is answered `Accepted`, one that is parked ([`super::park`])
//! `Deferred`, without a second POST; a template is checked against the account's approved templates
//! ([`super::account::template_approval`]); otherwise its body is built ([`super::body`]),
//! posted to `/{phone-number-id}/messages`, the wamid recorded ([`super::ids`], fsync'd) and
//! only then `Accepted` reported. Failures by kind ([`ErrorKind`]): a refusal → `Rejected` with
//! the network's code and title; a rate limit of the number (130429 and kin) → the message
//! stays on the wire, the instance slows down ([`Pace`]) and the same body is posted again
//! later, for at most `[network.cloud_api] rate_limit_give_up_ms` from the first such answer,
//! then `Rejected` saying so; a pair rate limit (131056) → only that recipient slows down: the
//! message is parked and reported `Deferred`, so the instance's other recipients keep flowing
//! ([`super::drain`] posts it later and reports its outcome); a message to a recipient with parked messages is parked
//! behind them; a transport failure or 5xx → a few retries, each after asking whether a
//! `sent` status has meanwhile recorded the message (the post may have arrived), then the
//! connection counts as lost (`Disconnected`, the session requeues the message and
//! reconnects); an auth failure → `Disconnected { logged_out: true }`. Before every post the
//! task checks that its connection is still live: a closed connection's messages are the
//! session's again, and a task of it never posts.
//!
//! Ordering: per recipient, messages reach the network in queue order (a parked recipient's
//! later messages are parked behind, and its park drains in order). Across recipients, a
//! parked message is overtaken by later messages to others; an instance-wide limit holds the
//! whole queue in order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatedge_config::file::CloudApiConfig;
use chatedge_config::snapshot::CloudApiAccount;
use chatedge_config::{InstanceId, Phone};
use serde_json::Value;
use tokio::sync::mpsc;

use super::account::{template_approval, Approval};
use super::body::{self, BodyError};
use super::errors::graph_reason;
use super::graph::{ErrorKind, GraphError};
use super::inbound::{zaap_key, zaap_value};
use super::media::UploadError;
use super::park::Parked;
use super::{drain, ids, CloudApiDeps, Lines};
use crate::network::{Generation, NetworkEvent};
use crate::queue::content::Action;
use crate::queue::{Content, OutboundMessage};
use crate::store::{Batch, Cf};

/// First wait before posting again after an answer that leaves open whether Meta took the
/// message (multiplied by the retry's number).
pub const AMBIGUOUS_WAIT: Duration = Duration::from_secs(2);

/// Instances (and, separately, recipient pairs) slowed down at once on one shard; past it the
/// slow-downs are forgotten (the next limit answer slows down again).
const MAX_SLOWED: usize = 10_000;

/// When one instance (or pair) may post next, and the backoff that led there.
type Slowdowns<K> = HashMap<K, (Instant, Duration)>;

#[derive(Default)]
struct Slowed {
    instances: Slowdowns<InstanceId>,
    pairs: Slowdowns<(InstanceId, Phone)>,
}

/// How fast each instance of a shard — and each of its recipients — may post: after a
/// rate-limit answer it waits `backoff` (doubling per further answer, up to the maximum); each
/// accepted send halves it again. A pair limit slows only that recipient.
#[derive(Clone)]
pub struct Pace {
    initial: Duration,
    max: Duration,
    /// Shared by the shard's send and drain tasks (one thread); the mutex makes it `Send`,
    /// held for a map operation only.
    slowed: Arc<Mutex<Slowed>>,
}

fn slow_down<K: std::hash::Hash + Eq>(map: &mut Slowdowns<K>, key: K, initial: Duration, max: Duration) -> Duration {
    if map.len() >= MAX_SLOWED && !map.contains_key(&key) {
        map.clear();
    }
    let backoff = match map.get(&key) {
        Some((_, b)) => (*b * 2).min(max),
        None => initial,
    };
    map.insert(key, (Instant::now() + backoff, backoff));
    backoff
}

fn speed_up<K: std::hash::Hash + Eq>(map: &mut Slowdowns<K>, key: &K, initial: Duration) {
    if let Some((at, backoff)) = map.get_mut(key) {
        *backoff /= 2;
        if *backoff < initial {
            map.remove(key);
        } else {
            *at = Instant::now() + *backoff;
        }
    }
}

impl Pace {
    pub fn new(cfg: &CloudApiConfig) -> Self {
        Pace {
            initial: cfg.rate_limit_initial_backoff,
            max: cfg.rate_limit_max_backoff,
            slowed: Arc::new(Mutex::new(Slowed::default())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slowed> {
        self.slowed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When `instance` may post to `to` next (`None`: now).
    pub fn next_post(&self, instance: &InstanceId, to: &Phone) -> Option<Instant> {
        let s = self.lock();
        let own = s.instances.get(instance).map(|(at, _)| *at);
        let pair = s.pairs.get(&(*instance, to.clone())).map(|(at, _)| *at);
        own.max(pair).filter(|at| *at > Instant::now())
    }

    /// The network said "too many" for the whole number: its next post waits longer.
    pub fn limited(&self, instance: InstanceId) -> Duration {
        slow_down(&mut self.lock().instances, instance, self.initial, self.max)
    }

    /// The network said "too many to this recipient": only posts to `to` wait longer.
    pub fn pair_limited(&self, instance: InstanceId, to: Phone) -> Duration {
        slow_down(&mut self.lock().pairs, (instance, to), self.initial, self.max)
    }

    /// A post to `to` was accepted: the instance and the pair speed up again.
    pub fn accepted(&self, instance: &InstanceId, to: &Phone) {
        let mut s = self.lock();
        speed_up(&mut s.instances, instance, self.initial);
        speed_up(&mut s.pairs, &(*instance, to.clone()), self.initial);
    }

    pub fn forget(&self, instance: &InstanceId) {
        let mut s = self.lock();
        s.instances.remove(instance);
        s.pairs.retain(|(i, _), _| i != instance);
    }
}

/// The DeliveryCallback error of a message still rate limited when its window ran out.
pub fn gave_up(e: &GraphError, window: Duration) -> String {
    let waited = match window.as_secs() {
        0 => format!("{} ms", window.as_millis()),
        s => format!("{s} s"),
    };
    format!(
        "{} (still rate limited after retrying for {waited}, [network.cloud_api] rate_limit_give_up_ms; the message was not sent)",
        graph_reason(e)
    )
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

    fn deferred(&self) -> NetworkEvent {
        let m = &self.message;
        NetworkEvent::Deferred {
            instance: m.instance,
            generation: self.generation,
            message_id: m.message_id,
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

    /// The wamid a mark-as-read names, when this message is one; it is not a message to a
    /// recipient (no pair limit, nothing to park).
    fn read_receipt(&self) -> Option<String> {
        let m = &self.message;
        match &m.content {
            Content::Action(a) => match a.as_ref() {
                Action::Read { message_id } => Some(body::wamid_of(&self.deps, &m.instance, message_id)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The request body, built once (media uploaded once) and reused by every retry.
    async fn body(&self, account: &CloudApiAccount, slot: &mut Option<Value>) -> Result<Value, BodyError> {
        if let Some(b) = slot {
            return Ok(b.clone());
        }
        let built = match self.read_receipt() {
            Some(wamid) => body::read_body(&wamid),
            None => body::build(&self.deps, account, &self.message).await?,
        };
        *slot = Some(built.clone());
        Ok(built)
    }

    /// Parks the message behind its recipient's pair limit and reports it accepted; `None`
    /// when it cannot be parked (the instance's park is full, the store failed).
    async fn park(&self, body: Value) -> Option<NetworkEvent> {
        let m = &self.message;
        let parked = Parked { message: m.clone(), body, parked_ms: chatedge_config::time::unix_ms() };
        match self.deps.parked.park(&self.deps.store, m.instance, &parked, self.generation).await {
            Ok(start) => {
                if start {
                    drain::Drain {
                        deps: self.deps.clone(),
                        events: self.events.clone(),
                        pace: self.pace.clone(),
                        lines: self.lines.clone(),
                        instance: m.instance,
                        phone: m.phone.clone(),
                        generation: self.generation,
                    }
                    .spawn();
                }
                self.deps.metrics.cloud_api_sends.with_label_values(&["parked"]).inc();
                Some(self.deferred())
            }
            Err(e) => {
                tracing::warn!(instance = %m.instance, error = %e, "cloud api: pair-limited message not parked; it waits in place");
                None
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
        if self.deps.parked.holds(&m.instance, &m.message_id) {
            // Parked before a crash that came before its deferral was committed.
            self.deps.metrics.cloud_api_sends.with_label_values(&["recognised"]).inc();
            return Some(self.deferred());
        }
        if let Content::Template(t) = &m.content {
            if let Approval::Refused(why) = template_approval(&self.deps, &account, t).await {
                return Some(self.rejected(why));
            }
        }
        let is_read = self.read_receipt().is_some();
        let cfg = &self.deps.settings;
        let mut limited_since: Option<Instant> = None;
        let mut transient = 0u32;
        let mut body: Option<Value> = None;
        loop {
            if let Some(at) = self.pace.next_post(&m.instance, &m.phone) {
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
            let waits_behind = !is_read && self.deps.parked.waiting_for(&m.instance, &m.phone);
            let e = match self.body(&account, &mut body).await {
                // Earlier messages to this recipient wait out its pair limit: this one waits
                // behind them, so the recipient gets them in order.
                Ok(b) if waits_behind => match self.park(b).await {
                    Some(event) => return Some(event),
                    None => {
                        let since = *limited_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= cfg.rate_limit_give_up {
                            let why = "its recipient's earlier messages still wait out the pair rate limit (131056)";
                            return Some(self.rejected(format!("{why}; the message was not sent")));
                        }
                        let wait = self.pace.pair_limited(m.instance, m.phone.clone());
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                },
                Ok(b) => match self.post(&account, &b).await {
                    Ok(event) => return Some(event),
                    Err(e) => e,
                },
                Err(BodyError::Unsupported(u)) => return Some(self.rejected(u.to_string())),
                Err(BodyError::Upload(UploadError::Graph(e))) => e,
                Err(BodyError::Upload(other)) => return Some(self.rejected(other.to_string())),
            };
            match e.kind() {
                ErrorKind::PairRateLimited if !is_read && body.is_some() => {
                    self.deps.metrics.cloud_api_rate_limited.inc();
                    let wait = self.pace.pair_limited(m.instance, m.phone.clone());
                    tracing::info!(instance = %m.instance, ?wait, "cloud api: pair rate limited; parking the message");
                    if let Some(event) = self.park(body.clone().unwrap_or_default()).await {
                        return Some(event);
                    }
                    let since = *limited_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= cfg.rate_limit_give_up {
                        return Some(self.rejected(gave_up(&e, cfg.rate_limit_give_up)));
                    }
                }
                ErrorKind::RateLimited | ErrorKind::PairRateLimited => {
                    let since = *limited_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= cfg.rate_limit_give_up {
                        return Some(self.rejected(gave_up(&e, cfg.rate_limit_give_up)));
                    }
                    self.deps.metrics.cloud_api_rate_limited.inc();
                    let wait = self.pace.limited(m.instance);
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
                ErrorKind::Refused => return Some(self.rejected(graph_reason(&e))),
            }
        }
    }

    /// One post of `request`, then the record. `Ok` carries the event to report.
    async fn post(&self, account: &CloudApiAccount, request: &Value) -> Result<NetworkEvent, GraphError> {
        let m = &self.message;
        let path = format!("{}/messages", account.phone_number_id);
        let answer = self.deps.graph.post_json(&account.access_token, &path, request).await?;
        self.pace.accepted(&m.instance, &m.phone);
        let wamid = answer["messages"][0]["id"].as_str().unwrap_or_default();
        if wamid.is_empty() {
            if self.read_receipt().is_none() {
                tracing::warn!(instance = %m.instance, "cloud api: send answered without a message id");
            }
            return Ok(self.accepted());
        }
        let mut batch = Batch::new();
        if ids::record(&mut batch, &m.instance, &m.message_id, wamid) {
            // With the wamid (and pruned with it), so a `failed` status that overtakes the
            // acceptance finds its zaapId.
            batch.put(Cf::CloudMessages, zaap_key(&m.instance, &m.message_id), zaap_value(&m.zaap_id, &m.phone));
        }
        if let Err(e) = self.deps.store.commit(batch).await {
            // The acceptance is still reported; a resend after a crash would post it again.
            tracing::error!(instance = %m.instance, error = %e, "cloud api: wamid not recorded");
        }
        Ok(self.accepted())
    }
}
