//! The interactive message routes against the real binary: Z-API's own example request of
//! each (the HAR files of ENDPOINTS.md rows 44–65, ids and phones replaced, media URLs on
//! loopback) gets the documented `{zaapId, messageId, id}` and arrives at the sim's phone as
//! sent; a poll vote, an event response and an event edit change the message they answer;
//! an invalid request is refused naming the field, and nothing of it is queued or received.

use crate::common;

use common::files::{Blob, FileServer};
use common::*;
use serde_json::{json, Value};

/// The recipient of every example (the HAR files use a few different numbers).
const PHONE: &str = "5511977770001";
/// A recipient only refused requests are addressed to.
const REFUSED_PHONE: &str = "5511977770002";
/// A 1×1 PNG and its SHA-256.
const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
const PNG_SHA256: &str = "b1ff9c8ea3a780bad09b346c423d2d0e46815926879b18e841d928376a946640";
/// An image URL in requests that are refused before anything is fetched.
const NEVER_FETCHED_IMAGE: &str = "http://127.0.0.1:9/logo.png";

/// Where example media URLs point instead of the Internet: a loopback file server.
struct Loopback {
    image: String,
    video: String,
    _server: FileServer,
}

impl Loopback {
    async fn start() -> Loopback {
        let server = FileServer::start().await;
        let image = server.serve("/logo.png", &Blob::png(8, 8, 1));
        let video = server.serve("/video.mp4", &Blob::mp4(50_000, 2));
        Loopback { image, video, _server: server }
    }
}

/// FAST, fetching media from the loopback file server.
fn config() -> String {
    format!("{FAST}\n[media]\nfetch_allow_private = true\n")
}

