//! How a shard turns network events into session state, durable records and webhook events —
//! state and events in one batch (the transactional outbox). Webhook bodies are built only for
//! kinds the instance subscribed to.

use std::sync::Arc;

use chatedge_config::snapshot::{InstanceConfig, Network, WebhookDialect, WebhookKind};
use chatedge_config::zapini_webhook::ZapiniEvent;
use chatedge_config::{InstanceId, MediaId, MessageId, Phone, TenantId};
use serde_json::Value;

use super::{Shard, Then};
use crate::error::CoreError;
use crate::media::{uploads, StoredMedia};
use crate::network::cloud_api::inbound;
use crate::network::{Credentials, Generation, IncomingMessage, MessageStatus, NetworkEvent};
use crate::outbox::{payload, Events};
use crate::queue::content::{Content, MediaSource};
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
    /// Whether the instance has a webhook URL for `kind` (so events of that kind are kept).
    fn hears(&self, kind: WebhookKind) -> bool {
        self.cfg.as_ref().is_some_and(|c| c.webhooks.get(kind).is_some())
    }

    /// The dialect the instance's webhooks speak.
    fn dialect(&self) -> WebhookDialect {
        self.cfg.as_ref().map(|c| c.webhooks.dialect).unwrap_or_default()
    }

    /// A Z-API callback, kept when the instance's webhooks speak Z-API.
    fn add(&mut self, kind: WebhookKind, about: Option<&[&[u8]]>, body: impl FnOnce() -> Value) {
        self.add_in(WebhookDialect::Zapi, kind, about, body);
    }

    /// A Zapini event, kept when the instance's webhooks speak Zapini and its filter has it.
    fn add_zapini(
        &mut self,
        event: ZapiniEvent,
        kind: WebhookKind,
        about: Option<&[&[u8]]>,
        body: impl FnOnce() -> Value,
    ) {
        let wanted = self.cfg.as_ref().and_then(|c| c.webhooks.zapini.as_ref()).is_some_and(|z| z.sends(event));
        if wanted {
            self.add_in(WebhookDialect::Zapini, kind, about, body);
        }
    }

    /// An event in `dialect`'s shape, kept when the instance's webhooks speak that dialect.
    fn add_in(
        &mut self,
        dialect: WebhookDialect,
        kind: WebhookKind,
        about: Option<&[&[u8]]>,
        body: impl FnOnce() -> Value,
    ) {
        if let Some(cfg) = &self.cfg {
            self.events.add(&mut self.batch, cfg, dialect, kind, about, body);
        }
    }
}

impl Shard {
    /// Applies one network event; acknowledges it to the network once what it produced is
    /// durable (at once when it produced nothing to keep).
    pub(super) fn on_event(&mut self, event: NetworkEvent) {
        self.counters.network_event(&event);
        let id = event.instance();
        let ack = event.ack();
        let cfg = self.deps.config.load().instances.get(&id).cloned();
        if cfg.is_none() {
            // A late event about an instance removed (and torn down) since: nothing to keep,
            // and no session is recreated for it.
            if let Some(ack) = ack {
                self.connector.ack(id, ack);
            }
            return;
        }
        let mut out = Outgoing { cfg, batch: Batch::new(), events: Events::new() };
        let keep_unacked = self.apply(event, &mut out);
        let then = match ack {
            Some(ack) if !keep_unacked => Then::Ack(ack),
            _ => Then::Nothing,
        };
        self.commit(id, out.batch, out.events, then);
        self.pump(id);
    }

