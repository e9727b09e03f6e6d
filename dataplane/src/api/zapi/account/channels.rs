//! Channel (newsletter) routes — the 17 routes of Z-API's HAR examples the seed does not
//! document, shaped after those examples and Z-API's conventions: create-newsletter answers
//! `{"id": …}`; changes answer `{"value": true}`; `newsletter` lists and
//! `newsletter/metadata/{id}` shows channels as Z-API does (`creationTime`, `subscribersCount`
//! as strings, `inviteLink`, `viewMetadata: {mute, role}`); search-newsletter answers
//! `{"cursor": null, "data": [...]}`. Channel ids are `<digits>@newsletter`, in the body's
//! `id` or the path. Posting to a channel is the ordinary message routes.

use base64::Engine as _;
use chatedge_config::phone::PhoneKind;
use chatedge_config::Phone;
use chatedge_serve::Resp;
use hyper::Method;
use serde_json::{json, Value};

use super::{ask, ok};
use crate::api::zapi::fields::{self, Object};
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::network::account::channels::{Call as Net, Channel, Reactions, Reply, Role, View};

#[derive(Debug, Clone, Copy)]
pub enum Op {
    Create,
    Delete,
    Follow,
    Unfollow,
    Mute,
    Unmute,
    List,
    Metadata,
    AcceptAdminInvite,
    RemoveAdmin,
    RevokeAdminInvite,
    TransferOwnership,
    Settings,
    Search,
    Description,
    Name,
    Picture,
}

macro_rules! route {
    ($path:literal, $methods:literal, $label:literal, $op:ident) => {
        Route { path: $path, methods: $methods, label: $label, op: Op::$op }
    };
}

pub static ROUTES: &[Route<Op>] = &[
    route!("create-newsletter", "POST", "zapi.create-newsletter", Create),
    route!("delete-newsletter", "DELETE", "zapi.delete-newsletter", Delete),
    route!("follow-newsletter", "PUT, POST", "zapi.follow-newsletter", Follow),
    route!("unfollow-newsletter", "PUT, POST", "zapi.unfollow-newsletter", Unfollow),
    route!("mute-newsletter", "PUT, POST", "zapi.mute-newsletter", Mute),
    route!("unmute-newsletter", "PUT, POST", "zapi.unmute-newsletter", Unmute),
    route!("newsletter", "GET", "zapi.newsletter", List),
    route!("newsletter/metadata/{newsletterId}", "GET", "zapi.newsletter-metadata", Metadata),
    route!(
        "newsletter/accept-admin-invite/{newsletterId}",
        "POST",
        "zapi.newsletter-accept-admin-invite",
        AcceptAdminInvite
    ),
    route!("newsletter/remove-admin/{newsletterId}", "POST", "zapi.newsletter-remove-admin", RemoveAdmin),
    route!(
        "newsletter/revoke-admin-invite/{newsletterId}",
        "POST",
        "zapi.newsletter-revoke-admin-invite",
        RevokeAdminInvite
    ),
    route!(
        "newsletter/transfer-ownership/{newsletterId}",
        "POST",
        "zapi.newsletter-transfer-ownership",
        TransferOwnership
    ),
    route!("newsletter/settings/{newsletterId}", "POST", "zapi.newsletter-settings", Settings),
    route!("search-newsletter", "POST", "zapi.search-newsletter", Search),
    route!("update-newsletter-description", "PUT, POST", "zapi.update-newsletter-description", Description),
    route!("update-newsletter-name", "PUT, POST", "zapi.update-newsletter-name", Name),
    route!("update-newsletter-picture", "PUT, POST", "zapi.update-newsletter-picture", Picture),
];

/// WhatsApp's limits on a channel's name and description.
const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 2048;
/// A picture given as base64 (about 64 KiB of image: a channel picture is a small square).
/// The sim keeps it in the channel's row, loaded with the account, so it stays small.
const MAX_PICTURE: usize = 88_000;
/// Results one search may ask for; country codes one search may filter by.
const MAX_LIMIT: u64 = 100;
const MAX_COUNTRIES: usize = 250;

