//! Where the data plane's connections run (`[dataplane] connections_on_shards`, issue 11 §7):
//! the plain port's connections are spread over the shard threads and counted per shard in
//! `chatedge_dp_shard_connections`; a connection on any shard serves instances of every
//! shard; closed connections leave the count; with the setting off, no connection runs on a
//! shard. A plain connection whose first request names an instance runs on that instance's
//! shard (`steer_connections`, on by default) and still serves every instance — over TLS too,
//! placed after its handshake by its first request; h2 is spread. Each shard thread
//! is pinned to one core, unless `pin_shards = false` lets it run on any.

use crate::common;
use crate::edge_support;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// A kept-alive HTTP/1.1 connection of its own to the data plane.
async fn open(ce: &Chatedge) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(ce.dp.trim_start_matches("http://")).await.unwrap();
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    send
}

async fn request(conn: &mut SendRequest<Full<Bytes>>, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "chatedge")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(bytes)))
        .unwrap();
    conn.ready().await.unwrap();
    let res = conn.send_request(req).await.unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Open connections served on shard `shard`'s thread.
pub(crate) async fn on_shard(http: &Http, ce: &Chatedge, shard: usize) -> f64 {
    common::metrics::sum(http, &ce.dp, "chatedge_dp_shard_connections", &format!("shard=\"{shard}\"")).await
}

async fn on_shards(http: &Http, ce: &Chatedge) -> f64 {
    common::metrics::sum(http, &ce.dp, "chatedge_dp_shard_connections", "").await
}

/// Connected sessions on shard `shard`.
async fn connected_on(http: &Http, ce: &Chatedge, shard: usize) -> f64 {
    let label = format!("shard=\"{shard}\",state=\"connected\"");
    common::metrics::sum(http, &ce.dp, "chatedge_dp_sessions", &label).await
}

/// Paired instances until each of the 2 shards holds at least one (instances hash to shards).
pub(crate) async fn instances_on_both_shards(http: &Http, ce: &Chatedge) -> Vec<Instance> {
    let mut instances = Vec::new();
    for i in 0..24 {
        let inst = create_instance(http, ce, None).await;
        pair(http, ce, &inst, &format!("55119777{i:05}")).await;
        instances.push(inst);
        if instances.len() >= 2 && connected_on(http, ce, 0).await >= 1.0 && connected_on(http, ce, 1).await >= 1.0 {
            return instances;
        }
    }
    panic!("24 instances and still a shard without one");
}

/// Plain connections placed by their first request so far, `how`: steered or spread.
async fn placed(http: &Http, ce: &Chatedge, how: &str) -> f64 {
    common::metrics::sum(http, &ce.dp, "chatedge_dp_connections_placed_total", &format!("how=\"{how}\"")).await
}

/// Send-text number `n` to `inst`: its path, and a body with a phone and a text of its own.
fn send_text(inst: &Instance, n: usize) -> (String, Value) {
    let path = format!("/instances/{}/token/{}/send-text", inst.id, inst.token);
    (path, json!({"phone": format!("5511987{n:06}"), "message": format!("message {n}")}))
}

