//! A real webhook receiver: an HTTP server on 127.0.0.1 that records every request (path,
//! Standard Webhooks headers, JSON body) and can be told to fail the next N requests.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use sha2::Sha256;

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub raw: Bytes,
    pub body: Value,
    /// Every header of the request.
    pub headers: hyper::HeaderMap,
}

impl Received {
    /// The header `name`, or "" when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Whether the Standard Webhooks signature verifies with `secret` (`whsec_…`).
    pub fn signed_by(&self, secret: &str) -> bool {
        let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.id, self.timestamp).as_bytes());
        mac.update(&self.raw);
        let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

#[derive(Clone)]
pub struct Sink {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    fail_next: Arc<AtomicUsize>,
    attempts: Arc<AtomicUsize>,
    failed_ids: Arc<Mutex<Vec<String>>>,
}

impl Sink {
    pub async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sink = Sink {
            url,
            received: Arc::default(),
            fail_next: Arc::default(),
            attempts: Arc::default(),
            failed_ids: Arc::default(),
        };
        let s = sink.clone();
        serve(listener, move |req| {
            let s = s.clone();
            async move { s.receive(req).await }
        });
        sink
    }

    async fn receive(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let (path, id, timestamp, signature) = (
            req.uri().path().to_owned(),
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
        );
        let headers = req.headers().clone();
        let raw = req.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        let failing = self.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if failing {
            self.failed_ids.lock().unwrap().push(id);
            let mut res = Response::new(Full::new(Bytes::from_static(b"try later")));
            *res.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
            return res;
        }
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        self.received.lock().unwrap().push(Received { path, id, timestamp, signature, raw, body, headers });
        Response::new(Full::new(Bytes::from_static(b"{}")))
    }

    /// Makes the next `n` requests fail with 503.
    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Requests seen, failed ones included.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    /// `webhook-id`s of the requests answered with 503.
    pub fn failed_ids(&self) -> Vec<String> {
        self.failed_ids.lock().unwrap().clone()
    }

    pub fn events(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Events of Z-API `type` (e.g. "DeliveryCallback").
    pub fn of_type(&self, kind: &str) -> Vec<Received> {
        self.events().into_iter().filter(|r| r.body["type"] == kind).collect()
    }

    /// Waits until an event arrived for every zaapId in `want`.
    pub async fn wait_for_zaaps(&self, want: &std::collections::HashSet<String>, what: &str) -> Vec<Received> {
        self.wait_for(PATIENCE, what, |events| {
            let got: std::collections::HashSet<&str> =
                events.iter().filter_map(|e| e.body["zaapId"].as_str()).collect();
            want.iter().all(|z| got.contains(z.as_str()))
        })
        .await
    }

    /// Waits until `done` holds for the events, or panics after `within`.
    pub async fn wait_for(&self, within: Duration, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let found = super::eventually(within, || async {
            let events = self.events();
            done(&events).then_some(events)
        })
        .await;
        found.unwrap_or_else(|| {
            let mut by_kind = std::collections::BTreeMap::<String, usize>::new();
            for e in self.events() {
                *by_kind.entry(format!("{}:{}", e.body["type"], e.body["status"])).or_default() += 1;
            }
            panic!("webhook sink: gave up waiting for {what}; received so far: {by_kind:?}")
        })
    }
}

/// Keeps a sink alive for at least this long in slow environments.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Serves HTTP/1.1 and h2c on `listener` until the test's runtime stops, answering each request
/// with `answer` (the loopback receivers of the tests share this loop).
pub fn serve<A, F>(listener: tokio::net::TcpListener, answer: A)
where
    A: Fn(Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let answer = answer.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let reply = answer(req);
                    async move { Ok::<_, Infallible>(reply.await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
