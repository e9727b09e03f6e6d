//! The scripted engine double: an [`Engine`] whose connects, codes and events a test decides,
//! and which records what the connector asked of it (sends with their ids, logouts, presence,
//! shutdowns) and how many clients were live at once. It writes a device record into its store
//! at open, as a real engine does, so tests can see a session kept or wiped. Account queries are
//! answered by a small [`Directory`] of numbers and groups that they read and change, so a test
//! sees a group it created in the next metadata answer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatedge_connector::KvStore;

use crate::engine::{
    Act, AdminChange, Answer, BoxFuture, BusinessInfo, ChannelInfo, ChannelRole, ChatChange, ChatEntry, ChatPresence,
    CommunityGroup, CommunityInfo, Engine, EngineError, EngineEvent, EngineFactory, EventTx, GroupInfo, GroupMember,
    GroupSetting, InboundMessage, InboundSink, LabelInfo, MemberChange, MemberResult, OpenArgs, Outgoing,
    PrivacyChange, ProfileChange, Query, SavedContact, LABEL_COLORS,
};
use crate::ids::WireId;

/// What a connect does.
#[derive(Debug, Clone)]
pub enum OnConnect {
    /// Succeeds and emits these events.
    Emit(Vec<EngineEvent>),
    /// Succeeds and nothing ever comes (no network).
    Silent,
    Fail(EngineError),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Connect,
    PairCode(String),
    Send { to: String, id: WireId, body: Outgoing },
    Act(Act),
    Ask(Query),
    Presence(String, ChatPresence),
    Unavailable,
    Logout,
    Shutdown,
}

struct State {
    on_connect: OnConnect,
    pair_code: String,
    send_error: Option<EngineError>,
    own_phone: Option<String>,
    opened: usize,
    live: usize,
    max_live: usize,
    calls: Vec<Call>,
    current: Option<Current>,
    directory: Directory,
    /// How long each account query takes.
    ask_delay: Duration,
}

/// What the double's WhatsApp knows: who has it, the account's groups, blocks, name and about,
/// and the last change of each chat.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub on_whatsapp: BTreeSet<String>,
    /// Numbers whose privacy lets only people they chose add them to groups.
    pub refuses_adds: BTreeSet<String>,
    /// About texts by number.
    pub abouts: BTreeMap<String, String>,
    /// The business profiles numbers show (a number without one is not a business).
    pub businesses: BTreeMap<String, BusinessInfo>,
    /// Profile photo links by number or group.
    pub pictures: BTreeMap<String, String>,
    pub groups: BTreeMap<String, GroupInfo>,
    /// Invitation codes by group.
    pub invites: BTreeMap<String, String>,
    pub blocked: BTreeSet<String>,
    pub name: Option<String>,
    pub about: Option<String>,
    pub chats: BTreeMap<String, ChatChange>,
    pub groups_created: u64,
    /// Communities by parent group; the parent and announcement groups are in `groups` too.
    pub communities: BTreeMap<String, CommunityRecord>,
    /// Calls the account declined, in order.
    pub rejected_calls: Vec<String>,
    /// The account's privacy settings as changed, in order.
    pub privacy: Vec<PrivacyChange>,
    /// How long new chats keep their messages (seconds), once set.
    pub default_disappearing: Option<u32>,
    /// Each chat's disappearing timer (seconds), once set.
    pub disappearing: BTreeMap<String, u32>,
    /// Channels WhatsApp knows, with the account's relation to each.
    pub channels: BTreeMap<String, ChannelInfo>,
    /// The account's labels by id, and the (chat, label) pairs put on chats.
    pub labels: BTreeMap<String, LabelInfo>,
    pub chat_labels: BTreeSet<(String, String)>,
    /// The account's address book by number, as its devices synced it and saves changed it.
    pub address_book: BTreeMap<String, SavedContact>,
    /// The chats as the device has seen them, by chat.
    pub chat_list: BTreeMap<String, ChatEntry>,
    /// Each channel's reaction setting, once set (`true`: any emoji).
    pub channel_reactions: BTreeMap<String, bool>,
    /// Changes to channels' admins, in order: (channel, number, change).
    pub channel_admin_changes: Vec<(String, String, AdminChange)>,
    /// Changes to the business profile, in order.
    pub business_profile: Vec<ProfileChange>,
    /// Numbers reported, in order.
    pub reported: Vec<String>,
}

