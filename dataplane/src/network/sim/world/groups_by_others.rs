//! by_others: changes other people make to the account's groups on the sim network (the
//! `/sim` group actions) — creating a group with or without the account, adding, removing,
//! approving, promoting and demoting participants, changing settings, leaving, asking to join
//! and withdrawing the request. Each changes the group row like the account's own calls do
//! (same bounds, every check before the first write) and, when the account is in the group
//! (an admin, for join requests), queues seed 001's notification (lines 12325–12430,
//! 12975–13000) — or, for a change of who may share the invitation link, the
//! GROUP_MEMBER_LINK_PROPERTY_UPDATE of Z-API's later documentation; the caller delivers it
//! after the commit.

use super::*;

/// `owner` creates a group with `members` (the account among them when `add_me`).
pub fn create(
    world: &mut World,
    cx: &mut Cx,
    owner: &Phone,
    subject: String,
    members: Vec<Phone>,
    add_me: bool,
) -> Result<(Phone, String), AccountError> {
    let me = me(cx)?;
    if owner == &me || !cx.on_network(owner) {
        return Err(AccountError::Refused(format!("{owner} cannot create groups on the network")));
    }
    let mut members: Vec<Phone> = members.into_iter().filter(|p| cx.on_network(p) && p != &me).collect();
    if add_me {
        may_add_me(world, owner)?;
        members.push(me.clone());
    }
    let phone = world.groups.create(cx, owner, subject.clone(), &members, None)?;
    let link = world.groups.groups.get(phone.as_str()).map(Group::link).unwrap_or_default();
    if add_me {
        tell(world, cx, &phone, "GROUP_CREATE", owner, vec![subject], None);
    }
    Ok((phone, link))
}

/// `by` adds, removes, promotes or demotes `phones`.
pub fn members(
    world: &mut World,
    cx: &mut Cx,
    group: &Phone,
    by: &Phone,
    change: MemberChange,
    phones: Vec<Phone>,
) -> Result<usize, AccountError> {
    let me = me(cx)?;
    if by == &me {
        return Err(AccountError::Refused("the account's own changes go through the Z-API routes".into()));
    }
    let key = group.as_str();
    let (g, role) = match world.groups.groups.get(key) {
        Some(g) => (g, g.role(by).ok_or_else(|| AccountError::Refused(format!("{by} is not in {group}")))?),
        None => return Err(AccountError::NotFound(format!("group {group}"))),
    };
    if !role.admin() && (change != MemberChange::Add || g.settings.admin_only_add_member) {
        return Err(AccountError::Refused(format!("{by} is not an admin of {group}")));
    }
    if change == MemberChange::Add && !role.admin() && g.settings.require_admin_approval {
        return Err(AccountError::Refused(format!("{group} needs admin approval: use group-join-request")));
    }
    if change == MemberChange::Add && phones.contains(&me) {
        may_add_me(world, by)?;
    }
    let plan = plan(g, by, role, change, &phones, cx)?;
    if plan.is_empty() {
        return Err(AccountError::Refused(nothing_to_change(change, key)));
    }
    let was_in = g.role(&me).is_some();
    let now = cx.now_ms;
    world.groups.groups.update(key, cx, |g| {
        for p in &plan {
            let k = p.as_str().to_owned();
            match change {
                MemberChange::Add => drop(g.participants.insert(k, Role::Member)),
                MemberChange::Remove => drop(g.participants.remove(&k)),
                MemberChange::Promote => drop(g.participants.insert(k, Role::Admin)),
                MemberChange::Demote => drop(g.participants.insert(k, Role::Member)),
                MemberChange::Approve => {
                    g.pending.remove(&k);
                    g.participants.insert(k, Role::Member);
                }
                MemberChange::Reject => drop(g.pending.remove(&k)),
            }
        }
        g.last_activity_ms = now;
    });
    let is_in = world.groups.groups.get(key).is_some_and(|g| g.role(&me).is_some());
    if was_in || is_in {
        // An approved request shows as an addition; a rejected one is not announced.
        let kind = match change {
            MemberChange::Add | MemberChange::Approve => Some("GROUP_PARTICIPANT_ADD"),
            MemberChange::Remove => Some("GROUP_PARTICIPANT_REMOVE"),
            MemberChange::Promote => Some("GROUP_PARTICIPANT_PROMOTE"),
            MemberChange::Demote => Some("GROUP_PARTICIPANT_DEMOTE"),
            MemberChange::Reject => None,
        };
        if let Some(kind) = kind {
            let params = plan.iter().map(|p| p.as_str().to_owned()).collect();
            tell(world, cx, group, kind, by, params, None);
        }
    }
    Ok(plan.len())
}

