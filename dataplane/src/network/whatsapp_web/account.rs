//! Account calls on WhatsApp Web: each [`AccountCall`] this network serves becomes one or more
//! engine [`wa::Query`]s asked on the instance's line, and WhatsApp's answers become the call's
//! [`AccountReply`]. Served: whether numbers have WhatsApp, what it shows of a number (about text,
//! photo), blocking, the account's name, about text and photo, groups (list, create, metadata,
//! subject, description, photo, settings, members, leave, invitation links, joining), and chat
//! changes (read, unread, archive, pin, mute, clear, delete). A photo named by URL is fetched under
//! the `[media]` rules before anything is asked; an SVG photo is drawn as PNG. The address book is
//! what the account's devices synced (the engine keeps it); a contact saved here is saved on the
//! phone. The chat list is what the engine has seen (the phone's history at pairing, synced chat
//! settings, messages). It keeps nothing and decides nothing: WhatsApp and the engine do.

use std::sync::Arc;

use chatedge_config::Phone;
use chatedge_whatsapp_web as wa;

use crate::media::{Media, MediaKind};
use crate::network::account::groups::{self, GroupRef, MemberChange, Metadata, Participant, Picture, Summary};
use crate::network::account::{business, channels, chats, communities, contacts, labels, privacy, profile};
use crate::network::account::{page_of, Account, AccountCall, AccountError, AccountReply, AccountResult};

/// Carries out `call` on the instance's line through `asker`; photos named by URL are fetched
/// through `media`.
pub async fn call(asker: &wa::Asker, media: &Arc<Media>, account: &Account, call: AccountCall) -> AccountResult {
    let line = Line(asker);
    match call {
        AccountCall::Contacts(call) => contacts(line, call).await.map(AccountReply::Contacts),
        AccountCall::Profile(call) => profile(line, media, call).await.map(AccountReply::Profile),
        AccountCall::Groups(call) => groups(line, media, account, call).await.map(AccountReply::Groups),
        AccountCall::Chats(call) => chats(line, call).await.map(AccountReply::Chats),
        AccountCall::Communities(call) => communities(line, media, call).await.map(AccountReply::Communities),
        AccountCall::Privacy(call) => privacy(line, call).await.map(AccountReply::Privacy),
        AccountCall::Channels(call) => channels(line, media, call).await.map(AccountReply::Channels),
        AccountCall::Labels(call) => labels(line, call).await.map(AccountReply::Labels),
        AccountCall::Business(call) => business(line, call).await.map(AccountReply::Business),
        other => Err(unsupported(other.family())),
    }
}

/// The instance's line, asked in the network's terms.
#[derive(Clone, Copy)]
struct Line<'a>(&'a wa::Asker);

impl Line<'_> {
    /// Asks `query`; a not-found names `what` (the number, group or chat the call named).
    async fn ask(self, query: wa::Query, what: String) -> Result<wa::Answer, AccountError> {
        self.0.ask(query).await.map_err(|e| refused(e, what))
    }

    /// Asks a change whose answer is `Done`.
    async fn change(self, query: wa::Query, what: String) -> Result<(), AccountError> {
        match self.ask(query, what).await? {
            wa::Answer::Done => Ok(()),
            _ => Err(odd()),
        }
    }
}

