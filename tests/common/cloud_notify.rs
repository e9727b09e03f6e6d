//! Meta's side of the Cloud API webhook, for tests: builds notifications shaped as in Meta's
//! "messages webhook reference" (`whatsapp_business_account` → `entry[].changes[].value`),
//! signs them with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>` and POSTs
//! them to chatedge's `/network/cloud-api/{instanceId}/webhook`, like Meta's webhook sender.

use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use sha2::Sha256;

/// A Cloud API number as Meta's app dashboard shows it (ids from Meta's reference examples).
#[derive(Debug, Clone)]
pub struct CloudNumber {
    pub phone_number_id: String,
    pub business_account_id: String,
    pub display_phone_number: String,
    pub access_token: String,
    pub app_secret: String,
}

impl CloudNumber {
    pub fn example() -> CloudNumber {
        CloudNumber {
            phone_number_id: "106540352242922".into(),
            business_account_id: "102290129340398".into(),
            display_phone_number: "15550783881".into(),
            access_token: "EAAGtestaccesstoken0123456789".into(),
            app_secret: "0123456789abcdef0123456789abcdef".into(),
        }
    }

    /// The `cloudApi` object of an on-demand create.
    pub fn create_fields(&self) -> Value {
        json!({
            "phoneNumberId": self.phone_number_id,
            "businessAccountId": self.business_account_id,
            "accessToken": self.access_token,
            "appSecret": self.app_secret,
        })
    }

    /// A notification carrying `value` (with this number's metadata added).
    pub fn notification(&self, mut value: Value) -> Value {
        value["messaging_product"] = json!("whatsapp");
        value["metadata"] =
            json!({"display_phone_number": self.display_phone_number, "phone_number_id": self.phone_number_id});
        json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": self.business_account_id, "changes": [{"value": value, "field": "messages"}]}]
        })
    }

    /// A notification of one message from `from` (named `name`) of `kind` with that kind's object.
    pub fn message(&self, from: &str, name: &str, wamid: &str, kind: &str, object: Value) -> Value {
        let mut m = json!({"from": from, "id": wamid, "timestamp": now_s(), "type": kind});
        m[kind] = object;
        self.notification(json!({
            "contacts": [{"profile": {"name": name}, "wa_id": from}],
            "messages": [m],
        }))
    }

    /// A notification of one status of our message `wamid`.
    pub fn status(&self, wamid: &str, status: &str, recipient: &str, callback: Option<&str>) -> Value {
        let mut s = json!({"id": wamid, "status": status, "timestamp": now_s(), "recipient_id": recipient});
        if let Some(c) = callback {
            s["biz_opaque_callback_data"] = json!(c);
        }
        if status == "failed" {
            s["errors"] = json!([{"code": 131047, "title": "Re-engagement message",
                "message": "Re-engagement message",
                "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]);
        }
        self.notification(json!({"statuses": [s]}))
    }
}

/// Seconds since the epoch as Meta writes them (a decimal string): notifications are sent as
/// things happen, and received media is kept (and linked) from the message's time.
fn now_s() -> String {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string()
}

/// `sha256=<hex>` of `body` under `secret`, as Meta signs.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!("sha256={}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// POSTs `body` to `url` with `signature` (none: no header); the status and answer text.
pub async fn post_signed(url: &str, body: &[u8], signature: Option<&str>) -> (u16, String) {
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(url)
        .header("content-type", "application/json")
        .header("user-agent", "facebookexternalua");
    if let Some(s) = signature {
        req = req.header("x-hub-signature-256", s);
    }
    let res = client.request(req.body(Full::new(bytes::Bytes::copy_from_slice(body))).unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let text = res.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    (status, String::from_utf8_lossy(&text).into_owned())
}

/// Signs `notification` with `app_secret` and POSTs it to `webhook_url`, like Meta.
pub async fn notify(webhook_url: &str, app_secret: &str, notification: &Value) -> (u16, String) {
    let body = serde_json::to_vec(notification).unwrap();
    post_signed(webhook_url, &body, Some(&signature(app_secret, &body))).await
}

/// Meta's verification handshake: `GET webhook?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`.
pub async fn handshake(webhook_url: &str, verify_token: &str, challenge: &str) -> (u16, String) {
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let url = format!("{webhook_url}?hub.mode=subscribe&hub.verify_token={verify_token}&hub.challenge={challenge}");
    let req = Request::builder().method(Method::GET).uri(url).body(Full::new(bytes::Bytes::new())).unwrap();
    let res = client.request(req).await.unwrap();
    let status = res.status().as_u16();
    let text = res.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    (status, String::from_utf8_lossy(&text).into_owned())
}
