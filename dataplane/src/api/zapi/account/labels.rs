//! Label routes (seed 001, lines 9854–10190): the WhatsApp Business account's labels ("tags"),
//! their colors, and putting them on chats. Editing or deleting a label that does not exist
//! answers `{"success": false}`, labelling a chat that cannot be labelled `{"value": false}`,
//! the failure forms the seed gives those routes.

use chatedge_serve::Resp;
use hyper::Method;
use serde_json::{json, Map, Value};

use super::{ask, ok};
use crate::api::zapi::fields::{self, Object};
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::network::account::labels::{Call as Net, Reply, COLORS};
use crate::network::account::AccountError;

#[derive(Debug, Clone, Copy)]
pub enum Op {
    List,
    Colors,
    Create,
    Edit,
    Delete,
    /// Put on (`true`) or take off a chat.
    Chat(bool),
}

pub static ROUTES: &[Route<Op>] = &[
    Route { path: "tags", methods: "GET", label: "zapi.tags", op: Op::List },
    Route { path: "business/tags/colors", methods: "GET", label: "zapi.business-tags-colors", op: Op::Colors },
    Route { path: "business/create-tag", methods: "POST", label: "zapi.business-create-tag", op: Op::Create },
    Route { path: "business/edit-tag/{tagId}", methods: "POST", label: "zapi.business-edit-tag", op: Op::Edit },
    Route { path: "business/tag/{tagId}", methods: "DELETE", label: "zapi.business-delete-tag", op: Op::Delete },
    Route { path: "chats/{phone}/tags/{tag}/add", methods: "PUT", label: "zapi.chat-tag-add", op: Op::Chat(true) },
    Route {
        path: "chats/{phone}/tags/{tag}/remove",
        methods: "PUT",
        label: "zapi.chat-tag-remove",
        op: Op::Chat(false),
    },
];

/// Longest label name.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest label id read from a path (ids are small numbers).
const MAX_ID_CHARS: usize = 20;

pub async fn handle(call: &Call<'_>, _method: &Method, op: Op, params: &Params) -> Result<Resp, ZapiError> {
    match op {
        Op::List => {
            let Reply::Labels(all) = ask(call, Net::List).await? else { return Err(unexpected()) };
            let all: Vec<Value> = all.iter().map(|l| json!({"id": l.id, "name": l.name, "color": l.color})).collect();
            ok(&all)
        }
        Op::Colors => {
            let Reply::Colors(colors) = ask(call, Net::Colors).await? else { return Err(unexpected()) };
            let map: Map<String, Value> = colors.into_iter().map(|(i, c)| (i.to_string(), json!(c))).collect();
            ok(&map)
        }
        Op::Create => {
            let (name, color) = read_label(&fields::object(&call.body)?)?;
            let Reply::Created(id) = ask(call, Net::Create { name, color }).await? else { return Err(unexpected()) };
            ok(&json!({"id": id}))
        }
        Op::Edit => {
            let id = label_id(params.get(0), "tagId")?;
            let (name, color) = read_label(&fields::object(&call.body)?)?;
            answer(ask(call, Net::Edit { id, name, color }).await, "success")
        }
        Op::Delete => {
            let id = label_id(params.get(0), "tagId")?;
            answer(ask(call, Net::Delete { id }).await, "success")
        }
        Op::Chat(assigned) => {
            let chat = fields::phone_value(&json!(params.get(0)), "phone")?;
            let label = label_id(params.get(1), "tag")?;
            answer(ask(call, Net::Assign { chat, label, assigned }).await, "value")
        }
    }
}

/// `{field: true}`, or `{field: false}` when the label or chat does not exist.
fn answer(r: Result<Reply, ZapiError>, field: &str) -> Result<Resp, ZapiError> {
    match r {
        Ok(_) => ok(&json!({ field: true })),
        Err(ZapiError::Account(AccountError::NotFound(_))) => ok(&json!({ field: false })),
        Err(e) => Err(e),
    }
}

/// `{name, color?}` of create-tag and edit-tag.
pub fn read_label(o: &Object) -> Result<(String, Option<u8>), ZapiError> {
    let name = fields::text(o, "name", MAX_NAME_CHARS, true)?.unwrap_or_default();
    Ok((name.trim().to_owned(), color(o)?))
}

fn color(o: &Object) -> Result<Option<u8>, ZapiError> {
    let bad = || {
        let last = COLORS.len() - 1;
        ZapiError::invalid(
            "Invalid field",
            format!("color must be a color index from 0 to {last} (see business/tags/colors)"),
        )
    };
    let n = match o.get("color") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(bad)?,
        Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
    };
    usize::try_from(n).ok().filter(|n| *n < COLORS.len()).map(|n| Some(n as u8)).ok_or_else(bad)
}

fn label_id(raw: &str, name: &str) -> Result<String, ZapiError> {
    match !raw.is_empty() && raw.len() <= MAX_ID_CHARS && raw.bytes().all(|b| b.is_ascii_digit()) {
        true => Ok(raw.to_owned()),
        false => Err(ZapiError::invalid("Invalid field", format!("{name} must be a label id (digits, see tags)"))),
    }
}

fn unexpected() -> ZapiError {
    ZapiError::Account(AccountError::Unavailable("unexpected reply".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn label_bodies_read_as_the_seed_writes_them() {
        assert_eq!(read_label(&body(json!({"name": "Tag name"}))).unwrap(), ("Tag name".into(), None));
        assert_eq!(read_label(&body(json!({"name": "Tag Name", "color": 1}))).unwrap(), ("Tag Name".into(), Some(1)));
        assert_eq!(read_label(&body(json!({"name": "x", "color": "19"}))).unwrap().1, Some(19));
        assert_eq!(label_id("10", "tagId").unwrap(), "10");
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (json!({}), "name is required"),
            (json!({"name": " "}), "name must not be empty"),
            (json!({"name": 5}), "name must be a string"),
            (json!({"name": "x".repeat(101)}), "name is longer"),
            (json!({"name": "x", "color": 20}), "color must be"),
            (json!({"name": "x", "color": -1}), "color must be"),
            (json!({"name": "x", "color": "red"}), "color must be"),
        ];
        for (b, want) in cases {
            match read_label(&body(b.clone())) {
                Err(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{b}: {message}"),
                other => panic!("{b}: {other:?}"),
            }
        }
        for bad in ["", "{{TAG_ID}}", "1a", "123456789012345678901"] {
            assert!(label_id(bad, "tagId").is_err(), "{bad}");
        }
    }
}
