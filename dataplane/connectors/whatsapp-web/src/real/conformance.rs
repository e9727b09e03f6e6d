//! What the engine's store ([`KvBackend`]) must keep on any [`KvStore`], as functions a
//! store's tests call (the connector's own tests on `MemKv`, the data plane's on RocksDB): its
//! tables read back their writes as whatsapp-rust's reference in-memory store does, and what
//! it wrote survives the store being closed and opened again
//! ([`write_a_session`] before, [`the_session_survived`] after). They panic with the broken
//! expectation, like test assertions; nothing here runs in production.

use std::sync::Arc;

use chatedge_connector::KvStore;
use whatsapp_rust::wacore::store::traits::{
    AppSyncStore, DeviceStore, MsgSecretEntry, MsgSecretStore, ProtocolStore, SignalStore, TcTokenEntry,
};

use super::store::KvBackend;

/// The engine's tables on `kv` (a fresh, empty store): each reads back what was written,
/// deletes and batch deletes remove what they name, expiry sweeps remove only the expired,
/// and the device record is created on demand, as whatsapp-rust's reference in-memory store
/// behaves.
pub async fn reads_its_writes_table_by_table(kv: Arc<dyn KvStore>) {
    let b = KvBackend::new(kv);
    b.put_sessions_batch(&[("a.0".into(), vec![1u8, 2].into()), ("b.0".into(), vec![3u8].into())]).await.unwrap();
    assert_eq!(b.get_session("a.0").await.unwrap().as_deref(), Some(&[1u8, 2][..]));
    b.delete_session("a.0").await.unwrap();
    assert!(!b.has_session("a.0").await.unwrap() && b.has_session("b.0").await.unwrap());
    b.put_identity("a.0", [7; 32]).await.unwrap();
    assert_eq!(b.load_identity("a.0").await.unwrap(), Some([7; 32]));

    b.store_prekeys_batch(&[(5, vec![5u8].into()), (9, vec![9u8].into())], false).await.unwrap();
    b.remove_prekey(9).await.unwrap();
    assert_eq!(b.load_prekeys_batch(&[5, 9]).await.unwrap(), vec![(5, vec![5u8].into())]);
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 9, "a pre-key id is never handed out twice");
    b.store_signed_prekey(1, &[1]).await.unwrap();
    b.store_signed_prekey(2, &[2]).await.unwrap();
    assert_eq!(b.load_all_signed_prekeys().await.unwrap(), vec![(1, vec![1]), (2, vec![2])]);

    b.set_sync_key(b"k1", Default::default()).await.unwrap();
    assert_eq!(b.get_latest_sync_key_id().await.unwrap().as_deref(), Some(&b"k1"[..]));
    assert_eq!(b.get_version("regular").await.unwrap().version, 0, "an unknown collection starts at version 0");

    b.set_sender_key_status("g@g.us", &[("a:1@s.whatsapp.net", true), ("b:2@s.whatsapp.net", false)]).await.unwrap();
    b.delete_sender_key_device_rows(&["b:2@s.whatsapp.net"]).await.unwrap();
    assert_eq!(b.get_sender_key_devices("g@g.us").await.unwrap(), vec![("a:1@s.whatsapp.net".to_owned(), true)]);

    let mapping = |pn: &str| whatsapp_rust::wacore::store::traits::LidPnMappingEntry {
        lid: "100".into(),
        phone_number: pn.into(),
        created_at: 0,
        updated_at: 0,
        learning_source: "test".into(),
    };
    b.put_lid_mapping(&mapping("5511")).await.unwrap();
    b.put_lid_mapping(&mapping("5522")).await.unwrap();
    assert!(b.get_pn_mapping("5511").await.unwrap().is_none(), "a changed number forgets the old one");
    assert_eq!(b.get_pn_mapping("5522").await.unwrap().map(|e| e.lid), Some("100".into()));

    b.store_sent_message("c", "m1", b"payload").await.unwrap();
    assert_eq!(b.take_sent_message("c", "m1").await.unwrap().as_deref(), Some(&b"payload"[..]));
    assert_eq!(b.take_sent_message("c", "m1").await.unwrap(), None, "taken once");

    b.store_pending_inbound("c", "s", "i", b"msg").await.unwrap();
    assert_eq!(b.get_pending_inbound("c", "s", "i").await.unwrap().as_deref(), Some(&b"msg"[..]));
    assert_eq!(b.delete_expired_pending_inbound(i64::MAX).await.unwrap(), 1);
    assert_eq!(b.get_pending_inbound("c", "s", "i").await.unwrap(), None);

    let secret = |exp| MsgSecretEntry {
        chat: "c".into(),
        sender: "s".into(),
        msg_id: "m".into(),
        secret: [1; 32],
        expires_at: exp,
        message_ts: 0,
    };
    b.put_msg_secrets(vec![secret(100)]).await.unwrap();
    assert_eq!(b.get_msg_secret("c", "s", "m").await.unwrap(), Some(vec![1; 32]));
    assert_eq!(b.delete_expired_msg_secrets(50).await.unwrap(), 0);
    assert_eq!(b.delete_expired_msg_secrets(100).await.unwrap(), 1);

    b.put_tc_token("j", &TcTokenEntry { token: vec![1], token_timestamp: 10, sender_timestamp: None }).await.unwrap();
    assert_eq!(b.delete_expired_tc_tokens(5, 5).await.unwrap(), 0);
    assert_eq!(b.delete_expired_tc_tokens(11, 11).await.unwrap(), 1);

    assert!(!b.exists().await.unwrap());
    b.create().await.unwrap();
    assert!(b.exists().await.unwrap() && b.load().await.unwrap().is_some(), "create materialises a device");
}

