//! The chat list: WhatsApp Web has no call that lists an account's chats; a linked device builds
//! its list from what it sees. So does this module: the phone's history sync at pairing (each
//! conversation's name, unread count, archive, pin and mute), the chat settings the account's
//! devices sync since (app state: archive, pin, mute, read and unread, delete), and the
//! messages this device sends and receives. It keeps one record per chat in the engine's part of
//! the instance's store and answers the list from them. Each setting keeps the time of the edit
//! that made it, so a late or replayed edit never undoes a newer one, and the history (a
//! snapshot older than any edit synced after it) never overrides an edit. It must not know
//! Z-API.

use std::sync::Arc;

use chatedge_connector::KvStore;
use serde::{Deserialize, Serialize};
use whatsapp_rust::wacore::types::events::Event;
use whatsapp_rust::wacore_binary::JidExt;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::Jid;

use super::records::Records;
use crate::engine::{Answer, ChatChange, ChatEntry, EngineError, InboundMessage, Query};

/// Where chat records live in the engine's part of the store ([`Records`]).
const CHATS: &[u8] = b"cl/";
/// Chats one account's list may hold here; beyond it a new chat is not listed.
pub const MAX_CHATS: usize = 50_000;

/// Something seen about a chat.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// The chat as the phone's history described it at pairing.
    History(Snapshot),
    Archived {
        on: bool,
        at_ms: u64,
    },
    Pinned {
        on: bool,
        at_ms: u64,
    },
    /// `until_ms`: `None` unmuted, `Some(-1)` for ever.
    Muted {
        until_ms: Option<i64>,
        at_ms: u64,
    },
    /// Read (`true`) or marked unread.
    Read {
        read: bool,
        at_ms: u64,
    },
    /// Deleted: out of the list until a newer message.
    Deleted {
        at_ms: u64,
    },
    /// How long new messages in it last (seconds; 0: kept), as this device set it.
    Timer {
        seconds: u32,
    },
    /// A message sent or received at `at_ms`; `name` names a one-to-one chat by its sender;
    /// `id` is a received message's wire id (what a report of the chat names).
    Message {
        at_ms: u64,
        incoming: bool,
        name: Option<String>,
        id: Option<String>,
    },
}

/// A conversation of the phone's history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub name: Option<String>,
    pub unread: u32,
    pub marked_unread: bool,
    pub archived: bool,
    pub pinned: bool,
    pub mute_end_ms: Option<i64>,
    pub last_message_ms: u64,
    pub expiration_s: u32,
}

/// A setting and when the edit that made it was made (0: from the history).
type Setting<T> = (T, u64);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ChatRecord {
    name: Option<String>,
    archived: Setting<bool>,
    pinned: Setting<bool>,
    mute_end_ms: Setting<Option<i64>>,
    unread: u32,
    marked_unread: bool,
    read_at_ms: u64,
    last_message_ms: u64,
    deleted_at_ms: u64,
    expiration_s: u32,
    /// The last message received in it: its wire id and when (ms).
    #[serde(default)]
    last_received: Option<(String, u64)>,
}

/// Sets `setting` to `value` unless a newer edit made it.
fn edit<T>(setting: &mut Setting<T>, value: T, at_ms: u64) {
    if at_ms >= setting.1 {
        *setting = (value, at_ms);
    }
}

