//! Channel (newsletter) routes — the 17 HAR-only routes — against the real binary: a channel
//! the instance creates is edited, followed by people on the sim, posted to (its followers
//! receive the post), and kept across a restart; someone else's channel is found, followed and
//! muted but cannot be posted to; admin invitations are kept, revoked, accepted (the seed's
//! NEWSLETTER_ADMIN_PROMOTE webhook) and undone (NEWSLETTER_ADMIN_DEMOTE), field by field.

use crate::common;

use common::*;
use hyper::Method;
use serde_json::{json, Value};

const FOLLOWER: &str = "554499990011";
const ADMIN: &str = "5511999998888";

async fn ok(p: &Paired, method: Method, route: &str, body: Value) -> Value {
    let url = p.ce.instance_url(&p.inst, route);
    let (status, v) = match method {
        Method::GET => p.http.get(&url, None).await,
        Method::PUT => p.http.put(&url, &body).await,
        Method::DELETE => {
            let json = [("content-type", "application/json")];
            p.http.raw(Method::DELETE, &url, None, &json, body.to_string().into_bytes()).await
        }
        _ => p.http.post(&url, None, &body).await,
    };
    assert_eq!(status, 200, "{route} {body}: {v}");
    v
}

async fn sim(p: &Paired, action: &str, body: Value) -> Value {
    let (status, v) = p.http.post(&format!("{}/sim/{action}", p.ce.dp), Some(&p.ce.admin_token), &body).await;
    assert_eq!(status, 200, "/sim/{action} {body}: {v}");
    v
}

async fn metadata(p: &Paired, id: &str) -> Value {
    ok(p, Method::GET, &format!("newsletter/metadata/{id}"), json!(null)).await
}

/// Sends a text to `to` and waits for its DeliveryCallback.
async fn post(p: &Paired, to: &str, text: &str) -> Value {
    let v = ok(p, Method::POST, "send-text", json!({"phone": to, "message": text})).await;
    let zaap = v["zaapId"].as_str().unwrap().to_owned();
    let events =
        p.sink.wait_for(PATIENCE, "the post's DeliveryCallback", |e| e.iter().any(|r| r.body["zaapId"] == zaap)).await;
    events.into_iter().find(|r| r.body["zaapId"] == zaap).unwrap().body
}

