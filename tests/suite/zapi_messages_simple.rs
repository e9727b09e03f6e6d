//! The simple message routes of seed 001 against the real binary: send-text's reply, private
//! answer and mention options, the cards (send-link, send-location, send-contact,
//! send-contacts, send-newsletter-admin-invite) and the actions on earlier messages
//! (send-reaction, send-remove-reaction, pin-message, read-message, `DELETE /messages`,
//! forward-message). Each request is Z-API's own example (shared/zapi-har) with only ids
//! replaced; each must get the seed's answer and show on the sim's phone (`/sim/received`) as
//! it was asked. Invalid requests get a 400 naming the field and queue nothing.

use crate::common;

use base64::Engine as _;
use common::*;
use hyper::Method;
use serde_json::{json, Value};

/// The HAR examples' recipient (not 0000: the sim reaches it).
const CHAT: &str = "5511999998888";

async fn received(http: &Http, ce: &Chatedge, inst: &Instance, phone: &str) -> Vec<Value> {
    let url = format!("{}/sim/received?instanceId={}&phone={}", ce.dp, inst.id, phone);
    let (status, v) = http.get(&url, Some(&ce.admin_token)).await;
    assert_eq!(status, 200, "sim/received: {v}");
    v["messages"].as_array().cloned().unwrap_or_default()
}

/// Waits until `phone`'s received messages satisfy `done`, and answers them.
async fn wait_received(
    http: &Http,
    ce: &Chatedge,
    inst: &Instance,
    phone: &str,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let got = eventually(PATIENCE, || async {
        let list = received(http, ce, inst, phone).await;
        done(&list).then_some(list)
    })
    .await;
    match got {
        Some(list) => list,
        None => panic!("{what}: {phone} has {:#}", Value::Array(received(http, ce, inst, phone).await)),
    }
}

/// Posts `body` to `route` and checks the seed's send answer; answers the messageId.
async fn send(http: &Http, ce: &Chatedge, inst: &Instance, route: &str, body: &Value) -> String {
    let (status, v) = http.post(&ce.instance_url(inst, route), None, body).await;
    assert_eq!(status, 200, "{route} {body}: {v}");
    assert_eq!(v["zaapId"].as_str().map(str::len), Some(32), "{route}: {v}");
    assert_eq!(v["id"], v["messageId"], "{route}: id repeats messageId");
    v["messageId"].as_str().unwrap().to_owned()
}

fn by_id<'a>(list: &'a [Value], id: &str) -> Option<&'a Value> {
    list.iter().find(|m| m["messageId"] == json!(id))
}

