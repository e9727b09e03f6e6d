//! Clients for the edge tests: TLS over TCP (rustls, ALPN h2 or http/1.1) and HTTP/3 (quinn +
//! h3), each trusting one PEM certificate, plus certificate generation (rcgen) and finding the
//! TLS port the way a browser does — from the `Alt-Svc` header of a plain answer.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

/// A certificate for `localhost` and 127.0.0.1 written as PEM to `cert` and `key`.
pub fn write_certificate(cert: &Path, key: &Path) -> Vec<u8> {
    let g = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    std::fs::write(cert, g.cert.pem()).unwrap();
    std::fs::write(key, g.signing_key.serialize_pem()).unwrap();
    g.cert.der().to_vec()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration trusting only the certificates in `pem`, offering `alpn`.
pub fn client_config(pem: &[u8], alpn: &[&[u8]]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut c = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    c
}

/// The UDP (and TLS) port announced by `Alt-Svc: h3=":PORT"` on an answer of `base`.
pub async fn announced_h3_port(base: &str) -> u16 {
    let answer = raw_get_headers(base, "/healthz").await;
    let alt =
        answer.lines().find_map(|l| l.strip_prefix("alt-svc: ")).unwrap_or_else(|| panic!("no Alt-Svc in {answer}"));
    alt.split("h3=\":").nth(1).and_then(|r| r.split('"').next()).and_then(|p| p.parse().ok()).unwrap()
}

/// The status line and headers of `GET path` over plain HTTP/1.1 (lower-case names).
pub async fn raw_get_headers(base: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    text.split("\r\n\r\n").next().unwrap().to_lowercase().replace("\r\n", "\n")
}

/// A TLS connection to 127.0.0.1:`port` as `localhost`: the stream and the protocol agreed.
pub async fn tls_connect(
    port: u16,
    config: rustls::ClientConfig,
) -> (tokio_rustls::client::TlsStream<TcpStream>, Option<Vec<u8>>) {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tls = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    let alpn = tls.get_ref().1.alpn_protocol().map(|p| p.to_vec());
    (tls, alpn)
}

/// The leaf certificate the server presented on `tls`.
pub fn presented(tls: &tokio_rustls::client::TlsStream<TcpStream>) -> Vec<u8> {
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// A request sender over an HTTP/1.1 connection (kept open by its driver task).
pub async fn h1(
    tls: tokio_rustls::client::TlsStream<TcpStream>,
) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.unwrap();
    tokio::spawn(conn); // ends with the connection
    send
}

/// A request sender over an h2 connection (kept open by its driver task).
pub async fn h2(
    tls: tokio_rustls::client::TlsStream<TcpStream>,
) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await.unwrap();
    tokio::spawn(conn); // ends with the connection
    send
}

/// Status, `Alt-Svc` and body of an answer.
pub async fn answer(res: hyper::Response<hyper::body::Incoming>) -> (u16, Option<String>, Bytes) {
    let status = res.status().as_u16();
    let alt = res.headers().get("alt-svc").map(|v| v.to_str().unwrap().to_owned());
    (status, alt, res.into_body().collect().await.unwrap().to_bytes())
}

pub fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path).header("host", "localhost").body(Full::new(Bytes::new())).unwrap()
}

/// One HTTP/3 request to 127.0.0.1:`port` (as `localhost`) trusting `pem`: status, body.
pub async fn h3_request(port: u16, pem: &[u8], method: &str, path: &str, body: Vec<u8>) -> (u16, Bytes) {
    let mut conn = H3Connection::open(port, pem).await;
    let answer = conn.request(method, path, body).await;
    conn.close();
    answer
}

/// An HTTP/3 connection of its own (its own UDP socket) to 127.0.0.1:`port`, kept open for
/// as many requests as a test sends on it.
pub struct H3Connection {
    port: u16,
    endpoint: quinn::Endpoint,
    sender: h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>,
    drive: tokio::task::JoinHandle<h3::error::ConnectionError>,
}

impl H3Connection {
    pub async fn open(port: u16, pem: &[u8]) -> H3Connection {
        let mut tls = client_config(pem, &[b"h3"]);
        tls.enable_early_data = false;
        let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
        let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let conn = endpoint.connect(addr, "localhost").unwrap().await.unwrap();
        let (mut driver, sender) = h3::client::new(h3_quinn::Connection::new(conn)).await.unwrap();
        let drive = tokio::spawn(async move { std::future::poll_fn(|cx| driver.poll_close(cx)).await });
        H3Connection { port, endpoint, sender, drive }
    }

    /// Status and body of one request.
    pub async fn request(&mut self, method: &str, path: &str, body: Vec<u8>) -> (u16, Bytes) {
        let req = Request::builder()
            .method(method)
            .uri(format!("https://localhost:{}{path}", self.port))
            .header("content-type", "application/json")
            .body(())
            .unwrap();
        let mut stream = self.sender.send_request(req).await.unwrap();
        // A server that answers without the body (a refusal, a GET) may ask us to stop sending
        // with H3_NO_ERROR (RFC 9114 §4.1): the answer still comes, so send errors are not fatal.
        if !body.is_empty() {
            let _ = stream.send_data(Bytes::from(body)).await;
        }
        let _ = stream.finish().await;
        let res = stream.recv_response().await.unwrap();
        let mut out = Vec::new();
        while let Some(mut chunk) = stream.recv_data().await.unwrap() {
            while chunk.has_remaining() {
                let n = chunk.chunk().len();
                out.extend_from_slice(chunk.chunk());
                chunk.advance(n);
            }
        }
        (res.status().as_u16(), Bytes::from(out))
    }

    pub fn close(self) {
        drop(self.sender);
        self.drive.abort();
        self.endpoint.close(0u32.into(), b"done");
    }
}
