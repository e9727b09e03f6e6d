//! The embedded webhook sink: a hyper server on loopback that chatedge POSTs webhooks to.
//! Each provisioned instance gets URLs `http://ADDR/w/{index}/{kind}`; the sink checks the
//! `webhook-signature` with that instance's secret, files the event in the [`Ledger`] and
//! answers 200 at once. chatedge accepts such http://127.0.0.1 URLs only when it runs with
//! `[webhooks] allow_insecure_loopback = true`.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use anyhow::{Context, Result};
use bytes::Bytes;
use hyper::http::request::Parts;
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::ledger::{Ledger, Received};
use crate::server;
use crate::signature;

type Keys = Arc<RwLock<HashMap<u32, Vec<u8>>>>;

/// Numbers webhooks that came without a `webhook-id`, so each still counts once.
static ANONYMOUS: AtomicU64 = AtomicU64::new(0);

/// The webhook URLs of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookUrls {
    pub delivery: String,
    pub received: String,
    pub message_status: String,
    pub connected: String,
    pub disconnected: String,
}

/// Where the sink files what it receives: the `webhooks` scenario's [`Ledger`], or the
/// `chaos` scenario's books. Called on the sink's connection tasks; must not block.
pub trait Books: Send + Sync + 'static {
    fn receive(&self, event: Received);
}

impl Books for Ledger {
    fn receive(&self, event: Received) {
        Ledger::receive(self, event);
    }
}

pub struct Sink {
    addr: SocketAddr,
    /// Instance index → HMAC key. Written once per instance before it is paired (so before
    /// any of its events can arrive), read by every webhook; never held across an `.await`.
    keys: Keys,
    /// While set, every webhook is answered 503 and not filed (a receiver that is down; the
    /// `webhooks --backlog` drain).
    down: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sink {
    /// Binds `addr` (port 0 picks one) and serves webhooks into `ledger`.
    pub async fn start<B: Books>(addr: SocketAddr, ledger: Arc<B>) -> Result<Sink> {
        let listener = TcpListener::bind(addr).await.with_context(|| format!("webhook sink: binding {addr}"))?;
        let addr = listener.local_addr()?;
        let keys: Keys = Arc::default();
        let handler_keys = keys.clone();
        let down = Arc::new(AtomicBool::new(false));
        let handler_down = down.clone();
        let handler: server::Handler = Arc::new(move |parts: Parts, body: Bytes| {
            if parts.method != Method::POST {
                return server::json(StatusCode::METHOD_NOT_ALLOWED, r#"{"error":"POST only"}"#);
            }
            if handler_down.load(Ordering::Relaxed) {
                return server::json(StatusCode::SERVICE_UNAVAILABLE, r#"{"error":"down"}"#);
            }
            ledger.receive(file(&handler_keys, &parts, &body));
            server::json(StatusCode::OK, "{}")
        });
        // Aborted when the sink is dropped.
        let task = tokio::spawn(server::serve(listener, handler));
        Ok(Sink { addr, keys, down, task })
    }

    /// Takes the receiver down (every webhook answered 503) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where instance `index` should send its webhooks.
    pub fn urls(&self, index: u32) -> HookUrls {
        let url = |kind: &str| format!("http://{}/w/{index}/{kind}", self.addr);
        HookUrls {
            delivery: url("delivery"),
            received: url("received"),
            message_status: url("message-status"),
            connected: url("connected"),
            disconnected: url("disconnected"),
        }
    }

    /// One of two alternative URLs for instance `index` (settings changes in `mixed`
    /// alternate between them, so every change is a real change).
    pub fn alternate_url(&self, index: u32, label: &str, n: u64) -> String {
        format!("http://{}/w/{index}/{label}-{}", self.addr, n % 2)
    }

    /// Instance `index`'s `whsec_…` secret, for signature checks.
    pub fn register(&self, index: u32, secret: &str) -> Result<()> {
        let key = signature::decode_secret(secret)?;
        self.keys.write().unwrap_or_else(|p| p.into_inner()).insert(index, key);
        Ok(())
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// `/w/{index}/...` → index.
fn instance_index(path: &str) -> Option<u32> {
    let mut segments = path.trim_start_matches('/').split('/');
    match (segments.next(), segments.next()) {
        (Some("w"), Some(index)) => index.parse().ok(),
        _ => None,
    }
}

/// Turns one POST into a ledger entry.
fn file(keys: &Keys, parts: &Parts, body: &Bytes) -> Received {
    let at = Instant::now();
    let id = header(&parts.headers, "webhook-id");
    let timestamp = header(&parts.headers, "webhook-timestamp");
    let sig = header(&parts.headers, "webhook-signature");
    let signature_ok = instance_index(parts.uri.path()).is_some_and(|index| {
        let keys = keys.read().unwrap_or_else(|p| p.into_inner());
        keys.get(&index).is_some_and(|key| signature::verify(key, id, timestamp, body, sig))
    });
    let body_hash = hash(body);
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    // Without a webhook-id an event cannot be deduplicated; give it a unique one.
    let webhook_id =
        if id.is_empty() { format!("missing-id-{}", ANONYMOUS.fetch_add(1, Ordering::Relaxed)) } else { id.to_owned() };
    Received { webhook_id, at, body, body_hash, signature_ok }
}

/// A fingerprint of the exact bytes: a redelivery of a stored event carries the same bytes,
/// a recreated event (the same subject decided twice) usually does not.
fn hash(body: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::uri;

    #[test]
    fn paths_name_the_instance() {
        assert_eq!(instance_index("/w/7/delivery"), Some(7));
        assert_eq!(instance_index("/w/x/delivery"), None);
        assert_eq!(instance_index("/other"), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn files_signed_events_and_counts_bad_ones() {
        let ledger = Arc::new(Ledger::default());
        let sink = Sink::start("127.0.0.1:0".parse().expect("addr"), ledger.clone()).await.expect("sink");
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        sink.register(0, secret).expect("secret");
        let key = signature::decode_secret(secret).expect("key");
        let body = r#"{"type":"DeliveryCallback","messageId":"m1","zaapId":"z","phone":"5511999990001"}"#;
        let urls = sink.urls(0);
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        for (id, sig) in [("e1", signature::sign(&key, "e1", "17", body.as_bytes())), ("e2", "v1,AAAA".to_owned())] {
            let req = hyper::Request::post(uri(&urls.delivery, "").expect("uri"))
                .header("webhook-id", id)
                .header("webhook-timestamp", "17")
                .header("webhook-signature", sig)
                .body(http_body_util::Full::new(Bytes::from(body)))
                .expect("request");
            let res = client.request(req).await.expect("answer");
            assert_eq!(res.status(), StatusCode::OK);
        }
        let (a, _) = ledger.account();
        assert_eq!(a.events_received, 2);
        assert_eq!(a.bad_signatures, 1);
        assert_eq!(a.repeated_deliveries, 1);
        assert_eq!(a.unmatched_deliveries, 1);
    }
}
