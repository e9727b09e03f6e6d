//! The link between the planes (issue 10 §5), with one control plane and two data planes as
//! separate processes on 127.0.0.1: the control plane serves TLS and each data plane pins its
//! certificate; each data plane has its own credential and receives every account change but
//! only the instances placed on it; a request sent to the wrong data plane is forwarded to the
//! owner, which enforces the account's rules on the client's own address; a revoked credential
//! is refused and its stream ends; a data plane refuses a control plane whose certificate does
//! not match its pin (and keeps serving its snapshot); an instance whose configuration a data
//! plane refuses is quarantined alone; an account's daily quota holds over both data planes;
//! plain HTTP to a control plane off this machine is refused at start.

use crate::common;

use std::time::Duration;

use common::files::{self, Blob};
use common::*;
use hyper::Method;
use serde_json::{json, Value};

/// Test settings plus a control plane that serves TLS with a certificate it generates.
fn cp_config() -> String {
    format!("{FAST}\n[controlplane]\ntls = true\n")
}

/// Test settings for a data plane pinning `fingerprint`. Loopback is a trusted proxy, so a
/// test can name a client address in `X-Forwarded-For`.
fn dp_config(fingerprint: &str) -> String {
    format!(
        "{FAST}\n[dataplane]\ncontrol_plane_fingerprint = \"{fingerprint}\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n"
    )
}

/// A control plane serving TLS and a client that trusts its certificate.
struct Cp {
    ce: Chatedge,
    http: Http,
    fingerprint: String,
}

impl Cp {
    fn start(dir: &std::path::Path) -> Cp {
        Cp::start_with(dir, &cp_config())
    }

    fn start_with(dir: &std::path::Path, config: &str) -> Cp {
        let ce = Chatedge::controlplane(dir, config, "127.0.0.1:0");
        assert!(ce.cp.starts_with("https://"), "the control plane announces TLS: {}", ce.cp);
        let pem = std::fs::read(dir.join("controlplane.crt")).expect("the generated certificate is kept");
        let fingerprint = std::fs::read_to_string(dir.join("controlplane.fingerprint")).unwrap().trim().to_owned();
        Cp { ce, http: Http::trusting(&pem), fingerprint }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.ce.cp)
    }

    async fn register(&self, name: &str) -> (String, String) {
        let (s, v) =
            self.http.post(&self.url("/admin/dataplanes"), Some(&self.ce.admin_token), &json!({"name": name})).await;
        assert_eq!(s, 201, "register {name}: {v}");
        assert_eq!(v["name"], json!(name));
        (v["id"].as_str().unwrap().to_owned(), v["nodeToken"].as_str().unwrap().to_owned())
    }

    async fn nodes(&self) -> Value {
        let (s, v) = self.http.get(&self.url("/admin/dataplanes"), Some(&self.ce.admin_token)).await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// The listing's entry for node `id`, once `ready` holds for it.
    async fn node_when(&self, id: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        eventually(Duration::from_secs(20), || async {
            let all = self.nodes().await;
            let version = all["configVersion"].clone();
            let node = all["dataplanes"].as_array().unwrap().iter().find(|n| n["id"] == json!(id)).cloned()?;
            ready(&json!({"node": node, "configVersion": version})).then_some(node)
        })
        .await
        .unwrap_or_else(|| panic!("node {id} in GET /admin/dataplanes: {what}"))
    }

    async fn create(&self) -> Instance {
        let body = json!({"name": "link test"});
        let url = self.url("/instances/integrator/on-demand");
        let (s, v) = self.http.post(&url, Some(&self.ce.integrator_token), &body).await;
        assert_eq!(s, 200, "create: {v}");
        Instance {
            id: v["id"].as_str().unwrap().to_owned(),
            token: v["token"].as_str().unwrap().to_owned(),
            secret: v["webhookSecret"].as_str().unwrap().to_owned(),
        }
    }
}

/// A data plane with `token` pinning `fingerprint`, its admin token set for `/sim` routes.
fn dataplane(dir: &std::path::Path, cp: &Cp, token: &str, fingerprint: &str) -> Chatedge {
    let mut dp = Chatedge::dataplane(dir, &dp_config(fingerprint), &cp.ce.cp, token);
    dp.admin_token = cp.ce.admin_token.clone();
    dp
}

async fn status_on(http: &Http, dp: &Chatedge, inst: &Instance) -> u16 {
    http.get(&dp.instance_url(inst, "status"), None).await.0
}

