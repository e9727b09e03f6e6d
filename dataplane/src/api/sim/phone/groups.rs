//! groups: what other people do to groups on the sim network, each producing seed 001's
//! notification webhook when the account is in the group (lines 12325–12430, 12975–13000):
//! `group-create` `{instanceId, owner, name, participants?, addMe?}` (GROUP_CREATE; with
//! `addMe: false` the group exists without the account, reachable by its invitation link,
//! which the answer gives); `group-add`, `group-remove`, `group-promote`, `group-demote`,
//! `group-approve`, `group-reject` `{instanceId, groupId, by, phones}` (GROUP_PARTICIPANT_ADD
//! / _REMOVE / _PROMOTE / _DEMOTE, an approval as _ADD, a rejection unannounced; `by` an admin
//! of the group — approving the account's own request lets it in); `group-leave` `{instanceId, groupId, phone}`
//! (GROUP_PARTICIPANT_LEAVE); `group-join-request` `{instanceId, groupId, phone, addedBy?}`
//! (MEMBERSHIP_APPROVAL_REQUEST, `invite_link`, or `non_admin_add` when a participant who is
//! not an admin added them); `group-join-request-revoke` `{instanceId, groupId, phone}`
//! (REVOKED_MEMBERSHIP_REQUESTS); `group-settings` `{instanceId, groupId, by,
//! adminOnlyMessage?, adminOnlySettings?, requireAdminApproval?, adminOnlyAddMember?,
//! linkMode?}` (no notification in the seed for the first four; `linkMode`, `ADMIN_LINK` or
//! `ALL_MEMBER_LINK`, is who may share the invitation link, and a change of it is told with
//! GROUP_MEMBER_LINK_PROPERTY_UPDATE, from Z-API's documentation after seed 001).

use std::sync::Arc;

use chatedge_config::{InstanceId, Phone};
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::{invalid, SimApiError};
use crate::api::App;
use crate::network::account::groups::{MemberChange, SettingsChange};
use crate::network::sim::world::groups::by_others;
use crate::network::sim::SimNetwork;

/// `/sim/<action>` → metrics label.
pub const ACTIONS: &[(&str, &str)] = &[
    ("group-create", "sim.group-create"),
    ("group-add", "sim.group-add"),
    ("group-remove", "sim.group-remove"),
    ("group-promote", "sim.group-promote"),
    ("group-demote", "sim.group-demote"),
    ("group-approve", "sim.group-approve"),
    ("group-reject", "sim.group-reject"),
    ("group-leave", "sim.group-leave"),
    ("group-join-request", "sim.group-join-request"),
    ("group-join-request-revoke", "sim.group-join-request-revoke"),
    ("group-settings", "sim.group-settings"),
];