/// (route, HAR file, its `postData.text`), in the order they are sent: answers come after the
/// messages they answer.
const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "send-button-actions",
        "send-button-actions.json",
        r#"{"phone": "554499999999","message": "uma mensagem","title": "se quiser vincular um titulo","footer": "se quiser vincular um rodape top","buttonActions": [{"id": "1","type": "CALL","phone": "+554498398733","label": "Fale conosco"},{"id": "2","type": "URL","url": "https://z-api.io","label": "Visite nosso site"}]}"#,
    ),
    (
        "send-button-list",
        "send-button-list.json",
        r#"{"phone": "5511999998888", "message": "*Z-API* é Bom ?","buttonList": { "buttons": [ { "id": "1", "label": "Ótimo" }, { "id": "2", "label": "Excelênte" } ] }}"#,
    ),
    (
        "send-button-list",
        "send-button-list-image.json",
        r#"{"phone": "5511999998888", "message": "*Z-API* é Bom ?","buttonList": { "image": "URL ou Base64 da imagem", "buttons": [ { "id": "1", "label": "Ótimo" }, { "id": "2", "label": "Excelênte" } ] }}"#,
    ),
    (
        "send-button-list",
        "send-button-list-video.json",
        r#"{"phone": "5511999998888", "message": "*Z-API* é Bom ?","buttonList": { "video": "URL ou Base64 do video", "buttons": [ { "id": "1", "label": "Ótimo" }, { "id": "2", "label": "Excelênte" } ] }}"#,
    ),
    (
        "send-option-list",
        "send-option-list.json",
        r#"{"phone": "5511999998888", "message": "Selecione e melhor opção:","optionList": { "title": "Opções disponíveis", "buttonLabel": "Abrir lista de opções", "options": [ { "id": "1", "description": "Z-API Asas para sua imaginação", "title": "Z-API" }, { "id": "2", "description": "Não funcionam", "title": "Outros" } ] }}"#,
    ),
    ("send-button-otp", "send-button-otp.json", r#"{"phone": "554499999999","message": "Message","code": "123"}"#),
    ("send-button-pix", "send-button-pix.json", r#"{"phone": "554499999999","pixKey": "pix key","type": "EVP"}"#),
    (
        "send-carousel",
        "send-carousel.json",
        r#"{"phone":"551199999999","message":"Texto da mensagem","carousel":[{"text":"Texto do cartão","image":"https://firebasestorage.googleapis.com/v0/b/zaap-messenger-web.appspot.com/o/logo.png?alt=media","buttons":[{"id":"1","label":"Nome do botão","url":"https://z-api.io","type":"URL"},{"id":"2","label":"Nome do botão","type":"REPLY"}]},{"text":"Texto do cartão","image":"https://firebasestorage.googleapis.com/v0/b/zaap-messenger-web.appspot.com/o/logo.png?alt=media","buttons":[{"id":"1","label":"Nome do botão","url":"https://z-api.io","type":"URL"},{"id":"2","label":"Nome do botão","type":"REPLY"}]}]}"#,
    ),
    (
        "send-poll",
        "send-poll.json",
        r#"{"phone": "5511999998888", "message": "Qual a melhor API para WhatsApp?", "poll": [ {  "name": "Z-API" }, { "name": "Outros" } ] }"#,
    ),
    (
        "send-poll-vote",
        "send-poll-vote.json",
        r#"{"phone": "5511999998888", "pollMessageId": "id da mensagem de enquete", "pollVote": [ {  "name": "Z-API" } ] }"#,
    ),
    (
        "send-order",
        "send-order.json",
        r#"{"phone": "554499999999","order": {"currency": "BRL","products": [{"name": "Order name","value": 150,"quantity": 1}]}}"#,
    ),
    (
        "order-status-update",
        "send-order-status-update.json",
        r#"{"phone": "554498161272","messageId": "3EB0F91BBA791BB0A787FC","referenceId": "4N8FCTW1WM6","orderRequestId": "4N8FCTW22W4","orderStatus": "processing","paymentStatus": "pending","order": {"currency": "BRL","discount": 10,"tax": 10,"shipping": 5,"products": [{"value": 150,"quantity": 2,"name": "order 1","isCustomItem": true,"productId": "custom-item-4N8FCTW23N7"},{"productId": "23940797548900636","value": 150,"quantity": 2,"name": "order 2","isCustomItem": false}]}}"#,
    ),
    (
        "order-payment-update",
        "send-order-payment-update.json",
        r#"{"phone": "554498161272","messageId": "3EB0F91BBA791BB0A787FC","referenceId": "4N8FCTW1WM6","orderRequestId": "4N8FCTW22W4","orderStatus": "processing","paymentStatus": "paid","order": {"currency": "BRL","discount": 10,"tax": 10,"shipping": 5,"products": [{"value": 150,"quantity": 2,"name": "order 1","isCustomItem": true,"productId": "custom-item-4N8FCTW23N7"},{"productId": "23940797548900636","value": 150,"quantity": 2,"name": "order 2","isCustomItem": false}]}}"#,
    ),
    (
        "send-event",
        "send-event.json",
        r#"{"phone": "5511999998888", "event": { "name": "Example event", "description": "Example description", "dateTime": "2024-04-29T08:30:53.309Z", "location": { "name": "Location name" }, "callLinkType": "voice", "canceled": false } }"#,
    ),
    (
        "send-edit-event",
        "send-edit-event.json",
        r#"{"phone": "5511999998888", "eventMessageId": "3EB05669C7C3B9B27A6595", "event": { "name": "Example event", "description": "Example description", "dateTime": "2024-04-29T08:30:53.309Z", "location": { "name": "Location name" }, "canceled": false } }"#,
    ),
    (
        "send-event-response",
        "send-event-response.json",
        r#"{"phone": "5511999998888", "eventMessageId": "3EB05669C7C3B9B27A6595", "eventResponse": "GOING" }"#,
    ),
    (
        "send-product",
        "send-product.json",
        r#"{"phone": "5511999998888", "catalogPhone": "5511999998888", "productId": "7190654897637620"}"#,
    ),
    ("send-catalog", "send-catalog.json", r#"{"phone": "5511999998888", "catalogPhone": "5511999998888"}"#),
];

/// The witness `type` each example arrives as (answers show as changes instead).
fn arrives_as(file: &str) -> Option<&'static str> {
    Some(match file {
        "send-button-actions.json" => "buttonActions",
        "send-button-list.json" | "send-button-list-image.json" | "send-button-list-video.json" => "buttonList",
        "send-option-list.json" => "optionList",
        "send-button-otp.json" => "buttonOtp",
        "send-button-pix.json" => "buttonPix",
        "send-carousel.json" => "carousel",
        "send-poll.json" => "poll",
        "send-order.json" => "order",
        "send-order-status-update.json" => "orderStatusUpdate",
        "send-order-payment-update.json" => "orderPaymentUpdate",
        "send-event.json" => "event",
        "send-product.json" => "product",
        "send-catalog.json" => "catalog",
        _ => return None,
    })
}

/// `example` with its recipient, media URLs and the ids of earlier messages replaced.
fn prepared(file: &str, example: &str, sent: &std::collections::HashMap<&str, String>, media: &Loopback) -> Value {
    let mut body: Value = serde_json::from_str(example).unwrap();
    body["phone"] = json!(PHONE);
    match file {
        "send-button-list-image.json" => body["buttonList"]["image"] = json!(media.image),
        "send-button-list-video.json" => body["buttonList"]["video"] = json!(media.video),
        "send-carousel.json" => {
            for card in body["carousel"].as_array_mut().unwrap() {
                card["image"] = json!(media.image);
            }
        }
        "send-poll-vote.json" => body["pollMessageId"] = json!(sent["send-poll.json"]),
        "send-order-status-update.json" | "send-order-payment-update.json" => {
            body["messageId"] = json!(sent["send-order.json"])
        }
        "send-edit-event.json" | "send-event-response.json" => body["eventMessageId"] = json!(sent["send-event.json"]),
        _ => {}
    }
    body
}

async fn received(p: &Paired, phone: &str) -> Vec<Value> {
    let url = format!("{}/sim/received?instanceId={}&phone={phone}", p.ce.dp, p.inst.id);
    let (status, v) = p.http.get(&url, Some(&p.ce.admin_token)).await;
    assert_eq!(status, 200, "{v}");
    v["messages"].as_array().cloned().unwrap_or_default()
}

fn by_id<'a>(messages: &'a [Value], id: &str) -> Option<&'a Value> {
    messages.iter().find(|m| m["messageId"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_z_api_interactive_example_is_answered_and_arrives_as_sent() {
    let p = paired(&config()).await;
    let media = Loopback::start().await;
    let mut sent = std::collections::HashMap::new();
    for (route, file, example) in EXAMPLES {
        let body = prepared(file, example, &sent, &media);
        let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, &body).await;
        assert_eq!(status, 200, "{file}: {v}");
        let id = v["messageId"].as_str().unwrap_or_else(|| panic!("{file}: {v}")).to_owned();
        assert_eq!(v["id"], v["messageId"], "{file}: id repeats messageId");
        assert_eq!(v["zaapId"].as_str().map(str::len), Some(32), "{file}: {v}");
        sent.insert(*file, id);
    }

    let answered =
        |m: &Value, key: &str| m["changes"].as_array().is_some_and(|c| c.iter().any(|c| c.get(key).is_some()));
    let everything = eventually(PATIENCE, || async {
        let messages = received(&p, PHONE).await;
        let arrived = EXAMPLES
            .iter()
            .filter(|(_, f, _)| arrives_as(f).is_some())
            .all(|(_, f, _)| by_id(&messages, &sent[f]).is_some());
        let event = by_id(&messages, &sent["send-event.json"]);
        let done = arrived
            && by_id(&messages, &sent["send-poll.json"]).is_some_and(|m| answered(m, "pollVote"))
            && event.is_some_and(|m| answered(m, "eventResponse") && answered(m, "editEvent"));
        done.then_some(messages)
    })
    .await;
    let Some(messages) = everything else {
        panic!("not everything arrived; the phone shows {:#}", json!(received(&p, PHONE).await));
    };

    for (_, file, example) in EXAMPLES {
        let Some(kind) = arrives_as(file) else { continue };
        let m = by_id(&messages, &sent[file]).unwrap();
        assert_eq!(m["type"], kind, "{file}: {m}");
        assert_eq!(m["content"]["type"], kind, "{file}: {m}");
        let asked: Value = serde_json::from_str(example).unwrap();
        if let Some(text) = asked["message"].as_str() {
            assert_eq!(m["content"]["message"], text, "{file}: the text arrives as sent");
        }
    }
    let content = |file: &str| by_id(&messages, &sent[file]).unwrap()["content"].clone();

    let actions = content("send-button-actions.json");
    assert_eq!(
        actions["buttons"][0],
        json!({"type": "CALL", "id": "1", "label": "Fale conosco", "phone": "554498398733"})
    );
    assert_eq!(
        actions["buttons"][1],
        json!({"type": "URL", "id": "2", "label": "Visite nosso site", "url": "https://z-api.io"})
    );
    assert_eq!(actions["footer"], "se quiser vincular um rodape top");
    assert_eq!(
        content("send-button-list-image.json")["media"],
        json!({"type": "image", "source": {"from": "url", "url": media.image}})
    );
    assert_eq!(content("send-button-list-video.json")["media"]["type"], "video");
    assert_eq!(content("send-option-list.json")["options"][0]["description"], "Z-API Asas para sua imaginação");
    assert_eq!(content("send-button-otp.json")["buttonText"], "Copy code");
    assert_eq!(content("send-button-pix.json")["keyType"], "EVP");
    let carousel = content("send-carousel.json");
    assert_eq!(carousel["cards"].as_array().map(Vec::len), Some(2));
    assert_eq!(carousel["cards"][1]["buttons"][1], json!({"type": "REPLY", "id": "2", "label": "Nome do botão"}));
    assert_eq!(content("send-poll.json")["options"], json!(["Z-API", "Outros"]));
    assert_eq!(content("send-order.json")["order"]["products"][0]["value"], 150.0);
    let update = content("send-order-payment-update.json");
    assert_eq!(
        (update["orderMessageId"].as_str(), &update["paymentStatus"]),
        (Some(sent["send-order.json"].as_str()), &json!("paid"))
    );
    assert_eq!(content("send-event.json")["event"]["callLinkType"], "voice");
    assert_eq!(content("send-product.json")["productId"], "7190654897637620");
    assert_eq!(content("send-catalog.json")["catalogPhone"], "5511999998888");

    // Answers change the message they answer instead of arriving as messages of their own.
    let poll = by_id(&messages, &sent["send-poll.json"]).unwrap();
    let vote = poll["changes"].as_array().unwrap().iter().find(|c| c.get("pollVote").is_some()).unwrap();
    assert_eq!(vote["pollVote"], json!(["Z-API"]));
    let event = by_id(&messages, &sent["send-event.json"]).unwrap();
    let changes = event["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["eventResponse"] == "GOING"), "{event}");
    assert!(changes.iter().any(|c| c["editEvent"]["name"] == "Example event"), "{event}");
    for answer in ["send-poll-vote.json", "send-edit-event.json", "send-event-response.json"] {
        assert!(by_id(&messages, &sent[answer]).is_none(), "{answer} shows as a change, not a message");
    }

    // Each was queued, sent and delivered like a text.
    let zaaps = EXAMPLES.len();
    p.sink
        .wait_for(PATIENCE, "a DeliveryCallback for every example", |e| {
            e.iter().filter(|r| r.body["type"] == "DeliveryCallback" && r.body.get("error").is_none()).count() >= zaaps
        })
        .await;
    let emptied = eventually(PATIENCE, || async {
        let (_, count) = p.http.get(&p.ce.instance_url(&p.inst, "queue/count"), None).await;
        (count == json!({"count": 0})).then_some(())
    })
    .await;
    assert!(emptied.is_some(), "the queue empties");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base64_image_on_a_button_list_arrives_as_the_stored_file() {
    let p = paired(FAST).await;
    let body = json!({
        "phone": PHONE,
        "message": "Is Z-API Good?",
        "buttonList": {"image": format!("data:image/png;base64,{PNG_BASE64}"), "buttons": [{"id": "1", "label": "Great"}]}
    });
    let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, "send-button-list"), None, &body).await;
    assert_eq!(status, 200, "{v}");
    let id = v["messageId"].as_str().unwrap().to_owned();
    let m =
        eventually(PATIENCE, || async { by_id(&received(&p, PHONE).await, &id).cloned() }).await.expect("it arrives");
    let source = &m["content"]["media"]["source"];
    assert_eq!((source["from"].as_str(), source["digest"].as_str()), (Some("stored"), Some(PNG_SHA256)), "{m}");
    assert_eq!(source["mime"], "image/png");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_interactive_request_is_refused_by_field_and_leaves_no_trace() {
    let p = paired(FAST).await;
    let card = json!({"text": "t", "image": NEVER_FETCHED_IMAGE, "buttons": [{"type": "REPLY", "label": "ok"}]});
    let refused = [
        (
            "send-carousel",
            json!({"phone": REFUSED_PHONE, "message": "m", "carousel": [card.clone(), card.clone(), {"text": "t", "image": NEVER_FETCHED_IMAGE, "buttons": [{"type": "URL", "url": "https://z-api.io"}]}]}),
            "carousel[2].buttons[0].label is required",
        ),
        (
            "send-button-actions",
            json!({"phone": REFUSED_PHONE, "message": "m", "buttonActions": [{"type": "CALL", "phone": "554498398733", "label": "a"}, {"type": "URL", "url": "https://z-api.io", "label": "b"}, {"type": "REPLY", "label": "c"}]}),
            "buttonActions[2].type REPLY cannot be sent with CALL",
        ),
        (
            "send-poll",
            json!({"phone": REFUSED_PHONE, "message": "?", "poll": [{"name": "only one"}]}),
            "poll must have from 2 to 12 items",
        ),
        (
            "send-order",
            json!({"phone": REFUSED_PHONE, "order": {"currency": "BRL", "products": [{"name": "n", "value": 1, "quantity": 0}]}}),
            "order.products[0].quantity",
        ),
        (
            "order-status-update",
            json!({"phone": REFUSED_PHONE, "messageId": "M", "referenceId": "R", "orderRequestId": "Q", "orderStatus": "lost", "paymentStatus": "paid", "order": {"currency": "BRL", "products": []}}),
            "orderStatus must be one of",
        ),
        (
            "send-event",
            json!({"phone": REFUSED_PHONE, "event": {"name": "e", "dateTime": "soon", "canceled": false}}),
            "event.dateTime must be an ISO 8601",
        ),
        (
            "send-button-list",
            json!({"phone": REFUSED_PHONE, "message": "m", "buttonList": {"image": format!("data:image/png;base64,{PNG_BASE64}"), "video": NEVER_FETCHED_IMAGE, "buttons": [{"label": "a"}]}}),
            "buttonList.image and buttonList.video",
        ),
        ("send-catalog", json!({"phone": "not a phone", "catalogPhone": "5511999998888"}), "phone"),
    ];
    for (route, body, names) in &refused {
        let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, body).await;
        assert_eq!(status, 400, "{route}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| m.contains(names)), "{route}: {v} should name {names}");
    }
    // A message sent after the refusals arrives; none of the refused ones did.
    let (status, v) = p
        .http
        .post(
            &p.ce.instance_url(&p.inst, "send-poll"),
            None,
            &json!({"phone": REFUSED_PHONE, "message": "?", "poll": [{"name": "a"}, {"name": "b"}]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let id = v["messageId"].as_str().unwrap().to_owned();
    let messages = eventually(PATIENCE, || async {
        let m = received(&p, REFUSED_PHONE).await;
        by_id(&m, &id).is_some().then_some(m)
    })
    .await
    .expect("the valid poll arrives");
    assert_eq!(messages.len(), 1, "only the valid message arrived: {messages:?}");
    let emptied = eventually(PATIENCE, || async {
        let (_, count) = p.http.get(&p.ce.instance_url(&p.inst, "queue/count"), None).await;
        (count == json!({"count": 0})).then_some(())
    })
    .await;
    assert!(emptied.is_some(), "the queue empties");
    let (_, metrics) = p.http.get(&format!("{}/metrics", p.ce.dp), None).await;
    let metrics = metrics.as_str().unwrap();
    assert!(metrics.contains("chatedge_dp_messages_total{outcome=\"accepted\"} 1\n"), "only one message was accepted");
}
