//! inbound: what happens to a verified Cloud API notification — its messages and statuses
//! become [`NetworkEvent`]s on the owning shard's event channel, each with an [`AckId`] from the
//! [`AckBook`], and [`Inbound::deliver`] returns only once every one was acknowledged (= what it
//! produced is committed to the outbox). The webhook route answers Meta 200 only then, so Meta
//! redelivers anything chatedge did not keep (at-least-once).
//!
//! A notification delivered twice produces its events once: after the commit, a mark per
//! message (`instance ‖ 'r' ‖ wamid`) and per status (`instance ‖ 's' ‖ wamid ‖ 0 ‖ status`)
//! is written to `Cf::CloudMessages`, and a later notification skips what is marked. A crash
//! between the outbox commit and the marks lets one duplicate through (the same derived event
//! ids, so an integrator deduplicating by id sees one). The marks live under the instance's
//! prefix and go with it ([`super::ids::instance_span`]); [`super::seen`] forgets them once Meta
//! can no longer redeliver.
//!
//! Runs on the HTTP runtime (the webhook route's task); touches a shard only through its event
//! channel. The book's mutex is held for one map operation, never across `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatedge_config::snapshot::CloudApiAccount;
use chatedge_config::{InstanceId, MessageId, Phone, ZaapId};
use tokio::sync::{mpsc, oneshot};

use super::notification::{Parsed, StatusKind, StatusUpdate};
use super::receive::{self, MediaReceiver};
use super::{ids, state::CloudState};
use crate::metrics::Metrics;
use crate::network::incoming::IncomingContent;
use crate::network::{AckId, MessageStatus, NetworkEvent};
use crate::store::{Batch, Cf, Store, StoreError};

/// Events handed to shards and not yet acknowledged, over all instances. Past it a
/// notification is answered 503 (Meta retries it later) rather than queued without bound.
pub const MAX_PENDING_ACKS: usize = 65_536;

/// The first [`AckId`] the book hands out: the Cloud API's ack ids live in the upper half of
/// the range and the sim's (counting from 0) in the lower, so an ack is routed to the right
/// network by its number alone, even for an instance the configuration no longer names.
pub const FIRST_ACK: u64 = 1 << 63;

/// Events handed to shards and not yet acknowledged, by (instance, ack id).
pub struct AckBook {
    next: AtomicU64,
    /// Touched for a moment per event from the webhook route's and the shards' threads; never
    /// held across `.await`.
    pending: Mutex<HashMap<(InstanceId, AckId), oneshot::Sender<()>>>,
}

impl Default for AckBook {
    fn default() -> Self {
        AckBook { next: AtomicU64::new(FIRST_ACK), pending: Mutex::new(HashMap::new()) }
    }
}

impl AckBook {
    pub fn new() -> Self {
        AckBook::default()
    }

