//! Contacts and chats routes (seed 001, rows 74–86 and the HAR's `GET chat/{phone}`) against
//! the real binary: the address book is kept, paged and survives a restart; the directory
//! answers which numbers exist (numbers ending 0000 do not); a blocked contact cannot be sent
//! to (the DeliveryCallback says why) until unblocked, across a restart; the chat list shows
//! the chats traffic brought and the owner's settings (archive, pin, mute, unread, delete),
//! the settings kept across a restart; a WhatsApp Business owner's note on a chat shows on it,
//! changes and goes, kept across a restart (a normal account is refused); bad fields get a 400
//! naming them.

use crate::common;

use common::files::{arrived, wait_arrived};
use common::*;
use hyper::Method;
use serde_json::{json, Value};

async fn get(p: &Paired, route: &str) -> Value {
    let (status, v) = p.http.get(&p.ce.instance_url(&p.inst, route), None).await;
    assert_eq!(status, 200, "GET {route}: {v}");
    v
}

async fn post(p: &Paired, route: &str, body: Value) -> Value {
    let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, &body).await;
    assert_eq!(status, 200, "POST {route} {body}: {v}");
    v
}

async fn delete_with_body(p: &Paired, route: &str, body: Value) -> (u16, Value) {
    let headers = [("content-type", "application/json")];
    p.http.raw(Method::DELETE, &p.ce.instance_url(&p.inst, route), None, &headers, body.to_string().into_bytes()).await
}

async fn restart(mut p: Paired) -> Paired {
    p.ce.terminate();
    p.ce = Chatedge::up(p.dir.path(), FAST);
    wait_connected(&p.http, &p.ce, &p.inst).await;
    p
}

