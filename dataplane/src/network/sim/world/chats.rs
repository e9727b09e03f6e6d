//! chats: the sim's record of the account's chat list. Two parts: what traffic showed (the
//! last message time and unread count of each chat, memory only and bounded, since traffic
//! must not cost a write per message; a restart forgets it, like a phone re-syncing its
//! history), and the owner's settings per chat (archived, pinned, muted, read marks, cleared,
//! expiration, and on a WhatsApp Business account the owner's note), one durable row per chat.
//! The list is the union of both. Deleting a chat forgets both parts; its next message brings it
//! back. At most [`MAX_PINNED`] chats are pinned, as on WhatsApp.
//! Runs under the instance's world lock (`SimNetwork::change`: a shard's local task for account
//! calls, the admin request's task for `/sim`); nothing here blocks or does I/O.

use std::collections::HashMap;

use chatedge_config::Phone;
use serde::{Deserialize, Serialize};

use super::{Cx, Loader, Table, World};
use crate::network::account::chats::{Call, Change, ChatInfo, Expiration, Note, Reply};
use crate::network::account::AccountError;
use crate::store::StoreError;

/// Chats with settings.
pub const MAX_CHATS: usize = 10_000;
/// Chats whose traffic is remembered; past it the least recent is forgotten.
pub const MAX_TRAFFIC: usize = 10_000;
/// Chats pinned at once.
pub const MAX_PINNED: usize = 3;

/// The owner's settings of one chat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub archived: bool,
    pub pinned: bool,
    /// `Some(-1)`: muted for ever.
    pub mute_end_ms: Option<i64>,
    /// Marked unread by the owner.
    pub marked_unread: bool,
    /// When the messages were last cleared, Unix ms.
    pub cleared_at_ms: Option<u64>,
    pub expiration_seconds: u64,
    /// The owner's note (WhatsApp Business only).
    pub note: Option<Note>,
}

/// What traffic showed of one chat (memory only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Traffic {
    last_ms: u64,
    /// Order of the last message among all chats' (ties within a millisecond).
    seq: u64,
    unread: u32,
}

#[derive(Debug, Default)]
pub struct State {
    settings: Table<Settings>,
    traffic: HashMap<String, Traffic>,
    /// The chats of `traffic` by their latest message's sequence number, least recent first:
    /// what is forgotten when `traffic` is full, found without a scan.
    recency: std::collections::BTreeMap<u64, String>,
    next_seq: u64,
}

impl State {
    pub fn load(l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State { settings: l.table("chats", MAX_CHATS)?, ..State::default() })
    }

    /// Empty, with its bound (unit tests).
    #[cfg(test)]
    pub fn empty() -> State {
        State { settings: Table::new("chats", MAX_CHATS), ..State::default() }
    }

    /// The owner's settings of `chat` (defaults if it has none).
    pub fn settings(&self, chat: &Phone) -> Settings {
        self.settings.get(chat.as_str()).cloned().unwrap_or_default()
    }

    fn known(&self, chat: &str) -> bool {
        self.settings.contains(chat) || self.traffic.contains_key(chat)
    }
}

fn info(world: &World, chat: &Phone) -> ChatInfo {
    let c = &world.chats;
    let s = c.settings(chat);
    let t = c.traffic.get(chat.as_str()).copied().unwrap_or_default();
    let public = world.contacts.public(chat);
    ChatInfo {
        phone: chat.clone(),
        name: world.contacts.display_name(chat),
        archived: s.archived,
        pinned: s.pinned,
        unread: if s.marked_unread { t.unread.max(1) } else { t.unread },
        last_message_ms: t.last_ms,
        mute_end_ms: s.mute_end_ms,
        expiration_seconds: s.expiration_seconds,
        profile_thumbnail: public.and_then(|p| p.picture_url.clone()),
        about: public.and_then(|p| p.about.clone()),
        announcement: world.groups.groups.get(chat.as_str()).is_some_and(|g| g.announcement),
        note: s.note,
    }
}

