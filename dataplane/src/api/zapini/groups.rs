//! Groups (seed 002, lines 1337–1520) under `instances/{id}/groups…`: list, create, metadata,
//! update (subject, description), participants and admins (add, remove, promote, demote),
//! leave, and the invite link (read, revoke). Each is the same account call the Z-API group
//! routes make (`Command::Account` with a `groups::Call`), so the sim and the connectors act
//! on it alike; a group is written `…@g.us` in paths and answers, participants
//! `…@s.whatsapp.net`. The network's refusals (not an admin, unknown group, a limit) map to
//! Zapini's errors ([`ZapiniError::Account`]).

use chatedge_config::Phone;
use chatedge_serve::Resp;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::{ask, fields, render, unexpected, Call, ZapiniError};
use crate::network::account::groups::{Call as Net, GroupRef, MemberChange, Metadata, Reply};
use crate::network::account::AccountError;

/// Longest group subject and description (WhatsApp's).
const MAX_SUBJECT: usize = crate::network::account::groups::MAX_SUBJECT_CHARS;
const MAX_DESCRIPTION: usize = crate::network::account::groups::MAX_DESCRIPTION_CHARS;
/// Most groups listed (each listed with its metadata).
const MAX_LISTED: usize = 1000;

/// What a group route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET` and `POST instances/{id}/groups`.
    Groups,
    /// `GET` and `PATCH instances/{id}/groups/{jid}`.
    Group,
    /// `POST` adds, `DELETE` removes.
    Participants,
    /// `POST` promotes, `DELETE` demotes.
    Admins,
    Leave,
    /// `GET` reads, `DELETE` revokes.
    Invite,
}

pub async fn handle(call: &Call<'_>, op: Op) -> Result<Resp, ZapiniError> {
    let instance = call.instance(Some(call.id.as_deref().unwrap_or("")))?;
    let method = call.parts.method.clone();
    match (op, method) {
        (Op::Groups, Method::GET) => list(call, &instance).await,
        (Op::Groups, _) => {
            let o = fields::object(&call.body)?;
            let subject = required(&o, "subject", MAX_SUBJECT)?;
            let participants = fields::participants(&o)?;
            match ask(call, &instance, Net::Create { name: subject.clone(), participants, picture: None }).await? {
                Reply::Created { phone, .. } => Ok(render::data(
                    StatusCode::CREATED,
                    None,
                    json!({"group": {"jid": fields::jid(&phone), "subject": subject}, "message": "Group created successfully"}),
                )),
                _ => Err(unexpected()),
            }
        }
        (Op::Group, Method::GET) => {
            let m = metadata(call, &instance, group(call)?).await?;
            Ok(render::data(StatusCode::OK, None, described(&m, true)))
        }
        (Op::Group, _) => {
            let group = group(call)?;
            let o = fields::object(&call.body)?;
            let subject = fields::string(&o, "subject", MAX_SUBJECT)?;
            let description = description(&o)?;
            if subject.is_none() && description.is_none() {
                return Err(ZapiniError::invalid("subject", "give subject, description or both"));
            }
            if let Some(name) = subject {
                ask(call, &instance, Net::Rename { group: GroupRef::Group(group.clone()), name }).await?;
            }
            if let Some(description) = description {
                ask(call, &instance, Net::Describe { group: GroupRef::Group(group.clone()), description }).await?;
            }
            let m = metadata(call, &instance, group).await?;
            Ok(render::data(StatusCode::OK, Some("Group updated"), described(&m, false)))
        }
        (Op::Participants | Op::Admins, method) => {
            let change = match (op, method == Method::DELETE) {
                (Op::Participants, false) => MemberChange::Add,
                (Op::Participants, true) => MemberChange::Remove,
                (_, false) => MemberChange::Promote,
                (_, true) => MemberChange::Demote,
            };
            let group = group(call)?;
            let phones = fields::participants(&fields::object(&call.body)?)?;
            let asked = phones.len();
            let changed =
                match ask(call, &instance, Net::Members { group: GroupRef::Group(group.clone()), change, phones })
                    .await?
                {
                    Reply::Done { changed } | Reply::Added { changed, .. } => changed,
                    _ => return Err(unexpected()),
                };
            let said = match change {
                MemberChange::Add => "Participants added",
                MemberChange::Remove => "Participants removed",
                MemberChange::Promote => "Participants promoted to admin",
                _ => "Participants demoted",
            };
            Ok(render::data(
                StatusCode::OK,
                Some(said),
                json!({"jid": fields::jid(&group), "requested": asked, "changed": changed}),
            ))
        }
        (Op::Leave, _) => {
            let group = group(call)?;
            ask(call, &instance, Net::Leave { group: GroupRef::Group(group.clone()) }).await?;
            Ok(render::data(StatusCode::OK, Some("Left the group"), json!({"jid": fields::jid(&group)})))
        }
        (Op::Invite, method) => {
            let reset = method == Method::DELETE;
            let group = GroupRef::Group(group(call)?);
            let link = match ask(call, &instance, Net::InvitationLink { group, reset }).await? {
                Reply::Link { invitation_link, .. } => invitation_link,
                _ => return Err(unexpected()),
            };
            let code = link.rsplit('/').next().unwrap_or_default().to_owned();
            Ok(match reset {
                false => render::data(StatusCode::OK, None, json!({"code": code, "invite_link": link})),
                true => render::data(
                    StatusCode::OK,
                    Some("Invite link revoked"),
                    json!({"new_code": code, "new_invite_link": link}),
                ),
            })
        }
    }
}