fn phones(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|c| c["phone"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_address_book_is_paged_and_survives_a_restart() {
    let p = paired(FAST).await;
    let add = json!([
        {"firstName": "Contato 1", "lastName": "Sobrenome 1", "phone": "554499999999"},
        {"firstName": "Contato 2", "phone": "554499998888"},
        {"firstName": "Ninguém", "phone": "554499990000"},
    ]);
    let v = post(&p, "contacts/add", add).await;
    assert_eq!(v["success"], false, "one number is not on WhatsApp: {v}");
    assert_eq!(v["errors"].as_array().unwrap().len(), 1);
    assert_eq!(v["errors"][0]["phone"], "554499990000");
    post(&p, "contacts/add", json!([{"firstName": "Contato 3", "phone": "554499997777"}])).await;

    let page1 = get(&p, "contacts?page=1&pageSize=2").await;
    assert_eq!(phones(&page1), ["554499997777", "554499998888"]);
    let page2 = get(&p, "contacts?page=2&pageSize=2").await;
    assert_eq!(
        page2,
        json!([{"name": "Contato 1 Sobrenome 1", "short": "Contato 1", "notify": null,
            "vname": "Contato 1 Sobrenome 1", "phone": "554499999999"}])
    );
    assert_eq!(get(&p, "contacts?page=3&pageSize=2").await, json!([]));

    let (status, v) = delete_with_body(&p, "contacts/remove", json!(["554499997777", "554499996666"])).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["errors"][0]["phone"], "554499996666", "not a contact: {v}");

    let c = get(&p, "contacts/5544%209999-9999").await;
    assert_eq!((c["name"].clone(), c["short"].clone()), (json!("Contato 1 Sobrenome 1"), json!("Contato 1")));

    let p = restart(p).await;
    assert_eq!(phones(&get(&p, "contacts").await), ["554499998888", "554499999999"], "kept across a restart");
}

#[tokio::test]
async fn the_directory_answers_which_numbers_are_on_whatsapp() {
    let p = paired(FAST).await;
    let found = get(&p, "phone-exists/5511999999999").await;
    let lid = found[0]["lid"].as_str().expect("a number on WhatsApp has a LID").to_owned();
    assert!(lid.ends_with("@lid") && lid.len() == 19, "{found}");
    assert_eq!(found, json!([{"exists": true, "phone": "5511999999999", "lid": lid}]));
    assert_eq!(get(&p, "phone-exists/5511999999999").await, found, "the same LID every time");
    assert_eq!(
        get(&p, "phone-exists/5511999990000").await,
        json!([{"exists": false, "phone": "5511999990000", "lid": null}])
    );
    let v = post(&p, "phone-exists-batch", json!({"phones": ["+55 44 9999-9999", "554488880000"]})).await;
    let other_lid = v[0]["lid"].as_str().expect("a LID").to_owned();
    assert_ne!(other_lid, lid, "each number its own");
    assert_eq!(
        v,
        json!([{"exists": true, "inputPhone": "+55 44 9999-9999", "outputPhone": "554499999999", "lid": other_lid},
            {"exists": false, "inputPhone": "554488880000", "outputPhone": "554488880000", "lid": null}])
    );
    let (status, v) = p.http.get(&p.ce.instance_url(&p.inst, "contacts/554488880000"), None).await;
    assert_eq!(status, 404, "{v}");

    // What a number's owner shows the network reaches contacts, photos and chat metadata.
    let profile = json!({"instanceId": p.inst.id, "phone": "5544977776666", "name": "Loja da Ana",
        "pictureUrl": "https://files.test/ana.jpg", "about": "Aberto até as 18h"});
    let (status, v) = p.http.post(&format!("{}/sim/contact-profile", p.ce.dp), Some(&p.ce.admin_token), &profile).await;
    assert_eq!(status, 200, "{v}");
    let c = get(&p, "contacts/5544977776666").await;
    assert_eq!(
        c,
        json!({"name": null, "phone": "5544977776666", "notify": "Loja da Ana", "short": null,
            "imgUrl": "https://files.test/ana.jpg", "about": "Aberto até as 18h"})
    );
    assert_eq!(get(&p, "profile-picture?phone=5544977776666").await, json!([{"link": "https://files.test/ana.jpg"}]));
    assert_eq!(get(&p, "profile-picture?phone=5544977775555").await, json!([{"link": null}]));
    post(&p, "modify-chat", json!({"phone": "5544977776666", "action": "mute"})).await;
    let chat = get(&p, "chat/5544977776666").await;
    assert_eq!(chat["about"], "Aberto até as 18h");
    assert_eq!(chat["profileThumbnail"], "https://files.test/ana.jpg");
    assert_eq!(chat["isMuted"], "1");
    assert_eq!((&chat["isGroup"], &chat["isGroupAnnouncement"]), (&json!(false), &json!(false)));
}

#[tokio::test]
async fn a_blocked_contact_cannot_be_sent_to_until_unblocked_even_after_a_restart() {
    let p = paired(FAST).await;
    let to = "5544988887777";
    assert_eq!(
        post(&p, "contacts/modify-blocked", json!({"phone": to, "action": "block"})).await,
        json!({"value": true})
    );
    let p = restart(p).await;

    let v = post(&p, "send-text", json!({"phone": to, "message": "are you there?"})).await;
    let zaap = v["zaapId"].clone();
    let events = p
        .sink
        .wait_for(PATIENCE, "the refused delivery", |e| {
            e.iter().any(|r| r.body["type"] == "DeliveryCallback" && r.body["zaapId"] == zaap)
        })
        .await;
    let d = events.iter().find(|r| r.body["zaapId"] == zaap).unwrap();
    assert!(d.body["error"].as_str().is_some_and(|e| e.contains("blocked")), "{}", d.body);
    assert!(arrived(&p.http, &p.ce, &p.inst, to).await.is_empty(), "nothing reached the blocked number");
    let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, "send-call"), None, &json!({"phone": to})).await;
    assert_eq!(status, 400, "a blocked number cannot be called: {v}");

    post(&p, "contacts/modify-blocked", json!({"phone": to, "action": "unblock"})).await;
    post(&p, "send-text", json!({"phone": to, "message": "hello again"})).await;
    let got = wait_arrived(&p.http, &p.ce, &p.inst, to, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        post(&p, "contacts/modify-blocked", json!({"phone": "5544988880000", "action": "block"})).await,
        json!({"value": false}),
        "a number not on WhatsApp cannot be blocked"
    );
    assert_eq!(post(&p, "contacts/5544988887777/report", json!({})).await, json!({"success": true}));
    assert_eq!(post(&p, "contacts/5544988880000/report", json!({})).await["success"], false);
}

