//! Profile and calls (seed 001, rows 1–3 and 87) against the real binary, with the notifications
//! the seed shows for them (lines 12270–12330, 12880–12945): the profile's name, about text and
//! photo are kept across a restart (and `device` shows the photo); the owner renaming the account
//! or changing its photo on the phone (`/sim/profile-name`, `/sim/profile-picture`) and a contact
//! calling (`/sim/call`) reach the integrator as ReceivedCallbacks compared field by field with the
//! seed's examples; a placed call is seen by the callee's phone (`/sim/calls`); with callRejectAuto
//! on, an incoming call is rejected and the caller is shown callRejectMessage.

use crate::common;

use std::collections::BTreeSet;

use common::files::wait_arrived;
use common::*;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/zapi/received/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// `got` has every key of the seed's example with the same JSON type (a `null` in either
/// matches anything) and no key the example lacks beyond the shared envelope; the keys in
/// `same` carry the example's very value.
fn assert_like_seed(example: &str, got: &Value, same: &[&str]) {
    let want = fixture(example);
    let (w, g) = (want.as_object().unwrap(), got.as_object().unwrap());
    for (k, wv) in w {
        let gv = g.get(k).unwrap_or_else(|| panic!("{example}: {k} is missing from {got}"));
        let kind = |v: &Value| std::mem::discriminant(v);
        assert!(wv.is_null() || gv.is_null() || kind(wv) == kind(gv), "{example}: {k} is {gv}, the seed shows {wv}");
    }
    let extra: BTreeSet<&String> =
        g.keys().filter(|k| !w.contains_key(*k) && !ENVELOPE.contains(&k.as_str())).collect();
    assert!(extra.is_empty(), "{example}: keys the seed does not show: {extra:?}");
    for k in same {
        assert_eq!(g[*k], w[*k], "{example}: {k}");
    }
}

async fn sim(p: &Paired, action: &str, body: Value) -> Value {
    let (status, v) = p.http.post(&format!("{}/sim/{action}", p.ce.dp), Some(&p.ce.admin_token), &body).await;
    assert_eq!(status, 200, "/sim/{action} {body}: {v}");
    v
}

async fn notification(p: &Paired, kind: &str, nth: usize) -> Value {
    let events =
        p.sink.wait_for(PATIENCE, kind, |e| e.iter().filter(|r| r.body["notification"] == kind).count() > nth).await;
    events.into_iter().filter(|r| r.body["notification"] == kind).nth(nth).unwrap().body
}

#[tokio::test]
async fn the_profile_is_kept_and_changes_on_the_phone_are_announced_as_the_seed_shows() {
    let mut p = paired(FAST).await;
    let put = |route: &'static str, value: Value| {
        let (http, url) = (p.http.clone(), p.ce.instance_url(&p.inst, route));
        async move { http.put(&url, &json!({ "value": value })).await }
    };
    let device = |p: &Paired| {
        let (http, url) = (p.http.clone(), p.ce.instance_url(&p.inst, "device"));
        async move { http.get(&url, None).await.1 }
    };
    let fresh = device(&p).await;
    assert_eq!((&fresh["imgUrl"], &fresh["about"]), (&json!(""), &json!("")), "none yet: \"\", as seed 001 shows");
    assert_eq!(put("profile-name", json!("Loja Z")).await, (200, json!({"value": true})));
    assert_eq!(put("profile-description", json!("Aberto das 8h às 18h")).await, (200, json!({"value": true})));
    assert_eq!(put("profile-picture", json!("https://files.test/me.png")).await, (200, json!({"value": true})));
    assert_eq!(put("profile-name", json!("a name longer than WhatsApp allows")).await, (200, json!({"value": false})));
    let (status, v) = put("profile-picture", json!("Image URL")).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("value"), "{v}");

    p.ce.terminate();
    p.ce = Chatedge::up(p.dir.path(), FAST);
    wait_connected(&p.http, &p.ce, &p.inst).await;
    let own = "5511999990001";
    let (_, link) = p.http.get(&p.ce.instance_url(&p.inst, &format!("profile-picture?phone={own}")), None).await;
    assert_eq!(link, json!([{"link": "https://files.test/me.png"}]), "kept across a restart");
    let shown = device(&p).await;
    assert_eq!(shown["imgUrl"], "https://files.test/me.png", "device shows the account's photo");
    assert_eq!(shown["about"], "Aberto das 8h às 18h", "and its about text");
    let (_, me) = p.http.get(&p.ce.instance_url(&p.inst, &format!("contacts/{own}")), None).await;
    assert_eq!(me["notify"], "Loja Z", "the name was not changed by the refused rename: {me}");

    sim(&p, "profile-name", json!({"instanceId": p.inst.id, "name": "updated name"})).await;
    let w = notification(&p, "PROFILE_NAME_UPDATED", 0).await;
    assert_like_seed(
        "profile_name_updated",
        &w,
        &["notification", "fromMe", "status", "type", "isGroup", "profileName", "callId", "code"],
    );
    assert_eq!((w["phone"].clone(), w["connectedPhone"].clone()), (json!(own), json!(own)));
    assert_eq!(w["instanceId"], p.inst.id);

    sim(&p, "profile-picture", json!({"instanceId": p.inst.id, "url": "https://files.test/new.png"})).await;
    let w = notification(&p, "PROFILE_PICTURE_UPDATED", 0).await;
    assert_like_seed(
        "profile_picture_updated",
        &w,
        &["notification", "fromMe", "status", "type", "isGroup", "callId", "code"],
    );
    assert_eq!(w["updatedPhoto"], "https://files.test/new.png");
    let (_, link) = p.http.get(&p.ce.instance_url(&p.inst, &format!("profile-picture?phone={own}")), None).await;
    assert_eq!(link, json!([{"link": "https://files.test/new.png"}]));
    let (_, me) = p.http.get(&p.ce.instance_url(&p.inst, &format!("contacts/{own}")), None).await;
    assert_eq!(me["notify"], "updated name");
}

