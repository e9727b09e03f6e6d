//! The instance API's sends (seed 002): `POST /send-message`, `POST /send-media` (by URL) and
//! `POST /send-reaction`. Each is parsed ([`super::fields`]) into the core's
//! `OutboundMessage` and queued with the same `Command::Enqueue` as a Z-API send, with its
//! Idempotency-Key record in the same batch; the flat answer `{success, message, message_id,
//! timestamp}` comes only once the message is durably queued.

use bytes::Bytes;
use chatedge_config::snapshot::{InstanceConfig, Network};
use chatedge_serve::Resp;
use serde_json::json;

use super::{fields, render, Call, ZapiniError};
use crate::idempotency::Claim;
use crate::queue::content::{Action, Media, MediaSource};
use crate::queue::{Content, OutboundMessage};
use crate::shard::Command;

pub async fn send_message(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let send = fields::send_message(&call.body)?;
    let instance = call.sender(send.instance_id.as_deref())?;
    let mut message = OutboundMessage::new(instance.id, send.recipient, Content::text(send.message));
    message.reply_to = send.reply_to;
    accept(call, &instance, message, "zapini.send-message", "Message queued for sending").await
}

pub async fn send_media(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let send = fields::send_media(&call.body)?;
    let instance = call.sender(send.instance_id.as_deref())?;
    let media = Media {
        kind: send.kind,
        source: MediaSource::Url { url: send.url },
        caption: send.caption,
        file_name: send.file_name,
        extension: send.extension,
        view_once: false,
        sticker_author: None,
    };
    let mut message = OutboundMessage::new(instance.id, send.recipient, Content::Media(Box::new(media)));
    message.reply_to = send.reply_to;
    accept(call, &instance, message, "zapini.send-media", "Media queued for sending").await
}

pub async fn send_reaction(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let send = fields::send_reaction(&call.body)?;
    let instance = call.sender(send.instance_id.as_deref())?;
    let action = Action::Reaction { message_id: send.message_id, reaction: send.emoji };
    let message = OutboundMessage::new(instance.id, send.to, Content::Action(Box::new(action)));
    accept(call, &instance, message, "zapini.send-reaction", "Reaction queued for sending").await
}

/// Refuses, before queueing, what the instance's network cannot carry.
fn expressible(instance: &InstanceConfig, message: &OutboundMessage) -> Result<(), ZapiniError> {
    match (&instance.network, &message.content) {
        (Network::Sim, _) => Ok(()),
        (Network::WhatsappWeb, content) => crate::network::whatsapp_web::carries(content).map_err(|reason| {
            ZapiniError::invalid("instance_id", format!("this instance is on WhatsApp Web: {reason}"))
        }),
        (Network::CloudApi(_), _) => crate::network::cloud_api::body::expressible(message)
            .map_err(|e| ZapiniError::invalid("instance_id", format!("not supported on the Cloud API: {e}"))),
    }
}

/// Queues `message` and answers the seed's flat `{success, message, message_id, timestamp}`.
pub(super) async fn accept(
    call: &Call<'_>,
    instance: &InstanceConfig,
    message: OutboundMessage,
    route: &str,
    said: &str,
) -> Result<Resp, ZapiniError> {
    expressible(instance, &message)?;
    let idempotency = Claim::read(&call.parts.headers, &instance.id, route, None, &call.body)
        .map_err(|e| ZapiniError::invalid("Idempotency-Key", e.to_string()))?;
    let answer = json!({
        "success": true,
        "message": said,
        "message_id": message.message_id.to_string(),
        "timestamp": render::now(),
    });
    let answer = Bytes::from(serde_json::to_vec(&answer).unwrap_or_default());
    let idempotency = idempotency.map(|c| Claim { answer: answer.clone(), ..c });
    let accepted = call.app.shards.call(&instance.id, |reply| Command::Enqueue { message, reply, idempotency }).await?;
    accepted.answer(answer).ok_or(ZapiniError::IdempotencyConflict)
}
