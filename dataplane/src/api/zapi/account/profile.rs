//! Profile routes (seed 001, lines 571–670 and 5894–5945): the account's profile name, about
//! text and photo (`PUT`, answering `{"value": true}`, or `{"value": false}` when the network
//! refuses), and the photo the network shows for a number (`GET profile-picture?phone=`,
//! answering `[{"link"}]`; the seed lists it among contacts, it shares the path).
//! Runs on the request's task; its only I/O is the account call to the instance's shard.

use chatedge_serve::Resp;
use hyper::Method;
use serde_json::{json, Value};

use super::{ask, ok};
use crate::api::zapi::fields::{self, Object};
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::network::account::profile::{Call as Net, Reply};
use crate::network::account::AccountError;

#[derive(Debug, Clone, Copy)]
pub enum Op {
    Picture,
    Name,
    Description,
}

pub static ROUTES: &[Route<Op>] = &[
    Route { path: "profile-picture", methods: "GET, PUT", label: "zapi.profile-picture", op: Op::Picture },
    Route { path: "profile-name", methods: "PUT", label: "zapi.profile-name", op: Op::Name },
    Route { path: "profile-description", methods: "PUT", label: "zapi.profile-description", op: Op::Description },
];

/// WhatsApp's limits (the network refuses longer values with `{"value": false}`; longer than
/// this is a malformed request).
const MAX_TEXT_CHARS: usize = 1000;
const MAX_URL_CHARS: usize = 2048;

pub async fn handle(call: &Call<'_>, method: &Method, op: Op, _params: &Params) -> Result<Resp, ZapiError> {
    if matches!(op, Op::Picture) && method == Method::GET {
        let raw = fields::query(call.query.as_deref(), "phone")
            .ok_or_else(|| ZapiError::invalid("Invalid phone", "phone is required"))?;
        let phone = fields::phone_value(&Value::String(raw), "phone")?;
        let Reply::Picture(link) = ask(call, Net::Picture(phone)).await? else {
            return Err(ZapiError::Account(AccountError::Unavailable("unexpected reply".into())));
        };
        return ok(&json!([{"link": link}]));
    }
    let net = change(op, &fields::object(&call.body)?)?;
    match ask(call, net).await {
        Ok(_) => ok(&json!({"value": true})),
        Err(ZapiError::Account(AccountError::Refused(_) | AccountError::Limit(_))) => ok(&json!({"value": false})),
        Err(e) => Err(e),
    }
}

/// `{"value": …}`: an image URL, a name or a description.
fn change(op: Op, o: &Object) -> Result<Net, ZapiError> {
    let missing = || ZapiError::invalid("Invalid field", "value is required");
    Ok(match op {
        Op::Picture => Net::SetPicture(fields::url(o, "value", MAX_URL_CHARS, true)?.ok_or_else(missing)?),
        Op::Name => Net::SetName(fields::text(o, "value", MAX_TEXT_CHARS, true)?.ok_or_else(missing)?),
        Op::Description => Net::SetDescription(fields::text(o, "value", MAX_TEXT_CHARS, false)?.unwrap_or_default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn changes_read_the_value_field() {
        assert!(
            matches!(change(Op::Name, &o(json!({"value": "Profile Name"}))).unwrap(), Net::SetName(n) if n == "Profile Name")
        );
        let pic = change(Op::Picture, &o(json!({"value": "https://files.test/p.png"}))).unwrap();
        assert!(matches!(pic, Net::SetPicture(u) if u == "https://files.test/p.png"));
        // An empty description clears it.
        assert!(
            matches!(change(Op::Description, &o(json!({"value": ""}))).unwrap(), Net::SetDescription(d) if d.is_empty())
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        for (op, body, want) in [
            (Op::Name, json!({}), "value is required"),
            (Op::Name, json!({"value": " "}), "value must not be empty"),
            (Op::Picture, json!({"value": "Image URL"}), "value must be an http"),
            (Op::Description, json!({"value": 5}), "value must be a string"),
        ] {
            match change(op, &o(body.clone())) {
                Err(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{body}: {message}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let (documented, served) = super::super::contacts::documented_and_served(
            include_str!("../../../../openapi/zapi/profile.json"),
            ROUTES,
        );
        assert_eq!(documented, served);
    }
}
