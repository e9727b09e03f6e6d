//! Account calls on WhatsApp Web: each [`AccountCall`] this network serves becomes one or more
//! engine [`wa::Query`]s asked on the instance's line, and WhatsApp's answers become the call's
//! [`AccountReply`]. Served: whether numbers have WhatsApp, what it shows of a number (about
//! text, photo), blocking, the account's name and about text, groups (list, create, metadata,
//! subject, description, settings, members, leave, invitation links, joining), and chat changes
//! (read, unread, archive, pin, mute, clear, delete). The rest is refused by name: the address
//! book and the chat list need the phone's history sync, which the connector skips. It keeps
//! nothing and decides nothing: WhatsApp does.

use chatedge_config::Phone;
use chatedge_whatsapp_web as wa;

use crate::network::account::groups::{self, GroupRef, MemberChange, Metadata, Participant, Summary};
use crate::network::account::{chats, contacts, profile};
use crate::network::account::{Account, AccountCall, AccountError, AccountReply, AccountResult};

/// Carries out `call` on the instance's line through `asker`.
pub async fn call(asker: &wa::Asker, account: &Account, call: AccountCall) -> AccountResult {
    let ask = |query: wa::Query, what: String| async move { asker.ask(query).await.map_err(|e| refused(e, what)) };
    match call {
        AccountCall::Contacts(call) => contacts(ask, call).await.map(AccountReply::Contacts),
        AccountCall::Profile(call) => profile(ask, call).await.map(AccountReply::Profile),
        AccountCall::Groups(call) => groups(ask, account, call).await.map(AccountReply::Groups),
        AccountCall::Chats(call) => chats(ask, call).await.map(AccountReply::Chats),
        other => Err(unsupported(other.family())),
    }
}

async fn contacts<A, F>(ask: A, call: contacts::Call) -> Result<contacts::Reply, AccountError>
where
    A: Fn(wa::Query, String) -> F,
    F: std::future::Future<Output = Result<wa::Answer, AccountError>>,
{
    use contacts::{Call, ContactInfo, Existence, Reply};
    match call {
        Call::Exists(phones) => {
            let asked = phones.iter().map(|p| p.as_str().to_owned()).collect();
            let wa::Answer::OnWhatsapp(found) = ask(wa::Query::OnWhatsapp(asked), "numbers".to_owned()).await? else {
                return Err(odd());
            };
            let exists = |p: &Phone| found.iter().any(|(n, on)| *on && n == p.as_str());
            Ok(Reply::Exists(phones.iter().map(|p| Existence { exists: exists(p), phone: p.clone() }).collect()))
        }
        Call::Get(phone) => {
            let what = format!("number {}", phone.as_str());
            let wa::Answer::User { about, business_name } =
                ask(wa::Query::User(phone.as_str().to_owned()), what.clone()).await?
            else {
                return Err(odd());
            };
            let wa::Answer::Picture(img_url) = ask(wa::Query::Picture(phone.as_str().to_owned()), what).await? else {
                return Err(odd());
            };
            Ok(Reply::Contact(ContactInfo {
                phone: Some(phone),
                name: None,
                short: None,
                notify: business_name,
                img_url,
                about,
            }))
        }
        Call::SetBlocked { phone, blocked } => {
            let what = format!("number {}", phone.as_str());
            done(ask(wa::Query::Block { phone: phone.as_str().to_owned(), blocked }, what).await?)?;
            Ok(Reply::Done)
        }
        Call::List { .. } | Call::Add(_) | Call::Remove(_) => {
            Err(unsupported("the address book (it arrives with the phone's history, which is not synced)"))
        }
        Call::Report(_) => Err(unsupported("reporting numbers")),
    }
}

async fn profile<A, F>(ask: A, call: profile::Call) -> Result<profile::Reply, AccountError>
where
    A: Fn(wa::Query, String) -> F,
    F: std::future::Future<Output = Result<wa::Answer, AccountError>>,
{
    use profile::{Call, Reply};
    match call {
        Call::SetName(name) => done(ask(wa::Query::SetName(name), "profile".to_owned()).await?).map(|()| Reply::Done),
        Call::SetDescription(about) => {
            done(ask(wa::Query::SetAbout(about), "profile".to_owned()).await?).map(|()| Reply::Done)
        }
        Call::Picture(phone) => {
            let what = format!("number {}", phone.as_str());
            match ask(wa::Query::Picture(phone.as_str().to_owned()), what).await? {
                wa::Answer::Picture(url) => Ok(Reply::Picture(url)),
                _ => Err(odd()),
            }
        }
        Call::SetPicture(_) => Err(unsupported("changing the profile photo")),
    }
}