pub async fn handle(call: &Call<'_>, _method: &Method, op: Op, params: &Params) -> Result<Resp, ZapiError> {
    let net = match op {
        Op::List => Net::List,
        Op::Metadata | Op::AcceptAdminInvite => {
            let id = channel_id(params.get(0), "newsletterId")?;
            if let Op::Metadata = op {
                Net::Metadata { id }
            } else {
                Net::AcceptAdminInvite { id }
            }
        }
        _ => parse(op, &fields::object(&call.body)?, params)?,
    };
    match ask(call, net).await? {
        Reply::Created { id } => ok(&json!({"id": id.as_str()})),
        Reply::Channel(c) => ok(&metadata(&c)),
        Reply::Channels(list) if matches!(op, Op::Search) => {
            let data: Vec<Value> = list.iter().map(found).collect();
            ok(&json!({"cursor": null, "data": data}))
        }
        Reply::Channels(list) => ok(&list.iter().map(metadata).collect::<Vec<_>>()),
        Reply::Done => ok(&json!({"value": true})),
    }
}

/// The call a request with a body asks for.
fn parse(op: Op, o: &Object, params: &Params) -> Result<Net, ZapiError> {
    let id = || channel_id_field(o);
    let path_id = || channel_id(params.get(0), "newsletterId");
    Ok(match op {
        Op::Create => Net::Create {
            name: required_text(o, "name", MAX_NAME)?,
            description: fields::text(o, "description", MAX_DESCRIPTION, false)?,
        },
        Op::Delete => Net::Delete { id: id()? },
        Op::Follow => Net::Follow { id: id()? },
        Op::Unfollow => Net::Unfollow { id: id()? },
        Op::Mute => Net::Mute { id: id()?, muted: true },
        Op::Unmute => Net::Mute { id: id()?, muted: false },
        Op::RemoveAdmin => Net::RemoveAdmin { id: path_id()?, phone: fields::phone(o, "phone")? },
        Op::RevokeAdminInvite => Net::RevokeAdminInvite { id: path_id()?, phone: fields::phone(o, "phone")? },
        Op::TransferOwnership => Net::TransferOwnership {
            id: path_id()?,
            phone: fields::phone(o, "phone")?,
            quit_admin: fields::optional_boolean(o, "quitAdmin")?.unwrap_or(false),
        },
        Op::Settings => {
            let reactions = match fields::one_of(o, "reactionCodes", &["basic", "all"])? {
                Some("basic") => Reactions::Basic,
                Some(_) => Reactions::All,
                None => return Err(missing("reactionCodes")),
            };
            Net::SetReactions { id: path_id()?, reactions }
        }
        Op::Description => {
            Net::SetDescription { id: id()?, description: required_text(o, "description", MAX_DESCRIPTION)? }
        }
        Op::Name => Net::SetName { id: id()?, name: required_text(o, "name", MAX_NAME)? },
        Op::Picture => Net::SetPicture { id: id()?, picture: picture(o)? },
        Op::Search => search(o)?,
        Op::List | Op::Metadata | Op::AcceptAdminInvite => return Err(ZapiError::RouteNotFound),
    })
}

/// `{limit, view?, filters: {countryCodes}, searchText?}` (limit as a number or a string).
fn search(o: &Object) -> Result<Net, ZapiError> {
    let bad_limit =
        || ZapiError::invalid("Invalid field", format!("limit must be a whole number from 1 to {MAX_LIMIT}"));
    let limit = match o.get("limit") {
        None | Some(Value::Null) => return Err(missing("limit")),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(bad_limit)?,
        Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad_limit())?,
        Some(_) => return Err(bad_limit()),
    };
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad_limit());
    }
    let view = match fields::one_of(o, "view", &["RECOMMENDED", "TRENDING", "POPULAR", "NEW"])? {
        Some("TRENDING") => View::Trending,
        Some("POPULAR") => View::Popular,
        Some("NEW") => View::New,
        _ => View::Recommended,
    };
    let filters = fields::nested(o.get("filters"), "filters", false)?;
    let mut countries = Vec::new();
    if let Some(list) = filters.map(|f| fields::array(f, "countryCodes", 0, MAX_COUNTRIES)).transpose()?.flatten() {
        for (i, code) in list.iter().enumerate() {
            match code.as_str() {
                Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
                    countries.push(c.to_ascii_uppercase())
                }
                _ => {
                    let message = format!("filters.countryCodes[{i}] must be a two-letter country code");
                    return Err(ZapiError::invalid("Invalid field", message));
                }
            }
        }
    }
    let text = fields::text(o, "searchText", MAX_NAME, false)?.filter(|t| !t.trim().is_empty());
    Ok(Net::Search { text, countries, view, limit: limit as usize })
}

