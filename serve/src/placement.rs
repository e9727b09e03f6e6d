//! placement: which runtime a TCP connection is served on. By default a listener's
//! connections run on the runtime that accepts them; with a [`Placement`] each accepted
//! connection is handed, round robin, to one of a set of other runtimes (the data plane's
//! shard threads), so that a request, the shard command it becomes and the reply to it stay on
//! one thread instead of crossing threads twice. HTTP/3 cannot move a connection (its packets
//! arrive on an endpoint's socket), so it runs one endpoint on each runtime instead (h3.rs). It
//! owns no connection: it only chooses where one runs and counts how many are open on each
//! runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use prometheus::IntGauge;
use tokio::runtime::Handle;

/// The runtimes connections are spread over, and a gauge of open connections for each.
#[derive(Clone)]
pub struct Placement {
    runtimes: Arc<[(Handle, IntGauge)]>,
    next: Arc<AtomicUsize>,
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
        (!runtimes.is_empty()).then(|| Placement { runtimes: runtimes.into(), next: Arc::default() })
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