#[tokio::test]
async fn the_chat_list_shows_traffic_and_keeps_the_owners_settings() {
    let p = paired(FAST).await;
    let inbound = format!("{}/sim/inbound", p.ce.dp);
    for (phone, text) in [("5544911111111", "oi"), ("5544922222222", "olá"), ("5544922222222", "tudo bem?")] {
        let body = json!({"instanceId": p.inst.id, "phone": phone, "message": text});
        let (status, v) = p.http.post(&inbound, Some(&p.ce.admin_token), &body).await;
        assert_eq!(status, 200, "{v}");
    }
    post(&p, "contacts/add", json!([{"firstName": "Bia", "phone": "5544922222222"}])).await;
    let chats = get(&p, "chats").await;
    assert_eq!(phones(&chats), ["5544922222222", "5544911111111"], "most recent first");
    assert_eq!((chats[0]["unread"].clone(), chats[0]["name"].clone()), (json!("2"), json!("Bia")));
    assert_eq!(chats[0]["archived"], "false");
    assert_eq!((&chats[0]["isGroup"], &chats[0]["isMarkedSpam"]), (&json!(false), &json!("false")));
    assert!(chats[0]["lastMessageTime"].as_str().unwrap().parse::<u64>().unwrap() > 1_700_000_000);

    post(&p, "send-text", json!({"phone": "5544933333333", "message": "new chat"})).await;
    let value = |v: Value| v["value"].clone();
    for (phone, action) in
        [("5544911111111", "pin"), ("5544922222222", "archive"), ("5544922222222", "mute"), ("5544911111111", "unread")]
    {
        assert_eq!(value(post(&p, "modify-chat", json!({"phone": phone, "action": action})).await), true, "{action}");
    }
    post(&p, "modify-chat", json!({"phone": "5544944444444", "action": "pin"})).await;
    post(&p, "modify-chat", json!({"phone": "5544955555555", "action": "pin"})).await;
    let fourth = post(&p, "modify-chat", json!({"phone": "5544966666666", "action": "pin"})).await;
    assert_eq!(fourth, json!({"value": false}), "WhatsApp pins at most three chats");
    post(&p, "send-chat-expiration", json!({"phone": "5544922222222", "chatExpiration": "7_DAYS"})).await;

    let chats = eventually(PATIENCE, || async {
        let c = get(&p, "chats").await;
        phones(&c).contains(&"5544933333333").then_some(c)
    })
    .await
    .expect("the chat a send opened is listed");
    let by_phone = |list: &Value, phone: &str| list.as_array().unwrap().iter().find(|c| c["phone"] == phone).cloned();
    let pinned = by_phone(&chats, "5544911111111").unwrap();
    assert_eq!((pinned["pinned"].clone(), pinned["unread"].clone()), (json!("true"), json!("1")));
    let archived = by_phone(&chats, "5544922222222").unwrap();
    assert_eq!(
        (archived["archived"].clone(), archived["isMuted"].clone(), archived["muteEndTime"].clone()),
        (json!("true"), json!("1"), json!(-1))
    );
    assert_eq!(
        phones(&chats)[..3].iter().filter(|p| ["5544911111111", "5544944444444", "5544955555555"].contains(p)).count(),
        3,
        "pinned first: {chats}"
    );
    assert_eq!(get(&p, "chats?page=2&pageSize=2").await.as_array().unwrap().len(), 2);

    post(&p, "modify-chat", json!({"phone": "5544933333333", "action": "delete"})).await;
    assert!(by_phone(&get(&p, "chats").await, "5544933333333").is_none(), "a deleted chat leaves the list");
    let (status, _) = p.http.get(&p.ce.instance_url(&p.inst, "chats/5544933333333"), None).await;
    assert_eq!(status, 404);

    let p = restart(p).await;
    let chats = get(&p, "chats").await;
    let archived = by_phone(&chats, "5544922222222").expect("settings keep a chat listed across a restart");
    assert_eq!((archived["archived"].clone(), archived["isMuted"].clone()), (json!("true"), json!("1")));
    assert_eq!(by_phone(&chats, "5544911111111").unwrap()["pinned"], "true");
}