impl ChatRecord {
    fn apply(&mut self, seen: Seen) {
        match seen {
            Seen::History(s) => {
                self.name = s.name.or(self.name.take());
                // The history is older than any edit: it fills in only what no edit set.
                edit(&mut self.archived, s.archived, 0);
                edit(&mut self.pinned, s.pinned, 0);
                edit(&mut self.mute_end_ms, s.mute_end_ms, 0);
                if self.read_at_ms == 0 && self.last_message_ms <= s.last_message_ms {
                    (self.unread, self.marked_unread) = (s.unread, s.marked_unread);
                }
                self.last_message_ms = self.last_message_ms.max(s.last_message_ms);
                self.expiration_s = s.expiration_s;
            }
            Seen::Archived { on, at_ms } => edit(&mut self.archived, on, at_ms),
            Seen::Pinned { on, at_ms } => edit(&mut self.pinned, on, at_ms),
            Seen::Muted { until_ms, at_ms } => edit(&mut self.mute_end_ms, until_ms, at_ms),
            Seen::Read { read, at_ms } if at_ms >= self.read_at_ms => {
                self.read_at_ms = at_ms;
                match read {
                    true => (self.unread, self.marked_unread) = (0, false),
                    false => self.marked_unread = true,
                }
            }
            Seen::Read { .. } => {}
            Seen::Timer { seconds } => self.expiration_s = seconds,
            Seen::Deleted { at_ms } => {
                self.deleted_at_ms = self.deleted_at_ms.max(at_ms);
                if at_ms >= self.last_message_ms {
                    (self.unread, self.marked_unread) = (0, false);
                }
            }
            Seen::Message { at_ms, incoming, name, id } => {
                self.last_message_ms = self.last_message_ms.max(at_ms);
                let newest = self.last_received.as_ref().is_none_or(|(_, at)| *at <= at_ms);
                if let Some(id) = id.filter(|_| incoming && newest) {
                    self.last_received = Some((id, at_ms));
                }
                if incoming && at_ms > self.read_at_ms && at_ms > self.deleted_at_ms {
                    self.unread = self.unread.saturating_add(1);
                }
                if self.name.is_none() {
                    self.name = name;
                }
            }
        }
    }

    /// Whether the list shows it: not deleted, or written in since.
    fn listed(&self) -> bool {
        self.deleted_at_ms == 0 || self.last_message_ms > self.deleted_at_ms
    }

    fn entry(self, chat: String) -> ChatEntry {
        let muted = self.mute_end_ms.0.filter(|end| *end == -1 || *end > chatedge_config::time::unix_ms() as i64);
        ChatEntry {
            chat,
            name: self.name,
            archived: self.archived.0,
            pinned: self.pinned.0,
            unread: self.unread.max(u32::from(self.marked_unread)),
            last_message_ms: self.last_message_ms,
            mute_end_ms: muted,
            expiration_s: self.expiration_s,
        }
    }
}

/// One instance's chat list.
pub struct ChatList {
    records: Records<ChatRecord>,
}

impl ChatList {
    pub fn new(store: Arc<dyn KvStore>) -> ChatList {
        ChatList { records: Records::new(store, CHATS, MAX_CHATS) }
    }

    /// Keeps what was seen about each chat (a number or `…-group`), in one write.
    pub async fn seen(&self, changes: Vec<(String, Seen)>) -> Result<(), EngineError> {
        if changes.is_empty() {
            return Ok(());
        }
        let _writing = self.records.writing().await;
        let mut records: Vec<(String, ChatRecord)> = Vec::with_capacity(changes.len());
        // Room for chats not seen before, counted once a new one comes.
        let mut room: Option<usize> = None;
        for (chat, seen) in changes {
            let at = match records.iter().position(|(c, _)| *c == chat) {
                Some(at) => at,
                None => {
                    let record = match self.records.get(&chat)? {
                        Some(record) => record,
                        None => {
                            let left = match room {
                                Some(left) => left,
                                None => MAX_CHATS.saturating_sub(self.records.count()?),
                            };
                            room = Some(left.saturating_sub(1));
                            if left == 0 {
                                continue;
                            }
                            ChatRecord::default()
                        }
                    };
                    records.push((chat, record));
                    records.len() - 1
                }
            };
            records[at].1.apply(seen);
        }
        self.records.put(&records).await
    }

    /// Answers a chat list `query`; any other query is not one of these.
    pub fn ask(&self, query: &Query) -> Result<Answer, EngineError> {
        match query {
            Query::ChatList { page, page_size } => {
                let all = self
                    .records
                    .all()?
                    .into_iter()
                    .filter(|(_, r)| r.listed())
                    .map(|(chat, r)| r.entry(chat))
                    .collect();
                Ok(Answer::ChatList(ChatEntry::page(all, *page, *page_size)))
            }
            Query::ChatEntry(chat) => {
                Ok(Answer::ChatEntry(self.records.get(chat)?.filter(ChatRecord::listed).map(|r| r.entry(chat.clone()))))
            }
            other => Err(EngineError::Refused(format!("{} is not a chat list query", other.label()))),
        }
    }

