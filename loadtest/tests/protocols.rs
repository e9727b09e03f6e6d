//! The load tester speaks HTTP/1.1, h2 and HTTP/3 (issue 11 §7), and the baseline server it
//! compares chatedge with speaks each of them too: a short closed-loop send-text run against
//! `chatedge-loadtest baseline-server` on 127.0.0.1 succeeds over every protocol, plain and
//! over TLS, each request carried by the version asked for; a certificate nobody trusted is
//! refused as a TLS error on every protocol.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chatedge_loadtest::baseline::BaselineProcess;
use chatedge_loadtest::client::{uri, CallError, Http, Protocol, Transport};
use chatedge_loadtest::load::{self, Pace};
use chatedge_loadtest::provision::Instance;
use chatedge_loadtest::scenario::send::{bodies, SendText};
use hyper::Version;

const ROUND: Duration = Duration::from_millis(800);
const IN_FLIGHT: u32 = 16;

async fn baseline(tls: bool) -> BaselineProcess {
    let exe = Path::new(env!("CARGO_BIN_EXE_chatedge-loadtest"));
    BaselineProcess::start_from(exe, tls).await.expect("the baseline server starts")
}

fn client(protocol: Protocol, connections: usize) -> Http {
    let transport = Transport { protocol, connections, ..Transport::default() };
    Http::with(&transport, IN_FLIGHT as usize, Duration::from_secs(5)).expect("client")
}

fn instances() -> Vec<Instance> {
    (0..2)
        .map(|i| Instance {
            index: i,
            id: format!("instance{i}"),
            token: format!("token{i}"),
            webhook_secret: None,
            phone: format!("551199999000{i}"),
        })
        .collect()
}

/// One send-text answered over `version`, then a short closed-loop round with no error.
async fn send_round(protocol: Protocol, tls: bool, version: Version) {
    let server = baseline(tls).await;
    let http = client(protocol, 2);
    if let Some(cert) = server.certificate() {
        http.pin(cert.clone()); // as --compare-baseline does: trusted byte for byte, nothing else
    }
    let instances = instances();
    let body = bodies(32)[0].clone();
    let first = uri(server.url(), &instances[0].path("send-text")).expect("url");
    let reply = http.post(first, None, body).await.unwrap_or_else(|e| panic!("{protocol} to {}: {e}", server.url()));
    assert_eq!(reply.version, version, "{protocol} to {}", server.url());
    let answer: serde_json::Value = reply.json().expect("json");
    assert!(answer["messageId"].is_string(), "{answer}");

    let workload = SendText::new(http, server.url(), &instances, bodies(32), None).expect("workload");
    let pace = Pace::Closed { concurrency: IN_FLIGHT, co_interval: None };
    let stats = load::drive(Arc::new(workload), pace, ROUND, &indicatif::ProgressBar::hidden()).await;
    assert_eq!(stats.error_count(), 0, "{protocol}: {:?} {:?}", stats.errors, stats.error_samples);
    assert!(stats.ok >= 50, "{protocol}: only {} sends answered in {ROUND:?}", stats.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_text_over_http1_plain_and_over_tls() {
    send_round(Protocol::Http1, false, Version::HTTP_11).await;
    send_round(Protocol::Http1, true, Version::HTTP_11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_text_over_h2c_and_h2_over_tls() {
    send_round(Protocol::H2, false, Version::HTTP_2).await;
    send_round(Protocol::H2, true, Version::HTTP_2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_text_over_http3() {
    send_round(Protocol::H3, true, Version::HTTP_3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_a_tls_error_on_every_protocol() {
    let server = baseline(true).await;
    let path = instances()[0].path("send-text");
    for protocol in [Protocol::Http1, Protocol::H2, Protocol::H3] {
        let http = client(protocol, 1);
        let err = http
            .post(uri(server.url(), &path).expect("url"), None, bodies(8)[0].clone())
            .await
            .expect_err("the baseline's certificate was never trusted");
        assert!(matches!(err, CallError::Tls(_)), "{protocol}: {err}");
        assert!(err.to_string().contains("--insecure"), "{protocol}: the message names the fix: {err}");
    }
}