async fn contacts(line: Line<'_>, call: contacts::Call) -> Result<contacts::Reply, AccountError> {
    use contacts::{Call, ContactInfo, Existence, Reply};
    match call {
        Call::Exists(phones) => {
            let asked = numbers(&phones);
            let wa::Answer::OnWhatsapp(found) = line.ask(wa::Query::OnWhatsapp(asked), "numbers".to_owned()).await?
            else {
                return Err(odd());
            };
            // One answer per number asked, in order (a batch holds up to 50,000: no search),
            // naming the number as WhatsApp registered it (Z-API's `outputPhone`).
            let existence = |p: &Phone, (asked, known): &(String, Option<String>)| match known {
                Some(known) if asked == p.as_str() => {
                    // The engine's answer does not carry the number's LID.
                    Existence { exists: true, phone: Phone::parse(known).unwrap_or_else(|_| p.clone()), lid: None }
                }
                _ => Existence { exists: false, phone: p.clone(), lid: None },
            };
            Ok(Reply::Exists(phones.iter().zip(&found).map(|(p, f)| existence(p, f)).collect()))
        }
        Call::Get(phone) => {
            let what = format!("number {}", phone.as_str());
            let wa::Answer::User { about, business_name } =
                line.ask(wa::Query::User(phone.as_str().to_owned()), what.clone()).await?
            else {
                return Err(odd());
            };
            let wa::Answer::Picture(img_url) =
                line.ask(wa::Query::Picture(phone.as_str().to_owned()), what.clone()).await?
            else {
                return Err(odd());
            };
            let wa::Answer::SavedContact(saved) =
                line.ask(wa::Query::SavedContact(phone.as_str().to_owned()), what).await?
            else {
                return Err(odd());
            };
            let (name, short) = saved.map(|c| (Some(c.full_name), c.first_name)).unwrap_or_default();
            Ok(Reply::Contact(ContactInfo { phone: Some(phone), name, short, notify: business_name, img_url, about }))
        }
        Call::SetBlocked { phone, blocked } => {
            let what = format!("number {}", phone.as_str());
            line.change(wa::Query::Block { phone: phone.as_str().to_owned(), blocked }, what).await?;
            Ok(Reply::Done)
        }
        Call::List { page, page_size } => {
            let wa::Answer::AddressBook(book) =
                line.ask(wa::Query::AddressBook { page, page_size }, "address book".to_owned()).await?
            else {
                return Err(odd());
            };
            let info = |c: wa::SavedContact| ContactInfo {
                phone: Phone::parse(&c.phone).ok(),
                name: Some(c.full_name),
                short: c.first_name,
                ..ContactInfo::default()
            };
            Ok(Reply::Contacts(book.into_iter().map(info).collect()))
        }
        Call::Add(list) => save_contacts(line, list).await,
        Call::Remove(_) => Err(unsupported(
            "removing contacts (WhatsApp Web syncs contacts saved or renamed, not removed: remove them on the phone)",
        )),
        Call::Report(phone) => {
            let what = format!("number {}", phone.as_str());
            line.change(wa::Query::Report(phone.as_str().to_owned()), what).await.map(|()| Reply::Done)
        }
    }
}

/// Saves each number WhatsApp has, in the form it registered, on the phone too; the others are
/// reported, not saved.
async fn save_contacts(line: Line<'_>, list: Vec<contacts::NewContact>) -> Result<contacts::Reply, AccountError> {
    let asked = list.iter().map(|n| n.phone.as_str().to_owned()).collect();
    let wa::Answer::OnWhatsapp(found) = line.ask(wa::Query::OnWhatsapp(asked), "numbers".to_owned()).await? else {
        return Err(odd());
    };
    let mut errors = Vec::new();
    for (n, (_, known)) in list.into_iter().zip(found) {
        let Some(registered) = known else {
            errors.push((n.phone, "the number is not on WhatsApp".to_owned()));
            continue;
        };
        let full_name = match &n.last_name {
            Some(last) if !last.trim().is_empty() => format!("{} {}", n.first_name, last.trim()),
            _ => n.first_name.clone(),
        };
        let contact = wa::SavedContact { phone: registered, full_name, first_name: Some(n.first_name) };
        line.change(wa::Query::SaveContact(contact), format!("number {}", n.phone.as_str())).await?;
    }
    Ok(contacts::Reply::Changed { errors })
}

async fn profile(line: Line<'_>, media: &Arc<Media>, call: profile::Call) -> Result<profile::Reply, AccountError> {
    use profile::{Call, Reply};
    match call {
        Call::SetName(name) => line.change(wa::Query::SetName(name), "profile".to_owned()).await.map(|()| Reply::Done),
        Call::SetDescription(about) => {
            line.change(wa::Query::SetAbout(about), "profile".to_owned()).await.map(|()| Reply::Done)
        }
        Call::Picture(phone) => {
            let what = format!("number {}", phone.as_str());
            match line.ask(wa::Query::Picture(phone.as_str().to_owned()), what).await? {
                wa::Answer::Picture(url) => Ok(Reply::Picture(url)),
                _ => Err(odd()),
            }
        }
        Call::SetPicture(url) => {
            let image = photo(media, Picture::Url(url)).await?;
            line.change(wa::Query::SetPicture { group: None, image }, "profile".to_owned()).await.map(|()| Reply::Done)
        }
    }
}