/// Writes what a live session holds (a device, Signal sessions and identities, pre-keys, a
/// sender-key status, a buffered inbound message) for [`the_session_survived`] to read back.
pub async fn write_a_session(kv: Arc<dyn KvStore>) {
    let b = KvBackend::new(kv);
    b.create().await.unwrap();
    b.put_sessions_batch(&[("5511988887777.0".into(), vec![1u8, 2, 3].into())]).await.unwrap();
    b.put_identity("5511988887777.0", [9; 32]).await.unwrap();
    b.store_prekeys_batch(&[(41, vec![41u8].into()), (42, vec![42u8].into())], true).await.unwrap();
    b.set_sender_key_status("g@g.us", &[("5511988887777:1@s.whatsapp.net", true)]).await.unwrap();
    b.store_pending_inbound("5511988887777@s.whatsapp.net", "5511988887777@s.whatsapp.net", "3A5F", b"pending")
        .await
        .unwrap();
}

/// Everything [`write_a_session`] wrote reads back the same from the reopened store.
pub async fn the_session_survived(kv: Arc<dyn KvStore>) {
    let b = KvBackend::new(kv);
    assert!(b.exists().await.unwrap(), "the device survived");
    assert_eq!(b.get_session("5511988887777.0").await.unwrap().as_deref(), Some(&[1u8, 2, 3][..]));
    assert_eq!(b.load_identity("5511988887777.0").await.unwrap(), Some([9; 32]));
    assert_eq!(b.load_prekeys_batch(&[41, 42]).await.unwrap().len(), 2);
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 42);
    let devices = b.get_sender_key_devices("g@g.us").await.unwrap();
    assert_eq!(devices, vec![("5511988887777:1@s.whatsapp.net".to_owned(), true)]);
    let pending =
        b.get_pending_inbound("5511988887777@s.whatsapp.net", "5511988887777@s.whatsapp.net", "3A5F").await.unwrap();
    assert_eq!(pending.as_deref(), Some(&b"pending"[..]), "a buffered inbound message survived");
}

fn numbered(n: u32) -> (Arc<str>, Vec<u8>) {
    (format!("55119{n:08}.0").into(), n.to_be_bytes().repeat(64))
}

/// Writes Signal session number `n` through the engine's trait (one batch), as a send does
/// before its stanza reaches the wire; [`numbered_session_survived`] reads it back.
pub async fn write_numbered_session(kv: Arc<dyn KvStore>, n: u32) {
    let (address, session) = numbered(n);
    KvBackend::new(kv).put_sessions_batch(&[(address, session.into())]).await.unwrap();
}

/// Session number `n` reads back whole.
pub async fn numbered_session_survived(kv: Arc<dyn KvStore>, n: u32) {
    let (address, session) = numbered(n);
    let got = KvBackend::new(kv).get_session(&address).await.unwrap();
    assert_eq!(got.as_deref(), Some(&session[..]), "acknowledged session {n} survived");
}