/// A community the double's WhatsApp keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommunityRecord {
    pub announcement: String,
    pub linked: Vec<String>,
    /// Any member may add groups (else only admins).
    pub anyone_adds: bool,
}

/// The live client's event channel, inbound sink and store.
type Current = (EventTx, Arc<dyn InboundSink>, Arc<dyn KvStore>);

/// The test's handle on the double (cheap to clone; all clones see the same engine).
#[derive(Clone)]
pub struct Double {
    state: Arc<Mutex<State>>,
}

impl Default for Double {
    fn default() -> Double {
        Double::new(OnConnect::Silent)
    }
}

impl Double {
    pub fn new(on_connect: OnConnect) -> Double {
        let state = State {
            on_connect,
            pair_code: "K7QM2XPD".to_owned(),
            send_error: None,
            own_phone: None,
            opened: 0,
            live: 0,
            max_live: 0,
            calls: vec![],
            current: None,
            directory: Directory::default(),
            ask_delay: Duration::ZERO,
        };
        Double { state: Arc::new(Mutex::new(state)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn factory(&self) -> Arc<dyn EngineFactory> {
        Arc::new(self.clone())
    }

    /// What the next connects do.
    pub fn on_connect(&self, on_connect: OnConnect) {
        self.lock().on_connect = on_connect;
    }

    /// What the next sends answer (`None`: they go on the wire).
    pub fn send_error(&self, error: Option<EngineError>) {
        self.lock().send_error = error;
    }

    /// Numbers that have WhatsApp.
    pub fn on_whatsapp(&self, phones: &[&str]) {
        self.lock().directory.on_whatsapp.extend(phones.iter().map(|p| p.to_string()));
    }

    /// Changes the double's WhatsApp directly (a group someone else made, an about text).
    pub fn with_directory(&self, change: impl FnOnce(&mut Directory)) {
        change(&mut self.lock().directory);
    }

    pub fn directory(&self) -> Directory {
        self.lock().directory.clone()
    }

    /// How long each account query takes from now on.
    pub fn ask_delay(&self, delay: Duration) {
        self.lock().ask_delay = delay;
    }

    /// The number the client says it is logged in as.
    pub fn own_phone(&self, phone: Option<&str>) {
        self.lock().own_phone = phone.map(str::to_owned);
    }

    /// Emits `event` from the current client, as the network would.
    pub fn emit(&self, event: EngineEvent) {
        if let Some((tx, _, _)) = &self.lock().current {
            tx.emit(event);
        }
    }

    /// Hands `batch` to the connector as received messages; resolves with its commit.
    pub async fn receive(&self, batch: Vec<InboundMessage>) -> Result<(), String> {
        let sink = self.lock().current.as_ref().map(|(_, sink, _)| sink.clone());
        match sink {
            Some(sink) => sink.commit(batch).await,
            None => Err("no client".to_owned()),
        }
    }

    /// The current client's store.
    pub fn store(&self) -> Option<Arc<dyn KvStore>> {
        self.lock().current.as_ref().map(|(_, _, kv)| kv.clone())
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    pub fn sends(&self) -> Vec<WireId> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Send { id, .. } => Some(id),
                _ => None,
            })
            .collect()
    }

    /// Clients opened so far.
    pub fn opened(&self) -> usize {
        self.lock().opened
    }

    /// Clients live now (opened, not shut down).
    pub fn live(&self) -> usize {
        self.lock().live
    }

    /// The most clients ever live at once.
    pub fn max_live(&self) -> usize {
        self.lock().max_live
    }

    /// Waits (in the test's time) until `n` clients were opened and the last one connected.
    pub async fn wait_opened(&self, n: usize) {
        for _ in 0..10_000 {
            if self.opened() >= n && self.calls().iter().filter(|c| **c == Call::Connect).count() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{n} clients were never opened (opened {})", self.opened());
    }

    /// The live client dies with its process: no shutdown, nothing flushed; the double lets go
    /// of its event channel, inbound sink and store (which would otherwise keep the crashed
    /// connector, and the store under it, alive).
    pub fn crash(&self) {
        let mut s = self.lock();
        if s.current.take().is_some() {
            s.live = s.live.saturating_sub(1);
        }
    }

    /// Waits until no client is live.
    pub async fn wait_idle(&self) {
        for _ in 0..10_000 {
            if self.live() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("a client stayed live");
    }
}

impl EngineFactory for Double {
    fn open(&self, args: OpenArgs) -> BoxFuture<'_, Result<Arc<dyn Engine>, EngineError>> {
        Box::pin(async move {
            if args.store.get(b"device").map_err(|e| EngineError::Store(e.to_string()))?.is_none() {
                args.store.put(b"device", b"keys").await.map_err(|e| EngineError::Store(e.to_string()))?;
            }
            let mut s = self.lock();
            s.opened += 1;
            s.live += 1;
            s.max_live = s.max_live.max(s.live);
            s.current = Some((args.events.clone(), args.inbound, args.store));
            Ok(Arc::new(Client { double: self.clone(), events: args.events }) as Arc<dyn Engine>)
        })
    }
}

struct Client {
    double: Double,
    events: EventTx,
}

impl Client {
    fn record(&self, call: Call) {
        self.double.lock().calls.push(call);
    }

    fn ok<'a, T: Send + 'a>(&self, call: Call, value: T) -> BoxFuture<'a, Result<T, EngineError>> {
        self.record(call);
        Box::pin(std::future::ready(Ok(value)))
    }
}

impl Engine for Client {
    fn connect(&self) -> BoxFuture<'_, Result<(), EngineError>> {
        self.record(Call::Connect);
        let on_connect = self.double.lock().on_connect.clone();
        let result = match on_connect {
            OnConnect::Emit(events) => {
                for e in events {
                    self.events.emit(e);
                }
                Ok(())
            }
            OnConnect::Silent => Ok(()),
            OnConnect::Fail(e) => Err(e),
        };
        Box::pin(std::future::ready(result))
    }

