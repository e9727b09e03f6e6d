//! HTTP/3 (issue 11 §1): found through `Alt-Svc`, spoken by a client built on quinn + h3, it
//! serves the same routes with the same answers as HTTP/1.1 — a text sent over it is queued
//! and answered like any other. Its connections are served on the shard threads, one QUIC
//! endpoint on each (issue 11 §7), each serving instances of every shard.

use crate::common;
use crate::edge_placement::{instances_on_both_shards, on_shard};
use crate::edge_support;

use common::*;
use edge_support::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_sent_over_http3_is_answered_like_over_http1() {
    let config = format!("{FAST}\n[tls]\nself_signed = true\nlisten = \"127.0.0.1:0\"\n");
    let p = paired(&config).await;
    let port = announced_h3_port(&p.ce.dp).await;
    let pem = std::fs::read(p.ce.dir.join("dataplane/tls-self-signed.pem")).expect("the generated certificate is kept");

    let path = format!("/instances/{}/token/{}/send-text", p.inst.id, p.inst.token);
    let body = json!({"phone": "5511988887777", "message": "over QUIC"}).to_string().into_bytes();
    let (status, answer) = h3_request(port, &pem, "POST", &path, body).await;
    let over_h3: Value = serde_json::from_slice(&answer).unwrap();
    let (h1_status, over_h1) = p
        .http
        .post(&p.ce.instance_url(&p.inst, "send-text"), None, &json!({"phone": "5511988887777", "message": "over TCP"}))
        .await;
    assert_eq!((status, h1_status), (200, 200), "{over_h3} / {over_h1}");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&over_h3), keys(&over_h1), "the same answer shape on both protocols");
    assert_ne!(over_h3["messageId"], over_h1["messageId"]);

    let (status, _) = h3_request(port, &pem, "GET", "/no/such/route", Vec::new()).await;
    assert_eq!(status, 404, "routing is the same handler's");
    let wrong = format!("/instances/{}/token/wrong/send-text", p.inst.id);
    let (status, _) = h3_request(port, &pem, "POST", &wrong, b"{}".to_vec()).await;
    assert_eq!(status, 401, "credentials are checked the same way");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http3_connections_are_served_on_every_shard_and_each_serves_instances_of_every_shard() {
    let dir = temp_dir();
    let config = format!("{FAST}\n[dataplane]\nshards = 2\n[tls]\nself_signed = true\nlisten = \"127.0.0.1:0\"\n");
    let ce = Chatedge::up(dir.path(), &config);
    let http = Http::new();
    let instances = instances_on_both_shards(&http, &ce).await;
    let port = announced_h3_port(&ce.dp).await;
    let pem = std::fs::read(ce.dir.join("dataplane/tls-self-signed.pem")).expect("the generated certificate is kept");
    let before = [on_shard(&http, &ce, 0).await, on_shard(&http, &ce, 1).await];

    // Sixteen connections, each from a UDP port of its own: the kernel spreads them over the
    // shards' sockets by address (all on one of two: a chance of 1 in 32,768).
    let mut conns = Vec::new();
    for _ in 0..16 {
        conns.push(H3Connection::open(port, &pem).await);
    }
    for (c, conn) in conns.iter_mut().enumerate() {
        for (i, inst) in instances.iter().enumerate() {
            let path = format!("/instances/{}/token/{}/send-text", inst.id, inst.token);
            let body = json!({"phone": format!("551197{c:02}{i:04}"), "message": format!("h3 connection {c}")});
            let (status, answer) = conn.request("POST", &path, body.to_string().into_bytes()).await;
            let v: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
            assert_eq!(status, 200, "connection {c}, instance {i}: {v}");
            assert_eq!(v["zaapId"].as_str().map(str::len), Some(32), "{v}");
        }
    }
    let during = [on_shard(&http, &ce, 0).await, on_shard(&http, &ce, 1).await];
    assert!(during[0] > before[0], "shard 0 serves HTTP/3 connections: {before:?} → {during:?}");
    assert!(during[1] > before[1], "shard 1 serves HTTP/3 connections: {before:?} → {during:?}");
    let (held, was) = (during[0] + during[1], before[0] + before[1]);
    assert!(held >= was + 16.0, "every open HTTP/3 connection is counted: {was} → {held}");

    for conn in conns {
        conn.close();
    }
    let left = eventually(PATIENCE, || async {
        let now = on_shard(&http, &ce, 0).await + on_shard(&http, &ce, 1).await;
        (now <= held - 16.0).then_some(now)
    })
    .await;
    assert!(left.is_some(), "closed HTTP/3 connections leave chatedge_dp_shard_connections");
}
