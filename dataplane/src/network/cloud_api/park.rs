//! park: messages waiting out a pair rate limit — Meta's 131056, "too many messages sent from
//! this phone number to the same phone number in a short period of time". Only that recipient
//! must wait, but the session has one message on the wire per instance, so a message waiting
//! in place would hold every other recipient's messages behind it. Instead the send task parks
//! it: its finished request body (media already uploaded, so no local file is needed later) is
//! written durably here, and only then is the message reported deferred
//! ([`crate::network::NetworkEvent::Deferred`]: it leaves the instance's queue, the integrator
//! hears nothing yet); [`super::drain`] posts the parked messages of that recipient later, in
//! order, and reports each one's outcome. While a recipient has parked messages, every later message to it is parked behind
//! them, so per recipient the queue's order holds; across recipients a parked message is
//! overtaken.
//!
//! Records: `instance ‖ 'p' ‖ recipient ‖ 0 ‖ seq` → [`Parked`] (JSON), `seq` growing. The
//! [`ParkBook`] mirrors them in memory (per instance: per recipient, the keys in order, and the
//! parked message ids), loaded from the store when the instance's connection is verified; it
//! is bounded by [`MAX_PARKED_PER_INSTANCE`] (past it a message waits in place instead).
//! Shared by the shards and the route (one per data plane); its mutex is held for one map
//! operation, never across `.await`. Nothing here talks to the network.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chatedge_config::{InstanceId, MessageId, Phone};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::network::Generation;
use crate::queue::OutboundMessage;
use crate::store::{Batch, Cf, Store, StoreError};

/// Messages one instance may have parked; past it a pair-limited message waits in place.
pub const MAX_PARKED_PER_INSTANCE: usize = 1_000;

const PARKED: u8 = b'p';

/// One parked message: the message itself (what its outcome's callbacks need) and the body to
/// post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parked {
    pub message: OutboundMessage,
    pub body: Value,
    /// When it was parked: the give-up window (`[network.cloud_api] rate_limit_give_up_ms`)
    /// counts from here.
    pub parked_ms: u64,
}

fn pair_prefix(instance: &InstanceId, phone: &Phone) -> Vec<u8> {
    let mut k = instance.as_bytes().to_vec();
    k.push(PARKED);
    k.extend_from_slice(phone.as_str().as_bytes());
    k.push(0);
    k
}

fn instance_prefix(instance: &InstanceId) -> Vec<u8> {
    let mut k = instance.as_bytes().to_vec();
    k.push(PARKED);
    k
}

#[derive(Default)]
struct Parking {
    /// Keys of each recipient's parked messages, oldest first.
    pairs: HashMap<Phone, VecDeque<Vec<u8>>>,
    ids: HashSet<MessageId>,
    /// Recipients whose drain task runs, and for which connection.
    draining: HashMap<Phone, Generation>,
}

