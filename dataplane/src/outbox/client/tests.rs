use std::convert::Infallible;
use std::net::TcpListener as StdListener;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use chatedge_config::Config;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::*;

fn cfg(toml: &str) -> WebhooksConfig {
    Config::parse(toml).unwrap().webhooks
}

fn post(url: &str) -> Request<Full<Bytes>> {
    Request::post(url).body(Full::new(Bytes::from_static(b"{}"))).unwrap()
}

/// A listener nobody serves: whether anything connected shows in its accept queue.
fn silent_listener() -> (StdListener, u16) {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn nothing_connected(l: &StdListener) -> bool {
    matches!(l.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// A receiver answering every request with `status` (and a Location header), counting them.
async fn receiver(status: StatusCode) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    // Stopped with the test's runtime.
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let mut res = Response::new(Full::new(Bytes::new()));
                    *res.status_mut() = status;
                    res.headers_mut().insert(hyper::header::LOCATION, "/elsewhere".parse().unwrap());
                    async move { Ok::<_, Infallible>(res) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn loopback_is_refused_at_connect_time_by_literal_mapped_literal_and_name_without_a_connection() {
    let client = webhook_client(&cfg("")).unwrap();
    let (listener, port) = silent_listener();
    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        format!("https://localhost:{port}/hook"),
    ] {
        let err = client.request(post(&url)).await.expect_err(&url);
        assert_eq!(refused_class(&err), Some("loopback"), "{url}: {}", describe_failure(&err));
        assert!(describe_failure(&err).contains("loopback"), "{url}: {}", describe_failure(&err));
    }
    assert!(nothing_connected(&listener), "a refused address must never be dialled");
}

#[tokio::test]
async fn private_and_metadata_literals_are_refused_with_their_class() {
    let client = webhook_client(&cfg("[webhooks]\nallow_insecure_loopback = true\n")).unwrap();
    for (url, class) in [
        ("http://10.0.0.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("http://100.64.0.1/", "shared (CGNAT)"),
        ("http://[fd00::1]/", "unique-local"),
        ("http://[64:ff9b::7f00:1]/", "loopback"),
        ("http://[2002:a00:1::1]/", "private"),
    ] {
        let err = client.request(post(url)).await.expect_err(url);
        assert_eq!(refused_class(&err), Some(class), "{url}: {}", describe_failure(&err));
    }
}

#[tokio::test]
async fn allowed_loopback_is_reached_and_redirects_are_answers_not_followed() {
    let client = webhook_client(&cfg("[webhooks]\nallow_insecure_loopback = true\n")).unwrap();
    let (url, seen) = receiver(StatusCode::FOUND).await;
    let res = client.request(post(&format!("{url}/hook"))).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(seen.load(Ordering::SeqCst), 1, "the redirect was not followed");
    let (url, seen) = receiver(StatusCode::OK).await;
    let local = url.replace("127.0.0.1", "localhost");
    assert_eq!(client.request(post(&local)).await.unwrap().status(), StatusCode::OK);
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_allowed_private_network_is_reached_without_opening_loopback() {
    let client = webhook_client(&cfg("[webhooks]\nallow_private = [\"127.0.0.1/32\"]\n")).unwrap();
    let (url, seen) = receiver(StatusCode::OK).await;
    assert_eq!(client.request(post(&url)).await.unwrap().status(), StatusCode::OK);
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    let err = client.request(post("http://127.0.0.2:9/")).await.unwrap_err();
    assert_eq!(refused_class(&err), Some("loopback"));
}

#[tokio::test]
async fn connect_timeout_bounds_a_tls_handshake_that_never_completes() {
    // The receiver accepts the TCP connection and never answers the ClientHello: only a
    // timeout around the whole set-up (not hyper's TCP-only one) ends the attempt.
    let client =
        webhook_client(&cfg("[webhooks]\nallow_insecure_loopback = true\nconnect_timeout = \"200ms\"\n")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Stopped with the test's runtime.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let request = client.request(post(&format!("https://localhost:{port}/hook")));
    let err = tokio::time::timeout(std::time::Duration::from_secs(60), request)
        .await
        .expect("the connect timeout ends the attempt, not the test's own limit")
        .expect_err("nothing answered");
    assert!(describe_failure(&err).contains("timed out"), "{}", describe_failure(&err));
}