    /// Turns `event` into session state and webhook events in `out`. Returns true when the
    /// event must not be acknowledged (the network should deliver it again later).
    fn apply(&mut self, event: NetworkEvent, out: &mut Outgoing) -> bool {
        let id = event.instance();
        let now = chatedge_config::time::unix_ms();
        match event {
            NetworkEvent::PairingCode { generation, code, .. } => {
                let s = self.session(id);
                if s.generation != generation {
                    return false; // a code of a pairing run that was replaced
                }
                if let Link::Pairing { code: current, .. } = &mut s.link {
                    *current = Some(code.clone());
                }
                s.answer_qr_waiters(|| Ok(code.clone()));
                out.add_zapini(ZapiniEvent::InstanceQr, WebhookKind::Connected, None, || {
                    payload::zapini::qr(&id, &code, now)
                });
            }
            NetworkEvent::PairingExpired { generation, .. } => {
                let s = self.session(id);
                if s.generation == generation && matches!(s.link, Link::Pairing { .. }) {
                    s.answer_qr_waiters(|| Err(CoreError::PairingExpired));
                    s.link = Link::Offline;
                }
            }
            NetworkEvent::Connected { generation, phone, credentials, .. } => {
                self.connected(id, generation, phone, credentials, now, out);
            }
            NetworkEvent::Disconnected { generation, reason, logged_out, .. } => {
                self.disconnected(id, generation, &reason, logged_out, now, out);
            }
            NetworkEvent::Accepted { message_id, at_ms, .. } => {
                let Some(q) = self.left(id, &message_id, &mut out.batch) else { return false };
                self.took(id, &q.message, at_ms, out);
            }
            NetworkEvent::Deferred { message_id, .. } => {
                let Some(q) = self.left(id, &message_id, &mut out.batch) else { return false };
                self.counters.deferred.inc();
                if out.hears(WebhookKind::Received) && out.cfg.as_ref().is_some_and(|c| c.notify_sent_by_me) {
                    // Its stored media must outlive the queue entry until the outcome links to it.
                    self.sent_media_link(&q.message, now, &mut out.batch);
                }
            }
            NetworkEvent::DeferredOutcome { message, outcome: Ok(at_ms), .. } => self.took(id, &message, at_ms, out),
            NetworkEvent::DeferredOutcome { message, outcome: Err(reason), .. } => {
                self.refused(id, &message, &reason, out)
            }
            NetworkEvent::Rejected { message_id, reason, .. } => {
                let Some(q) = self.left(id, &message_id, &mut out.batch) else { return false };
                self.refused(id, &q.message, &reason, out);
            }
            NetworkEvent::Failed { message_id, zaap_id, phone, reason, .. } => {
                self.counters.failed.inc();
                self.campaigns.failed(&self.deps.store, &id, &message_id, &reason, &mut out.batch);
                let about: &[&[u8]] = &[zaap_id.as_bytes(), b"failed"];
                out.add(WebhookKind::Delivery, Some(about), || {
                    payload::delivery(&id, &phone, &zaap_id, &message_id, Some(&reason))
                });
            }
            NetworkEvent::Status { message_id, phone, status, at_ms, .. } => {
                self.campaigns.status(&self.deps.store, &id, &message_id, status, &mut out.batch);
                let about: &[&[u8]] = &[message_id.as_bytes(), status.as_str().as_bytes()];
                out.add(WebhookKind::MessageStatus, Some(about), || {
                    payload::message_status(&id, &phone, &message_id, status, at_ms)
                });
                if out.dialect() == WebhookDialect::Zapini {
                    if let Some(body) = payload::zapini::status(&id, &phone, &message_id, status, at_ms) {
                        out.add_zapini(ZapiniEvent::MessageStatus, WebhookKind::MessageStatus, Some(about), || body);
                    }
                }
            }
            NetworkEvent::Incoming { message, .. } => return self.received(id, &message, out),
            NetworkEvent::Call { call_id, from, video, missed, at_ms, .. } => {
                if !missed && out.cfg.as_ref().is_some_and(|c| c.call_reject_auto) && self.session(id).is_online() {
                    self.decline(id, &call_id, &from, out.cfg.as_ref().and_then(|c| c.call_reject_message.clone()));
                }
                return self.received(id, &IncomingMessage::call(&call_id, from, video, missed, at_ms), out);
            }
            NetworkEvent::Presence { phone, presence, .. } => {
                out.add(WebhookKind::ChatPresence, None, || payload::presence(&id, &phone, presence));
            }
        }
        false
    }

