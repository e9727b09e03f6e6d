//! The Zapini dialect (seed 002, issue 15) under `/zapini/` and `/zapini/api/v1/`: `sk_…`
//! instance API keys issued, listed and revoked through the integrator routes; the seed's
//! request examples replayed with ids and tokens replaced, each answered in the seed's shape;
//! a send reaches the sim as the same message a Z-API send-text leaves; every refusal is
//! `{success: false, error: {code, message, details}}` naming the problem; a bad or absent
//! credential, another account's instance and an unknown one answer alike; the product layer
//! answers 501 NOT_SERVED naming the feature.

use crate::common;

use std::time::Duration;

use common::*;
use hyper::Method;
use serde_json::{json, Value};

/// FAST, with Zapini's per-account window (100 requests per 15 minutes by default) wide
/// enough for tests that poll.
fn config(extra: &str) -> String {
    format!("{FAST}\n[rate_limits]\nzapini_requests = 1000000\nzapini_window_s = 1\n{extra}\n")
}

/// The UUID form of a chatedge instance id (32 hex characters).
fn uuid(id: &str) -> String {
    let h = id.to_ascii_lowercase();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// `method url` with `Authorization: Bearer <bearer>` and a JSON body, as the seed's curl
/// examples send it.
async fn call(http: &Http, method: Method, url: &str, bearer: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let headers = [("content-type", "application/json"), ("accept", "application/json")];
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    http.raw(method, url, bearer, &headers, body).await
}

/// Issues an `sk_…` key for `instance` (any form of its id) through the data plane's root.
async fn issue_key(http: &Http, ce: &Chatedge, instance: &str) -> (String, String) {
    let url = format!("{}/instances/integrator/{instance}/api-keys", ce.dp);
    let (s, v) = call(http, Method::POST, &url, Some(&ce.integrator_token), None).await;
    assert_eq!(s, 201, "issue a key: {v}");
    let key = v["apiKey"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_") && key.len() > 20, "{v}");
    (v["id"].as_str().unwrap().to_owned(), key)
}

/// Waits until the data plane takes `key` (the push carrying its hash arrived).
async fn wait_key_live(http: &Http, ce: &Chatedge, key: &str) {
    eventually(Duration::from_secs(20), || async {
        let (s, _) = call(http, Method::GET, &format!("{}/zapini/status", ce.dp), Some(key), None).await;
        (s == 200).then_some(())
    })
    .await
    .expect("the key reaches the data plane");
}

fn refused<'a>(v: &'a Value, code: &str) -> &'a str {
    assert_eq!(v["success"], json!(false), "{v}");
    assert_eq!(v["error"]["code"], json!(code), "{v}");
    assert!(v["error"]["details"].is_object(), "details is an object: {v}");
    v["error"]["message"].as_str().unwrap_or_else(|| panic!("a message: {v}"))
}

fn is_iso_time(v: &Value) -> bool {
    v.as_str().is_some_and(|t| t.len() == 24 && t.ends_with('Z') && t.as_bytes()[10] == b'T')
}

