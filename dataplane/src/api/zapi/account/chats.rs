//! Chats routes (seed 001, lines 6189–6690, and the HAR's `GET chat/{phone}`): the chat list
//! (paged), one chat's metadata, changing a chat (read, unread, archive, pin, mute, clear,
//! delete…) and the expiration of its messages; and, from Z-API's documentation after seed 001,
//! a WhatsApp Business owner's note on a chat (`POST chats/{phone}/notes`, shown as `notes` on
//! the chat). Changes answer `{"value": true}`, or `{"value": false}` when the network refuses
//! them (an unknown number, a fourth pinned chat); a note answers `{"success": …}` likewise.
//! Runs on the request's task; its only I/O is the account call to the instance's shard.

use chatedge_serve::Resp;
use hyper::Method;
use chatedge_config::Phone;
use serde_json::{json, Value};

use super::contacts::{page, path_phone, MAX_PAGE_SIZE};
use super::{ask, ok};
use crate::api::zapi::fields::{self, Object};
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::network::account::chats::{Call as Net, Change, ChatInfo, Expiration, Note, Reply, MAX_NOTE_CHARS};
use crate::network::account::AccountError;

#[derive(Debug, Clone, Copy)]
pub enum Op {
    List,
    Get,
    Modify,
    Expiration,
    Note,
}

pub static ROUTES: &[Route<Op>] = &[
    Route { path: "chats", methods: "GET", label: "zapi.chats", op: Op::List },
    Route { path: "chats/{phone}", methods: "GET", label: "zapi.chats-metadata", op: Op::Get },
    Route { path: "chat/{phone}", methods: "GET", label: "zapi.chat-metadata", op: Op::Get },
    Route { path: "modify-chat", methods: "POST", label: "zapi.modify-chat", op: Op::Modify },
    Route { path: "send-chat-expiration", methods: "POST", label: "zapi.send-chat-expiration", op: Op::Expiration },
    Route { path: "chats/{phone}/notes", methods: "POST", label: "zapi.chats-notes", op: Op::Note },
];

const ACTIONS: &[&str] =
    &["read", "unread", "archive", "unarchive", "pin", "unpin", "mute", "unmute", "clear", "delete"];
const EXPIRATIONS: &[&str] = &["24_HOURS", "7_DAYS", "90_DAYS", "OFF"];

pub async fn handle(call: &Call<'_>, _method: &Method, op: Op, params: &Params) -> Result<Resp, ZapiError> {
    let net = match op {
        Op::List => {
            let (page, page_size) = page(call.query.as_deref(), MAX_PAGE_SIZE)?;
            let Reply::Chats(list) = ask(call, Net::List { page, page_size }).await? else {
                return Err(unexpected());
            };
            return ok(&list.iter().map(listed).collect::<Vec<_>>());
        }
        Op::Get => {
            let Reply::Chat(c) = ask(call, Net::Get(path_phone(params)?)).await? else {
                return Err(unexpected());
            };
            return ok(&metadata(&c));
        }
        Op::Modify => modify(&fields::object(&call.body)?)?,
        Op::Expiration => expiration(&fields::object(&call.body)?)?,
        Op::Note => {
            let net = note(path_phone(params)?, &fields::object(&call.body)?)?;
            return answered(ask(call, net).await, "success");
        }
    };
    answered(ask(call, net).await, "value")
}

/// `{key: true}` when the network made the change, `{key: false}` when it refused it.
fn answered(reply: Result<Reply, ZapiError>, key: &str) -> Result<Resp, ZapiError> {
    match reply {
        Ok(_) => ok(&json!({key: true})),
        Err(ZapiError::Account(AccountError::NotFound(_) | AccountError::Refused(_) | AccountError::Limit(_))) => {
            ok(&json!({key: false}))
        }
        Err(e) => Err(e),
    }
}