#[tokio::test]
async fn calls_are_seen_by_both_sides_and_announced_as_the_seed_shows() {
    let p = paired(FAST).await;
    let callee = "5511999998888";
    let (status, v) =
        p.http.post(&p.ce.instance_url(&p.inst, "send-call"), None, &json!({"phone": callee, "callDuration": 7})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["messageId"], v["id"]);
    assert!(v["zaapId"].as_str().is_some_and(|z| !z.is_empty()), "{v}");
    let seen = sim(&p, "calls", json!({"instanceId": p.inst.id, "phone": callee})).await;
    let calls = seen["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{seen}");
    assert_eq!(
        (calls[0]["callId"].clone(), calls[0]["direction"].clone(), calls[0]["seconds"].clone()),
        (v["messageId"].clone(), json!("outgoing"), json!(7))
    );
    let (status, _) =
        p.http.post(&p.ce.instance_url(&p.inst, "send-call"), None, &json!({"phone": "5511999990000"})).await;
    assert_eq!(status, 404, "a number not on WhatsApp cannot be called");
    let (status, v) = p
        .http
        .post(&p.ce.instance_url(&p.inst, "send-call"), None, &json!({"phone": callee, "callDuration": 16}))
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("callDuration"), "{v}");

    let caller = "5544999999999";
    let record = sim(&p, "call", json!({"instanceId": p.inst.id, "phone": caller})).await;
    let ring = notification(&p, "CALL_VOICE", 0).await;
    assert_like_seed(
        "call_incoming",
        &ring,
        &["notification", "notificationParameters", "fromMe", "status", "type", "isGroup"],
    );
    let missed = notification(&p, "CALL_MISSED_VOICE", 0).await;
    assert_like_seed(
        "call_missed",
        &missed,
        &["notification", "notificationParameters", "fromMe", "status", "type", "isGroup"],
    );
    assert_eq!(ring["callId"], record["callId"]);
    assert_eq!(missed["callId"], record["callId"], "one call, one id");
    assert_eq!((ring["phone"].clone(), missed["phone"].clone()), (json!(caller), json!(caller)));
    assert_ne!(ring["messageId"], missed["messageId"]);

    sim(&p, "call", json!({"instanceId": p.inst.id, "phone": caller, "missed": false})).await;
    notification(&p, "CALL_VOICE", 1).await;
    let seen = sim(&p, "calls", json!({"instanceId": p.inst.id, "phone": caller})).await;
    let outcomes: Vec<&str> =
        seen["calls"].as_array().unwrap().iter().map(|c| c["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["missed", "answered"]);
    assert_eq!(
        p.sink.events().iter().filter(|r| r.body["notification"] == "CALL_MISSED_VOICE").count(),
        1,
        "an answered call is not missed"
    );
}

#[tokio::test]
async fn with_call_reject_auto_an_incoming_call_is_rejected_with_the_message() {
    let p = paired(FAST).await;
    let put = |route: &str, value: Value| {
        let (http, url) = (p.http.clone(), p.ce.instance_url(&p.inst, route));
        async move { http.put(&url, &json!({ "value": value })).await }
    };
    let (status, v) = put("update-call-reject-message", json!("Não atendemos ligações, escreva por aqui.")).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = put("update-call-reject-auto", json!(true)).await;
    assert_eq!(status, 200, "{v}");
    let caller = "5544977778888";
    let record = sim(&p, "call", json!({"instanceId": p.inst.id, "phone": caller, "missed": false})).await;
    assert_eq!(record["outcome"], "rejected", "{record}");
    assert_eq!(record["rejectMessage"], "Não atendemos ligações, escreva por aqui.");
    let seen = sim(&p, "calls", json!({"instanceId": p.inst.id, "phone": caller})).await;
    assert_eq!(seen["calls"][0]["rejectMessage"], "Não atendemos ligações, escreva por aqui.", "the caller sees it");
    let missed = notification(&p, "CALL_MISSED_VOICE", 0).await;
    assert_eq!(missed["callId"], record["callId"]);
    let got = wait_arrived(&p.http, &p.ce, &p.inst, caller, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].to_string().contains("Não atendemos ligações"), "the caller received the message: {}", got[0]);
    let zaap = record["rejectReply"]["zaapId"].clone();
    p.sink
        .wait_for(PATIENCE, "the reply's delivery", |e| {
            e.iter().any(|r| r.body["type"] == "DeliveryCallback" && r.body["zaapId"] == zaap)
        })
        .await;
}