pub fn apply(world: &mut World, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    match call {
        Call::List { page, page_size } => {
            let c = &world.chats;
            let mut phones: Vec<&str> = c.settings.iter().map(|(k, _)| k.as_str()).collect();
            phones.extend(c.traffic.keys().map(String::as_str).filter(|k| !c.settings.contains(k)));
            let seq = |p: &Phone| c.traffic.get(p.as_str()).map_or(0, |t| t.seq);
            let mut chats: Vec<(u64, ChatInfo)> =
                phones.into_iter().filter_map(|k| Phone::parse(k).ok()).map(|p| (seq(&p), info(world, &p))).collect();
            chats.sort_by(|(sa, a), (sb, b)| {
                (b.pinned, b.last_message_ms, sb, a.phone.as_str()).cmp(&(
                    a.pinned,
                    a.last_message_ms,
                    sa,
                    b.phone.as_str(),
                ))
            });
            let chats: Vec<ChatInfo> = chats.into_iter().map(|(_, c)| c).collect();
            Ok(Reply::Chats(crate::network::account::page_of(chats, page, page_size).collect()))
        }
        Call::Get(chat) => match world.chats.known(chat.as_str()) {
            true => Ok(Reply::Chat(info(world, &chat))),
            false => Err(AccountError::NotFound(format!("chat {}", chat.as_str()))),
        },
        Call::Modify { phone, change } => {
            reachable(&phone, cx)?;
            modify(&mut world.chats, &phone, change, cx)?;
            Ok(Reply::Done)
        }
        Call::SetExpiration { phone, expiration } => {
            reachable(&phone, cx)?;
            let seconds = expiration.seconds();
            change(&mut world.chats, &phone, cx, |s| s.expiration_seconds = seconds)?;
            if expiration == Expiration::Off {
                drop_if_default(&mut world.chats, &phone, cx);
            }
            Ok(Reply::Done)
        }
        Call::SetNote { phone, content } => {
            cx.business_only()?;
            reachable(&phone, cx)?;
            let now = cx.now_ms;
            change(&mut world.chats, &phone, cx, |s| s.note = noted(s.note.take(), content, now))?;
            drop_if_default(&mut world.chats, &phone, cx);
            Ok(Reply::Done)
        }
    }
}

/// The chat's note after the owner wrote `content`: removed when it is empty, otherwise the
/// same note (its id and creation kept) with new content, or a new one.
fn noted(old: Option<Note>, content: String, now_ms: u64) -> Option<Note> {
    if content.trim().is_empty() {
        return None;
    }
    Some(match old {
        Some(n) if n.content == content => n,
        Some(n) => Note { content, updated_ms: now_ms, ..n },
        None => {
            // 32 random bytes in base64, as WhatsApp's note ids look.
            use base64::Engine as _;
            let id = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
            Note { id, content, created_ms: now_ms, updated_ms: now_ms }
        }
    })
}

fn reachable(chat: &Phone, cx: &Cx) -> Result<(), AccountError> {
    match chat.is_group() || cx.on_network(chat) {
        true => Ok(()),
        false => Err(AccountError::NotFound(format!("{} on the network", chat.as_str()))),
    }
}

fn modify(c: &mut State, chat: &Phone, what: Change, cx: &mut Cx) -> Result<(), AccountError> {
    let key = chat.as_str();
    match what {
        Change::Pin if !c.settings(chat).pinned => {
            let pinned = c.settings.values().filter(|s| s.pinned).count();
            if pinned >= MAX_PINNED {
                return Err(AccountError::Limit(format!("at most {MAX_PINNED} chats can be pinned")));
            }
            change(c, chat, cx, |s| s.pinned = true)?;
        }
        Change::Pin => {}
        Change::Unpin => change(c, chat, cx, |s| s.pinned = false)?,
        Change::Archive => change(c, chat, cx, |s| {
            s.archived = true;
            // WhatsApp unpins what it archives.
            s.pinned = false;
        })?,
        Change::Unarchive => change(c, chat, cx, |s| s.archived = false)?,
        Change::Mute => change(c, chat, cx, |s| s.mute_end_ms = Some(-1))?,
        Change::Unmute => change(c, chat, cx, |s| s.mute_end_ms = None)?,
        Change::Read => {
            change(c, chat, cx, |s| s.marked_unread = false)?;
            if let Some(t) = c.traffic.get_mut(key) {
                t.unread = 0;
            }
        }
        Change::MarkUnread => change(c, chat, cx, |s| s.marked_unread = true)?,
        Change::Clear => {
            let now = cx.now_ms;
            change(c, chat, cx, |s| {
                s.cleared_at_ms = Some(now);
                s.marked_unread = false;
            })?;
            if let Some(t) = c.traffic.get_mut(key) {
                t.unread = 0;
            }
        }
        Change::Delete => {
            c.settings.remove(key, cx);
            if let Some(t) = c.traffic.remove(key) {
                c.recency.remove(&t.seq);
            }
            return Ok(());
        }
    }
    drop_if_default(c, chat, cx);
    Ok(())
}

/// Applies `f` to the chat's settings row, creating it if needed.
fn change(c: &mut State, chat: &Phone, cx: &mut Cx, f: impl FnOnce(&mut Settings)) -> Result<(), AccountError> {
    let mut s = c.settings(chat);
    f(&mut s);
    c.settings.insert(chat.as_str(), s, cx)
}

