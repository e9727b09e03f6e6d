//! Group routes (seed 001, lines 6772–8420, rows 88–106): list, create, rename, picture,
//! description, settings, participants (add, remove, approve, reject, promote, demote — by
//! `groupId`, or by `communityId` for a community's members), leave, metadata, invitation
//! links. Changes answer `{"value": true}`, and `{"value": false, "message": why}` when the
//! network refuses them (seed: "true if it worked and false if it failed");
//! `accept-invite-group` answers `{"success": …}` the same way. Reads of an unknown group are
//! a 404 in Z-API's error shape.

use chatedge_config::Phone;
use chatedge_serve::Resp;
use hyper::Method;
use serde_json::{json, Value};

use super::{ask, ok};
use crate::api::zapi::fields::{self, MediaText, Object};
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::network::account::groups::{
    Call as Net, GroupRef, MemberChange, Metadata, Picture, Reply, SettingsChange, Summary,
};
use crate::network::account::AccountError;
use crate::queue::{Content, OutboundMessage};
use crate::shard::Command;

#[derive(Debug, Clone, Copy)]
pub enum Op {
    List,
    Create,
    Rename,
    Photo,
    Members(MemberChange),
    Leave,
    Metadata { light: bool },
    InvitationMetadata,
    Settings,
    Description,
    ResetLink,
    Link,
    AcceptInvite,
}

macro_rules! route {
    ($path:literal, $methods:literal, $label:literal, $op:expr) => {
        Route { path: $path, methods: $methods, label: $label, op: $op }
    };
}

pub static ROUTES: &[Route<Op>] = &[
    route!("groups", "GET", "zapi.groups", Op::List),
    route!("create-group", "POST", "zapi.create-group", Op::Create),
    route!("update-group-name", "POST", "zapi.update-group-name", Op::Rename),
    route!("update-group-photo", "POST", "zapi.update-group-photo", Op::Photo),
    route!("add-participant", "POST", "zapi.add-participant", Op::Members(MemberChange::Add)),
    route!("remove-participant", "POST", "zapi.remove-participant", Op::Members(MemberChange::Remove)),
    route!("approve-participant", "POST", "zapi.approve-participant", Op::Members(MemberChange::Approve)),
    route!("reject-participant", "POST", "zapi.reject-participant", Op::Members(MemberChange::Reject)),
    route!("add-admin", "POST", "zapi.add-admin", Op::Members(MemberChange::Promote)),
    route!("remove-admin", "POST", "zapi.remove-admin", Op::Members(MemberChange::Demote)),
    route!("leave-group", "POST", "zapi.leave-group", Op::Leave),
    route!("group-metadata/{groupId}", "GET", "zapi.group-metadata", Op::Metadata { light: false }),
    route!("light-group-metadata/{groupId}", "GET", "zapi.light-group-metadata", Op::Metadata { light: true }),
    route!("group-invitation-metadata", "GET", "zapi.group-invitation-metadata", Op::InvitationMetadata),
    route!("update-group-settings", "POST", "zapi.update-group-settings", Op::Settings),
    route!("update-group-description", "POST", "zapi.update-group-description", Op::Description),
    route!("redefine-invitation-link/{groupOrCommunityId}", "POST", "zapi.redefine-invitation-link", Op::ResetLink),
    route!("group-invitation-link/{groupId}", "GET, POST", "zapi.group-invitation-link", Op::Link),
    route!("accept-invite-group", "GET", "zapi.accept-invite-group", Op::AcceptInvite),
];

/// Phones one request may name (a group's participants).
pub const MAX_PHONES: usize = 1024;
/// Longest group subject and description (WhatsApp's).
const MAX_SUBJECT: usize = crate::network::account::groups::MAX_SUBJECT_CHARS;
const MAX_DESCRIPTION: usize = crate::network::account::groups::MAX_DESCRIPTION_CHARS;
/// Largest page of `GET /groups`.
pub const MAX_PAGE_SIZE: usize = 1000;