    /// Whether `ack` was handed out by an `AckBook` (see [`FIRST_ACK`]).
    pub fn owns(ack: AckId) -> bool {
        ack.0 >= FIRST_ACK
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(InstanceId, AckId), oneshot::Sender<()>>> {
        // Each critical section is one map operation: a panic elsewhere cannot leave it half done.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new pending acknowledgement for an event of `instance`, or `None` when
    /// [`MAX_PENDING_ACKS`] are pending.
    pub fn register(&self, instance: InstanceId) -> Option<(AckId, oneshot::Receiver<()>)> {
        let mut pending = self.lock();
        if pending.len() >= MAX_PENDING_ACKS {
            return None;
        }
        // Wraps only after 2^63 events.
        let ack = AckId(self.next.fetch_add(1, Ordering::Relaxed) | FIRST_ACK);
        let (tx, rx) = oneshot::channel();
        pending.insert((instance, ack), tx);
        Some((ack, rx))
    }

    /// The event `ack` of `instance` is durable: whoever waits for it hears so.
    pub fn acked(&self, instance: InstanceId, ack: AckId) {
        let waiter = self.lock().remove(&(instance, ack));
        if let Some(tx) = waiter {
            let _ = tx.send(());
        }
    }

    /// Nobody waits for `ack` any more (the notification gave up; Meta will redeliver).
    pub fn forget(&self, instance: InstanceId, ack: AckId) {
        self.lock().remove(&(instance, ack));
    }

    pub fn pending(&self) -> usize {
        self.lock().len()
    }
}

/// Why a notification could not be kept; every case is answered 5xx so Meta retries.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("too many notification events are waiting to be committed; retry later")]
    Busy,
    #[error("the events were not committed in time (is the instance connected?)")]
    NotCommitted,
    #[error("received media could not be fetched: {0}")]
    Media(#[from] receive::ReceiveError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("the data plane is shutting down")]
    ShuttingDown,
}

/// What one notification produced (for the route's counters and tests).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    pub handed: usize,
    pub duplicates: usize,
    pub unknown: usize,
}

/// The webhook route's engine: one per data plane.
pub struct Inbound {
    pub acks: Arc<AckBook>,
    events: Vec<mpsc::Sender<NetworkEvent>>,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    media: MediaReceiver,
    state: Arc<CloudState>,
    /// Longest time a notification may take, media downloads and commits included.
    commit_wait: Duration,
    /// Marks of deliveries under way (see [`Inbound::claim`]); bounded by the requests in
    /// flight, each bounded by the body limit. Held for one set operation at a time.
    in_progress: Mutex<HashSet<Vec<u8>>>,
}

pub(super) const RECEIVED: u8 = b'r';
pub(super) const STATUS: u8 = b's';
const ZAAP: u8 = b'z';

fn key(instance: &InstanceId, tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = instance.as_bytes().to_vec();
    k.push(tag);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

/// Where the shard keeps the zaapId and recipient of an accepted Cloud API message, so a later
/// `failed` status can name them in its DeliveryCallback (`instance ‖ 'z' ‖ our id`).
pub fn zaap_key(instance: &InstanceId, message: &MessageId) -> Vec<u8> {
    key(instance, ZAAP, &[message.as_bytes()])
}

/// The value at [`zaap_key`]: zaapId bytes then the recipient.
pub fn zaap_value(zaap: &ZaapId, phone: &Phone) -> Vec<u8> {
    let mut v = zaap.as_bytes().to_vec();
    v.extend_from_slice(phone.as_str().as_bytes());
    v
}

/// Reads a [`zaap_value`].
pub fn parse_zaap_value(v: &[u8]) -> Option<(ZaapId, Phone)> {
    let zaap = ZaapId::from_slice(v)?;
    let phone = Phone::parse(std::str::from_utf8(v.get(ZaapId::LEN..)?).ok()?).ok()?;
    Some((zaap, phone))
}

impl Inbound {
    pub fn new(
        acks: Arc<AckBook>,
        events: Vec<mpsc::Sender<NetworkEvent>>,
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        media: MediaReceiver,
        state: Arc<CloudState>,
        commit_wait: Duration,
    ) -> Self {
        Inbound { acks, events, store, metrics, media, state, commit_wait, in_progress: Mutex::new(HashSet::new()) }
    }

    /// The instance's number as the Graph API last described it (for `status`, `me`, `device`).
    pub fn number(&self, instance: &InstanceId) -> Option<super::state::NumberInfo> {
        self.state.number(instance)
    }

    fn seen(&self, k: &[u8]) -> Result<bool, StoreError> {
        Ok(self.store.db().get_cf(self.store.cf(Cf::CloudMessages), k)?.is_some())
    }

    fn count(&self, outcome: &str, n: usize) {
        if n > 0 {
            self.metrics.cloud_api_inbound_events.with_label_values(&[outcome]).inc_by(n as u64);
        }
    }

    /// Hands `parsed` (a notification for `instance`) to the instance's shard and waits until
    /// every event is committed, all within `commit_wait` (media downloads included); then
    /// marks seen each event that was committed — also when others were not, so Meta's
    /// redelivery of a partly kept notification repeats only what is missing. While a delivery
    /// is under way its marks are claimed: a concurrent delivery of the same notification is
    /// answered busy (Meta retries) instead of producing the events twice.
    pub async fn deliver(
        &self,
        instance: InstanceId,
        account: &CloudApiAccount,
        parsed: Parsed,
    ) -> Result<Delivered, InboundError> {
        let deadline = tokio::time::Instant::now() + self.commit_wait;
        let mut out = Delivered::default();
        let mut events = Vec::new();
        // Marks written whatever happens to the events (statuses with nothing to tell).
        let mut quiet = Vec::new();
        let mut records = Vec::new();
        for r in parsed.messages {
            let mark = key(&instance, RECEIVED, &[r.message.id.as_bytes()]);
            if self.seen(&mark)? {
                out.duplicates += 1;
                continue;
            }
            let mut message = r.message;
            if let Some(media) = &r.media {
                let kind = message.content.media_kind().unwrap_or(crate::media::MediaKind::Document);
                match tokio::time::timeout_at(deadline, self.media.fetch(account, media, kind)).await {
                    Ok(Ok(stored)) => message.content.attach(stored),
                    Ok(Err(e)) if e.is_permanent() => {
                        // Fetching again would fail again: the message goes on without its file.
                        tracing::warn!(%instance, error = %e, "cloud api: received media unavailable; delivering the message without it");
                        self.count("media_unavailable", 1);
                    }
                    Ok(Err(e)) => {
                        self.count("media_failed", 1);
                        return Err(e.into());
                    }
                    Err(_) => {
                        self.count("media_failed", 1);
                        return Err(InboundError::NotCommitted);
                    }
                }
            }
            self.to_our_ids(&instance, &mut message)?;
            self.state.received(instance, message.from.clone(), message.id.clone());
            events.push((NetworkEvent::Incoming { instance, message: Box::new(message), ack: None }, mark));
        }
        for s in parsed.statuses {
            let mark = key(&instance, STATUS, &[s.wamid.as_bytes(), s.status.label().as_bytes()]);
            if self.seen(&mark)? {
                out.duplicates += 1;
                continue;
            }
            if let (StatusKind::Sent, Some(ours)) =
                (&s.status, s.callback_data.as_deref().and_then(|d| MessageId::parse(d).ok()))
            {
                // The network took one of our sends: remember its wamid even when the send's own
                // answer never arrived, so a resend is recognised instead of posted again.
                records.push((ours, s.wamid.clone()));
            }
            match self.status_event(instance, s)? {
                StatusOutcome::Event(event) => events.push((event, mark)),
                StatusOutcome::Nothing => quiet.push(mark),
                StatusOutcome::NotOurs => out.unknown += 1,
                StatusOutcome::NotYet => return Err(InboundError::NotCommitted),
            }
        }
        let _claim = self.claim(events.iter().map(|(_, m)| m.clone()).chain(quiet.iter().cloned()).collect())?;
        out.handed = events.len();
        let (events, marks): (Vec<_>, Vec<_>) = events.into_iter().unzip();
        let committed = self.hand_over(instance, events, deadline).await?;
        let all = committed.iter().all(|c| *c);
        let kept = marks.into_iter().zip(committed).filter_map(|(m, c)| c.then_some(m));
        let mut batch = Batch::new();
        let now = chatedge_config::time::unix_ms().to_be_bytes().to_vec();
        for m in kept.chain(quiet) {
            batch.put(Cf::CloudMessages, m, now.clone());
        }
        for (ours, wamid) in &records {
            if ids::theirs(&self.store, &instance, ours)?.is_none() {
                ids::record(&mut batch, &instance, ours, wamid);
            }
        }
        if !batch.is_empty() {
            self.store.commit(batch).await?;
        }
        if !all {
            return Err(InboundError::NotCommitted);
        }
        self.count("handed", out.handed);
        self.count("duplicate", out.duplicates);
        self.count("unknown_message", out.unknown);
        Ok(out)
    }

    /// Claims `marks` for one delivery until the returned guard drops; busy when another
    /// delivery holds any of them.
    fn claim(&self, marks: Vec<Vec<u8>>) -> Result<Claim<'_>, InboundError> {
        let mut held = self.in_progress.lock().unwrap_or_else(|p| p.into_inner());
        if marks.iter().any(|m| held.contains(m)) {
            return Err(InboundError::Busy);
        }
        held.extend(marks.iter().cloned());
        Ok(Claim { inbound: self, marks })
    }

    /// Replies and reactions name the network's id of the message they are about; when it is
    /// one of ours, the integrator knows it by our id.
    fn to_our_ids(&self, instance: &InstanceId, m: &mut crate::network::IncomingMessage) -> Result<(), StoreError> {
        if let Some(r) = &m.reference_message_id {
            if let Some(ours) = ids::ours(&self.store, instance, r)? {
                m.reference_message_id = Some(ours.to_string());
            }
        }
        if let IncomingContent::Reaction(r) = &mut m.content {
            if let Some(ours) = ids::ours(&self.store, instance, &r.referenced_message.message_id)? {
                r.referenced_message.message_id = ours.to_string();
            }
        }
        Ok(())
    }

    /// The event a status becomes (see [`StatusOutcome`]): `sent` is reported by the shard
    /// when the Graph API accepts the send, so the network's own `sent` would repeat it.
    fn status_event(&self, instance: InstanceId, s: StatusUpdate) -> Result<StatusOutcome, StoreError> {
        let tagged = s.callback_data.as_deref().and_then(|d| MessageId::parse(d).ok());
        let ours = match tagged {
            Some(id) => Some(id),
            None => ids::ours(&self.store, &instance, &s.wamid)?,
        };
        let Some(message_id) = ours else { return Ok(StatusOutcome::NotOurs) };
        let status = match s.status {
            StatusKind::Sent => return Ok(StatusOutcome::Nothing),
            StatusKind::Delivered => MessageStatus::Received,
            StatusKind::Read => MessageStatus::Read,
            StatusKind::Played => MessageStatus::Played,
            StatusKind::Failed { code, title, details } => {
                let found =
                    self.store.db().get_cf(self.store.cf(Cf::CloudMessages), zaap_key(&instance, &message_id))?;
                let Some((zaap_id, phone)) = found.as_deref().and_then(parse_zaap_value) else {
                    // Ours by its tag, but its send is not recorded yet (the answer and this
                    // notification crossed): Meta is asked to redeliver rather than lose it.
                    return Ok(if tagged.is_some() { StatusOutcome::NotYet } else { StatusOutcome::NotOurs });
                };
                let reason = match details {
                    Some(d) => format!("{} ({d})", super::errors::reason(code, &title)),
                    None => super::errors::reason(code, &title),
                };
                return Ok(StatusOutcome::Event(NetworkEvent::Failed {
                    instance,
                    message_id,
                    zaap_id,
                    phone,
                    reason,
                    ack: None,
                }));
            }
        };
        Ok(StatusOutcome::Event(NetworkEvent::Status {
            instance,
            message_id,
            phone: s.recipient,
            status,
            at_ms: s.at_ms,
            ack: None,
        }))
    }

    /// Registers each event's ack, sends them to the owning shard and waits for each until
    /// `deadline`: which of them were committed, in order. Acks still pending when it returns
    /// (or when the caller drops it) are forgotten.
    async fn hand_over(
        &self,
        instance: InstanceId,
        events: Vec<NetworkEvent>,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<bool>, InboundError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let Some(shard) = self.events.get(instance.shard(self.events.len())) else {
            return Err(InboundError::ShuttingDown);
        };
        let mut waiting = Waiting { book: &self.acks, instance, acks: Vec::with_capacity(events.len()) };
        let mut waits = Vec::with_capacity(events.len());
        for mut event in events {
            let (ack, rx) = self.acks.register(instance).ok_or(InboundError::Busy)?;
            waiting.acks.push(ack);
            set_ack(&mut event, ack);
            waits.push(rx);
            if shard.send(event).await.is_err() {
                return Err(InboundError::ShuttingDown);
            }
        }
        let mut committed = Vec::with_capacity(waits.len());
        for rx in waits {
            // `timeout_at` looks at `rx` before the clock: an ack that arrived counts even after
            // the deadline.
            committed.push(matches!(tokio::time::timeout_at(deadline, rx).await, Ok(Ok(()))));
        }
        Ok(committed)
    }
}

/// What a status notification becomes.
enum StatusOutcome {
    Event(NetworkEvent),
    /// Ours, with nothing to tell (`sent`).
    Nothing,
    /// Not one of our messages (sent before chatedge, or by another tool on the number).
    NotOurs,
    /// Ours by its tag, but not recorded yet: answered 5xx so Meta redelivers it.
    NotYet,
}

/// The acks of one hand-over: forgotten when it ends, however it ends (an ack already
/// received is gone from the book, so forgetting it does nothing).
struct Waiting<'a> {
    book: &'a AckBook,
    instance: InstanceId,
    acks: Vec<AckId>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.acks.iter().for_each(|a| self.book.forget(self.instance, *a));
    }
}

