//! How a shard turns network events into session state, durable records and webhook events —
//! state and events in one batch (the transactional outbox).

use chatedge_config::snapshot::WebhookKind;
use chatedge_config::InstanceId;

use super::{Shard, Then};
use crate::error::CoreError;
use crate::network::{MessageStatus, NetworkEvent};
use crate::outbox::{payload, Events};
use crate::session::{Link, SessionRecord};
use crate::store::{keys, Batch, Cf};

impl Shard {
    pub(super) fn on_event(&mut self, event: NetworkEvent) {
        self.deps.metrics.network_events.with_label_values(&[event.kind()]).inc();
        let id = event.instance();
        let cfg = self.deps.config.load().instances.get(&id).cloned();
        let mut batch = Batch::new();
        let mut events = Events::new();
        let mut add = |batch: &mut Batch, kind: WebhookKind, body: serde_json::Value| {
            if let Some(cfg) = &cfg {
                events.add(batch, cfg, kind, &body);
            }
        };
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
                let s = self.session(id);
                match s.link {
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
                batch.put(Cf::Sessions, keys::session(&id), record.encode());
                s.record = Some(record);
                s.link = Link::Online { phone: phone.clone() };
                add(&mut batch, WebhookKind::Connected, payload::connected(&id, &phone, now));
            }
            NetworkEvent::Disconnected { reason, logged_out, .. } => {
                let s = self.session(id);
                s.requeue_in_flight();
                s.link = Link::Offline;
                if logged_out {
                    s.record = None;
                    batch.delete(Cf::Sessions, keys::session(&id));
                }
                add(&mut batch, WebhookKind::Disconnected, payload::disconnected(&id, &reason, now));
            }
            NetworkEvent::Accepted { message_id, at_ms, .. } => {
                let Some(q) = self.take_in_flight(id, &message_id) else { return };
                let m = &q.message;
                let store = self.deps.store.clone();
                self.session(id).queue.complete(q.seq, &mut batch, &store);
                self.deps.metrics.messages.with_label_values(&["sent"]).inc();
                add(
                    &mut batch,
                    WebhookKind::Delivery,
                    payload::delivery(&id, &m.phone, &m.zaap_id, &m.message_id, None),
                );
                let status = payload::message_status(&id, &m.phone, &m.message_id, MessageStatus::Sent, at_ms);
                add(&mut batch, WebhookKind::MessageStatus, status);
                if cfg.as_ref().is_some_and(|c| c.notify_sent_by_me) {
                    add(&mut batch, WebhookKind::Received, self.sent_by_me(id, &q.message, at_ms));
                }
            }
            NetworkEvent::Rejected { message_id, reason, .. } => {
                let Some(q) = self.take_in_flight(id, &message_id) else { return };
                let m = &q.message;
                let store = self.deps.store.clone();
                self.session(id).queue.complete(q.seq, &mut batch, &store);
                self.deps.metrics.messages.with_label_values(&["failed"]).inc();
                let body = payload::delivery(&id, &m.phone, &m.zaap_id, &m.message_id, Some(&reason));
                add(&mut batch, WebhookKind::Delivery, body);
            }
            NetworkEvent::Status { message_id, phone, status, at_ms, .. } => {
                add(
                    &mut batch,
                    WebhookKind::MessageStatus,
                    payload::message_status(&id, &phone, &message_id, status, at_ms),
                );
            }
            NetworkEvent::Incoming { message, .. } => {
                let s = self.session(id);
                if !s.is_online() {
                    return; // not acknowledged: the network delivers it again later
                }
                let body = payload::incoming(&id, s.phone(), &message);
                add(&mut batch, WebhookKind::Received, body);
                if batch.is_empty() {
                    self.connector.ack_incoming(id, &message.id); // nobody subscribed: nothing to keep
                } else {
                    then = Then::AckIncoming { id: message.id };
                }
            }
            NetworkEvent::Presence { phone, presence, .. } => {
                add(&mut batch, WebhookKind::ChatPresence, payload::presence(&id, &phone, presence));
            }
        }
        self.commit(id, batch, events, then);
        self.pump(id);
    }

    fn take_in_flight(
        &mut self,
        id: InstanceId,
        message_id: &chatedge_config::MessageId,
    ) -> Option<crate::queue::Queued> {
        let s = self.sessions.get_mut(&id)?;
        if s.in_flight.as_ref().is_some_and(|q| q.message.message_id == *message_id) {
            s.in_flight.take()
        } else {
            None // a late answer to a send that was already requeued and answered
        }
    }

    fn sent_by_me(&mut self, id: InstanceId, m: &crate::queue::OutboundMessage, at_ms: u64) -> serde_json::Value {
        let connected = self.session(id).phone().cloned();
        let message_id = m.message_id.to_string();
        payload::received_text(&payload::Received {
            instance: &id,
            connected_phone: connected.as_ref(),
            chat: &m.phone,
            message_id: &message_id,
            text: m.content.preview(),
            sender_name: None,
            from_me: true,
            at_ms,
        })
    }
}