/// `by`, an admin, changes the group's settings (seed 001 shows no notification for them) and
/// perhaps who may share its invitation link (`all_members_share_link`): a change of that is
/// told to the account with GROUP_MEMBER_LINK_PROPERTY_UPDATE and its new `linkMode`.
pub fn configure(
    world: &mut World,
    cx: &mut Cx,
    group: &Phone,
    by: &Phone,
    settings: SettingsChange,
    all_members_share_link: Option<bool>,
) -> Result<(), AccountError> {
    let me = me(cx)?;
    let g = world.groups.groups.get(group.as_str()).ok_or_else(|| AccountError::NotFound(format!("group {group}")))?;
    if !g.role(by).is_some_and(Role::admin) {
        return Err(AccountError::Refused(format!("{by} is not an admin of {group}")));
    }
    let link_mode_changes = all_members_share_link.is_some_and(|all| all != g.settings.all_members_share_link);
    let told = g.role(&me).is_some() && link_mode_changes;
    let settings = world.groups.groups.update(group.as_str(), cx, |g| {
        super::configure(&mut g.settings, settings);
        if let Some(all) = all_members_share_link {
            g.settings.all_members_share_link = all;
        }
        g.settings
    });
    if let (true, Some(settings)) = (told, settings) {
        let n = group_notice("GROUP_MEMBER_LINK_PROPERTY_UPDATE", Vec::new(), None);
        let n = Notification { link_mode: Some(settings.link_mode().to_owned()), ..n };
        deliver(world, cx, group, by, n);
    }
    Ok(())
}

/// `phone` leaves the group.
pub fn leave(world: &mut World, cx: &mut Cx, group: &Phone, phone: &Phone) -> Result<(), AccountError> {
    let me = me(cx)?;
    let g = world.groups.groups.get(group.as_str()).ok_or_else(|| AccountError::NotFound(format!("group {group}")))?;
    if phone == &me || g.role(phone).is_none() {
        return Err(AccountError::Refused(format!("{phone} is not another participant of {group}")));
    }
    let now = cx.now_ms;
    world.groups.groups.update(group.as_str(), cx, |g| {
        g.participants.remove(phone.as_str());
        if !g.participants.values().any(|r| r.admin()) {
            if let Some(first) = g.participants.values_mut().next() {
                *first = Role::Admin;
            }
        }
        g.last_activity_ms = now;
    });
    if world.groups.groups.get(group.as_str()).is_some_and(|g| g.role(&me).is_some()) {
        tell(world, cx, group, "GROUP_PARTICIPANT_LEAVE", phone, vec![phone.as_str().to_owned()], None);
    }
    Ok(())
}