async fn send_on(http: &Http, dp: &Chatedge, inst: &Instance) -> (u16, Value) {
    http.post(&dp.instance_url(inst, "send-text"), None, &json!({"phone": "5511988887777", "message": "hi"})).await
}

/// Requests a data plane forwarded to another node.
async fn proxied(http: &Http, dp: &Chatedge) -> f64 {
    metrics::sum(http, &dp.dp, "chatedge_dp_proxied_requests_total", "").await
}

/// Which of `dps` owns `inst`: the one that answers its status without forwarding it.
async fn owner_of(http: &Http, dps: &[&Chatedge], inst: &Instance) -> usize {
    let found = eventually(Duration::from_secs(20), || async {
        for (i, dp) in dps.iter().enumerate() {
            let before = proxied(http, dp).await;
            if status_on(http, dp, inst).await == 200 && proxied(http, dp).await == before {
                return Some(i);
            }
        }
        None
    })
    .await;
    found.unwrap_or_else(|| panic!("instance {} is served by one data plane of its own", inst.id))
}

/// Messages a data plane accepted into its own queues.
async fn accepted(http: &Http, dp: &Chatedge) -> f64 {
    metrics::sum(http, &dp.dp, "chatedge_dp_messages_total", "outcome=\"accepted\"").await
}