/// `GET instances/{id}/groups`: every group with its subject, owner, size and description.
async fn list(call: &Call<'_>, instance: &chatedge_config::InstanceConfig) -> Result<Resp, ZapiniError> {
    let summaries = match ask(call, instance, Net::List { page: 1, page_size: MAX_LISTED }).await? {
        Reply::List(l) => l,
        _ => return Err(unexpected()),
    };
    let mut groups = Vec::with_capacity(summaries.len());
    for s in summaries {
        match metadata(call, instance, s.phone.clone()).await {
            Ok(m) => groups.push(described(&m, false)),
            // Left or removed between the two calls: not listed.
            Err(ZapiniError::Account(AccountError::NotFound(_))) => {}
            Err(e) => return Err(e),
        }
    }
    let total = groups.len();
    Ok(render::data(StatusCode::OK, None, json!({"groups": groups, "total": total})))
}

async fn metadata(
    call: &Call<'_>,
    instance: &chatedge_config::InstanceConfig,
    group: Phone,
) -> Result<Metadata, ZapiniError> {
    match ask(call, instance, Net::Metadata { group: GroupRef::Group(group), with_link: false }).await? {
        Reply::Metadata(m) => Ok(*m),
        _ => Err(unexpected()),
    }
}

/// A group as the seed writes it; `with_participants` for the metadata route.
fn described(m: &Metadata, with_participants: bool) -> Value {
    let mut v = json!({
        "jid": fields::jid(&m.phone),
        "subject": m.subject,
        "description": m.description,
        "owner": fields::jid(&m.owner),
        "size": m.participants.len(),
    });
    if with_participants {
        v["participants"] = m
            .participants
            .iter()
            .map(|p| {
                let admin = match (p.super_admin, p.admin) {
                    (true, _) => json!("superadmin"),
                    (false, true) => json!("admin"),
                    _ => Value::Null,
                };
                json!({"jid": fields::jid(&p.phone), "admin": admin})
            })
            .collect();
    }
    v
}

/// The `{jid}` of the path: a group (`…@g.us`, percent-encoded or not).
fn group(call: &Call<'_>) -> Result<Phone, ZapiniError> {
    let raw = call.jid.as_deref().unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    match fields::phone("jid", &decoded) {
        Ok(p) if p.is_group() => Ok(p),
        _ => Err(ZapiniError::invalid("jid", "the jid must be a group, like 120363001234567890@g.us")),
    }
}

fn required(o: &fields::Object, field: &'static str, max: usize) -> Result<String, ZapiniError> {
    fields::string(o, field, max)?.ok_or_else(|| fields::required(field))
}

/// `description` may be set empty (to clear it), unlike other strings.
fn description(o: &fields::Object) -> Result<Option<String>, ZapiniError> {
    match o.get("description") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > MAX_DESCRIPTION => Err(ZapiniError::invalid(
            "description",
            format!("the description field must not be longer than {MAX_DESCRIPTION} characters"),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ZapiniError::invalid("description", "the description field must be a string")),
    }
}
