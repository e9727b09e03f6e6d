//! Test harness: starts the real `chatedge` binary on 127.0.0.1 with its own data directory,
//! talks to it over real sockets, and receives its webhooks on a real HTTP sink.

#![allow(dead_code)] // the suite uses all of it, tests/whatsapp_web.rs a part

pub mod cloud_notify;
pub mod faults;
pub mod files;
pub mod http;
pub mod metrics;
pub mod sink;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub use http::Http;
#[allow(unused_imports)] // not every test binary waits on the sink
pub use sink::{Sink, PATIENCE};

/// Config for tests: no pacing, fast sim, loopback webhooks, quick retries.
pub const FAST: &str = r#"
[pacing]
min_delay_ms = 0
max_delay_ms = 0
[webhooks]
allow_insecure_loopback = true
initial_backoff_ms = 50
max_backoff_ms = 500
[network.sim]
ack_delay_ms = 1
received_delay_ms = 5
read_delay_ms = 10
"#;

/// A running chatedge process.
pub struct Chatedge {
    child: Child,
    pub dir: PathBuf,
    /// Data plane base URL, e.g. http://127.0.0.1:41234
    pub dp: String,
    /// Control plane base URL (empty for a lone data plane).
    pub cp: String,
    pub admin_token: String,
    pub integrator_token: String,
    pub node_token: String,
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_chatedge")
}

/// Spawns `chatedge <args>` and waits for the lines announcing its listeners.
fn spawn(dir: &Path, args: &[&str], wait_for: &[&str]) -> (Child, Vec<String>) {
    std::fs::create_dir_all(dir).unwrap();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("chatedge.log")).unwrap();
    let mut child = Command::new(binary())
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("chatedge binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // Drains stdout for the life of the process so it never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut found = Vec::new();
    for marker in wait_for {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                let log = std::fs::read_to_string(dir.join("chatedge.log")).unwrap_or_default();
                panic!("chatedge did not print '{marker}' in time; log:\n{log}")
            });
            if let Some(rest) = line.split(marker).nth(1) {
                found.push(rest.trim().to_owned());
                break;
            }
        }
    }
    (child, found)
}

fn credentials(file: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(file).expect("credentials.json exists")).unwrap()
}

impl Chatedge {
    /// `chatedge up` on ephemeral ports with `config` (TOML).
    pub fn up(dir: &Path, config: &str) -> Chatedge {
        Chatedge::up_with(dir, config, &[])
    }

