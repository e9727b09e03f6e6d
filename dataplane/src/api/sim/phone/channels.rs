//! channels: people on the network acting on channels. `newsletter {instanceId, name,
//! description?, owner, country?, inviteMe?}`: someone (`owner`) runs a public channel the
//! instance can find and follow — with `inviteMe`, the owner invites the instance to
//! administer it (accepted with `newsletter/accept-admin-invite`); answers its
//! `newsletterId`. `newsletter-follow {instanceId, newsletterId, phone}`: `phone` follows
//! the instance's channel (and receives its posts). `newsletter-admin-accept {instanceId,
//! newsletterId, phone}`: `phone` accepts the admin invitation the instance sent it
//! (NEWSLETTER_ADMIN_PROMOTE). `newsletter-admin-demote {instanceId, newsletterId, phone}`:
//! the admin `phone` — or the instance itself, when `phone` is its own number — goes back to
//! being a follower (NEWSLETTER_ADMIN_DEMOTE).

use std::sync::Arc;

use chatedge_config::phone::PhoneKind;
use chatedge_config::{InstanceId, Phone};
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::{invalid, SimApiError};
use crate::api::App;
use crate::network::sim::world::channels as world;
use crate::network::sim::SimNetwork;

/// `/sim/<action>` → metrics label.
pub const ACTIONS: &[(&str, &str)] = &[
    ("newsletter", "sim.newsletter"),
    ("newsletter-follow", "sim.newsletter-follow"),
    ("newsletter-admin-accept", "sim.newsletter-admin-accept"),
    ("newsletter-admin-demote", "sim.newsletter-admin-demote"),
];

/// Longest name and description a sim channel takes (WhatsApp's limits).
const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 2048;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewChannel {
    instance_id: String,
    name: String,
    #[serde(default)]
    description: String,
    owner: String,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    invite_me: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Member {
    instance_id: String,
    newsletter_id: String,
    phone: String,
}

fn instance(s: &str) -> Result<InstanceId, SimApiError> {
    InstanceId::parse(s).map_err(|e| invalid(format!("instanceId: {e}")))
}

fn phone(s: &str, field: &str) -> Result<Phone, SimApiError> {
    let p = Phone::normalize(s).map_err(|e| invalid(format!("{field}: {e}")))?;
    match p.kind() {
        PhoneKind::Contact => Ok(p),
        _ => Err(invalid(format!("{field}: a phone number"))),
    }
}

fn channel(s: &str) -> Result<Phone, SimApiError> {
    match Phone::parse(s) {
        Ok(p) if p.kind() == PhoneKind::Newsletter => Ok(p),
        _ => Err(invalid("newsletterId: a channel id like 120363166555745933@newsletter")),
    }
}

pub async fn serve(_app: &App, sim: &Arc<SimNetwork>, action: &str, body: &[u8]) -> Result<Value, SimApiError> {
    if action == "newsletter" {
        let b: NewChannel = super::parse(body)?;
        let (id, owner) = (instance(&b.instance_id)?, phone(&b.owner, "owner")?);
        if b.name.trim().is_empty() || b.name.chars().count() > MAX_NAME {
            return Err(invalid(format!("name: 1 to {MAX_NAME} characters")));
        }
        if b.description.chars().count() > MAX_DESCRIPTION {
            return Err(invalid(format!("description: at most {MAX_DESCRIPTION} characters")));
        }
        let country = b.country.unwrap_or_else(|| "BR".into()).to_ascii_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(invalid("country: a two-letter country code"));
        }
        let facts = (b.name, b.description, country);
        let channel = sim.phone_change(id, |w, cx| world::external(w, facts, owner, b.invite_me, cx)).await?;
        return Ok(json!({"newsletterId": channel.as_str()}));
    }
    let b: Member = super::parse(body)?;
    let (id, channel, phone) = (instance(&b.instance_id)?, channel(&b.newsletter_id)?, phone(&b.phone, "phone")?);
    match action {
        "newsletter-follow" => sim.phone_change(id, |w, cx| world::followed_by(w, &channel, &phone, cx)).await?,
        "newsletter-admin-accept" => {
            sim.phone_change(id, |w, cx| world::admin_accepts(w, &channel, &phone, cx)).await?
        }
        "newsletter-admin-demote" => sim.phone_change(id, |w, cx| world::demoted(w, &channel, &phone, cx)).await?,
        _ => return Err(invalid(format!("unknown sim action {action}"))),
    }
    Ok(json!({"value": true}))
}
