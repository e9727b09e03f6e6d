//! chatedge-fuzz: the harness the fuzz targets share. It runs the control plane and the data
//! plane inside the fuzzing process, as `chatedge up` does (so the fuzzer's coverage counters
//! see the server's code), on 127.0.0.1 with a data directory of its own, creates a paired sim
//! instance and a Cloud API instance, and sends each input as a real HTTP/1.1 request over
//! loopback. Its oracle is deliberately small — no panic anywhere in the process (libFuzzer
//! aborts on one), no 500, and every refusal of a dialect route a JSON object — because the
//! behaviour itself is what the tests in `tests/` specify.
//!
//! It must not reach any other address: fuzz inputs set webhook URLs and media URLs at will,
//! so [`Harness::start`] refuses to run unless the process is alone in a network namespace
//! whose only interface is loopback (`unshare -rn`, see the README's Fuzzing section).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use chatedge_config::Config;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::sync::{oneshot, watch};

/// The settings the harness runs with: no pacing, a quick sim, loopback webhooks allowed, no
/// rate limits (the fuzzer would only meet 429s), the Cloud API pointed at a closed port, and
/// a short request timeout (a notification for the never-connected Cloud API instance waits
/// out half of it before its 503).
const CONFIG: &str = r#"
[dataplane]
listen = "127.0.0.1:0"
request_timeout_ms = 2000

[controlplane]
listen = "127.0.0.1:0"

[pacing]
min_delay_ms = 0
max_delay_ms = 0

[webhooks]
allow_insecure_loopback = true

[rate_limits]
instance_rps = 0
ip_rps = 0

[network.sim]
ack_delay_ms = 1
received_delay_ms = 1
read_delay_ms = 1

[network.cloud_api]
graph_base_url = "http://127.0.0.1:9/v21.0"
"#;

/// The Cloud API instance's app secret, with which [`Harness::sign`] signs notifications.
pub const CLOUD_APP_SECRET: &str = "fuzz-app-secret-0123456789";

/// An instance as on-demand create answered it.
pub struct Instance {
    pub id: String,
    pub token: String,
}

/// An answer: status, content type and body.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
}

pub struct Harness {
    link: Link,
    pub data_plane: SocketAddr,
    pub control_plane: SocketAddr,
    pub admin_token: String,
    pub integrator_token: String,
    /// A sim instance, paired as 5511999990001.
    pub sim: Instance,
    /// A Cloud API instance (its Graph API unreachable: it stays disconnected, but its
    /// webhook route parses notifications).
    pub cloud: Instance,
    /// Every documented route after the instance prefix, as (method, path pattern), sorted.
    pub routes: Vec<(Method, String)>,
    _stop: watch::Sender<bool>,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();

/// The process's harness, started on first use.
pub fn harness() -> &'static Harness {
    HARNESS.get_or_init(Harness::start)
}

impl Harness {
    fn start() -> Harness {
        require_isolated_network();
        let dir = data_dir();
        let link = Link::new();
        let (stop, stopped) = watch::channel(false);
        let (cp, dp, tokens) = link.runtime.block_on(async {
            let config = Config::parse(CONFIG).expect("the harness config parses");
            let (cp, tokens) = start_control_plane(config.clone(), &dir, stopped.clone()).await;
            let dp = start_data_plane(config, &dir, cp, tokens.2.clone(), stopped).await;
            (cp, dp, tokens)
        });
        let (admin_token, integrator_token, _) = tokens;
        let create = |body: Value| {
            let (status, v) =
                link.json_call(Method::POST, cp, "/instances/integrator/on-demand", &integrator_token, body);
            assert_eq!(status, 200, "on-demand create: {v}");
            let field = |k: &str| v[k].as_str().expect("create answers id and token").to_owned();
            Instance { id: field("id"), token: field("token") }
        };
        let sim = create(json!({"name": "fuzz sim"}));
        let cloud = create(json!({
            "name": "fuzz cloud",
            "network": "cloud-api",
            "cloudApi": {
                "phoneNumberId": "1234567890",
                "businessAccountId": "1234567891",
                "accessToken": "fuzz-access-token",
                "appSecret": CLOUD_APP_SECRET,
                "verifyToken": "fuzz-verify-token"
            }
        }));
        let mut harness = Harness {
            link,
            data_plane: dp,
            control_plane: cp,
            admin_token,
            integrator_token,
            sim,
            cloud,
            routes: Vec::new(),
            _stop: stop,
        };
        harness.wait_known(&harness.sim);
        harness.wait_known(&harness.cloud);
        harness.pair_sim();
        harness.routes = harness.documented_routes();
        harness
    }