pub async fn handle(call: &Call<'_>, _method: &Method, op: Op, params: &Params) -> Result<Resp, ZapiError> {
    let q = call.query.as_deref();
    match op {
        Op::List => {
            let (page, page_size) = paging(q)?;
            match ask(call, Net::List { page, page_size }).await? {
                Reply::List(list) => ok(&list.iter().map(summary).collect::<Vec<_>>()),
                _ => Err(unexpected()),
            }
        }
        Op::Create => {
            let (net, auto_invite) = create(&fields::object(&call.body)?)?;
            match ask(call, net).await? {
                Reply::Created { phone, invitation_link, needs_invite } => {
                    if auto_invite {
                        invite(call, &needs_invite, &invitation_link).await?;
                    }
                    ok(&json!({"phone": phone.as_str(), "invitationLink": invitation_link}))
                }
                _ => Err(unexpected()),
            }
        }
        Op::Members(MemberChange::Add) => add(call).await,
        Op::Metadata { light } => {
            let group = GroupRef::Group(group_param(params.get(0), "groupId")?);
            match ask(call, Net::Metadata { group, with_link: !light }).await? {
                Reply::Metadata(m) => ok(&metadata(&m, light)),
                _ => Err(unexpected()),
            }
        }
        Op::InvitationMetadata => {
            let link = fields::query(q, "url").or_else(|| fields::query(q, "URL")).filter(|u| !u.trim().is_empty());
            let link = link.ok_or_else(|| ZapiError::invalid("Invalid field", "url is required"))?;
            match ask(call, Net::Invitation { link }).await? {
                Reply::Metadata(m) => ok(&invitation(&m)),
                _ => Err(unexpected()),
            }
        }
        Op::ResetLink | Op::Link => {
            let group = match op {
                Op::ResetLink => group_or_community(params.get(0))?,
                _ => GroupRef::Group(group_param(params.get(0), "groupId")?),
            };
            let reset = matches!(op, Op::ResetLink);
            match ask(call, Net::InvitationLink { group, reset }).await? {
                Reply::Link { invitation_link, .. } if reset => ok(&json!({"invitationLink": invitation_link})),
                Reply::Link { phone, invitation_link } => {
                    ok(&json!({"phone": phone.as_str(), "invitationLink": invitation_link}))
                }
                _ => Err(unexpected()),
            }
        }
        Op::AcceptInvite => {
            let link = fields::query(q, "url").filter(|u| !u.trim().is_empty());
            let link = link.ok_or_else(|| ZapiError::invalid("Invalid field", "url is required"))?;
            verdict("success", ask(call, Net::AcceptInvitation { link }).await.map(|_| ()))
        }
        _ => {
            let net = change(op, &call.body)?;
            verdict("value", ask(call, net).await.map(|_| ()))
        }
    }
}

/// The request of a route that changes a group.
fn change(op: Op, body: &bytes::Bytes) -> Result<Net, ZapiError> {
    if let Op::Photo = op {
        let (o, media) = fields::object_with_media(body, "groupPhoto")?;
        let group = group_ref(&o, &["groupId", "groupID"])?;
        return Ok(Net::SetPicture { group, picture: picture(media, "groupPhoto")? });
    }
    let o = fields::object(body)?;
    Ok(match op {
        Op::Rename => {
            Net::Rename { group: group_ref(&o, &["groupId"])?, name: required_text(&o, "groupName", MAX_SUBJECT)? }
        }
        Op::Description => Net::Describe {
            group: group_ref(&o, &["groupId"])?,
            description: fields::text(&o, "groupDescription", MAX_DESCRIPTION, false)?
                .ok_or_else(|| ZapiError::invalid("Invalid field", "groupDescription is required"))?,
        },
        Op::Members(change) => Net::Members { group: member_group(&o)?, change, phones: phones(&o, "phones")? },
        Op::Leave => Net::Leave { group: group_ref(&o, &["groupId"])? },
        _ => settings(&o)?,
    })
}

