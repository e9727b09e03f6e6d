//! The connection side of a session, carried out on its shard: connecting with saved
//! credentials, reconnecting after a loss with backoff, timing out attempts the network never
//! answers, and telling stale answers (an older [`Generation`]) from current ones. The state
//! machine's states live in `session::Link`; this file moves between them.

use std::time::Instant;

use chatedge_config::InstanceId;

use super::Shard;
use crate::session::{reconnect, Link};

impl Shard {
    /// Starts a connection attempt with the session's saved credentials (after a restart, a
    /// restart request or a backoff wait). A session without credentials goes offline.
    pub(super) fn connect(&mut self, id: InstanceId) {
        let timeout = self.deps.session.connect_timeout;
        let s = self.session(id);
        let Some(credentials) = s.record.as_ref().map(|r| r.credentials.clone()) else {
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
