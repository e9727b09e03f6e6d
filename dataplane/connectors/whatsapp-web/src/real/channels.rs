//! Channels (newsletters) on whatsapp-rust: each channel [`Query`] becomes the engine's
//! newsletter call (GraphQL queries and mutations) and its metadata the connector's
//! [`ChannelInfo`]. What the engine has no call for — deleting, the picture, reaction
//! settings, admins, the directory — goes as WhatsApp Web's own persisted GraphQL operation
//! (the names, ids and variables of `wacore::iq::mex_operations`, generated from WhatsApp
//! Web). A person is named to those by their private id when WhatsApp gives one. It keeps
//! nothing.

use serde_json::{json, Value};
use whatsapp_rust::features::{MexRequest, NewsletterError, NewsletterMetadata};
use whatsapp_rust::wacore::iq::mex_operations as ops;
use whatsapp_rust::wacore_binary::JidExt;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Client, Jid};

use super::account::iq_error;
use super::jid_of;
use crate::engine::{AdminChange, Answer, ChannelInfo, ChannelRole, DirectoryView, EngineError, Query};

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
        Query::DeleteChannel(channel) => {
            let vars = json!({ "newsletter_id": jid(channel)?.to_string() });
            mex(
                client,
                (ops::delete_newsletter::NAME, ops::delete_newsletter::DOC_ID),
                vars,
                "xwa2_newsletter_delete_v2",
                channel,
            )
            .await?;
            Ok(Answer::Done)
        }
        Query::ChannelPicture { channel, image } => {
            use base64::Engine as _;
            let jpeg = super::picture::square_jpeg(image.clone()).await?;
            let picture = base64::engine::general_purpose::STANDARD.encode(jpeg);
            update(client, channel, json!({ "picture": picture })).await
        }
        Query::ChannelReactions { channel, any } => {
            let value = if *any { "ALL" } else { "BASIC" };
            update(client, channel, json!({ "settings": { "reaction_codes": { "value": value } } })).await
        }
        Query::ChannelAdmin { channel, phone, change } => admin(client, channel, phone, *change).await,
        Query::AcceptChannelAdmin(channel) => {
            let vars = json!({ "newsletter_id": jid(channel)?.to_string() });
            let op = (ops::accept_newsletter_admin_invite::NAME, ops::accept_newsletter_admin_invite::DOC_ID);
            mex(client, op, vars, "xwa2_newsletter_admin_invite_accept", channel).await?;
            Ok(Answer::Done)
        }
        Query::SearchChannels { text, view, countries, limit } => {
            search(client, text.as_deref(), *view, countries, *limit).await
        }
        other => Err(EngineError::Refused(format!("{} is not a channel query", other.label()))),
    }
}

/// Invites `phone` to administer `channel` (WhatsApp records the invitation) and returns the
/// message that carries it to them.
pub async fn admin_invite(
    client: &Client,
    channel: &str,
    phone: &str,
    caption: &str,
) -> Result<wa::Message, EngineError> {
    let channel_jid = jid(channel)?;
    let name = client.newsletter().get_metadata(&channel_jid).await.map_err(|e| channel_error(&e, channel))?.name;
    let vars = json!({ "newsletter_id": channel_jid.to_string(), "user_id": user_id(client, phone).await? });
    let op = (ops::create_newsletter_admin_invite::NAME, ops::create_newsletter_admin_invite::DOC_ID);
    let invite = mex(client, op, vars, "xwa2_newsletter_admin_invite_create", channel).await?;
    let expiration =
        invite["invite_expiration_time"].as_i64().or_else(|| invite["invite_expiration_time"].as_str()?.parse().ok());
    let message = wa::message::NewsletterAdminInviteMessage {
        newsletter_jid: Some(channel_jid.to_string()),
        newsletter_name: Some(name),
        caption: Some(caption.to_owned()),
        invite_expiration: expiration,
        ..Default::default()
    };
    Ok(wa::Message {
        newsletter_admin_invite_message: whatsapp_rust::waproto::buffa::MessageField::some(message),
        ..Default::default()
    })
}

/// A persisted GraphQL operation: its name and id.
type Op = (&'static str, &'static str);

/// Runs `op` with `vars`; WhatsApp's answer under `field`, which must be there (`what` names
/// the channel for a refusal).
async fn mex(client: &Client, op: Op, vars: Value, field: &str, what: &str) -> Result<Value, EngineError> {
    let response = client.mex().mutate(MexRequest::new(op.0, op.1, vars)).await.map_err(|e| mex_error(&e, what))?;
    if let Some(error) = response.errors.as_ref().and_then(|errors| errors.first()) {
        return Err(EngineError::Refused(format!("channel {what}: {}", error.message)));
    }
    match response.data.as_ref().map(|data| &data[field]) {
        Some(answer) if !answer.is_null() => Ok(answer.clone()),
        _ => Err(EngineError::Refused(format!("WhatsApp did not change the channel {what}"))),
    }
}

/// Changes a channel's `updates` (picture, settings).
async fn update(client: &Client, channel: &str, updates: Value) -> Result<Answer, EngineError> {
    let vars = json!({ "newsletter_id": jid(channel)?.to_string(), "updates": updates });
    mex(
        client,
        (ops::update_newsletter::NAME, ops::update_newsletter::DOC_ID),
        vars,
        "xwa2_newsletter_update",
        channel,
    )
    .await?;
    Ok(Answer::Done)
}