/// `add-participant` (seed 001 lines 7088 and 8837, for a group or a community). With
/// `autoInvite`, the numbers WhatsApp would not add for their privacy settings get the group's
/// (or community's) invitation link privately, as Z-API's workaround does. A refused invitation
/// (the queue full, say) is the answer: calling again adds nobody twice and invites again.
async fn add(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let o = fields::object(&call.body)?;
    let (group, auto_invite) = (member_group(&o)?, auto_invite(&o)?);
    let net = Net::Members { group: group.clone(), change: MemberChange::Add, phones: phones(&o, "phones")? };
    let needs_invite = match ask(call, net).await {
        Ok(Reply::Added { needs_invite, .. }) => needs_invite,
        Ok(_) => Vec::new(),
        Err(e) => return verdict("value", Err(e)),
    };
    if auto_invite && !needs_invite.is_empty() {
        match ask(call, Net::InvitationLink { group, reset: false }).await? {
            Reply::Link { invitation_link, .. } => invite(call, &needs_invite, &invitation_link).await?,
            _ => return Err(unexpected()),
        }
    }
    verdict("value", Ok(()))
}

/// What WhatsApp writes when one shares a group's link with someone it could not add.
const INVITATION_TEXT: &str = "Follow this link to join my WhatsApp group: ";

/// Queues, to each of `phones`, a message with `link`: durable, paced and reported like any
/// send (its DeliveryCallback and statuses reach the webhooks).
async fn invite(call: &Call<'_>, phones: &[Phone], link: &str) -> Result<(), ZapiError> {
    if link.is_empty() {
        return Ok(()); // the network gave no link: nothing to invite with
    }
    let instance = call.instance.id;
    for phone in phones {
        let message = OutboundMessage::new(instance, phone.clone(), Content::text(format!("{INVITATION_TEXT}{link}")));
        call.app.shards.call(&instance, |reply| Command::Enqueue { message, reply, idempotency: None }).await?;
    }
    Ok(())
}

fn auto_invite(o: &Object) -> Result<bool, ZapiError> {
    Ok(fields::optional_boolean(o, "autoInvite")?.unwrap_or(false))
}

/// `{groupName, phones, autoInvite?, profileImage?}`: the creation, and whether to invite who
/// their privacy keeps out.
fn create(o: &Object) -> Result<(Net, bool), ZapiError> {
    let name = required_text(o, "groupName", MAX_SUBJECT)?;
    let participants = phones(o, "phones")?;
    let auto_invite = auto_invite(o)?;
    let picture = fields::url(o, "profileImage", 4096, false)?.map(Picture::Url);
    Ok((Net::Create { name, participants, picture }, auto_invite))
}

/// `{phone | groupId, adminOnlyMessage?, adminOnlySettings?, requireAdminApproval?,
/// adminOnlyAddMember?}`: seed 001 names the group `phone`, Z-API's own example `groupId`.
fn settings(o: &Object) -> Result<Net, ZapiError> {
    let group = group_ref(o, &["phone", "groupId"])?;
    let settings = SettingsChange {
        admin_only_message: fields::optional_boolean(o, "adminOnlyMessage")?,
        admin_only_settings: fields::optional_boolean(o, "adminOnlySettings")?,
        require_admin_approval: fields::optional_boolean(o, "requireAdminApproval")?,
        admin_only_add_member: fields::optional_boolean(o, "adminOnlyAddMember")?,
    };
    if settings == SettingsChange::default() {
        return Err(ZapiError::invalid(
            "Invalid field",
            "one of adminOnlyMessage, adminOnlySettings, requireAdminApproval, adminOnlyAddMember is required",
        ));
    }
    Ok(Net::Configure { group, settings })
}