#[tokio::test]
async fn a_business_owners_note_on_a_chat_shows_changes_goes_and_survives_a_restart() {
    let p = paired_business(FAST).await;
    let chat = "5544922222222";
    let note = |text: &str| json!({"notes": text});
    assert_eq!(post(&p, &format!("chats/{chat}/notes"), note("call back on Monday")).await, json!({"success": true}));
    let first = get(&p, &format!("chats/{chat}")).await["notes"].clone();
    assert_eq!(first["content"], "call back on Monday", "{first}");
    assert!(first["id"].as_str().is_some_and(|id| id.len() == 44), "{first}");
    assert_eq!(first["createdAt"], first["lastUpdateAt"]);
    let listed = get(&p, "chats").await;
    let entry = listed.as_array().unwrap().iter().find(|c| c["phone"] == chat).expect("a noted chat is listed").clone();
    assert_eq!(entry["notes"], first);

    post(&p, &format!("chats/{chat}/notes"), note("called; send the quote")).await;
    let p = restart(p).await;
    let changed = get(&p, &format!("chats/{chat}")).await["notes"].clone();
    assert_eq!(
        (changed["id"].clone(), changed["createdAt"].clone()),
        (first["id"].clone(), first["createdAt"].clone())
    );
    assert_eq!(changed["content"], "called; send the quote", "the change survived a restart");
    assert!(changed["lastUpdateAt"].as_u64() >= first["lastUpdateAt"].as_u64());

    let off_network = post(&p, "chats/5544900000000/notes", note("x")).await;
    assert_eq!(off_network, json!({"success": false}), "a number not on WhatsApp has no chat");
    post(&p, &format!("chats/{chat}/notes"), note("")).await;
    let (status, v) = p.http.get(&p.ce.instance_url(&p.inst, &format!("chats/{chat}")), None).await;
    assert!(status == 404 || v.get("notes").is_none(), "an empty note removes it: {status} {v}");

    let normal = paired(FAST).await;
    let (status, v) =
        normal.http.post(&normal.ce.instance_url(&normal.inst, &format!("chats/{chat}/notes")), None, &note("x")).await;
    assert_eq!((status, v["error"].clone()), (400, json!("Business account required")), "{v}");
    assert!(phones(&get(&normal, "chats").await).is_empty(), "a refused note leaves no chat behind");
}

#[tokio::test]
async fn bad_contact_and_chat_requests_name_the_field() {
    let p = paired(FAST).await;
    let cases: &[(Method, &str, Value, &str)] = &[
        (Method::POST, "contacts/add", json!([{"phone": "554499999999"}]), "[0].firstName is required"),
        (Method::POST, "contacts/add", json!({"firstName": "A"}), "JSON array"),
        (Method::DELETE, "contacts/remove", json!(["554499999999", "12ab"]), "[1]"),
        (
            Method::POST,
            "contacts/modify-blocked",
            json!({"phone": "5544999999999", "action": "block / unblock"}),
            "action must be one of",
        ),
        (Method::POST, "phone-exists-batch", json!({"phones": []}), "phones must have from 1"),
        (Method::GET, "contacts?pageSize=0", json!(null), "pageSize must be"),
        (Method::GET, "chats?page=x", json!(null), "page must be"),
        (Method::GET, "phone-exists/12ab", json!(null), "phone"),
        (
            Method::POST,
            "modify-chat",
            json!({"phone": "5544999999999", "action": "archive / unarchive / delete*"}),
            "action must be one of",
        ),
        (Method::POST, "modify-chat", json!({"action": "read"}), "phone is required"),
        (
            Method::POST,
            "send-chat-expiration",
            json!({"phone": "5544999999999", "chatExpiration": "1_YEAR"}),
            "chatExpiration must be one of",
        ),
        (Method::POST, "chats/5544999999999/notes", json!({"note": "x"}), "notes is required"),
        (Method::POST, "chats/55ab/notes", json!({"notes": "x"}), "phone"),
    ];
    for (method, route, body, want) in cases {
        let url = p.ce.instance_url(&p.inst, route);
        let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        let (status, v) = p.http.raw(method.clone(), &url, None, &[("content-type", "application/json")], bytes).await;
        assert_eq!(status, 400, "{method} {route} {body}: {v}");
        assert!(v["message"].as_str().unwrap_or("").contains(want), "{method} {route} {body}: {v}");
    }
    assert_eq!(get(&p, "contacts").await, json!([]), "nothing was saved");
    assert_eq!(get(&p, "chats").await, json!([]), "no chat was touched");
}

