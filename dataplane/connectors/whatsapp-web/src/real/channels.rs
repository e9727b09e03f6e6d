//! Channels (newsletters) on whatsapp-rust: each channel [`Query`] becomes the engine's
//! newsletter call (GraphQL queries and mutations) and its metadata the connector's
//! [`ChannelInfo`]. It keeps nothing.

use whatsapp_rust::features::{NewsletterError, NewsletterMetadata};
use whatsapp_rust::wacore_binary::JidExt;
use whatsapp_rust::{Client, Jid};

use super::account::iq_error;
use super::jid_of;
use crate::engine::{Answer, ChannelInfo, ChannelRole, EngineError, Query};

/// Asks WhatsApp a channel `query` through `client`; any other query is not one of these.
pub async fn ask(client: &Client, query: &Query) -> Result<Answer, EngineError> {
    let channels = client.newsletter();
    match query {
        Query::Channels => {
            let all = channels.list_subscribed().await.map_err(|e| channel_error(&e, "channels"))?;
            Ok(Answer::Channels(all.iter().map(info).collect()))
        }
        Query::Channel(id) => {
            let metadata = channels.get_metadata(&jid(id)?).await.map_err(|e| channel_error(&e, id))?;
            Ok(Answer::Channel(info(&metadata)))
        }
        Query::CreateChannel { name, description } => {
            let created = channels.create(name, description.as_deref()).await;
            Ok(Answer::Channel(info(&created.map_err(|e| channel_error(&e, "channel"))?)))
        }
        Query::FollowChannel { channel, follow: true } => {
            channels.join(&jid(channel)?).await.map_err(|e| channel_error(&e, channel))?;
            Ok(Answer::Done)
        }
        Query::FollowChannel { channel, follow: false } => {
            channels.leave(&jid(channel)?).await.map_err(|e| channel_error(&e, channel))?;
            Ok(Answer::Done)
        }
        Query::UpdateChannel { channel, name, description } => {
            let updated = channels.update(&jid(channel)?, name.as_deref(), description.as_deref()).await;
            updated.map_err(|e| channel_error(&e, channel))?;
            Ok(Answer::Done)
        }
        other => Err(EngineError::Refused(format!("{} is not a channel query", other.label()))),
    }
}

/// A channel's JID; anything else is refused before WhatsApp is asked.
fn jid(id: &str) -> Result<Jid, EngineError> {
    let jid = jid_of(id);
    match jid.is_newsletter() {
        true => Ok(jid),
        false => Err(EngineError::Refused(format!("{id} is not a channel (…@newsletter)"))),
    }
}

fn info(m: &NewsletterMetadata) -> ChannelInfo {
    use whatsapp_rust::features::NewsletterRole as R;
    ChannelInfo {
        id: format!("{}@newsletter", m.jid.user),
        name: m.name.clone(),
        description: m.description.clone(),
        picture: m.picture_url.clone(),
        created_s: m.creation_time.unwrap_or(0),
        invite_code: m.invite_code.clone(),
        followers: m.subscriber_count,
        role: match m.role {
            Some(R::Owner) => ChannelRole::Owner,
            Some(R::Admin) => ChannelRole::Admin,
            Some(R::Subscriber) => ChannelRole::Subscriber,
            _ => ChannelRole::Guest,
        },
    }
}

/// WhatsApp's refusal; a channel it does not know is not found, naming `what`.
fn channel_error(e: &NewsletterError, what: &str) -> EngineError {
    match e {
        NewsletterError::Iq(e) => iq_error(e),
        NewsletterError::InvalidRequest(why) if why.contains("not found") => {
            EngineError::NotFound(format!("channel {what}"))
        }
        NewsletterError::InvalidRequest(_) => EngineError::Refused(e.to_string()),
        e => EngineError::Unreachable(e.to_string()),
    }
}