    fn pair_code<'a>(&'a self, phone: &'a str) -> BoxFuture<'a, Result<String, EngineError>> {
        let code = self.double.lock().pair_code.clone();
        self.ok(Call::PairCode(phone.to_owned()), code)
    }

    fn send<'a>(&'a self, to: &'a str, id: &'a WireId, body: &'a Outgoing) -> BoxFuture<'a, Result<(), EngineError>> {
        self.record(Call::Send { to: to.to_owned(), id: id.clone(), body: body.clone() });
        let state = self.double.lock();
        let result = match state.send_error.clone() {
            Some(e) => Err(e),
            // As the real engine: a status post is seen by the address book's contacts.
            None if to == chatedge_config::phone::STATUS_BROADCAST => match body {
                _ if state.directory.address_book.is_empty() => Err(EngineError::Refused(
                    "a status post goes to the contacts of the address book, and none have been synced".into(),
                )),
                Outgoing::Text(_) => Ok(()),
                Outgoing::Media(m)
                    if matches!(m.kind, crate::engine::MediaKind::Image | crate::engine::MediaKind::Video) =>
                {
                    Ok(())
                }
                _ => Err(EngineError::Refused("a status post is a text, an image or a video".into())),
            },
            None => Ok(()),
        };
        Box::pin(std::future::ready(result))
    }

    fn act<'a>(&'a self, act: &'a Act) -> BoxFuture<'a, Result<(), EngineError>> {
        self.record(Call::Act(act.clone()));
        // Acts go out on the same socket as messages: they fail as a send would.
        let result = self.double.lock().send_error.clone().map_or(Ok(()), Err);
        Box::pin(std::future::ready(result))
    }

    fn chat_presence<'a>(&'a self, to: &'a str, presence: ChatPresence) -> BoxFuture<'a, Result<(), EngineError>> {
        self.ok(Call::Presence(to.to_owned(), presence), ())
    }

