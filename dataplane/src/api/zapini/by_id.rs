//! A message named by its id alone (seed 002's chat API and `GET /messages/{uuid}/media`):
//! `PATCH /chat/messages/{id} {message}` edits a message the instance sent, `DELETE
//! /chat/messages/{id}` deletes it (for everyone when the instance sent it, for the instance
//! when it received it), `POST /chat/messages/{id}/reaction {emoji}` reacts to it and `DELETE`
//! takes the reaction back, `GET /messages/{id}/media` downloads the media the instance
//! received in it. The message's instance and chat come from [`crate::message_index`]: the id
//! must be one that an instance the credential reaches sent or received; any other id (another
//! account's, or one older than `[store] message_index_retention_ms`) is the same 404
//! `MESSAGE_NOT_FOUND`. Each act is queued like a send — the instance's send rights,
//! `Idempotency-Key` — and answered in the flat send shape, `message_id` being the act's own id
//! and `target_message_id` the message it acts on.

use std::sync::Arc;

use chatedge_config::{InstanceConfig, MessageId};
use chatedge_serve::Resp;
use hyper::Method;

use super::{fields, media, messages::accept, Call, ZapiniError};
use crate::message_index::{self, Entry};
use crate::queue::content::Action;
use crate::queue::{Content, OutboundMessage};
use crate::store::StoreError;

const UNKNOWN: &str =
    "message not found: no instance this credential reaches sent or received a message with this id recently";

/// `PATCH` (edit) or `DELETE` `/chat/messages/{id}`.
pub async fn message(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let edit = match call.parts.method {
        Method::PATCH => Some(fields::edited_text(&call.body)?),
        _ => None,
    };
    let (instance, entry, id) = located(call).await?;
    let instance = call.may_send(instance)?;
    match edit {
        Some(text) => {
            if !entry.from_me {
                return Err(ZapiniError::invalid("id", "only a message this instance sent can be edited"));
            }
            let mut message = OutboundMessage::new(instance.id, entry.chat, Content::text(text));
            message.edit_message_id = Some(id);
            accept(call, &instance, message, "zapini.chat-message.edit", "Edit queued for sending").await
        }
        None => {
            let action = Action::Delete { message_id: id, owner: entry.from_me };
            let said = "Deletion queued for sending";
            act(call, &instance, entry, action, "zapini.chat-message.delete", said).await
        }
    }
}

/// `POST` (react) or `DELETE` (take back) `/chat/messages/{id}/reaction`.
pub async fn reaction(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let emoji = match call.parts.method {
        Method::POST => Some(fields::emoji(&fields::object(&call.body)?)?),
        _ => None,
    };
    let (instance, entry, id) = located(call).await?;
    let instance = call.may_send(instance)?;
    match emoji {
        Some(reaction) => {
            let action = Action::Reaction { message_id: id, reaction };
            act(call, &instance, entry, action, "zapini.chat-reaction.add", "Reaction queued for sending").await
        }
        None => {
            let action = Action::RemoveReaction { message_id: id };
            let said = "Reaction removal queued for sending";
            act(call, &instance, entry, action, "zapini.chat-reaction.remove", said).await
        }
    }
}

/// `GET /messages/{id}/media`: the file, with its type, streamed.
pub async fn received_media(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let (instance, _, id) = located(call).await?;
    let media_id = crate::media::uploads::received_id(&instance.id, &id);
    let (_, upload) = media::owned(call.app, &call.credential, &media_id.to_string()).await.map_err(|_| {
        ZapiniError::MessageNotFound(
            "this message carries no media chatedge keeps: it had none, or it is past [media] upload_retention_ms",
        )
    })?;
    crate::api::media::stream(call.app, &upload.file.digest, &upload.file.mime).await.map_err(|e| match e {
        crate::api::media::StreamRefusal::Gone => {
            ZapiniError::MessageNotFound("this message's media is no longer stored")
        }
        crate::api::media::StreamRefusal::Busy => {
            ZapiniError::Unavailable("too much media is being moved right now; retry shortly".into())
        }
        crate::api::media::StreamRefusal::Io(e) => ZapiniError::Unavailable(format!("cannot read the media: {e}")),
    })
}

/// Queues `action` on the message's chat.
async fn act(
    call: &Call<'_>,
    instance: &InstanceConfig,
    entry: Entry,
    action: Action,
    route: &str,
    said: &str,
) -> Result<Resp, ZapiniError> {
    let message = OutboundMessage::new(instance.id, entry.chat, Content::Action(Box::new(action)));
    accept(call, instance, message, route, said).await
}

/// The instance (one the credential reaches), chat and id of the path's message.
async fn located(call: &Call<'_>) -> Result<(Arc<InstanceConfig>, Entry, String), ZapiniError> {
    let raw = call.id.as_deref().unwrap_or("");
    let given = percent_encoding::percent_decode_str(raw).decode_utf8_lossy().trim().to_owned();
    if given.is_empty() || given.chars().count() > fields::MAX_MESSAGE_ID_CHARS {
        return Err(ZapiniError::MessageNotFound(UNKNOWN));
    }
    // chatedge's own ids are written in upper-case hex; a client may have lowered them.
    let canonical = MessageId::parse(&given).ok().map(|m| m.to_string()).filter(|c| *c != given);
    let reachable = call.instances();
    for id in std::iter::once(given).chain(canonical) {
        let rows = lookup(call, id.clone()).await?;
        let mine = rows.into_iter().find_map(|(at, entry)| reachable.iter().find(|i| i.id == at).map(|i| (i, entry)));
        if let Some((instance, entry)) = mine {
            return Ok((instance.clone(), entry, id));
        }
    }
    Err(ZapiniError::MessageNotFound(UNKNOWN))
}

async fn lookup(call: &Call<'_>, id: String) -> Result<Vec<(chatedge_config::InstanceId, Entry)>, ZapiniError> {
    let store = call.app.store.clone();
    let now = chatedge_config::time::unix_ms();
    tokio::task::spawn_blocking(move || message_index::find(&store, &id, now))
        .await
        .map_err(|e| ZapiniError::Core(StoreError::Rocks(format!("read task: {e}")).into()))?
        .map_err(|e| ZapiniError::Core(e.into()))
}