    /// `chatedge up` with extra flags (e.g. `--test-clock`).
    pub fn up_with(dir: &Path, config: &str, extra: &[&str]) -> Chatedge {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let (d, c) = (dir.display().to_string(), dir.join("config.toml").display().to_string());
        let mut args =
            vec!["up", "--data-dir", &d, "--config", &c, "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let (child, found) = spawn(dir, &args, &["control plane listening on ", "data plane listening on "]);
        let creds = credentials(&dir.join("credentials.json"));
        Chatedge {
            child,
            dir: dir.to_path_buf(),
            cp: found[0].clone(),
            dp: found[1].clone(),
            admin_token: creds["adminToken"].as_str().unwrap().to_owned(),
            integrator_token: creds["integratorToken"].as_str().unwrap().to_owned(),
            node_token: creds["nodeToken"].as_str().unwrap().to_owned(),
        }
    }

    /// `chatedge controlplane` alone.
    pub fn controlplane(dir: &Path, config: &str, listen: &str) -> Chatedge {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let (d, c) = (dir.display().to_string(), dir.join("config.toml").display().to_string());
        let (child, found) = spawn(
            dir,
            &["controlplane", "--data-dir", &d, "--config", &c, "--listen", listen],
            &["control plane listening on "],
        );
        let creds = credentials(&dir.join("credentials.json"));
        Chatedge {
            child,
            dir: dir.to_path_buf(),
            cp: found[0].clone(),
            dp: String::new(),
            admin_token: creds["adminToken"].as_str().unwrap().to_owned(),
            integrator_token: creds["integratorToken"].as_str().unwrap().to_owned(),
            node_token: creds["nodeToken"].as_str().unwrap().to_owned(),
        }
    }

    /// `chatedge dataplane` attached to `control_plane`.
    pub fn dataplane(dir: &Path, config: &str, control_plane: &str, node_token: &str) -> Chatedge {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let (d, c) = (dir.display().to_string(), dir.join("config.toml").display().to_string());
        let args = [
            "dataplane",
            "--data-dir",
            &d,
            "--config",
            &c,
            "--listen",
            "127.0.0.1:0",
            "--control-plane",
            control_plane,
            "--node-token",
            node_token,
        ];
        let (child, found) = spawn(dir, &args, &["data plane listening on "]);
        Chatedge {
            child,
            dir: dir.to_path_buf(),
            cp: control_plane.to_owned(),
            dp: found[0].clone(),
            admin_token: String::new(),
            integrator_token: String::new(),
            node_token: node_token.to_owned(),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGHUP (reload the TLS certificate); the process keeps running.
    pub fn hangup(&self) {
        // SAFETY: kill(2) on our own child with SIGHUP has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, libc::SIGHUP) }, 0);
    }

    /// SIGTERM and wait for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        // SAFETY: kill(2) on our own child with SIGTERM has no memory-safety preconditions.
        let pid = self.child.id() as i32;
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "chatedge did not exit within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("chatedge.log")).unwrap_or_default()
    }

    pub fn instance_url(&self, instance: &Instance, route: &str) -> String {
        format!("{}/instances/{}/token/{}/{}", self.dp, instance.id, instance.token, route)
    }
}

impl Drop for Chatedge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An instance as on-demand create returned it.
#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    pub token: String,
    pub secret: String,
}

/// Creates an instance through the integrator API with every webhook pointing at `sink`.
pub async fn create_instance(http: &Http, ce: &Chatedge, sink: Option<&Sink>) -> Instance {
    create_instance_with(http, ce, sink, json!({"name": "test instance"})).await
}

/// Creates an instance as a WhatsApp Business device (`"businessDevice": true`).
pub async fn create_business_instance(http: &Http, ce: &Chatedge, sink: Option<&Sink>) -> Instance {
    create_instance_with(http, ce, sink, json!({"name": "business instance", "businessDevice": true})).await
}

/// Creates an instance on demand from `body`, its webhooks pointed at `sink`'s paths.
pub async fn create_instance_with(http: &Http, ce: &Chatedge, sink: Option<&Sink>, mut body: Value) -> Instance {
    if let Some(s) = sink {
        for (field, path) in [
            ("deliveryCallbackUrl", "delivery"),
            ("receivedCallbackUrl", "received"),
            ("messageStatusCallbackUrl", "status"),
            ("connectedCallbackUrl", "connected"),
            ("disconnectedCallbackUrl", "disconnected"),
        ] {
            body[field] = json!(format!("{}/{path}", s.url));
        }
    }
    let (status, v) =
        http.post(&format!("{}/instances/integrator/on-demand", ce.cp), Some(&ce.integrator_token), &body).await;
    assert_eq!(status, 200, "on-demand create: {v}");
    Instance {
        id: v["id"].as_str().unwrap().to_owned(),
        token: v["token"].as_str().unwrap().to_owned(),
        secret: v["webhookSecret"].as_str().unwrap().to_owned(),
    }
}

/// Waits until the data plane knows `instance` (config pushed) and pairs it as `phone`.
pub async fn pair(http: &Http, ce: &Chatedge, instance: &Instance, phone: &str) {
    let qr = eventually(Duration::from_secs(20), || async {
        let (s, v) = http.get(&ce.instance_url(instance, "qr-code"), None).await;
        (s == 200).then(|| v["value"].as_str().map(str::to_owned)).flatten()
    })
    .await
    .expect("a QR code is shown");
    let (s, v) =
        http.post(&format!("{}/sim/scan", ce.dp), Some(&ce.admin_token), &json!({"qr": qr, "phone": phone})).await;
    assert_eq!(s, 200, "scan: {v}");
    wait_connected(http, ce, instance).await;
}

/// Waits until the data plane knows `instance` (its config arrived).
pub async fn wait_known(http: &Http, ce: &Chatedge, instance: &Instance) {
    eventually(Duration::from_secs(20), || async {
        let (s, _) = http.get(&ce.instance_url(instance, "status"), None).await;
        (s == 200).then_some(())
    })
    .await
    .expect("the instance is known to the data plane");
}

/// Sends `n` texts one after the other to distinct numbers from `first_phone` on (none ending
/// in 0000, which the sim refuses) and returns the answers, each checked to be 200.
pub async fn send_texts(
    http: &Http,
    ce: &Chatedge,
    instance: &Instance,
    n: usize,
    first_phone: u64,
    tag: &str,
) -> Vec<Value> {
    let mut answers = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let phone = format!("55119{:08}", first_phone + i);
        assert!(!phone.ends_with("0000"), "{phone} is unreachable in the sim; pick another range");
        let body = json!({"phone": phone, "message": format!("{tag} {i}")});
        let (status, v) = http.post(&ce.instance_url(instance, "send-text"), None, &body).await;
        assert_eq!(status, 200, "{tag} {i}: {v}");
        answers.push(v);
    }
    answers
}