    fn ask<'a>(&'a self, query: &'a Query) -> BoxFuture<'a, Result<Answer, EngineError>> {
        self.record(Call::Ask(query.clone()));
        Box::pin(async move {
            let delay = self.double.lock().ask_delay;
            tokio::time::sleep(delay).await;
            let mut s = self.double.lock();
            let me = s.own_phone.clone().unwrap_or_else(|| "0".to_owned());
            s.directory.answer(&me, query)
        })
    }

    fn own_phone(&self) -> Option<String> {
        self.double.lock().own_phone.clone()
    }

    fn set_unavailable(&self) -> BoxFuture<'_, Result<(), EngineError>> {
        self.ok(Call::Unavailable, ())
    }

    fn logout(&self) -> BoxFuture<'_, Result<(), EngineError>> {
        self.ok(Call::Logout, ())
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        self.record(Call::Shutdown);
        let mut s = self.double.lock();
        s.live = s.live.saturating_sub(1);
        s.current = None;
        Box::pin(std::future::ready(()))
    }
}

impl Directory {
    /// The number WhatsApp knows `phone` by, if it has WhatsApp in either of its forms.
    fn registered_as(&self, phone: &str) -> Option<String> {
        let wanted = crate::numbers::subscriber(phone);
        self.on_whatsapp.iter().find(|known| crate::numbers::subscriber(known) == wanted).cloned()
    }

