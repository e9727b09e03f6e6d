//! Webhook security end to end (issue 9 §5, §6): every attempt is signed so that an
//! independent Standard Webhooks verifier (the spec's algorithm, written here) and a
//! Zapini-style receiver (seed 002's PHP and Node examples, transcribed) both accept it,
//! across a secret rotation; and webhook URLs whose host is at a non-public address are
//! refused when they are set (each address class, on both planes) and again at connect time,
//! with no traffic sent.

use crate::common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use common::*;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use sha2::Sha256;

/// FAST's pacing and sim, a rotation overlap short enough to outlive in a test.
const CONFIG: &str = r#"
[pacing]
min_delay_ms = 0
max_delay_ms = 0
[webhooks]
allow_insecure_loopback = true
rotation_overlap = "8s"
[network.sim]
ack_delay_ms = 1
received_delay_ms = 5
read_delay_ms = 10
"#;

/// Production webhook policy (public addresses only); everything else as [`CONFIG`].
const STRICT: &str = r#"
[pacing]
min_delay_ms = 0
max_delay_ms = 0
[network.sim]
ack_delay_ms = 1
received_delay_ms = 5
read_delay_ms = 10
"#;

/// One request as the receiver got it.
#[derive(Debug, Clone)]
struct Hit {
    headers: HeaderMap,
    raw: Bytes,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn body(&self) -> Value {
        serde_json::from_slice(&self.raw).unwrap()
    }
}

/// A receiver on 127.0.0.1 that keeps every request's headers and raw body.
#[derive(Clone)]
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver { url: format!("http://{}", listener.local_addr().unwrap()), hits: Arc::default() };
        let hits = r.hits.clone();
        // Lives as long as the test's runtime.
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let hits = hits.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let hits = hits.clone();
                        async move {
                            let headers = req.headers().clone();
                            let raw = req.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
                            hits.lock().unwrap().push(Hit { headers, raw });
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"OK"))))
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        r
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        eventually(PATIENCE, || async {
            let hits = self.hits();
            done(&hits).then_some(hits)
        })
        .await
        .unwrap_or_else(|| panic!("receiver: gave up waiting for {what}; got {} requests", self.hits().len()))
    }
}

