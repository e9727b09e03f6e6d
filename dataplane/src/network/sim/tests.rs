use std::time::Duration;

use chatedge_config::file::SimConfig;

use tokio::sync::mpsc;

use super::*;
use crate::queue::{Content, OutboundMessage};

fn cfg() -> SimConfig {
    SimConfig {
        ack_delay: Duration::from_millis(1),
        received_delay: Duration::from_millis(1),
        read_delay: Duration::from_millis(1),
        qr_rotate: Duration::from_millis(60),
        qr_codes_per_pairing: 2,
        unreachable_suffix: "0000".into(),
        incoming_redelivery: Duration::from_millis(30),
    }
}

/// Runs `f` on a LocalSet, as a shard does.
fn on_shard<F: std::future::Future<Output = ()>>(
    f: impl FnOnce(Arc<SimNetwork>, SimConnector, mpsc::Receiver<NetworkEvent>) -> F,
) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (tx, rx) = mpsc::channel(64);
    let _in_runtime = rt.enter();
    let dir = tempfile::tempdir().unwrap().keep();
    let store = crate::store::Store::open(&dir, 16, Arc::new(crate::metrics::Metrics::new())).unwrap();
    let net = SimNetwork::new(cfg(), crate::media::Media::temporary(), store, vec![tx]);
    let conn = net.connector(0);
    tokio::task::LocalSet::new().block_on(&rt, f(net, conn, rx));
}

async fn next(rx: &mut mpsc::Receiver<NetworkEvent>) -> NetworkEvent {
    tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("an event in time").expect("channel open")
}

/// The next event, acknowledged as a shard would once it is committed.
async fn next_acked(conn: &mut SimConnector, rx: &mut mpsc::Receiver<NetworkEvent>) -> NetworkEvent {
    let event = next(rx).await;
    if let Some(ack) = event.ack() {
        conn.ack(event.instance(), ack);
    }
    event
}

fn message(instance: InstanceId, phone: &str) -> OutboundMessage {
    OutboundMessage::new(instance, Phone::parse(phone).unwrap(), Content::text("hi"))
}

#[test]
fn pairing_codes_rotate_then_expire_and_old_codes_are_refused() {
    on_shard(|net, mut conn, mut rx| async move {
        let id = InstanceId::generate();
        conn.start_pairing(id, Generation(1), PairingMethod::Qr);
        let NetworkEvent::PairingCode { code: first, .. } = next(&mut rx).await else { panic!("first code") };
        let NetworkEvent::PairingCode { code: second, .. } = next(&mut rx).await else { panic!("second code") };
        assert_ne!(first, second);
        assert!(first.starts_with("2@"));
        assert_eq!(net.scan(&first, Phone::parse("5511999990001").unwrap()).await, Err(SimError::ExpiredCode));
        assert!(matches!(next(&mut rx).await, NetworkEvent::PairingExpired { instance, .. } if instance == id));
        assert_eq!(net.scan(&second, Phone::parse("5511999990001").unwrap()).await, Err(SimError::ExpiredCode));
        assert_eq!(net.scan("2@nope", Phone::parse("5511999990001").unwrap()).await, Err(SimError::UnknownCode));
    });
}

#[test]
fn scanning_the_current_code_connects_the_instance() {
    on_shard(|net, mut conn, mut rx| async move {
        let id = InstanceId::generate();
        conn.start_pairing(id, Generation(1), PairingMethod::Qr);
        let NetworkEvent::PairingCode { code, .. } = next(&mut rx).await else { panic!("code") };
        assert_eq!(net.scan(&code, Phone::parse("5511999990001").unwrap()).await, Ok(id));
        let NetworkEvent::Connected { phone, credentials, generation, .. } = next(&mut rx).await else {
            panic!("connected")
        };
        assert_eq!(phone.as_str(), "5511999990001");
        assert_eq!(generation, Generation(1), "the pairing run's generation");
        // The saved credentials reconnect without a scan.
        conn.close(id, false);
        conn.resume(id, &credentials, Generation(2));
        assert!(matches!(next(&mut rx).await, NetworkEvent::Connected { generation: Generation(2), .. }));
    });
}