    /// A message (or notice) someone sent the instance, to its session and webhooks. Returns
    /// true when it must not be acknowledged (the network delivers it again later).
    fn received(&mut self, id: InstanceId, message: &IncomingMessage, out: &mut Outgoing) -> bool {
        let s = self.session(id);
        if !s.is_online() {
            return true; // not acknowledged: the network delivers it again later
        }
        let connected = s.phone().cloned();
        let today = self.deps.clock.now_ms();
        if let Err(e) = self.daily.received(&self.deps.store, id, today, &mut out.batch) {
            // Not counted; the message itself still goes to the integrator.
            tracing::warn!(instance = %id, error = %e, "cannot read the received count");
        }
        self.campaigns.incoming(&self.deps.store, &id, message, &mut out.batch);
        let retention = self.deps.store_limits.message_index_retention;
        crate::message_index::record_received(&mut out.batch, &id, message, retention);
        // Media is held (and linked, or kept under an id) only for an instance that hears
        // of it; otherwise the sweep deletes the file once it is past its grace.
        let file = message.content.media().filter(|_| out.hears(WebhookKind::Received));
        let about: &[&[u8]] = &[message.id.as_bytes()];
        match out.dialect() {
            WebhookDialect::Zapi => {
                let link = file.map(|file| self.hold_media(file, message.at_ms, &mut out.batch));
                out.add(WebhookKind::Received, Some(about), || {
                    payload::incoming(&id, connected.as_ref(), message, link.as_deref())
                });
            }
            WebhookDialect::Zapini => match payload::zapini::reaction(&id, message) {
                Some(body) => out.add_zapini(ZapiniEvent::MessageReaction, WebhookKind::Received, Some(about), || body),
                None => {
                    let link = file.map(|file| self.hold_media(file, message.at_ms, &mut out.batch));
                    // `GET /messages/{id}/media` finds it under the id derived from the message.
                    if let Some((file, owner)) = file.zip(out.cfg.as_ref().map(|c| c.tenant)) {
                        self.keep_received_media(id, owner, message, file, &mut out.batch);
                    }
                    out.add_zapini(ZapiniEvent::MessageReceived, WebhookKind::Received, Some(about), || {
                        payload::zapini::received(&id, message, link.as_deref())
                    });
                }
            },
            WebhookDialect::Zami => {
                let owner = out.cfg.as_ref().map(|c| c.tenant);
                let media_id = file
                    .zip(owner)
                    .map(|(file, owner)| self.keep_received_media(id, owner, message, file, &mut out.batch));
                out.add_in(WebhookDialect::Zami, WebhookKind::Received, Some(about), || {
                    payload::zami::message_created(&id, message, media_id.as_ref())
                });
            }
        }
        false
    }

    /// Declines the call `call_id` that rings (the instance's callRejectAuto) and, when the
    /// instance has a callRejectMessage, sends it to the caller through the instance's queue, so
    /// it is durable, paced and reported like any send.
    fn decline(&mut self, id: InstanceId, call_id: &str, caller: &Phone, message: Option<String>) {
        self.connector.reject_call(id, call_id);
        self.counters.calls_declined.inc();
        let Some(text) = message.filter(|t| !t.trim().is_empty()) else { return };
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.enqueue(OutboundMessage::new(id, caller.clone(), Content::text(text)), reply, None);
        // Kept until the send is answered: a dropped receiver would withdraw the message.
        tokio::task::spawn_local(async move {
            if let Ok(Err(e)) = answer.await {
                tracing::warn!(instance = %id, error = %e, "the callRejectMessage was not queued");
            }
        });
    }

    /// The connection `generation` is up: pairing finished or saved credentials worked.
    fn connected(
        &mut self,
        id: InstanceId,
        generation: Generation,
        phone: Phone,
        credentials: Credentials,
        now: u64,
        out: &mut Outgoing,
    ) {
        let s = self.session(id);
        if s.generation != generation {
            self.counters.link("stale");
            return; // an answer to an attempt that was replaced or closed since
        }
        match s.link {
            Link::Pairing { .. } | Link::Connecting { .. } => {}
            Link::Online { .. } => return, // already connected: a duplicate answer
            Link::Offline => {
                // A late answer to a connection the user has since closed (disconnect).
                self.connector.close(id, true);
                return;
            }
        }
        s.answer_qr_waiters(|| Err(CoreError::AlreadyConnected));
        let previous = if matches!(s.link, Link::Pairing { .. }) { "qr_ready" } else { "disconnected" };
        let record = SessionRecord { phone: phone.clone(), credentials, paired_ms: now };
        out.batch.put(Cf::Sessions, keys::session(&id), record.encode());
        s.record = Some(record);
        s.link = Link::Online { phone: phone.clone() };
        self.counters.link("connected");
        out.add(WebhookKind::Connected, None, || payload::connected(&id, &phone, now));
        out.add_zapini(ZapiniEvent::InstanceConnected, WebhookKind::Connected, None, || {
            payload::zapini::connected(&id, &phone, previous, now)
        });
    }

