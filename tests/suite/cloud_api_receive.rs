//! End to end, through the real binary: a Cloud API instance created on demand connects
//! without pairing (its credentials verify against a fake Graph API on 127.0.0.1), refuses the
//! pairing routes, answers Meta's webhook handshake, and turns signed notifications into signed
//! Z-API webhooks — every incoming message type, statuses of its own sends, a failed status —
//! once each, with received media downloaded and served; a wrong signature is refused and keeps
//! nothing.

use crate::common;
use crate::fake_graph;

use common::cloud_notify::{self, CloudNumber};
use common::{wait_connected, Chatedge, Http, Instance, Sink, FAST, PATIENCE};
use fake_graph::FakeGraph;
use serde_json::{json, Value};

const CUSTOMER: &str = "5511987650001";

/// A running chatedge whose Graph API is `fake`, with one Cloud API instance whose webhooks
/// point at `sink`, connected.
struct Cloud {
    ce: Chatedge,
    http: Http,
    sink: Sink,
    fake: FakeGraph,
    inst: Instance,
    number: CloudNumber,
    webhook_url: String,
    verify_token: String,
    _dir: tempfile::TempDir,
}

impl Cloud {
    async fn start() -> Cloud {
        let fake = FakeGraph::start().await;
        let dir = common::temp_dir();
        let ce = Chatedge::up(dir.path(), &format!("{FAST}\n{}", fake.config()));
        let (http, sink) = (Http::new(), Sink::start().await);
        let mut body = json!({"name": "cloud shop", "network": "cloud-api", "cloudApi": fake.credentials()});
        for (field, path) in [
            ("deliveryCallbackUrl", "delivery"),
            ("receivedCallbackUrl", "received"),
            ("messageStatusCallbackUrl", "status"),
            ("connectedCallbackUrl", "connected"),
        ] {
            body[field] = json!(format!("{}/{path}", sink.url));
        }
        // Through the data plane, as a Z-API client would: the answer names its webhook URL.
        let (status, v) =
            http.post(&format!("{}/instances/integrator/on-demand", ce.dp), Some(&ce.integrator_token), &body).await;
        assert_eq!(status, 200, "create: {v}");
        let inst = Instance {
            id: v["id"].as_str().unwrap().to_owned(),
            token: v["token"].as_str().unwrap().to_owned(),
            secret: v["webhookSecret"].as_str().unwrap().to_owned(),
        };
        assert_eq!(v["network"], "cloud-api");
        let webhook_url = v["webhookUrl"].as_str().expect("the answer shows the webhook URL").to_owned();
        assert_eq!(webhook_url, format!("{}/network/cloud-api/{}/webhook", ce.dp, inst.id));
        let verify_token = v["verifyToken"].as_str().expect("a verify token is generated").to_owned();
        assert!(verify_token.len() >= 16);
        wait_connected(&http, &ce, &inst).await;
        let creds = fake.credentials();
        let number = CloudNumber {
            phone_number_id: fake.phone_number_id.clone(),
            business_account_id: fake.waba_id.clone(),
            display_phone_number: fake.phone_digits(),
            access_token: fake.token.clone(),
            app_secret: creds["appSecret"].as_str().unwrap().to_owned(),
        };
        Cloud { ce, http, sink, fake, inst, number, webhook_url, verify_token, _dir: dir }
    }

