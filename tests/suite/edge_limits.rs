//! The edge's limits (issue 11 §2): an oversized body, too many or too large headers, a client
//! sending a byte at a time, a client that never reads, an idle h2 connection that answers
//! pings (while an idle kept-alive HTTP/1.1 connection lives until the idle timeout, not the
//! header read timeout), a flood of connections from one address, and an integrator call with a bad token
//! are each refused or closed (with a clear error where HTTP allows one, and a count in
//! `chatedge_dp_refusals_total{reason}`), while a normal client keeps being served; an h2
//! connection is told how many streams it may open.

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Short limits, so each case is over quickly; `extra` adds `[limits]` keys.
fn config(extra: &str) -> String {
    let header = if extra.contains("header_read_timeout") { "" } else { "header_read_timeout = \"500ms\"\n" };
    format!(
        "{FAST}\n[dataplane]\nrequest_timeout_ms = 20000\n[limits]\nmax_body_bytes = 4096\nwrite_timeout = \"1s\"\n\
         {header}{extra}"
    )
}

fn addr(ce: &Chatedge) -> String {
    ce.dp.trim_start_matches("http://").to_owned()
}

/// A connection from another loopback address than the normal client's (127.0.0.1).
async fn connect_from(ip: [u8; 4], to: &str) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind((ip, 0).into())?;
    socket.connect(to.parse().unwrap()).await
}

/// Everything the server sends until it closes (or `PATIENCE` passes: then `None`).
async fn until_closed(s: &mut TcpStream) -> Option<String> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 65536];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.ok().map(|()| String::from_utf8_lossy(&out).into_owned())
}

async fn refusals(http: &Http, ce: &Chatedge, reason: &str) -> f64 {
    common::metrics::sum(http, &ce.dp, "chatedge_dp_refusals_total", &format!("reason=\"{reason}\"")).await
}

async fn counted(http: &Http, ce: &Chatedge, reason: &str) {
    let seen = eventually(PATIENCE, || async { (refusals(http, ce, reason).await >= 1.0).then_some(()) }).await;
    assert!(seen.is_some(), "no refusal counted for {reason}");
}

async fn healthy(http: &Http, ce: &Chatedge) {
    assert_eq!(http.get(&format!("{}/healthz", ce.dp), None).await.0, 200, "a normal client is served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_a_413_and_too_many_or_too_large_headers_a_431() {
    let p = paired(&config("")).await;
    let big = serde_json::json!({"phone": "5511988887777", "message": "x".repeat(5000)});
    let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, "send-text"), None, &big).await;
    assert_eq!(status, 413, "{v}");
    assert!(v["message"].as_str().unwrap_or_default().contains("4096"), "the error names the limit: {v}");

    for headers in [
        (0..150).map(|i| format!("x-h{i}: v\r\n")).collect::<String>(),
        format!("x-big: {}\r\n", "a".repeat(70 * 1024)),
    ] {
        let mut s = TcpStream::connect(addr(&p.ce)).await.unwrap();
        let req = format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{headers}\r\n");
        let _ = s.write_all(req.as_bytes()).await;
        let answer = until_closed(&mut s).await.expect("the server closes the connection");
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    }
    counted(&p.http, &p.ce, "header_too_large").await;
    healthy(&p.http, &p.ce).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_a_byte_at_a_time_is_cut_off_while_others_are_served() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config(""));
    let http = Http::new();
    let mut slow = TcpStream::connect(addr(&ce)).await.unwrap();
    let dripping = tokio::spawn(async move {
        for b in b"GET /healthz HTTP/1.1\r\nhost: slow.example\r\nx-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*b]).await.is_err() {
                return true; // the server closed it
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, slow.read_to_end(&mut rest)).await;
        !rest.starts_with(b"HTTP/1.1 200")
    });
    healthy(&http, &ce).await;
    assert!(dripping.await.unwrap(), "the dripping client was never answered 200");
    counted(&http, &ce, "header_timeout").await;
    healthy(&http, &ce).await;
}

