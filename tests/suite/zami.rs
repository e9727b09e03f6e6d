//! The Zami dialect (seed 000, issue 15) under `/zami/v1/`: a text sent with the account's
//! secret (bare or as a bearer token) is queued through the same core as a Z-API send and
//! reaches the network (its DeliveryCallback carries the Zami id); an Idempotency-Key answers
//! the first answer again; every refusal has the seed's `{success, id, error}` shape naming the
//! problem; another account's connection answers exactly as an unknown one; a revoked secret
//! stops working once the change is pushed. Media is uploaded raw (its type sniffed and checked
//! against the declared one), sent and downloaded by id, by its account only, across a
//! `kill -9`; a connection whose webhook was set through Zami hears `message.created` — texts
//! with their body, media with an id that downloads the same bytes — instead of Z-API's
//! callbacks, until a Z-API webhook route puts it back.

use crate::common;

use std::time::Duration;

use sha2::Digest as _;

use common::*;
use hyper::Method;
use serde_json::{json, Value};

const RECIPIENT: &str = "+55 11 98888-7777";

fn send_url(ce: &Chatedge) -> String {
    format!("{}/zami/v1/send-text", ce.dp)
}

fn text(connection: &str, body: &str) -> Value {
    json!({"connection_id": connection, "recipient": RECIPIENT, "body": body})
}

/// POSTs `body` to send-text with `Authorization: <authorization>` exactly as given.
async fn send_with(http: &Http, ce: &Chatedge, authorization: Option<&str>, body: &Value) -> (u16, Value) {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = authorization {
        headers.push(("authorization", a));
    }
    http.raw(Method::POST, &send_url(ce), None, &headers, body.to_string().into_bytes()).await
}

fn refused(v: &Value) -> &str {
    assert_eq!((&v["success"], &v["id"]), (&json!(false), &Value::Null), "the seed's shape: {v}");
    v["error"].as_str().unwrap_or_else(|| panic!("error names the problem: {v}"))
}

