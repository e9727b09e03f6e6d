//! Shutdown (issue 11 §5): SIGTERM stops every listener — plain TCP, TLS and QUIC — lets a
//! request in flight finish, and exits 0; a second signal exits at once, and every message
//! acknowledged before it is still queued after a restart.

use crate::common;
use crate::edge_support;

use std::time::Duration;

use common::faults::{queue_listing, restart};
use common::*;
use edge_support::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn config() -> String {
    format!("{FAST}\n[tls]\nself_signed = true\nlisten = \"127.0.0.1:0\"\n")
}

/// A send provably in flight: its head asked `Expect: 100-continue`, and the server's
/// `100 Continue` shows the handler is reading its body; all but the last body byte are
/// written, which is returned.
async fn held_send(ce: &Chatedge, inst: &Instance, text: &str) -> (TcpStream, u8) {
    let addr = ce.dp.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.unwrap();
    let body = json!({"phone": "5511988887777", "message": text}).to_string().into_bytes();
    let head = format!(
        "POST /instances/{}/token/{}/send-text HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         expect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        inst.id,
        inst.token,
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut continued = vec![0u8; 64];
    let n = s.read(&mut continued).await.unwrap();
    assert!(String::from_utf8_lossy(&continued[..n]).starts_with("HTTP/1.1 100"), "the handler reads the body");
    s.write_all(&body[..body.len() - 1]).await.unwrap();
    (s, body[body.len() - 1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_every_listener_finishes_the_request_in_flight_and_exits_zero() {
    let p = paired(&config()).await;
    let port = announced_h3_port(&p.ce.dp).await;
    let pem = std::fs::read(p.ce.dir.join("dataplane/tls-self-signed.pem")).unwrap();
    assert_eq!(h3_request(port, &pem, "GET", "/healthz", Vec::new()).await.0, 200, "HTTP/3 serves before");
    let (mut in_flight, last) = held_send(&p.ce, &p.inst, "in flight at SIGTERM").await;
    let plain = p.ce.dp.trim_start_matches("http://").to_owned();

    p.ce.sigterm();
    let closed = eventually(PATIENCE, || async {
        (TcpStream::connect(&plain).await.is_err() && TcpStream::connect(("127.0.0.1", port)).await.is_err())
            .then_some(())
    })
    .await;
    assert!(closed.is_some(), "the plain and TLS listeners stop accepting");
    let finished = in_flight.write_all(&[last]).await;
    assert!(finished.is_ok(), "the connection in flight was cut: {finished:?}; log:\n{}", p.ce.log());
    let mut answer = vec![0u8; 2048];
    let n = in_flight.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"), "the request in flight finishes");

    let Paired { ce, dir, .. } = p;
    let status = ce.wait_exit(PATIENCE);
    assert_eq!(status.code(), Some(0), "a clean exit after the drain");
    let quic = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::task::spawn(async move { h3_request(port, &pem, "GET", "/healthz", Vec::new()).await }).await
    })
    .await;
    assert!(!matches!(quic, Ok(Ok(_))), "nothing answers HTTP/3 after the exit");
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once_and_loses_no_acknowledged_message() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config());
    let http = Http::new();
    // Not paired: what is acknowledged stays queued, so the queue shows whether it survived.
    let inst = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &inst).await;
    let mut acked = Vec::new();
    for i in 0..8 {
        let body = json!({"phone": "5511988887777", "message": format!("acknowledged {i}")});
        let (status, v) = http.post(&ce.instance_url(&inst, "send-text"), None, &body).await;
        assert_eq!(status, 200, "{v}");
        acked.push(v["messageId"].as_str().unwrap().to_owned());
    }
    // Holds the drain open: its body never completes, so only a second signal ends it early.
    let (_held, _) = held_send(&ce, &inst, "never finished").await;
    ce.sigterm();
    let draining = eventually(PATIENCE, || async { ce.log().contains("a second signal exits at once").then_some(()) });
    assert!(draining.await.is_some(), "the first signal starts the drain");
    ce.sigterm();
    let log = ce.log();
    let status = ce.wait_exit(PATIENCE);
    assert_eq!(
        status.code(),
        Some(143),
        "the second signal ends the process before the drain does: {status:?}; log:\n{log}"
    );
    let ce = restart(dir.path(), &config()).await;
    let queued: Vec<String> = queue_listing(&http, &ce, &inst).await.into_iter().map(|m| m.message_id).collect();
    for id in &acked {
        assert!(queued.contains(id), "acknowledged message {id} is lost after the restart: {queued:?}");
    }
}