async fn groups(
    line: Line<'_>,
    media: &Arc<Media>,
    account: &Account,
    call: groups::Call,
) -> Result<groups::Reply, AccountError> {
    use groups::{Call, Reply};
    match call {
        Call::List { page, page_size } => {
            let wa::Answer::Groups(list) = line.ask(wa::Query::Groups, "groups".to_owned()).await? else {
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
            Ok(Reply::List(page_of(mine, page, page_size).collect()))
        }
        Call::Create { name, participants, picture } => {
            // A photo that cannot be had refuses the call before the group exists.
            let image = match picture {
                Some(picture) => Some(photo(media, picture).await?),
                None => None,
            };
            let participants = numbers(&participants);
            let created = line.ask(wa::Query::CreateGroup { subject: name, participants }, "group".to_owned()).await?;
            let wa::Answer::Group(g) = created else { return Err(odd()) };
            let phone = Phone::parse(&g.id).map_err(|_| odd())?;
            // The group exists now: a photo or link WhatsApp does not take or give is left out
            // rather than failing a call whose retry would create a second group.
            if let Some(image) = image {
                let set = wa::Query::SetPicture { group: Some(g.id.clone()), image };
                if let Err(e) = line.change(set, format!("group {}", g.id)).await {
                    tracing::warn!(group = %g.id, error = %e, "whatsapp-web: the new group's photo was not taken");
                }
            }
            let invitation_link = link(line, &g.id).await.unwrap_or_default();
            // The engine's create answers with the group as made, not why someone is missing
            // from it: those are not named for an invitation here.
            Ok(Reply::Created { phone, invitation_link, needs_invite: Vec::new() })
        }
        Call::Rename { group, name } => {
            let (group, what) = group_id(line, &group).await?;
            line.change(wa::Query::SetSubject { group, subject: name }, what).await.map(|()| Reply::Done { changed: 1 })
        }
        Call::Describe { group, description } => {
            let (group, what) = group_id(line, &group).await?;
            line.change(wa::Query::SetDescription { group, description }, what)
                .await
                .map(|()| Reply::Done { changed: 1 })
        }
        Call::Configure { group, settings } => {
            let (group, what) = group_id(line, &group).await?;
            let wanted = [
                (wa::GroupSetting::AdminsOnlySend, settings.admin_only_message),
                (wa::GroupSetting::AdminsOnlyEdit, settings.admin_only_settings),
                (wa::GroupSetting::ApproveJoins, settings.require_admin_approval),
                (wa::GroupSetting::AdminsOnlyAdd, settings.admin_only_add_member),
            ];
            // One request per setting, in this order: a refusal leaves the earlier ones changed.
            for (setting, on) in wanted.into_iter().filter_map(|(s, on)| Some((s, on?))) {
                line.change(wa::Query::GroupSetting { group: group.clone(), setting, on }, what.clone()).await?;
            }
            Ok(Reply::Done { changed: 1 })
        }
        Call::Members { group, change, phones } => {
            let (group, what) = group_id(line, &group).await?;
            let change = match change {
                MemberChange::Add => wa::MemberChange::Add,
                MemberChange::Remove => wa::MemberChange::Remove,
                MemberChange::Approve => wa::MemberChange::Approve,
                MemberChange::Reject => wa::MemberChange::Reject,
                MemberChange::Promote => wa::MemberChange::Promote,
                MemberChange::Demote => wa::MemberChange::Demote,
            };
            let phones = numbers(&phones);
            let adding = change == wa::MemberChange::Add;
            let wa::Answer::Members(results) = line.ask(wa::Query::Members { group, change, phones }, what).await?
            else {
                return Err(odd());
            };
            let changed = results.iter().filter(|(_, r)| *r == wa::MemberResult::Applied).count();
            let needs_invite: Vec<Phone> = results
                .iter()
                .filter(|(_, r)| *r == wa::MemberResult::NeedsInvite)
                .filter_map(|(p, _)| Phone::parse(p).ok())
                .collect();
            match (changed, adding) {
                (0, _) if needs_invite.is_empty() => {
                    Err(AccountError::Refused("the change applied to none of phones".to_owned()))
                }
                (changed, true) => Ok(Reply::Added { changed, needs_invite }),
                (changed, false) => Ok(Reply::Done { changed }),
            }
        }
        Call::Leave { group } => {
            let (group, what) = group_id(line, &group).await?;
            line.change(wa::Query::Leave(group), what).await.map(|()| Reply::Done { changed: 1 })
        }
        Call::Metadata { group, with_link } => {
            let (group, what) = group_id(line, &group).await?;
            let wa::Answer::Group(g) = line.ask(wa::Query::Group(group.clone()), what).await? else {
                return Err(odd());
            };
            // Only admins may read the link: a member's metadata comes without it.
            let invitation_link = match with_link {
                true => link(line, &group).await.ok(),
                false => None,
            };
            Ok(Reply::Metadata(Box::new(metadata(g, invitation_link, account.phone.clone())?)))
        }
        Call::InvitationLink { group, reset } => {
            let (group, what) = group_id(line, &group).await?;
            let wa::Answer::Link(invitation_link) =
                line.ask(wa::Query::InviteLink { group: group.clone(), reset }, what).await?
            else {
                return Err(odd());
            };
            Ok(Reply::Link { phone: Phone::parse(&group).map_err(|_| odd())?, invitation_link })
        }
        Call::Invitation { link } => {
            let wa::Answer::Group(g) = line.ask(wa::Query::InviteInfo(link.clone()), "invitation".to_owned()).await?
            else {
                return Err(odd());
            };
            // The account is not in that group: it cannot stand in for an unnamed creator.
            let link = wa::invite_link(&link);
            Ok(Reply::Metadata(Box::new(metadata(g, Some(link), None)?)))
        }
        Call::AcceptInvitation { link } => {
            let wa::Answer::Joined { group, pending } =
                line.ask(wa::Query::Join(link), "invitation".to_owned()).await?
            else {
                return Err(odd());
            };
            Ok(Reply::Joined { phone: Phone::parse(&group).map_err(|_| odd())?, pending })
        }
        Call::SetPicture { group, picture } => {
            let (group, what) = group_id(line, &group).await?;
            let image = photo(media, picture).await?;
            line.change(wa::Query::SetPicture { group: Some(group), image }, what)
                .await
                .map(|()| Reply::Done { changed: 1 })
        }
    }
}

async fn chats(line: Line<'_>, call: chats::Call) -> Result<chats::Reply, AccountError> {
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
            line.change(wa::Query::Chat { chat: phone.as_str().to_owned(), change }, what).await.map(|()| Reply::Done)
        }
        Call::List { page, page_size } => {
            let wa::Answer::ChatList(chats) =
                line.ask(wa::Query::ChatList { page, page_size }, "chat list".to_owned()).await?
            else {
                return Err(odd());
            };
            Ok(Reply::Chats(chats.into_iter().filter_map(chat_info).collect()))
        }
        Call::Get(phone) => {
            let what = format!("chat {}", phone.as_str());
            let wa::Answer::ChatEntry(entry) =
                line.ask(wa::Query::ChatEntry(phone.as_str().to_owned()), what.clone()).await?
            else {
                return Err(odd());
            };
            let mut info = entry.and_then(chat_info).ok_or_else(|| AccountError::NotFound(what.clone()))?;
            let wa::Answer::Picture(picture) = line.ask(wa::Query::Picture(phone.as_str().to_owned()), what).await?
            else {
                return Err(odd());
            };
            info.profile_thumbnail = picture;
            Ok(Reply::Chat(info))
        }
        Call::SetExpiration { phone, expiration } => {
            let seconds = whole_seconds(expiration.seconds());
            let what = format!("chat {}", phone.as_str());
            let timer = wa::Query::ChatDisappearing { chat: phone.as_str().to_owned(), seconds };
            line.change(timer, what).await.map(|()| Reply::Done)
        }
        // WhatsApp Business keeps notes in the app's state sync, which the engine does not write.
        Call::SetNote { .. } => Err(unsupported("notes on chats")),
    }
}