/// `pictureUrl`: an http(s) URL, or the image as base64 (a data URL or bare).
fn picture(o: &Object) -> Result<String, ZapiError> {
    let raw = required_text(o, "pictureUrl", MAX_PICTURE)?;
    let raw = raw.trim();
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(fields::url(o, "pictureUrl", MAX_PICTURE, true)?.unwrap_or_default());
    }
    let (prefix, data) = match raw.split_once(";base64,") {
        Some((head, data)) if head.starts_with("data:image/") => (head.to_owned(), data),
        _ => ("data:image/jpeg".to_owned(), raw),
    };
    match base64::engine::general_purpose::STANDARD.decode(data) {
        Ok(bytes) if !bytes.is_empty() => Ok(format!("{prefix};base64,{data}")),
        _ => Err(ZapiError::invalid("Invalid field", "pictureUrl must be an http(s) URL or an image in base64")),
    }
}

fn channel_id_field(o: &Object) -> Result<Phone, ZapiError> {
    match o.get("id") {
        None | Some(Value::Null) => Err(missing("id")),
        Some(Value::String(s)) => channel_id(s, "id"),
        Some(_) => Err(ZapiError::invalid("Invalid field", "id must be a string")),
    }
}

fn channel_id(raw: &str, field: &str) -> Result<Phone, ZapiError> {
    match Phone::parse(raw.trim()) {
        Ok(p) if p.kind() == PhoneKind::Newsletter => Ok(p),
        _ => Err(ZapiError::invalid(
            "Invalid field",
            format!("{field} must be a channel id like 120363166555745933@newsletter"),
        )),
    }
}

fn required_text(o: &Object, field: &str, max: usize) -> Result<String, ZapiError> {
    fields::text(o, field, max, true)?.ok_or_else(|| missing(field))
}

fn missing(field: &str) -> ZapiError {
    ZapiError::invalid("Invalid field", format!("{field} is required"))
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Owner => "OWNER",
        Role::Admin => "ADMIN",
        Role::Subscriber => "SUBSCRIBER",
        Role::Guest => "GUEST",
    }
}

/// A channel as `newsletter` and `newsletter/metadata` show it; owners and admins also see
/// its other admins and pending admin invitations.
fn metadata(c: &Channel) -> Value {
    let mut v = json!({
        "id": c.id.as_str(),
        "creationTime": (c.created_ms / 1000).to_string(),
        "state": "ACTIVE",
        "name": c.name,
        "description": c.description,
        "subscribersCount": c.followers.to_string(),
        "inviteLink": format!("https://www.whatsapp.com/channel/{}", c.invite_code),
        "verification": "UNVERIFIED",
        "picture": c.picture,
        "preview": c.picture,
        "reactionCodes": match c.reactions { Reactions::All => "ALL", Reactions::Basic => "BASIC" },
        "viewMetadata": {"mute": if c.muted { "ON" } else { "OFF" }, "role": role(c.role)},
    });
    if matches!(c.role, Role::Owner | Role::Admin) {
        let phones = |l: &[Phone]| l.iter().map(|p| p.as_str().to_owned()).collect::<Vec<_>>();
        v["admins"] = json!(phones(&c.admins));
        v["pendingAdminInvites"] = json!(phones(&c.pending_invites));
    }
    v
}

/// A channel as search-newsletter lists it.
fn found(c: &Channel) -> Value {
    json!({
        "id": c.id.as_str(),
        "name": c.name,
        "description": c.description,
        "subscribersCount": c.followers.to_string(),
        "picture": c.picture,
    })
}

#[cfg(test)]
mod tests;