/// A sim record with what differs between two sends taken out (ids, phones, times).
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| {
                    let k = k.to_ascii_lowercase();
                    !(k.ends_with("id")
                        || k.contains("phone")
                        || k.ends_with("ms")
                        || k.ends_with("at")
                        || k.contains("time"))
                })
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_examples_are_served_with_an_instance_key_and_with_the_account_token() {
    let p = paired(&config("[media]\nfetch_allow_private = true")).await;
    let (ce, http) = (&p.ce, &p.http);
    let account = ce.integrator_token.as_str();
    let id = uuid(&p.inst.id);

    // Keys: issued by UUID or chatedge's id, listed without the key, shown once.
    let (key_id, key) = issue_key(http, ce, &id).await;
    let (other_id, other_key) = issue_key(http, ce, &p.inst.id).await;
    assert_ne!(key, other_key);
    let (s, v) =
        call(http, Method::GET, &format!("{}/instances/integrator/{id}/api-keys", ce.dp), Some(account), None).await;
    assert_eq!(s, 200, "{v}");
    let ids: Vec<&str> = v["apiKeys"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![key_id.as_str(), other_id.as_str()]);
    assert!(!v.to_string().contains(&key) && !v.to_string().contains("sk_"), "never the key: {v}");
    wait_key_live(http, ce, &key).await;

    // POST /send-message (seed 002): the key names the instance.
    let example = json!({"recipient": "5511988887777", "message": "Olá! Esta é uma mensagem de teste."});
    let (s, sent) =
        call(http, Method::POST, &format!("{}/zapini/send-message", ce.dp), Some(&key), Some(&example)).await;
    assert_eq!(s, 200, "{sent}");
    assert_eq!((&sent["success"], sent["message"].is_string()), (&json!(true), true), "{sent}");
    assert!(sent["message_id"].as_str().is_some_and(|m| m.len() == 20), "{sent}");
    assert!(is_iso_time(&sent["timestamp"]), "{sent}");
    // The same through the universal base, with the account's token and the instance's UUID.
    let universal = json!({"number": "+55 11 98888-7777", "message": "second", "instance_id": id,
                           "quoted_message_id": sent["message_id"]});
    let (s, v) =
        call(http, Method::POST, &format!("{}/zapini/api/v1/send-message", ce.dp), Some(account), Some(&universal))
            .await;
    assert_eq!(s, 200, "{v}");
    // The same text through Z-API to another number, to compare what the network got.
    let (s, v) = http
        .post(
            &ce.instance_url(&p.inst, "send-text"),
            None,
            &json!({"phone": "5511977776666", "message": "Olá! Esta é uma mensagem de teste."}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let zapini = eventually(PATIENCE, || async {
        let m = sim_received(http, ce, &p.inst, "5511988887777").await;
        (m.len() >= 2).then_some(m)
    })
    .await
    .expect("both Zapini texts arrive");
    let zapi = eventually(PATIENCE, || async {
        let m = sim_received(http, ce, &p.inst, "5511977776666").await;
        (!m.is_empty()).then_some(m)
    })
    .await
    .expect("the Z-API text arrives");
    assert_eq!(zapini[0]["text"], json!("Olá! Esta é uma mensagem de teste."));
    assert_eq!(zapini[1]["text"], json!("second"));
    assert_eq!(shape(&zapini[0]), shape(&zapi[0]), "the same message as Z-API's: {} vs {}", zapini[0], zapi[0]);

    // POST /send-media by URL (the file is fetched when it leaves) and POST /send-reaction.
    let files = files::FileServer::start().await;
    let image = files::Blob::png(64, 64, 7);
    let url = files.serve("/image.jpg", &image);
    let media = json!({"recipient": "5511988887777", "media_url": url, "media_type": "image", "caption": "Confira esta imagem!"});
    let (s, v) = call(http, Method::POST, &format!("{}/zapini/send-media", ce.dp), Some(&key), Some(&media)).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["message_id"].is_string() && is_iso_time(&v["timestamp"]), "{v}");
    let reaction = json!({"to": "5511988887777@s.whatsapp.net", "messageId": sent["message_id"], "emoji": "👍"});
    let (s, v) =
        call(http, Method::POST, &format!("{}/zapini/send-reaction", ce.dp), Some(&key), Some(&reaction)).await;
    assert_eq!(s, 200, "{v}");
    let got = files::wait_arrived(http, ce, &p.inst, "5511988887777", 3).await;
    files::assert_media(&got[2], &image, "image/png", "the Zapini image");
    assert_eq!(got[2]["content"]["caption"], json!("Confira esta imagem!"), "{}", got[2]);
    // The reaction shows on the message it names, as a Z-API send-reaction's does.
    let reacted = eventually(PATIENCE, || async {
        let m = sim_received(http, ce, &p.inst, "5511988887777").await;
        let changes = m[0]["changes"].as_array().cloned().unwrap_or_default();
        changes.iter().any(|c| c["reaction"] == "👍").then_some(())
    })
    .await;
    assert!(reacted.is_some(), "the reaction reaches the first message");

    // GET /status, GET /health, GET /qr (connected: there is none).
    let (s, v) = call(http, Method::GET, &format!("{}/zapini/status", ce.dp), Some(&key), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["success"], &v["status"], &v["phone"]),
        (&json!(true), &json!("connected"), &json!("5511999990001"))
    );
    assert_eq!((&v["name"], &v["platform"]), (&json!("test instance"), &json!("android")), "{v}");
    let (s, v) = call(http, Method::GET, &format!("{}/zapini/health", ce.dp), None, None).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["status"] == "ok" && v["uptime"].is_u64() && is_iso_time(&v["timestamp"]), "{v}");
    let (s, v) = call(http, Method::GET, &format!("{}/zapini/qr", ce.dp), Some(&key), None).await;
    assert_eq!(s, 409, "{v}");
    refused(&v, "ALREADY_CONNECTED");

    // The universal instance routes, by UUID and by chatedge's id, under both bases.
    let (s, v) =
        call(http, Method::GET, &format!("{}/zapini/instances?status=connected", ce.dp), Some(account), None).await;
    assert_eq!(s, 200, "{v}");
    let listed = &v["data"]["instances"];
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{v}");
    let one = &listed[0];
    assert_eq!(
        (&one["uuid"], &one["status"], &one["connected"]),
        (&json!(id), &json!("connected"), &json!(true)),
        "{one}"
    );
    assert_eq!(one["phone_number"], json!("5511999990001"));
    assert!(one["messages_sent_today"].is_u64() && one["can_send_messages"] == json!(true), "{one}");
    let (s, v) =
        call(http, Method::GET, &format!("{}/zapini/instances?status=qr_ready", ce.dp), Some(account), None).await;
    assert_eq!((s, &v["data"]["instances"]), (200, &json!([])), "{v}");
    for base in ["zapini", "zapini/api/v1"] {
        for form in [id.as_str(), p.inst.id.as_str()] {
            let (s, v) =
                call(http, Method::GET, &format!("{}/{base}/instances/{form}", ce.dp), Some(account), None).await;
            assert_eq!((s, &v["data"]["uuid"]), (200, &json!(id)), "{base} {form}: {v}");
        }
    }
    let (s, v) =
        call(http, Method::GET, &format!("{}/zapini/instances/{id}/status?realtime=true", ce.dp), Some(&key), None)
            .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["data"],
        json!({"uuid": id, "status": "connected", "connected": true, "phone_number": "5511999990001"})
    );
    let sent_today = eventually(Duration::from_secs(30), || async {
        let (s, v) =
            call(http, Method::GET, &format!("{}/zapini/instances/{id}/stats", ce.dp), Some(account), None).await;
        assert_eq!(s, 200, "{v}");
        (v["data"]["messages_sent_today"].as_u64() >= Some(4)).then_some(v)
    })
    .await
    .expect("the usage reports count the sends");
    assert!(sent_today["data"].get("remaining_quota").is_some(), "{sent_today}");

    // Reconnect, then disconnect: the QR code comes back (status qr_ready).
    let (s, v) =
        call(http, Method::POST, &format!("{}/zapini/instances/{id}/reconnect", ce.dp), Some(account), None).await;
    assert_eq!((s, &v["success"]), (200, &json!(true)), "{v}");
    let (s, v) =
        call(http, Method::POST, &format!("{}/zapini/instances/{id}/disconnect", ce.dp), Some(account), None).await;
    assert_eq!((s, &v["data"]["status"]), (200, &json!("disconnected")), "{v}");
    let qr = eventually(Duration::from_secs(20), || async {
        let (s, v) = call(http, Method::GET, &format!("{}/zapini/instances/{id}/qr", ce.dp), Some(&key), None).await;
        (s == 200 && v["data"]["status"] == "qr_ready").then_some(v)
    })
    .await
    .expect("a QR code after disconnecting");
    assert!(qr["data"]["qr_code"].as_str().is_some_and(|q| q.starts_with("data:image/png;base64,")), "{qr}");
    assert!(qr["data"]["qr_code_text"].is_string() && qr["data"]["qr_expired"] == json!(false), "{qr}");
    let (s, v) = call(http, Method::GET, &format!("{}/zapini/qr", ce.dp), Some(&key), None).await;
    assert_eq!((s, &v["status"]), (200, &json!("qr_ready")), "{v}");
    assert!(v["qr"].as_str().is_some_and(|q| q.starts_with("data:image/png;base64,")), "{v}");

    // A revoked key is refused once the push reaches the data plane; the other still works.
    let url = format!("{}/instances/integrator/{id}/api-keys/{key_id}", ce.dp);
    let (s, v) = call(http, Method::DELETE, &url, Some(account), None).await;
    assert_eq!(s, 200, "{v}");
    let revoked = eventually(Duration::from_secs(20), || async {
        let (s, v) = call(http, Method::GET, &format!("{}/zapini/status", ce.dp), Some(&key), None).await;
        (s == 401).then_some(v)
    })
    .await
    .expect("a revoked key is refused");
    refused(&revoked, "UNAUTHORIZED");
    let (s, v) = call(http, Method::GET, &format!("{}/zapini/status", ce.dp), Some(&other_key), None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(http, Method::DELETE, &url, Some(account), None).await;
    assert_eq!(s, 404, "revoked twice: {v}");
}