#[test]
fn a_sent_message_is_accepted_then_received_then_read() {
    on_shard(|net, mut conn, mut rx| async move {
        let (id, _) = paired(&net, &mut conn, &mut rx).await;
        let m = message(id, "5511999998888");
        conn.send(&m, Generation(1)).unwrap();
        assert!(matches!(next(&mut rx).await, NetworkEvent::Accepted { message_id, .. } if message_id == m.message_id));
        assert!(matches!(next(&mut rx).await, NetworkEvent::Status { status: MessageStatus::Received, .. }));
        assert!(matches!(next(&mut rx).await, NetworkEvent::Status { status: MessageStatus::Read, .. }));
    });
}

#[test]
fn a_number_ending_in_the_unreachable_suffix_is_rejected() {
    on_shard(|net, mut conn, mut rx| async move {
        let (id, _) = paired(&net, &mut conn, &mut rx).await;
        let m = message(id, "5511999990000");
        conn.send(&m, Generation(1)).unwrap();
        assert!(
            matches!(next(&mut rx).await, NetworkEvent::Rejected { reason, .. } if reason.contains("not on the network"))
        );
    });
}

#[test]
fn an_unacknowledged_incoming_message_is_delivered_again() {
    on_shard(|net, mut conn, mut rx| async move {
        let (id, _) = paired(&net, &mut conn, &mut rx).await;
        let mid = net
            .inbound(id, IncomingMessage::text(Phone::parse("5544999999999").unwrap(), "hello".into()), None)
            .await
            .unwrap();
        let NetworkEvent::Incoming { message, ack: Some(ack), .. } = next(&mut rx).await else { panic!("incoming") };
        assert_eq!(message.id, mid);
        let NetworkEvent::Incoming { message: again, .. } = next(&mut rx).await else { panic!("redelivery") };
        assert_eq!(again.id, mid);
        conn.ack(id, ack);
        assert!(tokio::time::timeout(Duration::from_millis(120), rx.recv()).await.is_err(), "no redelivery after ack");
    });
}

/// Pairs a new instance as generation 1 and acknowledges its Connected event.
async fn paired(
    net: &Arc<SimNetwork>,
    conn: &mut SimConnector,
    rx: &mut mpsc::Receiver<NetworkEvent>,
) -> (InstanceId, Credentials) {
    let id = InstanceId::generate();
    conn.start_pairing(id, Generation(1), PairingMethod::Qr);
    let NetworkEvent::PairingCode { code, .. } = next(rx).await else { panic!("code") };
    net.scan(&code, Phone::parse("5511999990001").unwrap()).await.unwrap();
    let NetworkEvent::Connected { credentials, ack: Some(ack), .. } = next(rx).await else { panic!("connected") };
    conn.ack(id, ack);
    (id, credentials)
}