    /// Sends one request to the data plane and reads the whole answer.
    pub fn request(&self, method: Method, path: &str, headers: &[(HeaderName, HeaderValue)], body: Vec<u8>) -> Answer {
        self.link.request(self.data_plane, method, path, headers, body)
    }

    /// `/instances/{id}/token/{token}/` + `rest` for the sim instance.
    pub fn sim_path(&self, rest: &str) -> String {
        format!("/instances/{}/token/{}/{}", self.sim.id, self.sim.token, rest.trim_start_matches('/'))
    }

    /// `X-Hub-Signature-256` of `body` under the Cloud API instance's app secret.
    pub fn sign(&self, body: &[u8]) -> String {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(CLOUD_APP_SECRET.as_bytes()).expect("any key length");
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256={hex}")
    }

    fn wait_known(&self, instance: &Instance) {
        let path = format!("/instances/{}/token/{}/status", instance.id, instance.token);
        for _ in 0..200 {
            if self.request(Method::GET, &path, &[], Vec::new()).status == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the data plane never learnt instance {}", instance.id);
    }

    fn pair_sim(&self) {
        let answer = self.request(Method::GET, &self.sim_path("qr-code"), &[], Vec::new());
        let qr: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let qr = qr["value"].as_str().expect("the sim shows a QR code").to_owned();
        let scan = json!({"qr": qr, "phone": "5511999990001"});
        let (status, v) = self.link.json_call(Method::POST, self.data_plane, "/sim/scan", &self.admin_token, scan);
        assert_eq!(status, 200, "scan: {v}");
    }

    fn documented_routes(&self) -> Vec<(Method, String)> {
        let doc = self.request(Method::GET, "/openapi.json", &[], Vec::new());
        let doc: Value = serde_json::from_slice(&doc.body).expect("/openapi.json is JSON");
        let prefix = "/instances/{instanceId}/token/{instanceToken}/";
        let mut routes = Vec::new();
        for (path, ops) in doc["paths"].as_object().expect("paths").iter() {
            let Some(rest) = path.strip_prefix(prefix) else { continue };
            for method in ops.as_object().expect("operations").keys() {
                if let Ok(m) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) {
                    routes.push((m, rest.to_owned()));
                }
            }
        }
        routes.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
        routes
    }
}

