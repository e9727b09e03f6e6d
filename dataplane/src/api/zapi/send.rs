//! `POST /send-text` (seed 001, line 1767): validate, assign `zaapId` and `messageId`, queue
//! durably, answer `{zaapId, messageId, id}` — only once the message is fsync'd.

use std::time::Instant;

use bytes::Bytes;
use chatedge_config::{InstanceId, MessageId, ZaapId};
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::json;

use super::{fields, Call, ZapiError};
use crate::queue::{Content, OutboundMessage};
use crate::shard::Command;

/// WhatsApp's own limit on a text message.
pub const MAX_TEXT_CHARS: usize = 65_536;
/// Longest message id accepted in `editMessageId`.
const MAX_MESSAGE_ID_CHARS: usize = 128;

pub async fn send_text(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let started = Instant::now();
    let message = parse_send_text(&call.body, call.instance.id)?;
    let (zaap, message_id) = (message.zaap_id, message.message_id);
    let shards = &call.app.shards;
    shards.call(&call.instance.id, |reply| Command::Enqueue { message, reply }).await?;
    call.app.metrics.send_accept_seconds.observe(started.elapsed().as_secs_f64());
    let id = message_id.to_string();
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"zaapId": zaap.to_string(), "messageId": id, "id": id})))
}

/// A send-text body as the message to queue, with fresh ids.
pub fn parse_send_text(body: &Bytes, instance: InstanceId) -> Result<OutboundMessage, ZapiError> {
    let o = fields::object(body)?;
    let phone = fields::phone(&o, "phone")?;
    let message = fields::text(&o, "message", MAX_TEXT_CHARS, true)?.unwrap_or_default();
    Ok(OutboundMessage {
        instance,
        zaap_id: ZaapId::generate(),
        message_id: MessageId::random(),
        phone,
        content: Content::Text { message },
        delay_message_s: fields::seconds(&o, "delayMessage", 1..=15)?,
        delay_typing_s: fields::seconds(&o, "delayTyping", 1..=15)?,
        edit_message_id: fields::text(&o, "editMessageId", MAX_MESSAGE_ID_CHARS, false)?,
        created_ms: chatedge_config::time::unix_ms(),
    })
}