/// A chat as the engine's list keeps it, in the dialects' terms (`None`: a chat id no dialect
/// names).
fn chat_info(c: wa::ChatEntry) -> Option<chats::ChatInfo> {
    Some(chats::ChatInfo {
        phone: Phone::parse(&c.chat).ok()?,
        name: c.name,
        archived: c.archived,
        pinned: c.pinned,
        unread: c.unread,
        last_message_ms: c.last_message_ms,
        mute_end_ms: c.mute_end_ms,
        expiration_seconds: u64::from(c.expiration_s),
        profile_thumbnail: None,
        about: None,
        // The engine's chat list does not say; a group's metadata does (`group-metadata`).
        announcement: false,
        note: None,
    })
}

async fn privacy(line: Line<'_>, call: privacy::Call) -> Result<privacy::Reply, AccountError> {
    use privacy::{Call, Online, Reply, Scope, Visibility};
    let change = match call {
        // WhatsApp Web keeps the lists of exceptions with the phone's settings; it offers no
        // way to read them, and changing one needs the list's current hash.
        Call::Exceptions(_) => return Err(unsupported("reading the exceptions of a privacy setting")),
        Call::SetVisibility { changes, .. } if !changes.is_empty() => {
            return Err(unsupported("changing the exceptions of a privacy setting"))
        }
        Call::SetVisibility { scope, visibility, .. } => {
            let of = match scope {
                Scope::LastSeen => wa::Seen::LastSeen,
                Scope::Photo => wa::Seen::Photo,
                Scope::Description => wa::Seen::About,
                Scope::GroupAdd => wa::Seen::GroupAdd,
            };
            let who = match visibility {
                Visibility::All => wa::Audience::Everyone,
                Visibility::Contacts => wa::Audience::Contacts,
                Visibility::ContactBlacklist => wa::Audience::ContactsExcept,
                Visibility::None => wa::Audience::Nobody,
            };
            wa::PrivacyChange::Visibility { of, who }
        }
        Call::SetOnline(online) => wa::PrivacyChange::Online { same_as_last_seen: online == Online::SameLastSeen },
        Call::SetReadReceipts(on) => wa::PrivacyChange::ReadReceipts(on),
        Call::SetMessagesDuration(duration) => {
            let seconds = whole_seconds(duration.seconds());
            let set = wa::Query::DefaultDisappearing(seconds);
            return line.change(set, "privacy".to_owned()).await.map(|()| Reply::Done);
        }
    };
    line.change(wa::Query::Privacy(change), "privacy".to_owned()).await.map(|()| Reply::Done)
}