fn har(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// `editDocumentMessageId` (Z-API's documentation since 2025-09): a send-document that names an
/// earlier document edits it (its caption) instead of arriving as a second document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_document_message_id_edits_the_earlier_document() {
    let Paired { dir: _dir, ce, http, sink: _sink, inst } = paired(FAST).await;
    let pdf = format!(
        "data:application/pdf;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4\n%%EOF\n")
    );
    let first =
        send(&http, &ce, &inst, "send-document/pdf", &json!({"phone": CHAT, "document": pdf, "caption": "v1"})).await;
    wait_received(&http, &ce, &inst, CHAT, "the document", |l| by_id(l, &first).is_some()).await;
    let edit = json!({"phone": CHAT, "document": pdf, "caption": "v2", "editDocumentMessageId": first});
    send(&http, &ce, &inst, "send-document/pdf", &edit).await;
    let list = wait_received(&http, &ce, &inst, CHAT, "the edit", |l| {
        by_id(l, &first).is_some_and(|m| m["changes"].as_array().is_some_and(|c| !c.is_empty()))
    })
    .await;
    let edited = by_id(&list, &first).unwrap();
    assert!(edited["changes"][0]["edit"].to_string().contains("v2"), "{edited}");
    assert_eq!(list.len(), 1, "no second document arrived: {list:?}");

    let (status, v) = http
        .post(
            &ce.instance_url(&inst, "send-document/pdf"),
            None,
            &json!({"phone": CHAT, "document": pdf,
            "editDocumentMessageId": first, "editMessageId": "3EB0OTHER"}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("editDocumentMessageId"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_options_and_cards_arrive_as_the_examples_ask() {
    let Paired { dir: _dir, ce, http, sink: _sink, inst } = paired(FAST).await;

    let plain =
        send(&http, &ce, &inst, "send-text", &har(r#"{"phone": "5511999998888", "message": "Welcome to *Z-API*"}"#))
            .await;
    let reply = send(
        &http,
        &ce,
        &inst,
        "send-text",
        &har(r#"{"phone": "5511999998888", "message": "Welcome to *Z-API*", "messageId": "Welcome to *Z-API*"}"#),
    )
    .await;
    let formatted =
        send(&http, &ce, &inst, "send-text", &json!({"phone": "+55 (11) 99999-8888", "message": "hi"})).await;
    let link = send(&http, &ce, &inst, "send-link", &har(r#"{"phone": "5511999998888","message": "Aqui você coloca um texto sobre o site, atenção esse texto preciso ter o link que será enviado no final da mensagem! Assim: https://z-api.io","image": "http://127.0.0.1:9/logo.png?alt=media","linkUrl": "https://z-api.io","title": "Z-API","linkDescription": "Integração com o whatsapp"}"#)).await;
    let location = send(&http, &ce, &inst, "send-location", &har(r#"{"phone": "5511999998888","title": "Google Brasil","address": "Av. Brg. Faria Lima, 3477 - Itaim Bibi, São Paulo - SP, 04538-133","latitude": "-23.0696347","longitude": "-50.4357913"}"#)).await;
    let contact = send(&http, &ce, &inst, "send-contact", &har(r#"{"phone": "5511999998888", "contactName": "Nome do contato", "contactPhone": "5511999999999", "contactBusinessDescription": "Breve descricao do contato"}"#)).await;
    let contacts = send(&http, &ce, &inst, "send-contacts", &har(r#"{"phone": "5511999998888", "contacts": [{"name": "Nome do contato" , "phones": ["5544999999999","5544999999999"], "businessDescription": "Descrição do contato"}]}"#)).await;
    let invite = send(&http, &ce, &inst, "send-newsletter-admin-invite", &har(r#"{"phone": "5511999998888", "adminInviteMessage": {"newsletterId": "120363166555745933@newsletter", "caption": "Message text"}}"#)).await;

    // A group the instance created, with the HAR chat among its members.
    let created = json!({"autoInvite": true, "groupName": "Z-API", "phones": [CHAT, "5511888888888"]});
    let (status, g) = http.post(&ce.instance_url(&inst, "create-group"), None, &created).await;
    assert_eq!(status, 200, "create-group: {g}");
    let group = g["phone"].as_str().expect("the new group's id").to_owned();
    let group = group.as_str();
    let private = send(&http, &ce, &inst, "send-text", &json!({"phone": group, "message": "Welcome to *Z-API*", "messageId": "3999984263738042930CD6ECDE9VDWSA", "privateAnswer": true})).await;
    let mentions = send(&http, &ce, &inst, "send-text", &json!({"phone": group, "message": "@13135550002 hello @1203634230225498-group", "mentioned": [13135550002u64, "5511888888888"], "groupMentioned": [{"phone": "1203634230225498-group", "subject": "Z-API subgroup"}]})).await;

    let ids = [&plain, &reply, &formatted, &link, &location, &contact, &contacts, &invite];
    let list = wait_received(&http, &ce, &inst, CHAT, "every send to the HAR chat", |l| {
        ids.iter().all(|id| by_id(l, id).is_some())
    })
    .await;
    let at = |id: &str| by_id(&list, id).unwrap().clone();
    assert_eq!(at(&plain)["text"], "Welcome to *Z-API*");
    assert!(at(&plain).get("replyTo").is_none());
    assert_eq!(at(&reply)["replyTo"], "Welcome to *Z-API*");
    assert_eq!(at(&formatted)["text"], "hi", "a formatted number reaches its digits' chat");

    let l = at(&link);
    assert_eq!((l["type"].as_str(), l["content"]["preview"]["url"].as_str()), (Some("link"), Some("https://z-api.io")));
    assert_eq!(l["content"]["preview"]["title"], "Z-API");
    assert_eq!(l["content"]["preview"]["description"], "Integração com o whatsapp");
    assert_eq!(l["content"]["preview"]["image"], "http://127.0.0.1:9/logo.png?alt=media");
    assert_eq!(l["content"]["linkType"], "SMALL");
    let p = at(&location);
    assert_eq!((p["type"].as_str(), p["text"].as_str()), (Some("location"), Some("Google Brasil")));
    assert_eq!(
        (p["content"]["latitude"].as_f64(), p["content"]["longitude"].as_f64()),
        (Some(-23.0696347), Some(-50.4357913))
    );
    assert!(p["content"]["address"].as_str().unwrap().starts_with("Av. Brg. Faria Lima"));
    let c = at(&contact);
    assert_eq!((c["type"].as_str(), c["content"]["name"].as_str()), (Some("contact"), Some("Nome do contato")));
    assert_eq!(c["content"]["phones"], json!(["5511999999999"]));
    assert_eq!(c["content"]["businessDescription"], "Breve descricao do contato");
    let cs = at(&contacts);
    assert_eq!(cs["type"], "contacts");
    assert_eq!(cs["content"]["contacts"][0]["phones"], json!(["5544999999999", "5544999999999"]));
    assert_eq!(cs["content"]["contacts"][0]["businessDescription"], "Descrição do contato");
    let i = at(&invite);
    assert_eq!((i["type"].as_str(), i["text"].as_str()), (Some("newsletterAdminInvite"), Some("Message text")));
    assert_eq!(i["content"]["newsletterId"], "120363166555745933@newsletter");

    let in_group = wait_received(&http, &ce, &inst, group, "the group's reply and mentions", |l| {
        by_id(l, &private).is_some() && by_id(l, &mentions).is_some()
    })
    .await;
    let pa = by_id(&in_group, &private).unwrap();
    assert_eq!(
        (pa["replyTo"].as_str(), pa["privateAnswer"].as_bool()),
        (Some("3999984263738042930CD6ECDE9VDWSA"), Some(true))
    );
    let mn = by_id(&in_group, &mentions).unwrap();
    assert_eq!(mn["mentioned"], json!(["13135550002", "5511888888888"]));
    assert_eq!(mn["groupMentioned"], json!(["1203634230225498-group"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_change_the_message_they_name() {
    let Paired { dir: _dir, ce, http, sink: _sink, inst } = paired(FAST).await;
    let target = send(&http, &ce, &inst, "send-text", &json!({"phone": CHAT, "message": "react to me"})).await;
    wait_received(&http, &ce, &inst, CHAT, "the target message", |l| by_id(l, &target).is_some()).await;

    let with_target = |har_body: &str| {
        let mut v = har(har_body);
        v["messageId"] = json!(target);
        v
    };
    send(
        &http,
        &ce,
        &inst,
        "send-reaction",
        &with_target(r#"{"phone": "5511999998888", "reaction": "❤️", "messageId": "EDSFSAD213213DDSD7"}"#),
    )
    .await;
    send(
        &http,
        &ce,
        &inst,
        "send-remove-reaction",
        &with_target(r#"{"phone": "5511999998888", "messageId": "EDSFSAD213213DDSD7"}"#),
    )
    .await;
    send(&http, &ce, &inst, "pin-message", &with_target(r#"{"phone": "5511999998888", "messageId": "77DF5293EBC176FFA6A88838E7A6AD83", "messageAction": "pin", "pinMessageDuration": "7_days"}"#)).await;

    let url = ce.instance_url(&inst, "read-message");
    let body = with_target(r#"{"phone": "5511999998888", "messageId": "3999984263738042930CD6ECDE9VDWSA"}"#);
    let (status, v) = http.post(&url, None, &body).await;
    assert_eq!((status, v), (204, json!("")), "read-message answers 204 No Content");

    let url = ce.instance_url(&inst, &format!("messages?messageId={target}&phone=5511999998888&owner=true"));
    let (status, v) = http.raw(Method::DELETE, &url, None, &[("content-type", "application/json")], Vec::new()).await;
    assert_eq!((status, v), (204, json!("")), "DELETE /messages answers 204 No Content");

    let destination = "5511777777777";
    let forward = send(
        &http,
        &ce,
        &inst,
        "forward-message",
        &json!({"phone": destination, "messageId": target, "messagePhone": "5511999998888"}),
    )
    .await;

    let list = wait_received(&http, &ce, &inst, CHAT, "six changes on the target", |l| {
        by_id(l, &target).and_then(|m| m["changes"].as_array()).is_some_and(|c| c.len() == 6)
    })
    .await;
    assert_eq!(list.len(), 1, "actions change the message, they add none: {list:?}");
    let changes = list[0]["changes"].as_array().unwrap();
    assert_eq!(changes[0]["reaction"], "❤️");
    assert_eq!((changes[1]["reaction"].as_str(), changes[1]["removed"].as_bool()), (Some(""), Some(true)));
    assert_eq!((changes[2]["pin"].as_str(), changes[2]["duration"].as_str()), (Some("pin"), Some("7_days")));
    assert_eq!(changes[3]["read"], true);
    assert_eq!((changes[4]["deleted"].as_bool(), changes[4]["owner"].as_bool()), (Some(true), Some(true)));
    assert_eq!(
        (changes[5]["forwardedTo"].as_str(), changes[5]["forwardMessageId"].as_str()),
        (Some(destination), Some(forward.as_str()))
    );

    let there = wait_received(&http, &ce, &inst, destination, "the forward", |l| by_id(l, &forward).is_some()).await;
    let f = by_id(&there, &forward).unwrap();
    assert_eq!(f["type"], "forward");
    assert_eq!(
        (f["content"]["messageId"].as_str(), f["content"]["messagePhone"].as_str()),
        (Some(target.as_str()), Some(CHAT))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_are_refused_by_name_and_queue_nothing() {
    let Paired { dir: _dir, ce, http, sink: _sink, inst } = paired(FAST).await;
    let bad_chat = "5511999997777";
    let cases: Vec<(&str, Value, &str)> = vec![
        ("send-text", json!({"phone": "PHONE DO CHAT", "message": "m"}), "phone"),
        ("send-text", json!({"phone": bad_chat, "message": "m", "privateAnswer": true}), "privateAnswer"),
        ("send-text", json!({"phone": bad_chat, "message": "m", "mentioned": [1]}), "mentioned"),
        ("send-text", json!({"phone": "5511999997777-group", "message": "m", "mentioned": ["x"]}), "mentioned[0]"),
        (
            "send-text",
            json!({"phone": "5511999997777-group", "message": "m", "groupMentioned": [{"phone": "120363019502650977-group"}]}),
            "groupMentioned[0].subject",
        ),
        (
            "send-link",
            json!({"phone": bad_chat, "message": "see https://z-api.io", "image": "http://127.0.0.1:9/a.png", "linkUrl": "https://z-api.io", "title": "t", "linkDescription": "d", "linkType": "HUGE"}),
            "linkType",
        ),
        (
            "send-link",
            json!({"phone": bad_chat, "message": "see", "image": "http://127.0.0.1:9/a.png", "linkUrl": "https://z-api.io", "title": "t", "linkDescription": "d"}),
            "message",
        ),
        (
            "send-location",
            json!({"phone": bad_chat, "title": "t", "address": "a", "latitude": "91", "longitude": "0"}),
            "latitude",
        ),
        (
            "send-location",
            json!({"phone": bad_chat, "title": "t", "address": "a", "latitude": "0", "longitude": "-181"}),
            "longitude",
        ),
        ("send-location", json!({"phone": bad_chat, "address": "a", "latitude": "0", "longitude": "0"}), "title"),
        ("send-contact", json!({"phone": bad_chat, "contactName": "n", "contactPhone": "nope"}), "contactPhone"),
        ("send-contacts", json!({"phone": bad_chat, "contacts": []}), "contacts"),
        ("send-contacts", json!({"phone": bad_chat, "contacts": [{"name": "n", "phones": []}]}), "contacts[0].phones"),
        (
            "send-newsletter-admin-invite",
            json!({"phone": bad_chat, "adminInviteMessage": {"newsletterId": "5511999999999", "caption": "c"}}),
            "adminInviteMessage.newsletterId",
        ),
        ("send-reaction", json!({"phone": bad_chat, "reaction": "❤️"}), "messageId"),
        ("send-reaction", json!({"phone": bad_chat, "reaction": "love", "messageId": "A"}), "reaction"),
        ("send-remove-reaction", json!({"phone": bad_chat}), "messageId"),
        ("pin-message", json!({"phone": bad_chat, "messageId": "A", "messageAction": "pin"}), "pinMessageDuration"),
        (
            "pin-message",
            json!({"phone": bad_chat, "messageId": "A", "messageAction": "stick", "pinMessageDuration": "7_days"}),
            "messageAction",
        ),
        ("read-message", json!({"phone": bad_chat}), "messageId"),
        ("forward-message", json!({"phone": bad_chat, "messageId": "A"}), "messagePhone"),
    ];
    let named = |v: &Value, field: &str| {
        v["message"].as_str().and_then(|m| m.strip_prefix(field)).is_some_and(|rest| rest.starts_with([' ', ':']))
    };
    for (route, body, field) in &cases {
        let (status, v) = http.post(&ce.instance_url(&inst, route), None, body).await;
        assert_eq!(status, 400, "{route} {body}: {v}");
        assert!(named(&v, field), "{route} {body}: {v} should name {field}");
    }
    let url = ce.instance_url(&inst, &format!("messages?messageId=A&phone={bad_chat}&owner=maybe"));
    let (status, v) = http.raw(Method::DELETE, &url, None, &[], Vec::new()).await;
    assert!(status == 400 && named(&v, "owner"), "DELETE /messages: {status} {v}");

    let (status, v) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!((status, &v["count"]), (200, &json!(0)), "nothing was queued: {v}");
    // A valid message behind them in the instance's FIFO: once it arrives, anything refused
    // that had slipped into the queue would have arrived before it.
    let fence = send(&http, &ce, &inst, "send-text", &json!({"phone": bad_chat, "message": "fence"})).await;
    let list = wait_received(&http, &ce, &inst, bad_chat, "the fence", |l| by_id(l, &fence).is_some()).await;
    assert_eq!(list.len(), 1, "only the fence arrived: {list:?}");
    assert_eq!(received(&http, &ce, &inst, "5511999997777-group").await, Vec::<Value>::new());
}
