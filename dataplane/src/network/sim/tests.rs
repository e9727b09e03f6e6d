use std::time::Duration;

use chatedge_config::file::SimConfig;
use chatedge_config::{MessageId, ZaapId};
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
    let net = SimNetwork::new(cfg(), vec![tx]);
    let conn = net.connector(0);
    tokio::task::LocalSet::new().block_on(&rt, f(net, conn, rx));
}

async fn next(rx: &mut mpsc::Receiver<NetworkEvent>) -> NetworkEvent {
    tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("an event in time").expect("channel open")
}

fn message(instance: InstanceId, phone: &str) -> OutboundMessage {
    OutboundMessage {
        instance,
        zaap_id: ZaapId::generate(),
        message_id: MessageId::random(),
        phone: Phone::parse(phone).unwrap(),
        content: Content::Text { message: "hi".into() },
        delay_message_s: None,
        delay_typing_s: None,
        edit_message_id: None,
        created_ms: 0,
    }
}

#[test]
fn pairing_codes_rotate_then_expire_and_old_codes_are_refused() {
    on_shard(|net, mut conn, mut rx| async move {
        let id = InstanceId::generate();
        conn.start_pairing(id);
        let NetworkEvent::PairingCode { code: first, .. } = next(&mut rx).await else { panic!("first code") };
        let NetworkEvent::PairingCode { code: second, .. } = next(&mut rx).await else { panic!("second code") };
        assert_ne!(first, second);
        assert!(first.starts_with("2@"));
        assert_eq!(net.scan(&first, Phone::parse("5511999990001").unwrap()).await, Err(SimError::ExpiredCode));
        assert!(matches!(next(&mut rx).await, NetworkEvent::PairingExpired { instance } if instance == id));
        assert_eq!(net.scan(&second, Phone::parse("5511999990001").unwrap()).await, Err(SimError::ExpiredCode));
        assert_eq!(net.scan("2@nope", Phone::parse("5511999990001").unwrap()).await, Err(SimError::UnknownCode));
    });
}

#[test]
fn scanning_the_current_code_connects_the_instance() {
    on_shard(|net, mut conn, mut rx| async move {
        let id = InstanceId::generate();
        conn.start_pairing(id);
        let NetworkEvent::PairingCode { code, .. } = next(&mut rx).await else { panic!("code") };
        assert_eq!(net.scan(&code, Phone::parse("5511999990001").unwrap()).await, Ok(id));
        let NetworkEvent::Connected { phone, credentials, .. } = next(&mut rx).await else { panic!("connected") };
        assert_eq!(phone.as_str(), "5511999990001");
        // The saved credentials reconnect without a scan.
        conn.close(id, false);
        conn.resume(id, &credentials);
        assert!(matches!(next(&mut rx).await, NetworkEvent::Connected { .. }));
    });
}

#[test]
fn a_sent_message_is_accepted_then_received_then_read() {
    on_shard(|_net, mut conn, mut rx| async move {
        let m = message(InstanceId::generate(), "5511999998888");
        conn.send(&m).unwrap();
        assert!(matches!(next(&mut rx).await, NetworkEvent::Accepted { message_id, .. } if message_id == m.message_id));
        assert!(matches!(next(&mut rx).await, NetworkEvent::Status { status: MessageStatus::Received, .. }));
        assert!(matches!(next(&mut rx).await, NetworkEvent::Status { status: MessageStatus::Read, .. }));
    });
}

#[test]
fn a_number_ending_in_the_unreachable_suffix_is_rejected() {
    on_shard(|_net, mut conn, mut rx| async move {
        let m = message(InstanceId::generate(), "5511999990000");
        conn.send(&m).unwrap();
        assert!(
            matches!(next(&mut rx).await, NetworkEvent::Rejected { reason, .. } if reason.contains("not on the network"))
        );
    });
}

#[test]
fn an_unacknowledged_incoming_message_is_delivered_again() {
    on_shard(|net, mut conn, mut rx| async move {
        let id = InstanceId::generate();
        conn.start_pairing(id);
        let NetworkEvent::PairingCode { code, .. } = next(&mut rx).await else { panic!("code") };
        net.scan(&code, Phone::parse("5511999990001").unwrap()).await.unwrap();
        next(&mut rx).await; // Connected
        let mid = net.inbound(id, Phone::parse("5544999999999").unwrap(), "hello".into()).await.unwrap();
        let NetworkEvent::Incoming { message, .. } = next(&mut rx).await else { panic!("incoming") };
        assert_eq!(message.id, mid);
        let NetworkEvent::Incoming { message: again, .. } = next(&mut rx).await else { panic!("redelivery") };
        assert_eq!(again.id, mid);
        conn.ack_incoming(id, &mid);
        assert!(tokio::time::timeout(Duration::from_millis(120), rx.recv()).await.is_err(), "no redelivery after ack");
    });
}
