//! Account queries on whatsapp-rust: each [`Query`] becomes the client's call for it (usync for
//! numbers, `w:g2` IQs for groups, app-state mutations for chats, the profile IQs), and its
//! answer or error becomes the connector's [`Answer`] or [`EngineError`]. It keeps nothing: what
//! a query changes lives on WhatsApp's side (and the engine's store).

use whatsapp_rust::features::{
    GroupCreateOptions, GroupDescription, GroupError, GroupMetadata, GroupParticipantOptions, GroupSubject,
    MemberAddMode, MembershipApprovalMode, ParticipantChangeResponse, PreviousDescription,
};
use whatsapp_rust::wacore::iq::privacy::{PrivacyCategory, PrivacyValue};
use whatsapp_rust::wacore_binary::JidExt;
use whatsapp_rust::{Client, IqError, Jid};

use super::jid_of;

use crate::engine::{
    Answer, Audience, ChatChange, EngineError, GroupInfo, GroupMember, GroupSetting, MemberChange, MemberResult,
    PrivacyChange, Query, Seen,
};
use crate::numbers;

/// Asks WhatsApp `query` through `client`.
pub async fn ask(client: &Client, query: &Query) -> Result<Answer, EngineError> {
    match query {
        Query::OnWhatsapp(phones) => {
            let found = registered(client, phones).await?;
            Ok(Answer::OnWhatsapp(phones.iter().map(|p| (p.clone(), known_as(&found, p).cloned())).collect()))
        }
        Query::User(phone) => {
            // WhatsApp answers usync for any number: ask whether it has WhatsApp first.
            let found = registered(client, std::slice::from_ref(phone)).await?;
            let Some(known) = known_as(&found, phone) else {
                return Err(EngineError::NotFound(format!("number {phone}")));
            };
            let jid = Jid::pn(known);
            let mut infos =
                client.contacts().get_user_info(std::slice::from_ref(&jid)).await.map_err(|e| contact_error(&e))?;
            let info = infos.remove(&jid).or_else(|| infos.into_values().next());
            let info = info.ok_or_else(|| EngineError::NotFound(format!("number {phone}")))?;
            Ok(Answer::User { about: info.status, business_name: info.verified_name.and_then(|v| v.name) })
        }
        Query::BusinessOf(phone) => {
            // As for a user: the number as WhatsApp registered it (or not on WhatsApp at all).
            let found = registered(client, std::slice::from_ref(phone)).await?;
            let Some(known) = known_as(&found, phone) else {
                return Err(EngineError::NotFound(format!("number {phone}")));
            };
            super::business::profile_of(client, &Jid::pn(known)).await
        }
        Query::Picture(of) => {
            let picture =
                client.contacts().get_profile_picture(&jid_of(of), false).await.map_err(|e| contact_error(&e))?;
            Ok(Answer::Picture(picture.map(|p| p.url)))
        }
        Query::Block { phone, blocked } => {
            // A block names the number by phone and private id: asking whether it has WhatsApp
            // teaches the engine the pairing (no history sync here would).
            let found = registered(client, std::slice::from_ref(phone)).await?;
            let blocking = client.blocking();
            let jid = Jid::pn(known_as(&found, phone).unwrap_or(phone));
            let done = if *blocked { blocking.block(&jid).await } else { blocking.unblock(&jid).await };
            done.map_err(|e| match e {
                whatsapp_rust::features::BlockingError::Iq(e) => iq_error(&e),
                e => EngineError::Refused(e.to_string()),
            })?;
            Ok(Answer::Done)
        }
        Query::SetPicture { group, image } => {
            let jpeg = super::picture::square_jpeg(image.clone()).await?;
            match group {
                None => profile(client.profile().set_profile_picture(jpeg).await),
                Some(group) => {
                    let done = client.groups().set_profile_picture(jid_of(group), jpeg).await;
                    done.map(|_| Answer::Done).map_err(|e| group_error(&e))
                }
            }
        }
        Query::SetName(name) => {
            profile(client.profile().set_push_name(name).await)?;
            // The name goes out as a presence, which shows the account online: unavailable again,
            // so the phone keeps its notifications.
            if let Err(e) = client.presence().set_unavailable().await {
                tracing::debug!(error = %e, "whatsapp-web: presence unavailable after a name change failed");
            }
            Ok(Answer::Done)
        }
        Query::SetAbout(about) => profile(client.profile().set_status_text(about).await),
        Query::Groups => {
            let groups = client.groups().get_participating().await.map_err(|e| group_error(&e))?;
            Ok(Answer::Groups(groups.into_values().map(|g| group_info(&g)).collect()))
        }
        Query::CreateGroup { subject, participants } => {
            let mut options = GroupCreateOptions::new(subject.clone());
            for p in participants {
                options = options.with_participant(GroupParticipantOptions::from_phone(Jid::pn(p)));
            }
            let created = client.groups().create_group(options).await.map_err(|e| group_error(&e))?;
            Ok(Answer::Group(group_info(&created.metadata)))
        }
        Query::Group(group) => {
            let metadata = client.groups().get_metadata(&jid_of(group)).await.map_err(|e| group_error(&e))?;
            Ok(Answer::Group(group_info(&metadata)))
        }
        Query::SetSubject { group, subject } => {
            let subject = GroupSubject::new(subject.as_str()).map_err(|e| EngineError::Refused(e.to_string()))?;
            group_done(client.groups().set_subject(jid_of(group), subject).await)
        }
        Query::SetDescription { group, description } => {
            let description = match description.is_empty() {
                true => None,
                false => {
                    Some(GroupDescription::new(description.as_str()).map_err(|e| EngineError::Refused(e.to_string()))?)
                }
            };
            group_done(client.groups().set_description(jid_of(group), description, PreviousDescription::Resolve).await)
        }
        Query::GroupSetting { group, setting, on } => {
            let groups = client.groups();
            let jid = jid_of(group);
            group_done(match setting {
                GroupSetting::AdminsOnlySend => groups.set_announce(jid, *on).await,
                GroupSetting::AdminsOnlyEdit => groups.set_locked(jid, *on).await,
                GroupSetting::ApproveJoins => {
                    let mode = if *on { MembershipApprovalMode::On } else { MembershipApprovalMode::Off };
                    groups.set_membership_approval(jid, mode).await
                }
                GroupSetting::AdminsOnlyAdd => {
                    let mode = if *on { MemberAddMode::AdminAdd } else { MemberAddMode::AllMemberAdd };
                    groups.set_member_add_mode(jid, mode).await
                }
            })
        }
        Query::Members { group, change, phones } => {
            let groups = client.groups();
            let (jid, members) = (jid_of(group), phones.iter().map(Jid::pn).collect::<Vec<_>>());
            let changed = match change {
                MemberChange::Add => groups.add_participants(jid, &members).await,
                MemberChange::Remove => groups.remove_participants(jid, &members).await,
                MemberChange::Promote => groups.promote_participants(jid, &members).await,
                MemberChange::Demote => groups.demote_participants(jid, &members).await,
                MemberChange::Approve => groups.approve_membership_requests(jid, &members).await,
                MemberChange::Reject => groups.reject_membership_requests(jid, &members).await,
            }
            .map_err(|e| group_error(&e))?;
            Ok(Answer::Members(phones.iter().map(|p| (p.clone(), member_result(&changed, p))).collect()))
        }
        Query::Leave(group) => group_done(client.groups().leave(jid_of(group)).await),
        Query::InviteLink { group, reset } => {
            let code = client.groups().get_invite_link(jid_of(group), *reset).await.map_err(|e| group_error(&e))?;
            Ok(Answer::Link(crate::invite_link(&code)))
        }
        Query::InviteInfo(code) => {
            let metadata = client.groups().get_invite_info(code).await.map_err(|e| group_error(&e))?;
            Ok(Answer::Group(group_info(&metadata)))
        }
        Query::Join(code) => {
            use whatsapp_rust::features::JoinGroupResult;
            let joined = client.groups().join_with_invite_code(code).await.map_err(|e| group_error(&e))?;
            let pending = matches!(joined, JoinGroupResult::PendingApproval(_));
            Ok(Answer::Joined { group: chat_of(joined.group_jid()), pending })
        }
        Query::Communities
        | Query::CreateCommunity { .. }
        | Query::Community(_)
        | Query::LinkGroups { .. }
        | Query::SubGroupCreation { .. }
        | Query::DeactivateCommunity(_) => super::community::ask(client, query).await,
        Query::Channels
        | Query::Channel(_)
        | Query::CreateChannel { .. }
        | Query::FollowChannel { .. }
        | Query::UpdateChannel { .. }
        | Query::DeleteChannel(_)
        | Query::ChannelPicture { .. }
        | Query::ChannelReactions { .. }
        | Query::ChannelAdmin { .. }
        | Query::AcceptChannelAdmin(_)
        | Query::SearchChannels { .. } => super::channels::ask(client, query).await,
        Query::RejectCall(_)
        | Query::Labels
        | Query::SaveLabel { .. }
        | Query::DeleteLabel(_)
        | Query::LabelChat { .. }
        | Query::AddressBook { .. }
        | Query::SavedContact(_)
        | Query::SaveContact(_)
        | Query::ChatList { .. }
        | Query::ChatEntry(_)
        | Query::Report(_) => {
            Err(EngineError::Refused(format!("{} is answered by the engine's own state", query.label())))
        }
        Query::BusinessProfile(change) => super::business::change(client, change).await,
        Query::Privacy(change) => {
            let (category, value) = privacy(*change);
            client.set_privacy_setting(category, value).await.map_err(|e| iq_error(&e))?;
            Ok(Answer::Done)
        }
        Query::DefaultDisappearing(seconds) => {
            client.set_default_disappearing_mode(*seconds).await.map_err(|e| iq_error(&e))?;
            Ok(Answer::Done)
        }
        Query::ChatDisappearing { chat, seconds } if chat.ends_with("-group") => {
            group_done(client.groups().set_ephemeral(jid_of(chat), *seconds).await)
        }
        Query::ChatDisappearing { chat, seconds } => {
            // The timer is a message in the chat: it goes to the number as WhatsApp registered it.
            let found = registered(client, std::slice::from_ref(chat)).await?;
            let Some(known) = known_as(&found, chat) else {
                return Err(EngineError::NotFound(format!("number {chat}")));
            };
            let sent = client.set_chat_disappearing_timer(Jid::pn(known), *seconds).await;
            sent.map_err(|e| EngineError::Unreachable(format!("the chat's timer was not sent: {e}")))?;
            Ok(Answer::Done)
        }
        Query::Chat { chat, change } => {
            let actions = client.chat_actions();
            let jid = jid_of(chat);
            match change {
                ChatChange::Read => actions.mark_chat_as_read(&jid, true, None).await,
                ChatChange::Unread => actions.mark_chat_as_read(&jid, false, None).await,
                ChatChange::Archive => actions.archive_chat(&jid, None).await,
                ChatChange::Unarchive => actions.unarchive_chat(&jid, None).await,
                ChatChange::Pin => actions.pin_chat(&jid).await,
                ChatChange::Unpin => actions.unpin_chat(&jid).await,
                ChatChange::Mute => actions.mute_chat(&jid).await,
                ChatChange::Unmute => actions.unmute_chat(&jid).await,
                ChatChange::Clear => actions.clear_chat(&jid, false, true, None).await,
                ChatChange::Delete => actions.delete_chat(&jid, true, None).await,
            }
            .map_err(|e| match e {
                whatsapp_rust::features::AppStateError::InvalidRequest(_) => EngineError::Refused(e.to_string()),
                e => EngineError::Unreachable(e.to_string()),
            })?;
            Ok(Answer::Done)
        }
    }
}

