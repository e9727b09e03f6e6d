//! What the chaos scenario's tasks share: whether chatedge is up ([`Server`], so a failed
//! request can be blamed on a kill or not), failures by kind ([`Tally`]), the paired
//! instances traffic goes to ([`Fleet`]) and the stop signal ([`Stop`]). Plain data behind
//! atomics and short locks, never held across an `.await`; used from every task of the
//! scenario's runtime.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hyper::Uri;
use serde::Serialize;
use tokio::sync::watch;

use crate::client::{uri, CallError};
use crate::provision::Instance;

/// Whether chatedge is serving, and a counter bumped at every kill and every restart.
#[derive(Default)]
pub struct Server {
    up: AtomicBool,
    epoch: AtomicU64,
}

/// What a request saw of the server when it started.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    up: bool,
    epoch: u64,
}

impl Server {
    pub fn seen(&self) -> Seen {
        Seen { up: self.up.load(Ordering::Acquire), epoch: self.epoch.load(Ordering::Acquire) }
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Called just before a kill, so that requests it breaks are blamed on it.
    pub fn going_down(&self) {
        self.up.store(false, Ordering::Release);
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Called once both planes listen again.
    pub fn came_up(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.up.store(true, Ordering::Release);
    }

    /// True when a request that started at `before` overlapped a time the server was down.
    pub fn disturbed(&self, before: Seen) -> bool {
        let now = self.seen();
        !before.up || !now.up || before.epoch != now.epoch
    }
}

/// Failed operations of one kind (sends, pairings, faults), split by whether the server was
/// down meanwhile (expected) or up (worth a look).
#[derive(Default)]
pub struct Tally {
    /// Locked once per failure.
    inner: Mutex<Failures>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Failures {
    /// Failures while the server was down or restarting, by kind (`connect`, `io`, ...).
    pub server_down: BTreeMap<String, u64>,
    /// Failures while the server was up, by kind.
    pub server_up: BTreeMap<String, u64>,
    /// One message per kind of failure while the server was up.
    pub samples: BTreeMap<String, String>,
}

impl Failures {
    pub fn down_total(&self) -> u64 {
        self.server_down.values().sum()
    }

    pub fn up_total(&self) -> u64 {
        self.server_up.values().sum()
    }
}

impl Tally {
    pub fn fail(&self, down: bool, e: &CallError) {
        let mut f = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let kind = e.kind();
        if down {
            *f.server_down.entry(kind).or_insert(0) += 1;
        } else {
            f.samples.entry(kind.clone()).or_insert_with(|| e.to_string());
            *f.server_up.entry(kind).or_insert(0) += 1;
        }
    }

    pub fn snapshot(&self) -> Failures {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A paired instance traffic goes to.
pub struct Member {
    pub instance: Instance,
    pub send_text: Uri,
    /// Its device was removed (`/sim/logout`): the pairing task pairs it again.
    pub logged_out: AtomicBool,
}

/// The instances traffic goes to; grows as pairings succeed during the run.
#[derive(Default)]
pub struct Fleet {
    /// Read per request, written per paired instance; never held across an `.await`.
    members: RwLock<Vec<Arc<Member>>>,
}

impl Fleet {
    pub fn add(&self, data_plane: &str, instance: Instance) -> anyhow::Result<()> {
        let send_text = uri(data_plane, &instance.path("send-text"))?;
        let m = Arc::new(Member { instance, send_text, logged_out: AtomicBool::new(false) });
        self.members.write().unwrap_or_else(|p| p.into_inner()).push(m);
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<Member>>> {
        self.members.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Member `n` modulo the fleet's size.
    pub fn nth(&self, n: u64) -> Option<Arc<Member>> {
        let m = self.read();
        if m.is_empty() {
            return None;
        }
        m.get((n % m.len() as u64) as usize).cloned()
    }

    pub fn logged_out(&self) -> Vec<Arc<Member>> {
        self.read().iter().filter(|m| m.logged_out.load(Ordering::Acquire)).cloned().collect()
    }

    pub fn all(&self) -> Vec<Arc<Member>> {
        self.read().clone()
    }
}

/// The stop signal every loop of the scenario watches.
#[derive(Clone)]
pub struct Stop {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop { tx: Arc::new(watch::channel(false).0) }
    }
}

impl Stop {
    pub fn stop(&self) {
        self.tx.send_replace(true);
    }

    pub fn stopped(&self) -> bool {
        *self.tx.borrow()
    }

    /// Returns at the stop.
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Sleeps for `d` or until the stop; true when stopped.
    pub async fn nap(&self, d: Duration) -> bool {
        let mut rx = self.tx.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = rx.wait_for(|s| *s) => {}
        }
        self.stopped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kill_during_a_request_blames_the_failure_on_the_kill() {
        let s = Server::default();
        s.came_up();
        let before = s.seen();
        assert!(!s.disturbed(before));
        s.going_down();
        s.came_up();
        assert!(s.disturbed(before), "restarted meanwhile");
        assert!(!s.disturbed(s.seen()));
        s.going_down();
        assert!(s.disturbed(s.seen()), "down now");
    }

    #[test]
    fn failures_are_split_by_server_state_with_samples_for_the_surprising_ones() {
        let t = Tally::default();
        t.fail(true, &CallError::Connect("refused".into()));
        t.fail(false, &CallError::Status { status: 503, body: "busy".into() });
        t.fail(false, &CallError::Status { status: 503, body: "busy again".into() });
        let f = t.snapshot();
        assert_eq!((f.down_total(), f.up_total()), (1, 2));
        assert_eq!(f.samples.get("http_503").map(String::as_str), Some("HTTP 503: busy"));
        assert!(!f.samples.contains_key("connect"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_nap_ends_early_at_the_stop() {
        let stop = Stop::default();
        assert!(!stop.nap(Duration::from_millis(10)).await);
        let s = stop.clone();
        let napping = tokio::spawn(async move { s.nap(Duration::from_secs(3600)).await });
        stop.stop();
        assert!(napping.await.expect("nap"));
    }
}