/// The zaapIds of send answers.
pub fn zaap_ids(answers: &[Value]) -> std::collections::HashSet<String> {
    answers.iter().filter_map(|v| v["zaapId"].as_str().map(str::to_owned)).collect()
}

pub async fn wait_connected(http: &Http, ce: &Chatedge, instance: &Instance) {
    eventually(Duration::from_secs(20), || async {
        let (_, v) = http.get(&ce.instance_url(instance, "status"), None).await;
        (v["connected"] == json!(true)).then_some(())
    })
    .await
    .expect("the instance connects");
}

/// A running chatedge with one instance paired as 5511999990001, its webhooks on `sink`.
pub struct Paired {
    pub ce: Chatedge,
    pub http: Http,
    pub sink: Sink,
    pub inst: Instance,
    /// Dropped last: the process must stop before its data directory goes.
    pub dir: tempfile::TempDir,
}

pub async fn paired(config: &str) -> Paired {
    paired_as(config, false).await
}

/// Like [`paired`], the instance created as a WhatsApp Business device.
pub async fn paired_business(config: &str) -> Paired {
    paired_as(config, true).await
}

async fn paired_as(config: &str, business: bool) -> Paired {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), config);
    let http = Http::new();
    let sink = Sink::start().await;
    let inst = match business {
        true => create_business_instance(&http, &ce, Some(&sink)).await,
        false => create_instance(&http, &ce, Some(&sink)).await,
    };
    pair(&http, &ce, &inst, "5511999990001").await;
    Paired { ce, http, sink, inst, dir }
}

/// Delivers `body` to an instance through `POST /sim/inbound` (someone writes to it); the
/// network's id of the message.
pub async fn sim_inbound(http: &Http, ce: &Chatedge, body: &Value) -> String {
    let (status, v) = http.post(&format!("{}/sim/inbound", ce.dp), Some(&ce.admin_token), body).await;
    assert_eq!(status, 200, "{body}: {v}");
    v["messageId"].as_str().unwrap_or_else(|| panic!("a message id: {v}")).to_owned()
}

/// What the sim's phone `phone` received from `inst`, oldest first (`GET /sim/received`).
pub async fn sim_received(http: &Http, ce: &Chatedge, inst: &Instance, phone: &str) -> Vec<Value> {
    let url = format!("{}/sim/received?instanceId={}&phone={phone}", ce.dp, inst.id);
    let (status, v) = http.get(&url, Some(&ce.admin_token)).await;
    assert_eq!(status, 200, "sim/received: {v}");
    v["messages"].as_array().cloned().unwrap_or_default()
}

/// `GET url` with `Authorization: Bearer <bearer>`: the status, the body's bytes as they came
/// (a file, a CSV) and its Content-Type.
pub async fn get_bytes(url: &str, bearer: &str) -> (u16, Vec<u8>, String) {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let req = hyper::Request::get(url)
        .header("authorization", format!("Bearer {bearer}"))
        .body(http_body_util::Empty::new())
        .unwrap();
    let res = client.request(req).await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, res.into_body().collect().await.unwrap().to_bytes().to_vec(), content_type)
}

/// Polls `f` every 20 ms until it yields a value or `within` passes.
pub async fn eventually<T, F, Fut>(within: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A temporary directory for one test's data.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("chatedge-test-").tempdir().unwrap()
}

/// Fields of the envelope every ReceivedCallback carries. Seed 001's examples were written
/// at different times and each shows a subset (the newer ones add `chatLid`, `fromApi`,
/// `messageExpirationSeconds`…); chatedge sends all of them for every kind, so at the top
/// level a callback may carry these beyond its example. Everything else must match exactly.
pub const ENVELOPE: &[&str] = &[
    "isStatusReply",
    "senderLid",
    "chatLid",
    "connectedPhone",
    "waitingMessage",
    "isEdit",
    "isGroup",
    "isNewsletter",
    "instanceId",
    "messageId",
    "phone",
    "fromMe",
    "momment",
    "status",
    "chatName",
    "senderPhoto",
    "senderName",
    "participantPhone",
    "participantLid",
    "photo",
    "broadcast",
    "referenceMessageId",
    "externalAdReply",
    "messageExpirationSeconds",
    "forwarded",
    "type",
    "fromApi",
];