async fn groups<A, F>(ask: A, account: &Account, call: groups::Call) -> Result<groups::Reply, AccountError>
where
    A: Fn(wa::Query, String) -> F,
    F: std::future::Future<Output = Result<wa::Answer, AccountError>>,
{
    use groups::{Call, Reply};
    match call {
        Call::List { page, page_size } => {
            let wa::Answer::Groups(list) = ask(wa::Query::Groups, "groups".to_owned()).await? else {
                return Err(odd());
            };
            let mut mine: Vec<Summary> = list
                .into_iter()
                .filter_map(|g| {
                    let phone = Phone::parse(&g.id).ok()?;
                    Some(Summary { phone, name: g.subject, last_activity_ms: 0, announcement: false })
                })
                .collect();
            mine.sort_by(|a, b| a.phone.as_str().cmp(b.phone.as_str()));
            let skip = page.saturating_sub(1).saturating_mul(page_size);
            Ok(Reply::List(mine.into_iter().skip(skip).take(page_size).collect()))
        }
        Call::Create { name, participants, picture } => {
            if picture.is_some() {
                return Err(unsupported("a group photo"));
            }
            let participants = participants.iter().map(|p| p.as_str().to_owned()).collect();
            let created = ask(wa::Query::CreateGroup { subject: name, participants }, "group".to_owned()).await?;
            let wa::Answer::Group(g) = created else { return Err(odd()) };
            let phone = Phone::parse(&g.id).map_err(|_| odd())?;
            // The group exists now: a link WhatsApp does not give is left empty rather than
            // failing a call whose retry would create a second group.
            let invitation_link = link(&ask, &g.id).await.unwrap_or_default();
            Ok(Reply::Created { phone, invitation_link })
        }
        Call::Rename { group, name } => {
            let (group, what) = group_id(&group)?;
            done(ask(wa::Query::SetSubject { group, subject: name }, what).await?).map(|()| Reply::Done { changed: 1 })
        }
        Call::Describe { group, description } => {
            let (group, what) = group_id(&group)?;
            done(ask(wa::Query::SetDescription { group, description }, what).await?)
                .map(|()| Reply::Done { changed: 1 })
        }
        Call::Configure { group, settings } => {
            let (group, what) = group_id(&group)?;
            let wanted = [
                (wa::GroupSetting::AdminsOnlySend, settings.admin_only_message),
                (wa::GroupSetting::AdminsOnlyEdit, settings.admin_only_settings),
                (wa::GroupSetting::ApproveJoins, settings.require_admin_approval),
                (wa::GroupSetting::AdminsOnlyAdd, settings.admin_only_add_member),
            ];
            // One request per setting, in this order: a refusal leaves the earlier ones changed.
            for (setting, on) in wanted.into_iter().filter_map(|(s, on)| Some((s, on?))) {
                done(ask(wa::Query::GroupSetting { group: group.clone(), setting, on }, what.clone()).await?)?;
            }
            Ok(Reply::Done { changed: 1 })
        }
        Call::Members { group, change, phones } => {
            let (group, what) = group_id(&group)?;
            let change = match change {
                MemberChange::Add => wa::MemberChange::Add,
                MemberChange::Remove => wa::MemberChange::Remove,
                MemberChange::Approve => wa::MemberChange::Approve,
                MemberChange::Reject => wa::MemberChange::Reject,
                MemberChange::Promote => wa::MemberChange::Promote,
                MemberChange::Demote => wa::MemberChange::Demote,
            };
            let phones = phones.iter().map(|p| p.as_str().to_owned()).collect();
            let wa::Answer::Members(results) = ask(wa::Query::Members { group, change, phones }, what).await? else {
                return Err(odd());
            };
            match results.iter().filter(|(_, applied)| *applied).count() {
                0 => Err(AccountError::Refused("the change applied to none of phones".to_owned())),
                changed => Ok(Reply::Done { changed }),
            }
        }
        Call::Leave { group } => {
            let (group, what) = group_id(&group)?;
            done(ask(wa::Query::Leave(group), what).await?).map(|()| Reply::Done { changed: 1 })
        }
        Call::Metadata { group, with_link } => {
            let (group, what) = group_id(&group)?;
            let wa::Answer::Group(g) = ask(wa::Query::Group(group.clone()), what).await? else { return Err(odd()) };
            // Only admins may read the link: a member's metadata comes without it.
            let invitation_link = match with_link {
                true => link(&ask, &group).await.ok(),
                false => None,
            };
            Ok(Reply::Metadata(Box::new(metadata(g, invitation_link, account.phone.clone())?)))
        }
        Call::InvitationLink { group, reset } => {
            let (group, what) = group_id(&group)?;
            let wa::Answer::Link(invitation_link) =
                ask(wa::Query::InviteLink { group: group.clone(), reset }, what).await?
            else {
                return Err(odd());
            };
            Ok(Reply::Link { phone: Phone::parse(&group).map_err(|_| odd())?, invitation_link })
        }
        Call::Invitation { link } => {
            let wa::Answer::Group(g) = ask(wa::Query::InviteInfo(link.clone()), "invitation".to_owned()).await? else {
                return Err(odd());
            };
            // The account is not in that group: it cannot stand in for an unnamed creator.
            let link = wa::invite_link(&link);
            Ok(Reply::Metadata(Box::new(metadata(g, Some(link), None)?)))
        }
        Call::AcceptInvitation { link } => {
            let wa::Answer::Joined { group, pending } = ask(wa::Query::Join(link), "invitation".to_owned()).await?
            else {
                return Err(odd());
            };
            Ok(Reply::Joined { phone: Phone::parse(&group).map_err(|_| odd())?, pending })
        }
        Call::SetPicture { .. } => Err(unsupported("a group photo")),
    }
}