/// A row back to all defaults is dropped when traffic lists the chat anyway; without traffic
/// it stays, so a chat the owner touched stays in the list.
fn drop_if_default(c: &mut State, chat: &Phone, cx: &mut Cx) {
    let key = chat.as_str();
    if c.traffic.contains_key(key) && c.settings.get(key).is_some_and(|s| *s == Settings::default()) {
        c.settings.remove(key, cx);
    }
}

/// A message went to or came from `chat` (see `World::saw_traffic`): the chat's last message
/// time; an incoming message is unread until the chat is read, a reply reads the chat.
pub fn saw_traffic(world: &mut World, chat: &Phone, at_ms: u64, from_me: bool) {
    // Status posts go to everyone, not to a chat.
    if chat.kind() == chatedge_config::phone::PhoneKind::StatusBroadcast {
        return;
    }
    let c = &mut world.chats;
    if !c.traffic.contains_key(chat.as_str()) && c.traffic.len() >= MAX_TRAFFIC {
        if let Some((_, oldest)) = c.recency.pop_first() {
            c.traffic.remove(&oldest);
        }
    }
    c.next_seq += 1;
    let seq = c.next_seq;
    let t = c.traffic.entry(chat.as_str().to_owned()).or_default();
    c.recency.remove(&t.seq);
    c.recency.insert(seq, chat.as_str().to_owned());
    t.last_ms = t.last_ms.max(at_ms);
    t.seq = seq;
    t.unread = if from_me { 0 } else { t.unread.saturating_add(1) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::sim::world::testing::{cx, phone};

    fn world() -> World {
        World { chats: State::empty(), contacts: super::super::contacts::State::empty(), ..World::default() }
    }

    fn list(w: &mut World) -> Vec<ChatInfo> {
        match apply(w, Call::List { page: 1, page_size: 100 }, &mut cx()).unwrap() {
            Reply::Chats(c) => c,
            r => panic!("{r:?}"),
        }
    }

    fn modify_chat(w: &mut World, p: &str, change: Change) -> Result<Reply, AccountError> {
        apply(w, Call::Modify { phone: phone(p), change }, &mut cx())
    }

    #[test]
    fn traffic_lists_chats_most_recent_first_with_unread_counts() {
        let mut w = world();
        saw_traffic(&mut w, &phone("554411111111"), 1_000, false);
        saw_traffic(&mut w, &phone("554422222222"), 2_000, false);
        saw_traffic(&mut w, &phone("554422222222"), 3_000, false);
        saw_traffic(&mut w, &phone("554433333333"), 3_000, false);
        let chats = list(&mut w);
        assert_eq!(chats[0].phone.as_str(), "554433333333", "the later of two in the same millisecond first");
        let chats = &chats[1..];
        assert_eq!(chats.iter().map(|c| c.phone.as_str()).collect::<Vec<_>>(), ["554422222222", "554411111111"]);
        assert_eq!((chats[0].unread, chats[0].last_message_ms), (2, 3_000));
        saw_traffic(&mut w, &phone("554422222222"), 4_000, true);
        assert_eq!(list(&mut w)[0].unread, 0, "a reply reads the chat");
    }

    #[test]
    fn settings_show_in_the_list_and_pinned_chats_come_first() {
        let mut w = world();
        saw_traffic(&mut w, &phone("554411111111"), 1_000, false);
        saw_traffic(&mut w, &phone("554422222222"), 2_000, false);
        modify_chat(&mut w, "554411111111", Change::Pin).unwrap();
        modify_chat(&mut w, "554422222222", Change::Archive).unwrap();
        modify_chat(&mut w, "554422222222", Change::Mute).unwrap();
        let chats = list(&mut w);
        assert_eq!(chats[0].phone.as_str(), "554411111111");
        assert!(chats[0].pinned);
        assert!(chats[1].archived && chats[1].mute_end_ms == Some(-1));
        modify_chat(&mut w, "554411111111", Change::Read).unwrap();
        modify_chat(&mut w, "554422222222", Change::MarkUnread).unwrap();
        let chats = list(&mut w);
        assert_eq!((chats[0].unread, chats[1].unread), (0, 1));
    }

    #[test]
    fn only_three_chats_can_be_pinned() {
        let mut w = world();
        for p in ["554411111111", "554422222222", "554433333333"] {
            modify_chat(&mut w, p, Change::Pin).unwrap();
        }
        let mut c = cx();
        let fourth = Call::Modify { phone: phone("554444444444"), change: Change::Pin };
        assert!(matches!(apply(&mut w, fourth, &mut c), Err(AccountError::Limit(_))));
        assert!(c.into_parts().0.is_empty());
        modify_chat(&mut w, "554411111111", Change::Unpin).unwrap();
        modify_chat(&mut w, "554444444444", Change::Pin).unwrap();
    }

    #[test]
    fn a_deleted_chat_leaves_the_list_until_its_next_message() {
        let mut w = world();
        saw_traffic(&mut w, &phone("554411111111"), 1_000, false);
        modify_chat(&mut w, "554411111111", Change::Archive).unwrap();
        modify_chat(&mut w, "554411111111", Change::Delete).unwrap();
        assert!(list(&mut w).is_empty());
        assert!(matches!(apply(&mut w, Call::Get(phone("554411111111")), &mut cx()), Err(AccountError::NotFound(_))));
        saw_traffic(&mut w, &phone("554411111111"), 2_000, false);
        let chats = list(&mut w);
        assert_eq!(chats.len(), 1);
        assert!(!chats[0].archived, "deleting forgot the settings");
    }

    #[test]
    fn clearing_reads_the_chat_and_expiration_is_kept() {
        let mut w = world();
        saw_traffic(&mut w, &phone("554411111111"), 1_000, false);
        modify_chat(&mut w, "554411111111", Change::Clear).unwrap();
        let call = Call::SetExpiration { phone: phone("554411111111"), expiration: Expiration::Days7 };
        apply(&mut w, call, &mut cx()).unwrap();
        let Reply::Chat(chat) = apply(&mut w, Call::Get(phone("554411111111")), &mut cx()).unwrap() else { panic!() };
        assert_eq!((chat.unread, chat.expiration_seconds), (0, 7 * 86_400));
        assert!(w.chats.settings(&phone("554411111111")).cleared_at_ms.is_some());
    }

    #[test]
    fn numbers_off_the_network_have_no_chat_to_change() {
        let mut w = world();
        assert!(matches!(modify_chat(&mut w, "554411110000", Change::Archive), Err(AccountError::NotFound(_))));
    }

    #[test]
    fn traffic_memory_is_bounded() {
        let mut w = world();
        for i in 0..(MAX_TRAFFIC as u64 + 5) {
            saw_traffic(&mut w, &phone(&format!("5544{:08}", 10_000_000 + i)), i + 1, false);
        }
        assert_eq!(w.chats.traffic.len(), MAX_TRAFFIC);
        assert!(!w.chats.traffic.contains_key("554410000000"), "the least recent is forgotten");
    }

    fn business_cx() -> Cx {
        let mut c = cx();
        c.account.business = true;
        c
    }

    fn note_of(w: &mut World, p: &str) -> Option<Note> {
        match apply(w, Call::Get(phone(p)), &mut cx()) {
            Ok(Reply::Chat(chat)) => chat.note,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_business_owner_writes_changes_and_removes_a_chats_note() {
        let mut w = world();
        let write = |content: &str| Call::SetNote { phone: phone("554411111111"), content: content.into() };
        let mut c = business_cx();
        c.now_ms = 1_000;
        apply(&mut w, write("call back on Monday"), &mut c).unwrap();
        assert!(!c.into_parts().0.is_empty(), "the note is written to the store");
        let first = note_of(&mut w, "554411111111").expect("a note");
        assert_eq!((first.content.as_str(), first.created_ms, first.updated_ms), ("call back on Monday", 1_000, 1_000));
        assert_eq!(first.id.len(), 44, "32 bytes in base64: {}", first.id);

        let mut c = business_cx();
        c.now_ms = 2_000;
        apply(&mut w, write("called; send the quote"), &mut c).unwrap();
        let changed = note_of(&mut w, "554411111111").expect("a note");
        assert_eq!((changed.id.as_str(), changed.created_ms, changed.updated_ms), (first.id.as_str(), 1_000, 2_000));
        assert_eq!(changed.content, "called; send the quote");
        assert_eq!(list(&mut w)[0].note.as_ref(), Some(&changed), "the list shows it too");

        saw_traffic(&mut w, &phone("554411111111"), 3_000, false);
        apply(&mut w, write("  "), &mut business_cx()).unwrap();
        assert_eq!(note_of(&mut w, "554411111111"), None, "empty content removes the note");
        assert!(w.chats.settings.get("554411111111").is_none(), "a row back to defaults is dropped");
    }

    #[test]
    fn notes_are_refused_on_a_normal_account_and_off_the_network() {
        let mut w = world();
        let mut c = cx();
        let call = Call::SetNote { phone: phone("554411111111"), content: "x".into() };
        assert_eq!(apply(&mut w, call, &mut c).unwrap_err(), AccountError::NotBusiness);
        assert!(c.into_parts().0.is_empty());
        let off = Call::SetNote { phone: phone("554411110000"), content: "x".into() };
        assert!(matches!(apply(&mut w, off, &mut business_cx()), Err(AccountError::NotFound(_))));
        assert!(list(&mut w).is_empty());
    }
}