async fn admin(client: &Client, channel: &str, phone: &str, change: AdminChange) -> Result<Answer, EngineError> {
    let vars = json!({ "newsletter_id": jid(channel)?.to_string(), "user_id": user_id(client, phone).await? });
    match change {
        AdminChange::Remove => {
            let op = (ops::demote_newsletter_admin::NAME, ops::demote_newsletter_admin::DOC_ID);
            mex(client, op, vars, "xwa2_newsletter_admin_demote", channel).await?;
        }
        AdminChange::RevokeInvite => {
            let op = (ops::revoke_newsletter_admin_invite::NAME, ops::revoke_newsletter_admin_invite::DOC_ID);
            mex(client, op, vars, "xwa2_newsletter_admin_invite_revoke", channel).await?;
        }
        AdminChange::MakeOwner { stay_admin } => {
            let op = (ops::change_newsletter_owner::NAME, ops::change_newsletter_owner::DOC_ID);
            mex(client, op, vars, "xwa2_newsletter_change_owner", channel).await?;
            if !stay_admin {
                let me = [client.lid(), client.pn()].into_iter().flatten().next().ok_or(EngineError::NotLoggedIn)?;
                let vars = json!({ "newsletter_id": jid(channel)?.to_string(), "user_id": me.to_non_ad_string() });
                let op = (ops::demote_newsletter_admin::NAME, ops::demote_newsletter_admin::DOC_ID);
                mex(client, op, vars, "xwa2_newsletter_admin_demote", channel).await?;
            }
        }
    }
    Ok(Answer::Done)
}

/// How WhatsApp names `phone` to channel operations: its private id when WhatsApp gives one,
/// else its number; a number without WhatsApp is not found.
async fn user_id(client: &Client, phone: &str) -> Result<String, EngineError> {
    let answers = client
        .contacts()
        .is_on_whatsapp(&[Jid::pn(phone)])
        .await
        .map_err(|e| EngineError::Unreachable(e.to_string()))?;
    let found = answers
        .into_iter()
        .find(|r| r.is_registered)
        .ok_or_else(|| EngineError::NotFound(format!("number {phone}")))?;
    let lid = found.lid.or_else(|| found.jid.is_lid().then(|| found.jid.clone()));
    Ok(lid.unwrap_or(found.jid).to_non_ad_string())
}

/// Public channels: by name, or WhatsApp's directory in `view`'s order.
async fn search(
    client: &Client,
    text: Option<&str>,
    view: DirectoryView,
    countries: &[String],
    limit: usize,
) -> Result<Answer, EngineError> {
    let limit = limit.clamp(1, 100);
    let (op, vars, field): (Op, Value, &str) = match text {
        Some(text) => (
            (
                ops::fetch_newsletter_directory_search_results::NAME,
                ops::fetch_newsletter_directory_search_results::DOC_ID,
            ),
            json!({ "input": { "search_text": text, "limit": limit }, "fetch_status_metadata": false }),
            "xwa2_newsletters_directory_search",
        ),
        None => {
            let view = match view {
                DirectoryView::Recommended => "RECOMMENDED",
                DirectoryView::Trending => "TRENDING",
                DirectoryView::Popular => "POPULAR",
                DirectoryView::New => "NEW",
            };
            let filters = match countries.is_empty() {
                true => json!({}),
                false => json!({ "country_codes": countries }),
            };
            (
                (ops::fetch_newsletter_directory_list::NAME, ops::fetch_newsletter_directory_list::DOC_ID),
                json!({ "input": { "view": view, "limit": limit, "filters": filters }, "fetch_status_metadata": false }),
                "xwa2_newsletters_directory_list",
            )
        }
    };
    let found = mex(client, op, vars, field, "directory").await?;
    let results = found["result"].as_array().map(Vec::as_slice).unwrap_or_default();
    Ok(Answer::Channels(results.iter().filter_map(found_channel).take(limit).collect()))
}

/// A channel the directory lists, as the account sees it (one it does not follow).
pub fn found_channel(result: &Value) -> Option<ChannelInfo> {
    let id = result["id"].as_str()?;
    let meta = &result["thread_metadata"];
    let number = |v: &Value| v.as_u64().or_else(|| v.as_str()?.parse().ok());
    Some(ChannelInfo {
        id: id.to_owned(),
        name: meta["name"]["text"].as_str().unwrap_or_default().to_owned(),
        description: meta["description"]["text"].as_str().map(str::to_owned).filter(|d| !d.is_empty()),
        picture: meta["picture"]["direct_path"].as_str().map(picture_url),
        created_s: number(&meta["creation_time"]).unwrap_or(0),
        invite_code: meta["invite"].as_str().map(str::to_owned),
        followers: number(&meta["subscribers_count"]).unwrap_or(0),
        role: ChannelRole::Guest,
    })
}

/// A channel picture's link: WhatsApp names it by its path on its media host (channel pictures
/// are not encrypted).
fn picture_url(path: &str) -> String {
    match path.starts_with("https://") {
        true => path.to_owned(),
        false => format!("https://mmg.whatsapp.net{path}"),
    }
}

fn mex_error(e: &whatsapp_rust::features::MexError, what: &str) -> EngineError {
    use whatsapp_rust::features::MexError as M;
    match e {
        M::ExtensionError { code: 404, .. } => EngineError::NotFound(format!("channel {what}")),
        M::ExtensionError { message, .. } => EngineError::Refused(message.clone()),
        e => EngineError::Unreachable(e.to_string()),
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
        picture: m.picture_url.as_deref().map(picture_url),
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
