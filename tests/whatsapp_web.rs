//! The WhatsApp Web network (issue 13) on the real binary. This machine cannot reach WhatsApp, so
//! the connector is pointed at a loopback port where nothing listens (and told the version, so
//! it looks nothing up): nothing leaves 127.0.0.1. Built with `--features whatsapp-web`, an
//! instance on this network says in `status` that it cannot reach WhatsApp while a sim instance
//! on the same node pairs and sends as usual; built without, creating one is refused by name.

mod common;

use serde_json::json;

use common::{create_instance_with, temp_dir, Chatedge, Http, FAST};

#[cfg(feature = "whatsapp-web")]
#[tokio::test]
async fn without_whatsapp_the_status_says_it_cannot_reach_it_and_other_instances_are_unaffected() {
    use std::time::Duration;

    use common::{create_instance, eventually, pair, send_texts, Sink};

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = format!(
        "{FAST}\n[network.whatsapp_web]\nws_url = \"ws://127.0.0.1:{port}/ws/chat\"\nversion = \"2.3000.1\"\nconnect_timeout_ms = 1000\n"
    );
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config);
    let http = Http::new();
    let sink = Sink::start().await;

    let web = create_instance_with(&http, &ce, None, json!({"name": "shop", "network": "whatsapp-web"})).await;
    common::wait_known(&http, &ce, &web).await;
    // Asking for a QR code starts a pairing; no code can come.
    let (s, v) = http.get(&ce.instance_url(&web, "qr-code"), None).await;
    assert_ne!(s, 200, "no QR code without WhatsApp: {v}");
    let status = eventually(Duration::from_secs(30), || async {
        let (_, v) = http.get(&ce.instance_url(&web, "status"), None).await;
        (v["lineState"] == "unreachable").then_some(v)
    })
    .await
    .expect("the line reports WhatsApp unreachable");
    assert_eq!(status["connected"], json!(false));
    assert_eq!(status["network"], "whatsapp-web");
    let error = status["networkError"].as_str().unwrap_or_default();
    assert!(error.starts_with("cannot reach WhatsApp"), "{status}");

    // The sim instance on the same node is not held up by the unreachable one.
    let sim = create_instance(&http, &ce, Some(&sink)).await;
    pair(&http, &ce, &sim, "5511999990001").await;
    let sent = send_texts(&http, &ce, &sim, 3, 1_000_001, "alongside").await;
    assert_eq!(sent.len(), 3);
    let (_, v) = http.get(&ce.instance_url(&web, "status"), None).await;
    assert_eq!(v["connected"], json!(false), "still not connected: {v}");

    // The WhatsApp Web network takes texts, media, locations, contacts, reactions, pins, deletes,
    // read receipts, polls, poll votes, forwards, buttons (under a text or a picture), carousels,
    // option lists, PIX keys, events and answers to them, channel admin invites (queued until the line is up; pictures are fetched when their
    // turn comes); the rest is refused before queueing, naming what.
    let contact = "5511988887777";
    let queued = [
        ("send-text", json!({"phone": contact, "message": "hi"})),
        ("send-reaction", json!({"phone": contact, "messageId": "3AF8E0F2F4C1A3B5D6E7", "reaction": "👍"})),
        ("send-remove-reaction", json!({"phone": contact, "messageId": "3AF8E0F2F4C1A3B5D6E7"})),
        ("read-message", json!({"phone": contact, "messageId": "3AF8E0F2F4C1A3B5D6E7"})),
        (
            "send-location",
            json!({"phone": contact, "title": "Sé", "address": "Praça da Sé", "latitude": "-23.55", "longitude": "-46.63"}),
        ),
        ("send-contact", json!({"phone": contact, "contactName": "Ana", "contactPhone": "5511977776666"})),
        // Fetched when its turn on the line comes, not now.
        ("send-image", json!({"phone": contact, "image": "http://127.0.0.1:9/a.png", "caption": "menu"})),
        (
            "pin-message",
            json!({"phone": contact, "messageId": "3AF8E0F2F4C1A3B5D6E7", "messageAction": "pin", "pinMessageDuration": "24_hours"}),
        ),
        ("send-poll", json!({"phone": contact, "message": "Which?", "poll": [{"name": "a"}, {"name": "b"}]})),
        (
            "send-poll-vote",
            json!({"phone": contact, "pollMessageId": "3AF8E0F2F4C1A3B5D6E8", "pollVote": [{"name": "a"}]}),
        ),
        (
            "forward-message",
            json!({"phone": contact, "messageId": "3AF8E0F2F4C1A3B5D6E7", "messagePhone": "5511977776666"}),
        ),
        (
            "send-button-list",
            json!({"phone": contact, "message": "Bom?", "buttonList": {"buttons": [
                {"id": "1", "label": "Ótimo"}, {"id": "2", "label": "Excelente"}]}}),
        ),
        (
            "send-option-list",
            json!({"phone": contact, "message": "Qual?", "optionList": {"title": "Opções", "buttonLabel": "Abrir",
                "options": [{"id": "1", "title": "Suporte", "description": "Falar com o suporte"}]}}),
        ),
        ("send-button-pix", json!({"phone": contact, "pixKey": "a@b.test", "type": "EMAIL", "merchantName": "Loja"})),
        (
            "send-button-list",
            json!({"phone": contact, "message": "Bom?", "buttonList": {"image": "http://127.0.0.1:9/a.png",
                "buttons": [{"id": "1", "label": "Ótimo"}, {"id": "2", "label": "Excelente"}]}}),
        ),
        (
            "send-carousel",
            json!({"phone": contact, "message": "Veja", "carousel": [
                {"text": "Um", "image": "http://127.0.0.1:9/a.png"}, {"text": "Dois", "image": "http://127.0.0.1:9/b.png"}]}),
        ),
        (
            "send-event",
            json!({"phone": contact, "event": {"name": "Lançamento", "dateTime": "2027-04-29T08:30:53.309Z", "canceled": false}}),
        ),
        (
            "send-event-response",
            json!({"phone": contact, "eventMessageId": "3AF8E0F2F4C1A3B5D6E9", "eventResponse": "GOING"}),
        ),
        (
            "send-newsletter-admin-invite",
            json!({"phone": contact, "adminInviteMessage": {"newsletterId": "120363166555745933@newsletter", "caption": "Oi"}}),
        ),
    ];
    for (route, body) in queued {
        let (s, v) = http.post(&ce.instance_url(&web, route), None, &body).await;
        assert!(s == 200 || s == 204, "{route}: {s} {v}");
    }
    for owner in ["true", "false"] {
        let delete = format!("messages?messageId=3AF8E0F2F4C1A3B5D6E7&phone={contact}&owner={owner}");
        let (s, v) = http.delete(&ce.instance_url(&web, &delete)).await;
        assert_eq!(s, 204, "delete for everyone and for this account only: {v}");
    }
    let (_, count) = http.get(&ce.instance_url(&web, "queue/count"), None).await;
    assert_eq!(count["count"], json!(21), "all twenty-one wait for the line: {count}");
    let refused = [(
        "send-event",
        json!({"phone": contact, "event": {"name": "Chamada", "dateTime": "2027-04-29T08:30:53.309Z",
                "callLinkType": "video", "canceled": false}}),
        "callLinkType",
    )];
    for (route, body, says) in refused {
        let (s, v) = http.post(&ce.instance_url(&web, route), None, &body).await;
        assert_eq!(s, 400, "{route}: {v}");
        assert!(v.to_string().contains(says), "{route}: {v}");
    }
    let (_, count) = http.get(&ce.instance_url(&web, "queue/count"), None).await;
    assert_eq!(count["count"], json!(21), "nothing refused was queued: {count}");
}

#[cfg(not(feature = "whatsapp-web"))]
#[tokio::test]
async fn a_binary_built_without_the_feature_refuses_whatsapp_web_instances_by_name() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    let body = json!({"name": "shop", "network": "whatsapp-web"});
    let (status, v) =
        http.post(&format!("{}/instances/integrator/on-demand", ce.cp), Some(&ce.integrator_token), &body).await;
    assert_eq!(status, 400, "{v}");
    assert!(v.to_string().contains("built without the whatsapp-web feature"), "{v}");
    // The sim stays the default network.
    let sim = create_instance_with(&http, &ce, None, json!({"name": "sim"})).await;
    common::wait_known(&http, &ce, &sim).await;
}