async fn channels(line: Line<'_>, media: &Arc<Media>, call: channels::Call) -> Result<channels::Reply, AccountError> {
    use channels::{Call, Reply};
    let what = |id: &Phone| format!("channel {}", id.as_str());
    match call {
        Call::Create { name, description } => {
            let create = wa::Query::CreateChannel { name, description: description.filter(|d| !d.is_empty()) };
            let wa::Answer::Channel(c) = line.ask(create, "channel".to_owned()).await? else { return Err(odd()) };
            Ok(Reply::Created { id: Phone::parse(&c.id).map_err(|_| odd())? })
        }
        Call::List => {
            let wa::Answer::Channels(all) = line.ask(wa::Query::Channels, "channels".to_owned()).await? else {
                return Err(odd());
            };
            let mut all = all.into_iter().map(channel_of).collect::<Result<Vec<_>, _>>()?;
            all.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
            Ok(Reply::Channels(all))
        }
        Call::Metadata { id } => {
            let wa::Answer::Channel(c) = line.ask(wa::Query::Channel(id.as_str().to_owned()), what(&id)).await? else {
                return Err(odd());
            };
            channel_of(c).map(|c| Reply::Channel(Box::new(c)))
        }
        Call::Follow { id } => {
            let follow = wa::Query::FollowChannel { channel: id.as_str().to_owned(), follow: true };
            line.change(follow, what(&id)).await.map(|()| Reply::Done)
        }
        Call::Unfollow { id } => {
            let leave = wa::Query::FollowChannel { channel: id.as_str().to_owned(), follow: false };
            line.change(leave, what(&id)).await.map(|()| Reply::Done)
        }
        Call::SetName { id, name } => {
            let update =
                wa::Query::UpdateChannel { channel: id.as_str().to_owned(), name: Some(name), description: None };
            line.change(update, what(&id)).await.map(|()| Reply::Done)
        }
        Call::SetDescription { id, description } => {
            let update = wa::Query::UpdateChannel {
                channel: id.as_str().to_owned(),
                name: None,
                description: Some(description),
            };
            line.change(update, what(&id)).await.map(|()| Reply::Done)
        }
        Call::Delete { id } => {
            line.change(wa::Query::DeleteChannel(id.as_str().to_owned()), what(&id)).await.map(|()| Reply::Done)
        }
        Call::Mute { .. } => Err(unsupported("muting a channel")),
        Call::SetPicture { id, picture } => {
            let image = photo(media, channel_picture(&picture)?).await?;
            let set = wa::Query::ChannelPicture { channel: id.as_str().to_owned(), image };
            line.change(set, what(&id)).await.map(|()| Reply::Done)
        }
        Call::SetReactions { id, reactions } => {
            let any = reactions == channels::Reactions::All;
            let set = wa::Query::ChannelReactions { channel: id.as_str().to_owned(), any };
            line.change(set, what(&id)).await.map(|()| Reply::Done)
        }
        Call::AcceptAdminInvite { id } => {
            line.change(wa::Query::AcceptChannelAdmin(id.as_str().to_owned()), what(&id)).await.map(|()| Reply::Done)
        }
        Call::RemoveAdmin { id, phone } => admin(line, &id, &phone, wa::AdminChange::Remove).await,
        Call::RevokeAdminInvite { id, phone } => admin(line, &id, &phone, wa::AdminChange::RevokeInvite).await,
        Call::TransferOwnership { id, phone, quit_admin } => {
            admin(line, &id, &phone, wa::AdminChange::MakeOwner { stay_admin: !quit_admin }).await
        }
        Call::Search { text, countries, view, limit } => {
            let view = match view {
                channels::View::Recommended => wa::DirectoryView::Recommended,
                channels::View::Trending => wa::DirectoryView::Trending,
                channels::View::Popular => wa::DirectoryView::Popular,
                channels::View::New => wa::DirectoryView::New,
            };
            let search =
                wa::Query::SearchChannels { text: text.filter(|t| !t.trim().is_empty()), view, countries, limit };
            let wa::Answer::Channels(found) = line.ask(search, "channel directory".to_owned()).await? else {
                return Err(odd());
            };
            Ok(Reply::Channels(found.into_iter().map(channel_of).collect::<Result<Vec<_>, _>>()?))
        }
    }
}