/// Phones one action may name.
const MAX_PHONES: usize = 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Create {
    instance_id: String,
    owner: String,
    name: String,
    #[serde(default)]
    participants: Vec<String>,
    #[serde(default = "yes")]
    add_me: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Change {
    instance_id: String,
    group_id: String,
    by: String,
    phones: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Someone {
    instance_id: String,
    group_id: String,
    phone: String,
    #[serde(default)]
    added_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Configure {
    instance_id: String,
    group_id: String,
    by: String,
    admin_only_message: Option<bool>,
    admin_only_settings: Option<bool>,
    require_admin_approval: Option<bool>,
    admin_only_add_member: Option<bool>,
    link_mode: Option<String>,
}

fn instance(s: &str) -> Result<InstanceId, SimApiError> {
    InstanceId::parse(s).map_err(|e| invalid(format!("instanceId: {e}")))
}

fn phone(s: &str, field: &str) -> Result<Phone, SimApiError> {
    Phone::parse(s).map_err(|e| invalid(format!("{field}: {e}")))
}

fn group(s: &str) -> Result<Phone, SimApiError> {
    match phone(s, "groupId")? {
        p if p.is_group() => Ok(p),
        _ => Err(invalid("groupId: must be a group id (…-group)")),
    }
}

fn phones(list: &[String], field: &str) -> Result<Vec<Phone>, SimApiError> {
    if list.len() > MAX_PHONES {
        return Err(invalid(format!("{field}: at most {MAX_PHONES}")));
    }
    list.iter().enumerate().map(|(i, p)| phone(p, &format!("{field}[{i}]"))).collect()
}

pub async fn serve(_app: &App, sim: &Arc<SimNetwork>, action: &str, body: &[u8]) -> Result<Value, SimApiError> {
    match action {
        "group-create" => {
            let c: Create = super::parse(body)?;
            let (owner, members) = (phone(&c.owner, "owner")?, phones(&c.participants, "participants")?);
            if c.name.trim().is_empty() || c.name.chars().count() > crate::network::account::groups::MAX_SUBJECT_CHARS {
                return Err(invalid("name: 1 to 100 characters"));
            }
            let (id, link) = sim
                .phone_change(instance(&c.instance_id)?, |w, cx| {
                    by_others::create(w, cx, &owner, c.name, members, c.add_me)
                })
                .await?;
            Ok(json!({"phone": id.as_str(), "invitationLink": link}))
        }
        "group-add" | "group-remove" | "group-promote" | "group-demote" | "group-approve" | "group-reject" => {
            let c: Change = super::parse(body)?;
            let change = match action {
                "group-add" => MemberChange::Add,
                "group-remove" => MemberChange::Remove,
                "group-promote" => MemberChange::Promote,
                "group-approve" => MemberChange::Approve,
                "group-reject" => MemberChange::Reject,
                _ => MemberChange::Demote,
            };
            let (g, by, list) = (group(&c.group_id)?, phone(&c.by, "by")?, phones(&c.phones, "phones")?);
            let changed = sim
                .phone_change(instance(&c.instance_id)?, |w, cx| by_others::members(w, cx, &g, &by, change, list))
                .await?;
            Ok(json!({"value": true, "changed": changed}))
        }
        "group-leave" | "group-join-request" | "group-join-request-revoke" => {
            let s: Someone = super::parse(body)?;
            let (g, who) = (group(&s.group_id)?, phone(&s.phone, "phone")?);
            let by = s.added_by.as_deref().map(|b| phone(b, "addedBy")).transpose()?;
            if by.is_some() && action != "group-join-request" {
                return Err(invalid("addedBy: only for group-join-request"));
            }
            sim.phone_change(instance(&s.instance_id)?, |w, cx| match action {
                "group-leave" => by_others::leave(w, cx, &g, &who),
                "group-join-request" => by_others::ask_to_join(w, cx, &g, &who, by.as_ref()),
                _ => by_others::withdraw_request(w, cx, &g, &who),
            })
            .await?;
            Ok(json!({"value": true}))
        }
        "group-settings" => {
            let c: Configure = super::parse(body)?;
            let (g, by) = (group(&c.group_id)?, phone(&c.by, "by")?);
            let settings = SettingsChange {
                admin_only_message: c.admin_only_message,
                admin_only_settings: c.admin_only_settings,
                require_admin_approval: c.require_admin_approval,
                admin_only_add_member: c.admin_only_add_member,
            };
            let all_members_share_link = match c.link_mode.as_deref() {
                None => None,
                Some("ADMIN_LINK") => Some(false),
                Some("ALL_MEMBER_LINK") => Some(true),
                Some(_) => return Err(invalid("linkMode must be ADMIN_LINK or ALL_MEMBER_LINK")),
            };
            sim.phone_change(instance(&c.instance_id)?, |w, cx| {
                by_others::configure(w, cx, &g, &by, settings, all_members_share_link)
            })
            .await?;
            Ok(json!({"value": true}))
        }
        _ => Err(invalid(format!("unknown sim action {action}"))),
    }
}
