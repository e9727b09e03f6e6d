//! Webhook receivers that misbehave on purpose, for the issue 9 delivery tests: a real HTTP
//! server on 127.0.0.1 whose answer can be switched at run time (200, 503, 410, or never
//! answering), a listener that accepts connections and never reads them (packets into a
//! void), and the ordering checks the tests share. Helpers for the suite's webhook_*.rs only.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::{json, Value};

use crate::common::{self, Chatedge, Http, Instance};

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Ok = 0,
    Unavailable = 1,
    Gone = 2,
    /// Reads the request and never answers.
    Hang = 3,
}

#[derive(Debug, Clone)]
pub struct Arrival {
    pub id: String,
    pub body: Value,
    pub at: Instant,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    mode: Arc<AtomicU8>,
    delivered: Arc<Mutex<Vec<Arrival>>>,
    attempts: Arc<Mutex<HashMap<String, usize>>>,
    requests: Arc<AtomicUsize>,
    answered: Arc<AtomicUsize>,
}

impl Receiver {
    pub async fn start(mode: Mode) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            mode: Arc::new(AtomicU8::new(mode as u8)),
            delivered: Arc::default(),
            attempts: Arc::default(),
            requests: Arc::default(),
            answered: Arc::default(),
        };
        let me = r.clone();
        common::sink::serve(listener, move |req| {
            let me = me.clone();
            async move { me.answer(req).await }
        });
        r
    }

    async fn answer(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let id = req.headers().get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let raw = req.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        *self.attempts.lock().unwrap().entry(id.clone()).or_default() += 1;
        let status = match self.mode.load(Ordering::SeqCst) {
            0 => 200,
            1 => 503,
            2 => 410,
            _ => {
                std::future::pending::<()>().await;
                unreachable!()
            }
        };
        if status == 200 {
            let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
            self.delivered.lock().unwrap().push(Arrival { id, body, at: Instant::now() });
        }
        self.answered.fetch_add(1, Ordering::SeqCst);
        let mut res = Response::new(Full::new(Bytes::from_static(b"{}")));
        *res.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        res
    }

    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Events answered 200, in arrival order.
    pub fn delivered(&self) -> Vec<Arrival> {
        self.delivered.lock().unwrap().clone()
    }

    /// Requests seen, whatever the answer.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Requests answered (whatever the status); a hanging receiver answers none.
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    /// Requests seen for one `webhook-id`.
    pub fn attempts_of(&self, id: &str) -> usize {
        self.attempts.lock().unwrap().get(id).copied().unwrap_or(0)
    }

    pub fn attempted_ids(&self) -> Vec<String> {
        self.attempts.lock().unwrap().keys().cloned().collect()
    }

    /// Waits until `done` holds for the delivered events, or panics saying `what`.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Arrival]) -> bool) -> Vec<Arrival> {
        common::eventually(common::PATIENCE, || async {
            let d = self.delivered();
            done(&d).then_some(d)
        })
        .await
        .unwrap_or_else(|| panic!("receiver: gave up waiting for {what}; {} delivered", self.delivered().len()))
    }
}

/// A TCP listener that accepts connections and never reads from them: requests vanish.
pub async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/void", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream); // kept open, never read
        }
    });
    url
}

/// Test config: fast sim, loopback webhooks, a short retry schedule, a quick breaker.
pub fn config(extra_webhooks: &str) -> String {
    format!(
        r#"
[pacing]
min_delay_ms = 0
max_delay_ms = 0
[webhooks]
allow_insecure_loopback = true
{extra_webhooks}
[network.sim]
ack_delay_ms = 1
received_delay_ms = 5
read_delay_ms = 10
"#
    )
}

/// Points every webhook of `inst` at `url` (one endpoint, so one lane per instance).
pub async fn point_every_webhook(http: &Http, ce: &Chatedge, inst: &Instance, url: &str) {
    let (s, v) = http.put(&ce.instance_url(inst, "update-every-webhooks"), &json!({"value": url})).await;
    assert_eq!(s, 200, "update-every-webhooks: {v}");
}

/// Sets one kind's webhook (`route` e.g. "update-webhook-delivery"); "" clears it.
pub async fn set_webhook(http: &Http, ce: &Chatedge, inst: &Instance, route: &str, url: &str) {
    let (s, v) = http.put(&ce.instance_url(inst, route), &json!({"value": url})).await;
    assert_eq!(s, 200, "{route}: {v}");
}

