//! session owns one instance's life on its shard: the link state machine (offline → pairing →
//! online, or connecting with saved credentials), its queue, and pacing — what may leave next
//! and when. It decides; the shard carries the decisions out (network calls, commits, timers).
//! Runs only on the owning shard's thread.
//!
//! The link keeps "logged out" ([`Link::Offline`]: a new scan is needed) apart from
//! "connection lost" ([`Link::Connecting`]: the saved credentials are still good and the
//! session reconnects by itself, backing off per [`reconnect`]). Every connection attempt gets
//! a new [`Generation`]; answers naming an older one are recognised as stale.

pub mod pacing;
pub mod reconnect;

use std::time::{Duration, Instant};

use chatedge_config::snapshot::Pacing;
use chatedge_config::{InstanceId, Phone};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::error::CoreError;
use crate::network::{Credentials, Generation, PairingMethod};
use crate::queue::{InstanceQueue, Queued};
use crate::store::{Store, StoreError};

/// Someone waiting for the next pairing code.
pub type QrWaiter = oneshot::Sender<Result<String, CoreError>>;

/// The link between the instance and the network.
#[derive(Debug)]
pub enum Link {
    /// Not connected and not pairing.
    Offline,
    /// Showing pairing codes (QR, or by phone number) or registering the number; `code` is
    /// the current one once the network sent it.
    Pairing {
        method: PairingMethod,
        code: Option<String>,
        waiters: Vec<QrWaiter>,
    },
    /// Connecting with the saved credentials: an attempt is under way until `at` (then it
    /// counts as failed) when `attempting`, otherwise the next attempt starts at `at`.
    /// `attempt` counts the failed attempts since the link was last online.
    Connecting {
        attempt: u32,
        at: Instant,
        attempting: bool,
    },
    Online {
        phone: Phone,
    },
}

impl Link {
    /// Bounded label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Link::Offline => "disconnected",
            Link::Pairing { .. } => "qr_ready",
            Link::Connecting { .. } => "connecting",
            Link::Online { .. } => "connected",
        }
    }
}

/// What survives a restart: the paired phone and the network's credentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    pub phone: Phone,
    pub credentials: Credentials,
    pub paired_ms: u64,
}

impl SessionRecord {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default() // plain data: cannot fail
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("session record: {e}")))
    }
}

/// What the pump should do next for a session.
#[derive(Debug)]
// A transient answer, moved once: boxing `Send` would only add an allocation per message.
#[allow(clippy::large_enum_variant)]
pub enum Step {
    /// Nothing to send, or not connected, or a message is on the wire.
    Idle,
    /// Come back at this time (pacing or typing in progress).
    WaitUntil(Instant),
    /// Show "typing…" to the recipient of the message `seq` until the given time.
    Type { to: Phone, until: Instant, presence: crate::network::Presence },
    /// Put this message on the wire.
    Send(Queued),
}

pub struct Session {
    pub id: InstanceId,
    pub link: Link,
    pub record: Option<SessionRecord>,
    pub queue: InstanceQueue,
    /// Taken from the queue and handed to the network; awaiting Accepted/Rejected.
    pub in_flight: Option<Queued>,
    /// The current connection attempt (pairing or resuming).
    pub generation: Generation,
    last_sent: Option<Instant>,
    /// The gap to keep after `last_sent` when the next message names no delayMessage.
    next_gap: Duration,
    /// Typing shown for message `seq` until the instant.
    typing: Option<(u64, Instant)>,
    /// The earliest pending timer, so repeated waits do not pile up timers.
    pub wake_at: Option<Instant>,
}

impl Session {
    pub fn new(id: InstanceId, queue: InstanceQueue) -> Self {
        Session {
            id,
            link: Link::Offline,
            record: None,
            queue,
            in_flight: None,
            generation: Generation::default(),
            last_sent: None,
            next_gap: Duration::ZERO,
            typing: None,
            wake_at: None,
        }
    }

    pub fn is_online(&self) -> bool {
        matches!(self.link, Link::Online { .. })
    }

    pub fn phone(&self) -> Option<&Phone> {
        match &self.link {
            Link::Online { phone } => Some(phone),
            _ => None,
        }
    }

