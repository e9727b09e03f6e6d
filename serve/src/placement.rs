//! placement: which runtime a TCP connection is served on. By default a listener's
//! connections run on the runtime that accepts them; with a [`Placement`] each accepted
//! connection is handed to one of a set of other runtimes (the data plane's shard threads), so
//! that a request, the shard command it becomes and the reply to it stay on one thread instead
//! of crossing threads twice. Connections are handed out round robin, unless the placement
//! [`steers`](Placement::steering): then a connection's first bytes (its first request's line:
//! on a plain connection read with `peek` so nothing is consumed, on a TLS one read after the
//! handshake and served again, relocate.rs) may name the runtime its requests want — the data
//! plane's edge reads a Z-API instance path there and names that instance's shard — and the
//! connection goes there while that runtime holds no more than one and a half times its even
//! share of the open connections (plus a few). A client that keeps a connection per instance
//! then never crosses threads; one whose connection serves many instances crosses for the
//! others, as before. h2 connections are spread round robin (their request heads are
//! compressed, and a connection carries many). HTTP/3 cannot move a connection (its packets
//! arrive on an endpoint's socket), so it runs one endpoint on each runtime instead (h3.rs).
//! It owns no connection: it only chooses where one runs and counts how many are open on each
//! runtime, and how many were steered.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use prometheus::{IntCounter, IntGauge};
use tokio::runtime::Handle;

/// Bytes of a connection's beginning a [`Steer`] is shown: a request line's method and
/// the start of its path.
pub const STEER_HEAD_BYTES: usize = 96;

/// Open connections a runtime may hold beyond one and a half times its even share and still
/// take steered ones, so that a few connections never count as an imbalance.
const STEER_SLACK: i64 = 16;

/// Reads the first bytes a connection sent (at most [`STEER_HEAD_BYTES`]; fewer when the
/// client had sent fewer; none for an h2 connection) and names the runtime, by index, its requests would rather run
/// on — `None` when they say nothing about it.
pub type Steer = Arc<dyn Fn(&[u8]) -> Option<usize> + Send + Sync>;

/// A placement's steering: the [`Steer`], and counters of the connections it placed
/// (`steered`) and of those it left to round robin (`spread`: the head named no runtime, or
/// the one it named held too many connections already).
#[derive(Clone)]
pub struct Steering {
    pub steer: Steer,
    pub steered: IntCounter,
    pub spread: IntCounter,
}

/// The runtimes connections are spread over, and a gauge of open connections for each.
#[derive(Clone)]
pub struct Placement {
    runtimes: Arc<[(Handle, IntGauge)]>,
    next: Arc<AtomicUsize>,
    steering: Option<Steering>,
}

/// A connection's place: the runtime it runs on, and its count there while it is open.
pub(crate) struct Place {
    pub(crate) runtime: Handle,
    gauge: IntGauge,
}

/// Held by a connection's task for as long as the connection is open.
pub(crate) struct Open(IntGauge);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Placement {
    /// Spreads connections over `runtimes`, each with the gauge that counts its open
    /// connections. `None` when there is no runtime to spread over.
    pub fn new(runtimes: Vec<(Handle, IntGauge)>) -> Option<Self> {
        (!runtimes.is_empty()).then(|| Placement { runtimes: runtimes.into(), next: Arc::default(), steering: None })
    }

    /// This placement, steering connections by their first bytes.
    pub fn steering(self, steering: Steering) -> Self {
        Placement { steering: Some(steering), ..self }
    }

    /// Whether connections wait for their first bytes to be placed.
    pub(crate) fn steers(&self) -> bool {
        self.steering.is_some()
    }

    /// The runtime a connection that began with `head` runs on: the one the steer names
    /// while it has room, else the next in turn.
    pub(crate) fn choose(&self, head: &[u8]) -> Place {
        let Some(steering) = &self.steering else { return self.next() };
        match (steering.steer)(head).filter(|&i| self.has_room(i)) {
            Some(i) => {
                steering.steered.inc();
                let (runtime, gauge) = &self.runtimes[i];
                Place { runtime: runtime.clone(), gauge: gauge.clone() }
            }
            None => {
                steering.spread.inc();
                self.next()
            }
        }
    }

    /// Whether runtime `i` exists and holds at most one and a half times its even share of
    /// the open connections (plus [`STEER_SLACK`]): one busy instance's many connections
    /// never all pile onto one thread while the others idle.
    fn has_room(&self, i: usize) -> bool {
        let Some((_, gauge)) = self.runtimes.get(i) else { return false };
        let total: i64 = self.runtimes.iter().map(|(_, g)| g.get()).sum();
        let share = total / self.runtimes.len() as i64;
        gauge.get() <= share + share / 2 + STEER_SLACK
    }

    /// Every runtime once, in order: where a listener that needs one of itself on each runtime
    /// (HTTP/3's endpoints) puts them.
    pub(crate) fn each(&self) -> Vec<Place> {
        self.runtimes.iter().map(|(runtime, gauge)| Place { runtime: runtime.clone(), gauge: gauge.clone() }).collect()
    }

    /// The runtime the next connection runs on.
    pub(crate) fn next(&self) -> Place {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.runtimes.len();
        let (runtime, gauge) = &self.runtimes[i];
        Place { runtime: runtime.clone(), gauge: gauge.clone() }
    }
}

impl Place {
    /// Counts the connection open until the returned guard is dropped.
    pub(crate) fn open(&self) -> Open {
        self.gauge.inc();
        Open(self.gauge.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtimes(n: usize) -> Vec<tokio::runtime::Runtime> {
        (0..n).map(|_| tokio::runtime::Builder::new_current_thread().build().expect("a runtime")).collect()
    }

    fn counter(name: &str) -> IntCounter {
        IntCounter::new(name, name).expect("a counter")
    }

    #[test]
    fn a_steered_connection_goes_where_its_head_says_until_that_runtime_holds_too_many() {
        let rts = runtimes(4);
        let gauges: Vec<IntGauge> = (0..4).map(|i| IntGauge::new(format!("g{i}"), "open").expect("a gauge")).collect();
        let placement =
            Placement::new(rts.iter().zip(&gauges).map(|(rt, g)| (rt.handle().clone(), g.clone())).collect())
                .expect("runtimes")
                .steering(Steering {
                    steer: Arc::new(|head: &[u8]| {
                        head.first().and_then(|b| (*b as char).to_digit(10)).map(|d| d as usize)
                    }),
                    steered: counter("steered"),
                    spread: counter("spread"),
                });
        let steering = placement.steering.clone().expect("steering");
        let mut open = Vec::new();
        // Runtime 2 takes the connections naming it while it holds at most 1.5 × its even
        // share + 16 (the first 17 at least); the rest go round robin, some to it as well.
        for _ in 0..40 {
            open.push(placement.choose(b"2").open());
        }
        let (steered, spread) = (steering.steered.get(), steering.spread.get());
        assert!((17..40).contains(&steered), "runtime 2 took the steered ones it had room for: {steered}");
        assert_eq!(steered + spread, 40, "the rest went round robin");
        assert!(gauges[2].get() as u64 >= steered);
        assert!(gauges.iter().all(|g| g.get() > 0), "spread over all four");
        // A head naming nothing, or a runtime that is not there, goes round robin.
        for head in [&b"x"[..], b"9", b""] {
            let before = steering.spread.get();
            drop(placement.choose(head).open());
            assert_eq!(steering.spread.get(), before + 1, "{head:?}");
        }
        drop(open);
        assert!(gauges.iter().all(|g| g.get() == 0), "closed connections leave the counts");
    }
}