/// A second account with an instance of its own; (token, instance).
async fn other_account(http: &Http, ce: &Chatedge) -> (String, Instance) {
    let (s, acc) = http.post(&format!("{}/admin/accounts", ce.cp), Some(&ce.admin_token), &json!({"name": "b"})).await;
    assert_eq!(s, 201, "{acc}");
    let token = acc["integratorToken"].as_str().unwrap().to_owned();
    let (s, v) =
        http.post(&format!("{}/instances/integrator/on-demand", ce.cp), Some(&token), &json!({"name": "b's"})).await;
    assert_eq!(s, 200, "{v}");
    let inst = Instance {
        id: v["id"].as_str().unwrap().to_owned(),
        token: v["token"].as_str().unwrap().to_owned(),
        secret: String::new(),
    };
    wait_known(http, ce, &inst).await;
    (token, inst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_have_the_seeds_shape_and_foreign_instances_answer_as_unknown_ones() {
    let p = paired(&config("")).await;
    let (ce, http) = (&p.ce, &p.http);
    let account = ce.integrator_token.as_str();
    let id = uuid(&p.inst.id);
    let (_, key) = issue_key(http, ce, &id).await;
    wait_key_live(http, ce, &key).await;
    let (b_token, b_inst) = other_account(http, ce).await;
    let b_id = uuid(&b_inst.id);
    let before = metrics::sum(http, &ce.dp, "chatedge_dp_messages_total", "outcome=\"accepted\"").await;
    let send = format!("{}/zapini/send-message", ce.dp);
    let ok = json!({"recipient": "5511988887777", "message": "hi"});

    // Bad or absent credentials: 401, whatever the route.
    for bearer in [None, Some("sk_not_a_key"), Some("not-a-token"), Some(p.inst.token.as_str())] {
        let (s, v) = call(http, Method::POST, &send, bearer, Some(&ok)).await;
        assert_eq!(s, 401, "{bearer:?}: {v}");
        assert!(refused(&v, "UNAUTHORIZED").contains("sk_"), "{v}");
    }
    // Another account's instance, a key naming another instance, an unknown or numeric id: 404.
    let unknown = "01234567-89ab-cdef-0123-456789abcdef";
    let (s, unknown_answer) =
        call(http, Method::GET, &format!("{}/zapini/instances/{unknown}", ce.dp), Some(account), None).await;
    assert_eq!(s, 404);
    refused(&unknown_answer, "INSTANCE_NOT_FOUND");
    let foreign = eventually(Duration::from_secs(20), || async {
        let a = call(http, Method::GET, &format!("{}/zapini/instances/{b_id}", ce.dp), Some(&b_token), None).await;
        (a.0 == 200).then_some(())
    })
    .await;
    assert!(foreign.is_some(), "b's token sees b's instance");
    for (bearer, path) in [
        (account, format!("instances/{b_id}")),
        (key.as_str(), format!("instances/{b_id}")),
        (b_token.as_str(), format!("instances/{id}")),
        (account, "instances/777".to_owned()),
        (account, format!("instances/{unknown}")),
    ] {
        let (s, v) = call(http, Method::GET, &format!("{}/zapini/{path}", ce.dp), Some(bearer), None).await;
        assert_eq!((s, &v), (404, &unknown_answer), "{path}");
    }
    let (s, v) = call(
        http,
        Method::POST,
        &send,
        Some(&key),
        Some(&json!({"recipient": "5511988887777", "message": "hi", "instance_id": b_id})),
    )
    .await;
    assert_eq!((s, &v), (404, &unknown_answer), "a key sends for its own instance only");
    let (s, v) = call(
        http,
        Method::POST,
        &send,
        Some(&b_token),
        Some(&json!({"recipient": "5511988887777", "message": "hi", "instance_id": id})),
    )
    .await;
    assert_eq!((s, &v), (404, &unknown_answer));
    let (s, v) = call(http, Method::GET, &format!("{}/zapini/instances", ce.dp), Some(&b_token), None).await;
    assert_eq!(s, 200);
    let b_list: Vec<&Value> = v["data"]["instances"].as_array().unwrap().iter().map(|i| &i["uuid"]).collect();
    assert_eq!(b_list, vec![&json!(b_id)], "b lists its own instance only");

    // Each invalid field: 422 VALIDATION_ERROR naming it in details; a broken body 400.
    let cases: Vec<(&str, Value, &str)> = vec![
        ("send-message", json!({"message": "hi"}), "recipient"),
        ("send-message", json!({"recipient": "5511988887777"}), "message"),
        ("send-message", json!({"recipient": "zapini", "message": "hi"}), "recipient"),
        ("send-message", json!({"to": 5511988887777u64, "message": "hi"}), "to"),
        ("send-message", json!({"recipient": "5511988887777", "message": "hi", "reply_to": []}), "reply_to"),
        ("send-media", json!({"recipient": "5511988887777", "media_type": "image"}), "media_url"),
        ("send-media", json!({"recipient": "5511988887777", "url": "https://x.test/a.png", "type": "gif"}), "type"),
        (
            "send-media",
            json!({"recipient": "5511988887777", "url": "https://x.test/a", "type": "document"}),
            "filename",
        ),
        ("send-reaction", json!({"to": "5511988887777@s.whatsapp.net", "emoji": "👍"}), "messageId"),
        ("send-reaction", json!({"to": "5511988887777@s.whatsapp.net", "messageId": "3EB0", "emoji": "yes"}), "emoji"),
    ];
    for (route, body, field) in &cases {
        let (s, v) = call(http, Method::POST, &format!("{}/zapini/{route}", ce.dp), Some(&key), Some(body)).await;
        assert_eq!(s, 422, "{route} {body}: {v}");
        refused(&v, "VALIDATION_ERROR");
        assert!(v["error"]["details"][field].is_array(), "{route} {body} names {field}: {v}");
    }
    let (s, v) = call(http, Method::POST, &send, Some(account), Some(&ok)).await;
    assert_eq!(s, 422, "the account's token must name the instance: {v}");
    assert!(v["error"]["details"]["instance_id"].is_array(), "{v}");
    let (s, v) =
        http.raw(Method::POST, &send, Some(&key), &[("content-type", "application/json")], b"{".to_vec()).await;
    assert_eq!(s, 400, "{v}");
    refused(&v, "BAD_REQUEST");
    let (s, v) =
        call(http, Method::GET, &format!("{}/zapini/instances?status=sleeping", ce.dp), Some(account), None).await;
    assert_eq!((s, v["error"]["details"]["status"].is_array()), (422, true), "{v}");
    let after = metrics::sum(http, &ce.dp, "chatedge_dp_messages_total", "outcome=\"accepted\"").await;
    assert_eq!(after, before, "no refused request queued anything");

    // The product layer names the feature (501); unknown paths are 404 in Zapini's shape.
    for (path, feature) in [
        ("conversations?unread=true&per_page=20", "conversations"),
        ("conversations/550e8400-e29b-41d4-a716-446655440045/automation/pause", "conversation automation"),
        ("api/v1/chat/send", "the chat API's conversation views"),
        ("api/v1/chat/messages/msg-abc-123/transcription", "transcription"),
        ("tags", "tags"),
        ("voice/numbers", "voice and IVR"),
        ("api/v1/kanban/boards", "kanban boards"),
        ("api/v1/calendar/events", "calendar"),
        ("api/v1/ai-functions", "AI functions"),
        ("api/v1/external-functions", "external functions"),
        ("auth/login", "login and users"),
    ] {
        let (s, v) = call(http, Method::GET, &format!("{}/zapini/{path}", ce.dp), Some(account), None).await;
        assert_eq!(s, 501, "{path}: {v}");
        assert!(refused(&v, "NOT_SERVED").contains(feature), "{path}: {v}");
        assert!(v["error"]["details"]["feature"].as_str().is_some_and(|f| f.contains(feature)), "{v}");
    }
    let (s, v) = call(http, Method::GET, &format!("{}/zapini/nothing-here", ce.dp), Some(account), None).await;
    assert_eq!(s, 404, "{v}");
    refused(&v, "NOT_FOUND");
    let (s, v) = call(http, Method::GET, &send, Some(&key), None).await;
    assert_eq!(s, 405, "{v}");
    refused(&v, "METHOD_NOT_ALLOWED");

    // Keys are the integrator's: another account cannot issue one for this instance.
    let url = format!("{}/instances/integrator/{id}/api-keys", ce.dp);
    let (s, v) = call(http, Method::POST, &url, Some(&b_token), None).await;
    assert_eq!(s, 404, "{v}");

    let (s, doc) = call(http, Method::GET, &format!("{}/zapini/openapi.json", ce.dp), None, None).await;
    assert_eq!(s, 200);
    assert!(doc["paths"]["/send-message"]["post"].is_object(), "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_past_its_zapini_window_is_refused_429_in_zapinis_shape_with_retry_after() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &format!("{FAST}\n[rate_limits]\nzapini_requests = 3\nzapini_window_s = 600\n"));
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &inst).await;
    let (_, key) = issue_key(&http, &ce, &inst.id).await;
    wait_key_live(&http, &ce, &key).await; // the first of the three
    let status = format!("{}/zapini/status", ce.dp);
    for n in 2..=3 {
        let (s, v) = call(&http, Method::GET, &status, Some(&key), None).await;
        assert_eq!(s, 200, "request {n}: {v}");
    }
    // The account's token shares the account's window with its keys.
    let (s, v) =
        call(&http, Method::GET, &format!("{}/zapini/instances", ce.dp), Some(&ce.integrator_token), None).await;
    assert_eq!(s, 429, "{v}");
    assert!(refused(&v, "RATE_LIMITED").contains("3 requests per 600 s"), "{v}");
    assert_eq!(v["error"]["details"]["limit"], json!(3), "{v}");
    assert_eq!(v["error"]["details"]["window_seconds"], json!(600), "{v}");
    let retry = v["error"]["details"]["retry_after"].as_u64().unwrap();
    assert!((150..=200).contains(&retry), "one request comes back every 200 s: {v}");
    let res = status_and_headers(&http, &status, &key).await;
    assert_eq!(res.0, 429);
    assert!(res.1.iter().any(|(k, v)| k == "retry-after" && v.parse::<u64>().is_ok_and(|s| s >= 1)), "{:?}", res.1);
    assert!(res.1.iter().any(|(k, v)| k == "ratelimit-policy" && v == "\"zapini\";q=3;w=600"), "{:?}", res.1);
    // Z-API calls of the same account are not counted in Zapini's window.
    let (s, v) = http.get(&ce.instance_url(&inst, "status"), None).await;
    assert_eq!(s, 200, "{v}");
}

/// Status and headers of `GET url` with `Bearer key`.
async fn status_and_headers(_: &Http, url: &str, key: &str) -> (u16, Vec<(String, String)>) {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let req = hyper::Request::get(url).header("authorization", format!("Bearer {key}")).body(Full::default()).unwrap();
    let res = client.request(req).await.expect("chatedge answers");
    let (parts, body) = res.into_parts();
    let _ = body.collect().await;
    let headers = parts.headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned())).collect();
    (parts.status.as_u16(), headers)
}

