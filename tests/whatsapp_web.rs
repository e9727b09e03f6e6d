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

/// The connector against a WhatsApp server and phone on loopback (feature
/// `whatsapp-web-loopback`): the real engine pairs, logs in, keeps its keys in chatedge's store
/// across a restart, and hears the phone unlink it.
#[cfg(feature = "whatsapp-web-loopback")]
mod paired {
    use std::time::Duration;

    use chatedge_whatsapp_web::ids::WireId;
    use chatedge_whatsapp_web::loopback::{Ban, Device, LoopbackWhatsApp, SentMessage};
    use serde_json::{json, Value};

    use super::common::{self, create_instance_with, eventually, temp_dir, Chatedge, Http, Instance, Sink, FAST};

    fn config(whatsapp: &LoopbackWhatsApp) -> String {
        format!("{FAST}\n[network.whatsapp_web]\nws_url = \"{}\"\nversion = \"2.3000.1\"\n", whatsapp.ws_url())
    }

    async fn qr_code(http: &Http, ce: &Chatedge, instance: &Instance) -> String {
        eventually(Duration::from_secs(30), || async {
            let (s, v) = http.get(&ce.instance_url(instance, "qr-code"), None).await;
            (s == 200).then(|| v["value"].as_str().map(str::to_owned)).flatten()
        })
        .await
        .unwrap_or_else(|| panic!("the engine shows no QR code; log:\n{}", ce.log()))
    }

    async fn status(http: &Http, ce: &Chatedge, instance: &Instance, connected: bool) -> Value {
        eventually(Duration::from_secs(60), || async {
            let (_, v) = http.get(&ce.instance_url(instance, "status"), None).await;
            (v["connected"] == json!(connected)).then_some(v)
        })
        .await
        .unwrap_or_else(|| panic!("the instance reports connected = {connected}; log:\n{}", ce.log()))
    }

    /// An instance on WhatsApp Web whose phone (`5511987650001`) scanned its QR code, connected.
    struct Paired {
        ce: Chatedge,
        http: Http,
        sink: Sink,
        web: Instance,
        device: Device,
    }

    /// The body of the first ConnectedCallback `sink` got.
    async fn connected_callback(sink: &Sink) -> Value {
        let is_connected = |r: &common::sink::Received| r.body["type"] == "ConnectedCallback";
        let events = sink.wait_for(Duration::from_secs(30), "ConnectedCallback", |e| e.iter().any(is_connected)).await;
        events.into_iter().find(is_connected).map(|r| r.body).unwrap_or_default()
    }

    /// chatedge up against `whatsapp`, with an instance on WhatsApp Web whose webhooks go to a sink.
    async fn unpaired(whatsapp: &LoopbackWhatsApp, dir: &std::path::Path) -> (Chatedge, Http, Sink, Instance) {
        let ce = Chatedge::up(dir, &config(whatsapp));
        let http = Http::new();
        let sink = Sink::start().await;
        let web =
            create_instance_with(&http, &ce, Some(&sink), json!({"name": "shop", "network": "whatsapp-web"})).await;
        common::wait_known(&http, &ce, &web).await;
        (ce, http, sink, web)
    }

    async fn paired(whatsapp: &LoopbackWhatsApp, dir: &std::path::Path) -> Paired {
        let (ce, http, sink, web) = unpaired(whatsapp, dir).await;
        // The customer's phone scans the code the integrator shows.
        let qr = qr_code(&http, &ce, &web).await;
        assert!(qr.starts_with("2@"), "{qr}");
        let device = whatsapp.scan(&qr, "5511987650001").expect("the code belongs to a device on the line");
        let v = status(&http, &ce, &web, true).await;
        assert_eq!(v["network"], "whatsapp-web", "{v}");
        Paired { ce, http, sink, web, device }
    }