/// A second account with an instance of its own; (account id, secret, secret's id, instance).
async fn other_account(http: &Http, ce: &Chatedge) -> (String, String, String, Instance) {
    let (s, acc) = http.post(&format!("{}/admin/accounts", ce.cp), Some(&ce.admin_token), &json!({"name": "b"})).await;
    assert_eq!(s, 201, "{acc}");
    let secret = acc["integratorToken"].as_str().unwrap().to_owned();
    let url = format!("{}/instances/integrator/on-demand", ce.cp);
    let (s, v) = http.post(&url, Some(&secret), &json!({"name": "b's"})).await;
    assert_eq!(s, 200, "{v}");
    let inst = Instance {
        id: v["id"].as_str().unwrap().to_owned(),
        token: v["token"].as_str().unwrap().to_owned(),
        secret: String::new(),
    };
    wait_known(http, ce, &inst).await;
    let id = acc["id"].as_str().unwrap().to_owned();
    (id, secret, acc["integratorTokenId"].as_str().unwrap().to_owned(), inst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_sent_with_the_account_secret_reaches_the_network_like_a_zapi_send() {
    let p = paired(FAST).await;
    let (ce, http) = (&p.ce, &p.http);
    let secret = ce.integrator_token.clone();

    // The bare secret and the bearer form both work; each answer is the seed's.
    let (s, bare) = send_with(http, ce, Some(&secret), &text(&p.inst.id, "hello bare")).await;
    assert_eq!(s, 200, "{bare}");
    let (s, bearer) = send_with(http, ce, Some(&format!("Bearer {secret}")), &text(&p.inst.id, "hello bearer")).await;
    assert_eq!(s, 200, "{bearer}");
    for v in [&bare, &bearer] {
        assert_eq!((&v["success"], &v["error"]), (&json!(true), &Value::Null), "{v}");
        assert!(v["id"].as_str().is_some_and(|id| !id.is_empty()), "{v}");
    }

    // Both left through the core: a DeliveryCallback for each id, to the normalised number.
    let ids = [bare["id"].as_str().unwrap(), bearer["id"].as_str().unwrap()];
    let events = p
        .sink
        .wait_for(Duration::from_secs(30), "a DeliveryCallback per Zami send", |events| {
            ids.iter()
                .all(|id| events.iter().any(|e| e.body["type"] == "DeliveryCallback" && e.body["messageId"] == *id))
        })
        .await;
    for id in ids {
        let delivered = events.iter().find(|e| e.body["type"] == "DeliveryCallback" && e.body["messageId"] == id);
        assert_eq!(delivered.unwrap().body["phone"], json!("5511988887777"), "{id}");
    }
    // The sim's phone holds exactly the two texts, as a Z-API send-text would leave them.
    let texts: Vec<Value> =
        sim_received(http, ce, &p.inst, "5511988887777").await.iter().map(|m| m["text"].clone()).collect();
    assert_eq!(texts, vec![json!("hello bare"), json!("hello bearer")]);

    // The same Idempotency-Key answers the first answer and sends nothing more.
    let keyed = |body: &Value| {
        let headers =
            [("content-type", "application/json"), ("authorization", secret.as_str()), ("idempotency-key", "zami-1")];
        let body = body.to_string().into_bytes();
        async move { http.raw(Method::POST, &send_url(ce), None, &headers, body).await }
    };
    let first = keyed(&text(&p.inst.id, "once")).await;
    let again = keyed(&text(&p.inst.id, "once")).await;
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(again, first, "the first answer again");
    let (s, v) = keyed(&text(&p.inst.id, "another text")).await;
    assert_eq!(s, 422, "{v}");
    assert!(refused(&v).contains("Idempotency-Key"), "{v}");
    let accepted = metrics::sum(http, &ce.dp, "chatedge_dp_messages_total", "outcome=\"accepted\"").await;
    assert_eq!(accepted, 3.0, "two texts and one keyed text, nothing else");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_problem_and_another_accounts_connection_answers_as_an_unknown_one() {
    let p = paired(FAST).await;
    let (ce, http) = (&p.ce, &p.http);
    let secret = ce.integrator_token.as_str();
    let before = metrics::sum(http, &ce.dp, "chatedge_dp_messages_total", "outcome=\"accepted\"").await;
    let unknown = "0123456789ABCDEF0123456789ABCDEF";
    let ok = text(&p.inst.id, "hi");
    let cases: Vec<(Option<&str>, Value, u16, &str)> = vec![
        (None, ok.clone(), 401, "Authorization"),
        (Some("not-a-secret"), ok.clone(), 401, "Authorization"),
        (Some(p.inst.token.as_str()), ok.clone(), 401, "Authorization"),
        (Some(secret), text(unknown, "hi"), 404, "unknown connection_id"),
        (Some(secret), text("not an id", "hi"), 404, "unknown connection_id"),
        (Some(secret), json!({"connection_id": p.inst.id, "recipient": RECIPIENT}), 400, "body is required"),
        (Some(secret), json!({"connection_id": p.inst.id, "body": "hi"}), 400, "recipient is required"),
        (
            Some(secret),
            json!({"connection_id": p.inst.id, "recipient": "zamiapi", "body": "hi"}),
            400,
            "recipient must be",
        ),
        (
            Some(secret),
            json!({"connection_id": p.inst.id, "recipient": RECIPIENT, "body": "hi", "network": "instagram"}),
            400,
            "network instagram is not served",
        ),
        (Some(secret), json!("a string"), 400, "JSON object"),
    ];
    for (auth, body, status, says) in &cases {
        let (s, v) = send_with(http, ce, *auth, body).await;
        assert_eq!(s, *status, "{auth:?} {body}: {v}");
        assert!(refused(&v).contains(says), "{auth:?} {body}: {v}");
    }
    let (s, v) = http.get(&send_url(ce), Some(secret)).await;
    assert_eq!(s, 405, "{v}");
    let (s, v) = http.post(&format!("{}/zami/v1/send-location", ce.dp), Some(secret), &json!({})).await;
    assert_eq!(s, 404, "{v}");
    assert!(refused(&v).contains("send-text"), "says what is served: {v}");

    // Two accounts: each one's secret sees the other's connection as an unknown one.
    let (b_account, b_secret, b_token_id, b_inst) = other_account(http, ce).await;
    let (s, unknown_answer) = send_with(http, ce, Some(&b_secret), &text(unknown, "hi")).await;
    assert_eq!(s, 404);
    let foreign = eventually(Duration::from_secs(20), || async {
        let answer = send_with(http, ce, Some(&b_secret), &text(&p.inst.id, "hi")).await;
        (answer.0 != 401).then_some(answer)
    })
    .await
    .expect("b's secret reaches the data plane");
    assert_eq!(foreign, (404, unknown_answer.clone()), "a's connection through b's secret");
    assert_eq!(send_with(http, ce, Some(secret), &text(&b_inst.id, "hi")).await, (404, unknown_answer));
    let after = metrics::sum(http, &ce.dp, "chatedge_dp_messages_total", "outcome=\"accepted\"").await;
    assert_eq!(after, before, "no refused request queued anything");

    // b's own connection takes b's secret (it is not paired: the message waits in its queue) ...
    let (s, v) = send_with(http, ce, Some(&b_secret), &text(&b_inst.id, "for b")).await;
    assert_eq!(s, 200, "{v}");
    // ... until the secret is revoked: the push removes its hash, and it is refused from then on.
    let url = format!("{}/admin/accounts/{b_account}/integrator-tokens/{b_token_id}", ce.cp);
    let (s, v) = http.raw(Method::DELETE, &url, Some(&ce.admin_token), &[], Vec::new()).await;
    assert_eq!(s, 200, "{v}");
    let revoked = eventually(Duration::from_secs(20), || async {
        let (s, v) = send_with(http, ce, Some(&b_secret), &text(&b_inst.id, "after")).await;
        (s == 401).then_some(v)
    })
    .await
    .expect("a revoked secret is refused");
    assert!(refused(&revoked).contains("Authorization"), "{revoked}");

    let (s, doc) = http.get(&format!("{}/zami/v1/openapi.json", ce.dp), None).await;
    assert_eq!(s, 200);
    assert!(doc["paths"]["/send-text"]["post"].is_object(), "{doc}");
}

/// A small PNG: the signature, an IHDR chunk header and some bytes.
fn png(len: usize) -> Vec<u8> {
    let mut b = [&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D][..], b"IHDR"].concat();
    b.extend((0..len as u32).map(|i| (i * 31 % 251) as u8));
    b
}

/// `POST /zami/v1/media` with `content_type` (none when `None`) and the raw `bytes`.
async fn upload(http: &Http, ce: &Chatedge, secret: &str, content_type: Option<&str>, bytes: &[u8]) -> (u16, Value) {
    let mut headers = vec![("authorization", secret)];
    if let Some(t) = content_type {
        headers.push(("content-type", t));
    }
    http.raw(Method::POST, &format!("{}/zami/v1/media", ce.dp), None, &headers, bytes.to_vec()).await
}

/// `GET /zami/v1/media/{id}` with `secret`: the status, the bytes and their Content-Type.
async fn download(ce: &Chatedge, secret: &str, id: &str) -> (u16, Vec<u8>, String) {
    get_bytes(&format!("{}/zami/v1/media/{id}", ce.dp), secret).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_uploaded_raw_is_sent_and_downloaded_by_id_by_its_account_only_even_after_kill_minus_nine() {
    let Paired { dir, ce, http, sink: _sink, inst } = paired(FAST).await;
    let secret = ce.integrator_token.clone();
    let image = png(200_000);

    let (s, up) = upload(&http, &ce, &secret, Some("image/png"), &image).await;
    assert_eq!(s, 201, "{up}");
    assert_eq!((&up["success"], &up["error"], &up["mimetype"]), (&json!(true), &Value::Null, &json!("image/png")));
    assert_eq!(up["size"], json!(image.len()));
    let media_id = up["id"].as_str().unwrap().to_owned();

    let (s, bytes, content_type) = download(&ce, &secret, &media_id).await;
    assert_eq!((s, content_type.as_str()), (200, "image/png"));
    assert_eq!(bytes, image, "the same bytes");

    // Sent by id: the sim's phone holds an image with the upload's bytes and the caption.
    let body = json!({"connection_id": inst.id, "recipient": RECIPIENT, "media_id": media_id, "caption": "olha"});
    let (s, sent) = http.post(&format!("{}/zami/v1/send-media", ce.dp), Some(&secret), &body).await;
    assert_eq!(s, 200, "{sent}");
    assert_eq!((&sent["success"], &sent["error"]), (&json!(true), &Value::Null), "{sent}");
    let got = eventually(Duration::from_secs(30), || async {
        let messages = sim_received(&http, &ce, &inst, "5511988887777").await;
        messages.into_iter().find(|m| m["messageId"] == sent["id"])
    })
    .await
    .expect("the image reached the sim's phone");
    assert_eq!(got["type"], "image", "{got}");
    assert_eq!(got["text"], "olha", "the caption: {got}");
    assert_eq!(got["media"]["mime"], "image/png", "{got}");
    let sha256: String = sha2::Sha256::digest(&image).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got["media"]["sha256"], json!(sha256), "{got}");

    // Refused uploads name the problem and store nothing. (A declared type that is refused is
    // answered before the body is read, so those bodies are small: a client still sending a
    // large one may see the connection close under it.)
    let small = png(100);
    let cases: &[(Option<&str>, &[u8], u16, &str)] = &[
        (Some("image/jpeg"), &image, 400, "the media is image/png, not the declared image/jpeg"),
        (Some("application/pdf"), b"%PDF-1.7\n", 400, "Content-Type must be one of"),
        (None, &small, 400, "Content-Type must be one of"),
        (Some("audio/ogg"), b"not audio at all", 400, "not the declared audio/ogg"),
        (Some("image/png"), b"", 400, "not the declared image/png"),
    ];
    for (content_type, bytes, status, says) in cases {
        let (s, v) = upload(&http, &ce, &secret, *content_type, bytes).await;
        assert_eq!(s, *status, "{content_type:?}: {v}");
        assert!(refused(&v).contains(says), "{content_type:?}: {v}");
    }
    let (s, v) = upload(&http, &ce, "not-a-secret", Some("image/png"), &image).await;
    assert_eq!(s, 401, "{v}");

    // Unknown, malformed and another account's ids are one answer, for downloads and sends.
    let (_, b_secret, _, b_inst) = other_account(&http, &ce).await;
    let unknown = "0123456789abcdef0123456789abcdef";
    let (s, unknown_answer) = http.get(&format!("{}/zami/v1/media/{unknown}", ce.dp), Some(&secret)).await;
    assert_eq!(s, 404, "{unknown_answer}");
    assert!(refused(&unknown_answer).contains("unknown media_id"), "{unknown_answer}");
    let foreign = eventually(Duration::from_secs(20), || async {
        let answer = http.get(&format!("{}/zami/v1/media/{media_id}", ce.dp), Some(&b_secret)).await;
        (answer.0 != 401).then_some(answer)
    })
    .await
    .expect("b's secret reaches the data plane");
    assert_eq!(foreign, (404, unknown_answer.clone()), "a's media through b's secret");
    assert_eq!(http.get(&format!("{}/zami/v1/media/not-an-id", ce.dp), Some(&secret)).await, (404, unknown_answer));
    let body = json!({"connection_id": b_inst.id, "recipient": RECIPIENT, "media_id": media_id});
    let (s, v) = http.post(&format!("{}/zami/v1/send-media", ce.dp), Some(&b_secret), &body).await;
    assert_eq!(s, 404, "{v}");
    assert!(refused(&v).contains("unknown media_id"), "{v}");
    let body = json!({"connection_id": inst.id, "recipient": RECIPIENT});
    let (s, v) = http.post(&format!("{}/zami/v1/send-media", ce.dp), Some(&secret), &body).await;
    assert_eq!((s, refused(&v).contains("media_id is required")), (400, true), "{v}");

    // A 201 was durable: after kill -9 the id still downloads the same bytes.
    ce.kill_9();
    let ce = Chatedge::up(dir.path(), FAST);
    let (s, bytes, _) = download(&ce, &secret, &media_id).await;
    assert_eq!(s, 200);
    assert_eq!(bytes, image, "the same bytes after kill -9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_with_a_zami_webhook_hears_message_created_and_its_media_downloads_by_id() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(FAST).await;
    let secret = ce.integrator_token.clone();
    let hook = format!("{}/zami/v1/connections/{}/webhook", ce.dp, inst.id);
    let (s, v) = http.get(&hook, Some(&secret)).await;
    assert_eq!((s, &v["url"]), (200, &Value::Null), "Z-API's webhooks are not Zami's: {v}");
    let zami_url = format!("{}/zami", sink.url);
    let (s, v) =
        http.raw(Method::PUT, &hook, Some(&secret), &[], json!({"url": zami_url}).to_string().into_bytes()).await;
    assert_eq!((s, &v["success"], &v["url"]), (200, &json!(true), &json!(zami_url)), "{v}");
    assert_eq!(http.get(&hook, Some(&secret)).await.1["url"], json!(zami_url));

    // A text, then an image in a group.
    let inbound = |body: Value| {
        let (http, ce) = (&http, &ce);
        async move { sim_inbound(http, ce, &body).await }
    };
    let text_id =
        inbound(json!({"instanceId": inst.id, "phone": "5544999999999", "type": "text", "message": "oi"})).await;
    let image = png(5_000);
    let data = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &image);
    let image_id = inbound(json!({"instanceId": inst.id, "phone": "120363019502650977-group",
        "participantPhone": "5544988887777", "type": "image", "caption": "foto",
        "data": format!("data:image/png;base64,{data}")}))
    .await;
    let events = sink
        .wait_for(Duration::from_secs(30), "message.created for both", |events| {
            [&text_id, &image_id].iter().all(|id| events.iter().any(|e| e.body["object"]["id"] == **id))
        })
        .await;
    let created = |id: &str| events.iter().find(|e| e.body["object"]["id"] == id).unwrap().clone();
    let text = created(&text_id);
    assert_eq!(text.path, "/zami");
    assert_eq!((&text.body["name"], &text.body["connection_id"]), (&json!("message.created"), &json!(inst.id)));
    assert!(text.body["timestamp"].as_u64().is_some_and(|t| t > 1_700_000_000 && t < 4_000_000_000), "seconds");
    let o = &text.body["object"];
    assert_eq!((&o["body"], &o["media_id"], &o["mimetype"]), (&json!("oi"), &Value::Null, &json!("text/plain")));
    assert_eq!(
        (&o["chat_id"], &o["sender"], &o["is_group"]),
        (&json!("5544999999999"), &json!("5544999999999"), &json!(false))
    );

    let o = created(&image_id).body["object"].clone();
    assert_eq!((&o["body"], &o["mimetype"], &o["caption"]), (&Value::Null, &json!("image/png"), &json!("foto")), "{o}");
    assert_eq!(
        (&o["chat_id"], &o["sender"], &o["is_group"]),
        (&json!("120363019502650977@g.us"), &json!("5544988887777"), &json!(true))
    );
    let media_id = o["media_id"].as_str().expect("received media has an id");
    let (s, bytes, content_type) = download(&ce, &secret, media_id).await;
    assert_eq!((s, content_type.as_str(), bytes), (200, "image/png", image), "received media by its id");

    // The reply goes where chat_id says, with reply_to_id naming the incoming message.
    let chat = text.body["object"]["chat_id"].as_str().unwrap().to_owned();
    let reply = json!({"connection_id": inst.id, "recipient": chat, "body": "legal", "reply_to_id": text_id});
    let (s, v) = send_with(&http, &ce, Some(&secret), &reply).await;
    assert_eq!(s, 200, "{v}");
    let arrived = eventually(Duration::from_secs(30), || async {
        let messages = sim_received(&http, &ce, &inst, &chat).await;
        messages.into_iter().find(|m| m["messageId"] == v["id"])
    })
    .await
    .expect("the reply reached the sender");
    assert_eq!((&arrived["text"], &arrived["replyTo"]), (&json!("legal"), &json!(text_id)), "{arrived}");

    // No Z-API callback for what the Zami webhook heard.
    assert!(
        !sink.events().iter().any(|e| e.body["type"] == "ReceivedCallback"),
        "a Zami connection's webhooks speak Zami only"
    );
    // A Z-API webhook route puts the connection back in Z-API's shape.
    let (s, v) = http.post(&ce.instance_url(&inst, "update-webhook-received"), None, &json!({"value": sink.url})).await;
    assert_eq!(s, 200, "{v}");
    let again =
        inbound(json!({"instanceId": inst.id, "phone": "5544999999999", "type": "text", "message": "de novo"})).await;
    sink.wait_for(Duration::from_secs(30), "a ReceivedCallback again", |events| {
        events.iter().any(|e| e.body["type"] == "ReceivedCallback" && e.body["messageId"] == again)
    })
    .await;
    assert_eq!(http.get(&hook, Some(&secret)).await.1["url"], Value::Null, "no longer a Zami webhook");
}

/// Seed 000's four SDK examples (lines 37–146) as the requests they make, with the secret,
/// `<connection_id>`, `<media_id>` and the file replaced by real ones — and the seed's
/// recipient `zamiapi` (a username on other networks) by a WhatsApp number, since chatedge
/// connects WhatsApp only; sent as written it gets the seed's failure shape naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_example_of_seed_000_gets_its_documented_answer() {
    let Paired { dir: _dir, ce, http, sink: _sink, inst } = paired(FAST).await;
    let secret = ce.integrator_token.clone();
    let file = png(64);

    // uploadMedia({media: buffer, content_type: 'image/png'}) → the media id.
    let (s, up) = upload(&http, &ce, &secret, Some("image/png"), &file).await;
    assert_eq!(s, 201, "{up}");
    let media_id = up["id"].as_str().expect("Response fields: id").to_owned();

    // sendText({connection_id, recipient, body: 'Hello from Zami'}) and
    // sendMedia({connection_id, recipient, media_id}) → {success, id, error}.
    let examples = [
        ("send-text", json!({"connection_id": inst.id, "recipient": "5511988887777", "body": "Hello from Zami"})),
        ("send-media", json!({"connection_id": inst.id, "recipient": "5511988887777", "media_id": media_id})),
    ];
    for (route, body) in &examples {
        let (s, v) = http.post(&format!("{}/zami/v1/{route}", ce.dp), Some(&secret), body).await;
        assert_eq!(s, 200, "{route}: {v}");
        let fields: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(fields, ["error", "id", "success"], "{route}: exactly the seed's response fields");
        assert_eq!((&v["success"], &v["error"]), (&json!(true), &Value::Null), "{route}");
        assert!(v["id"].as_str().is_some_and(|id| !id.is_empty()), "{route}: {v}");
    }
    // The recipient exactly as the seed writes it: the seed's failure shape, naming the field.
    let (s, v) = http
        .post(
            &format!("{}/zami/v1/send-text", ce.dp),
            Some(&secret),
            &json!({"connection_id": inst.id, "recipient": "zamiapi", "body": "Hello from Zami"}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(refused(&v).contains("recipient"), "{v}");

    // downloadMedia('<media_id>') → the bytes, with the type in Content-Type.
    let (s, bytes, content_type) = download(&ce, &secret, &media_id).await;
    assert_eq!((s, content_type.as_str(), bytes), (200, "image/png", file));
}
