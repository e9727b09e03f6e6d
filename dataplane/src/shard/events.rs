//! How a shard turns network events into session state, durable records and webhook events —
//! state and events in one batch (the transactional outbox). Webhook bodies are built only for
//! kinds the instance subscribed to.

use std::sync::Arc;

use chatedge_config::snapshot::{InstanceConfig, WebhookKind};
use chatedge_config::{InstanceId, MessageId, Phone};
use serde_json::Value;

use super::{Shard, Then};
use crate::error::CoreError;
use crate::network::{MessageStatus, NetworkEvent};
use crate::outbox::{payload, Events};
use crate::queue::{OutboundMessage, Queued};
use crate::session::{Link, SessionRecord};
use crate::store::{keys, Batch, Cf};

/// The webhook events one network event produces, for one instance.
struct Outgoing {
    cfg: Option<Arc<InstanceConfig>>,
    batch: Batch,
    events: Events,
}

impl Outgoing {
    fn add(&mut self, kind: WebhookKind, about: Option<&[&[u8]]>, body: impl FnOnce() -> Value) {
        if let Some(cfg) = &self.cfg {
            self.events.add(&mut self.batch, cfg, kind, about, body);
        }
    }
}

impl Shard {
    pub(super) fn on_event(&mut self, event: NetworkEvent) {
        self.counters.network_event(&event);
        let id = event.instance();
        let cfg = self.deps.config.load().instances.get(&id).cloned();
        let mut out = Outgoing { cfg, batch: Batch::new(), events: Events::new() };
        let now = chatedge_config::time::unix_ms();
        let mut then = Then::Nothing;
        match event {
            NetworkEvent::PairingCode { code, .. } => {
                if let Link::Pairing { code: current, .. } = &mut self.session(id).link {
                    *current = Some(code.clone());
                }
                self.session(id).answer_qr_waiters(|| Ok(code.clone()));
            }
            NetworkEvent::PairingExpired { .. } => {
                let s = self.session(id);
                if matches!(s.link, Link::Pairing { .. }) {
                    s.answer_qr_waiters(|| Err(CoreError::PairingExpired));
                    s.link = Link::Offline;
                }
            }
            NetworkEvent::Connected { phone, credentials, .. } => {
                match self.session(id).link {
                    Link::Pairing { .. } | Link::Connecting => {}
                    Link::Online { .. } => return, // already connected: a duplicate answer
                    Link::Offline => {
                        // A late answer to a connection the user has since closed (disconnect).
                        self.connector.close(id, true);
                        return;
                    }
                }
                let s = self.session(id);
                s.answer_qr_waiters(|| Err(CoreError::AlreadyConnected));
                let record = SessionRecord { phone: phone.clone(), credentials, paired_ms: now };
                out.batch.put(Cf::Sessions, keys::session(&id), record.encode());
                s.record = Some(record);
                s.link = Link::Online { phone: phone.clone() };
                out.add(WebhookKind::Connected, None, || payload::connected(&id, &phone, now));
            }
            NetworkEvent::Disconnected { reason, logged_out, .. } => {
                let s = self.session(id);
                s.answer_qr_waiters(|| Err(CoreError::NotConnected));
                s.requeue_in_flight();
                s.link = Link::Offline;
                if logged_out {
                    s.record = None;
                    out.batch.delete(Cf::Sessions, keys::session(&id));
                }
                out.add(WebhookKind::Disconnected, None, || payload::disconnected(&id, &reason, now));
            }
            NetworkEvent::Accepted { message_id, at_ms, .. } => {
                let Some(q) = self.left(id, &message_id, &mut out.batch) else { return };
                self.counters.sent.inc();
                let m = &q.message;
                let zaap: &[&[u8]] = &[m.zaap_id.as_bytes()];
                out.add(WebhookKind::Delivery, Some(zaap), || {
                    payload::delivery(&id, &m.phone, &m.zaap_id, &m.message_id, None)
                });
                let sent: &[&[u8]] = &[m.message_id.as_bytes(), MessageStatus::Sent.as_str().as_bytes()];
                out.add(WebhookKind::MessageStatus, Some(sent), || {
                    payload::message_status(&id, &m.phone, &m.message_id, MessageStatus::Sent, at_ms)
                });
                if out.cfg.as_ref().is_some_and(|c| c.notify_sent_by_me) {
                    let connected = self.session(id).phone().cloned();
                    let mine: &[&[u8]] = &[m.message_id.as_bytes(), b"fromMe"];
                    out.add(WebhookKind::Received, Some(mine), || sent_by_me(id, connected.as_ref(), m, at_ms));
                }
            }
            NetworkEvent::Rejected { message_id, reason, .. } => {
                let Some(q) = self.left(id, &message_id, &mut out.batch) else { return };
                self.counters.failed.inc();
                let m = &q.message;
                let zaap: &[&[u8]] = &[m.zaap_id.as_bytes()];
                out.add(WebhookKind::Delivery, Some(zaap), || {
                    payload::delivery(&id, &m.phone, &m.zaap_id, &m.message_id, Some(&reason))
                });
            }
            NetworkEvent::Status { message_id, phone, status, at_ms, .. } => {
                let about: &[&[u8]] = &[message_id.as_bytes(), status.as_str().as_bytes()];
                out.add(WebhookKind::MessageStatus, Some(about), || {
                    payload::message_status(&id, &phone, &message_id, status, at_ms)
                });
            }
            NetworkEvent::Incoming { message, .. } => {
                let s = self.session(id);
                if !s.is_online() {
                    return; // not acknowledged: the network delivers it again later
                }
                let connected = s.phone().cloned();
                let about: &[&[u8]] = &[message.id.as_bytes()];
                out.add(WebhookKind::Received, Some(about), || payload::incoming(&id, connected.as_ref(), &message));
                if out.batch.is_empty() {
                    self.connector.ack_incoming(id, &message.id); // nobody subscribed: nothing to keep
                } else {
                    then = Then::AckIncoming { id: message.id };
                }
            }
            NetworkEvent::Presence { phone, presence, .. } => {
                out.add(WebhookKind::ChatPresence, None, || payload::presence(&id, &phone, presence));
            }
        }
        self.commit(id, out.batch, out.events, then);
        self.pump(id);
    }

    /// The message on the wire with `message_id` has left (accepted or refused): it is taken
    /// out of flight and its queue entry deleted in `batch`. `None` for a late answer to a send
    /// that was already requeued and answered.
    fn left(&mut self, id: InstanceId, message_id: &MessageId, batch: &mut Batch) -> Option<Queued> {
        let store = self.deps.store.clone();
        let s = self.sessions.get_mut(&id)?;
        if s.in_flight.as_ref().is_none_or(|q| q.message.message_id != *message_id) {
            return None;
        }
        let q = s.in_flight.take()?;
        s.queue.complete(q.seq, batch, &store);
        Some(q)
    }
}

/// The ReceivedCallback for a message the instance itself sent (notify-sent-by-me).
fn sent_by_me(id: InstanceId, connected: Option<&Phone>, m: &OutboundMessage, at_ms: u64) -> Value {
    let message_id = m.message_id.to_string();
    payload::received_text(&payload::Received {
        instance: &id,
        connected_phone: connected,
        chat: &m.phone,
        message_id: &message_id,
        text: m.content.preview(),
        sender_name: None,
        from_me: true,
        at_ms,
    })
}
