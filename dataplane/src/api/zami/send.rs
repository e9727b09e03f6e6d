//! Zami's sends: `send-text` and `send-media` (by the id of media uploaded before), parsed
//! into the core's `OutboundMessage` and queued through the shard's `Enqueue` — the same
//! command, the same durability and the same Idempotency-Key handling as a Z-API send. A send
//! for a connection another data plane holds is forwarded to it (media ids are kept by the data
//! plane that stored them: send media by id through that one).

use bytes::Bytes;
use chatedge_config::Tenant;
use chatedge_serve::{Body, Resp};
use hyper::Request;
use serde_json::json;

use super::{fields, media, sending_connection, App, ZamiError};
use crate::idempotency::Claim;
use crate::queue::content::{Media, MediaSource};
use crate::queue::{Content, OutboundMessage};
use crate::shard::Command;

/// `POST /zami/v1/send-text {connection_id, recipient, body, reply_to_id?}` → `{"success":
/// true, "id": <message id>, "error": null}` once the message is durably queued.
pub async fn text(app: &App, account: &Tenant, req: Request<Body>) -> Result<Resp, ZamiError> {
    let (parts, body) = req.into_parts();
    let body = read(app, &parts.headers, body).await?;
    let send = fields::send_text(&body)?;
    let queued = queue(app, account, "zami.send-text", &parts.headers, &body, send.to, Content::text(send.body)).await;
    to_owner(app, queued, parts, body).await
}

/// A send for a connection another data plane holds goes to it, with the body already read
/// (a request forwarded here once is not forwarded again: unknown here).
async fn to_owner(
    app: &App,
    queued: Result<Resp, ZamiError>,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Resp, ZamiError> {
    match queued {
        Err(ZamiError::Elsewhere(_)) if parts.extensions.get::<crate::edge::proxy::Hop>().is_some() => {
            Err(ZamiError::UnknownConnection)
        }
        Err(ZamiError::Elsewhere(node)) => {
            let request = Request::from_parts(parts, http_body_util::Full::new(body));
            Ok(crate::edge::proxy::forward(app, request, node, crate::edge::proxy::Shape::Zami).await)
        }
        other => other,
    }
}

/// `POST /zami/v1/send-media {connection_id, recipient, media_id, reply_to_id?, caption?}`:
/// the account's uploaded (or received) media, sent as the kind its sniffed type is.
pub async fn media(app: &App, account: &Tenant, req: Request<Body>) -> Result<Resp, ZamiError> {
    let (parts, body) = req.into_parts();
    let body = read(app, &parts.headers, body).await?;
    let send = fields::send_media(&body)?;
    let upload = media::owned(app, account, send.media_id).await?.ok_or(ZamiError::UnknownMedia)?;
    let renewed = {
        // Its hold may expire before the message commits: renewing the file's time lets the
        // sweep's grace cover the gap (the message's own reference keeps it after that).
        let (store, digest) = (app.media.clone(), upload.file.digest);
        tokio::task::spawn_blocking(move || store.store.renew(&digest)).await.unwrap_or(false)
    };
    if !renewed {
        return Err(ZamiError::UnknownMedia);
    }
    let kind = media::kind_of(&upload.file.mime);
    let content = Content::Media(Box::new(Media {
        kind,
        source: MediaSource::Stored(upload.file),
        caption: send.caption,
        file_name: None,
        extension: None,
        view_once: false,
        sticker_author: None,
    }));
    let queued = queue(app, account, "zami.send-media", &parts.headers, &body, send.to, content).await;
    to_owner(app, queued, parts, body).await
}

async fn read(app: &App, headers: &hyper::HeaderMap, body: Body) -> Result<Bytes, ZamiError> {
    chatedge_serve::read_body(headers, body, app.limits.max_body_bytes).await.map_err(ZamiError::Body)
}

/// Queues `content` to `to` and answers with its id, or the first answer again for a
/// repeated Idempotency-Key.
async fn queue(
    app: &App,
    account: &Tenant,
    route: &'static str,
    headers: &hyper::HeaderMap,
    body: &Bytes,
    to: fields::Target,
    content: Content,
) -> Result<Resp, ZamiError> {
    let instance = sending_connection(app, account, &to.connection_id)?;
    let mut message = OutboundMessage::new(instance.id, to.recipient, content);
    message.reply_to = to.reply_to_id;
    let idempotency = Claim::read(headers, &instance.id, route, None, body)
        .map_err(|e| ZamiError::invalid("Idempotency-Key", e.to_string()))?;
    let answer = json!({"success": true, "id": message.message_id.to_string(), "error": null});
    let answer = Bytes::from(serde_json::to_vec(&answer).unwrap_or_default());
    let idempotency = idempotency.map(|c| Claim { answer: answer.clone(), ..c });
    let accepted = app.shards.call(&instance.id, |reply| Command::Enqueue { message, reply, idempotency }).await?;
    accepted.answer(answer).ok_or(ZamiError::IdempotencyConflict)
}