#[test]
fn a_dropped_connection_is_lost_not_logged_out_and_comes_back_once_the_network_does() {
    on_shard(|net, mut conn, mut rx| async move {
        let (id, credentials) = paired(&net, &mut conn, &mut rx).await;
        net.drop_connection(id, Duration::from_millis(200)).await.unwrap();
        let lost = next_acked(&mut conn, &mut rx).await;
        assert!(
            matches!(lost, NetworkEvent::Disconnected { logged_out: false, generation: Generation(1), .. }),
            "{lost:?}"
        );
        assert_eq!(conn.send(&message(id, "5511999998888"), Generation(1)), Err(NetworkError::NotConnected));
        conn.resume(id, &credentials, Generation(2));
        let refused = next_acked(&mut conn, &mut rx).await;
        assert!(
            matches!(refused, NetworkEvent::Disconnected { logged_out: false, generation: Generation(2), .. }),
            "while unreachable an attempt fails without a logout: {refused:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        conn.resume(id, &credentials, Generation(3));
        assert!(matches!(
            next_acked(&mut conn, &mut rx).await,
            NetworkEvent::Connected { generation: Generation(3), .. }
        ));
    });
}

#[test]
fn a_logout_revokes_the_saved_credentials() {
    on_shard(|net, mut conn, mut rx| async move {
        let (id, credentials) = paired(&net, &mut conn, &mut rx).await;
        net.logout(id).await.unwrap();
        assert!(matches!(next_acked(&mut conn, &mut rx).await, NetworkEvent::Disconnected { logged_out: true, .. }));
        conn.resume(id, &credentials, Generation(2));
        assert!(matches!(next_acked(&mut conn, &mut rx).await, NetworkEvent::Disconnected { logged_out: true, .. }));
        assert_eq!(net.logout(id).await, Err(SimError::NotConnected), "nothing left to log out");
    });
}

#[test]
fn a_message_on_the_wire_when_the_connection_drops_is_answered_on_its_old_generation() {
    on_shard(|net, mut conn, mut rx| async move {
        let (id, _) = paired(&net, &mut conn, &mut rx).await;
        let m = message(id, "5511999998888");
        conn.send(&m, Generation(1)).unwrap();
        net.drop_connection(id, Duration::from_millis(50)).await.unwrap();
        let mut saw_accepted = false;
        for _ in 0..2 {
            match next_acked(&mut conn, &mut rx).await {
                NetworkEvent::Accepted { generation, message_id, .. } => {
                    assert_eq!((generation, message_id), (Generation(1), m.message_id));
                    saw_accepted = true;
                }
                NetworkEvent::Disconnected { logged_out: false, .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(saw_accepted);
    });
}

#[test]
fn every_acknowledgeable_event_is_delivered_again_until_acknowledged() {
    on_shard(|net, mut conn, mut rx| async move {
        let (id, _) = paired(&net, &mut conn, &mut rx).await;
        net.presence(id, Phone::parse("5544999999999").unwrap(), Presence::Composing).await.unwrap();
        let NetworkEvent::Presence { ack: Some(ack), .. } = next(&mut rx).await else { panic!("presence") };
        let NetworkEvent::Presence { ack: Some(again), .. } = next(&mut rx).await else { panic!("redelivery") };
        assert_eq!(ack, again, "a redelivery is the same event");
        conn.ack(id, ack);
        assert!(tokio::time::timeout(Duration::from_millis(120), rx.recv()).await.is_err(), "no redelivery after ack");
    });
}

/// The first bytes of an Ogg Opus voice note.
fn voice_note() -> Vec<u8> {
    let mut b =
        [&b"OggS"[..], &[0, 2], &[0; 8], &[0x11, 0x22, 0x33, 0x44], &[0; 8], &[1, 19], b"OpusHead\x01\x02"].concat();
    b.resize(400, 7);
    b
}

#[test]
fn a_voice_note_is_played_after_it_is_read_and_a_text_is_not() {
    on_shard(|net, mut conn, mut rx| async move {
        let (id, _) = paired(&net, &mut conn, &mut rx).await;
        let stored = net.media.store.put_bytes(crate::media::MediaKind::Audio, &voice_note(), 1 << 20).unwrap();
        let audio = crate::queue::content::Media {
            kind: crate::media::MediaKind::Audio,
            source: crate::queue::content::MediaSource::Stored(stored),
            caption: None,
            file_name: None,
            extension: None,
            view_once: false,
            sticker_author: None,
        };
        let m = OutboundMessage::new(id, Phone::parse("5511999998888").unwrap(), Content::Media(Box::new(audio)));
        conn.send(&m, Generation(1)).unwrap();
        assert!(matches!(next_acked(&mut conn, &mut rx).await, NetworkEvent::Accepted { .. }));
        for want in [MessageStatus::Received, MessageStatus::Read, MessageStatus::Played] {
            let event = next_acked(&mut conn, &mut rx).await;
            assert!(matches!(event, NetworkEvent::Status { status, .. } if status == want), "{want:?}: {event:?}");
        }

        conn.send(&message(id, "5511999998888"), Generation(1)).unwrap();
        for _ in 0..3 {
            next_acked(&mut conn, &mut rx).await; // Accepted, RECEIVED, READ
        }
        assert!(tokio::time::timeout(Duration::from_millis(100), rx.recv()).await.is_err(), "a text is not played");
    });
}

#[test]
fn reading_a_received_message_reports_read_by_me_on_it() {
    on_shard(|net, mut conn, mut rx| async move {
        let (id, _) = paired(&net, &mut conn, &mut rx).await;
        let from = Phone::parse("5544999999999").unwrap();
        let received = net.inbound(id, IncomingMessage::text(from.clone(), "oi".into()), None).await.unwrap();
        next_acked(&mut conn, &mut rx).await; // the incoming message
        let read = crate::queue::content::Action::Read { message_id: received.clone() };
        conn.send(&OutboundMessage::new(id, from, Content::Action(Box::new(read))), Generation(1)).unwrap();
        assert!(matches!(next_acked(&mut conn, &mut rx).await, NetworkEvent::Accepted { .. }));
        let event = next_acked(&mut conn, &mut rx).await;
        assert!(
            matches!(&event, NetworkEvent::Status { status: MessageStatus::ReadByMe, message_id, .. } if message_id.to_string() == received),
            "{event:?}"
        );
    });
}

#[test]
fn inbound_media_is_stored_before_the_message_is_handed_over() {
    on_shard(|net, mut conn, mut rx| async move {
        let (id, _) = paired(&net, &mut conn, &mut rx).await;
        let mut m = IncomingMessage::text(Phone::parse("5544999999999").unwrap(), String::new());
        m.content = crate::network::incoming::IncomingContent::Audio(Default::default());
        let base64 = base64::engine::general_purpose::STANDARD.encode(voice_note());
        net.inbound(id, m, Some(base64.into())).await.unwrap();
        let NetworkEvent::Incoming { message, .. } = next(&mut rx).await else { panic!("incoming") };
        let file = message.content.media().expect("the stored file");
        assert_eq!(file.mime, "audio/ogg; codecs=opus");
        assert!(net.media.store.contains(&file.digest));
        assert!(message.sender_lid.as_deref().is_some_and(|l| l.ends_with("@lid")));

        let mut pdf = IncomingMessage::text(Phone::parse("5544999999999").unwrap(), String::new());
        pdf.content = crate::network::incoming::IncomingContent::Image(Default::default());
        let not_an_image = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.7\n");
        assert!(matches!(net.inbound(id, pdf, Some(not_an_image.into())).await, Err(SimError::Media(_))));
    });
}

#[test]
fn a_phone_code_pairs_only_the_number_it_was_shown_for() {
    on_shard(|net, mut conn, mut rx| async move {
        let id = InstanceId::generate();
        let owner = Phone::parse("5511988887777").unwrap();
        conn.start_pairing(id, Generation(1), PairingMethod::PhoneCode(owner.clone()));
        let NetworkEvent::PairingCode { code, .. } = next(&mut rx).await else { panic!("code") };
        assert_eq!(code.len(), 8, "{code}");
        assert_eq!(net.scan(&code, owner.clone()).await, Err(SimError::UnknownCode), "not a QR code");
        let other = Phone::parse("5511988886666").unwrap();
        assert_eq!(net.pair_code(id, &code, other).await, Err(SimError::UnknownCode));
        assert_eq!(net.pair_code(InstanceId::generate(), &code, owner.clone()).await, Err(SimError::UnknownCode));
        let typed = format!("{}-{}", &code[..4], &code[4..]).to_lowercase();
        assert_eq!(net.pair_code(id, &typed, owner).await, Ok(()));
        let NetworkEvent::Connected { phone, generation, .. } = next(&mut rx).await else { panic!("connected") };
        assert_eq!((phone.as_str(), generation), ("5511988887777", Generation(1)));
    });
}

#[test]
fn a_completed_registration_connects_its_pairing_run() {
    use crate::network::account::registration::Call as Reg;
    use crate::network::account::{Account, AccountCall, AccountReply};
    on_shard(|net, mut conn, mut rx| async move {
        let id = InstanceId::generate();
        let phone = Phone::parse("554499998877").unwrap();
        conn.start_pairing(id, Generation(3), PairingMethod::Registration);
        let mut ask = |call: Reg| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            conn.account(id, Account { phone: None, business: false }, AccountCall::Registration(call), tx);
            rx
        };
        ask(Reg::Available { phone: phone.clone() }).await.unwrap().unwrap();
        let method = crate::network::account::registration::CodeMethod::Sms;
        ask(Reg::RequestCode { phone: phone.clone(), method }).await.unwrap().unwrap();
        let code = {
            let world = net.world(id).unwrap();
            let w = lock(&world);
            world::registration::sent(&w).code.clone().unwrap()
        };
        let reply = ask(Reg::ConfirmCode { code }).await.unwrap().unwrap();
        assert!(matches!(reply, AccountReply::Registration(_)));
        let NetworkEvent::Connected { phone: got, generation, .. } = next(&mut rx).await else { panic!("connected") };
        assert_eq!((got, generation), (phone, Generation(3)));
    });
}