    /// What WhatsApp answers `me` asking `query`, with its effect on the directory.
    fn answer(&mut self, me: &str, query: &Query) -> Result<Answer, EngineError> {
        match query {
            Query::OnWhatsapp(phones) => {
                Ok(Answer::OnWhatsapp(phones.iter().map(|p| (p.clone(), self.registered_as(p))).collect()))
            }
            Query::User(phone) => match self.registered_as(phone) {
                Some(known) => Ok(Answer::User { about: self.abouts.get(&known).cloned(), business_name: None }),
                None => Err(EngineError::NotFound(format!("number {phone}"))),
            },
            Query::BusinessOf(phone) => match self.registered_as(phone) {
                Some(known) => Ok(Answer::Business(self.businesses.get(&known).cloned())),
                None => Err(EngineError::NotFound(format!("number {phone}"))),
            },
            Query::Picture(of) => Ok(Answer::Picture(self.pictures.get(of).cloned())),
            Query::Block { phone, blocked } => {
                match blocked {
                    true => self.blocked.insert(phone.clone()),
                    false => self.blocked.remove(phone),
                };
                Ok(Answer::Done)
            }
            Query::SetName(name) => {
                self.name = Some(name.clone());
                Ok(Answer::Done)
            }
            Query::SetAbout(about) => {
                self.about = Some(about.clone());
                Ok(Answer::Done)
            }
            Query::SetPicture { group, image } => {
                let of = match group {
                    Some(group) => self.admin_of(me, group)?.id.clone(),
                    None => me.to_owned(),
                };
                // WhatsApp publishes the photo at a link of its own.
                let link = format!("https://pps.whatsapp.net/v/double/{of}/{}.jpg", image.len());
                self.pictures.insert(of, link);
                Ok(Answer::Done)
            }
            Query::Groups => Ok(Answer::Groups(
                self.groups.values().filter(|g| g.members.iter().any(|m| m.phone == me)).cloned().collect(),
            )),
            Query::CreateGroup { subject, participants } => {
                let id = self.new_group(me, subject, None);
                let joining: Vec<GroupMember> = participants
                    .iter()
                    .filter(|p| self.on_whatsapp.contains(*p) && p.as_str() != me)
                    .map(|p| GroupMember { phone: p.clone(), admin: false, super_admin: false })
                    .collect();
                let group = self.groups.get_mut(&id).ok_or_else(|| EngineError::NotFound(format!("group {id}")))?;
                group.members.extend(joining);
                Ok(Answer::Group(group.clone()))
            }
            Query::Group(id) => self.group(id).map(|g| Answer::Group(g.clone())),
            Query::SetSubject { group, subject } => {
                let g = self.admin_of(me, group)?;
                g.subject = subject.clone();
                g.subject_owner = Some(me.to_owned());
                Ok(Answer::Done)
            }
            Query::SetDescription { group, description } => {
                self.admin_of(me, group)?.description = Some(description.clone());
                Ok(Answer::Done)
            }
            Query::GroupSetting { group, setting, on } => {
                let g = self.admin_of(me, group)?;
                let flag = match setting {
                    GroupSetting::AdminsOnlySend => &mut g.admins_only_send,
                    GroupSetting::AdminsOnlyEdit => &mut g.admins_only_edit,
                    GroupSetting::ApproveJoins => &mut g.approve_joins,
                    GroupSetting::AdminsOnlyAdd => &mut g.admins_only_add,
                };
                *flag = *on;
                Ok(Answer::Done)
            }
            Query::Members { group, change, phones } => {
                let (known, refusing) = (self.on_whatsapp.clone(), self.refuses_adds.clone());
                let g = self.admin_of(me, group)?;
                let results = phones
                    .iter()
                    .map(|p| {
                        let at = g.members.iter().position(|m| &m.phone == p);
                        let applied = match (change, at) {
                            (MemberChange::Add, None) if refusing.contains(p) => {
                                return (p.clone(), MemberResult::NeedsInvite);
                            }
                            (MemberChange::Add, None) if known.contains(p) => {
                                g.members.push(GroupMember { phone: p.clone(), admin: false, super_admin: false });
                                true
                            }
                            (MemberChange::Remove, Some(i)) => {
                                g.members.remove(i);
                                true
                            }
                            (MemberChange::Promote, Some(i)) => !std::mem::replace(&mut g.members[i].admin, true),
                            (MemberChange::Demote, Some(i)) => std::mem::replace(&mut g.members[i].admin, false),
                            _ => false, // nobody asked to join the double's groups
                        };
                        (p.clone(), if applied { MemberResult::Applied } else { MemberResult::NotApplied })
                    })
                    .collect();
                Ok(Answer::Members(results))
            }
            Query::Leave(group) => {
                let g = self.groups.get_mut(group).ok_or_else(|| EngineError::NotFound(format!("group {group}")))?;
                g.members.retain(|m| m.phone != me);
                Ok(Answer::Done)
            }
            Query::InviteLink { group, reset } => {
                self.admin_of(me, group)?;
                let created = self.groups_created;
                let code = self.invites.entry(group.clone()).or_insert_with(|| format!("INV{created}{}", group.len()));
                if *reset {
                    code.push('R');
                }
                Ok(Answer::Link(format!("https://chat.whatsapp.com/{code}")))
            }
            Query::InviteInfo(code) => {
                let group = self.invited(code)?;
                self.group(&group).map(|g| Answer::Group(g.clone()))
            }
            Query::Join(code) => {
                let group = self.invited(code)?;
                let g = self.groups.get_mut(&group).ok_or_else(|| EngineError::NotFound(format!("group {group}")))?;
                if !g.approve_joins && !g.members.iter().any(|m| m.phone == me) {
                    g.members.push(GroupMember { phone: me.to_owned(), admin: false, super_admin: false });
                }
                Ok(Answer::Joined { group, pending: g.approve_joins })
            }
            Query::Chat { chat, change } => {
                self.chats.insert(chat.clone(), *change);
                Ok(Answer::Done)
            }
            Query::Privacy(change) => {
                self.privacy.push(*change);
                Ok(Answer::Done)
            }
            Query::DefaultDisappearing(seconds) => {
                self.default_disappearing = Some(*seconds);
                Ok(Answer::Done)
            }
            Query::ChatDisappearing { chat, seconds } => {
                if chat.ends_with("-group") {
                    self.admin_of(me, chat)?;
                } else if self.registered_as(chat).is_none() {
                    return Err(EngineError::NotFound(format!("number {chat}")));
                }
                self.disappearing.insert(chat.clone(), *seconds);
                Ok(Answer::Done)
            }
            Query::Channels => {
                Ok(Answer::Channels(self.channels.values().filter(|c| c.role != ChannelRole::Guest).cloned().collect()))
            }
            Query::Channel(id) => self.channel(id).map(|c| Answer::Channel(c.clone())),
            Query::CreateChannel { name, description } => {
                self.groups_created += 1;
                let id = format!("1203632{:011}@newsletter", self.groups_created);
                let channel = ChannelInfo {
                    id: id.clone(),
                    name: name.clone(),
                    description: description.clone(),
                    invite_code: Some(format!("0029Va{}", self.groups_created)),
                    role: ChannelRole::Owner,
                    ..ChannelInfo::default()
                };
                self.channels.insert(id, channel.clone());
                Ok(Answer::Channel(channel))
            }
            Query::FollowChannel { channel, follow } => {
                let c = self.channel_mut(channel)?;
                match (follow, c.role) {
                    (true, ChannelRole::Guest) => (c.role, c.followers) = (ChannelRole::Subscriber, c.followers + 1),
                    (false, ChannelRole::Subscriber) => (c.role, c.followers) = (ChannelRole::Guest, c.followers - 1),
                    (false, ChannelRole::Owner) => return Err(EngineError::Refused("the owner cannot leave".into())),
                    _ => {}
                }
                Ok(Answer::Done)
            }
            Query::UpdateChannel { channel, name, description } => {
                let c = self.channel_mut(channel)?;
                if !matches!(c.role, ChannelRole::Owner | ChannelRole::Admin) {
                    return Err(EngineError::Refused("only its admins change a channel".into()));
                }
                c.name = name.clone().unwrap_or_else(|| c.name.clone());
                c.description = description.clone().or_else(|| c.description.clone());
                Ok(Answer::Done)
            }
            Query::DeleteChannel(id) => {
                let c = self.channel_mut(id)?;
                if c.role != ChannelRole::Owner {
                    return Err(EngineError::Refused("only its owner deletes a channel".into()));
                }
                self.channels.remove(id);
                Ok(Answer::Done)
            }
            Query::ChannelPicture { channel, .. } => {
                let c = self.channel_mut(channel)?;
                c.picture =
                    Some(format!("https://mmg.whatsapp.net/v/t61/{}.jpg", channel.trim_end_matches("@newsletter")));
                Ok(Answer::Done)
            }
            Query::ChannelReactions { channel, any } => {
                self.channel_mut(channel)?;
                self.channel_reactions.insert(channel.clone(), *any);
                Ok(Answer::Done)
            }
            Query::ChannelAdmin { channel, phone, change } => {
                if self.channel_mut(channel)?.role != ChannelRole::Owner {
                    return Err(EngineError::Refused("only its owner changes a channel's admins".into()));
                }
                if !self.on_whatsapp.contains(phone) {
                    return Err(EngineError::NotFound(format!("number {phone}")));
                }
                self.channel_admin_changes.push((channel.clone(), phone.clone(), *change));
                if let AdminChange::MakeOwner { .. } = change {
                    self.channel_mut(channel)?.role = ChannelRole::Admin;
                }
                Ok(Answer::Done)
            }
            Query::AcceptChannelAdmin(channel) => {
                self.channel_mut(channel)?.role = ChannelRole::Admin;
                Ok(Answer::Done)
            }
            Query::SearchChannels { text, limit, .. } => {
                let matches =
                    |c: &&ChannelInfo| text.as_ref().is_none_or(|t| c.name.to_lowercase().contains(&t.to_lowercase()));
                Ok(Answer::Channels(self.channels.values().filter(matches).take(*limit).cloned().collect()))
            }
            Query::BusinessProfile(change) => {
                self.business_profile.push(change.clone());
                Ok(Answer::Done)
            }
            Query::Labels => Ok(Answer::Labels(self.labels.values().cloned().collect())),
            Query::SaveLabel { id: None, name, color } => {
                let next = self.labels.keys().filter_map(|id| id.parse::<u64>().ok()).max().unwrap_or(0) + 1;
                let color = color.unwrap_or(((next - 1) % u64::from(LABEL_COLORS)) as u8);
                let label = LabelInfo { id: next.to_string(), name: name.clone(), color };
                self.labels.insert(label.id.clone(), label.clone());
                Ok(Answer::Label(label))
            }
            Query::SaveLabel { id: Some(id), name, color } => {
                let label = self.labels.get_mut(id).ok_or_else(|| EngineError::NotFound(format!("label {id}")))?;
                label.name = name.clone();
                label.color = color.unwrap_or(label.color);
                Ok(Answer::Label(label.clone()))
            }
            Query::DeleteLabel(id) => {
                self.labels.remove(id).ok_or_else(|| EngineError::NotFound(format!("label {id}")))?;
                self.chat_labels.retain(|(_, l)| l != id);
                Ok(Answer::Done)
            }
            Query::LabelChat { chat, label, on } => {
                if !self.labels.contains_key(label) {
                    return Err(EngineError::NotFound(format!("label {label}")));
                }
                let pair = (chat.clone(), label.clone());
                match on {
                    true => self.chat_labels.insert(pair),
                    false => self.chat_labels.remove(&pair),
                };
                Ok(Answer::Done)
            }
            Query::AddressBook { page, page_size } => {
                let skip = page.saturating_sub(1).saturating_mul(*page_size);
                Ok(Answer::AddressBook(self.address_book.values().skip(skip).take(*page_size).cloned().collect()))
            }
            Query::SavedContact(phone) => Ok(Answer::SavedContact(self.address_book.get(phone).cloned())),
            Query::ChatList { page, page_size } => {
                Ok(Answer::ChatList(ChatEntry::page(self.chat_list.values().cloned().collect(), *page, *page_size)))
            }
            Query::ChatEntry(chat) => Ok(Answer::ChatEntry(self.chat_list.get(chat).cloned())),
            // As the real engine: a number is reported by a message received from it.
            Query::Report(phone) => match self.chat_list.get(phone).is_some_and(|c| c.last_message_ms > 0) {
                true => {
                    self.reported.push(phone.clone());
                    Ok(Answer::Done)
                }
                false => Err(EngineError::Refused(format!("none from {phone} was received here"))),
            },
            Query::SaveContact(contact) => {
                self.address_book.insert(contact.phone.clone(), contact.clone());
                Ok(Answer::Done)
            }
            Query::RejectCall(id) => {
                self.rejected_calls.push(id.clone());
                Ok(Answer::Done)
            }
            Query::Communities => {
                let mine = self
                    .communities
                    .keys()
                    .filter(|id| self.group(id).is_ok_and(|g| g.members.iter().any(|m| m.phone == me)));
                Ok(Answer::Communities(mine.filter_map(|id| self.community(id).ok()).collect()))
            }
            Query::CreateCommunity { name, description } => {
                let parent = self.new_group(me, name, None);
                if let Some(p) = self.groups.get_mut(&parent) {
                    p.description = description.clone();
                }
                let announcement = self.new_group(me, name, Some(&parent));
                if let Some(a) = self.groups.get_mut(&announcement) {
                    a.admins_only_send = true;
                }
                let record = CommunityRecord { announcement, ..CommunityRecord::default() };
                self.communities.insert(parent.clone(), record);
                self.community(&parent).map(Answer::Community)
            }
            Query::Community(id) => self.community(id).map(Answer::Community),
            Query::LinkGroups { community, groups, link } => {
                self.community(community)?;
                self.admin_of(me, community)?;
                let outcomes = groups.iter().map(|g| (g.clone(), self.link(community, g, *link))).collect();
                Ok(Answer::Linked(outcomes))
            }
            Query::SubGroupCreation { community, anyone } => {
                self.community(community)?;
                self.admin_of(me, community)?;
                self.communities.entry(community.clone()).or_default().anyone_adds = *anyone;
                Ok(Answer::Done)
            }
            Query::DeactivateCommunity(id) => {
                self.community(id)?;
                self.admin_of(me, id)?;
                let record = self.communities.remove(id).unwrap_or_default();
                for g in record.linked.iter().chain([&record.announcement]) {
                    if let Some(g) = self.groups.get_mut(g) {
                        g.community = None;
                    }
                }
                self.groups.remove(&record.announcement);
                self.groups.remove(id);
                Ok(Answer::Done)
            }
        }
    }