/// One HTTP/1.1 answer read off `s`: its head and `content-length` bytes of body.
async fn one_answer(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
        let n = tokio::time::timeout(PATIENCE, s.read(&mut buf)).await.expect("an answer in time").unwrap();
        assert!(n > 0, "closed before the answer: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_outlives_the_header_read_timeout_and_the_idle_timeout_closes_it() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config("idle_timeout = \"3s\"\n"));
    let http = Http::new();
    let mut s = TcpStream::connect(addr(&ce)).await.unwrap();
    let get = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";
    s.write_all(get).await.unwrap();
    assert!(one_answer(&mut s).await.starts_with("HTTP/1.1 200"));
    // Idle for three header read timeouts (500 ms): no head was begun, so nothing was late.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.write_all(get).await.unwrap();
    let again = one_answer(&mut s).await;
    assert!(again.starts_with("HTTP/1.1 200"), "the kept-alive connection still serves: {again}");
    assert_eq!(refusals(&http, &ce, "header_timeout").await, 0.0);
    assert!(until_closed(&mut s).await.is_some(), "the idle timeout closes it");
    // A new client: the first one's pooled connection (the metrics read above) has been idle
    // about as long as `s` and is being closed by the same timeout; reusing it would race that.
    counted(&Http::new(), &ce, "idle_timeout").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_disconnected_by_the_write_timeout() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config(""));
    let http = Http::new();
    let mut greedy = TcpStream::connect(addr(&ce)).await.unwrap();
    // Pipelined requests for a large document, never read: the answers fill both socket
    // buffers and the server's write blocks.
    let req = "GET /openapi.json HTTP/1.1\r\nhost: x\r\n\r\n".repeat(2000);
    let writer = tokio::spawn(async move {
        let _ = greedy.write_all(req.as_bytes()).await;
        greedy // kept open and unread until the end of the test
    });
    counted(&http, &ce, "write_timeout").await;
    healthy(&http, &ce).await;
    writer.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_h2_connection_is_closed_even_though_it_answers_pings() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config("idle_timeout = \"1s\"\n"));
    let http = Http::new();
    let tcp = TcpStream::connect(addr(&ce)).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_millis(100))
        .keep_alive_while_idle(true)
        .handshake::<_, Full<Bytes>>(TokioIo::new(tcp))
        .await
        .unwrap();
    let driver = tokio::spawn(conn);
    let req = hyper::Request::get("/healthz").body(Full::new(Bytes::new())).unwrap();
    assert_eq!(send.send_request(req).await.unwrap().status(), 200);
    let closed = tokio::time::timeout(PATIENCE, driver).await;
    assert!(closed.is_ok(), "the idle h2 connection is still open");
    counted(&http, &ce, "idle_timeout").await;
    healthy(&http, &ce).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_from_one_address_is_refused_while_other_addresses_are_served() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config("max_connections_per_ip = 8\nheader_read_timeout = \"30s\"\n"));
    let http = Http::new();
    let to = addr(&ce);
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..300 {
        let Ok(s) = connect_from([127, 0, 0, 2], &to).await else { continue };
        held.push(s);
    }
    for s in held.iter_mut() {
        let mut buf = [0u8; 512];
        // A refused connection is answered 503 and closed at once; an admitted one waits.
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(20), s.read(&mut buf)).await {
            if String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 503") {
                refused += 1;
            }
        }
    }
    assert!(refused >= 250, "only {refused} of 300 flooding connections were refused");
    healthy(&http, &ce).await;
    counted(&http, &ce, "connections_per_ip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_integrator_call_with_a_bad_token_is_refused_before_its_body_is_read() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config(""));
    for auth in ["authorization: Bearer not-the-integrator-token-at-all\r\n", ""] {
        let mut s = TcpStream::connect(addr(&ce)).await.unwrap();
        // Announces a 1 MiB body and sends none of it: only an answer that did not wait for
        // the body can arrive.
        let head = format!(
            "POST /instances/integrator/on-demand HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             {auth}content-length: 1048576\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(PATIENCE, s.read(&mut buf)).await.expect("answered without the body").unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{auth:?}: {answer}");
    }
    let http = Http::new();
    counted(&http, &ce, "integrator_unauthorized").await;
    let (status, v) = http
        .post(
            &format!("{}/instances/integrator/on-demand", ce.dp),
            Some(&ce.integrator_token),
            &serde_json::json!({"name": "ok"}),
        )
        .await;
    assert_eq!(status, 200, "the right token still creates through the data plane: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2_client_is_told_the_configured_stream_limit() {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;

    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config("max_streams_per_connection = 3\n"));
    let tcp = TcpStream::connect(addr(&ce)).await.unwrap();
    let (client, mut conn) = h2::client::handshake(tcp).await.unwrap();
    let mut client = client.ready().await.unwrap();
    let req = hyper::Request::get(format!("{}/healthz", ce.dp)).body(()).unwrap();
    let (mut response, _) = client.send_request(req, true).unwrap();
    // Drive the connection until the answer arrives: by then the server's SETTINGS are read.
    let status = std::future::poll_fn(|cx| {
        if let Poll::Ready(ended) = Pin::new(&mut conn).poll(cx) {
            return Poll::Ready(Err(format!("the connection ended first: {ended:?}")));
        }
        Pin::new(&mut response).poll(cx).map(|r| r.map(|r| r.status().as_u16()).map_err(|e| e.to_string()))
    })
    .await;
    assert_eq!(status, Ok(200));
    assert_eq!(conn.max_concurrent_send_streams(), 3, "SETTINGS_MAX_CONCURRENT_STREAMS is the configured limit");
}