async fn chats<A, F>(ask: A, call: chats::Call) -> Result<chats::Reply, AccountError>
where
    A: Fn(wa::Query, String) -> F,
    F: std::future::Future<Output = Result<wa::Answer, AccountError>>,
{
    use chats::{Call, Change, Reply};
    match call {
        Call::Modify { phone, change } => {
            let change = match change {
                Change::Read => wa::ChatChange::Read,
                Change::MarkUnread => wa::ChatChange::Unread,
                Change::Archive => wa::ChatChange::Archive,
                Change::Unarchive => wa::ChatChange::Unarchive,
                Change::Pin => wa::ChatChange::Pin,
                Change::Unpin => wa::ChatChange::Unpin,
                Change::Mute => wa::ChatChange::Mute,
                Change::Unmute => wa::ChatChange::Unmute,
                Change::Clear => wa::ChatChange::Clear,
                Change::Delete => wa::ChatChange::Delete,
            };
            let what = format!("chat {}", phone.as_str());
            done(ask(wa::Query::Chat { chat: phone.as_str().to_owned(), change }, what).await?).map(|()| Reply::Done)
        }
        Call::List { .. } | Call::Get(_) => {
            Err(unsupported("the chat list (it arrives with the phone's history, which is not synced)"))
        }
        Call::SetExpiration { .. } => Err(unsupported("disappearing messages")),
    }
}

/// The group's invitation link (admins only).
async fn link<A, F>(ask: &A, group: &str) -> Result<String, AccountError>
where
    A: Fn(wa::Query, String) -> F,
    F: std::future::Future<Output = Result<wa::Answer, AccountError>>,
{
    let what = format!("group {group}");
    match ask(wa::Query::InviteLink { group: group.to_owned(), reset: false }, what).await? {
        wa::Answer::Link(link) => Ok(link),
        _ => Err(odd()),
    }
}

/// A group's metadata as the dialects show it. WhatsApp may not name the creator (a member
/// known only by a private id): the first super admin, else `member` (the account, when it is
/// in the group), stands in.
fn metadata(
    g: wa::GroupInfo,
    invitation_link: Option<String>,
    member: Option<Phone>,
) -> Result<Metadata, AccountError> {
    let phone = Phone::parse(&g.id).map_err(|_| odd())?;
    let participants: Vec<Participant> = g
        .members
        .iter()
        .filter_map(|m| {
            Some(Participant { phone: Phone::parse(&m.phone).ok()?, admin: m.admin, super_admin: m.super_admin })
        })
        .collect();
    let stand_in = participants.iter().find(|p| p.super_admin).map(|p| p.phone.clone()).or(member);
    let named = |p: Option<String>| p.and_then(|p| Phone::parse(&p).ok()).or(stand_in.clone());
    let owner = named(g.owner).ok_or_else(odd)?;
    let subject_owner = named(g.subject_owner).unwrap_or_else(|| owner.clone());
    Ok(Metadata {
        phone,
        subject: g.subject,
        description: g.description.unwrap_or_default(),
        owner,
        creation_ms: g.created_s.saturating_mul(1000),
        subject_time_ms: g.subject_s.saturating_mul(1000),
        subject_owner,
        invitation_link,
        community_id: g.community,
        admin_only_message: g.admins_only_send,
        admin_only_settings: g.admins_only_edit,
        require_admin_approval: g.approve_joins,
        admin_only_add_member: g.admins_only_add,
        announcement: false,
        participants,
    })
}

/// The wire id of a group a call names, and how errors name it.
fn group_id(group: &GroupRef) -> Result<(String, String), AccountError> {
    match group {
        GroupRef::Group(phone) => Ok((phone.as_str().to_owned(), format!("group {}", phone.as_str()))),
        GroupRef::Community(_) => Err(unsupported("communities")),
    }
}

fn done(answer: wa::Answer) -> Result<(), AccountError> {
    match answer {
        wa::Answer::Done => Ok(()),
        _ => Err(odd()),
    }
}

/// WhatsApp's refusal in the dialects' terms; `what` names the thing a not-found is about.
fn refused(e: wa::EngineError, what: String) -> AccountError {
    match e {
        wa::EngineError::NotLoggedIn => AccountError::NotConnected,
        wa::EngineError::NotFound(_) => AccountError::NotFound(what),
        wa::EngineError::Refused(reason) => AccountError::Refused(reason),
        wa::EngineError::Unreachable(e) | wa::EngineError::Store(e) => AccountError::Unavailable(e),
    }
}

fn unsupported(what: &str) -> AccountError {
    AccountError::Unsupported(format!("{what}: not available on the WhatsApp Web network yet"))
}

/// An answer of another kind than the query's (an engine fault, never WhatsApp's refusal).
fn odd() -> AccountError {
    AccountError::Unavailable("the WhatsApp Web engine answered out of turn".to_owned())
}