    /// A new group `me` owns (in `community`, as its announcement group, when given).
    fn new_group(&mut self, me: &str, subject: &str, community: Option<&str>) -> String {
        self.groups_created += 1;
        let id = format!("1203630{:011}-group", self.groups_created);
        let group = GroupInfo {
            id: id.clone(),
            subject: subject.to_owned(),
            owner: Some(me.to_owned()),
            subject_owner: Some(me.to_owned()),
            community: community.map(str::to_owned),
            members: vec![GroupMember { phone: me.to_owned(), admin: true, super_admin: true }],
            ..GroupInfo::default()
        };
        self.groups.insert(id.clone(), group);
        id
    }

    /// Community `id` as WhatsApp describes it.
    fn community(&self, id: &str) -> Result<CommunityInfo, EngineError> {
        let not_found = || EngineError::NotFound(format!("community {id}"));
        let record = self.communities.get(id).ok_or_else(not_found)?;
        let parent = self.group(id).map_err(|_| not_found())?;
        let group = |g: &String, announcement: bool| CommunityGroup {
            id: g.clone(),
            subject: self.groups.get(g).map(|g| g.subject.clone()).unwrap_or_default(),
            announcement,
        };
        let mut groups = vec![group(&record.announcement, true)];
        groups.extend(record.linked.iter().map(|g| group(g, false)));
        Ok(CommunityInfo {
            id: id.to_owned(),
            name: parent.subject.clone(),
            description: parent.description.clone(),
            groups,
        })
    }