/// POSTs `size` bytes of JSON whitespace to `url` as a chunked body (no declared length), 64 KiB
/// a chunk, reading the answer while it writes (the server may answer and close before the body
/// ends); the answer's status and JSON body.
async fn post_chunked(url: &str, size: usize) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (host, path) = url.strip_prefix("http://").unwrap().split_once('/').unwrap();
    let conn = tokio::net::TcpStream::connect(host).await.unwrap();
    let (mut rx, mut tx) = conn.into_split();
    let head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let writer = tokio::spawn(async move {
        tx.write_all(head.as_bytes()).await?;
        let chunk = [b"10000\r\n".as_slice(), &[b' '; 0x10000], b"\r\n"].concat();
        for _ in 0..size.div_ceil(0x10000) {
            tx.write_all(&chunk).await?;
        }
        tx.write_all(b"0\r\n\r\n").await
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = rx.read(&mut buf).await {
        answer.extend_from_slice(&buf[..n]);
    }
    writer.abort();
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let json = text.find('{').and_then(|at| serde_json::from_str(text[at..].trim_end()).ok());
    (status, json.unwrap_or(Value::Null))
}

/// Two registered data planes holding their config streams and having advertised an address.
async fn two_nodes(dir: &std::path::Path, cp: &Cp) -> (Chatedge, Chatedge) {
    let (a_id, a_token) = cp.register("edge-a").await;
    let (b_id, b_token) = cp.register("edge-b").await;
    let a = dataplane(&dir.join("a"), cp, &a_token, &cp.fingerprint);
    let b = dataplane(&dir.join("b"), cp, &b_token, &cp.fingerprint);
    for id in [&a_id, &b_id] {
        let ready = |v: &Value| v["node"]["streams"] == json!(1) && v["node"]["advertisedUrl"].is_string();
        cp.node_when(id, "holds its config stream and advertised its address", ready).await;
    }
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_data_planes_get_every_change_each_only_its_own_instances_and_a_revoked_one_is_cut_off() {
    let dir = temp_dir();
    let http = Http::new();
    let cp = Cp::start(&dir.path().join("cp"));
    let (a_id, a_token) = cp.register("edge-a").await;
    let (b_id, b_token) = cp.register("edge-b").await;
    let a = dataplane(&dir.path().join("a"), &cp, &a_token, &cp.fingerprint);
    let b = dataplane(&dir.path().join("b"), &cp, &b_token, &cp.fingerprint);
    for id in [&a_id, &b_id] {
        cp.node_when(id, "holds its config stream", |v| v["node"]["streams"] == json!(1)).await;
    }

    // Placement: the live node with the fewest instances, so two new instances land apart.
    let (first, second) = (cp.create().await, cp.create().await);
    let dps = [&a, &b];
    let (o1, o2) = (owner_of(&http, &dps, &first).await, owner_of(&http, &dps, &second).await);
    assert_ne!(o1, o2, "one instance on each data plane");

    // Each sends on its owner (the other node forwards: see the next test).
    for (inst, owner) in [(&first, o1), (&second, o2)] {
        let (s, v) = send_on(&http, dps[owner], inst).await;
        assert_eq!(s, 200, "sent on its owner: {v}");
    }

    // Every node gets every account change: disabling the account stops sends on both.
    let admin = &cp.ce.admin_token;
    let (s, accounts) = cp.http.get(&cp.url("/admin/accounts"), Some(admin)).await;
    assert_eq!(s, 200, "{accounts}");
    let account = accounts["content"][0]["id"].as_str().unwrap().to_owned();
    let (s, v) = cp.http.post(&cp.url(&format!("/admin/accounts/{account}/disable")), Some(admin), &json!({})).await;
    assert_eq!(s, 200, "disable: {v}");
    for (inst, owner) in [(&first, o1), (&second, o2)] {
        let refused = eventually(Duration::from_secs(20), || async {
            (send_on(&http, dps[owner], inst).await.0 == 403).then_some(())
        });
        assert!(refused.await.is_some(), "the account change reached data plane {owner}");
    }
    let (s, v) = cp.http.post(&cp.url(&format!("/admin/accounts/{account}/enable")), Some(admin), &json!({})).await;
    assert_eq!(s, 200, "enable: {v}");

    // The listing: each node applied the current version and owns one instance.
    for id in [&a_id, &b_id] {
        let node = cp
            .node_when(id, "applied the current version", |v| v["node"]["appliedVersion"] == v["configVersion"])
            .await;
        assert_eq!(node["instances"], json!(1), "{node}");
        assert_eq!(node["revoked"], json!(false), "{node}");
        assert!(node["lastContactMs"].as_u64().is_some(), "{node}");
        assert_eq!(node["sessions"]["connected"], json!(0), "nothing paired: {node}");
    }
    let listing = cp.nodes().await;
    assert_eq!(listing["controlPlane"]["fingerprint"], json!(cp.fingerprint), "{listing}");

    // Revoking b: its token is refused from now on and its open stream ends at once.
    let b_inst = if o1 == 1 { &first } else { &second };
    let (s, v) = cp.http.post(&cp.url(&format!("/admin/dataplanes/{b_id}/revoke")), Some(admin), &json!({})).await;
    assert_eq!(s, 200, "revoke: {v}");
    let report = json!({"node": "00000000000000AA", "bootMs": 1, "seq": 1, "online": []});
    let (s, v) = cp.http.post(&cp.url("/dataplane/v1/report"), Some(&b_token), &report).await;
    assert_eq!(s, 401, "a revoked node token is refused: {v}");
    let node = cp.node_when(&b_id, "lost its stream", |v| v["node"]["streams"] == json!(0)).await;
    assert_eq!(node["revoked"], json!(true), "{node}");
    let cut = eventually(Duration::from_secs(20), || async {
        (metrics::sum(&http, &b.dp, "chatedge_dp_control_plane_connected", "").await == 0.0).then_some(())
    });
    assert!(cut.await.is_some(), "the revoked data plane sees its stream end");
    let told = eventually(Duration::from_secs(20), || async {
        b.log().contains("the control plane refused this node's token").then_some(())
    });
    assert!(told.await.is_some(), "and says why it cannot reconnect:\n{}", b.log());
    assert_eq!(status_on(&http, &b, b_inst).await, 200, "and keeps serving its last snapshot");

    // A new instance now goes to the only node still allowed: a.
    let third = cp.create().await;
    assert_eq!(owner_of(&http, &dps, &third).await, 0, "placed on a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sent_to_the_wrong_data_plane_is_served_by_its_owner_on_the_clients_own_address() {
    let dir = temp_dir();
    let http = Http::new();
    let cp = Cp::start(&dir.path().join("cp"));
    let (a, b) = two_nodes(dir.path(), &cp).await;
    let inst = cp.create().await;
    let dps = [&a, &b];
    let owner = owner_of(&http, &dps, &inst).await;
    let (own_dp, wrong_dp) = if owner == 0 { (a, b) } else { (b, a) };
    let (own, wrong) = (&own_dp, &wrong_dp);
    let forwarded_before = proxied(&http, wrong).await;

    // A send through the wrong node: the owner's answer, the message accepted once, by the owner.
    let (s, v) = send_on(&http, wrong, &inst).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["zaapId"].is_string() && v["messageId"].is_string(), "{v}");
    assert_eq!(accepted(&http, own).await, 1.0, "the owner queued it");
    assert_eq!(accepted(&http, wrong).await, 0.0, "the wrong node queued nothing");
    // Reads answer the same through either node.
    for route in ["status", "queue"] {
        let direct = http.get(&own.instance_url(&inst, route), None).await;
        let through = http.get(&wrong.instance_url(&inst, route), None).await;
        assert_eq!(through, direct, "{route} through the wrong node");
    }
    // A large body (a 3 MiB document as base64) streams through to the owner.
    let blob = Blob::pdf(3 * 1024 * 1024, 7);
    let url = wrong.instance_url(&inst, "send-document/pdf");
    let sent = files::send_base64(&url, "document", "application/pdf", "5511988887777", &blob).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(accepted(&http, own).await, 2.0);
    assert_eq!(accepted(&http, wrong).await, 0.0);
    assert_eq!(proxied(&http, wrong).await, forwarded_before + 4.0, "two sends and two reads forwarded");
    // A body with no declared length that runs past the route's limit (1 MiB for a text) is
    // cut where the owner would cut it: 413, and the owner queued nothing.
    let (s, v) = post_chunked(&wrong.instance_url(&inst, "send-text"), 2 * 1024 * 1024).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(v["error"], json!("Body too large"), "{v}");
    assert_eq!(accepted(&http, own).await, 2.0, "nothing of the cut body was queued");
    let cut = metrics::sum(&http, &wrong.dp, "chatedge_dp_proxied_requests_total", "outcome=\"too_large\"").await;
    assert_eq!(cut, 1.0);

    // An unknown instance, or a wrong token, answers as before on either node.
    let unknown =
        Instance { id: "0123456789ABCDEF0123456789ABCDEF".into(), token: "F".repeat(24), secret: String::new() };
    let wrong_token = Instance { token: "0".repeat(24), ..inst.clone() };
    let expected = json!({"error": "Unauthorized", "message": "unknown instance or invalid token"});
    for dp in [own, wrong] {
        for i in [&unknown, &wrong_token] {
            assert_eq!(http.get(&dp.instance_url(i, "status"), None).await, (401, expected.clone()), "{}", dp.dp);
        }
    }

    // The owner applies the account's IP allowlist to the client's address as the first node
    // saw it; a client cannot name its own address by sending the forwarding headers.
    let admin = &cp.ce.admin_token;
    let (_, accounts) = cp.http.get(&cp.url("/admin/accounts"), Some(admin)).await;
    let account = accounts["content"][0]["id"].as_str().unwrap().to_owned();
    let path = cp.url(&format!("/admin/accounts/{account}/ip-allowlist"));
    let body = json!({"ips": ["10.1.2.3"], "enabled": true}).to_string().into_bytes();
    let (s, v) = cp.http.raw(Method::PUT, &path, Some(admin), &[("content-type", "application/json")], body).await;
    assert_eq!(s, 200, "{v}");
    let refused = (403, json!({"error": "127.0.0.1 not allowed"}));
    let applied = eventually(Duration::from_secs(20), || async {
        (http.get(&own.instance_url(&inst, "status"), None).await == refused).then_some(())
    });
    assert!(applied.await.is_some(), "the allowlist reached the owner");
    let forged = [("x-chatedge-peer-key", "0".repeat(64)), ("x-chatedge-client-ip", "10.1.2.3".to_owned())];
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for dp in [own, wrong] {
        let (s, v) = http.raw(Method::GET, &dp.instance_url(&inst, "status"), None, &forged, Vec::new()).await;
        assert_eq!((s, v), refused.clone(), "forged forwarding headers are ignored on {}", dp.dp);
        assert_eq!(http.get(&dp.instance_url(&inst, "status"), None).await, refused.clone());
    }
    assert!(metrics::sum(&http, &own.dp, "chatedge_dp_peer_requests_total", "refused").await >= 1.0);
    let via_proxy = [("x-forwarded-for", "10.1.2.3")];
    let (s, v) = http.raw(Method::GET, &wrong.instance_url(&inst, "status"), None, &via_proxy, Vec::new()).await;
    assert_eq!(s, 200, "the wrong node passed on the address its trusted proxy named: {v}");

    // The owner gone: the wrong node says so in the Z-API error shape.
    let owner_url = own.dp.clone();
    own_dp.kill_9();
    let (s, v) = http.raw(Method::GET, &wrong.instance_url(&inst, "status"), None, &via_proxy, Vec::new()).await;
    assert_eq!(s, 502, "{v}");
    assert_eq!(v["error"], json!("Owner unreachable"), "{v}");
    assert!(v["message"].as_str().unwrap().contains(&owner_url), "names where it tried: {v}");
}

/// What a data plane heard its accounts sent today on the other data planes.
async fn heard_elsewhere(http: &Http, dp: &Chatedge) -> f64 {
    metrics::sum(http, &dp.dp, "chatedge_dp_account_sends_elsewhere", "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_daily_quota_holds_over_its_instances_on_two_data_planes() {
    let dir = temp_dir();
    let http = Http::new();
    let cp = Cp::start(&dir.path().join("cp"));
    let (a, b) = two_nodes(dir.path(), &cp).await;
    let (first, second) = (cp.create().await, cp.create().await);
    let dps = [&a, &b];
    let (o1, o2) = (owner_of(&http, &dps, &first).await, owner_of(&http, &dps, &second).await);
    assert_ne!(o1, o2, "one instance on each data plane");
    let (one, two) = (dps[o1], dps[o2]);
    let creds: Value = serde_json::from_slice(&std::fs::read(dir.path().join("cp/credentials.json")).unwrap()).unwrap();
    let limits = cp.url(&format!("/admin/accounts/{}/limits", creds["tenantId"].as_str().unwrap()));
    let body = json!({"dailyQuota": 4}).to_string().into_bytes();
    let json_type = [("content-type", "application/json")];
    let (s, v) = cp.http.raw(Method::PUT, &limits, Some(&cp.ce.admin_token), &json_type, body).await;
    assert_eq!(s, 200, "{v}");

    // Three on the first node; the second hears of them and has one left.
    for _ in 0..3 {
        assert_eq!(send_on(&http, one, &first).await.0, 200);
    }
    let heard =
        eventually(Duration::from_secs(20), || async { (heard_elsewhere(&http, two).await == 3.0).then_some(()) });
    assert!(heard.await.is_some(), "the second node hears of the first node's three sends");
    let (s, v) = send_on(&http, two, &second).await;
    assert_eq!(s, 200, "the fourth: {v}");
    let (s, v) = send_on(&http, two, &second).await;
    assert_eq!((s, v["error"].clone()), (429, json!("Daily quota reached")), "the fifth, anywhere: {v}");

    // And the first node hears of the second's one: it refuses too.
    let heard =
        eventually(Duration::from_secs(20), || async { (heard_elsewhere(&http, one).await == 1.0).then_some(()) });
    assert!(heard.await.is_some(), "the first node hears of the second node's send");
    let (s, v) = send_on(&http, one, &first).await;
    assert_eq!((s, v["error"].clone()), (429, json!("Daily quota reached")), "{v}");
    assert_eq!(accepted(&http, one).await + accepted(&http, two).await, 4.0, "four accepted in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_or_revoked_data_planes_instances_move_to_a_live_one() {
    let dir = temp_dir();
    let http = Http::new();
    let cp = Cp::start_with(&dir.path().join("cp"), &format!("{}reassign_after_ms = 2000\n", cp_config()));
    let (a, b) = two_nodes(dir.path(), &cp).await;
    let (first, second) = (cp.create().await, cp.create().await);
    let dps = [&a, &b];
    let (o1, o2) = (owner_of(&http, &dps, &first).await, owner_of(&http, &dps, &second).await);
    assert_ne!(o1, o2, "one instance on each data plane");
    let (kept, lost) = if o1 == 0 { (a, b) } else { (b, a) };
    let owns_both = |v: &Value| v["dataplanes"].as_array().unwrap().iter().any(|n| n["instances"] == json!(2));

    // The second one's node dies: after 2 s of silence its instance is the other node's own.
    lost.kill_9();
    assert_eq!(owner_of(&http, &[&kept], &second).await, 0, "served by the live node itself");
    assert_eq!(status_on(&http, &kept, &first).await, 200, "its own instance untouched");
    let listing = cp.nodes().await;
    assert!(owns_both(&listing), "the live node owns both: {listing}");

    // A third node takes the next instance; revoking it moves that instance at once.
    let (c_id, c_token) = cp.register("edge-c").await;
    let c = dataplane(&dir.path().join("c"), &cp, &c_token, &cp.fingerprint);
    let ready = |v: &Value| v["node"]["streams"] == json!(1) && v["node"]["advertisedUrl"].is_string();
    cp.node_when(&c_id, "holds its config stream", ready).await;
    let third = cp.create().await;
    assert_eq!(owner_of(&http, &[&kept, &c], &third).await, 1, "placed on the emptiest node, c");
    let admin = &cp.ce.admin_token;
    let (s, v) = cp.http.post(&cp.url(&format!("/admin/dataplanes/{c_id}/revoke")), Some(admin), &json!({})).await;
    assert_eq!(s, 200, "revoke: {v}");
    assert_eq!(owner_of(&http, &[&kept], &third).await, 0, "moved to the live node with the revocation");
    let moved = metrics::sum(&cp.http, &cp.ce.cp, "chatedge_cp_instances_moved_total", "").await;
    assert_eq!(moved, 2.0, "one for silence, one for the revocation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_configuration_a_data_plane_refuses_is_quarantined_alone_and_reported() {
    let dir = temp_dir();
    let http = Http::new();
    let cp = Cp::start(&dir.path().join("cp"));
    // This data plane refuses plain-http webhook URLs on loopback, which the control plane takes.
    let strict =
        dp_config(&cp.fingerprint).replace("allow_insecure_loopback = true", "allow_insecure_loopback = false");
    let mut dp = Chatedge::dataplane(&dir.path().join("dp"), &strict, &cp.ce.cp, &cp.ce.node_token);
    dp.admin_token = cp.ce.admin_token.clone();
    let good = cp.create().await;
    let body = json!({"name": "strict", "receivedCallbackUrl": "http://127.0.0.1:9/hook"});
    let (s, v) = cp.http.post(&cp.url("/instances/integrator/on-demand"), Some(&cp.ce.integrator_token), &body).await;
    assert_eq!(s, 200, "the control plane takes it: {v}");
    let bad = Instance {
        id: v["id"].as_str().unwrap().to_owned(),
        token: v["token"].as_str().unwrap().to_owned(),
        secret: String::new(),
    };
    let later = cp.create().await;

    // The rest of each update applied: the instances before and after it serve.
    for inst in [&good, &later] {
        wait_known(&http, &dp, inst).await;
    }
    let (s, v) = http.get(&dp.instance_url(&bad, "status"), None).await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["error"], json!("Instance quarantined"), "{v}");
    assert!(v["message"].as_str().unwrap().contains("webhooks.Received"), "says which field: {v}");
    let wrong = Instance { token: "0".repeat(24), ..bad.clone() };
    assert_eq!(http.get(&dp.instance_url(&wrong, "status"), None).await.0, 401, "only its token learns it");
    assert_eq!(metrics::sum(&http, &dp.dp, "chatedge_dp_quarantined_instances", "").await, 1.0);

    // Reported to the control plane with the data plane's acknowledgement.
    let node = cp
        .node_when("0000000000000000", "reports the quarantine", |v| v["node"]["quarantined"]["count"] == json!(1))
        .await;
    assert_eq!(node["quarantined"]["instances"][0]["instance"], json!(bad.id), "{node}");
    assert!(node["quarantined"]["instances"][0]["reason"].as_str().unwrap().contains("webhooks.Received"), "{node}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_plane_refuses_a_control_plane_whose_certificate_does_not_match_its_pin() {
    let dir = temp_dir();
    let http = Http::new();
    let cp = Cp::start(&dir.path().join("cp"));
    let dp_dir = dir.path().join("dp");
    // First with the right pin: it receives an instance and persists it.
    let dp = dataplane(&dp_dir, &cp, &cp.ce.node_token, &cp.fingerprint);
    let inst = cp.create().await;
    wait_known(&http, &dp, &inst).await;
    assert_eq!(dp.terminate().code(), Some(0));

    // Then pinning another certificate: no connection, said in its log, the snapshot serves.
    let wrong = format!("sha256:{}", "0f".repeat(32));
    let dp = dataplane(&dp_dir, &cp, &cp.ce.node_token, &wrong);
    let said = eventually(Duration::from_secs(20), || async {
        dp.log().contains("does not match the pinned fingerprint").then_some(())
    });
    assert!(said.await.is_some(), "the refusal is logged:\n{}", dp.log());
    assert!(dp.log().contains(&cp.fingerprint), "the log names the certificate it was shown");
    assert_eq!(status_on(&http, &dp, &inst).await, 200, "the persisted snapshot keeps serving");
    assert_eq!(metrics::sum(&http, &dp.dp, "chatedge_dp_control_plane_connected", "").await, 0.0);
    // The first run's stream is gone (noticed at the next heartbeat); no call of the second run
    // ever reaches the control plane, however often it tries.
    let default =
        cp.node_when("0000000000000000", "lost the first run's stream", |v| v["node"]["streams"] == json!(0)).await;
    let tries = |log: String| log.matches("does not match the pinned fingerprint").count();
    let seen = tries(dp.log());
    let retried = eventually(Duration::from_secs(20), || async { (tries(dp.log()) > seen).then_some(()) });
    assert!(retried.await.is_some(), "it keeps trying, and keeps refusing");
    let later = cp.node_when("0000000000000000", "listed", |_| true).await;
    assert_eq!(later["lastContactMs"], default["lastContactMs"], "no authenticated call got through: {later}");
    assert_eq!(later["streams"], json!(0), "{later}");
}

#[test]
fn plain_http_to_a_control_plane_off_this_machine_is_refused_at_startup() {
    let dir = temp_dir();
    let d = dir.path().display().to_string();
    // Refused before anything is opened or dialled: nothing is sent to 10.0.0.5.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chatedge"))
        .args(["dataplane", "--data-dir", &d, "--listen", "127.0.0.1:0"])
        .args(["--control-plane", "http://10.0.0.5:8081", "--node-token", "0123456789ABCDEF0123"])
        .output()
        .expect("chatedge runs");
    assert!(!out.status.success(), "it must not start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--control-plane or [dataplane] control_plane"), "names the field: {stderr}");
    assert!(
        stderr.contains("http://10.0.0.5:8081") && stderr.contains("https://"),
        "says why and what to do: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_control_plane_down_both_data_planes_serve_and_forward_even_after_a_restart_and_resync_when_it_returns(
) {
    let dir = temp_dir();
    let http = Http::new();
    let cp_dir = dir.path().join("cp");
    let cp = Cp::start(&cp_dir);
    let (a, b) = two_nodes(dir.path(), &cp).await;
    let (first, second) = (cp.create().await, cp.create().await);
    let (o1, o2) = (owner_of(&http, &[&a, &b], &first).await, owner_of(&http, &[&a, &b], &second).await);
    assert_ne!(o1, o2, "one instance on each data plane");
    let (on_a, on_b) = if o1 == 0 { (first, second) } else { (second, first) };
    let (cp_url, fingerprint, b_dir, b_token) =
        (cp.ce.cp.clone(), cp.fingerprint.clone(), b.dir.clone(), b.node_token.clone());

    // The control plane dies: each node sends for its own instance and forwards the other's.
    cp.ce.kill_9();
    for dp in [&a, &b] {
        for inst in [&on_a, &on_b] {
            let (s, v) = send_on(&http, dp, inst).await;
            assert_eq!(s, 200, "{} sends for {} with the control plane down: {v}", dp.dp, inst.id);
        }
    }
    assert_eq!((accepted(&http, &a).await, accepted(&http, &b).await), (2.0, 2.0), "each queued its own two");

    // b restarts while the control plane is still down: from its persisted snapshot it serves its
    // own instance and still knows where the other lives and how to reach it.
    b.kill_9();
    let b = Chatedge::dataplane(&b_dir, &dp_config(&fingerprint), &cp_url, &b_token);
    let (s, v) = send_on(&http, &b, &on_b).await;
    assert_eq!(s, 200, "the restarted node sends for its own instance: {v}");
    let before = proxied(&http, &b).await;
    let (s, v) = send_on(&http, &b, &on_a).await;
    assert_eq!(s, 200, "the restarted node forwards to the owner: {v}");
    assert_eq!(proxied(&http, &b).await, before + 1.0, "forwarded, not served");
    assert_eq!(accepted(&http, &a).await, 3.0, "the owner queued it");

    // The control plane returns on its address: both nodes resynchronise without a restart. A
    // new instance reaches both (served by its owner, forwarded by the other), and a goes on
    // forwarding to b at the address b advertised after its restart.
    let addr = cp_url.strip_prefix("https://").unwrap().to_owned();
    let cp = Cp {
        ce: Chatedge::controlplane(&cp_dir, &cp_config(), &addr),
        http: Http::trusting(&std::fs::read(cp_dir.join("controlplane.crt")).unwrap()),
        fingerprint,
    };
    let streaming = |v: &Value| {
        let nodes = v["dataplanes"].as_array().unwrap();
        nodes.iter().filter(|n| n["name"] != json!("default")).all(|n| n["streams"] == json!(1))
    };
    let back = eventually(Duration::from_secs(30), || async { streaming(&cp.nodes().await).then_some(()) });
    assert!(back.await.is_some(), "both nodes reconnect by themselves: {}", cp.nodes().await);
    let third = cp.create().await;
    owner_of(&http, &[&a, &b], &third).await;
    for dp in [&a, &b] {
        let reached =
            eventually(Duration::from_secs(20), || async { (status_on(&http, dp, &third).await == 200).then_some(()) });
        assert!(reached.await.is_some(), "the instance created after the return reaches {}", dp.dp);
    }
    let forwarded =
        eventually(Duration::from_secs(20), || async { (send_on(&http, &a, &on_b).await.0 == 200).then_some(()) });
    assert!(forwarded.await.is_some(), "a forwards to b's new address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zapini_and_zami_calls_sent_to_the_wrong_data_plane_are_served_by_the_owner() {
    let dir = temp_dir();
    let http = Http::new();
    let cp = Cp::start(&dir.path().join("cp"));
    let (a, b) = two_nodes(dir.path(), &cp).await;
    let inst = cp.create().await;
    let owner = owner_of(&http, &[&a, &b], &inst).await;
    let (own, wrong) = if owner == 0 { (&a, &b) } else { (&b, &a) };
    let account = cp.ce.integrator_token.clone();
    let hex = inst.id.to_ascii_lowercase();
    let uuid = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);

    // A key carries its instance, so any data plane knows where to send it.
    let url = cp.url(&format!("/instances/integrator/{uuid}/api-keys"));
    let (s, v) = cp.http.post(&url, Some(&account), &json!({})).await;
    assert_eq!(s, 201, "{v}");
    let key = v["apiKey"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("sk_{hex}_")), "{key}");
    let live = eventually(Duration::from_secs(20), || async {
        let (s, _) = http.raw(Method::GET, &format!("{}/zapini/status", own.dp), Some(&key), &[], Vec::new()).await;
        (s == 200).then_some(())
    });
    assert!(live.await.is_some(), "the key reaches its owner");
    let forwarded_before = proxied(&http, wrong).await;
    let post = |url: String, bearer: String, body: Value| {
        let http = &http;
        async move {
            let headers = [("content-type", "application/json")];
            http.raw(Method::POST, &url, Some(&bearer), &headers, body.to_string().into_bytes()).await
        }
    };

    // The key: forwarded before the body is read.
    let text = json!({"recipient": "+5511988887777", "message": "by key"});
    let (s, v) = post(format!("{}/zapini/send-message", wrong.dp), key.clone(), text).await;
    assert_eq!((s, &v["success"]), (200, &json!(true)), "{v}");
    // The account's token with the instance in the body: read, then forwarded as it came.
    let text = json!({"instance_id": uuid, "recipient": "5511988887777", "message": "by body"});
    let (s, v) = post(format!("{}/zapini/api/v1/send-message", wrong.dp), account.clone(), text).await;
    assert_eq!((s, &v["success"]), (200, &json!(true)), "{v}");
    // The instance in the path.
    let status = |dp: &Chatedge| format!("{}/zapini/instances/{uuid}/status", dp.dp);
    let direct = http.raw(Method::GET, &status(own), Some(&account), &[], Vec::new()).await;
    let through = http.raw(Method::GET, &status(wrong), Some(&account), &[], Vec::new()).await;
    assert_eq!((through.0, through.1["data"]["uuid"].clone()), (200, json!(uuid)), "{}", through.1);
    assert_eq!(through.1["data"]["status"], direct.1["data"]["status"]);
    // Zami: the connection in the body.
    let zami = json!({"connection_id": inst.id, "recipient": "+55 11 98888-7777", "body": "zami"});
    let (s, v) = post(format!("{}/zami/v1/send-text", wrong.dp), account.clone(), zami).await;
    assert_eq!((s, &v["success"]), (200, &json!(true)), "{v}");

    assert_eq!(accepted(&http, own).await, 3.0, "the owner queued the three sends");
    assert_eq!(accepted(&http, wrong).await, 0.0, "the wrong node queued nothing");
    assert_eq!(proxied(&http, wrong).await, forwarded_before + 4.0);

    // An instance nobody holds answers as unknown on either node, in the dialect's shape.
    let nobody = json!({"instance_id": "0123456789abcdef0123456789abcdef", "recipient": "5511988887777",
                        "message": "x"});
    for dp in [own, wrong] {
        let (s, v) = post(format!("{}/zapini/send-message", dp.dp), account.clone(), nobody.clone()).await;
        assert_eq!((s, &v["error"]["code"]), (404, &json!("INSTANCE_NOT_FOUND")), "{v}");
    }
    assert_eq!(proxied(&http, wrong).await, forwarded_before + 4.0, "nothing forwarded for it");
}