    /// The instance's pacing changed: a gap drawn under the old one that the new one would
    /// not draw is drawn again, so the change applies to the message waiting now and not only
    /// after it. Returns whether it was.
    pub fn repace(&mut self, pacing: Pacing) -> bool {
        let ms = u64::try_from(self.next_gap.as_millis()).unwrap_or(u64::MAX);
        if (pacing.min_delay_ms..=pacing.max_delay_ms).contains(&ms) {
            return false;
        }
        self.next_gap = pacing::draw(pacing);
        true
    }

    /// Decides what leaves next. `pacing` is the instance's pacing (tenant override or node
    /// default); Z-API semantics: `delayMessage` replaces the random gap before that message,
    /// `delayTyping` shows "typing…" for that long right before it leaves.
    pub fn next_step(&mut self, now: Instant, store: &Store, pacing: Pacing) -> Result<Step, StoreError> {
        if !self.is_online() || self.in_flight.is_some() {
            return Ok(Step::Idle);
        }
        let Some(front) = self.queue.front(store)? else { return Ok(Step::Idle) };
        let gap = front.message.delay_message_s.map(|s| Duration::from_secs(s as u64)).unwrap_or(self.next_gap);
        if let Some(ready) = self.last_sent.map(|t| t + gap).filter(|t| *t > now) {
            return Ok(Step::WaitUntil(ready));
        }
        if let Some(secs) = front.message.delay_typing_s {
            match self.typing {
                Some((seq, until)) if seq == front.seq && until > now => return Ok(Step::WaitUntil(until)),
                Some((seq, _)) if seq == front.seq => {}
                _ => {
                    let until = now + Duration::from_secs(secs as u64);
                    let to = front.message.phone.clone();
                    let presence = front.message.content.presence();
                    self.typing = Some((front.seq, until));
                    return Ok(Step::Type { to, until, presence });
                }
            }
        }
        let Some(taken) = self.queue.take_front(store)? else { return Ok(Step::Idle) };
        self.last_sent = Some(now);
        self.next_gap = pacing::draw(pacing);
        self.typing = None;
        Ok(Step::Send(taken))
    }

    /// Starts a new connection attempt: answers from earlier ones become stale.
    pub fn next_generation(&mut self) -> Generation {
        self.generation = Generation(self.generation.0 + 1);
        self.generation
    }

    /// The connection dropped: the message on the wire goes back to the head of the queue and
    /// is resent (with the same id) once connected again — unless a late answer for it arrives
    /// first (`InstanceQueue::take_put_back`).
    pub fn requeue_in_flight(&mut self) {
        if let Some(q) = self.in_flight.take() {
            self.queue.put_back(q);
        }
        self.typing = None;
    }

    /// Failed connection attempts since the link was last online.
    pub fn failed_attempts(&self) -> u32 {
        match self.link {
            Link::Connecting { attempt, .. } => attempt,
            _ => 0,
        }
    }

    /// Answers everyone waiting for a pairing code.
    pub fn answer_qr_waiters(&mut self, answer: impl Fn() -> Result<String, CoreError>) {
        if let Link::Pairing { waiters, .. } = &mut self.link {
            for w in waiters.drain(..) {
                let _ = w.send(answer()); // the request may have timed out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_pacing_redraws_only_a_gap_it_would_not_have_drawn() {
        let id = InstanceId::random();
        let mut s = Session::new(id, InstanceQueue::new(id));
        let hour = Pacing { min_delay_ms: 3_600_000, max_delay_ms: 3_600_000 };
        let quick = Pacing { min_delay_ms: 0, max_delay_ms: 50 };
        assert!(s.repace(hour), "no gap drawn yet (zero) is outside an hour");
        assert_eq!(s.next_gap, Duration::from_secs(3_600));
        assert!(!s.repace(hour), "the same pacing leaves it");
        assert!(s.repace(quick), "an hour is outside 0–50 ms");
        assert!(s.next_gap <= Duration::from_millis(50));
        assert!(!s.repace(Pacing { min_delay_ms: 0, max_delay_ms: 3_600_000 }), "a wider range keeps it");
    }
}