async fn received(p: &Paired, phone: &str) -> Vec<Value> {
    let url = format!("{}/sim/received?instanceId={}&phone={}", p.ce.dp, p.inst.id, phone);
    let (_, v) = p.http.get(&url, Some(&p.ce.admin_token)).await;
    v["messages"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn an_own_channel_is_edited_posted_to_its_followers_and_survives_a_restart() {
    let mut p = paired(FAST).await;
    let created = ok(
        &p,
        Method::POST,
        "create-newsletter",
        json!({"name": "Meu canal Z-API", "description": "Canal oficial Z-API"}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.ends_with("@newsletter") && id.len() == 18 + "@newsletter".len(), "{created}");

    let v = ok(&p, Method::POST, "update-newsletter-name", json!({"id": id, "name": "Nome do canal"})).await;
    assert_eq!(v, json!({"value": true}));
    ok(&p, Method::PUT, "update-newsletter-description", json!({"id": id, "description": "Descrição do canal"})).await;
    ok(&p, Method::POST, "update-newsletter-picture", json!({"id": id, "pictureUrl": "https://example.com/canal.png"}))
        .await;
    ok(&p, Method::POST, &format!("newsletter/settings/{id}"), json!({"reactionCodes": "basic"})).await;
    sim(&p, "newsletter-follow", json!({"instanceId": p.inst.id, "newsletterId": id, "phone": FOLLOWER})).await;

    let m = metadata(&p, &id).await;
    assert_eq!(m["name"], "Nome do canal");
    assert_eq!(m["description"], "Descrição do canal");
    assert_eq!(m["picture"], "https://example.com/canal.png");
    assert_eq!(m["reactionCodes"], "BASIC");
    assert_eq!(m["subscribersCount"], "1");
    assert_eq!(m["viewMetadata"], json!({"mute": "OFF", "role": "OWNER"}));
    assert!(m["inviteLink"].as_str().unwrap().starts_with("https://www.whatsapp.com/channel/"), "{m}");
    let list = ok(&p, Method::GET, "newsletter", json!(null)).await;
    assert_eq!(list.as_array().map(|l| l.len()), Some(1), "{list}");

    let delivery = post(&p, &id, "first post").await;
    assert!(delivery.get("error").is_none(), "the owner posts: {delivery}");
    let got = eventually(PATIENCE, || async {
        let l = received(&p, &id).await;
        (!l.is_empty()).then_some(l)
    })
    .await
    .expect("the post is on the network");
    assert_eq!(got[0]["text"], "first post", "{got:?}");
    assert_eq!(got[0]["deliveredTo"], json!([FOLLOWER]), "its followers receive it: {got:?}");

    p.ce.terminate();
    p.ce = Chatedge::up(p.dir.path(), FAST);
    wait_connected(&p.http, &p.ce, &p.inst).await;
    let again = metadata(&p, &id).await;
    assert_eq!(again, m, "kept across a restart");

    ok(&p, Method::DELETE, "delete-newsletter", json!({"id": id})).await;
    let (status, v) = p.http.get(&p.ce.instance_url(&p.inst, &format!("newsletter/metadata/{id}")), None).await;
    assert_eq!(status, 404, "{v}");
    let delivery = post(&p, &id, "after deletion").await;
    assert!(delivery["error"].as_str().is_some_and(|e| e.contains(&id)), "{delivery}");
}

#[tokio::test]
async fn someone_elses_channel_is_found_followed_and_muted_but_not_posted_to() {
    let p = paired(FAST).await;
    let made = sim(&p, "newsletter", json!({"instanceId": p.inst.id, "name": "Z-API", "description": "Official Z-API", "owner": "554422220000", "country": "CA"})).await;
    let id = made["newsletterId"].as_str().unwrap().to_owned();
    let search =
        json!({"limit": "50", "view": "TRENDING", "filters": {"countryCodes": ["BR", "CA"]}, "searchText": "Z-API"});
    let found = ok(&p, Method::POST, "search-newsletter", search).await;
    assert_eq!(found["cursor"], Value::Null);
    assert_eq!(
        found["data"],
        json!([{"id": id, "name": "Z-API", "description": "Official Z-API", "subscribersCount": "0", "picture": null}])
    );
    let none =
        ok(&p, Method::POST, "search-newsletter", json!({"limit": 5, "filters": {"countryCodes": ["BR"]}})).await;
    assert_eq!(none["data"], json!([]));

    let (status, v) = p.http.put(&p.ce.instance_url(&p.inst, "mute-newsletter"), &json!({"id": id})).await;
    assert_eq!(status, 400, "follow before muting: {v}");
    ok(&p, Method::PUT, "follow-newsletter", json!({"id": id})).await;
    ok(&p, Method::PUT, "mute-newsletter", json!({"id": id})).await;
    let m = metadata(&p, &id).await;
    assert_eq!(
        (m["viewMetadata"].clone(), m["subscribersCount"].clone()),
        (json!({"mute": "ON", "role": "SUBSCRIBER"}), json!("1"))
    );
    assert!(m.get("admins").is_none(), "a follower does not see the admins: {m}");

    let (status, v) = p
        .http
        .post(&p.ce.instance_url(&p.inst, "update-newsletter-name"), None, &json!({"id": id, "name": "Mine"}))
        .await;
    assert_eq!(status, 400, "{v}");
    let delivery = post(&p, &id, "may I?").await;
    assert!(delivery["error"].as_str().is_some_and(|e| e.contains("only the owner and admins")), "{delivery}");

    ok(&p, Method::PUT, "unmute-newsletter", json!({"id": id})).await;
    ok(&p, Method::PUT, "unfollow-newsletter", json!({"id": id})).await;
    assert_eq!(ok(&p, Method::GET, "newsletter", json!(null)).await, json!([]));
}

/// The JSON type of a value, to compare a webhook's shape with the seed's example.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The seed's channel admin notice (lines 12415–12470, tests/fixtures/zapi/received): every
/// key of the example with its JSON type, and the values field by field.
fn assert_admin_notice(body: &Value, p: &Paired, id: &str, name: &str, kind: &str, admin: &str, role: &str) {
    let example: Value = serde_json::from_str(match kind {
        "NEWSLETTER_ADMIN_PROMOTE" => include_str!("../fixtures/zapi/received/newsletter_admin_promoted.json"),
        _ => include_str!("../fixtures/zapi/received/newsletter_admin_demoted.json"),
    })
    .unwrap();
    for (key, want) in example.as_object().unwrap() {
        let got = body.get(key).unwrap_or_else(|| panic!("{key} missing from {body}"));
        assert_eq!(json_type(got), json_type(want), "{key} in {body}");
    }
    let fields = [
        ("isStatusReply", json!(false)),
        ("connectedPhone", json!("5511999990001")),
        ("waitingMessage", json!(false)),
        ("isEdit", json!(false)),
        ("isGroup", json!(false)),
        ("isNewsletter", json!(false)),
        ("instanceId", json!(p.inst.id)),
        ("phone", json!(id)),
        ("fromMe", json!(false)),
        ("status", json!("RECEIVED")),
        ("chatName", json!(name)),
        ("senderPhoto", Value::Null),
        ("photo", Value::Null),
        ("broadcast", json!(false)),
        ("participantPhone", json!(admin)),
        ("referenceMessageId", Value::Null),
        ("externalAdReply", Value::Null),
        ("forwarded", json!(false)),
        ("type", json!("ReceivedCallback")),
        ("notification", json!(kind)),
        ("notificationParameters", json!([admin, role])),
        ("callId", Value::Null),
    ];
    for (field, want) in fields {
        assert_eq!(body.get(field), Some(&want), "{field} in {body}");
    }
    assert!(body["senderLid"].as_str().is_some_and(|l| l.ends_with("@lid")), "{body}");
    assert!(body["messageId"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["momment"].as_u64().is_some_and(|m| m > 0), "{body}");
}

async fn notice(p: &Paired, kind: &str) -> Value {
    let events = p.sink.wait_for(PATIENCE, kind, |e| e.iter().any(|r| r.body["notification"] == kind)).await;
    events.into_iter().find(|r| r.body["notification"] == kind).unwrap().body
}

#[tokio::test]
async fn admin_invitations_are_kept_accepted_and_undone_with_the_seeds_webhooks() {
    let p = paired(FAST).await;
    let created = ok(&p, Method::POST, "create-newsletter", json!({"name": "channel name"})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let invite = json!({"phone": ADMIN, "adminInviteMessage": {"newsletterId": id, "caption": "Message text"}});
    ok(&p, Method::POST, "send-newsletter-admin-invite", invite.clone()).await;
    let pending = eventually(PATIENCE, || async {
        let m = metadata(&p, &id).await;
        (m["pendingAdminInvites"] == json!([ADMIN])).then_some(m)
    })
    .await;
    assert!(pending.is_some(), "the invitation is kept on the channel");

    ok(&p, Method::POST, &format!("newsletter/revoke-admin-invite/{id}"), json!({"phone": ADMIN})).await;
    assert_eq!(metadata(&p, &id).await["pendingAdminInvites"], json!([]));
    let accept = json!({"instanceId": p.inst.id, "newsletterId": id, "phone": ADMIN});
    let (status, v) =
        p.http.post(&format!("{}/sim/newsletter-admin-accept", p.ce.dp), Some(&p.ce.admin_token), &accept).await;
    assert_eq!(status, 404, "a revoked invitation cannot be accepted: {v}");

    ok(&p, Method::POST, "send-newsletter-admin-invite", invite).await;
    eventually(PATIENCE, || async { (metadata(&p, &id).await["pendingAdminInvites"] == json!([ADMIN])).then_some(()) })
        .await
        .expect("invited again");
    sim(&p, "newsletter-admin-accept", accept).await;
    let promote = notice(&p, "NEWSLETTER_ADMIN_PROMOTE").await;
    assert_admin_notice(&promote, &p, &id, "channel name", "NEWSLETTER_ADMIN_PROMOTE", ADMIN, "ADMIN");
    assert_eq!(metadata(&p, &id).await["admins"], json!([ADMIN]));

    let transfer = json!({"phone": ADMIN, "quitAdmin": false});
    ok(&p, Method::POST, &format!("newsletter/transfer-ownership/{id}"), transfer).await;
    assert_eq!(metadata(&p, &id).await["viewMetadata"]["role"], "ADMIN");
    assert!(post(&p, &id, "still an admin").await.get("error").is_none());

    sim(&p, "newsletter-admin-demote", json!({"instanceId": p.inst.id, "newsletterId": id, "phone": "5511999990001"}))
        .await;
    let demote = notice(&p, "NEWSLETTER_ADMIN_DEMOTE").await;
    assert_admin_notice(&demote, &p, &id, "channel name", "NEWSLETTER_ADMIN_DEMOTE", "5511999990001", "SUBSCRIBER");
    assert_eq!(metadata(&p, &id).await["viewMetadata"]["role"], "SUBSCRIBER");
    let delivery = post(&p, &id, "no longer").await;
    assert!(delivery["error"].as_str().is_some(), "a demoted admin cannot post: {delivery}");
}

#[tokio::test]
async fn an_invitation_to_administer_someone_elses_channel_is_accepted() {
    let p = paired(FAST).await;
    let made = sim(
        &p,
        "newsletter",
        json!({"instanceId": p.inst.id, "name": "Other", "owner": "554422221111", "inviteMe": true}),
    )
    .await;
    let id = made["newsletterId"].as_str().unwrap().to_owned();
    let url = p.ce.instance_url(&p.inst, "newsletter/accept-admin-invite/999999999999999999@newsletter");
    let (status, v) = p.http.post(&url, None, &json!({})).await;
    assert_eq!(status, 404, "{v}");
    ok(&p, Method::POST, &format!("newsletter/accept-admin-invite/{id}"), json!({})).await;
    assert_eq!(metadata(&p, &id).await["viewMetadata"]["role"], "ADMIN");
    let (status, _) = p
        .http
        .post(&p.ce.instance_url(&p.inst, &format!("newsletter/accept-admin-invite/{id}")), None, &json!({}))
        .await;
    assert_eq!(status, 400, "accepted once");
    assert!(post(&p, &id, "hello followers").await.get("error").is_none(), "an admin posts");
    let (status, v) = p
        .http
        .post(&p.ce.instance_url(&p.inst, &format!("newsletter/remove-admin/{id}")), None, &json!({"phone": ADMIN}))
        .await;
    assert_eq!(status, 400, "only the owner removes admins: {v}");
}

#[tokio::test]
async fn bad_channel_requests_name_the_field() {
    let p = paired(FAST).await;
    let cases: &[(&str, Value, &str)] = &[
        ("create-newsletter", json!({"description": "x"}), "name is required"),
        ("follow-newsletter", json!({"id": "ID do Canal"}), "id must be a channel id"),
        (
            "update-newsletter-picture",
            json!({"id": "999999999999999999@newsletter", "pictureUrl": "Url ou Base64 da imagem"}),
            "pictureUrl",
        ),
        ("search-newsletter", json!({"limit": "many"}), "limit must be"),
        (
            "newsletter/settings/999999999999999999@newsletter",
            json!({"reactionCodes": "basic | all"}),
            "reactionCodes must be one of",
        ),
        ("newsletter/transfer-ownership/abc", json!({"phone": ADMIN}), "newsletterId must be a channel id"),
    ];
    for (route, body, want) in cases {
        let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, body).await;
        assert_eq!(status, 400, "{route} {body}: {v}");
        assert!(v["message"].as_str().unwrap_or("").contains(want), "{route}: {v}");
    }
    assert_eq!(ok(&p, Method::GET, "newsletter", json!(null)).await, json!([]), "nothing was created");
}