/// Marks one delivery is working on (see [`Inbound::claim`]); released when dropped.
struct Claim<'a> {
    inbound: &'a Inbound,
    marks: Vec<Vec<u8>>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut held = self.inbound.in_progress.lock().unwrap_or_else(|p| p.into_inner());
        self.marks.iter().for_each(|m| {
            held.remove(m);
        });
    }
}

fn set_ack(event: &mut NetworkEvent, id: AckId) {
    match event {
        NetworkEvent::Incoming { ack, .. } | NetworkEvent::Status { ack, .. } | NetworkEvent::Failed { ack, .. } => {
            *ack = Some(id)
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acknowledged_event_wakes_its_waiter_once() {
        let book = AckBook::new();
        let i = InstanceId::generate();
        let (ack, mut rx) = book.register(i).unwrap();
        assert!(AckBook::owns(ack), "the book's ids never collide with the sim's");
        assert_eq!(book.pending(), 1);
        book.acked(InstanceId::generate(), ack);
        assert!(rx.try_recv().is_err(), "another instance's ack with the same number wakes nobody");
        book.acked(i, ack);
        assert!(rx.try_recv().is_ok());
        assert_eq!(book.pending(), 0);
    }

    #[test]
    fn the_book_refuses_past_its_bound_and_forgets_on_request() {
        let book = AckBook::new();
        let i = InstanceId::generate();
        let held: Vec<_> = (0..MAX_PENDING_ACKS).map(|_| book.register(i).unwrap()).collect();
        assert!(book.register(i).is_none());
        book.forget(i, held[0].0);
        assert!(book.register(i).is_some());
    }

    #[test]
    fn a_zaap_value_reads_back() {
        let (z, p) = (ZaapId::generate(), Phone::parse("5511999990001").unwrap());
        assert_eq!(parse_zaap_value(&zaap_value(&z, &p)), Some((z, p)));
        assert_eq!(parse_zaap_value(b"short"), None);
    }
}
