//! The connection side of a session, carried out on its shard: connecting with saved
//! credentials, reconnecting after a loss with backoff, timing out attempts the network never
//! answers, and telling stale answers (an older [`Generation`]) from current ones. The state
//! machine's states live in `session::Link`; this file moves between them.

use std::time::Instant;

use chatedge_config::snapshot::Network;
use chatedge_config::InstanceId;

use super::Shard;
use crate::network::Credentials;
use crate::session::{reconnect, Link};

impl Shard {
    /// Starts a connection attempt with the session's saved credentials (after a restart, a
    /// restart request or a backoff wait). A session without credentials goes offline.
    pub(super) fn connect(&mut self, id: InstanceId) {
        let timeout = self.deps.session.connect_timeout;
        // A Cloud API instance has no pairing: its credentials are in its configuration, so it
        // connects (the connector verifies them) whether or not a session was saved.
        let cloud = self.is_cloud_api(&id);
        let s = self.session(id);
        let saved = s.record.as_ref().map(|r| r.credentials.clone());
        let Some(credentials) = saved.or_else(|| cloud.then(|| Credentials(String::new()))) else {
            s.link = Link::Offline;
            return;
        };
        let attempt = s.failed_attempts();
        let generation = s.next_generation();
        let at = Instant::now() + timeout;
        s.link = Link::Connecting { attempt, at, attempting: true };
        self.counters.link("attempt");
        self.connector.resume(id, &credentials, generation);
        self.schedule(id, at);
    }

    pub(super) fn is_cloud_api(&self, id: &InstanceId) -> bool {
        self.deps.config.load().instances.get(id).is_some_and(|c| matches!(c.network, Network::CloudApi(_)))
    }

    /// Connects the Cloud API instances of this shard that are not connected or connecting,
    /// each time the configuration changed (a new instance, new credentials after a logout),
    /// and lets queues held by their account go on (`release_held`).
    /// Called at start and from the shard's once-a-second report.
    pub(super) fn autoconnect(&mut self) {
        let config = self.deps.config.load_full();
        if config.version == self.config_seen {
            return;
        }
        self.config_seen = config.version;
        self.release_held();
        let mine = config.instances.values().filter(|c| c.id.shard(self.count) == self.index);
        let idle: Vec<InstanceId> = mine
            .filter(|c| matches!(c.network, Network::CloudApi(_)) && c.active)
            .filter(|c| self.sessions.get(&c.id).is_none_or(|s| matches!(s.link, Link::Offline)))
            .map(|c| c.id)
            .collect();
        for id in idle {
            self.connect(id);
        }
    }

    /// The connection was lost or an attempt failed, with the credentials still good: the
    /// message on the wire goes back to the queue and the next attempt waits its backoff.
    pub(super) fn reconnect_later(&mut self, id: InstanceId) {
        let cfg = self.deps.session;
        let s = self.session(id);
        s.requeue_in_flight();
        let attempt = match s.link {
            Link::Connecting { attempt, attempting: true, .. } => attempt + 1,
            Link::Connecting { attempt, .. } => attempt,
            _ => 0,
        };
        // Answers from the lost connection are stale from now on.
        s.next_generation();
        let at = Instant::now() + reconnect::wait(cfg, attempt);
        s.link = Link::Connecting { attempt, at, attempting: false };
        self.schedule(id, at);
    }

    /// A timer fired for `id`: a due reconnect starts, an attempt past its deadline fails;
    /// then the session's queue gets its turn.
    pub(super) fn tick(&mut self, id: InstanceId) {
        let now = Instant::now();
        let Some(s) = self.sessions.get_mut(&id) else { return };
        if let Link::Connecting { at, attempting, .. } = s.link {
            if at > now {
                self.schedule(id, at);
            } else if attempting {
                tracing::info!(instance = %id, "connection attempt not answered in time; backing off");
                self.counters.link("attempt_timed_out");
                self.connector.close(id, false);
                self.reconnect_later(id);
            } else {
                self.connect(id);
            }
            return;
        }
        self.pump(id);
    }
}
