//! The Z-API instance surface: pairing by QR code, the queue routes, settings that survive a
//! restart, the integrator listing and pacing.

use crate::common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};

const QUICK_QR: &str = r#"
[pacing]
min_delay_ms = 0
max_delay_ms = 0
[webhooks]
allow_insecure_loopback = true
[network.sim]
ack_delay_ms = 1
received_delay_ms = 5
read_delay_ms = 10
qr_rotate_ms = 400
[queue]
max_waiting_disconnected = 5
"#;

/// The sim network answers each send after 4 s, so the first message stays on the wire while
/// the test looks at the queue.
const SLOW_ACK: &str = r#"
[pacing]
min_delay_ms = 0
max_delay_ms = 0
[webhooks]
allow_insecure_loopback = true
[network.sim]
ack_delay_ms = 4000
received_delay_ms = 5
read_delay_ms = 10
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_codes_rotate_expired_ones_are_refused_and_a_scan_connects() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), QUICK_QR);
    let http = Http::new();
    let sink = Sink::start().await;
    let inst = create_instance(&http, &ce, Some(&sink)).await;
    wait_known(&http, &ce, &inst).await;

    let (_, first) = http.get(&ce.instance_url(&inst, "qr-code"), None).await;
    let first = first["value"].as_str().unwrap().to_owned();
    let (_, image) = http.get(&ce.instance_url(&inst, "qr-code/image"), None).await;
    let png =
        image["value"].as_str().unwrap().strip_prefix("data:image/png;base64,").expect("a PNG data URL").to_owned();
    let png = base64::engine::general_purpose::STANDARD.decode(png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let second = eventually(Duration::from_secs(5), || async {
        let (_, v) = http.get(&ce.instance_url(&inst, "qr-code"), None).await;
        v["value"].as_str().filter(|c| *c != first).map(str::to_owned)
    })
    .await
    .expect("the code changes");

    let scan = |qr: String| {
        let (http, url, admin) = (http.clone(), format!("{}/sim/scan", ce.dp), ce.admin_token.clone());
        async move { http.post(&url, Some(&admin), &json!({"qr": qr, "phone": "5511999990001"})).await }
    };
    let (s, v) = scan(first).await;
    assert_eq!((s, v["error"].as_str()), (410, Some("expired_qr_code")), "{v}");
    let (s, v) = scan("2@never-shown".into()).await;
    assert_eq!((s, v["error"].as_str()), (404, Some("unknown_qr_code")), "{v}");
    let (s, v) = scan(second).await;
    assert_eq!(s, 200, "{v}");
    wait_connected(&http, &ce, &inst).await;

    let events =
        sink.wait_for(PATIENCE, "ConnectedCallback", |e| e.iter().any(|r| r.body["type"] == "ConnectedCallback")).await;
    let c = events.iter().find(|r| r.body["type"] == "ConnectedCallback").unwrap();
    assert_eq!((c.body["phone"].as_str(), c.body["connected"].as_bool()), (Some("5511999990001"), Some(true)));
    assert!(c.signed_by(&inst.secret));
    let (s, v) = http.get(&ce.instance_url(&inst, "qr-code"), None).await;
    assert_eq!((s, &v["connected"]), (200, &json!(true)), "no QR code once connected: {v}");
    let (_, me) = http.get(&ce.instance_url(&inst, "me"), None).await;
    assert_eq!((me["connected"].as_bool(), me["phone"].as_str()), (Some(true), Some("5511999990001")));

    let (s, _) = http.get(&ce.instance_url(&inst, "disconnect"), None).await;
    assert_eq!(s, 200);
    sink.wait_for(PATIENCE, "DisconnectedCallback", |e| e.iter().any(|r| r.body["type"] == "DisconnectedCallback"))
        .await;
    let (_, status) = http.get(&ce.instance_url(&inst, "status"), None).await;
    assert_eq!(status["connected"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_can_be_listed_counted_and_emptied_and_refuses_more_than_its_limit() {
    let (_dir, ce, http, inst) = known_instance().await;
    let mut zaaps = Vec::new();
    for i in 0..5 {
        let body = json!({"phone": "5511999998888", "message": format!("waiting {i}"), "delayMessage": 3});
        let (s, v) = http.post(&ce.instance_url(&inst, "send-text"), None, &body).await;
        assert_eq!(s, 200, "{v}");
        zaaps.push(v["zaapId"].as_str().unwrap().to_owned());
    }
    let (s, v) = http
        .post(&ce.instance_url(&inst, "send-text"), None, &json!({"phone": "5511999998888", "message": "one too many"}))
        .await;
    assert_eq!((s, v["error"].as_str()), (429, Some("Queue full")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("disconnected"), "{v}");

    let (_, page) = http.get(&format!("{}?page=1&pageSize=2", ce.instance_url(&inst, "queue")), None).await;
    let page = page.as_array().expect("a list").clone();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["ZaapId"], json!(zaaps[0]));
    assert_eq!(page[0]["Message"], "waiting 0");
    assert_eq!(page[0]["DelayMessage"], 3);
    assert_eq!(page[0]["Phone"], "5511999998888");
    assert_eq!(page[0]["InstanceId"], json!(inst.id));
    let (_, page3) = http.get(&format!("{}?page=3&pageSize=2", ce.instance_url(&inst, "queue")), None).await;
    assert_eq!(page3[0]["ZaapId"], json!(zaaps[4]));

    let (s, _) = http.delete(&ce.instance_url(&inst, &format!("queue/{}", zaaps[1]))).await;
    assert_eq!(s, 200);
    let (_, c) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(c, json!({"count": 4}));
    let (s, _) = http.delete(&ce.instance_url(&inst, &format!("queue/{}", zaaps[1]))).await;
    assert_eq!(s, 404, "already deleted");
    let (s, _) = http.delete(&ce.instance_url(&inst, "queue")).await;
    assert_eq!(s, 200);
    let (_, c) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(c, json!({"count": 0}));
}

/// Z-API's newer listing (`POST /queue`, which its documentation put in place of `GET /queue` in
/// April 2026): pages by cursor, 20 by default and 30 at the most; a removal between two pages
/// neither repeats nor skips a message; a cursor this server never gave is a 400 naming it.
/// `GET /queue?count=true` answers the count (seed 001, line 9369).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_can_be_walked_by_cursor_as_z_apis_post_queue_does() {
    let (_dir, ce, http, inst) = known_instance().await;
    let url = ce.instance_url(&inst, "queue");
    let mut zaaps = Vec::new();
    for i in 0..5 {
        let body = json!({"phone": "5511999998888", "message": format!("waiting {i}"), "delayTyping": 2});
        let (s, v) = http.post(&ce.instance_url(&inst, "send-text"), None, &body).await;
        assert_eq!(s, 200, "{v}");
        zaaps.push(v["zaapId"].clone());
    }
    let listed = |page: &Value| -> Vec<Value> {
        page["messages"].as_array().unwrap().iter().map(|m| m["ZaapId"].clone()).collect()
    };

    let (s, first) = http.post(&url, None, &json!({"pageSize": 2})).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(listed(&first), zaaps[..2].to_vec());
    assert_eq!(first["hasMore"], true);
    let m = &first["messages"][0];
    assert_eq!(
        (m["Message"].as_str(), m["DelayTyping"].as_u64(), m["Beta"].as_bool()),
        (Some("waiting 0"), Some(2), Some(false))
    );
    assert_eq!((m["_id"].clone(), m["InstanceId"].as_str()), (zaaps[0].clone(), Some(inst.id.as_str())));
    let created = m["Created"].as_u64().unwrap();
    let created_at = m["CreatedAt"].as_str().unwrap();
    assert!(created_at.ends_with("+00:00") && created_at.len() == "2026-03-31T14:40:31.776+00:00".len(), "{m}");
    assert!(created_at.contains(&format!(".{:03}+", created % 1000)), "{m}");

    let (s, _) = http.delete(&ce.instance_url(&inst, &format!("queue/{}", zaaps[2].as_str().unwrap()))).await;
    assert_eq!(s, 200);
    let (s, rest) = http.post(&url, None, &json!({"pageSize": 2, "pagingState": first["pagingState"]})).await;
    assert_eq!(s, 200, "{rest}");
    assert_eq!(listed(&rest), vec![zaaps[3].clone(), zaaps[4].clone()], "the removed message is skipped, none repeats");
    assert_eq!((&rest["hasMore"], &rest["pagingState"]), (&json!(false), &Value::Null));

    for body in [b"{}".to_vec(), Vec::new()] {
        let (s, all) = http.raw(hyper::Method::POST, &url, None, &[], body).await;
        assert_eq!(s, 200, "{all}");
        assert_eq!(listed(&all).len(), 4, "the default page holds them all: {all}");
    }
    let (_, big) = http.post(&url, None, &json!({"pageSize": 1000})).await;
    assert_eq!(listed(&big).len(), 4, "a page larger than 30 is served as 30");

    for (body, named) in [
        (json!({"pagingState": "not-a-cursor"}), "pagingState"),
        (json!({"pagingState": 7}), "pagingState"),
        (json!({"pageSize": 0}), "pageSize"),
        (json!({"pageSize": 2.5}), "pageSize"),
        (json!({"pageSize": "many"}), "pageSize"),
    ] {
        let (s, v) = http.post(&url, None, &body).await;
        assert_eq!(s, 400, "{body}: {v}");
        assert!(v["message"].as_str().unwrap().contains(named), "{body}: {v}");
    }
    let (s, c) = http.get(&format!("{url}?count=true"), None).await;
    assert_eq!((s, c), (200, json!({"count": 4})));
}

/// The message on the wire (handed to the network, not yet answered) is in the queue until
/// the network answers: counted once, listed first, refused by DELETE queue/{zaapId}, and left
/// by DELETE queue, which removes only the waiting ones and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_on_the_wire_is_counted_once_and_a_clear_leaves_it_to_be_delivered() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(SLOW_ACK).await;
    let zaaps: Vec<String> = send_texts(&http, &ce, &inst, 3, 41_001, "slow")
        .await
        .iter()
        .map(|v| v["zaapId"].as_str().unwrap().to_owned())
        .collect();
    let (_, c) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(c, json!({"count": 3}), "the one on the wire is counted once");
    let (_, page) = http.get(&format!("{}?page=1&pageSize=10", ce.instance_url(&inst, "queue")), None).await;
    assert_eq!(page.as_array().expect("a list").len(), 3);
    assert_eq!(page[0]["ZaapId"], json!(zaaps[0]));
    let (s, v) = http.delete(&ce.instance_url(&inst, &format!("queue/{}", zaaps[0]))).await;
    assert_eq!((s, v["error"].as_str()), (409, Some("Message already being sent")), "{v}");
    let (s, v) = http.delete(&ce.instance_url(&inst, "queue")).await;
    assert_eq!((s, &v), (200, &json!({"value": true, "deleted": 2, "inFlight": true})));
    let (_, c) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(c, json!({"count": 1}));
    let first: std::collections::HashSet<String> = [zaaps[0].clone()].into();
    sink.wait_for_zaaps(&first, "the delivery of the message that was on the wire").await;
    let emptied = eventually(Duration::from_secs(10), || async {
        let (_, c) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
        (c == json!({"count": 0})).then_some(())
    })
    .await;
    assert!(emptied.is_some(), "the queue empties once the network answers");
    let delivered: Vec<_> = sink.of_type("DeliveryCallback").iter().map(|e| e.body["zaapId"].clone()).collect();
    assert_eq!(delivered, vec![json!(zaaps[0])], "the cleared messages never leave");
}

/// Seed 001's example deletes `queue/5511999999999`: a phone number removes the waiting
/// messages to that recipient (through the phone index), and says how many.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_queue_of_a_phone_number_removes_only_the_messages_to_it() {
    let (_dir, ce, http, inst) = known_instance().await;
    let mut kept = Vec::new();
    for (i, phone) in ["5511999990001", "5511999990002", "5511999990001", "5511999990002"].iter().enumerate() {
        let body = json!({"phone": phone, "message": format!("to {phone} #{i}")});
        let (s, v) = http.post(&ce.instance_url(&inst, "send-text"), None, &body).await;
        assert_eq!(s, 200, "{v}");
        if *phone == "5511999990002" {
            kept.push(v["zaapId"].clone());
        }
    }
    let (s, v) = http.delete(&ce.instance_url(&inst, "queue/5511999990001")).await;
    assert_eq!((s, &v), (200, &json!({"value": true, "deleted": 2, "inFlight": false, "more": false})));
    let (_, c) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(c, json!({"count": 2}));
    let (_, page) = http.get(&format!("{}?page=1&pageSize=10", ce.instance_url(&inst, "queue")), None).await;
    let listed: Vec<_> = page.as_array().expect("a list").iter().map(|m| m["ZaapId"].clone()).collect();
    assert_eq!(listed, kept);
    let (s, _) = http.delete(&ce.instance_url(&inst, "queue/5511999990001")).await;
    assert_eq!(s, 404, "nothing left to that phone");
}