    #[tokio::test]
    async fn a_device_paired_by_its_qr_code_logs_in_again_after_a_restart_and_is_logged_out_when_the_phone_unlinks_it()
    {
        let whatsapp = LoopbackWhatsApp::start().await.unwrap();
        let dir = temp_dir();
        let Paired { ce, http, sink, web, device } = paired(&whatsapp, dir.path()).await;
        let connected = connected_callback(&sink).await;
        assert_eq!(connected["phone"], "5511987650001", "{connected}");
        assert_eq!(whatsapp.connected(), vec![device.clone()]);

        // A text leaves under chatedge's own message id.
        let (s, sent) = http
            .post(&ce.instance_url(&web, "send-text"), None, &json!({"phone": "5511988887777", "message": "olá"}))
            .await;
        assert_eq!(s, 200, "{sent}");
        let id = sent["messageId"].as_str().unwrap().to_owned();
        let ours = |m: &SentMessage| WireId::ours(&m.id).is_some_and(|ours| ours.to_string() == id);
        let on_wire = eventually(Duration::from_secs(30), || async { whatsapp.sent().into_iter().find(ours) })
            .await
            .unwrap_or_else(|| panic!("{id} on the wire; sent {:?}", whatsapp.sent()));
        assert_eq!((on_wire.to.as_str(), on_wire.kind.as_str()), ("5511988887777@s.whatsapp.net", "text"));
        // The server's ack, then the phone's receipts, reach the integrator.
        let id = id.as_str();
        let status_of = |kind: &'static str| {
            move |events: &[common::sink::Received]| {
                events.iter().any(|r| {
                    r.body["type"] == "MessageStatusCallback" && r.body["status"] == kind && r.body["ids"][0] == id
                })
            }
        };
        sink.wait_for(Duration::from_secs(30), "SENT", status_of("SENT")).await;
        whatsapp.receipt(&on_wire, false);
        sink.wait_for(Duration::from_secs(30), "RECEIVED", status_of("RECEIVED")).await;
        whatsapp.receipt(&on_wire, true);
        sink.wait_for(Duration::from_secs(30), "READ", status_of("READ")).await;

        // The contact answers: the engine decrypts it, chatedge commits it and tells the
        // integrator, and only then does the device confirm it to the server.
        let incoming = whatsapp
            .write("5511988887777", &device, "oi, tudo bem?")
            .await
            .expect("the device's keys are on the server");
        let received = sink
            .wait_for(Duration::from_secs(30), "ReceivedCallback", |e| {
                e.iter().any(|r| r.body["messageId"] == incoming.as_str())
            })
            .await;
        let received = received.iter().find(|r| r.body["messageId"] == incoming.as_str()).unwrap();
        assert_eq!(received.body["type"], "ReceivedCallback", "{}", received.body);
        assert_eq!(received.body["phone"], "5511988887777", "{}", received.body);
        assert_eq!(received.body["text"]["message"], "oi, tudo bem?", "{}", received.body);
        assert_eq!(received.body["fromMe"], json!(false), "{}", received.body);
        let confirmed =
            eventually(Duration::from_secs(30), || async { whatsapp.confirmed().contains(&incoming).then_some(()) })
                .await;
        assert!(
            confirmed.is_some(),
            "the device confirmed {incoming}: {:?}; it sent {:#?}",
            whatsapp.confirmed(),
            whatsapp.stanzas()
        );

        // Its keys are in chatedge's store: after a restart it logs in without a new code.
        assert!(ce.terminate().success());
        let ce = Chatedge::up(dir.path(), &config(&whatsapp));
        status(&http, &ce, &web, true).await;
        assert_eq!(whatsapp.logins(), 2, "one login after pairing, one after the restart");