/// `groupId`, or `communityId` for a community's members (seed 001, lines 8800–9070).
fn member_group(o: &Object) -> Result<GroupRef, ZapiError> {
    match o.get("communityId") {
        Some(v) if !v.is_null() && o.get("groupId").is_none_or(Value::is_null) => {
            Ok(GroupRef::Community(community_value(v, "communityId")?))
        }
        _ => group_ref(o, &["groupId"]),
    }
}

/// The group named by the first of `names` present (the first name is the one errors use).
fn group_ref(o: &Object, names: &[&str]) -> Result<GroupRef, ZapiError> {
    let found = names.iter().find_map(|n| o.get(*n).filter(|v| !v.is_null()).map(|v| (*n, v)));
    let (name, v) = found.ok_or_else(|| ZapiError::invalid("Invalid field", format!("{} is required", names[0])))?;
    let raw = match v {
        Value::String(s) => s.trim().to_owned(),
        _ => return Err(ZapiError::invalid("Invalid field", format!("{name} must be a string"))),
    };
    group_param(&raw, name).map(GroupRef::Group)
}

fn group_param(raw: &str, name: &str) -> Result<Phone, ZapiError> {
    match Phone::parse(raw.trim()) {
        Ok(p) if p.is_group() => Ok(p),
        _ => Err(ZapiError::invalid(
            "Invalid field",
            format!("{name} must be a group id (120363019502650977-group, or 5511999999999-1623281429)"),
        )),
    }
}

fn group_or_community(raw: &str) -> Result<GroupRef, ZapiError> {
    match Phone::parse(raw.trim()) {
        Ok(p) if p.is_group() => Ok(GroupRef::Group(p)),
        _ => community_id(raw, "groupOrCommunityId").map(GroupRef::Community),
    }
}

/// A community id: its digits (seed 001: "120363019502650977"), as a string or a number.
pub fn community_value(v: &Value, name: &str) -> Result<String, ZapiError> {
    match v {
        Value::String(s) => community_id(s, name),
        Value::Number(n) if n.is_u64() => community_id(&n.to_string(), name),
        _ => Err(ZapiError::invalid("Invalid field", format!("{name} must be a community id (digits)"))),
    }
}

pub fn community_id(raw: &str, name: &str) -> Result<String, ZapiError> {
    let s = raw.trim();
    match (5..=30).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        true => Ok(s.to_owned()),
        false => Err(ZapiError::invalid(
            "Invalid field",
            format!("{name} must be a community id (digits, as in 120363019502650977)"),
        )),
    }
}

/// A required array of participants' numbers.
fn phones(o: &Object, field: &str) -> Result<Vec<Phone>, ZapiError> {
    let list = fields::array(o, field, 1, MAX_PHONES)?
        .ok_or_else(|| ZapiError::invalid("Invalid field", format!("{field} is required")))?;
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let name = format!("{field}[{i}]");
        let p = fields::phone_value(v, &name)?;
        if p.is_group() || p.as_str().contains('@') {
            return Err(ZapiError::invalid("Invalid phone", format!("{name} must be a phone number")));
        }
        out.push(p);
    }
    Ok(out)
}

fn required_text(o: &Object, field: &str, max: usize) -> Result<String, ZapiError> {
    fields::text(o, field, max, true)?
        .ok_or_else(|| ZapiError::invalid("Invalid field", format!("{field} is required")))
}

/// A picture given as a URL or base64 data.
pub fn picture(media: Option<MediaText>, field: &str) -> Result<Picture, ZapiError> {
    use base64::Engine as _;
    match media {
        None => Err(ZapiError::invalid("Invalid field", format!("{field} is required"))),
        Some(MediaText::Url(u)) => Ok(Picture::Url(u)),
        Some(MediaText::Base64 { body, range }) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&body[range])
                .map_err(|e| ZapiError::invalid("Invalid field", format!("{field} is not valid base64: {e}")))?;
            match bytes.is_empty() {
                true => Err(ZapiError::invalid("Invalid field", format!("{field} is empty"))),
                false => Ok(Picture::Data(bytes.into())),
            }
        }
    }
}