/// What Z-API's documentation added to the on-demand create in 2026-03: `presenceChatCallbackUrl`,
/// `autoReadStatus`, and `disableEnqueueWhenDisconnected`, with which a send while the instance
/// is not connected is refused (and nothing queued) instead of waiting for the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_created_not_to_queue_while_disconnected_refuses_sends_until_paired() {
    let dir = temp_dir();
    let http = Http::new();
    let sink = Sink::start().await;
    let ce = Chatedge::up(dir.path(), FAST);
    let body = json!({"name": "no queue", "presenceChatCallbackUrl": format!("{}/presence", sink.url),
        "autoReadMessage": true, "autoReadStatus": true, "disableEnqueueWhenDisconnected": true});
    let inst = create_instance_with(&http, &ce, Some(&sink), body).await;
    wait_known(&http, &ce, &inst).await;
    let (_, me) = http.get(&ce.instance_url(&inst, "me"), None).await;
    assert_eq!(me["presenceChatCallbackUrl"], json!(format!("{}/presence", sink.url)), "{me}");
    assert_eq!(me["autoReadStatus"], true, "{me}");

    let send = json!({"phone": "5511999998888", "message": "while disconnected"});
    let (s, v) = http.post(&ce.instance_url(&inst, "send-text"), None, &send).await;
    assert_eq!((s, v["error"].as_str()), (409, Some("You are not connected.")), "{v}");
    let (_, c) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(c, json!({"count": 0}), "nothing was queued");
    let (_, metrics) = http.get(&format!("{}/metrics", ce.dp), None).await;
    assert!(metrics.as_str().unwrap().contains(r#"chatedge_dp_refusals_total{reason="not_connected"} 1"#));

    pair(&http, &ce, &inst, "5511999990001").await;
    let (s, v) = http.post(&ce.instance_url(&inst, "send-text"), None, &send).await;
    assert_eq!(s, 200, "connected, it sends: {v}");
    sink.wait_for_zaaps(&[v["zaapId"].as_str().unwrap().to_owned()].into(), "the send once paired").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changes_apply_at_once_and_survive_a_restart() {
    let dir = temp_dir();
    let http = Http::new();
    let sink = Sink::start().await;
    let ce = Chatedge::up(dir.path(), FAST);
    let inst = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &inst).await;
    let (_, me) = http.get(&ce.instance_url(&inst, "me"), None).await;
    assert_eq!((&me["autoReadMessage"], &me["autoReadStatus"]), (&json!(false), &json!(false)), "{me}");
    for (route, body) in [
        ("update-every-webhooks", json!({"value": format!("{}/all", sink.url), "notifySentByMe": true})),
        ("update-webhook-delivery", json!({"value": format!("{}/delivery", sink.url)})),
        ("update-webhook-chat-presence", json!({"value": format!("{}/presence", sink.url)})),
        ("update-name", json!({"value": "renamed"})),
        ("update-auto-read-message", json!({"value": true})),
        ("update-auto-read-status", json!({"value": true})),
    ] {
        let (s, v) = http.put(&ce.instance_url(&inst, route), &body).await;
        assert_eq!((s, &v), (200, &json!({"value": true})), "{route}");
    }
    // Z-API's own examples POST these: accepted too.
    let (s, _) = http
        .post(
            &ce.instance_url(&inst, "update-webhook-connected"),
            None,
            &json!({"value": format!("{}/connected", sink.url)}),
        )
        .await;
    assert_eq!(s, 200);
    let check = |me: &serde_json::Value| {
        assert_eq!(me["deliveryCallbackUrl"], json!(format!("{}/delivery", sink.url)));
        assert_eq!(me["receivedCallbackUrl"], json!(format!("{}/all", sink.url)));
        assert_eq!(me["presenceChatCallbackUrl"], json!(format!("{}/presence", sink.url)));
        assert_eq!(me["connectedCallbackUrl"], json!(format!("{}/connected", sink.url)));
        assert_eq!(me["receiveCallbackSentByMe"], true);
        assert_eq!(me["autoReadMessage"], true);
        assert_eq!(me["autoReadStatus"], true);
        assert_eq!(me["name"], "renamed");
        assert!(me["webhookSecret"].as_str().unwrap().starts_with("whsec_"));
    };
    let (_, me) = http.get(&ce.instance_url(&inst, "me"), None).await;
    check(&me);
    assert!(ce.terminate().success());
    let ce = Chatedge::up(dir.path(), FAST);
    let (_, me) = http.get(&ce.instance_url(&inst, "me"), None).await;
    check(&me);

    // Sent-by-me notifications reach the received webhook.
    pair(&http, &ce, &inst, "5511999990001").await;
    let (_, v) = http
        .post(&ce.instance_url(&inst, "send-text"), None, &json!({"phone": "5511999998888", "message": "mine"}))
        .await;
    let mid = v["messageId"].clone();
    let events = sink
        .wait_for(PATIENCE, "fromMe ReceivedCallback", |e| {
            e.iter().any(|r| r.body["type"] == "ReceivedCallback" && r.body["messageId"] == mid)
        })
        .await;
    let r = events.iter().find(|r| r.body["type"] == "ReceivedCallback").unwrap();
    assert_eq!(
        (r.path.as_str(), &r.body["fromMe"], &r.body["text"]["message"]),
        ("/all", &json!(true), &json!("mine"))
    );
    // A contact's presence reaches the presence webhook.
    let body = json!({"instanceId": inst.id, "phone": "5511999998888", "status": "COMPOSING"});
    let (s, v) = http.post(&format!("{}/sim/presence", ce.dp), Some(&ce.admin_token), &body).await;
    assert_eq!(s, 200, "{v}");
    let events = sink
        .wait_for(PATIENCE, "PresenceChatCallback", |e| e.iter().any(|r| r.body["type"] == "PresenceChatCallback"))
        .await;
    let p = events.iter().find(|r| r.body["type"] == "PresenceChatCallback").unwrap();
    assert_eq!((p.path.as_str(), &p.body["status"]), ("/presence", &json!("COMPOSING")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_integrator_lists_only_its_own_instances_in_zapi_pages() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create_instance(&http, &ce, None).await);
    }
    let (s, v) = http.get(&format!("{}/instances?page=2&pageSize=2", ce.dp), Some(&ce.integrator_token)).await;
    assert_eq!(s, 201, "{v}: seed 001 line 13732 answers the listing with 201");
    assert_eq!(
        (v["total"].as_u64(), v["totalPage"].as_u64(), v["page"].as_u64(), v["pageSize"].as_u64()),
        (Some(3), Some(2), Some(2), Some(2))
    );
    let content = v["content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    assert_eq!(content[0]["id"], json!(ids[2].id));
    assert_eq!(content[0]["token"], json!(ids[2].token));
    assert_eq!(content[0]["middleware"], "web");
    let (s, _) = http.get(&format!("{}/instances", ce.cp), Some("not-the-token")).await;
    assert_eq!(s, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listing_shows_which_instances_the_data_plane_reports_connected() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    let (on, off) = (create_instance(&http, &ce, None).await, create_instance(&http, &ce, None).await);
    let listed = |id: String| {
        let (http, ce) = (&http, &ce);
        async move {
            let (s, v) = http.get(&format!("{}/instances?pageSize=10", ce.dp), Some(&ce.integrator_token)).await;
            assert_eq!(s, 201, "{v}");
            let row = v["content"].as_array().unwrap().iter().find(|r| r["id"] == id.as_str()).cloned().unwrap();
            (row["phoneConnected"].as_bool().unwrap(), row["whatsappConnected"].as_bool().unwrap())
        }
    };
    assert_eq!(listed(on.id.clone()).await, (false, false), "nothing is connected yet");
    pair(&http, &ce, &on, "5511988887777").await;
    eventually(Duration::from_secs(30), || async { (listed(on.id.clone()).await == (true, true)).then_some(()) })
        .await
        .expect("the data plane reports the paired instance connected");
    assert_eq!(listed(off.id.clone()).await, (false, false), "the other one is not");

    let (s, v) = http.get(&ce.instance_url(&on, "disconnect"), None).await;
    assert_eq!(s, 200, "{v}");
    eventually(Duration::from_secs(30), || async { (listed(on.id.clone()).await == (false, false)).then_some(()) })
        .await
        .expect("a disconnect is reported too");
    let taken = common::metrics::sum(&http, &ce.cp, "chatedge_cp_session_reports_total", "outcome=\"taken\"").await;
    assert!(taken >= 2.0, "each change was a report: {taken}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_integrator_renames_subscribes_and_cancels_its_instances() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    let first = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &first).await;
    let rename = |body: serde_json::Value| {
        let (http, url, token) = (http.clone(), format!("{}/instances", ce.dp), ce.integrator_token.clone());
        let headers = [("content-type", "application/json")];
        async move { http.raw(hyper::Method::PUT, &url, Some(&token), &headers, body.to_string().into_bytes()).await }
    };
    let name_of = |inst: &Instance| {
        let (http, url) = (http.clone(), ce.instance_url(inst, "me"));
        async move { http.get(&url, None).await.1["name"].as_str().unwrap().to_owned() }
    };
    // Z-API's own example names no instance: unambiguous while the integrator has one.
    assert_eq!(rename(json!({"value": "Name"})).await, (200, json!({"value": true})));
    assert_eq!(name_of(&first).await, "Name");
    let second = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &second).await;
    let (s, v) = rename(json!({"value": "Other"})).await;
    assert_eq!((s, v["message"].as_str()), (400, Some("id is required: this integrator token has 2 instances")));
    assert_eq!(rename(json!({"value": "Second", "id": second.id})).await, (200, json!({"value": true})));
    assert_eq!((name_of(&first).await, name_of(&second).await), ("Name".to_owned(), "Second".to_owned()));
    let (s, v) = rename(json!({"id": second.id})).await;
    assert_eq!((s, v["message"].as_str()), (400, Some("value (the new name) is required")));
    let (s, _) = rename(json!({"value": "x", "id": "3A5D07856DC26A1C9E2E08E691E63271"})).await;
    assert_eq!(s, 404);

    let lifecycle = |inst: &Instance, which: &str| {
        let url = ce.instance_url(inst, &format!("integrator/on-demand/{which}"));
        let (http, token) = (http.clone(), ce.integrator_token.clone());
        async move { http.post(&url, Some(&token), &json!({})).await }
    };
    let (s, v) = lifecycle(&first, "subscription").await;
    assert_eq!((s, &v["paymentStatus"]), (201, &json!("PAID")), "{v}");
    let (_, me) = http.get(&ce.instance_url(&first, "me"), None).await;
    assert_eq!((&me["paymentStatus"], &me["due"]), (&json!("PAID"), &v["due"]), "{me}");
    let (s, v) = lifecycle(&first, "cancel").await;
    assert_eq!((s, &v["paymentStatus"]), (201, &json!("CANCELED")), "{v}");
    // Cancelling a trial ends it when the trial would have ended.
    let (_, before) = http.get(&ce.instance_url(&second, "me"), None).await;
    let (s, v) = lifecycle(&second, "cancel").await;
    assert_eq!((s, &v["due"]), (201, &before["due"]), "{v}");
    // The instance token must match too.
    let wrong = Instance { token: "not-the-token".into(), ..first.clone() };
    let (s, _) = lifecycle(&wrong, "subscription").await;
    assert_eq!(s, 401, "the data plane checks the instance token first");
}

/// How much sooner the network may acknowledge one message after it left than another.
const ACK_JITTER_MS: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_message_spaces_messages_out() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(FAST).await;
    let send = |body: serde_json::Value| {
        let (http, url) = (http.clone(), ce.instance_url(&inst, "send-text"));
        async move { http.post(&url, None, &body).await.1["messageId"].as_str().unwrap().to_owned() }
    };
    let a = send(json!({"phone": "5511999998888", "message": "first"})).await;
    let b = send(json!({"phone": "5511999998888", "message": "second", "delayMessage": 2})).await;
    let events =
        sink.wait_for(PATIENCE, "both SENT", |e| e.iter().filter(|r| r.body["status"] == "SENT").count() == 2).await;
    let sent_at = |id: &str| {
        events.iter().find(|r| r.body["status"] == "SENT" && r.body["ids"][0] == id).unwrap().body["momment"]
            .as_u64()
            .unwrap()
    };
    // The times are the network's acknowledgements, in whole milliseconds: each comes a
    // millisecond or two after its message left (the sim's ack delay, timer ticks), so the
    // second may be acknowledged a little sooner after leaving than the first was.
    let (first, second) = (sent_at(&a), sent_at(&b));
    assert!(
        second + ACK_JITTER_MS >= first + 2000,
        "delayMessage 2 keeps two seconds between the messages: {first} then {second}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_instance_answers_on_the_data_plane_as_soon_as_create_returns() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    for _ in 0..10 {
        let inst = create_instance(&http, &ce, None).await;
        let (s, v) = http.get(&ce.instance_url(&inst, "status"), None).await;
        assert_eq!(s, 200, "read-your-writes after create: {v}");
    }
}

/// A running chatedge (QUICK_QR) with one instance its data plane knows, no webhooks.
async fn known_instance() -> (tempfile::TempDir, Chatedge, Http, Instance) {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), QUICK_QR);
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &inst).await;
    (dir, ce, http, inst)
}
