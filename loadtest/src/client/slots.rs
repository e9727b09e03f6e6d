//! slots: the fixed set of multiplexed connections the h2 and h3 engines keep per origin
//! (`--connections`), requests spread round-robin over them. A slot connects on first use and
//! again when its connection has closed; while it connects, the requests that picked it wait
//! for that one connection instead of opening more — the number of connections is what the
//! flag promises. Used from any runtime worker; the origin map is locked only to look up or
//! insert an origin, never across an `.await`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::protocol::Origin;
use super::CallError;

/// A handle to one open multiplexed connection (cheap to clone).
pub trait Multiplexed: Clone + Send + Sync + 'static {
    /// Whether new requests can still go on it.
    fn is_open(&self) -> bool;
}

/// The connections of every origin this client talks to.
pub struct Slots<C> {
    per_origin: usize,
    /// A handful of origins per run (data plane, control plane, baseline).
    origins: Mutex<HashMap<Origin, Arc<Ring<C>>>>,
}

struct Ring<C> {
    /// An async lock on purpose: held across the connect, so one slot opens one connection.
    slots: Vec<tokio::sync::Mutex<Option<C>>>,
    next: AtomicUsize,
}

impl<C: Multiplexed> Slots<C> {
    pub fn new(per_origin: usize) -> Slots<C> {
        Slots { per_origin: per_origin.max(1), origins: Mutex::new(HashMap::new()) }
    }

    /// The next slot's connection for `origin`, opened with `connect` when the slot has none
    /// or its connection closed.
    pub async fn get<F, Fut>(&self, origin: &Origin, connect: F) -> Result<C, CallError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<C, CallError>>,
    {
        let ring = self.ring(origin);
        let slot = &ring.slots[ring.next.fetch_add(1, Ordering::Relaxed) % ring.slots.len()];
        let mut live = slot.lock().await;
        if let Some(conn) = live.as_ref().filter(|c| c.is_open()) {
            return Ok(conn.clone());
        }
        *live = None;
        let conn = connect().await?;
        *live = Some(conn.clone());
        Ok(conn)
    }

    /// Takes every open connection out of its slot (the run is over): the caller closes them.
    pub async fn take_all(&self) -> Vec<C> {
        let rings: Vec<_> =
            self.origins.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect();
        let mut taken = Vec::new();
        for ring in rings {
            for slot in &ring.slots {
                taken.extend(slot.lock().await.take().filter(|c| c.is_open()));
            }
        }
        taken
    }

    fn ring(&self, origin: &Origin) -> Arc<Ring<C>> {
        // A panic elsewhere cannot leave the map half-updated: each update is one insert.
        let mut origins = self.origins.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let ring = origins.entry(origin.clone()).or_insert_with(|| {
            let slots = (0..self.per_origin).map(|_| tokio::sync::Mutex::new(None)).collect();
            Arc::new(Ring { slots, next: AtomicUsize::new(0) })
        });
        ring.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    #[derive(Clone)]
    struct Fake {
        id: usize,
        open: Arc<AtomicBool>,
    }

    impl Multiplexed for Fake {
        fn is_open(&self) -> bool {
            self.open.load(Ordering::Relaxed)
        }
    }

    fn origin() -> Origin {
        Origin { tls: false, host: "127.0.0.1".into(), port: 1 }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_requests_open_exactly_the_configured_connections() {
        let slots = Arc::new(Slots::<Fake>::new(3));
        let opened = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let (slots, opened) = (slots.clone(), opened.clone());
            tasks.spawn(async move {
                let conn = slots
                    .get(&origin(), || async {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await; // a slow handshake
                        let id = opened.fetch_add(1, Ordering::Relaxed);
                        Ok(Fake { id, open: Arc::new(AtomicBool::new(true)) })
                    })
                    .await
                    .expect("connected");
                conn.id
            });
        }
        let mut used = std::collections::BTreeSet::new();
        while let Some(id) = tasks.join_next().await {
            used.insert(id.expect("task"));
        }
        assert_eq!(opened.load(Ordering::Relaxed), 3);
        assert_eq!(used.len(), 3, "requests are spread over every connection");
    }

    #[tokio::test]
    async fn a_closed_connection_is_replaced_and_a_failed_connect_is_retried_next_time() {
        let slots = Slots::<Fake>::new(1);
        let open = Arc::new(AtomicBool::new(true));
        let first = open.clone();
        let a = slots.get(&origin(), || async move { Ok(Fake { id: 1, open: first }) }).await.expect("a");
        let b = slots.get(&origin(), || async { Err(CallError::Connect("unused".into())) }).await.expect("b");
        assert_eq!((a.id, b.id), (1, 1), "an open connection is reused");
        open.store(false, Ordering::Relaxed);
        let failed = slots.get(&origin(), || async { Err(CallError::Connect("refused".into())) }).await;
        assert!(matches!(failed, Err(CallError::Connect(_))));
        let fresh = Arc::new(AtomicBool::new(true));
        let c = slots.get(&origin(), || async move { Ok(Fake { id: 2, open: fresh }) }).await.expect("c");
        assert_eq!(c.id, 2);
    }
}