/// A port something listens on but nobody answers: whatever connects shows in `connections`.
struct Tripwire {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Tripwire {
    async fn start() -> Tripwire {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = connections.clone();
        // Lives as long as the test's runtime.
        tokio::spawn(async move {
            while let Ok((_stream, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        });
        Tripwire { port, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// The Standard Webhooks verification, written from the specification
/// (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md,
/// "Verifying webhook authenticity"): the signed content is `{id}.{timestamp}.{body}`, the key
/// is the base64 after `whsec_`, the header holds space-delimited `v1,<base64>` signatures of
/// which any may match, and a timestamp more than five minutes off is refused.
fn standard_webhooks_verify(secret: &str, hit: &Hit, now_s: u64) -> bool {
    let (id, ts, sigs) = (hit.header("webhook-id"), hit.header("webhook-timestamp"), hit.header("webhook-signature"));
    let Ok(ts_n) = ts.parse::<u64>() else { return false };
    if ts_n.abs_diff(now_s) > 5 * 60 || id.is_empty() {
        return false;
    }
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&hit.raw);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    sigs.split(' ').filter_map(|s| s.split_once(',')).any(|(v, sig)| v == "v1" && sig == expected)
}

fn hex_hmac(key: &[u8], data: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Seed 002's PHP: `hash_equals(hash_hmac('sha256', file_get_contents('php://input'),
/// $secret), $_SERVER['HTTP_X_WEBHOOK_SIGNATURE'])` — the raw body, the secret text as key.
fn zapini_php_verify(secret: &str, hit: &Hit) -> bool {
    hex_hmac(secret.as_bytes(), &hit.raw) == hit.header("x-webhook-signature")
}

/// Seed 002's Node: `createHmac('sha256', secret).update(JSON.stringify(req.body))
/// .digest('hex')` — the body as Express parsed it, serialised again. `JSON.stringify` writes
/// compact JSON in the parsed text's key order; chatedge's bodies are compact with sorted keys,
/// no numbers beyond 2^53 and no floats, so serde_json's compact output of the parsed body is
/// what Node prints. The assertion that it equals the raw body is what makes Node receivers work.
fn zapini_node_verify(secret: &str, hit: &Hit) -> bool {
    let restringified = serde_json::to_string(&hit.body()).unwrap();
    assert_eq!(restringified.as_bytes(), &hit.raw[..], "JSON.stringify(req.body) must give the raw body back");
    hex_hmac(secret.as_bytes(), restringified.as_bytes()) == hit.header("x-webhook-signature")
}

fn uuid_of(instance_id: &str) -> String {
    let h = instance_id.to_lowercase();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Checks the headers every attempt carries, whatever the secret.
fn assert_zapini_headers(hit: &Hit, instance_id: &str) {
    let body = hit.body();
    assert_eq!(hit.header("content-type"), "application/json");
    assert_eq!(hit.header("user-agent"), format!("chatedge-webhook/{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(hit.header("x-webhook-event"), body["type"].as_str().unwrap(), "{body}");
    assert_eq!(hit.header("x-instance-uuid"), uuid_of(instance_id));
    assert!(hit.header("webhook-id").starts_with("evt_"), "{:?}", hit.headers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_verifies_with_standard_webhooks_and_seed_002s_php_and_node_across_a_rotation() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), CONFIG);
    let http = Http::new();
    let receiver = Receiver::start().await;
    let inst = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &inst).await;
    let url = format!("{}/hook?token=integrator-credential", receiver.url);
    let (s, v) = http.put(&ce.instance_url(&inst, "update-every-webhooks"), &json!({"value": url})).await;
    assert_eq!(s, 200, "{v}");
    pair(&http, &ce, &inst, "5511999990001").await;

    // Before the rotation: one signature, by the original secret, and Zapini's by it too.
    let before = receiver.wait_for("ConnectedCallback", |h| !h.is_empty()).await;
    for hit in &before {
        assert_zapini_headers(hit, &inst.id);
        assert!(standard_webhooks_verify(&inst.secret, hit, now_s()), "{:?}", hit.headers);
        assert_eq!(hit.header("webhook-signature").split(' ').count(), 1);
        assert!(zapini_php_verify(&inst.secret, hit) && zapini_node_verify(&inst.secret, hit));
    }

    let (s, rotated) = http.post(&ce.instance_url(&inst, "webhook-secret/rotate"), None, &json!({})).await;
    assert_eq!(s, 200, "{rotated}");
    let new_secret = rotated["webhookSecret"].as_str().unwrap().to_owned();
    let until_ms = rotated["previousValidUntil"].as_u64().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != inst.secret);

    // During the overlap: a receiver holding either secret accepts; Zapini's uses the new one.
    let seen = receiver.hits().len();
    send_texts(&http, &ce, &inst, 1, 1_001, "during").await;
    let hits = receiver.wait_for("the events of the first send", |h| h.len() >= seen + 2).await;
    let mut signed_by_both = 0;
    for hit in &hits[seen..] {
        assert_zapini_headers(hit, &inst.id);
        assert!(standard_webhooks_verify(&new_secret, hit, now_s()), "new secret: {:?}", hit.headers);
        let ts_ms = hit.header("webhook-timestamp").parse::<u64>().unwrap() * 1000;
        let old_accepted = standard_webhooks_verify(&inst.secret, hit, now_s());
        assert_eq!(old_accepted, ts_ms < until_ms, "the old secret signs exactly until previousValidUntil");
        signed_by_both += usize::from(old_accepted);
        assert!(zapini_php_verify(&new_secret, hit) && zapini_node_verify(&new_secret, hit));
        assert!(!zapini_php_verify(&inst.secret, hit), "X-Webhook-Signature moves to the new secret at once");
    }
    assert!(signed_by_both > 0, "events sent right after the rotation carry both signatures");

    // After the overlap: the old secret no longer verifies anything.
    let wait = until_ms.saturating_sub(now_ms()) + 1_000;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let seen = receiver.hits().len();
    send_texts(&http, &ce, &inst, 1, 2_001, "after").await;
    let hits = receiver.wait_for("the events of the second send", |h| h.len() >= seen + 2).await;
    for hit in &hits[seen..] {
        assert!(standard_webhooks_verify(&new_secret, hit, now_s()));
        assert!(!standard_webhooks_verify(&inst.secret, hit, now_s()), "{:?}", hit.headers);
        assert_eq!(hit.header("webhook-signature").split(' ').count(), 1);
        assert!(zapini_php_verify(&new_secret, hit) && zapini_node_verify(&new_secret, hit));
    }
    let log = ce.log();
    assert!(!log.contains("integrator-credential"), "a webhook URL's query string reached the log");
}

/// Hosts at each class of non-public address, with the class the refusal must name.
fn refused_urls(port: u16) -> Vec<(String, &'static str)> {
    vec![
        (format!("https://127.0.0.1:{port}/hook?token=SECRET-QUERY"), "loopback"),
        (format!("https://localhost:{port}/hook?token=SECRET-QUERY"), "loopback"),
        (format!("https://[::1]:{port}/hook"), "loopback"),
        (format!("https://[::ffff:127.0.0.1]:{port}/hook"), "loopback"),
        (format!("https://[64:ff9b::7f00:1]:{port}/hook"), "loopback"),
        (format!("https://[2002:7f00:1::1]:{port}/hook"), "loopback"),
        ("https://10.1.2.3/hook".into(), "private"),
        ("https://172.16.0.1/hook".into(), "private"),
        ("https://192.168.1.1/hook".into(), "private"),
        ("https://[::ffff:192.168.1.1]/hook".into(), "private"),
        ("https://169.254.169.254/latest/meta-data".into(), "cloud metadata"),
        ("https://169.254.1.1/hook".into(), "link-local"),
        ("https://[fe80::1]/hook".into(), "link-local"),
        ("https://100.64.0.1/hook".into(), "shared (CGNAT)"),
        ("https://[fd00::1]/hook".into(), "unique-local"),
        ("https://224.0.0.1/hook".into(), "multicast"),
        ("https://0.0.0.0/hook".into(), "this-network"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_at_non_public_addresses_are_refused_when_set_naming_the_class_and_nothing_is_sent() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), STRICT);
    let http = Http::new();
    let tripwire = Tripwire::start().await;
    let inst = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &inst).await;
    let urls = refused_urls(tripwire.port);
    for (i, (url, class)) in urls.iter().enumerate() {
        let route = if i % 2 == 0 { "update-webhook-delivery" } else { "update-every-webhooks" };
        let (s, v) = http.put(&ce.instance_url(&inst, route), &json!({"value": url})).await;
        assert_eq!(s, 400, "{route} {url}: {v}");
        assert_eq!(v["error"], "Invalid webhook url", "{v}");
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(&format!("({class})")) || message.contains(&format!(" {class}")), "{url}: {message}");
        assert!(!message.contains("SECRET-QUERY"), "the query string is never shown: {message}");
    }
    let refused = metrics::sum(&http, &ce.dp, "chatedge_dp_webhook_refused_total", "at=\"set\"").await;
    assert_eq!(refused as usize, urls.len());

    // The control plane refuses them too, where an integrator creates an instance.
    for (url, class) in &urls {
        let body = json!({"name": "x", "deliveryCallbackUrl": url});
        let (s, v) =
            http.post(&format!("{}/instances/integrator/on-demand", ce.cp), Some(&ce.integrator_token), &body).await;
        assert_eq!(s, 400, "{url}: {v}");
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(&format!("a {class} address")), "{url}: {message}");
        assert!(!message.contains("SECRET-QUERY"), "{message}");
    }

    // A refusal leaves no trace: no URL was stored, nothing was ever dialled — even once the
    // instance produces events (had a refused URL been stored, they would be aimed at the
    // tripwire). The network's status events show the sends were decided.
    let (_, me) = http.get(&ce.instance_url(&inst, "me"), None).await;
    assert_eq!(me["deliveryCallbackUrl"], Value::Null, "{me}");
    let before = metrics::sum(&http, &ce.dp, "chatedge_dp_network_events_total", "").await;
    pair(&http, &ce, &inst, "5511999990002").await;
    send_texts(&http, &ce, &inst, 2, 4_001, "events with no webhook").await;
    eventually(PATIENCE, || async {
        let n = metrics::sum(&http, &ce.dp, "chatedge_dp_network_events_total", "").await;
        (n >= before + 6.0).then_some(())
    })
    .await
    .expect("the sends' statuses were decided");
    assert_eq!(tripwire.connections(), 0, "a refused URL must not be contacted");
    assert!(!ce.log().contains("SECRET-QUERY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_that_reaches_the_data_plane_anyway_is_refused_at_connect_time_and_never_dialled() {
    // A control plane that allows loopback (as a development one might) pushes loopback URLs
    // to a data plane that does not: the data plane's connect-time check is what stops them.
    let dir = temp_dir();
    let http = Http::new();
    let tripwire = Tripwire::start().await;
    let cp = Chatedge::controlplane(&dir.path().join("cp"), CONFIG, "127.0.0.1:0");
    let mut dp = Chatedge::dataplane(&dir.path().join("dp"), STRICT, &cp.cp, &cp.node_token);
    dp.admin_token = cp.admin_token.clone();
    let port = tripwire.port;
    let body = json!({
        "name": "aimed at loopback",
        "deliveryCallbackUrl": format!("https://localhost:{port}/delivery?token=SECRET-QUERY"),
        "messageStatusCallbackUrl": format!("https://127.0.0.1:{port}/status"),
        "connectedCallbackUrl": format!("https://[::ffff:127.0.0.1]:{port}/connected"),
    });
    let (s, v) =
        http.post(&format!("{}/instances/integrator/on-demand", cp.cp), Some(&cp.integrator_token), &body).await;
    assert_eq!(s, 200, "{v}");
    let inst = Instance {
        id: v["id"].as_str().unwrap().into(),
        token: v["token"].as_str().unwrap().into(),
        secret: v["webhookSecret"].as_str().unwrap().into(),
    };
    pair(&http, &dp, &inst, "5511999990001").await;
    send_texts(&http, &dp, &inst, 2, 3_001, "to loopback").await;

    // Each kind's attempt is refused for its class: by name (localhost), literal, mapped literal.
    let refused = eventually(PATIENCE, || async {
        // Only connect-time refusals can happen here: the URLs came from the control plane.
        let n = metrics::sum(&http, &dp.dp, "chatedge_dp_webhook_refused_total", "class=\"loopback\"").await;
        (n >= 3.0).then_some(n)
    })
    .await;
    assert!(refused.is_some(), "connect-time refusals were not counted");
    assert_eq!(tripwire.connections(), 0, "a refused address must never be dialled");
    assert!(!dp.log().contains("SECRET-QUERY"), "a webhook URL's query string reached the log");
}