/// A list entry as seed 001 shows it (flags and counts as strings, `muteEndTime` only when
/// muted, `-1` for ever), with what Z-API's documentation added since (2025-10): `isGroup`,
/// `isGroupAnnouncement`, and the spam flag spelled `isMarkedSpam` as well as the seed's
/// `isMarketSpam`.
fn listed(c: &ChatInfo) -> Value {
    let mut v = json!({
        "archived": c.archived.to_string(),
        "pinned": c.pinned.to_string(),
        "messagesUnread": 0,
        "phone": c.phone.as_str(),
        "unread": c.unread.to_string(),
        "name": c.name.as_deref().unwrap_or(c.phone.as_str()),
        "lastMessageTime": (c.last_message_ms / 1000).to_string(),
        "isMuted": muted(c),
    });
    if let Some(end) = c.mute_end_ms {
        v["muteEndTime"] = json!(end);
    }
    with_kind(v, c)
}

fn metadata(c: &ChatInfo) -> Value {
    let v = json!({
        "phone": c.phone.as_str(),
        "unread": c.unread.to_string(),
        "lastMessageTime": (c.last_message_ms / 1000).to_string(),
        "isMuted": muted(c),
        "profileThumbnail": c.profile_thumbnail,
        "messagesUnread": 0,
        "about": c.about,
    });
    with_kind(v, c)
}

/// The spam flag (never set by chatedge) under both spellings, what kind of chat it is, and the
/// owner's note when there is one.
fn with_kind(mut v: Value, c: &ChatInfo) -> Value {
    v["isMarketSpam"] = json!("false");
    v["isMarkedSpam"] = json!("false");
    v["isGroup"] = json!(c.phone.is_group());
    v["isGroupAnnouncement"] = json!(c.announcement);
    if let Some(n) = &c.note {
        v["notes"] = noted(n);
    }
    v
}

/// A note as Z-API's documentation shows it (times in Unix ms).
fn noted(n: &Note) -> Value {
    json!({"id": n.id, "content": n.content, "createdAt": n.created_ms, "lastUpdateAt": n.updated_ms})
}

fn muted(c: &ChatInfo) -> &'static str {
    if c.mute_end_ms.is_some() {
        "1"
    } else {
        "0"
    }
}

/// `{"phone", "action"}`.
fn modify(o: &Object) -> Result<Net, ZapiError> {
    let phone = fields::phone(o, "phone")?;
    let change = match fields::one_of(o, "action", ACTIONS)?.ok_or_else(|| missing("action"))? {
        "read" => Change::Read,
        "unread" => Change::MarkUnread,
        "archive" => Change::Archive,
        "unarchive" => Change::Unarchive,
        "pin" => Change::Pin,
        "unpin" => Change::Unpin,
        "mute" => Change::Mute,
        "unmute" => Change::Unmute,
        "clear" => Change::Clear,
        _ => Change::Delete,
    };
    Ok(Net::Modify { phone, change })
}

/// `{"phone", "chatExpiration": "24_HOURS" | "7_DAYS" | "90_DAYS" | "OFF"}`.
fn expiration(o: &Object) -> Result<Net, ZapiError> {
    let phone = fields::phone(o, "phone")?;
    let expiration = match fields::one_of(o, "chatExpiration", EXPIRATIONS)?.ok_or_else(|| missing("chatExpiration"))? {
        "24_HOURS" => Expiration::Hours24,
        "7_DAYS" => Expiration::Days7,
        "90_DAYS" => Expiration::Days90,
        _ => Expiration::Off,
    };
    Ok(Net::SetExpiration { phone, expiration })
}

/// `{"notes": "…"}` for the chat of the path; empty removes the note.
fn note(phone: Phone, o: &Object) -> Result<Net, ZapiError> {
    let content = fields::text(o, "notes", MAX_NOTE_CHARS, false)?.ok_or_else(|| missing("notes"))?;
    Ok(Net::SetNote { phone, content })
}

fn missing(field: &str) -> ZapiError {
    ZapiError::invalid("Invalid field", format!("{field} is required"))
}

