//! Calls route (seed 001, lines 6695–6770): `send-call` rings a number for `callDuration`
//! seconds (5 unless given, at most 15) and answers the call's ids like a sent message's.
//! Incoming calls reach the integrator as ReceivedCallback notifications, not here.
//! Runs on the request's task; its only I/O is the account call to the instance's shard.

use chatedge_config::ZaapId;
use chatedge_serve::Resp;
use hyper::Method;
use serde_json::json;

use super::{ask, ok};
use crate::api::zapi::fields::{self, Object};
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::network::account::calls::{Call as Net, Reply};

#[derive(Debug, Clone, Copy)]
pub enum Op {
    Send,
}

pub static ROUTES: &[Route<Op>] =
    &[Route { path: "send-call", methods: "POST", label: "zapi.send-call", op: Op::Send }];

const DEFAULT_SECONDS: u8 = 5;

pub async fn handle(call: &Call<'_>, _method: &Method, op: Op, _params: &Params) -> Result<Resp, ZapiError> {
    match op {
        Op::Send => {
            let net = send(&fields::object(&call.body)?)?;
            let Reply::Placed { call_id } = ask(call, net).await?;
            ok(&json!({"zaapId": ZaapId::generate().to_string(), "messageId": call_id, "id": call_id}))
        }
    }
}

/// `{"phone", "callDuration"}`.
fn send(o: &Object) -> Result<Net, ZapiError> {
    let phone = fields::phone(o, "phone")?;
    let seconds = fields::seconds(o, "callDuration", 1..=15)?.unwrap_or(DEFAULT_SECONDS);
    Ok(Net::Place { phone, seconds })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn o(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_call_rings_five_seconds_unless_told() {
        assert!(matches!(send(&o(json!({"phone": "5511999998888"}))).unwrap(), Net::Place { seconds: 5, .. }));
        let net = send(&o(json!({"phone": "5511999998888", "callDuration": 15}))).unwrap();
        assert!(matches!(net, Net::Place { seconds: 15, .. }));
    }

    #[test]
    fn each_bad_field_is_named() {
        for (body, want) in [
            (json!({"callDuration": 5}), "phone is required"),
            (json!({"phone": "5511999998888", "callDuration": 16}), "callDuration must be"),
            (json!({"phone": "5511999998888", "callDuration": 0}), "callDuration must be"),
            (json!({"phone": "x"}), "phone"),
        ] {
            match send(&o(body.clone())) {
                Err(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{body}: {message}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let (documented, served) =
            super::super::contacts::documented_and_served(include_str!("../../../../openapi/zapi/calls.json"), ROUTES);
        assert_eq!(documented, served);
    }
}