    async fn notify(&self, notification: &Value) -> (u16, Value) {
        let (status, text) = cloud_notify::notify(&self.webhook_url, &self.number.app_secret, notification).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Waits for the ReceivedCallback of the network's message `wamid`.
    async fn received(&self, wamid: &str) -> Value {
        let events = self.sink.wait_for(PATIENCE, wamid, |e| e.iter().any(|r| r.body["messageId"] == wamid)).await;
        let r = events.into_iter().find(|r| r.body["messageId"] == wamid).unwrap();
        assert!(r.signed_by(&self.inst.secret), "the webhook is signed with the instance's secret");
        assert_eq!(r.body["type"], "ReceivedCallback");
        r.body
    }

    /// The bytes at `url` (a chatedge media link: no token needed).
    async fn media_link_bytes(&self, url: &str) -> Vec<u8> {
        use http_body_util::BodyExt;
        let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        let res = client.get(url.parse().unwrap()).await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        res.into_body().collect().await.unwrap().to_bytes().to_vec()
    }

    /// Puts a file "on Meta's side" (the fake's media upload) and returns its media id.
    async fn meta_media(&self, mime: &str, bytes: &[u8]) -> String {
        let boundary = "metaboundary7";
        let mut body = Vec::new();
        for (name, value) in [("messaging_product", "whatsapp"), ("type", mime)] {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: {mime}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let url = format!("{}/{}/media", self.fake.base_url, self.fake.phone_number_id);
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let headers = [("content-type", content_type.as_str())];
        let (status, answer) = self.http.raw(hyper::Method::POST, &url, Some(&self.fake.token), &headers, body).await;
        assert_eq!(status, 200, "upload to the fake: {answer}");
        answer["id"].as_str().unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_api_instance_connects_without_pairing_and_has_no_qr_code() {
    let c = Cloud::start().await;
    let (_, status) = c.http.get(&c.ce.instance_url(&c.inst, "status"), None).await;
    assert_eq!(status["connected"], true);
    assert_eq!(status["network"], "cloud-api");
    assert_eq!(status["verifiedName"], "Chatedge Test Shop");
    assert_eq!(status["qualityRating"], "GREEN");
    let (_, me) = c.http.get(&c.ce.instance_url(&c.inst, "me"), None).await;
    assert_eq!(me["phone"], c.fake.phone_digits());
    assert_eq!(me["webhookUrl"], c.webhook_url);
    let (_, device) = c.http.get(&c.ce.instance_url(&c.inst, "device"), None).await;
    assert_eq!(device["name"], "Chatedge Test Shop");
    assert_eq!(device["isBusiness"], true);
    let verified =
        c.fake.requests().iter().any(|r| r.method == "GET" && r.path == format!("/{}", c.fake.phone_number_id));
    assert!(verified, "the credentials were checked against the Graph API");

    for route in ["qr-code", "qr-code/image", "phone-code/5511999990001"] {
        let (s, v) = c.http.get(&c.ce.instance_url(&c.inst, route), None).await;
        assert_eq!(s, 400, "{route}: {v}");
        assert!(v["message"].as_str().unwrap().contains("Cloud API network, which has no QR code"), "{route}: {v}");
    }

    let (s, challenge) = cloud_notify::handshake(&c.webhook_url, &c.verify_token, "1158201444").await;
    assert_eq!((s, challenge.as_str()), (200, "1158201444"), "the handshake echoes the challenge");
    let (s, _) = cloud_notify::handshake(&c.webhook_url, "not-the-token", "1158201444").await;
    assert_eq!(s, 403, "a wrong verify token is refused");
    let other = c.webhook_url.replace(&c.inst.id, "0123456789ABCDEF0123456789ABCDEF");
    let (s, _) = cloud_notify::handshake(&other, &c.verify_token, "1").await;
    assert_eq!(s, 404, "no webhook for an unknown instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_notifications_become_received_callbacks_once_and_bad_signatures_keep_nothing() {
    let c = Cloud::start().await;
    let hello = c.number.message(CUSTOMER, "Sheena Nelson", "wamid.HELLO1", "text", json!({"body": "Hello there"}));

    // Refused before anything is read: no signature, a wrong one.
    let body = serde_json::to_vec(&hello).unwrap();
    let (s, _) = cloud_notify::post_signed(&c.webhook_url, &body, None).await;
    assert_eq!(s, 401);
    let forged = cloud_notify::signature("not-the-app-secret", &body);
    let (s, _) = cloud_notify::post_signed(&c.webhook_url, &body, Some(&forged)).await;
    assert_eq!(s, 403);
    let refused =
        common::metrics::sum(&c.http, &c.ce.dp, "chatedge_dp_cloud_api_notifications_total", "bad_signature").await;
    assert_eq!(refused, 2.0, "both refusals are counted");

    let (s, answer) = c.notify(&hello).await;
    assert_eq!(s, 200, "{answer}");
    let r = c.received("wamid.HELLO1").await;
    assert_eq!(r["text"]["message"], "Hello there");
    assert_eq!(r["senderName"], "Sheena Nelson");
    assert_eq!(r["phone"], CUSTOMER);
    assert_eq!(r["fromMe"], false);
    assert_eq!(
        c.sink.events().iter().filter(|e| e.body["messageId"] == "wamid.HELLO1").count(),
        1,
        "the refused deliveries kept nothing"
    );

    // Meta delivers the same notification again: answered 200, nothing new.
    let (s, again) = c.notify(&hello).await;
    assert_eq!((s, again["duplicates"].as_u64(), again["handed"].as_u64()), (200, Some(1), Some(0)), "{again}");

    // Every other kind the Cloud API sends.
    let kinds = [
        (
            "wamid.LOC",
            "location",
            json!({"latitude": 37.483307, "longitude": -122.148981, "name": "Philz Coffee", "address": "1 Hacker Way"}),
        ),
        (
            "wamid.CARD",
            "contacts",
            json!([{"name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara"},
            "phones": [{"phone": "+1 (940) 555-1234", "type": "HOME", "wa_id": "19405551234"}]}]),
        ),
        ("wamid.REACT", "reaction", json!({"message_id": "wamid.HELLO1", "emoji": "\u{1F44D}"})),
        ("wamid.BTN", "interactive", json!({"type": "button_reply", "button_reply": {"id": "yes-1", "title": "Yes"}})),
        (
            "wamid.LIST",
            "interactive",
            json!({"type": "list_reply", "list_reply": {"id": "row-2", "title": "Express", "description": "Next day"}}),
        ),
        ("wamid.QUICK", "button", json!({"payload": "STOP", "text": "Stop promotions"})),
        (
            "wamid.ORDER",
            "order",
            json!({"catalog_id": "194836987003835", "text": "Thanks", "product_items": [
            {"product_retailer_id": "sku-1", "quantity": 2, "item_price": 30, "currency": "BRL"}]}),
        ),
        (
            "wamid.SYS",
            "system",
            json!({"body": "changed number", "new_wa_id": "5511987650002", "type": "user_changed_number"}),
        ),
    ];
    for (wamid, kind, object) in &kinds {
        let (s, a) = c.notify(&c.number.message(CUSTOMER, "Sheena Nelson", wamid, kind, object.clone())).await;
        assert_eq!(s, 200, "{kind}: {a}");
    }
    assert_eq!(c.received("wamid.LOC").await["location"]["name"], "Philz Coffee");
    assert_eq!(c.received("wamid.CARD").await["contact"]["displayName"], "Barbara J. Johnson");
    assert_eq!(c.received("wamid.REACT").await["reaction"]["value"], "\u{1F44D}");
    assert_eq!(c.received("wamid.BTN").await["buttonsResponseMessage"]["buttonId"], "yes-1");
    assert_eq!(c.received("wamid.LIST").await["listResponseMessage"]["selectedRowId"], "row-2");
    assert_eq!(c.received("wamid.QUICK").await["buttonsResponseMessage"]["buttonId"], "STOP");
    assert_eq!(c.received("wamid.ORDER").await["order"]["itemCount"], 2);
    assert_eq!(c.received("wamid.SYS").await["notification"], "USER_CHANGED_NUMBER");

    // A received image is fetched from the Graph API and served by chatedge.
    // A PNG header and filler: the media store checks the type from the bytes.
    let png = [&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D][..], b"IHDR", &[7u8; 500]].concat();
    let media_id = c.meta_media("image/png", &png).await;
    let image = json!({"caption": "a pixel", "mime_type": "image/png", "sha256": "x", "id": media_id});
    let (s, a) = c.notify(&c.number.message(CUSTOMER, "Sheena Nelson", "wamid.IMG", "image", image)).await;
    assert_eq!(s, 200, "{a}");
    let r = c.received("wamid.IMG").await;
    assert_eq!(r["image"]["caption"], "a pixel");
    let url = r["image"]["imageUrl"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/media/", c.ce.dp)), "served by chatedge: {url}");
    let fetched = c.media_link_bytes(url).await;
    assert_eq!(fetched, png, "the same bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_become_message_status_callbacks_and_a_failed_one_a_delivery_error() {
    let c = Cloud::start().await;
    let send = |phone: &'static str| {
        let url = c.ce.instance_url(&c.inst, "send-text");
        let http = &c.http;
        async move {
            let (s, v) = http.post(&url, None, &json!({"phone": phone, "message": "your order shipped"})).await;
            assert_eq!(s, 200, "{v}");
            v
        }
    };
    let ok = send("5511987650011").await;
    let failing = send("5511987650012").await;
    let zaaps: std::collections::HashSet<String> =
        [&ok, &failing].iter().map(|v| v["zaapId"].as_str().unwrap().to_owned()).collect();
    c.sink.wait_for_zaaps(&zaaps, "the DeliveryCallbacks of both sends").await;
    let callback_of = |to: &str| {
        c.fake
            .sends()
            .into_iter()
            .find(|b| b["to"] == to)
            .and_then(|b| b["biz_opaque_callback_data"].as_str().map(str::to_owned))
    };
    let ours = callback_of("5511987650011").expect("the send carried our message id");
    assert_eq!(ours, ok["messageId"].as_str().unwrap(), "biz_opaque_callback_data is our message id");

    for status in ["sent", "delivered", "read"] {
        let (s, a) = c.notify(&c.number.status("wamid.OK1", status, "5511987650011", Some(&ours))).await;
        assert_eq!(s, 200, "{status}: {a}");
    }
    let events = c
        .sink
        .wait_for(PATIENCE, "RECEIVED and READ", |e| {
            ["RECEIVED", "READ"].iter().all(|st| e.iter().any(|r| r.body["status"] == *st && r.body["ids"][0] == ours))
        })
        .await;
    let sent = events.iter().filter(|r| r.body["status"] == "SENT" && r.body["ids"][0] == ours).count();
    assert_eq!(sent, 1, "SENT comes once, when the Graph API accepted the send");

    let theirs = callback_of("5511987650012").unwrap();
    let (s, a) = c.notify(&c.number.status("wamid.FAIL1", "failed", "5511987650012", Some(&theirs))).await;
    assert_eq!(s, 200, "{a}");
    let zaap = failing["zaapId"].as_str().unwrap();
    let events = c
        .sink
        .wait_for(PATIENCE, "the failed DeliveryCallback", |e| {
            e.iter().any(|r| {
                r.body["type"] == "DeliveryCallback" && r.body["zaapId"] == zaap && r.body.get("error").is_some()
            })
        })
        .await;
    let failed = events.iter().find(|r| r.body["zaapId"] == zaap && r.body.get("error").is_some()).unwrap();
    let error = failed.body["error"].as_str().unwrap();
    assert!(error.contains("131047") && error.contains("Re-engagement message"), "{error}");
    assert_eq!(failed.body["phone"], "5511987650012");
    assert!(failed.signed_by(&c.inst.secret));

    // A status about a message chatedge never sent is skipped, not an error Meta would retry.
    let (s, a) = c.notify(&c.number.status("wamid.ELSEWHERE", "read", "5511987650013", None)).await;
    assert_eq!((s, a["unknown"].as_u64()), (200, Some(1)), "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_creates_a_cloud_api_instance_for_an_account_and_sees_its_secrets_once() {
    let fake = FakeGraph::start().await;
    let dir = common::temp_dir();
    let ce = Chatedge::up(dir.path(), &format!("{FAST}\n{}", fake.config()));
    let http = Http::new();
    let (s, account) =
        http.post(&format!("{}/admin/accounts", ce.cp), Some(&ce.admin_token), &json!({"name": "Loja"})).await;
    assert_eq!(s, 201, "{account}");
    let account_id = account["id"].as_str().unwrap().to_owned();
    let create = format!("{}/admin/accounts/{account_id}/instances", ce.cp);
    let body = json!({"name": "cloud by the operator", "network": "cloud-api", "cloudApi": fake.credentials()});

    // Refusals: not the admin, an unknown account, a bad field (named) — and nothing is stored.
    let (s, _) = http.post(&create, Some(&ce.integrator_token), &body).await;
    assert_eq!(s, 401, "the integrator token is not the admin token");
    let unknown = format!("{}/admin/accounts/0123456789ABCDEF0123456789ABCDEF/instances", ce.cp);
    let (s, v) = http.post(&unknown, Some(&ce.admin_token), &body).await;
    assert_eq!(s, 404, "{v}");
    let mut bad = body.clone();
    bad["cloudApi"]["businessAccountId"] = json!("waba-1");
    let (s, v) = http.post(&create, Some(&ce.admin_token), &bad).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("cloudApi.businessAccountId"), "{v}");
    let (_, view) = http.get(&format!("{}/admin/accounts/{account_id}", ce.cp), Some(&ce.admin_token)).await;
    assert_eq!(view["instances"], 0, "a refused create stores nothing: {view}");

    let (s, v) = http.post(&create, Some(&ce.admin_token), &body).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["network"], "cloud-api");
    let inst = Instance {
        id: v["id"].as_str().unwrap().to_owned(),
        token: v["token"].as_str().unwrap().to_owned(),
        secret: v["webhookSecret"].as_str().unwrap().to_owned(),
    };
    // On the control plane the URL's base is `[media] public_base_url` (else the data plane's
    // configured listen address, here port 0): the path is what Meta must call.
    let path = format!("/network/cloud-api/{}/webhook", inst.id);
    assert!(v["webhookUrl"].as_str().unwrap().ends_with(&path), "{v}");
    let verify_token = v["verifyToken"].as_str().expect("a generated verify token, shown once").to_owned();
    let (_, view) = http.get(&format!("{}/admin/accounts/{account_id}", ce.cp), Some(&ce.admin_token)).await;
    assert_eq!(view["instances"], 1, "the instance belongs to the account: {view}");
    assert!(!view.to_string().contains(&verify_token), "the account view never shows the verify token");

    // It is a working Cloud API instance: it connects by its credentials and answers Meta.
    common::wait_connected(&http, &ce, &inst).await;
    let (_, status) = http.get(&ce.instance_url(&inst, "status"), None).await;
    assert_eq!(status["network"], "cloud-api");
    let (s, challenge) = cloud_notify::handshake(&format!("{}{path}", ce.dp), &verify_token, "42").await;
    assert_eq!((s, challenge.as_str()), (200, "42"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_message_and_delay_typing_use_the_cloud_apis_own_read_and_typing_calls() {
    let c = Cloud::start().await;
    let hello = c.number.message(CUSTOMER, "Sheena Nelson", "wamid.TYPE1", "text", json!({"body": "oi"}));
    let (s, a) = c.notify(&hello).await;
    assert_eq!(s, 200, "{a}");
    c.received("wamid.TYPE1").await;

    let url = c.ce.instance_url(&c.inst, "read-message");
    let (s, v) = c.http.post(&url, None, &json!({"phone": CUSTOMER, "messageId": "wamid.TYPE1"})).await;
    assert_eq!(s, 204, "{v}");
    let status_posts = || {
        c.fake
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/messages") && r.json.get("status").is_some())
            .map(|r| r.json)
            .collect::<Vec<Value>>()
    };
    let read = common::eventually(PATIENCE, || async {
        status_posts().into_iter().find(|b| b.get("typing_indicator").is_none())
    })
    .await
    .expect("read-message reaches the Graph API");
    assert_eq!(read, json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.TYPE1"}));

    let url = c.ce.instance_url(&c.inst, "send-text");
    let (s, v) = c.http.post(&url, None, &json!({"phone": CUSTOMER, "message": "já vai", "delayTyping": 1})).await;
    assert_eq!(s, 200, "{v}");
    let typing = common::eventually(PATIENCE, || async {
        status_posts().into_iter().find(|b| b.get("typing_indicator").is_some())
    })
    .await
    .expect("delayTyping shows the Cloud API's typing indicator");
    assert_eq!(typing["message_id"], "wamid.TYPE1", "on the chat's last received message");
    assert_eq!(typing["typing_indicator"], json!({"type": "text"}));
    c.sink
        .wait_for_zaaps(&std::collections::HashSet::from([v["zaapId"].as_str().unwrap().to_owned()]), "the send")
        .await;
}