/// A privacy change as WhatsApp's category and value; each [`PrivacyChange`] names only values
/// its category takes.
fn privacy(change: PrivacyChange) -> (PrivacyCategory, PrivacyValue) {
    match change {
        PrivacyChange::Visibility { of, who } => {
            let category = match of {
                Seen::LastSeen => PrivacyCategory::Last,
                Seen::Photo => PrivacyCategory::Profile,
                Seen::About => PrivacyCategory::Status,
                Seen::GroupAdd => PrivacyCategory::GroupAdd,
            };
            let value = match who {
                Audience::Everyone => PrivacyValue::All,
                Audience::Contacts => PrivacyValue::Contacts,
                Audience::ContactsExcept => PrivacyValue::ContactBlacklist,
                Audience::Nobody => PrivacyValue::None,
            };
            (category, value)
        }
        PrivacyChange::Online { same_as_last_seen: true } => (PrivacyCategory::Online, PrivacyValue::MatchLastSeen),
        PrivacyChange::Online { same_as_last_seen: false } => (PrivacyCategory::Online, PrivacyValue::All),
        PrivacyChange::ReadReceipts(on) => {
            (PrivacyCategory::ReadReceipts, if on { PrivacyValue::All } else { PrivacyValue::None })
        }
    }
}

/// Numbers one usync request asks about.
const USYNC_CHUNK: usize = 1000;