    /// The last message received in `chat` (wire id, ms), if any was seen.
    pub fn last_received(&self, chat: &str) -> Result<Option<(String, u64)>, EngineError> {
        Ok(self.records.get(chat)?.and_then(|r| r.last_received))
    }
}

/// A chat's JID in the connector's words (a number, or `…-group`); `alternate` is the number
/// WhatsApp gives beside a private id (`…@lid`). `None`: not a chat the list shows (a
/// broadcast, a channel, a private id without its number).
pub fn chat_of(jid: &Jid, alternate: Option<&str>) -> Option<String> {
    if jid.is_group() {
        return Some(format!("{}-group", jid.user));
    }
    if jid.is_pn() {
        return Some(jid.user.to_string());
    }
    let number = alternate?.parse::<Jid>().ok()?;
    number.is_pn().then(|| number.user.to_string())
}

/// A chat setting the account's devices synced (app state), as the list keeps it (`None`: not
/// one, or not about a chat the list shows).
pub fn edited(event: &Event) -> Option<(String, Seen)> {
    let (jid, seen) = match event {
        Event::ArchiveUpdate(u) => {
            (&u.jid, Seen::Archived { on: u.action.archived.unwrap_or(false), at_ms: ms(&u.timestamp) })
        }
        Event::PinUpdate(u) => (&u.jid, Seen::Pinned { on: u.action.pinned.unwrap_or(false), at_ms: ms(&u.timestamp) }),
        Event::MuteUpdate(u) => {
            // WhatsApp writes -1 (or nothing) for "for ever".
            let until_ms = match u.action.muted {
                Some(true) => Some(u.action.mute_end_timestamp.filter(|end| *end > 0).unwrap_or(-1)),
                _ => None,
            };
            (&u.jid, Seen::Muted { until_ms, at_ms: ms(&u.timestamp) })
        }
        Event::MarkChatAsReadUpdate(u) => {
            (&u.jid, Seen::Read { read: u.action.read.unwrap_or(true), at_ms: ms(&u.timestamp) })
        }
        Event::DeleteChatUpdate(u) => (&u.jid, Seen::Deleted { at_ms: ms(&u.timestamp) }),
        _ => return None,
    };
    Some((chat_of(jid, None)?, seen))
}

/// What a chat `query` this device asked (and WhatsApp answered) shows in the list: a change
/// to the chat, or its timer; `None`: nothing it shows (or not such a query).
pub fn changed(query: &Query, at_ms: u64) -> Option<(String, Seen)> {
    match query {
        Query::Chat { chat, change } => Some((chat.clone(), change_seen(*change, at_ms)?)),
        Query::ChatDisappearing { chat, seconds } => Some((chat.clone(), Seen::Timer { seconds: *seconds })),
        _ => None,
    }
}

fn change_seen(change: ChatChange, at_ms: u64) -> Option<Seen> {
    Some(match change {
        ChatChange::Read => Seen::Read { read: true, at_ms },
        ChatChange::Unread => Seen::Read { read: false, at_ms },
        ChatChange::Archive => Seen::Archived { on: true, at_ms },
        ChatChange::Unarchive => Seen::Archived { on: false, at_ms },
        ChatChange::Pin => Seen::Pinned { on: true, at_ms },
        ChatChange::Unpin => Seen::Pinned { on: false, at_ms },
        ChatChange::Mute => Seen::Muted { until_ms: Some(-1), at_ms },
        ChatChange::Unmute => Seen::Muted { until_ms: None, at_ms },
        ChatChange::Delete => Seen::Deleted { at_ms },
        ChatChange::Clear => return None,
    })
}

/// A received message (or one the account sent from another device) as the list keeps it: a
/// message of its own in the chat; acts on other messages (reactions, votes, pins) are not.
pub fn received(m: &InboundMessage) -> Option<(String, Seen)> {
    use crate::engine::InboundContent as C;
    if matches!(m.content, C::Reaction { .. } | C::PollVote { .. } | C::EventAnswer { .. } | C::Pin { .. }) {
        return None;
    }
    let id = (!m.from_me).then(|| m.id.clone());
    let name = m.push_name.clone().filter(|_| !m.from_me && !m.chat.ends_with("-group"));
    Some((m.chat.clone(), Seen::Message { at_ms: m.at_ms, incoming: !m.from_me, name, id }))
}