        // The phone unlinks the device: the instance is logged out and needs a new code.
        whatsapp.unlink(&device);
        let v = status(&http, &ce, &web, false).await;
        sink.wait_for(Duration::from_secs(30), "DisconnectedCallback", |e| {
            e.iter().any(|r| r.body["type"] == "DisconnectedCallback")
        })
        .await;
        let (s, v2) = http.get(&ce.instance_url(&web, "qr-code"), None).await;
        assert!(s == 200 || v2.to_string().contains("pair"), "a new pairing starts: {s} {v2} (status {v})");
    }

    #[tokio::test]
    async fn a_message_in_flight_at_kill_minus_nine_is_resent_under_its_id_and_a_locked_account_stops_reconnecting() {
        let whatsapp = LoopbackWhatsApp::start().await.unwrap();
        let dir = temp_dir();
        let Paired { ce, http, sink, web, .. } = paired(&whatsapp, dir.path()).await;

        // The server takes the message but has not acknowledged it when chatedge dies.
        whatsapp.hold_acks(true);
        let (s, sent) = http
            .post(&ce.instance_url(&web, "send-text"), None, &json!({"phone": "5511988887777", "message": "1"}))
            .await;
        assert_eq!(s, 200, "{sent}");
        let id = sent["messageId"].as_str().unwrap().to_owned();
        let times_on_wire =
            || whatsapp.sent().iter().filter(|m| WireId::ours(&m.id).is_some_and(|o| o.to_string() == id)).count();
        eventually(Duration::from_secs(30), || async { (times_on_wire() == 1).then_some(()) })
            .await
            .expect("on the wire");
        ce.kill_9();
        let ce = Chatedge::up(dir.path(), &config(&whatsapp));
        // Back up, the session sends it again: the same stanza id, so WhatsApp takes it once.
        eventually(Duration::from_secs(60), || async { (times_on_wire() == 2).then_some(()) })
            .await
            .unwrap_or_else(|| panic!("resent after the restart: {:?}; log:\n{}", whatsapp.sent(), ce.log()));
        whatsapp.hold_acks(false);
        sink.wait_for(Duration::from_secs(30), "SENT", |e| {
            e.iter().any(|r| {
                r.body["type"] == "MessageStatusCallback"
                    && r.body["status"] == "SENT"
                    && r.body["ids"][0] == id.as_str()
            })
        })
        .await;

        // A dropped connection is the session's to retry: it connects again by itself.
        let logins = whatsapp.logins();
        whatsapp.drop_connections();
        eventually(Duration::from_secs(60), || async { (whatsapp.logins() > logins).then_some(()) })
            .await
            .expect("the session reconnects");
        status(&http, &ce, &web, true).await;

        // A locked account: the connector stops reconnecting (that would prolong the lock) and
        // says so until when.
        whatsapp.ban("5511987650001", Ban::Locked);
        let v = eventually(Duration::from_secs(60), || async {
            let (_, v) = http.get(&ce.instance_url(&web, "status"), None).await;
            (v["lineState"] == "cooling_down").then_some(v)
        })
        .await
        .unwrap_or_else(|| panic!("the line cools down; log:\n{}", ce.log()));
        assert_eq!(v["connected"], json!(false), "{v}");
        assert!(v["retryAt"].as_u64().is_some(), "{v}");
        sink.wait_for(Duration::from_secs(30), "DisconnectedCallback", |e| {
            e.iter().any(|r| r.body["type"] == "DisconnectedCallback")
        })
        .await;
        let attempts = whatsapp.connections();
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(whatsapp.connections(), attempts, "no reconnect while the account is locked");
    }

    #[tokio::test]
    async fn a_device_linked_by_the_code_its_owner_types_connects() {
        let whatsapp = LoopbackWhatsApp::start().await.unwrap();
        let dir = temp_dir();
        let (ce, http, sink, web) = unpaired(&whatsapp, dir.path()).await;
        let code = eventually(Duration::from_secs(30), || async {
            let (s, v) = http.get(&ce.instance_url(&web, "phone-code/5511987650002"), None).await;
            (s == 200).then(|| v["value"].as_str().map(str::to_owned)).flatten()
        })
        .await
        .unwrap_or_else(|| panic!("a code for the number; log:\n{}", ce.log()));
        assert_eq!(code.replace('-', "").len(), 8, "{code}");
        // A business account: its device learns the account's name at pairing, so it can show
        // a presence at all (a personal account's name comes with app state).
        whatsapp.business("5511987650002", "Loja Centro");
        whatsapp.enter_code("5511987650002", &code).expect("a device waits for that number");
        status(&http, &ce, &web, true).await;
        let connected = connected_callback(&sink).await;
        assert_eq!(connected["phone"], "5511987650002", "{connected}");
        assert_eq!(whatsapp.connected(), vec![Device { phone: "5511987650002".into(), device: 1 }]);

        // Once connected the device goes unavailable, so the phone keeps showing notifications.
        let unavailable = || whatsapp.presences().last().is_some_and(|p| p.contains("type=unavailable"));
        eventually(Duration::from_secs(30), || async { unavailable().then_some(()) })
            .await
            .unwrap_or_else(|| panic!("unavailable after connecting: {:?}", whatsapp.presences()));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(unavailable(), "and stays so: {:?}", whatsapp.presences());
    }

    /// Pairs `instances` one after another and waits until all are connected.
    async fn pair_all(
        http: &Http,
        ce: &Chatedge,
        whatsapp: &LoopbackWhatsApp,
        instances: &[Instance],
        first_phone: u64,
    ) {
        for (n, instance) in instances.iter().enumerate() {
            let qr = qr_code(http, ce, instance).await;
            whatsapp.scan(&qr, &(first_phone + n as u64).to_string()).expect("the code is on a line");
        }
        for instance in instances {
            status(http, ce, instance, true).await;
        }
    }

    /// Issue 13 §1's figure: the resident memory an idle connected session adds, with the
    /// engine's store on RocksDB. `SESSIONS` instances (default 50) are paired in `STEPS` equal
    /// steps (default 5); after each, once things settle, the process's resident memory is read.
    /// The growth over the steps after the first, divided by their sessions, is the figure: it
    /// leaves out what the first sessions of a process pay once (RocksDB's memtables, the
    /// allocator's arenas). A measurement, not a check: run it by hand on a release build
    /// (README, "Memory per WhatsApp Web session").
    #[tokio::test]
    #[ignore = "a measurement; run by hand: cargo test --release --features whatsapp-web-loopback --test whatsapp_web -- --ignored --nocapture"]
    async fn idle_memory_per_connected_session() {
        let env = |name: &str, default: usize| std::env::var(name).ok().and_then(|n| n.parse().ok()).unwrap_or(default);
        let (sessions, steps) = (env("SESSIONS", 50), env("STEPS", 5).max(2));
        let step = sessions / steps;
        let settle = Duration::from_secs(30);
        let whatsapp = LoopbackWhatsApp::start().await.unwrap();
        let dir = temp_dir();
        let ce = Chatedge::up(dir.path(), &config(&whatsapp));
        let http = Http::new();
        let mut instances = Vec::new();
        for n in 0..step * steps {
            let body = json!({"name": format!("shop {n}"), "network": "whatsapp-web"});
            instances.push(create_instance_with(&http, &ce, None, body).await);
        }
        for instance in &instances {
            common::wait_known(&http, &ce, instance).await;
        }
        tokio::time::sleep(settle).await;
        let mut rss = vec![(0, ce.rss_kib(), ce.rss_anon_kib())];
        for (n, batch) in instances.chunks(step).enumerate() {
            pair_all(&http, &ce, &whatsapp, batch, 5511900000000 + (n * step) as u64).await;
            tokio::time::sleep(settle).await;
            rss.push(((n + 1) * step, ce.rss_kib(), ce.rss_anon_kib()));
            println!("{:>4} connected: VmRSS {:>7} KiB, RssAnon {:>7} KiB", (n + 1) * step, rss[n + 1].1, rss[n + 1].2);
        }
        assert_eq!(whatsapp.connected().len(), step * steps, "every session is connected");
        let (first, last) = (rss[1], rss[steps]);
        let per_session = |a: u64, b: u64| b.saturating_sub(a) as f64 / (last.0 - first.0) as f64;
        println!(
            "unpaired: VmRSS {} KiB; the first {step} sessions added {} KiB; after them, {:.0} KiB VmRSS ({:.0} KiB RssAnon) per idle connected session",
            rss[0].1,
            first.1.saturating_sub(rss[0].1),
            per_session(first.1, last.1),
            per_session(first.2, last.2),
        );
    }
}
