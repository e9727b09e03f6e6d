//! Privacy routes (seed 001, lines 5058–5620): who sees last seen, photo, description and
//! online status, who may add the account to groups (each with its own exceptions), read
//! receipts and the default message duration of new chats. Changes answer `{"success": true}`.

use chatedge_serve::Resp;
use hyper::Method;
use serde_json::json;

use super::{ask, ok};
use crate::api::zapi::fields::{self, Object};
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::network::account::privacy::{Call as Net, Exception, MessagesDuration, Online, Reply, Scope, Visibility};

#[derive(Debug, Clone, Copy)]
pub enum Op {
    DisallowedContacts,
    Visibility(Scope),
    Online,
    ReadReceipts,
    MessagesDuration,
}

pub static ROUTES: &[Route<Op>] = &[
    Route {
        path: "privacy/disallowed-contacts",
        methods: "GET",
        label: "zapi.privacy-disallowed-contacts",
        op: Op::DisallowedContacts,
    },
    Route {
        path: "privacy/last-seen",
        methods: "POST",
        label: "zapi.privacy-last-seen",
        op: Op::Visibility(Scope::LastSeen),
    },
    Route { path: "privacy/photo", methods: "POST", label: "zapi.privacy-photo", op: Op::Visibility(Scope::Photo) },
    Route {
        path: "privacy/description",
        methods: "POST",
        label: "zapi.privacy-description",
        op: Op::Visibility(Scope::Description),
    },
    Route {
        path: "privacy/group-add",
        methods: "POST",
        label: "zapi.privacy-group-add",
        op: Op::Visibility(Scope::GroupAdd),
    },
    Route { path: "privacy/online", methods: "POST", label: "zapi.privacy-online", op: Op::Online },
    Route { path: "privacy/read-receipts", methods: "POST", label: "zapi.privacy-read-receipts", op: Op::ReadReceipts },
    Route {
        path: "privacy/messages-duration",
        methods: "POST",
        label: "zapi.privacy-messages-duration",
        op: Op::MessagesDuration,
    },
];

/// Exceptions one request may change.
const MAX_CHANGES: usize = 1000;

pub async fn handle(call: &Call<'_>, _method: &Method, op: Op, _params: &Params) -> Result<Resp, ZapiError> {
    let q = call.query.as_deref();
    let net = match op {
        Op::DisallowedContacts => {
            let scope = match fields::query_one_of(q, "type", &["lastSeen", "photo", "description", "groupAdd"])? {
                "lastSeen" => Scope::LastSeen,
                "photo" => Scope::Photo,
                "description" => Scope::Description,
                _ => Scope::GroupAdd,
            };
            let Reply::Exceptions(list) = ask(call, Net::Exceptions(scope)).await? else {
                return Err(unexpected());
            };
            let list: Vec<&str> = list.iter().map(|p| p.as_str()).collect();
            return ok(&json!({"disallowedContacts": list}));
        }
        Op::Visibility(scope) => visibility(&fields::object(&call.body)?, scope)?,
        Op::Online => {
            let o = fields::object(&call.body)?;
            match required_choice(&o, "visualizationType", &["ALL", "SAME_LAST_SEEN"])? {
                "ALL" => Net::SetOnline(Online::All),
                _ => Net::SetOnline(Online::SameLastSeen),
            }
        }
        Op::ReadReceipts => Net::SetReadReceipts(fields::query_one_of(q, "value", &["enable", "disable"])? == "enable"),
        Op::MessagesDuration => Net::SetMessagesDuration(
            match fields::query_one_of(q, "value", &["days90", "days7", "hours24", "disable"])? {
                "days90" => MessagesDuration::Days90,
                "days7" => MessagesDuration::Days7,
                "hours24" => MessagesDuration::Hours24,
                _ => MessagesDuration::Off,
            },
        ),
    };
    ask(call, net).await?;
    ok(&json!({"success": true}))
}

