//! Calls: whatsapp-rust reports each `<call>` stanza (an offer, then the caller's terminate)
//! but, without its call runtime, not which calls rang out unanswered. This module follows the
//! offers that ring here and turns a terminate that ends one unanswered into a missed call, as
//! WhatsApp Web does: a call answered or rejected on another device, or one this engine ended,
//! is not missed. A call offered while the line was offline arrives as missed at once. It keeps
//! a bounded set of ringing calls and nothing on disk; it never sends.

use std::collections::VecDeque;
use std::sync::Mutex;

use whatsapp_rust::wacore::types::call::{CallAction, IncomingCall};
use whatsapp_rust::wacore::types::events::Event;
use whatsapp_rust::Jid;

use crate::engine::{EngineError, EngineEvent};

/// Calls followed at once; the oldest is forgotten past it (a call rings for a minute at most).
const MAX_RINGING: usize = 256;

/// The calls ringing here, oldest first.
#[derive(Default)]
pub struct Ringing {
    calls: Mutex<VecDeque<Ring>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ring {
    id: String,
    /// The caller's phone JID, as the connector names it.
    from: String,
    video: bool,
    /// What a rejection names: the stanza's sender and the call's creator.
    peer: Jid,
    creator: Jid,
}

impl Ringing {
    /// What a whatsapp-rust event means for calls (`None`: not a call the integrator hears of).
    pub fn follow(&self, event: &Event) -> Option<EngineEvent> {
        match event {
            Event::IncomingCall(call) => self.call(call),
            Event::MissedCall(m) => Some(EngineEvent::Call {
                id: m.call_id.clone(),
                from: phone_jid(&m.from)?,
                video: false,
                missed: true,
                at_ms: super::ms(&m.timestamp),
            }),
            Event::CallEndedElsewhere(e) => {
                self.end(&e.call_id);
                None
            }
            _ => None,
        }
    }

    fn call(&self, call: &IncomingCall) -> Option<EngineEvent> {
        let at_ms = super::ms(&call.timestamp);
        match &call.action {
            // A group call's offer, and offers replayed from the offline queue (whatsapp-rust
            // reports those as missed itself), do not ring here.
            CallAction::Offer { call_id, call_creator, caller_pn, is_video, group_jid: None, .. } if !call.offline => {
                let from = caller_pn.as_ref().and_then(phone_jid).or_else(|| phone_jid(&call.from))?;
                let ring = Ring {
                    id: call_id.clone(),
                    from: from.clone(),
                    video: *is_video,
                    peer: call.from.clone(),
                    creator: call_creator.clone(),
                };
                self.offered(ring);
                Some(EngineEvent::Call { id: call_id.clone(), from, video: *is_video, missed: false, at_ms })
            }
            CallAction::Terminate { call_id, reason, .. } => {
                let ring = self.end(call_id)?;
                let unanswered = matches!(reason.as_deref(), None | Some("timeout"));
                unanswered.then_some(EngineEvent::Call {
                    id: ring.id,
                    from: ring.from,
                    video: ring.video,
                    missed: true,
                    at_ms,
                })
            }
            // Answered or declined by one of the account's devices: no longer ringing.
            CallAction::Accept { call_id, .. } | CallAction::Reject { call_id, .. } => {
                self.end(call_id);
                None
            }
            _ => None,
        }
    }

    fn offered(&self, ring: Ring) {
        let mut calls = self.lock();
        if calls.iter().any(|r| r.id == ring.id) {
            return; // the same offer again (a retransmission)
        }
        if calls.len() >= MAX_RINGING {
            calls.pop_front();
        }
        calls.push_back(ring);
    }

    /// Declines call `id` on `client`'s line; from then on it is not followed (its terminate
    /// is not a missed call).
    pub async fn reject(&self, client: &whatsapp_rust::Client, id: &str) -> Result<(), EngineError> {
        let ring = self.end(id).ok_or_else(|| EngineError::NotFound(format!("call {id}")))?;
        let rejected = client.voip().reject_call(&ring.id, &ring.peer, &ring.creator).await;
        rejected.map_err(|e| EngineError::Unreachable(format!("the call could not be rejected: {e}")))
    }

    /// Stops following call `id`; what it was, if it was ringing.
    fn end(&self, id: &str) -> Option<Ring> {
        let mut calls = self.lock();
        let at = calls.iter().position(|r| r.id == id)?;
        calls.remove(at)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Ring>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The JID as the connector names a caller, when it is a phone number's (not a private id).
fn phone_jid(jid: &Jid) -> Option<String> {
    jid.is_pn().then(|| format!("{}@s.whatsapp.net", jid.user))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(id: &str, video: bool) -> Ring {
        let from = "5511988887777@s.whatsapp.net";
        let peer: Jid = from.parse().unwrap();
        Ring { id: id.to_owned(), from: from.to_owned(), video, creator: peer.clone(), peer }
    }

    #[test]
    fn only_a_ringing_call_ends_as_missed_and_the_set_stays_bounded() {
        let ringing = Ringing::default();
        ringing.offered(ring("A", true));
        ringing.offered(ring("A", true));
        assert_eq!(ringing.lock().len(), 1, "a retransmitted offer rings once");
        let ended = ringing.end("A");
        assert_eq!(ended.map(|r| (r.from, r.video)), Some(("5511988887777@s.whatsapp.net".to_owned(), true)));
        assert_eq!(ringing.end("A"), None, "a second terminate is not a second missed call");
        for n in 0..MAX_RINGING + 10 {
            ringing.offered(ring(&n.to_string(), false));
        }
        assert_eq!(ringing.lock().len(), MAX_RINGING);
        assert_eq!(ringing.end("0"), None, "the oldest was forgotten");
        assert!(ringing.end(&(MAX_RINGING + 9).to_string()).is_some());
    }
}