fn ms(t: &whatsapp_rust::wacore::chrono::DateTime<whatsapp_rust::wacore::chrono::Utc>) -> u64 {
    t.timestamp_millis().max(0) as u64
}

/// A conversation of the phone's history as the list keeps it (`None`: not a chat it shows).
pub fn from_history(c: &wa::Conversation) -> Option<(String, Seen)> {
    let jid: Jid = c.id.parse().ok()?;
    let chat = chat_of(&jid, c.pn_jid.as_deref())?;
    let at_s = c.last_msg_timestamp.or(c.conversation_timestamp).unwrap_or(0);
    // Seconds, as WhatsApp Web reads it (a value only milliseconds make sense of is taken as
    // such); all ones: for ever.
    let mute_end_ms = c.mute_end_time.and_then(|end| match end {
        0 => None,
        u64::MAX => Some(-1),
        end if end >= 100_000_000_000 => i64::try_from(end).ok(),
        end => i64::try_from(end.saturating_mul(1_000)).ok(),
    });
    let snapshot = Snapshot {
        name: c.name.clone().or_else(|| c.display_name.clone()).filter(|n| !n.is_empty()),
        unread: c.unread_count.unwrap_or(0),
        marked_unread: c.marked_as_unread.unwrap_or(false),
        archived: c.archived.unwrap_or(false),
        pinned: c.pinned.unwrap_or(0) > 0,
        mute_end_ms,
        last_message_ms: at_s.saturating_mul(1_000),
        expiration_s: c.ephemeral_expiration.unwrap_or(0),
    };
    Some((chat, Seen::History(snapshot)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::real::tests::SlowKv;

    fn message(at_ms: u64, incoming: bool) -> Seen {
        Seen::Message { at_ms, incoming, name: None, id: incoming.then(|| format!("M{at_ms}")) }
    }

    fn listed(list: &ChatList) -> Vec<(String, bool, u32, u64)> {
        let Answer::ChatList(all) = list.ask(&Query::ChatList { page: 1, page_size: 100 }).unwrap() else { panic!() };
        all.into_iter().map(|c| (c.chat, c.pinned, c.unread, c.last_message_ms)).collect()
    }

    #[test]
    fn what_is_seen_about_a_chat_keeps_the_newest_edit_and_counts_what_is_unread() {
        let history = Seen::History(Snapshot {
            name: Some("Ana".into()),
            unread: 3,
            archived: true,
            last_message_ms: 1_000,
            ..Snapshot::default()
        });
        // (what, what was seen in turn, archived, unread, listed)
        let cases: Vec<(&str, Vec<Seen>, bool, u32, bool)> = vec![
            ("the history as it was", vec![history.clone()], true, 3, true),
            (
                "an edit after the history wins",
                vec![history.clone(), Seen::Archived { on: false, at_ms: 5 }],
                false,
                3,
                true,
            ),
            (
                "the history never undoes an edit",
                vec![Seen::Archived { on: false, at_ms: 5 }, history.clone()],
                false,
                3,
                true,
            ),
            (
                "an older edit arriving late is ignored",
                vec![Seen::Archived { on: true, at_ms: 9 }, Seen::Archived { on: false, at_ms: 5 }],
                true,
                0,
                true,
            ),
            (
                "messages received count",
                vec![history.clone(), message(2_000, true), message(2_001, false)],
                true,
                4,
                true,
            ),
            (
                "read on the phone, then one more",
                vec![history.clone(), Seen::Read { read: true, at_ms: 2_000 }, message(2_500, true)],
                true,
                1,
                true,
            ),
            ("marked unread shows 1", vec![Seen::Read { read: false, at_ms: 10 }], false, 1, true),
            ("deleted", vec![history.clone(), Seen::Deleted { at_ms: 3_000 }], true, 0, false),
            (
                "deleted, then written in again",
                vec![history.clone(), Seen::Deleted { at_ms: 3_000 }, message(4_000, true)],
                true,
                1,
                true,
            ),
        ];
        for (what, seen, archived, unread, shown) in cases {
            let mut record = ChatRecord::default();
            for s in seen {
                record.apply(s);
            }
            assert_eq!(record.listed(), shown, "{what}");
            let entry = record.entry("5511988887777".into());
            assert_eq!((entry.archived, entry.unread), (archived, unread), "{what}");
        }
    }

    #[test]
    fn a_timer_set_here_replaces_the_historys() {
        let mut record = ChatRecord::default();
        record.apply(Seen::History(Snapshot { expiration_s: 604_800, ..Snapshot::default() }));
        assert_eq!(record.clone().entry("5511988887777".into()).expiration_s, 604_800);
        record.apply(Seen::Timer { seconds: 86_400 });
        assert_eq!(record.entry("5511988887777".into()).expiration_s, 86_400);
    }

    #[test]
    fn a_report_names_the_newest_message_received_in_the_chat() {
        let mut record = ChatRecord::default();
        for seen in [message(1_000, true), message(3_000, true), message(2_000, true), message(4_000, false)] {
            record.apply(seen);
        }
        assert_eq!(record.last_received, Some(("M3000".into(), 3_000)), "a late one or ours does not replace it");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_list_shows_pinned_chats_first_then_the_most_recent_and_pages() {
        let list = Arc::new(ChatList::new(Arc::new(SlowKv::default())));
        list.seen(vec![
            ("5511988887777".into(), message(1_000, true)),
            ("120363000000000001-group".into(), message(3_000, true)),
            ("5521977776666".into(), message(2_000, false)),
            ("5521977776666".into(), Seen::Pinned { on: true, at_ms: 10 }),
            ("5531966665555".into(), message(5_000, true)),
            ("5531966665555".into(), Seen::Deleted { at_ms: 6_000 }),
        ])
        .await
        .unwrap();
        // Messages received at once from many places are kept one batch at a time.
        let mut burst = tokio::task::JoinSet::new();
        for n in 0..20 {
            let list = list.clone();
            burst.spawn(async move { list.seen(vec![("5511988887777".into(), message(1_001 + n, true))]).await });
        }
        assert!(burst.join_all().await.iter().all(Result::is_ok));
        assert_eq!(
            listed(&list),
            [
                ("5521977776666".into(), true, 0, 2_000),
                ("120363000000000001-group".into(), false, 1, 3_000),
                ("5511988887777".into(), false, 21, 1_020),
            ],
            "pinned first, then the most recent; deleted ones are not listed; every message counted"
        );
        let Answer::ChatList(second) = list.ask(&Query::ChatList { page: 2, page_size: 2 }).unwrap() else { panic!() };
        assert_eq!(second.iter().map(|c| c.chat.as_str()).collect::<Vec<_>>(), ["5511988887777"]);
        let Answer::ChatEntry(gone) = list.ask(&Query::ChatEntry("5531966665555".into())).unwrap() else { panic!() };
        assert_eq!(gone, None, "deleted");
    }

    #[test]
    fn the_phones_history_names_chats_by_number_or_group_and_skips_the_rest() {
        let conversation = |id: &str, pn: Option<&str>| wa::Conversation {
            id: id.into(),
            pn_jid: pn.map(str::to_owned),
            name: Some("Loja".into()),
            unread_count: Some(2),
            pinned: Some(1_700_000_000),
            mute_end_time: Some(u64::MAX),
            last_msg_timestamp: Some(1_700_000_000),
            ..Default::default()
        };
        let chats: Vec<Option<String>> = [
            conversation("5511988887777@s.whatsapp.net", None),
            conversation("120363000000000001@g.us", None),
            conversation("123456789@lid", Some("5521977776666@s.whatsapp.net")),
            conversation("123456789@lid", None),
            conversation("status@broadcast", None),
            conversation("120363000000000009@newsletter", None),
        ]
        .iter()
        .map(|c| from_history(c).map(|(chat, _)| chat))
        .collect();
        assert_eq!(
            chats,
            [
                Some("5511988887777".into()),
                Some("120363000000000001-group".into()),
                Some("5521977776666".into()),
                None,
                None,
                None
            ]
        );
        let Some((_, Seen::History(s))) = from_history(&conversation("5511988887777@s.whatsapp.net", None)) else {
            panic!()
        };
        assert_eq!((s.unread, s.pinned, s.mute_end_ms, s.last_message_ms), (2, true, Some(-1), 1_700_000_000_000));
    }
}