/// Three connections per shard, opened with `open`, each sending its first request to an
/// instance of that shard: each is steered there (the request read to place it served whole),
/// and each then serves every instance, whatever its shard.
async fn each_steered_to_its_instances_shard<F, C>(http: &Http, ce: &Chatedge, instances: &[Instance], open: F)
where
    F: Fn() -> C,
    C: std::future::Future<Output = SendRequest<Full<Bytes>>>,
{
    let shard_of = |inst: &Instance| chatedge_config::InstanceId::parse(&inst.id).expect("an instance id").shard(2);
    let mut held = Vec::new();
    for shard in [0, 1] {
        let inst = instances.iter().find(|i| shard_of(i) == shard).expect("an instance on each shard");
        let (before, steered) = (on_shard(http, ce, shard).await, placed(http, ce, "steered").await);
        for c in 0..3 {
            let mut conn = open().await;
            let (path, body) = send_text(inst, shard * 10 + c);
            let (status, v) = request(&mut conn, "POST", &path, Some(body)).await;
            assert_eq!(status, 200, "{v}");
            held.push(conn);
        }
        assert_eq!(placed(http, ce, "steered").await, steered + 3.0, "each of the 3 was steered");
        let now = on_shard(http, ce, shard).await;
        assert!(now >= before + 3.0, "shard {shard} holds the 3 connections to its instance ({before} → {now})");
    }
    for (c, conn) in held.iter_mut().enumerate() {
        for (i, inst) in instances.iter().enumerate() {
            let (path, body) = send_text(inst, 100 + c * 10 + i);
            assert_eq!(request(conn, "POST", &path, Some(body)).await.0, 200, "connection {c}, instance {i}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_spread_over_the_shards_and_each_serves_instances_of_every_shard() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &format!("{FAST}\n[dataplane]\nshards = 2\n"));
    let http = Http::new();
    let instances = instances_on_both_shards(&http, &ce).await;

    let mut conns = Vec::new();
    for _ in 0..4 {
        let mut conn = open(&ce).await;
        assert_eq!(request(&mut conn, "GET", "/healthz", None).await.0, 200);
        conns.push(conn);
    }
    // Round robin: 2 of the 4 on each shard (the metrics reads' own connection comes on top).
    assert!(on_shard(&http, &ce, 0).await >= 2.0, "shard 0 serves its share of the connections");
    assert!(on_shard(&http, &ce, 1).await >= 2.0, "shard 1 serves its share of the connections");
    let held = on_shards(&http, &ce).await;

    for (c, conn) in conns.iter_mut().enumerate() {
        for (i, inst) in instances.iter().enumerate() {
            let (path, body) = send_text(inst, 200 + c * 10 + i);
            let (status, v) = request(conn, "POST", &path, Some(body)).await;
            assert_eq!(status, 200, "connection {c}, instance {i}: {v}");
            assert_eq!(v["zaapId"].as_str().map(str::len), Some(32), "{v}");
        }
    }

    drop(conns);
    let left = eventually(PATIENCE, || async {
        let now = on_shards(&http, &ce).await;
        (now <= held - 4.0).then_some(now)
    })
    .await;
    assert!(left.is_some(), "closed connections leave chatedge_dp_shard_connections ({held} while held)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_first_request_names_an_instance_runs_on_that_instances_shard() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &format!("{FAST}\n[dataplane]\nshards = 2\n"));
    let http = Http::new();
    let instances = instances_on_both_shards(&http, &ce).await;
    each_steered_to_its_instances_shard(&http, &ce, &instances, || open(&ce)).await;
    // One that names no instance is spread round robin.
    let spread = placed(&http, &ce, "spread").await;
    let mut conn = open(&ce).await;
    assert_eq!(request(&mut conn, "GET", "/healthz", None).await.0, 200);
    assert!(placed(&http, &ce, "spread").await > spread, "a connection naming no instance is spread");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_connection_whose_first_request_names_an_instance_runs_on_that_instances_shard() {
    let dir = temp_dir();
    let (cert, key) = (dir.path().join("edge.crt"), dir.path().join("edge.key"));
    edge_support::write_certificate(&cert, &key);
    let tls = format!("[tls]\ncert = \"{}\"\nkey = \"{}\"\nlisten = \"127.0.0.1:0\"\n", cert.display(), key.display());
    let ce = Chatedge::up(&dir.path().join("ce"), &format!("{FAST}\n[dataplane]\nshards = 2\n{tls}"));
    let port = edge_support::announced_h3_port(&ce.dp).await;
    let pem = std::fs::read(&cert).unwrap();
    let http = Http::new();
    let instances = instances_on_both_shards(&http, &ce).await;
    let open_tls = || async {
        let (tls, _) = edge_support::tls_connect(port, edge_support::client_config(&pem, &[b"http/1.1"])).await;
        edge_support::h1(tls).await
    };
    each_steered_to_its_instances_shard(&http, &ce, &instances, open_tls).await;
    // An h2 connection is spread round robin, even when its requests name an instance.
    let (steered, spread) = (placed(&http, &ce, "steered").await, placed(&http, &ce, "spread").await);
    let (tls, alpn) = edge_support::tls_connect(port, edge_support::client_config(&pem, &[b"h2"])).await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    let (path, body) = send_text(&instances[0], 500);
    let req = hyper::Request::post(path).header("host", "localhost").header("content-type", "application/json");
    let res = edge_support::h2(tls).await.send_request(req.body(Full::new(Bytes::from(body.to_string()))).unwrap());
    assert_eq!(edge_support::answer(res.await.unwrap()).await.0, 200);
    assert_eq!(placed(&http, &ce, "steered").await, steered, "h2 is never steered");
    assert!(placed(&http, &ce, "spread").await > spread, "the h2 connection was spread");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_steer_connections_off_no_connection_is_steered() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &format!("{FAST}\n[dataplane]\nshards = 2\nsteer_connections = false\n"));
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    pair(&http, &ce, &inst, "5511977700001").await;
    let mut conns = Vec::new();
    for c in 0..4 {
        let mut conn = open(&ce).await;
        let (path, body) = send_text(&inst, c);
        assert_eq!(request(&mut conn, "POST", &path, Some(body)).await.0, 200);
        conns.push(conn);
    }
    assert!(on_shard(&http, &ce, 0).await >= 2.0 && on_shard(&http, &ce, 1).await >= 2.0, "round robin, as before");
    assert_eq!(placed(&http, &ce, "steered").await + placed(&http, &ce, "spread").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_connections_on_shards_off_no_connection_runs_on_a_shard() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &format!("{FAST}\n[dataplane]\nshards = 2\nconnections_on_shards = false\n"));
    let http = Http::new();
    let mut conns = Vec::new();
    for _ in 0..3 {
        let mut conn = open(&ce).await;
        assert_eq!(request(&mut conn, "GET", "/healthz", None).await.0, 200);
        conns.push(conn);
    }
    assert_eq!(on_shards(&http, &ce).await, 0.0, "every connection stays on the edge runtime");
}

/// The CPUs the process may run on, and each shard thread's (`Cpus_allowed_list` in /proc).
fn allowed_cpus(pid: u32) -> (String, Vec<(String, String)>) {
    let cpus = |status: std::path::PathBuf| {
        let text = std::fs::read_to_string(status).unwrap_or_default();
        let line = text.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).map(str::trim);
        line.expect("Linux reports Cpus_allowed_list").to_string()
    };
    let mut shards = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("the server's threads") {
        let task = task.unwrap().path();
        let name = std::fs::read_to_string(task.join("comm")).unwrap_or_default().trim().to_string();
        if name.starts_with("shard-") {
            shards.push((name, cpus(task.join("status"))));
        }
    }
    shards.sort();
    (cpus(format!("/proc/{pid}/status").into()), shards)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_shard_thread_is_pinned_to_one_core_unless_pin_shards_is_off() {
    for (setting, pinned) in [("", true), ("pin_shards = false\n", false)] {
        let dir = temp_dir();
        let ce = Chatedge::up(dir.path(), &format!("{FAST}\n[dataplane]\nshards = 2\n{setting}"));
        let (process, shards) = allowed_cpus(ce.pid());
        assert_eq!(shards.len(), 2, "{shards:?}");
        for (name, cpus) in shards {
            if pinned {
                assert!(cpus.parse::<usize>().is_ok(), "{name} is pinned to one core: {cpus}");
            } else {
                assert_eq!(cpus, process, "{name} may run wherever the process may");
            }
        }
    }
}
