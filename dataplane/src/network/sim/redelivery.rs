//! The sim's memory of events it delivered and chatedge has not acknowledged yet — what a real
//! network keeps on its servers. One [`Pending`] per shard (locked only by that shard's
//! connector, the admin routes that inject events for its instances, and the sweeper, never
//! across `.await`); the sweeper task redelivers what stayed unacknowledged for
//! `incoming_redelivery`, at most [`MAX_REDELIVERIES`] times.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::network::{AckId, NetworkEvent};

/// Redeliveries of an unacknowledged event before the sim gives up on it.
pub const MAX_REDELIVERIES: u32 = 5;
/// Unacknowledged events remembered per shard; past it new events are delivered once only.
const MAX_PENDING: usize = 100_000;

#[derive(Default)]
pub struct Pending {
    events: HashMap<AckId, (NetworkEvent, u32)>,
    due: VecDeque<(Instant, AckId)>,
}

impl Pending {
    /// Remembers `event` (which carries `ack`) until acknowledged.
    pub fn track(&mut self, ack: AckId, event: &NetworkEvent, redeliver_after: Duration) {
        if self.events.len() >= MAX_PENDING {
            return;
        }
        self.events.insert(ack, (event.clone(), 0));
        self.due.push_back((Instant::now() + redeliver_after, ack));
        // Acknowledged events leave `events` at once but their due entries only when they come
        // due: drop those now and then, so `due` stays within twice the bound.
        if self.due.len() >= 2 * MAX_PENDING {
            let events = &self.events;
            self.due.retain(|(_, a)| events.contains_key(a));
        }
    }

    pub fn ack(&mut self, ack: AckId) {
        self.events.remove(&ack);
    }

    /// Events due for redelivery now; each is rescheduled while it has redeliveries left.
    fn due_now(&mut self, now: Instant, redeliver_after: Duration) -> Vec<NetworkEvent> {
        let mut out = Vec::new();
        while let Some(&(at, ack)) = self.due.front() {
            if at > now {
                break;
            }
            self.due.pop_front();
            let Some((event, sent)) = self.events.get_mut(&ack) else { continue };
            out.push(event.clone());
            *sent += 1;
            if *sent >= MAX_REDELIVERIES {
                self.events.remove(&ack);
            } else {
                self.due.push_back((now + redeliver_after, ack));
            }
        }
        out
    }
}

pub type Shared = Arc<Mutex<Pending>>;

pub fn lock(p: &Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
    // A panic while holding the lock leaves at worst an event redelivered once too often.
    p.lock().unwrap_or_else(|e| e.into_inner())
}

/// Redelivers due events until the network is dropped. Owned by the runtime that started the
/// data plane; it ends when the last `Arc` of the shard list goes.
pub async fn sweep(shards: Weak<Vec<(Shared, mpsc::Sender<NetworkEvent>)>>, redeliver_after: Duration) {
    let tick = (redeliver_after / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        tokio::time::sleep(tick).await;
        let Some(shards) = shards.upgrade() else { return };
        let now = Instant::now();
        for (pending, tx) in shards.iter() {
            let due = lock(pending).due_now(now, redeliver_after);
            for event in due {
                // Full channel: the shard is behind; this event comes again at its next turn
                // (or was dropped if it was its last), like a real network's redelivery.
                let _ = tx.try_send(event);
            }
        }
    }
}