/// The numbers WhatsApp knows the ones asked by, keyed by [`numbers::subscriber`].
type Registered = std::collections::HashMap<String, String>;

/// Which of `phones` have WhatsApp and under which number: WhatsApp answers a Brazilian number
/// asked with its ninth digit under the form it was registered with, and so on
/// ([`crate::numbers`]), so answers are matched to the numbers asked by subscriber.
pub async fn registered(client: &Client, phones: &[String]) -> Result<Registered, EngineError> {
    let mut found = Registered::new();
    for chunk in phones.chunks(USYNC_CHUNK) {
        let jids: Vec<Jid> = chunk.iter().map(Jid::pn).collect();
        let answers = client.contacts().is_on_whatsapp(&jids).await.map_err(|e| contact_error(&e))?;
        for r in answers.iter().filter(|r| r.is_registered) {
            let phone = [Some(&r.jid), r.pn_jid.as_ref()].into_iter().flatten().find(|j| j.is_pn());
            if let Some(phone) = phone {
                found.insert(numbers::subscriber(&phone.user).into_owned(), phone.user.to_string());
            }
        }
    }
    Ok(found)
}

/// The number WhatsApp knows `phone` by, among `found`.
pub fn known_as<'a>(found: &'a Registered, phone: &str) -> Option<&'a String> {
    found.get(numbers::subscriber(phone).as_ref())
}