/// A change to a channel's admins; a number WhatsApp does not know is not found, by name.
async fn admin(
    line: Line<'_>,
    id: &Phone,
    phone: &Phone,
    change: wa::AdminChange,
) -> Result<channels::Reply, AccountError> {
    let query = wa::Query::ChannelAdmin { channel: id.as_str().to_owned(), phone: phone.as_str().to_owned(), change };
    match line.0.ask(query).await {
        Ok(wa::Answer::Done) => Ok(channels::Reply::Done),
        Ok(_) => Err(odd()),
        Err(wa::EngineError::NotFound(number)) if number.starts_with("number ") => Err(AccountError::NotFound(number)),
        Err(e) => Err(refused(e, format!("channel {}", id.as_str()))),
    }
}

/// A channel picture as the dialects give it: a link, or an image as a base64 data URL.
fn channel_picture(picture: &str) -> Result<Picture, AccountError> {
    use base64::Engine as _;
    match picture.split_once(";base64,") {
        Some((head, data)) if head.starts_with("data:") => base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map(|bytes| Picture::Data(bytes.into()))
            .map_err(|e| AccountError::Refused(format!("the picture is not valid base64: {e}"))),
        _ => Ok(Picture::Url(picture.to_owned())),
    }
}

/// The business profile's fields are written to WhatsApp; the catalog is not served here.
async fn business(line: Line<'_>, call: business::Call) -> Result<business::Reply, AccountError> {
    use business::Call;
    let change = match call {
        Call::SetDescription(v) => wa::ProfileChange::Description(v),
        Call::SetEmail(v) => wa::ProfileChange::Email(v),
        Call::SetAddress(v) => wa::ProfileChange::Address(v),
        Call::SetWebsites(v) => wa::ProfileChange::Websites(v),
        Call::SetHours(hours) => super::business::opening_hours(hours)?,
        Call::SetCategories(wanted) => {
            let mut ids: Vec<String> = Vec::with_capacity(wanted.len());
            for w in &wanted {
                // WhatsApp's own id of a category not listed here is taken as it is.
                let id = business::category_id(w)
                    .map(str::to_owned)
                    .or_else(|| (!w.is_empty() && w.bytes().all(|b| b.is_ascii_digit())).then(|| w.clone()))
                    .ok_or_else(|| AccountError::NotFound(format!("category {w}")))?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            wa::ProfileChange::Categories(ids)
        }
        Call::Categories { .. } => return Err(unsupported("the directory of business categories")),
        Call::Profile(phone) => {
            let what = format!("a business profile of {}", phone.as_str());
            let wa::Answer::Business(info) =
                line.ask(wa::Query::BusinessOf(phone.as_str().to_owned()), what.clone()).await?
            else {
                return Err(odd());
            };
            let profile = info.map(super::business::public_profile).ok_or(AccountError::NotFound(what))?;
            return Ok(business::Reply::Profile(profile));
        }
        _ => return Err(unsupported("the catalog (products, collections, the cart)")),
    };
    line.change(wa::Query::BusinessProfile(change), "business profile".to_owned()).await.map(|()| business::Reply::Done)
}

async fn labels(line: Line<'_>, call: labels::Call) -> Result<labels::Reply, AccountError> {
    use labels::{Call, Label, Reply};
    let label_of = |l: wa::LabelInfo| Label { id: l.id, name: l.name, color: l.color };
    match call {
        Call::List => match line.ask(wa::Query::Labels, "labels".to_owned()).await? {
            wa::Answer::Labels(all) => Ok(Reply::Labels(all.into_iter().map(label_of).collect())),
            _ => Err(odd()),
        },
        Call::Colors => Ok(Reply::Colors(labels::palette())),
        Call::Create { name, color } => {
            match line.ask(wa::Query::SaveLabel { id: None, name, color }, "label".to_owned()).await? {
                wa::Answer::Label(l) => Ok(Reply::Created(l.id)),
                _ => Err(odd()),
            }
        }
        Call::Edit { id, name, color } => {
            let what = format!("label {id}");
            match line.ask(wa::Query::SaveLabel { id: Some(id), name, color }, what).await? {
                wa::Answer::Label(_) => Ok(Reply::Done),
                _ => Err(odd()),
            }
        }
        Call::Delete { id } => {
            line.change(wa::Query::DeleteLabel(id.clone()), format!("label {id}")).await.map(|()| Reply::Done)
        }
        Call::Assign { chat, label, assigned } => {
            let what = format!("label {label}");
            let put = wa::Query::LabelChat { chat: chat.as_str().to_owned(), label, on: assigned };
            line.change(put, what).await.map(|()| Reply::Done)
        }
    }
}

/// A disappearing time as WhatsApp takes it (seconds in 32 bits; the longest is 90 days).
fn whole_seconds(seconds: u64) -> u32 {
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

/// A channel in the dialects' terms. WhatsApp Web's channel metadata says nothing of muting,
/// reaction settings or the other admins: a channel shows unmuted, all reactions, no admins.
fn channel_of(c: wa::ChannelInfo) -> Result<channels::Channel, AccountError> {
    use channels::Role;
    Ok(channels::Channel {
        id: Phone::parse(&c.id).map_err(|_| odd())?,
        name: c.name,
        description: c.description.unwrap_or_default(),
        picture: c.picture,
        created_ms: c.created_s.saturating_mul(1000),
        invite_code: c.invite_code.unwrap_or_default(),
        followers: c.followers,
        role: match c.role {
            wa::ChannelRole::Owner => Role::Owner,
            wa::ChannelRole::Admin => Role::Admin,
            wa::ChannelRole::Subscriber => Role::Subscriber,
            wa::ChannelRole::Guest => Role::Guest,
        },
        muted: false,
        reactions: channels::Reactions::All,
        admins: Vec::new(),
        pending_invites: Vec::new(),
    })
}

/// The group's invitation link (admins only).
async fn link(line: Line<'_>, group: &str) -> Result<String, AccountError> {
    let what = format!("group {group}");
    match line.ask(wa::Query::InviteLink { group: group.to_owned(), reset: false }, what).await? {
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
        community_id: g.community.map(|c| c.strip_suffix("-group").map(str::to_owned).unwrap_or(c)),
        admin_only_message: g.admins_only_send,
        admin_only_settings: g.admins_only_edit,
        require_admin_approval: g.approve_joins,
        admin_only_add_member: g.admins_only_add,
        announcement: false,
        participants,
    })
}

/// The bytes of a photo a call names: given, or fetched under the `[media]` rules for images
/// (egress policy, size, type); an SVG drawn as PNG (the engine makes a JPEG of either).
async fn photo(media: &Arc<Media>, picture: Picture) -> Result<Vec<u8>, AccountError> {
    let image = match picture {
        Picture::Data(bytes) => media.as_photo(bytes.to_vec()).await,
        Picture::Url(url) => media.fetch_to_send(&url, MediaKind::Image).await.map(|(image, _)| image),
    };
    image.map_err(|e| AccountError::Refused(format!("the photo: {e}")))
}

/// Numbers as the engine names them (digits).
fn numbers(phones: &[Phone]) -> Vec<String> {
    phones.iter().map(|p| p.as_str().to_owned()).collect()
}

/// The wire id of a group a call names, and how errors name it. A community stands for its
/// announcement group, which every member of the community is in.
async fn group_id(line: Line<'_>, group: &GroupRef) -> Result<(String, String), AccountError> {
    match group {
        GroupRef::Group(phone) => Ok((phone.as_str().to_owned(), format!("group {}", phone.as_str()))),
        GroupRef::Community(id) => {
            let c = community(line, id).await?;
            let announcement = c.groups.into_iter().find(|g| g.announcement);
            let announcement = announcement.ok_or_else(|| AccountError::NotFound(format!("community {id}")))?;
            Ok((announcement.id, format!("community {id}")))
        }
    }
}

/// A community as WhatsApp describes it now.
async fn community(line: Line<'_>, id: &str) -> Result<wa::CommunityInfo, AccountError> {
    match line.ask(wa::Query::Community(community_wire(id)), format!("community {id}")).await? {
        wa::Answer::Community(c) => Ok(c),
        _ => Err(odd()),
    }
}

async fn communities(
    line: Line<'_>,
    media: &Arc<Media>,
    call: communities::Call,
) -> Result<communities::Reply, AccountError> {
    use communities::{Call, Reply, WhoCanAddGroups};
    match call {
        Call::Create { name, description } => {
            let create = wa::Query::CreateCommunity { name, description: description.filter(|d| !d.is_empty()) };
            match line.ask(create, "community".to_owned()).await? {
                wa::Answer::Community(c) => Ok(Reply::Community(community_of(c)?)),
                _ => Err(odd()),
            }
        }
        Call::List { page, page_size } => {
            let wa::Answer::Communities(all) = line.ask(wa::Query::Communities, "communities".to_owned()).await? else {
                return Err(odd());
            };
            let all = all.into_iter().map(community_of).collect::<Result<Vec<_>, _>>()?;
            Ok(Reply::List(page_of(all, page, page_size).collect()))
        }
        Call::Metadata { community: id } => community(line, &id).await.and_then(community_of).map(Reply::Community),
        Call::Link { community, groups } => link_groups(line, &community, groups, true).await,
        Call::Unlink { community, groups } => link_groups(line, &community, groups, false).await,
        Call::Configure { community, who_can_add_groups } => {
            let anyone = who_can_add_groups == WhoCanAddGroups::All;
            let toggle = wa::Query::SubGroupCreation { community: community_wire(&community), anyone };
            line.change(toggle, format!("community {community}")).await.map(|()| Reply::Done)
        }
        Call::Describe { community, description } => {
            let describe = wa::Query::SetDescription { group: community_wire(&community), description };
            line.change(describe, format!("community {community}")).await.map(|()| Reply::Done)
        }
        Call::SetPicture { community, picture } => {
            let image = photo(media, picture).await?;
            let set = wa::Query::SetPicture { group: Some(community_wire(&community)), image };
            line.change(set, format!("community {community}")).await.map(|()| Reply::Done)
        }
        Call::Deactivate { community } => {
            let end = wa::Query::DeactivateCommunity(community_wire(&community));
            line.change(end, format!("community {community}")).await.map(|()| Reply::Done)
        }
    }
}

/// Links `groups` to `community` (or unlinks them); what WhatsApp left as it was is named.
async fn link_groups(
    line: Line<'_>,
    community: &str,
    groups: Vec<Phone>,
    link: bool,
) -> Result<communities::Reply, AccountError> {
    let query = wa::Query::LinkGroups { community: community_wire(community), groups: numbers(&groups), link };
    let wa::Answer::Linked(outcomes) = line.ask(query, format!("community {community}")).await? else {
        return Err(odd());
    };
    let changed = outcomes.iter().filter(|(_, refused)| refused.is_none()).count();
    let unchanged = groups
        .into_iter()
        .zip(outcomes)
        .filter_map(|(phone, (_, refused))| Some(communities::Unchanged { phone, reason: refused? }))
        .collect();
    Ok(communities::Reply::Linked { changed, unchanged })
}

/// A community's id as WhatsApp names it: its parent group.
fn community_wire(id: &str) -> String {
    match id.ends_with("-group") {
        true => id.to_owned(),
        false => format!("{id}-group"),
    }
}

/// A community in the dialects' terms: its id is the parent group's digits.
fn community_of(c: wa::CommunityInfo) -> Result<communities::Community, AccountError> {
    let sub_groups = c
        .groups
        .into_iter()
        .map(|g| {
            let phone = Phone::parse(&g.id).map_err(|_| odd())?;
            Ok(communities::SubGroup { phone, name: g.subject, announcement: g.announcement })
        })
        .collect::<Result<Vec<_>, AccountError>>()?;
    Ok(communities::Community {
        id: c.id.strip_suffix("-group").unwrap_or(&c.id).to_owned(),
        name: c.name,
        description: c.description.unwrap_or_default(),
        sub_groups,
    })
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