/// `phone` asks to join: through the invitation link, or added by `by`, a participant who
/// is not an admin.
pub fn ask_to_join(
    world: &mut World,
    cx: &mut Cx,
    group: &Phone,
    phone: &Phone,
    by: Option<&Phone>,
) -> Result<(), AccountError> {
    let me = me(cx)?;
    let g = world.groups.groups.get(group.as_str()).ok_or_else(|| AccountError::NotFound(format!("group {group}")))?;
    if !g.settings.require_admin_approval {
        return Err(AccountError::Refused(format!("{group} lets people in without approval")));
    }
    if phone == &me || g.role(phone).is_some() || g.pending.contains_key(phone.as_str()) || !cx.on_network(phone) {
        return Err(AccountError::Refused(format!(
            "{phone} cannot ask to join {group} (a participant already, or asking already)"
        )));
    }
    if let Some(by) = by {
        if g.role(by) != Some(Role::Member) {
            return Err(AccountError::Refused(format!("{by} is not a participant of {group} without admin rights")));
        }
    }
    if g.pending.len() >= MAX_PENDING {
        return Err(AccountError::Limit(format!("at most {MAX_PENDING} join requests per group")));
    }
    let method = if by.is_some() { "non_admin_add" } else { "invite_link" };
    let now = cx.now_ms;
    let req = request(method, by.cloned(), now);
    world.groups.groups.update(group.as_str(), cx, |g| drop(g.pending.insert(phone.as_str().to_owned(), req)));
    if world.groups.groups.get(group.as_str()).and_then(|g| g.role(&me)).is_some_and(Role::admin) {
        let mut params = vec![phone.as_str().to_owned()];
        params.extend(by.map(|b| b.as_str().to_owned()));
        tell(world, cx, group, "MEMBERSHIP_APPROVAL_REQUEST", phone, params, Some(method));
    }
    Ok(())
}

/// `phone` withdraws their request to join.
pub fn withdraw_request(world: &mut World, cx: &mut Cx, group: &Phone, phone: &Phone) -> Result<(), AccountError> {
    let me = me(cx)?;
    let g = world.groups.groups.get(group.as_str()).ok_or_else(|| AccountError::NotFound(format!("group {group}")))?;
    if !g.pending.contains_key(phone.as_str()) {
        return Err(AccountError::Refused(format!("{phone} has not asked to join {group}")));
    }
    world.groups.groups.update(group.as_str(), cx, |g| drop(g.pending.remove(phone.as_str())));
    if world.groups.groups.get(group.as_str()).and_then(|g| g.role(&me)).is_some_and(Role::admin) {
        tell(world, cx, group, "REVOKED_MEMBERSHIP_REQUESTS", phone, vec![phone.as_str().to_owned()], None);
    }
    Ok(())
}

/// The account's privacy setting decides who may add it to groups.
fn may_add_me(world: &World, by: &Phone) -> Result<(), AccountError> {
    match world.privacy.may_add_to_groups(by, world.contacts.is_contact(by)) {
        true => Ok(()),
        false => Err(AccountError::Refused(format!("the account's privacy does not let {by} add it to groups"))),
    }
}

/// Queues seed 001's notification about `group`, by `actor`.
fn tell(
    world: &World,
    cx: &mut Cx,
    group: &Phone,
    kind: &str,
    actor: &Phone,
    params: Vec<String>,
    method: Option<&str>,
) {
    deliver(world, cx, group, actor, group_notice(kind, params, method));
}

/// A group notice of `kind` as the seed shows them: its parameters, no call, code nor expiry.
fn group_notice(kind: &str, params: Vec<String>, method: Option<&str>) -> Notification {
    let mut n = Notification::new(kind);
    n.notification_parameters = Some(params.into_iter().map(NotificationParameter::Text).collect());
    (n.call_id, n.code, n.expires_at) = (Some(None), Some(None), Some(None));
    n.request_method = method.map(str::to_owned);
    n
}

/// Queues `n`, which `actor` caused in `group`, for the account.
fn deliver(world: &World, cx: &mut Cx, group: &Phone, actor: &Phone, n: Notification) {
    let mut m = IncomingMessage::notice(group.clone(), Some(actor.clone()), n);
    m.sender_name = world.groups.groups.get(group.as_str()).map(|g| g.subject.clone());
    m.at_ms = cx.now_ms;
    cx.notices.push(m);
}