/// The harness's side of the loopback: a runtime the servers run on and a pooled client.
struct Link {
    runtime: tokio::runtime::Runtime,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Link {
    fn new() -> Link {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(8).build_http();
        Link { runtime, client }
    }

    fn request(
        &self,
        base: SocketAddr,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Vec<u8>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(format!("http://{base}{path}"));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let Ok(req) = req.body(Full::new(Bytes::from(body))) else {
            // Not a request hyper can write (a path with spaces, say): nothing reaches the server.
            return Answer { status: 0, content_type: String::new(), body: Bytes::new() };
        };
        self.runtime.block_on(async {
            let res = tokio::time::timeout(Duration::from_secs(30), self.client.request(req))
                .await
                .expect("chatedge answers within 30 s")
                .expect("chatedge answers on loopback");
            let status = res.status().as_u16();
            let content_type =
                res.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let body = res.into_body().collect().await.expect("the answer's body is read").to_bytes();
            Answer { status, content_type, body }
        })
    }

    fn json_call(&self, method: Method, base: SocketAddr, path: &str, bearer: &str, body: Value) -> (u16, Value) {
        let headers = [
            (hyper::header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {bearer}")).expect("a token")),
            (hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        ];
        let answer = self.request(base, method, path, &headers, body.to_string().into_bytes());
        (answer.status, serde_json::from_slice(&answer.body).unwrap_or(Value::Null))
    }
}

/// The oracle every target applies: no internal error, and a refusal on a dialect route is a
/// JSON object naming what went wrong. (503 is allowed: a busy or full store, a timeout —
/// documented answers, not faults.)
pub fn check(path: &str, answer: &Answer) {
    assert_ne!(answer.status, 500, "500 for {path}: {}", String::from_utf8_lossy(&answer.body));
    let dialect = path.starts_with("/instances") || path.starts_with("/sim") || path.starts_with("/network");
    if dialect && (400..500).contains(&answer.status) && answer.status != 405 {
        let v: Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|_| panic!("a {} for {path} is not JSON: {:?}", answer.status, answer.body));
        assert!(v.is_object(), "a {} for {path} is not a JSON object: {v}", answer.status);
    }
}

/// Splits an input into its first line (`METHOD path`) and the rest (the body).
pub fn request_line(data: &[u8]) -> Option<(Method, String, Vec<u8>)> {
    let newline = data.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&data[..newline]).ok()?;
    let (method, path) = line.split_once(' ')?;
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    Some((method, path.to_owned(), data[newline + 1..].to_vec()))
}

/// Refuses to run where fuzz inputs could reach another machine: the only interface of this
/// process's network namespace must be loopback.
fn require_isolated_network() {
    let devices = std::fs::read_to_string("/proc/self/net/dev").unwrap_or_default();
    let others: Vec<&str> = devices
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(str::trim))
        .filter(|name| *name != "lo")
        .collect();
    assert!(
        others.is_empty(),
        "the fuzz targets send whatever URLs they invent: run them in a network namespace with \
         loopback only (`unshare -rn sh -c 'ip link set lo up && …'`); this one also has {others:?}"
    );
}

/// A fresh data directory under the system temp dir, named after this process; directories
/// of earlier runs whose process is gone are removed.
fn data_dir() -> PathBuf {
    let root = std::env::temp_dir().join("chatedge-fuzz");
    if let Ok(entries) = std::fs::read_dir(&root) {
        for e in entries.flatten() {
            let pid = e.file_name().to_string_lossy().into_owned();
            if !Path::new("/proc").join(&pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = root.join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&dir);
    for d in [dir.clone(), dir.join("controlplane"), dir.join("dataplane")] {
        std::fs::create_dir_all(&d).expect("the fuzz data directory can be created");
    }
    dir
}

/// Starts the control plane; returns its address and the (admin, integrator, node) tokens.
async fn start_control_plane(
    config: Config,
    dir: &Path,
    stopped: watch::Receiver<bool>,
) -> (SocketAddr, (String, String, chatedge_config::Secret)) {
    let opts = chatedge_controlplane::Options {
        data_dir: dir.join("controlplane"),
        credentials_file: dir.join("credentials.json"),
        supplied: Default::default(),
        test_clock: false,
    };
    let (ready_tx, ready_rx) = oneshot::channel();
    tokio::spawn(async move {
        if let Err(e) = chatedge_controlplane::run(config, opts, stopped, ready_tx).await {
            panic!("the control plane stopped: {e}");
        }
    });
    let started = ready_rx.await.expect("the control plane starts");
    let c = &started.bootstrap.credentials;
    let tokens = (c.admin_token.expose().to_owned(), c.integrator_token.expose().to_owned(), c.node_token.clone());
    (started.addr, tokens)
}

/// Starts the data plane following the control plane at `cp`; returns its HTTP address.
async fn start_data_plane(
    config: Config,
    dir: &Path,
    cp: SocketAddr,
    node_token: chatedge_config::Secret,
    stopped: watch::Receiver<bool>,
) -> SocketAddr {
    let opts = chatedge_dataplane::Options {
        data_dir: dir.join("dataplane"),
        control_plane: format!("http://{cp}"),
        node_token,
        control_plane_fingerprint: None,
        test_clock: false,
    };
    let (ready_tx, ready_rx) = oneshot::channel();
    tokio::spawn(async move {
        if let Err(e) = chatedge_dataplane::run(config, opts, stopped, ready_tx).await {
            panic!("the data plane stopped: {e}");
        }
    });
    ready_rx.await.expect("the data plane starts").http
}