fn unexpected() -> ZapiError {
    ZapiError::Account(AccountError::Unavailable("unexpected reply".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatedge_config::Phone;

    fn o(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn every_seed_action_reads_as_its_change() {
        for (action, want) in [
            ("read", Change::Read),
            ("unread", Change::MarkUnread),
            ("archive", Change::Archive),
            ("unarchive", Change::Unarchive),
            ("pin", Change::Pin),
            ("unpin", Change::Unpin),
            ("mute", Change::Mute),
            ("unmute", Change::Unmute),
            ("clear", Change::Clear),
            ("delete", Change::Delete),
        ] {
            match modify(&o(json!({"phone": "5544999999999", "action": action}))).unwrap() {
                Net::Modify { change, .. } => assert_eq!(change, want, "{action}"),
                other => panic!("{other:?}"),
            }
        }
        // The HAR example writes the choice in lower case.
        let net = expiration(&o(json!({"phone": "5511999998888", "chatExpiration": "24_hours"}))).unwrap();
        assert!(matches!(net, Net::SetExpiration { expiration: Expiration::Hours24, .. }));
    }

    fn phone() -> Phone {
        Phone::parse("5544999999999").unwrap()
    }

    #[test]
    fn a_note_is_written_as_given_and_an_empty_one_removes() {
        for content in ["call back on Monday", ""] {
            match note(phone(), &o(json!({"notes": content}))).unwrap() {
                Net::SetNote { phone: p, content: c } => assert_eq!((p, c.as_str()), (phone(), content)),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (modify(&o(json!({"action": "read"}))), "phone is required"),
            (modify(&o(json!({"phone": "5544999999999"}))), "action is required"),
            (modify(&o(json!({"phone": "5544999999999", "action": "read / unread*"}))), "action must be one of"),
            (expiration(&o(json!({"phone": "5544999999999"}))), "chatExpiration is required"),
            (expiration(&o(json!({"phone": "5544999999999", "chatExpiration": "1_YEAR"}))), "chatExpiration must be"),
            (expiration(&o(json!({"phone": "55ab", "chatExpiration": "OFF"}))), "phone"),
            (note(phone(), &o(json!({}))), "notes is required"),
            (note(phone(), &o(json!({"notes": 7}))), "notes must be a string"),
            (note(phone(), &o(json!({"notes": "x".repeat(MAX_NOTE_CHARS + 1)}))), "notes is longer than 4096"),
        ];
        for (got, want) in cases {
            match got {
                Err(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{message}"),
                other => panic!("{want}: {other:?}"),
            }
        }
    }

    #[test]
    fn list_entries_have_the_seed_shape() {
        let c = ChatInfo {
            phone: Phone::parse("5511999999999").unwrap(),
            name: Some("Z-API SUPPORT".into()),
            archived: false,
            pinned: true,
            unread: 2,
            last_message_ms: 1_622_991_687_000,
            mute_end_ms: Some(-1),
            expiration_seconds: 0,
            profile_thumbnail: None,
            about: None,
            announcement: false,
            note: None,
        };
        assert_eq!(
            listed(&c),
            json!({"archived": "false", "pinned": "true", "messagesUnread": 0, "phone": "5511999999999",
                "unread": "2", "name": "Z-API SUPPORT", "lastMessageTime": "1622991687", "muteEndTime": -1,
                "isMuted": "1", "isMarketSpam": "false", "isMarkedSpam": "false", "isGroup": false,
                "isGroupAnnouncement": false})
        );
        let note = Note { id: "KlesU6f4f/Qd5d6VuAbvOMi31rg/F92owVe/xDYad1C=".into(), content: "texto".into(),
            created_ms: 1_655_953_774_000, updated_ms: 1_655_953_775_000 };
        let with_note = ChatInfo { note: Some(note), ..c };
        let want = json!({"id": "KlesU6f4f/Qd5d6VuAbvOMi31rg/F92owVe/xDYad1C=", "content": "texto",
            "createdAt": 1_655_953_774_000u64, "lastUpdateAt": 1_655_953_775_000u64});
        assert_eq!(listed(&with_note)["notes"], want);
        assert_eq!(metadata(&with_note)["notes"], want);
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let (documented, served) =
            super::super::contacts::documented_and_served(include_str!("../../../../openapi/zapi/chats.json"), ROUTES);
        assert_eq!(documented, served);
    }
}