    /// Links `group` to `community` (or unlinks it): `None` when it changed, else why not.
    fn link(&mut self, community: &str, group: &str, link: bool) -> Option<String> {
        let Some(g) = self.groups.get_mut(group) else { return Some("item-not-found (404)".to_owned()) };
        match (link, g.community.as_deref()) {
            (true, None) => g.community = Some(community.to_owned()),
            (true, Some(_)) => return Some("already in a community (409)".to_owned()),
            (false, Some(c)) if c == community => g.community = None,
            (false, _) => return Some("not linked to this community (406)".to_owned()),
        }
        let linked = &mut self.communities.entry(community.to_owned()).or_default().linked;
        match link {
            true => linked.push(group.to_owned()),
            false => linked.retain(|l| l != group),
        }
        None
    }

    fn group(&self, id: &str) -> Result<&GroupInfo, EngineError> {
        self.groups.get(id).ok_or_else(|| EngineError::NotFound(format!("group {id}")))
    }

    /// The group, if `me` administers it.
    fn admin_of(&mut self, me: &str, id: &str) -> Result<&mut GroupInfo, EngineError> {
        let g = self.groups.get_mut(id).ok_or_else(|| EngineError::NotFound(format!("group {id}")))?;
        match g.members.iter().any(|m| m.phone == me && m.admin) {
            true => Ok(g),
            false => Err(EngineError::Refused("not an admin of the group".to_owned())),
        }
    }

    fn channel(&self, id: &str) -> Result<&ChannelInfo, EngineError> {
        self.channels.get(id).ok_or_else(|| EngineError::NotFound(format!("channel {id}")))
    }

    fn channel_mut(&mut self, id: &str) -> Result<&mut ChannelInfo, EngineError> {
        self.channels.get_mut(id).ok_or_else(|| EngineError::NotFound(format!("channel {id}")))
    }

    /// The group an invitation code or link leads to.
    fn invited(&self, code: &str) -> Result<String, EngineError> {
        let code = code.rsplit('/').next().unwrap_or(code);
        self.invites
            .iter()
            .find(|(_, c)| c.as_str() == code)
            .map(|(g, _)| g.clone())
            .ok_or_else(|| EngineError::NotFound("invitation".to_owned()))
    }
}