#[tokio::test]
async fn z_apis_own_examples_of_these_routes_get_no_server_error_nor_route_not_found() {
    let p = paired(FAST).await;
    // The HAR files' requests (shared/zapi-har), bodies verbatim: some are placeholders
    // ("block / unblock") or broken JSON, which must be refused with a 4xx, never a 5xx.
    let examples: &[(Method, &str, &str)] = &[
        (Method::GET, "contacts?page=1&pageSize=100", ""),
        (
            Method::POST,
            "contacts/add",
            r#"[{"firstName": "Contato 1", "lastName": "Sobrenome 1", "phone": "554499999999"}, {"firstName": "Contato 2", "lastName": "Sobrenome 2", "phone": "554499998888"}]"#,
        ),
        (Method::DELETE, "contacts/remove", r#"["554499999999","554499998888"]"#),
        (Method::GET, "contacts/5511999999999", ""),
        (Method::GET, "profile-picture?phone=5511999999999", ""),
        (Method::GET, "phone-exists/5511999999999", ""),
        (Method::POST, "phone-exists-batch", r#"{"phones": ["5511999999999", "554499999999"]}}"#),
        (Method::POST, "contacts/modify-blocked", r#"{"phone": "5544999999999", "action": "block / unblock"}"#),
        (Method::POST, "contacts/5544999999999/report", ""),
        (Method::GET, "chats?page=1&pageSize=2", ""),
        (Method::GET, "chats/5511999999999?amount=1&lastMessageId=messageID", ""),
        (Method::POST, "modify-chat", r#"{"phone": "5544991515165", "action": "archive / unarchive / delete*"}"#),
        (Method::POST, "modify-chat", r#"{"phone": "5544999999999", "action": "clear"}"#),
        (Method::POST, "modify-chat", r#"{"phone": "5544991515165", "action": "delete"}"#),
        (Method::POST, "modify-chat", r#"{"phone": "5544999999999", "action": "mute / unmute"}"#),
        (Method::POST, "modify-chat", r#"{"phone": "5544991515165", "action": "pin / unpin /"}"#),
        (Method::POST, "modify-chat", r#"{"phone": "5544991515165", "action": "read / unread*"}"#),
        (Method::POST, "send-chat-expiration", r#"{"phone": "5511999998888", "chatExpiration": "24_hours"}"#),
        (Method::POST, "send-call", r#"{"phone": "5511999998888", "callDuration": 5}"#),
        (Method::GET, "chat/5511999999999", ""),
        (Method::PUT, "profile-picture", r#"{"value": "https://files.test/p.png"}"#),
        (Method::PUT, "profile-name", r#"{"value": "Profile Name"}"#),
        (Method::PUT, "profile-description", r#"{"value": "Profile Description"}"#),
    ];
    for (method, route, body) in examples {
        let url = p.ce.instance_url(&p.inst, route);
        let headers = [("content-type", "application/json")];
        let (status, v) = p.http.raw(method.clone(), &url, None, &headers, body.as_bytes().to_vec()).await;
        assert!(status < 500, "{method} {route}: {status} {v}");
        assert_ne!(v["error"], "Route not found", "{method} {route}");
        assert_ne!(status, 405, "{method} {route}: {v}");
    }
}
