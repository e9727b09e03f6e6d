//! How core states are written in Zapini's answers (seed 002): instance status (`connected`,
//! `disconnected`, `qr_ready`, `pending`, `offline`), message status (`pending`, `sent`,
//! `delivered`, `read`, `played`), ISO-8601 timestamps as the seed writes them
//! (`2025-12-30T17:30:00.000Z`), and the success envelope.

use chatedge_config::InstanceConfig;
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::network::MessageStatus;

/// An instance's status from its session's link state (`shard::SessionStatus::state`): a
/// stopped instance (trial expired, unpaid) is `offline` whatever its link; a session
/// reconnecting with its saved credentials is `pending`.
pub fn instance_status(instance: &InstanceConfig, link_state: &str) -> &'static str {
    if !instance.active {
        return "offline";
    }
    match link_state {
        "connected" => "connected",
        "qr_ready" => "qr_ready",
        "connecting" => "pending",
        _ => "disconnected",
    }
}

/// A sent message's status: `None` while it waits in the queue (`pending`), then the
/// network's receipts (the seed's status codes 1–5).
pub fn message_status(status: Option<MessageStatus>) -> &'static str {
    match status {
        None => "pending",
        Some(MessageStatus::Sent) => "sent",
        Some(MessageStatus::Received) => "delivered",
        Some(MessageStatus::Read | MessageStatus::ReadByMe) => "read",
        Some(MessageStatus::Played) => "played",
    }
}

/// Unix milliseconds as the seed writes times.
pub fn time(unix_ms: u64) -> String {
    chatedge_config::time::rfc3339_ms(unix_ms)
}

/// Now, as the seed writes times.
pub fn now() -> String {
    time(chatedge_config::time::unix_ms())
}

/// `{"success": true, "data": data}`, with `message` when given.
pub fn data(status: StatusCode, message: Option<&str>, data: Value) -> Resp {
    let mut v = json!({"success": true, "data": data});
    if let Some(m) = message {
        v["message"] = json!(m);
    }
    chatedge_serve::json(status, &v)
}

/// A flat answer, `{"success": true, …fields}` (the instance API's send, status and QR
/// answers).
pub fn flat(fields: Value) -> Resp {
    let mut v = json!({"success": true});
    if let (Some(o), Value::Object(f)) = (v.as_object_mut(), fields) {
        o.extend(f);
    }
    chatedge_serve::json(StatusCode::OK, &v)
}