/// The first arrival of each event id, in arrival order (deliveries are at least once).
pub fn first_arrivals(arrivals: &[Arrival]) -> Vec<&Arrival> {
    let mut seen = std::collections::HashSet::new();
    arrivals.iter().filter(|a| seen.insert(a.id.clone())).collect()
}

/// Checks that one instance's events reached one endpoint in the order they happened: the
/// DeliveryCallbacks in send order (`zaaps`, the sends were made one after the other), and
/// for each message its DeliveryCallback before its SENT, SENT before RECEIVED before READ.
pub fn assert_in_order(arrivals: &[Arrival], instance: &str, zaaps: &[String]) {
    let mine: Vec<&Arrival> =
        first_arrivals(arrivals).into_iter().filter(|a| a.body["instanceId"] == instance).collect();
    let deliveries: Vec<&str> = mine
        .iter()
        .filter(|a| a.body["type"] == "DeliveryCallback")
        .filter_map(|a| a.body["zaapId"].as_str())
        .filter(|z| zaaps.iter().any(|w| w == z))
        .collect();
    let want: Vec<&str> = zaaps.iter().map(String::as_str).collect();
    assert_eq!(deliveries, want, "DeliveryCallbacks arrive in the order the messages were sent");
    let pos = |pred: &dyn Fn(&Value) -> bool| mine.iter().position(|a| pred(&a.body));
    for a in mine.iter().filter(|a| a.body["type"] == "DeliveryCallback") {
        let mid = a.body["messageId"].clone();
        let of = |status: &'static str| {
            let mid = mid.clone();
            move |b: &Value| b["type"] == "MessageStatusCallback" && b["status"] == status && b["ids"][0] == mid
        };
        let d = pos(&|b: &Value| b["type"] == "DeliveryCallback" && b["messageId"] == mid);
        let chain = [d, pos(&of("SENT")), pos(&of("RECEIVED")), pos(&of("READ"))];
        let present: Vec<usize> = chain.iter().flatten().copied().collect();
        assert!(present.windows(2).all(|w| w[0] < w[1]), "message {mid}: events out of order: {chain:?}");
    }
}

/// Waits for `n` sends' DeliveryCallback and READ status of `instance` at `r`.
pub async fn wait_complete(r: &Receiver, instance: &str, zaaps: &[String], what: &str) -> Vec<Arrival> {
    let zaaps = zaaps.to_vec();
    let instance = instance.to_owned();
    r.wait_for(what, move |d| {
        let mine: Vec<&Arrival> = d.iter().filter(|a| a.body["instanceId"] == instance.as_str()).collect();
        let delivered: Vec<Value> = mine
            .iter()
            .filter(|a| a.body["type"] == "DeliveryCallback" && zaaps.iter().any(|z| a.body["zaapId"] == z.as_str()))
            .map(|a| a.body["messageId"].clone())
            .collect();
        let read = |mid: &Value| {
            mine.iter().any(|a| {
                a.body["type"] == "MessageStatusCallback" && a.body["status"] == "READ" && a.body["ids"][0] == *mid
            })
        };
        // Deliveries are at least once: count each message once, wherever its repeats are.
        let unique: std::collections::HashSet<String> = delivered.iter().map(Value::to_string).collect();
        unique.len() >= zaaps.len() && delivered.iter().all(read)
    })
    .await
}

pub async fn metric(http: &Http, ce: &Chatedge, family: &str, label: &str) -> f64 {
    common::metrics::sum(http, &ce.dp, family, label).await
}

pub fn zaap_list(answers: &[Value]) -> Vec<String> {
    answers.iter().filter_map(|v| v["zaapId"].as_str().map(str::to_owned)).collect()
}

/// Waits up to `PATIENCE` for a metric to reach at least `at_least`.
pub async fn wait_metric(http: &Http, ce: &Chatedge, family: &str, label: &str, at_least: f64) -> f64 {
    common::eventually(common::PATIENCE, || async {
        let v = metric(http, ce, family, label).await;
        (v >= at_least).then_some(v)
    })
    .await
    .unwrap_or_else(|| panic!("{family}{{{label}}} never reached {at_least}"))
}

pub fn latency_summary(samples: &mut [Duration]) -> String {
    samples.sort();
    if samples.is_empty() {
        return "no samples".into();
    }
    let p = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    format!("n={} p50={:?} p90={:?} max={:?}", samples.len(), p(0.5), p(0.9), p(1.0))
}