/// `page` (from 1) and `pageSize` (1 to [`MAX_PAGE_SIZE`]); all groups up to the bound when absent.
pub fn paging(q: Option<&str>) -> Result<(usize, usize), ZapiError> {
    let number = |name: &str, default: usize, max: usize| -> Result<usize, ZapiError> {
        match fields::query(q, name) {
            None => Ok(default),
            Some(v) => v.trim().parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
                ZapiError::invalid("Invalid field", format!("{name} must be a whole number from 1 to {max}"))
            }),
        }
    };
    Ok((number("page", 1, usize::MAX / MAX_PAGE_SIZE)?, number("pageSize", MAX_PAGE_SIZE, MAX_PAGE_SIZE)?))
}

/// A change's answer: `{key: true}`, or `{key: false, "message": why}` when the network
/// refused it; a disconnected instance or a failing store stay errors.
pub fn verdict(key: &str, r: Result<(), ZapiError>) -> Result<Resp, ZapiError> {
    match r {
        Ok(()) => ok(&json!({key: true})),
        Err(ZapiError::Account(
            e @ (AccountError::Refused(_) | AccountError::NotFound(_) | AccountError::Limit(_)),
        )) => ok(&json!({key: false, "message": e.to_string()})),
        Err(e) => Err(e),
    }
}

fn summary(s: &Summary) -> Value {
    json!({
        "isGroup": true,
        "isGroupAnnouncement": s.announcement,
        "name": s.name,
        "phone": s.phone.as_str(),
        "unread": "0",
        "lastMessageTime": s.last_activity_ms.to_string(),
        "isMuted": "0",
        "isMarketSpam": "false",
        "archived": "false",
        "pinned": "false",
        "muteEndTime": null,
        "messagesUnread": "0",
    })
}

fn participants(m: &Metadata) -> Vec<Value> {
    m.participants
        .iter()
        .map(|p| json!({"phone": p.phone.as_str(), "isAdmin": p.admin, "isSuperAdmin": p.super_admin}))
        .collect()
}

/// A group's metadata; `invitationLinkError` (Z-API's documentation since 2025-09) says why a
/// full metadata has no link: WhatsApp gives it to admins only, or to every member when the
/// group's link mode lets them share it (`not-authorized`). The light
/// form never asks for the link, so it has no error either.
fn metadata(m: &Metadata, light: bool) -> Value {
    let link_error = (m.invitation_link.is_none() && !light).then_some("not-authorized");
    json!({
        "phone": m.phone.as_str(),
        "description": m.description,
        "owner": m.owner.as_str(),
        "subject": m.subject,
        "creation": m.creation_ms,
        "invitationLink": m.invitation_link,
        "invitationLinkError": link_error,
        "communityId": m.community_id,
        "adminOnlyMessage": m.admin_only_message,
        "adminOnlySettings": m.admin_only_settings,
        "requireAdminApproval": m.require_admin_approval,
        "adminOnlyAddMember": m.admin_only_add_member,
        "isGroupAnnouncement": m.announcement,
        "participants": participants(m),
        "subjectTime": m.subject_time_ms,
        "subjectOwner": m.subject_owner.as_str(),
    })
}

/// What an invitation shows (seed 001, lines 8012–8090). The sim keeps no address book:
/// every participant counts as a contact.
fn invitation(m: &Metadata) -> Value {
    json!({
        "phone": m.phone.as_str(),
        "owner": m.owner.as_str(),
        "subject": m.subject,
        "description": m.description,
        "creation": m.creation_ms,
        "invitationLink": m.invitation_link,
        "contactsCount": m.participants.len(),
        "participantsCount": m.participants.len(),
        "participants": participants(m),
        "subjectTime": m.subject_time_ms,
        "subjectOwner": m.subject_owner.as_str(),
    })
}

fn unexpected() -> ZapiError {
    ZapiError::Account(AccountError::Unavailable("unexpected reply".into()))
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
