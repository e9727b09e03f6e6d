//! Zapini's webhooks (seed 002, lines 839–1190): `PUT /zapini/instances/{uuid}/webhook` points
//! an instance's events at a URL, in Zapini's shape and names (`message.sent`,
//! `message.status`, `message.received`, `message.reaction`, `instance.*`), filtered by the
//! events chosen and signed as the seed's PHP and Node examples verify them — the Node one
//! after its `JSON.stringify(JSON.parse(body))` round trip. And the same message sent through
//! each of the three dialects reaches the sim identically, each instance's webhook speaking its
//! own dialect.

use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use hmac::{Hmac, KeyInit, Mac};
use hyper::Method;
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "your_secret_key_here";

/// FAST, with Zapini's per-account window wide enough for tests that poll.
fn config() -> String {
    format!("{FAST}\n[rate_limits]\nzapini_requests = 1000000\nzapini_window_s = 1\n")
}

fn uuid(id: &str) -> String {
    let h = id.to_ascii_lowercase();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

async fn call(http: &Http, method: Method, url: &str, bearer: &str, body: Option<&Value>) -> (u16, Value) {
    let headers = [("content-type", "application/json")];
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    http.raw(method, url, Some(bearer), &headers, body).await
}

/// Sets the Zapini webhook of `inst` (with the account's token) and answers the answer.
async fn set_webhook(http: &Http, ce: &Chatedge, inst: &Instance, body: &Value) -> (u16, Value) {
    let url = format!("{}/zapini/instances/{}/webhook", ce.dp, uuid(&inst.id));
    call(http, Method::PUT, &url, &ce.integrator_token, Some(body)).await
}

/// `hash_hmac('sha256', $payload, $secret)` of seed 002's PHP example.
fn php_signature(raw: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(raw);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Seed 002's Node example: the signature of `JSON.stringify(JSON.parse(raw))`. Run by node
/// itself when it is installed; otherwise the same round trip by serde (which writes what
/// `JSON.stringify` writes for bodies without integer-like keys or non-integer numbers).
fn node_signature(raw: &[u8]) -> String {
    let script = "const c=require('crypto');const raw=require('fs').readFileSync(0,'utf8');\
        process.stdout.write(c.createHmac('sha256',process.argv[1]).update(JSON.stringify(JSON.parse(raw))).digest('hex'));";
    let node = Command::new("node").args(["-e", script, SECRET]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn();
    match node {
        Ok(mut child) => {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(raw).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "node ran the seed's check");
            String::from_utf8(out.stdout).unwrap()
        }
        Err(_) => {
            eprintln!("node is not installed: the round trip is checked with serde");
            let again = serde_json::to_vec(&serde_json::from_slice::<Value>(raw).unwrap()).unwrap();
            php_signature(&again)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zapini_events_are_filtered_shaped_and_signed_as_the_seeds_examples_check_them() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(&config()).await;
    let hook = format!("{}/zapini", sink.url);
    // The seed's example body, with our URL and more events.
    let (s, v) = set_webhook(
        &http,
        &ce,
        &inst,
        &json!({"webhook_url": hook, "webhook_secret": SECRET, "is_active": true,
                "events": ["message.incoming", "message.status", "message.outgoing", "message.reaction", "contact.update"]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], json!(true), "{v}");
    let d = &v["data"];
    assert_eq!(d["events"], json!(["message.received", "message.sent", "message.status", "message.reaction"]), "{v}");
    assert_eq!((&d["webhook_url"], &d["is_active"], &d["has_secret"]), (&json!(hook), &json!(true), &json!(true)));
    assert_eq!(d["events_not_sent"], json!(["contact.update"]));
    assert!(!v.to_string().contains(SECRET), "the secret is never shown: {v}");
    let url = format!("{}/zapini/instances/{}/webhook", ce.dp, inst.id);
    let (s, got) = call(&http, Method::GET, &url, &ce.integrator_token, None).await;
    let mut set = d.clone();
    set.as_object_mut().unwrap().remove("events_not_sent");
    assert_eq!((s, &got["data"]), (200, &set), "{got}");

    // A text sent through Zapini: message.sent and message.status (sent, then delivered and
    // read as the sim's phone reports them) for the same ids.
    let body = json!({"recipient": "5511988887777", "message": "olá"});
    let send = format!("{}/zapini/send-message", ce.dp);
    let body_with_instance =
        json!({"recipient": body["recipient"], "message": body["message"], "instance_id": inst.id});
    let (s, sent) = call(&http, Method::POST, &send, &ce.integrator_token, Some(&body_with_instance)).await;
    assert_eq!(s, 200, "{sent}");
    let wa_id = sent["message_id"].as_str().unwrap().to_owned();
    // Someone writes, and reacts to our text.
    let inbound = |body: Value| {
        let (http, ce) = (&http, &ce);
        async move { sim_inbound(http, ce, &body).await }
    };
    let text_id =
        inbound(json!({"instanceId": inst.id, "phone": "5544999999999", "type": "text", "message": "oi"})).await;
    inbound(json!({"instanceId": inst.id, "phone": "5544999999999", "type": "reaction", "value": "👍",
        "reactionBy": "5544999999999", "referencedMessage": {"messageId": wa_id, "fromMe": true, "phone": "5544999999999"}}))
    .await;
    let is = |e: &sink::Received, event: &str| e.body["event"] == event;
    let events = sink
        .wait_for(Duration::from_secs(30), "message.sent, .status, .received and .reaction", |events| {
            ["message.sent", "message.status", "message.received", "message.reaction"]
                .iter()
                .all(|name| events.iter().any(|e| is(e, name)))
        })
        .await;
    let uuid_of_instance = uuid(&inst.id);
    for e in events.iter().filter(|e| e.path == "/zapini") {
        // Seed 002's headers, and both of its verifications.
        assert_eq!(e.header("x-webhook-event"), e.body["event"].as_str().unwrap(), "{}", e.body);
        assert_eq!(e.header("x-instance-uuid"), uuid_of_instance);
        assert_eq!(e.header("user-agent"), "Zapini-Webhook/1.0");
        assert_eq!(e.header("x-webhook-signature"), php_signature(&e.raw), "PHP: {}", e.body);
        assert_eq!(e.header("x-webhook-signature"), node_signature(&e.raw), "Node: {}", e.body);
        assert_eq!(e.body["instance_uuid"], json!(uuid_of_instance));
        assert!(e.body["timestamp"].as_str().is_some_and(|t| t.ends_with("+00:00")), "{}", e.body);
    }
    let first = |name: &str| events.iter().find(|e| is(e, name)).unwrap().body["data"].clone();
    let d = first("message.sent");
    assert_eq!((&d["whatsapp_message_id"], &d["content"]), (&json!(wa_id), &json!("olá")), "{d}");
    assert_eq!(
        (&d["recipient_number"], &d["chat_id"]),
        (&json!("5511988887777"), &json!("5511988887777@s.whatsapp.net"))
    );
    let status = first("message.status");
    assert_eq!((&status["whatsapp_message_id"], &status["message_id"]), (&d["whatsapp_message_id"], &d["message_id"]));
    assert_eq!((&status["previous_status"], &status["new_status"]), (&json!("pending"), &json!("sent")));
    let r = first("message.received");
    assert_eq!(
        (&r["whatsapp_message_id"], &r["content"], &r["sender_number"]),
        (&json!(text_id), &json!("oi"), &json!("5544999999999"))
    );
    let reaction = first("message.reaction");
    assert_eq!((&reaction["emoji"], &reaction["reacted_message_id"]), (&json!("👍"), &json!(wa_id)));
    let about_ours = |b: &Value| [&wa_id, &text_id].iter().any(|id| b["messageId"] == **id || b["ids"][0] == **id);
    assert!(
        !events.iter().any(|e| e.body["type"].is_string() && about_ours(&e.body)),
        "no Z-API callback about what happened once Zapini's webhook was set"
    );

    // Only the chosen events: with connection.update alone, a logout is heard and a text's
    // events are not (the outbox is empty once the disconnect event arrived after them).
    let (s, v) = set_webhook(&http, &ce, &inst, &json!({"webhook_url": hook, "events": ["connection.update"]})).await;
    assert_eq!(s, 200, "{v}");
    let before = sink.events().len();
    let (s, second) = call(&http, Method::POST, &send, &ce.integrator_token, Some(&body_with_instance)).await;
    assert_eq!(s, 200, "{second}");
    let second_id = second["message_id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(30), || async {
        sim_received(&http, &ce, &inst, "5511988887777").await.iter().any(|m| m["messageId"] == second_id).then_some(())
    })
    .await
    .expect("the second text arrived");
    let url = format!("{}/zapini/instances/{}/disconnect", ce.dp, uuid(&inst.id));
    let (s, v) = call(&http, Method::POST, &url, &ce.integrator_token, None).await;
    assert_eq!(s, 200, "{v}");
    let events = sink
        .wait_for(Duration::from_secs(30), "instance.disconnected", |events| {
            events.iter().any(|e| is(e, "instance.disconnected"))
        })
        .await;
    let gone = events.iter().find(|e| is(e, "instance.disconnected")).unwrap();
    assert_eq!(
        (&gone.body["data"]["new_status"], &gone.body["data"]["logged_out"]),
        (&json!("disconnected"), &json!(true))
    );
    assert_eq!(gone.header("x-webhook-signature"), php_signature(&gone.raw), "the secret set before is kept");
    eventually(Duration::from_secs(30), || async {
        (metrics::sum(&http, &ce.dp, "chatedge_dp_outbox_tracked", "").await == 0.0).then_some(())
    })
    .await
    .expect("the outbox drains");
    let all = sink.events();
    let after: Vec<&str> = all[before..].iter().filter_map(|e| e.body["event"].as_str()).collect();
    assert_eq!(after, ["instance.disconnected"], "nothing the filter leaves out");

    // Bad settings name their field in Zapini's 422.
    for (body, field) in [
        (json!({"events": ["message.sent"]}), "webhook_url"),
        (json!({"webhook_url": hook, "events": ["message.exploded"]}), "events"),
        (json!({"webhook_url": hook, "is_active": "yes"}), "is_active"),
    ] {
        let (s, v) = set_webhook(&http, &ce, &inst, &body).await;
        assert_eq!((s, &v["success"]), (422, &json!(false)), "{body}: {v}");
        assert!(v["error"]["details"][field].is_array(), "{body}: names {field}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_text_through_each_dialect_reaches_the_sim_alike_and_each_webhook_speaks_its_own() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config());
    let http = Http::new();
    let sink = Sink::start().await;
    let mut instances = Vec::new();
    for (n, phone) in ["5511999990001", "5511999990002", "5511999990003"].iter().enumerate() {
        let inst = create_instance(&http, &ce, None).await;
        pair(&http, &ce, &inst, phone).await;
        instances.push((n, inst));
    }
    let [(_, zapi), (_, zami), (_, zapini)] = &instances[..] else { unreachable!() };
    // Each instance's webhook in its own dialect, to its own path.
    let (s, v) = http
        .post(&ce.instance_url(zapi, "update-every-webhooks"), None, &json!({"value": format!("{}/zapi", sink.url)}))
        .await;
    assert_eq!(s, 200, "{v}");
    let zami_hook = format!("{}/zami/v1/connections/{}/webhook", ce.dp, zami.id);
    let (s, v) = http
        .raw(
            Method::PUT,
            &zami_hook,
            Some(&ce.integrator_token),
            &[],
            json!({"url": format!("{}/zami", sink.url)}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = set_webhook(
        &http,
        &ce,
        zapini,
        &json!({"webhook_url": format!("{}/zapini", sink.url), "webhook_secret": SECRET}),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // The same text to the same number, once per dialect.
    let to = "5511988887777";
    let (s, a) = http.post(&ce.instance_url(zapi, "send-text"), None, &json!({"phone": to, "message": "mesma"})).await;
    assert_eq!(s, 200, "{a}");
    let (s, b) = http
        .post(
            &format!("{}/zami/v1/send-text", ce.dp),
            Some(&ce.integrator_token),
            &json!({"connection_id": zami.id, "recipient": to, "body": "mesma"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, c) = call(
        &http,
        Method::POST,
        &format!("{}/zapini/send-message", ce.dp),
        &ce.integrator_token,
        Some(&json!({"instance_id": zapini.id, "recipient": to, "message": "mesma"})),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let ids = [a["messageId"].clone(), b["id"].clone(), c["message_id"].clone()];
    let mut arrived = Vec::new();
    for ((_, inst), id) in instances.iter().zip(&ids) {
        let m = eventually(Duration::from_secs(30), || async {
            sim_received(&http, &ce, inst, to).await.into_iter().find(|m| m["messageId"] == *id)
        })
        .await
        .unwrap_or_else(|| panic!("{id} reached the sim"));
        arrived.push(m);
    }
    for m in &arrived[1..] {
        assert_eq!(
            (&m["type"], &m["text"], &m["content"]),
            (&arrived[0]["type"], &arrived[0]["text"], &arrived[0]["content"]),
            "alike: {m} vs {}",
            arrived[0]
        );
    }

    // The same reply to each: each webhook hears it in its dialect.
    for (_, inst) in &instances {
        sim_inbound(&http, &ce, &json!({"instanceId": inst.id, "phone": to, "type": "text", "message": "recebi"}))
            .await;
    }
    let events = sink
        .wait_for(Duration::from_secs(30), "each dialect's received event", |events| {
            let on = |path: &str, f: &dyn Fn(&Value) -> bool| events.iter().any(|e| e.path == path && f(&e.body));
            on("/zapi", &|b| b["type"] == "ReceivedCallback" && b["text"]["message"] == "recebi")
                && on("/zami", &|b| b["name"] == "message.created" && b["object"]["body"] == "recebi")
                && on("/zapini", &|b| b["event"] == "message.received" && b["data"]["content"] == "recebi")
        })
        .await;
    // And what each heard of its own send.
    assert!(events
        .iter()
        .any(|e| e.path == "/zapi" && e.body["type"] == "DeliveryCallback" && e.body["messageId"] == ids[0]));
    assert!(events.iter().any(|e| e.path == "/zapini"
        && e.body["event"] == "message.sent"
        && e.body["data"]["whatsapp_message_id"] == ids[2]));
    assert!(
        events.iter().filter(|e| e.path == "/zami").all(|e| e.body["name"] == "message.created"),
        "Zami has only message.created"
    );
}