/// What the Z-API dialect reads of `group`.
async fn zapi_metadata(p: &Paired, group: &str) -> Value {
    let (s, v) = p.http.get(&p.ce.instance_url(&p.inst, &format!("group-metadata/{group}")), None).await;
    assert_eq!(s, 200, "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_group_examples_act_on_the_network_as_the_zapi_group_routes_do() {
    let p = paired(&config("")).await;
    let (ce, http) = (&p.ce, &p.http);
    let (_, key) = issue_key(http, ce, &p.inst.id).await;
    wait_key_live(http, ce, &key).await;
    let base = format!("{}/zapini/instances/{}/groups", ce.dp, uuid(&p.inst.id));
    let phones = |m: &Value| -> Vec<(String, bool)> {
        let mut v: Vec<(String, bool)> = m["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["phone"].as_str().unwrap().to_owned(), x["isAdmin"] == json!(true)))
            .collect();
        v.sort();
        v
    };

    let create = json!({"subject": "My New Group", "participants": ["5511987654321", "5511976543210"]});
    let (s, v) = call(http, Method::POST, &base, Some(&key), Some(&create)).await;
    assert_eq!(s, 201, "{v}");
    let jid = v["data"]["group"]["jid"].as_str().unwrap().to_owned();
    assert!(jid.ends_with("@g.us"), "{v}");
    assert_eq!(
        (&v["data"]["group"]["subject"], &v["data"]["message"]),
        (&json!("My New Group"), &json!("Group created successfully"))
    );
    let group = format!("{}-group", jid.trim_end_matches("@g.us"));
    let m = zapi_metadata(&p, &group).await;
    assert_eq!(m["subject"], json!("My New Group"));
    assert_eq!(
        phones(&m),
        vec![("5511976543210".into(), false), ("5511987654321".into(), false), ("5511999990001".into(), true)]
    );

    let (s, v) = call(http, Method::GET, &base, Some(&key), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["total"], json!(1), "{v}");
    let listed = &v["data"]["groups"][0];
    assert_eq!((&listed["jid"], &listed["subject"], &listed["size"]), (&json!(jid), &json!("My New Group"), &json!(3)));
    assert_eq!(listed["owner"], json!("5511999990001@s.whatsapp.net"));

    let one = format!("{base}/{jid}");
    let (s, v) = call(http, Method::GET, &one, Some(&key), None).await;
    assert_eq!(s, 200, "{v}");
    let admins: Vec<(&str, &Value)> = v["data"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["jid"].as_str().unwrap(), &x["admin"]))
        .collect();
    assert!(admins.contains(&("5511999990001@s.whatsapp.net", &json!("superadmin"))), "{v}");
    assert!(admins.contains(&("5511987654321@s.whatsapp.net", &Value::Null)), "{v}");

    let patch = json!({"subject": "New Group Name", "description": "Updated description"});
    let (s, v) = call(http, Method::PATCH, &one, Some(&key), Some(&patch)).await;
    assert_eq!(s, 200, "{v}");
    let m = zapi_metadata(&p, &group).await;
    assert_eq!((&m["subject"], &m["description"]), (&json!("New Group Name"), &json!("Updated description")));

    let (s, v) = call(
        http,
        Method::POST,
        &format!("{one}/participants"),
        Some(&key),
        Some(&json!({"participants": ["5511911112222"]})),
    )
    .await;
    assert_eq!((s, &v["data"]["changed"]), (200, &json!(1)), "{v}");
    let (s, v) = call(
        http,
        Method::DELETE,
        &format!("{one}/participants"),
        Some(&key),
        Some(&json!({"participants": ["5511987654321"]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(
        http,
        Method::POST,
        &format!("{one}/admins"),
        Some(&key),
        Some(&json!({"participants": ["5511976543210"]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        phones(&zapi_metadata(&p, &group).await),
        vec![("5511911112222".into(), false), ("5511976543210".into(), true), ("5511999990001".into(), true)]
    );
    let (s, v) = call(
        http,
        Method::DELETE,
        &format!("{one}/admins"),
        Some(&key),
        Some(&json!({"participants": ["5511976543210"]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(phones(&zapi_metadata(&p, &group).await).contains(&("5511976543210".into(), false)));

    let (s, link) = call(http, Method::GET, &format!("{one}/invite"), Some(&key), None).await;
    assert_eq!(s, 200, "{link}");
    let code = link["data"]["code"].as_str().unwrap().to_owned();
    assert!(!code.is_empty() && link["data"]["invite_link"].as_str().unwrap().ends_with(&code), "{link}");
    let (s, v) = call(http, Method::DELETE, &format!("{one}/invite"), Some(&key), None).await;
    assert_eq!((s, &v["message"]), (200, &json!("Invite link revoked")), "{v}");
    assert!(v["data"]["new_code"].as_str().is_some_and(|c| c != code), "a new code: {v}");

    // Refusals name the field; an unknown group is a 404 in Zapini's shape.
    let (s, v) = call(http, Method::POST, &base, Some(&key), Some(&json!({"participants": ["5511987654321"]}))).await;
    assert_eq!((s, v["error"]["details"]["subject"].is_array()), (422, true), "{v}");
    let (s, v) = call(http, Method::POST, &base, Some(&key), Some(&json!({"subject": "x", "participants": []}))).await;
    assert_eq!((s, v["error"]["details"]["participants"].is_array()), (422, true), "{v}");
    let (s, v) = call(http, Method::GET, &format!("{base}/5511987654321@s.whatsapp.net"), Some(&key), None).await;
    assert_eq!((s, v["error"]["details"]["jid"].is_array()), (422, true), "{v}");
    let (s, v) = call(http, Method::GET, &format!("{base}/120363999999999999@g.us"), Some(&key), None).await;
    assert_eq!(s, 404, "{v}");
    refused(&v, "NOT_FOUND");

    // Leaving: the group is no longer the instance's.
    let (s, v) = call(http, Method::POST, &format!("{one}/leave"), Some(&key), None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(http, Method::GET, &base, Some(&key), None).await;
    assert_eq!((s, &v["data"]["total"]), (200, &json!(0)), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_contact_examples_use_the_instances_address_book() {
    let p = paired(&config("")).await;
    let (ce, http) = (&p.ce, &p.http);
    let account = ce.integrator_token.as_str();
    let id = uuid(&p.inst.id);
    let contacts = format!("{}/zapini/contacts", ce.dp);

    // The seed's POST /contacts, without the fields an address book cannot keep.
    let example = json!({"instance_id": id, "phone_number": "+5511999999999", "name": "John Doe",
                         "email": "john@example.com", "company": "Acme Inc", "notes": "Met at conference"});
    let (s, v) = call(http, Method::POST, &contacts, Some(account), Some(&example)).await;
    assert_eq!(s, 422, "{v}");
    assert!(v["error"]["details"]["email"].is_array(), "{v}");
    let kept = json!({"instance_id": id, "phone_number": "+5511999999999", "name": "John Doe"});
    let (s, v) = call(http, Method::POST, &contacts, Some(account), Some(&kept)).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!((&v["data"]["phone_number"], &v["data"]["name"]), (&json!("5511999999999"), &json!("John Doe")), "{v}");

    let import = json!({"instance_id": id, "contacts": [
        {"phone_number": "+5511999999999", "name": "John Doe"},
        {"phone_number": "+5511888888888", "name": "Jane Smith"}]});
    let (s, v) = call(http, Method::POST, &format!("{contacts}/import"), Some(account), Some(&import)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"], json!({"imported": 2, "skipped": 0, "errors": []}), "{v}");

    // The seed's export: CSV, and JSON (the default); the account's token without an
    // instance_id exports every instance's book.
    let (s, bytes, content_type) = download(ce, account, &format!("contacts/export?format=csv&instance_id={id}")).await;
    assert_eq!((s, content_type.as_str()), (200, "text/csv; charset=utf-8"));
    let csv = String::from_utf8(bytes).unwrap();
    assert_eq!(csv.lines().next(), Some("instance_id,phone_number,name,display_name,profile_picture_url"), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with(&format!("{id},5511888888888,Jane Smith,"))), "{csv}");
    assert_eq!(csv.lines().count(), 3, "a header and the two contacts: {csv}");
    let (s, v) = call(http, Method::GET, &format!("{contacts}/export"), Some(account), None).await;
    assert_eq!(s, 200, "{v}");
    let rows = v["data"].as_array().unwrap();
    assert!(rows.iter().any(|c| c["instance_id"] == json!(id) && c["phone_number"] == json!("5511999999999")), "{v}");
    let (s, v) = call(http, Method::GET, &format!("{contacts}/export?format=xml"), Some(account), None).await;
    assert_eq!((s, v["error"]["details"]["format"].is_array()), (422, true), "{v}");

    // What Z-API's contacts route reads of the same address book.
    let (s, book) = http.get(&ce.instance_url(&p.inst, "contacts"), None).await;
    assert_eq!(s, 200, "{book}");
    let names: Vec<(&str, &str)> = book
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["phone"].as_str().unwrap(), c["name"].as_str().unwrap_or("")))
        .collect();
    assert!(
        names.contains(&("5511999999999", "John Doe")) && names.contains(&("5511888888888", "Jane Smith")),
        "{book}"
    );

    let (s, v) =
        call(http, Method::GET, &format!("{contacts}?search=john&per_page=50&instance_id={id}"), Some(account), None)
            .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["meta"]["pagination"], json!({"total": 1, "per_page": 50, "current_page": 1, "last_page": 1}));
    let one = format!("{contacts}/5511888888888?instance_id={id}");
    let (s, v) = call(http, Method::PUT, &one, Some(account), Some(&json!({"name": "Jane S."}))).await;
    assert_eq!((s, &v["data"]["name"]), (200, &json!("Jane S.")), "{v}");
    let (s, v) = call(http, Method::GET, &one, Some(account), None).await;
    assert_eq!((s, &v["data"]["name"]), (200, &json!("Jane S.")), "{v}");
    let (s, v) = call(http, Method::DELETE, &one, Some(account), None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(http, Method::GET, &format!("{contacts}?instance_id={id}"), Some(account), None).await;
    assert_eq!((s, &v["meta"]["pagination"]["total"]), (200, &json!(1)), "{v}");
    let (s, v) =
        call(http, Method::POST, &contacts, Some(account), Some(&json!({"instance_id": id, "name": "x"}))).await;
    assert_eq!((s, v["error"]["details"]["phone_number"].is_array()), (422, true), "{v}");
}

/// A multipart/form-data body with `file` (named `name`) and the given text fields.
fn form(file: &[u8], name: &str, texts: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "zapini-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in texts {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_media_is_described_sent_by_id_and_deleted() {
    let p = paired(&config("")).await;
    let (ce, http) = (&p.ce, &p.http);
    let (_, key) = issue_key(http, ce, &p.inst.id).await;
    wait_key_live(http, ce, &key).await;
    let image = files::Blob::png(32, 32, 11);
    let upload = format!("{}/zapini/media/upload", ce.dp);

    // The seed's `curl -F "file=@/path/to/image.jpg" -F "type=image"`.
    let (content_type, body) = form(&image.to_vec(), "image.jpg", &[("type", "image")]);
    let (s, v) = http.raw(Method::POST, &upload, Some(&key), &[("content-type", &content_type)], body).await;
    assert_eq!(s, 201, "{v}");
    let d = &v["data"];
    let media_id = d["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (&d["type"], &d["mime_type"], &d["size"]),
        (&json!("image"), &json!("image/png"), &json!(image.len())),
        "{v}"
    );
    assert_eq!(d["filename"], json!("image.jpg"));
    assert!(is_iso_time(&d["expires_at"]) && d["url"].as_str().is_some_and(|u| u.contains("/media/")), "{v}");
    let (s, v) = call(http, Method::GET, &format!("{}/zapini/media/{media_id}", ce.dp), Some(&key), None).await;
    assert_eq!((s, &v["data"]["id"], &v["data"]["size"]), (200, &json!(media_id), &json!(image.len())), "{v}");
    assert_eq!(v["data"]["filename"], json!("image.jpg"), "the name is kept with the id: {v}");

    // A declared type the bytes are not, and no file: refused naming the field.
    let (content_type, body) = form(&image.to_vec(), "x.mp4", &[("type", "video")]);
    let (s, v) = http.raw(Method::POST, &upload, Some(&key), &[("content-type", &content_type)], body).await;
    assert_eq!((s, v["error"]["details"]["type"].is_array()), (422, true), "{v}");
    let (s, v) = call(http, Method::POST, &upload, Some(&key), Some(&json!({}))).await;
    assert_eq!((s, v["error"]["details"]["file"].is_array()), (422, true), "{v}");

    // Sent by id: the sim's phone receives exactly the uploaded bytes.
    let send = format!("{}/zapini/messages/send-media", ce.dp);
    let body = json!({"instance_id": uuid(&p.inst.id), "recipient": "+5511977776666", "media_id": media_id,
                      "media_type": "image", "caption": "Check this image!"});
    let (s, v) = call(http, Method::POST, &send, Some(&key), Some(&body)).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["message_id"].is_string() && is_iso_time(&v["timestamp"]), "{v}");
    let got = files::wait_arrived(http, ce, &p.inst, "5511977776666", 1).await;
    files::assert_media(&got[0], &image, "image/png", "the uploaded image");
    let wrong = json!({"recipient": "5511977776666", "media_id": media_id, "media_type": "document"});
    let (s, v) = call(http, Method::POST, &send, Some(&key), Some(&wrong)).await;
    assert_eq!((s, v["error"]["details"]["media_type"].is_array()), (422, true), "{v}");

    // Deleted: unknown from then on.
    let one = format!("{}/zapini/media/{media_id}", ce.dp);
    let (s, v) = call(http, Method::DELETE, &one, Some(&key), None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(http, Method::GET, &one, Some(&key), None).await;
    assert_eq!(s, 404, "{v}");
    let again = json!({"recipient": "5511977776666", "media_id": media_id});
    let (s, v) = call(http, Method::POST, &send, Some(&key), Some(&again)).await;
    assert_eq!((s, v["error"]["details"]["media_id"].is_array()), (422, true), "{v}");
}

/// What `phone` received from `inst` that names `id`: the message itself, or an act on one
/// the phone does not have (it arrives as an entry of its own, naming the message).
async fn arrived_naming(http: &Http, ce: &Chatedge, inst: &Instance, phone: &str, id: &str, n: usize) -> Vec<Value> {
    let got = eventually(PATIENCE, || async {
        let all = sim_received(http, ce, inst, phone).await;
        let naming: Vec<Value> = all.into_iter().filter(|m| m.to_string().contains(id)).collect();
        (naming.len() >= n).then_some(naming)
    })
    .await;
    got.unwrap_or_else(|| panic!("{phone} did not receive {n} entries naming {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_named_by_its_id_alone_is_edited_reacted_to_and_deleted_even_after_kill_minus_nine() {
    let Paired { dir, ce, http, sink: _sink, inst } = paired(&config("")).await;
    let account = ce.integrator_token.clone();
    let (_, key) = issue_key(&http, &ce, &inst.id).await;
    wait_key_live(&http, &ce, &key).await;
    let chat = "5511977775555";
    let send = format!("{}/zapini/send-message", ce.dp);
    let (s, v) =
        call(&http, Method::POST, &send, Some(&key), Some(&json!({"recipient": "+5511977775555", "message": "draft"})))
            .await;
    assert_eq!(s, 200, "{v}");
    let sent = v["message_id"].as_str().unwrap().to_owned();
    files::wait_arrived(&http, &ce, &inst, chat, 1).await;
    let by_id = |ce: &Chatedge, id: &str| format!("{}/zapini/api/v1/chat/messages/{id}", ce.dp);

    // The seed's PATCH example, with the account's token: nothing but the id names the message.
    let edit = json!({"message": "Updated message content"});
    let (s, v) = call(&http, Method::PATCH, &by_id(&ce, &sent), Some(&account), Some(&edit)).await;
    assert_eq!((s, &v["success"]), (200, &json!(true)), "{v}");
    assert!(v["message_id"].is_string() && v["message_id"] != json!(sent), "the edit's own id: {v}");
    assert!(is_iso_time(&v["timestamp"]), "{v}");
    // A reaction through the key, the id written in lower case.
    let react = format!("{}/reaction", by_id(&ce, &sent.to_lowercase()));
    let (s, v) = call(&http, Method::POST, &react, Some(&key), Some(&json!({"emoji": "👍"}))).await;
    assert_eq!(s, 200, "{v}");
    let changed = eventually(PATIENCE, || async {
        let list = sim_received(&http, &ce, &inst, chat).await;
        let m = list.into_iter().find(|m| m["messageId"] == json!(sent))?;
        (m["changes"].as_array().map_or(0, Vec::len) >= 2).then_some(m)
    })
    .await
    .expect("the edit and the reaction change the message on the phone");
    let changes = changed["changes"].as_array().unwrap();
    assert!(changes[0]["edit"].to_string().contains("Updated message content"), "{changed}");
    assert_eq!(changes[1]["reaction"], json!("👍"), "{changed}");

    // Refusals name the problem; nothing is queued for them.
    let unknown = by_id(&ce, "3EB0FFFFFFFFFFFFFFFF");
    let (s, v) = call(&http, Method::PATCH, &unknown, Some(&key), Some(&edit)).await;
    assert_eq!(s, 404, "{v}");
    assert!(refused(&v, "MESSAGE_NOT_FOUND").contains("message not found"), "{v}");
    let (s, v) = call(&http, Method::PATCH, &by_id(&ce, &sent), Some(&key), Some(&json!({}))).await;
    assert_eq!((s, v["error"]["details"]["message"].is_array()), (422, true), "{v}");
    let (s, v) = call(&http, Method::POST, &react, Some(&key), Some(&json!({"emoji": "like"}))).await;
    assert_eq!((s, v["error"]["details"]["emoji"].is_array()), (422, true), "{v}");
    let (b_token, _) = other_account(&http, &ce).await;
    let (s, v) = call(&http, Method::DELETE, &by_id(&ce, &sent), Some(&b_token), None).await;
    assert_eq!((s, refused(&v, "MESSAGE_NOT_FOUND").is_empty()), (404, false), "another account's message: {v}");
    let (s, v) = call(&http, Method::PUT, &by_id(&ce, &sent), Some(&key), Some(&edit)).await;
    assert_eq!((s, &v["error"]["details"]["allowed"]), (405, &json!("PATCH, DELETE")), "{v}");

    // A message the instance received: reacted to and deleted for the instance, never edited.
    let received = sim_inbound(
        &http,
        &ce,
        &json!({"instanceId": inst.id, "phone": "5544999999999", "type": "text", "message": "oi"}),
    )
    .await;
    // The message is indexed when its event commits, just after the network delivered it.
    let (s, v) = eventually(PATIENCE, || async {
        let (s, v) = call(&http, Method::PATCH, &by_id(&ce, &received), Some(&key), Some(&edit)).await;
        (s != 404).then_some((s, v))
    })
    .await
    .expect("the received message is indexed");
    assert_eq!((s, v["error"]["details"]["id"].is_array()), (422, true), "{v}");
    let (s, v) = call(
        &http,
        Method::POST,
        &format!("{}/reaction", by_id(&ce, &received)),
        Some(&key),
        Some(&json!({"emoji": "❤️"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let acts = arrived_naming(&http, &ce, &inst, "5544999999999", &received, 1).await;
    assert_eq!((&acts[0]["type"], &acts[0]["text"]), (&json!("reaction"), &json!("❤️")), "to the sender: {acts:?}");

    // kill -9: the index is durable like the messages it names.
    ce.kill_9();
    let ce = Chatedge::up(dir.path(), &config(""));
    wait_key_live(&http, &ce, &key).await;
    let (s, v) = call(&http, Method::DELETE, &format!("{}/reaction", by_id(&ce, &sent)), Some(&key), None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(&http, Method::DELETE, &by_id(&ce, &sent), Some(&account), None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(&http, Method::DELETE, &by_id(&ce, &received), Some(&key), None).await;
    assert_eq!(s, 200, "{v}");
    // The restarted sim's phone no longer holds the message: each act arrives naming it.
    let acts = arrived_naming(&http, &ce, &inst, chat, &sent, 2).await;
    let kinds: Vec<&Value> = acts.iter().map(|a| &a["type"]).collect();
    assert_eq!(kinds, [&json!("removeReaction"), &json!("delete")], "{acts:?}");
    assert_eq!(acts[1]["content"]["owner"], json!(true), "deleted for everyone: {acts:?}");
    let acts = arrived_naming(&http, &ce, &inst, "5544999999999", &received, 1).await;
    assert_eq!(acts[0]["type"], json!("delete"), "{acts:?}");
    assert_eq!(acts[0]["content"]["owner"], json!(false), "deleted for the instance only: {acts:?}");
    drop(ce);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_an_instance_received_downloads_by_the_messages_id() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(&config("")).await;
    let (_, key) = issue_key(&http, &ce, &inst.id).await;
    wait_key_live(&http, &ce, &key).await;
    let hook = format!("{}/zapini/instances/{}/webhook", ce.dp, uuid(&inst.id));
    let (s, v) = call(&http, Method::PUT, &hook, Some(&key), Some(&json!({"webhook_url": sink.url}))).await;
    assert_eq!(s, 200, "{v}");

    let image = files::Blob::png(24, 24, 5);
    let data = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, image.to_vec());
    let image_id = sim_inbound(
        &http,
        &ce,
        &json!({"instanceId": inst.id, "phone": "5544999999999", "type": "image", "caption": "foto",
                "data": format!("data:image/png;base64,{data}")}),
    )
    .await;
    let text_id = sim_inbound(
        &http,
        &ce,
        &json!({"instanceId": inst.id, "phone": "5544999999999", "type": "text", "message": "oi"}),
    )
    .await;
    sink.wait_for(Duration::from_secs(30), "message.received for both", |events| {
        [&image_id, &text_id].iter().all(|id| events.iter().any(|e| e.body.to_string().contains(id.as_str())))
    })
    .await;

    // The seed's `curl …/messages/{uuid}/media --output downloaded_media.jpg`.
    let (s, bytes, content_type) = download(&ce, &key, &format!("messages/{image_id}/media")).await;
    assert_eq!((s, content_type.as_str()), (200, "image/png"));
    assert_eq!(bytes, image.to_vec(), "the bytes the sender sent");
    let (s, _, _) = download(&ce, &ce.integrator_token, &format!("api/v1/messages/{image_id}/media")).await;
    assert_eq!(s, 200, "the account's token reaches it too");

    for (id, what) in [(text_id.as_str(), "a text has no media"), ("3EB0000000000000000A", "an unknown id")] {
        let (s, v) = call(&http, Method::GET, &format!("{}/zapini/messages/{id}/media", ce.dp), Some(&key), None).await;
        assert_eq!(s, 404, "{what}: {v}");
        refused(&v, "MESSAGE_NOT_FOUND");
    }
    let (b_token, _) = other_account(&http, &ce).await;
    let (s, _, _) = download(&ce, &b_token, &format!("messages/{image_id}/media")).await;
    assert_eq!(s, 404, "another account's message answers as an unknown one");
}

/// `GET /zapini/{path}` with `bearer`: status, body bytes, Content-Type.
async fn download(ce: &Chatedge, bearer: &str, path: &str) -> (u16, Vec<u8>, String) {
    get_bytes(&format!("{}/zapini/{path}", ce.dp), bearer).await
}