impl Parking {
    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// The parked messages of every instance, in memory (see the module docs).
pub struct ParkBook {
    seq: AtomicU64,
    instances: Mutex<HashMap<InstanceId, Parking>>,
    /// `chatedge_dp_cloud_api_parked_messages`: how many the book holds.
    gauge: prometheus::IntGauge,
}

/// Why a message could not be parked.
#[derive(Debug, thiserror::Error)]
pub enum ParkError {
    #[error("the instance already has the most parked messages it may have (1000)")]
    Full,
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl ParkBook {
    pub fn new(gauge: prometheus::IntGauge) -> Self {
        gauge.set(0);
        ParkBook { seq: AtomicU64::new(0), instances: Mutex::new(HashMap::new()), gauge }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<InstanceId, Parking>> {
        // Each critical section is one map operation: a panic elsewhere cannot leave it half done.
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A key after every key handed out so far (and after the clock's ms, across restarts).
    fn next_key(&self, instance: &InstanceId, phone: &Phone) -> Vec<u8> {
        let floor = chatedge_config::time::unix_ms() << 16;
        let step = |cur: u64| Some((cur + 1).max(floor));
        let prev = self.seq.fetch_update(Ordering::SeqCst, Ordering::SeqCst, step).unwrap_or(floor);
        let seq = (prev + 1).max(floor);
        let mut k = pair_prefix(instance, phone);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }

    /// Whether `message` is parked (it was, before a crash, and its queue entry survived).
    pub fn holds(&self, instance: &InstanceId, message: &MessageId) -> bool {
        self.lock().get(instance).is_some_and(|p| p.ids.contains(message))
    }

    /// Whether `phone` has messages of `instance` parked (a new one must wait behind them).
    pub fn waiting_for(&self, instance: &InstanceId, phone: &Phone) -> bool {
        self.lock().get(instance).is_some_and(|p| p.pairs.get(phone).is_some_and(|q| !q.is_empty()))
    }

    /// Messages parked for `instance`.
    pub fn count(&self, instance: &InstanceId) -> usize {
        self.lock().get(instance).map_or(0, Parking::len)
    }

    /// Parks `parked` durably (fsync'd) and in the book. Returns whether its recipient needs a
    /// drain task started on connection `generation` (none runs for it there yet).
    pub async fn park(
        &self,
        store: &Store,
        instance: InstanceId,
        parked: &Parked,
        generation: Generation,
    ) -> Result<bool, ParkError> {
        if self.count(&instance) >= MAX_PARKED_PER_INSTANCE {
            return Err(ParkError::Full);
        }
        let key = self.next_key(&instance, &parked.message.phone);
        let value = serde_json::to_vec(parked).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut batch = Batch::new();
        batch.put(Cf::CloudMessages, key.clone(), value);
        store.commit(batch).await?;
        let mut all = self.lock();
        let p = all.entry(instance).or_default();
        p.pairs.entry(parked.message.phone.clone()).or_default().push_back(key);
        if p.ids.insert(parked.message.message_id) {
            self.gauge.inc();
        }
        Ok(p.draining.insert(parked.message.phone.clone(), generation) != Some(generation))
    }

    /// The oldest parked message of the pair, with its key; `None` when there is none, and
    /// then the drain task of `generation` is over (a later park starts a new one).
    pub fn front(
        &self,
        store: &Store,
        instance: &InstanceId,
        phone: &Phone,
        generation: Generation,
    ) -> Result<Option<(Vec<u8>, Parked)>, StoreError> {
        loop {
            let key = {
                let mut all = self.lock();
                let Some(p) = all.get_mut(instance) else { return Ok(None) };
                match p.pairs.get(phone).and_then(|q| q.front().cloned()) {
                    Some(k) => k,
                    None => {
                        p.pairs.remove(phone);
                        if p.draining.get(phone) == Some(&generation) {
                            p.draining.remove(phone);
                        }
                        return Ok(None);
                    }
                }
            };
            match store.db().get_cf(store.cf(Cf::CloudMessages), &key)? {
                Some(v) => {
                    let parked = serde_json::from_slice(&v)
                        .map_err(|e| StoreError::Corrupt(format!("parked Cloud API message: {e}")))?;
                    return Ok(Some((key, parked)));
                }
                // Deleted meanwhile (the instance was torn down): forget it and look again.
                None => self.forget_front(instance, phone, None),
            }
        }
    }

    /// The pair's oldest message is gone from the store (sent or failed): drop it here too.
    pub fn forget_front(&self, instance: &InstanceId, phone: &Phone, message: Option<&MessageId>) {
        let mut all = self.lock();
        if let Some(p) = all.get_mut(instance) {
            if let Some(q) = p.pairs.get_mut(phone) {
                q.pop_front();
            }
            if message.is_some_and(|m| p.ids.remove(m)) {
                self.gauge.dec();
            }
        }
    }

    /// The pair's drain task of `generation` stops early (its connection closed): a later
    /// connection runs its own.
    pub fn stop_draining(&self, instance: &InstanceId, phone: &Phone, generation: Generation) {
        if let Some(p) = self.lock().get_mut(instance) {
            if p.draining.get(phone) == Some(&generation) {
                p.draining.remove(phone);
            }
        }
    }

    /// Reloads `instance`'s parked messages from the store (a blocking read: on the blocking
    /// pool) for connection `generation`, and returns the recipients whose drain task must be
    /// started on it (all that have parked messages; tasks of older connections stop by
    /// themselves).
    pub fn load(&self, store: &Store, instance: InstanceId, generation: Generation) -> Result<Vec<Phone>, StoreError> {
        let prefix = instance_prefix(&instance);
        let mut it = store.db().raw_iterator_cf(store.cf(Cf::CloudMessages));
        it.seek(&prefix);
        let mut loaded = Parking::default();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if !k.starts_with(&prefix) || loaded.len() >= MAX_PARKED_PER_INSTANCE {
                break;
            }
            if let Ok(parked) = serde_json::from_slice::<Parked>(v) {
                loaded.pairs.entry(parked.message.phone).or_default().push_back(k.to_vec());
                loaded.ids.insert(parked.message.message_id);
            }
            it.next();
        }
        it.status()?;
        let start: Vec<Phone> = loaded.pairs.keys().cloned().collect();
        loaded.draining = start.iter().map(|p| (p.clone(), generation)).collect();
        let mut all = self.lock();
        let now = loaded.len() as i64;
        let before = if loaded.ids.is_empty() { all.remove(&instance) } else { all.insert(instance, loaded) };
        self.gauge.add(now - before.map_or(0, |p| p.len() as i64));
        Ok(start)
    }

    /// Forgets `instance` (logged out or deleted: its records go with the instance's span).
    pub fn forget(&self, instance: &InstanceId) {
        if let Some(p) = self.lock().remove(instance) {
            self.gauge.sub(p.len() as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::metrics::Metrics;
    use crate::queue::Content;

    fn gauge() -> prometheus::IntGauge {
        prometheus::IntGauge::new("parked", "test").unwrap()
    }

    fn parked(phone: &str) -> Parked {
        Parked {
            message: OutboundMessage::new(InstanceId::generate(), Phone::parse(phone).unwrap(), Content::text("hi")),
            body: serde_json::json!({"to": phone}),
            parked_ms: 1,
        }
    }

    #[tokio::test]
    async fn parked_messages_come_back_per_recipient_in_order_also_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 64, Arc::new(Metrics::new())).unwrap();
        let book = ParkBook::new(gauge());
        let i = InstanceId::generate();
        let (a1, a2, b1) = (parked("5511900000001"), parked("5511900000001"), parked("5511900000002"));
        let g = Generation(1);
        assert!(book.park(&store, i, &a1, g).await.unwrap(), "the first of a recipient starts its drain");
        assert!(!book.park(&store, i, &a2, g).await.unwrap(), "the second waits behind it");
        assert!(book.park(&store, i, &b1, g).await.unwrap(), "another recipient has a drain of its own");
        assert!(book.holds(&i, &a2.message.message_id) && book.waiting_for(&i, &a1.message.phone));
        assert_eq!(book.count(&i), 3);
        assert_eq!(book.gauge.get(), 3, "the gauge follows the book");

        // A restart: a new book reads the same order back from the store.
        let book = ParkBook::new(gauge());
        let g = Generation(2);
        let mut starts = book.load(&store, i, g).unwrap();
        starts.sort_by(|x, y| x.as_str().cmp(y.as_str()));
        assert_eq!(starts, vec![a1.message.phone.clone(), b1.message.phone.clone()]);
        let (k1, first) = book.front(&store, &i, &a1.message.phone, g).unwrap().unwrap();
        assert_eq!(first, a1);
        let mut batch = Batch::new();
        batch.delete(Cf::CloudMessages, k1);
        store.commit(batch).await.unwrap();
        book.forget_front(&i, &a1.message.phone, Some(&a1.message.message_id));
        assert_eq!(book.front(&store, &i, &a1.message.phone, g).unwrap().map(|(_, p)| p), Some(a2.clone()));
        assert!(!book.holds(&i, &a1.message.message_id));
    }

    #[tokio::test]
    async fn an_instance_parks_no_more_than_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 64, Arc::new(Metrics::new())).unwrap();
        let book = ParkBook::new(gauge());
        let i = InstanceId::generate();
        for _ in 0..MAX_PARKED_PER_INSTANCE {
            book.park(&store, i, &parked("5511900000001"), Generation(1)).await.unwrap();
        }
        let over = book.park(&store, i, &parked("5511900000003"), Generation(1)).await;
        assert!(matches!(over, Err(ParkError::Full)));
        assert_eq!(book.count(&InstanceId::generate()), 0, "bounds are per instance");
    }
}