/// `{visualizationType | type, contactsBlacklist: [{action, phone}]}`. `group-add` calls the
/// field `type` and has no NONE.
fn visibility(o: &Object, scope: Scope) -> Result<Net, ZapiError> {
    let (field, choices): (&str, &[&'static str]) = match scope {
        Scope::GroupAdd => ("type", &["ALL", "CONTACTS", "CONTACT_BLACKLIST"]),
        _ => ("visualizationType", &["ALL", "NONE", "CONTACTS", "CONTACT_BLACKLIST"]),
    };
    let visibility = match required_choice(o, field, choices)? {
        "ALL" => Visibility::All,
        "NONE" => Visibility::None,
        "CONTACTS" => Visibility::Contacts,
        _ => Visibility::ContactBlacklist,
    };
    let list = fields::array(o, "contactsBlacklist", 0, MAX_CHANGES)?;
    if visibility == Visibility::ContactBlacklist && list.is_none() {
        let message = format!("contactsBlacklist is required when {field} is CONTACT_BLACKLIST");
        return Err(ZapiError::invalid("Invalid field", message));
    }
    let mut changes = Vec::new();
    for (i, item) in list.into_iter().flatten().enumerate() {
        let name = format!("contactsBlacklist[{i}]");
        let entry = fields::nested(Some(item), &name, true)?.ok_or_else(|| missing(&name))?;
        let action = fields::within(&name, required_choice(entry, "action", &["add", "remove"]))?;
        let phone = fields::within(&name, fields::phone(entry, "phone"))?;
        changes.push(if action == "add" { Exception::Add(phone) } else { Exception::Remove(phone) });
    }
    Ok(Net::SetVisibility { scope, visibility, changes })
}

fn required_choice(o: &Object, field: &str, choices: &[&'static str]) -> Result<&'static str, ZapiError> {
    fields::one_of(o, field, choices)?.ok_or_else(|| missing(field))
}

fn missing(field: &str) -> ZapiError {
    ZapiError::invalid("Invalid field", format!("{field} is required"))
}

fn unexpected() -> ZapiError {
    ZapiError::Account(crate::network::account::AccountError::Unavailable("unexpected reply".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> Object {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn visibility_requests_read_as_the_seed_describes() {
        let ok = visibility(&body(json!({"visualizationType": "ALL"})), Scope::Photo).unwrap();
        assert!(
            matches!(ok, Net::SetVisibility { visibility: Visibility::All, ref changes, .. } if changes.is_empty())
        );
        let list = json!({"type": "CONTACT_BLACKLIST", "contactsBlacklist": [
            {"action": "add", "phone": "554411111111"}, {"action": "remove", "phone": "554422222222"}]});
        match visibility(&body(list), Scope::GroupAdd).unwrap() {
            Net::SetVisibility { changes, .. } => assert_eq!(changes.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (json!({}), Scope::LastSeen, "visualizationType is required"),
            (json!({"visualizationType": "SOME"}), Scope::LastSeen, "visualizationType must be one of"),
            (json!({"type": "NONE"}), Scope::GroupAdd, "type must be one of"),
            (json!({"visualizationType": "CONTACT_BLACKLIST"}), Scope::Photo, "contactsBlacklist is required"),
            (
                json!({"visualizationType": "CONTACT_BLACKLIST", "contactsBlacklist": [{"action": "drop", "phone": "5544"}]}),
                Scope::Photo,
                "contactsBlacklist[0]",
            ),
            (
                json!({"visualizationType": "CONTACT_BLACKLIST", "contactsBlacklist": [{"action": "add", "phone": "x"}]}),
                Scope::Photo,
                "contactsBlacklist[0]",
            ),
        ];
        for (b, scope, want) in cases {
            match visibility(&body(b.clone()), scope) {
                Err(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{b}: {message}"),
                other => panic!("{b}: {other:?}"),
            }
        }
    }
}