/// A group's metadata in the connector's words; members WhatsApp names only by a private id
/// (no phone number known) are left out.
pub fn group_info(g: &GroupMetadata) -> GroupInfo {
    let phone = |jid: &Jid| (jid.is_pn()).then(|| jid.user.to_string());
    let member_phone = |p: &whatsapp_rust::features::GroupParticipant| {
        p.phone_number.as_ref().and_then(phone).or_else(|| phone(&p.jid))
    };
    GroupInfo {
        id: chat_of(&g.id),
        subject: g.subject.clone(),
        description: g.description.clone(),
        owner: g.creator_pn.as_ref().or(g.creator.as_ref()).and_then(phone),
        created_s: g.creation_time.unwrap_or(0),
        subject_owner: g.subject_owner_pn.as_ref().or(g.subject_owner.as_ref()).and_then(phone),
        subject_s: g.subject_time.unwrap_or(0),
        admins_only_send: g.is_announcement,
        admins_only_edit: g.is_locked,
        approve_joins: g.membership_approval,
        admins_only_add: matches!(g.member_add_mode, Some(MemberAddMode::AdminAdd)),
        community: g.parent_group_jid.as_ref().map(chat_of),
        members: g
            .participants
            .iter()
            .filter_map(|p| {
                Some(GroupMember {
                    phone: member_phone(p)?,
                    admin: p.is_admin(),
                    super_admin: matches!(p.participant_type, whatsapp_rust::features::ParticipantType::SuperAdmin),
                })
            })
            .collect(),
    }
}

/// A group's JID as the connector names chats (`…-group`); a person's as digits.
pub fn chat_of(jid: &Jid) -> String {
    match jid.is_group() {
        true => format!("{}-group", jid.user),
        false => jid.user.to_string(),
    }
}

/// What WhatsApp's answer says of `phone`: applied, refused for its privacy (`403`, with an
/// add request to invite it instead), or not applied for another reason (or not named).
fn member_result(changed: &[ParticipantChangeResponse], phone: &str) -> MemberResult {
    let named = |r: &&ParticipantChangeResponse| {
        r.jid.user == phone || r.phone_number.as_ref().is_some_and(|j| j.user == phone)
    };
    match changed.iter().find(named) {
        Some(r) if r.is_ok() => MemberResult::Applied,
        Some(r) if r.error.as_deref() == Some("403") || r.add_request.is_some() => MemberResult::NeedsInvite,
        _ => MemberResult::NotApplied,
    }
}

fn group_done(result: Result<(), GroupError>) -> Result<Answer, EngineError> {
    result.map(|()| Answer::Done).map_err(|e| group_error(&e))
}

fn profile<T>(result: Result<T, whatsapp_rust::features::ProfileError>) -> Result<Answer, EngineError> {
    use whatsapp_rust::features::ProfileError;
    result.map(|_| Answer::Done).map_err(|e| match e {
        ProfileError::Iq(e) => iq_error(&e),
        ProfileError::InvalidArgument(e) => EngineError::Refused(e),
        e => EngineError::Unreachable(e.to_string()),
    })
}

fn contact_error(e: &whatsapp_rust::features::ContactError) -> EngineError {
    use whatsapp_rust::features::ContactError;
    match e {
        ContactError::Iq(e) => iq_error(e),
        e => EngineError::Refused(e.to_string()),
    }
}

pub fn group_error(e: &GroupError) -> EngineError {
    match e {
        GroupError::Iq(e) => iq_error(e),
        GroupError::InvalidRequest(_) | GroupError::DescriptionConflict => EngineError::Refused(e.to_string()),
        e => EngineError::Unreachable(e.to_string()),
    }
}

/// A refused IQ names why (404: no such group or invitation; 401/403: not allowed); anything
/// else is the connection's failure.
pub fn iq_error(e: &IqError) -> EngineError {
    match e {
        IqError::NotConnected => EngineError::NotLoggedIn,
        IqError::ServerError { code: 404, text, .. } => EngineError::NotFound(text.clone()),
        IqError::ServerError { code: code @ 400..=499, text, .. } => {
            EngineError::Refused(if text.is_empty() { format!("WhatsApp refused ({code})") } else { text.clone() })
        }
        e => EngineError::Unreachable(e.to_string()),
    }
}