    /// The connection `generation` dropped or an attempt failed. A logout forgets the saved
    /// session; a loss keeps it and reconnects after a backoff. Integrators hear of a drop of
    /// a live connection and of a logout, not of every failed reconnect attempt.
    fn disconnected(
        &mut self,
        id: InstanceId,
        generation: Generation,
        reason: &str,
        logged_out: bool,
        now: u64,
        out: &mut Outgoing,
    ) {
        let s = self.session(id);
        if s.generation != generation {
            self.counters.link("stale");
            return;
        }
        s.answer_qr_waiters(|| Err(CoreError::NotConnected));
        let was = s.link.label();
        if logged_out || matches!(s.link, Link::Pairing { .. } | Link::Offline) {
            s.requeue_in_flight();
            s.next_generation();
            s.link = Link::Offline;
            if logged_out && s.record.take().is_some() {
                out.batch.delete(Cf::Sessions, keys::session(&id));
                self.counters.link("logged_out");
                let error = match out.cfg.as_ref().map(|c| &c.network) {
                    Some(Network::CloudApi(_)) => {
                        format!("Logged out: {reason}. The Cloud API credentials given at creation no longer work")
                    }
                    _ => format!("Logged out: {reason}. Scan a new QR code to connect again"),
                };
                out.add(WebhookKind::Disconnected, None, || payload::disconnected(&id, &error, now));
                out.add_zapini(ZapiniEvent::InstanceDisconnected, WebhookKind::Disconnected, None, || {
                    payload::zapini::disconnected(&id, &error, true, now)
                });
            }
            return;
        }
        self.reconnect_later(id);
        if was == "connected" {
            self.counters.link("lost");
            let error = format!("Connection lost: {reason}. Reconnecting with the saved session");
            out.add(WebhookKind::Disconnected, None, || payload::disconnected(&id, &error, now));
            out.add_zapini(ZapiniEvent::InstanceDisconnected, WebhookKind::Disconnected, None, || {
                payload::zapini::disconnected(&id, &error, false, now)
            });
        }
    }

    /// The message with `message_id` has left (accepted or refused): it is taken out of
    /// flight — or, when its connection dropped before the answer came and it went back to the
    /// head of the queue, out of the queue, so that it is not sent again — and its queue entry
    /// deleted in `batch`. `None` for an answer about a message that already left.
    /// The network took `m` at `at_ms`: its DeliveryCallback, its `SENT` and (when asked for)
    /// the notify-sent-by-me callback.
    fn took(&mut self, id: InstanceId, m: &OutboundMessage, at_ms: u64, out: &mut Outgoing) {
        self.counters.sent.inc();
        self.campaigns.sent(&self.deps.store, &id, &m.message_id, &mut out.batch);
        let zaap: &[&[u8]] = &[m.zaap_id.as_bytes()];
        out.add(WebhookKind::Delivery, Some(zaap), || {
            payload::delivery(&id, &m.phone, &m.zaap_id, &m.message_id, None)
        });
        out.add_zapini(ZapiniEvent::MessageSent, WebhookKind::Delivery, Some(zaap), || {
            payload::zapini::sent(&id, m, at_ms)
        });
        if out.cfg.as_ref().is_some_and(|c| matches!(c.network, Network::CloudApi(_))) {
            // A Cloud API `failed` status may still come for it: keep what its
            // DeliveryCallback will need (the queue entry goes in this batch).
            let (key, value) = (inbound::zaap_key(&id, &m.message_id), inbound::zaap_value(&m.zaap_id, &m.phone));
            out.batch.put(Cf::CloudMessages, key, value);
        }
        let sent: &[&[u8]] = &[m.message_id.as_bytes(), MessageStatus::Sent.as_str().as_bytes()];
        out.add(WebhookKind::MessageStatus, Some(sent), || {
            payload::message_status(&id, &m.phone, &m.message_id, MessageStatus::Sent, at_ms)
        });
        if out.dialect() == WebhookDialect::Zapini {
            if let Some(body) = payload::zapini::status(&id, &m.phone, &m.message_id, MessageStatus::Sent, at_ms) {
                out.add_zapini(ZapiniEvent::MessageStatus, WebhookKind::MessageStatus, Some(sent), || body);
            }
        }
        if out.hears(WebhookKind::Received) && out.cfg.as_ref().is_some_and(|c| c.notify_sent_by_me) {
            let connected = self.session(id).phone().cloned();
            let mine: &[&[u8]] = &[m.message_id.as_bytes(), b"fromMe"];
            let link = self.sent_media_link(m, at_ms, &mut out.batch);
            out.add(WebhookKind::Received, Some(mine), || {
                payload::sent_by_me(id, connected.as_ref(), m, at_ms, link.as_deref())
            });
        }
    }

