//! Calls on WhatsApp Web through a real shard: a call the engine reports ringing becomes seed
//! 001's CALL_VOICE ReceivedCallback with its `callId`, one that rang out CALL_MISSED_VOICE or
//! CALL_MISSED_VIDEO, and a caller known only by a private id is not announced. With the
//! instance's callRejectAuto the call is declined on the line and its callRejectMessage goes
//! to the caller through the queue.

use super::*;

fn call(id: &str, from: &str, video: bool, missed: bool) -> EngineEvent {
    EngineEvent::Call { id: id.into(), from: from.into(), video, missed, at_ms: 1_679_661_190_000 }
}

fn notice<'a>(webhooks: &'a [Value], kind: &str) -> Vec<&'a Value> {
    webhooks.iter().filter(|v| v["type"] == "ReceivedCallback" && v["notification"] == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_call_and_a_missed_one_become_zapis_call_notifications_with_their_call_id() {
    let (_dir, double, plane) = paired_plane().await;
    let caller = format!("{CONTACT}@s.whatsapp.net");
    double.emit(call("F44E0E2011E7C784", "81896604192873@lid", false, false));
    double.emit(call("F44E0E2011E7C784BB9A", &caller, false, false));
    double.emit(call("F44E0E2011E7C784BB9A", &caller, false, true));
    double.emit(call("0AC3D1", &caller, true, true));

    plane.webhook("the missed video call", |v| v["notification"] == "CALL_MISSED_VIDEO").await;
    let all = plane.webhooks();
    let rang = notice(&all, "CALL_VOICE");
    assert_eq!(rang.len(), 1, "the private-id caller is not announced: {all:#?}");
    let v = rang[0];
    assert_eq!((v["phone"].as_str(), v["callId"].as_str()), (Some(CONTACT), Some("F44E0E2011E7C784BB9A")), "{v}");
    assert_eq!((v["fromMe"].as_bool(), v["isGroup"].as_bool()), (Some(false), Some(false)), "{v}");
    assert_eq!(v["notificationParameters"], serde_json::json!([]), "{v}");
    assert_eq!(v["momment"], 1_679_661_190_000u64, "{v}");
    let missed = notice(&all, "CALL_MISSED_VOICE");
    assert_eq!(missed.len(), 1, "{all:#?}");
    assert_eq!(missed[0]["callId"], "F44E0E2011E7C784BB9A");
    assert_ne!(missed[0]["messageId"], v["messageId"], "the two notices of one call are two messages");
    let video = notice(&all, "CALL_MISSED_VIDEO");
    assert_eq!((video.len(), video[0]["callId"].as_str()), (1, Some("0AC3D1")));
    assert_eq!(plane.events("call"), 3, "three calls reached the shard");
    assert!(double.directory().rejected_calls.is_empty(), "without callRejectAuto no call is declined");
    plane.crash().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_call_reject_auto_a_ringing_call_is_declined_and_the_caller_gets_the_message_through_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let mut instance = instance();
    instance.call_reject_auto = true;
    instance.call_reject_message = Some("We take no calls here: please write.".into());
    let double = Double::new(OnConnect::Silent);
    let plane = start(dir.path(), &double, &instance);
    plane.paired(&double).await;
    let caller = format!("{CONTACT}@s.whatsapp.net");
    double.emit(call("F44E0E2011E7C784BB9A", &caller, false, false));

    until("the call is declined on the line", || double.directory().rejected_calls == ["F44E0E2011E7C784BB9A"]).await;
    assert_eq!(plane.metrics.calls_declined.get(), 1);
    let sent = eventually(|| last_send(&double)).await;
    let Some((_, wa::Outgoing::Text(text))) = sent else { panic!("{sent:?}") };
    assert_eq!(text, "We take no calls here: please write.");
    assert!(double.calls().iter().any(|c| matches!(c, Call::Send { to, .. } if to == CONTACT)), "to the caller");
    let v = plane.webhook("the call", |v| v["notification"] == "CALL_VOICE").await;
    assert_eq!(v["callId"], "F44E0E2011E7C784BB9A");

    // A missed call is not declined again, and without a message nothing is sent.
    double.emit(call("0AC3D1", &caller, false, true));
    plane.webhook("the missed call", |v| v["notification"] == "CALL_MISSED_VOICE").await;
    assert_eq!(double.directory().rejected_calls.len(), 1);
    plane.crash().await;
}