    /// The network refused `m` for good: its DeliveryCallback carries `reason`.
    fn refused(&mut self, id: InstanceId, m: &OutboundMessage, reason: &str, out: &mut Outgoing) {
        self.counters.failed.inc();
        self.campaigns.refused(&self.deps.store, &id, &m.message_id, reason, &mut out.batch);
        let zaap: &[&[u8]] = &[m.zaap_id.as_bytes()];
        out.add(WebhookKind::Delivery, Some(zaap), || {
            payload::delivery(&id, &m.phone, &m.zaap_id, &m.message_id, Some(reason))
        });
    }

    fn left(&mut self, id: InstanceId, message_id: &MessageId, batch: &mut Batch) -> Option<Queued> {
        let store = self.deps.store.clone();
        let s = self.sessions.get_mut(&id)?;
        let in_flight = s.in_flight.as_ref().is_some_and(|q| q.message.message_id == *message_id);
        let q = if in_flight { s.in_flight.take()? } else { s.queue.take_put_back(message_id, &store).ok()?? };
        s.queue.complete(q.seq, batch, &store);
        Some(q)
    }

    /// Keeps received (or sent, for notify-sent-by-me) media `file` for `[media]
    /// received_retention` from `at_ms`: a `media_hold` key in `batch`, the same batch as the
    /// webhook event that links to it. Returns the signed link, valid as long as the hold.
    fn hold_media(&self, file: &StoredMedia, at_ms: u64, batch: &mut Batch) -> String {
        let media = &self.deps.media;
        let until_ms = at_ms.saturating_add(media.config.received_retention.as_millis() as u64);
        batch.put(Cf::MediaHold, keys::media_hold(until_ms, &file.digest), Vec::new());
        let mime = file.mime.split(';').next().unwrap_or_default().trim();
        media.links.link(&file.digest, crate::media::extension(mime), until_ms / 1000)
    }

    /// Keeps received media under an id for `[media] upload_retention` (a dialect that names
    /// media by id, like Zami's `message.created`), in `batch`: the same batch as the event
    /// that names it. Derived from the message, so a redelivered message names the same id.
    fn keep_received_media(
        &self,
        id: InstanceId,
        owner: TenantId,
        message: &IncomingMessage,
        file: &StoredMedia,
        batch: &mut Batch,
    ) -> MediaId {
        let expires_ms = message.at_ms.saturating_add(self.deps.media.config.upload_retention.as_millis() as u64);
        let media_id = uploads::received_id(&id, &message.id);
        let file_name = message.content.file_name().map(str::to_owned);
        let upload = uploads::Upload { owner, instance: Some(id), file: file.clone(), expires_ms, file_name };
        uploads::keep(batch, &media_id, &upload);
        media_id
    }

    /// The link a notify-sent-by-me callback shows for a media message: a signed link to the
    /// stored file (kept by a hold, since the message's own reference goes with it), or the
    /// URL it was sent from.
    fn sent_media_link(&self, m: &OutboundMessage, at_ms: u64, batch: &mut Batch) -> Option<String> {
        let Content::Media(media) = &m.content else { return None };
        Some(match &media.source {
            MediaSource::Stored(file) => self.hold_media(file, at_ms, batch),
            MediaSource::Url { url } => url.clone(),
        })
    }
}
