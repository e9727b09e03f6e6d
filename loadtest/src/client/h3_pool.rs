//! h3: the HTTP/3 engine — `--connections` QUIC connections per https:// origin ([`Slots`]),
//! to the origin's host and port number over UDP (where chatedge serves HTTP/3: its TLS
//! port's number), many concurrent request streams on each. Each connection has its own UDP
//! socket (quinn endpoint), as each TCP connection has its own socket, and its own driver
//! task, aborted when the last handle to the connection is dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use hyper::{Request, StatusCode};
use tokio::task::JoinHandle;

use super::error::{self, CallError};
use super::protocol::Origin;
use super::slots::{Multiplexed, Slots};
use super::trust::{Trust, TrustError};
use super::{Parts, MAX_RESPONSE_BYTES};

type Sender = h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>;
type Stream = h3::client::RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>;

/// Pings an idle connection this often, so QUIC's idle timeout (30 s by default) does not
/// close it while a run waits between rounds; the server still closes it after its own
/// idle timeout, and the slot then reconnects.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// How long [`Pool::close`] waits, in all, for the endpoints to send their closes.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Aborts a connection's driver task when the last handle to the connection goes.
struct Driver(JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Clone)]
struct Conn {
    quic: quinn::Connection,
    sender: Sender,
    _driver: Arc<Driver>,
    /// Kept for the connection's life; [`Pool::close`] waits on it.
    endpoint: quinn::Endpoint,
}

impl Multiplexed for Conn {
    fn is_open(&self) -> bool {
        self.quic.close_reason().is_none()
    }
}

/// The HTTP/3 connections of one client.
pub struct Pool {
    slots: Slots<Conn>,
    config: quinn::ClientConfig,
}

impl Pool {
    pub fn new(connections: usize, trust: &Arc<Trust>) -> Result<Pool, TrustError> {
        let mut config = quinn::ClientConfig::new(Arc::new(trust.quic()?));
        let mut transport = quinn::TransportConfig::default();
        transport.keep_alive_interval(Some(KEEP_ALIVE));
        config.transport_config(Arc::new(transport));
        Ok(Pool { slots: Slots::new(connections), config })
    }

    /// Sends `req` (an absolute https:// URI) on the next connection of its origin: status and
    /// body (at most [`MAX_RESPONSE_BYTES`]).
    pub async fn request(&self, req: Request<Parts>) -> Result<(StatusCode, Bytes), CallError> {
        let origin = Origin::of(req.uri()).map_err(CallError::Connect)?;
        let mut conn = self.slots.get(&origin, || self.connect(&origin)).await?;
        let (head, body) = req.into_parts();
        let mut stream =
            conn.sender.send_request(Request::from_parts(head, ())).await.map_err(|e| error::h3_stream(&e))?;
        // A server that answers before reading the whole body may stop our sending with
        // H3_NO_ERROR (RFC 9114 §4.1): its answer still comes, so it decides the outcome.
        let sent = send_body(&mut stream, body).await;
        let res = match stream.recv_response().await {
            Ok(res) => res,
            Err(e) => return Err(sent.err().unwrap_or_else(|| error::h3_stream(&e))),
        };
        Ok((res.status(), read_body(&mut stream).await?))
    }

    /// Closes every connection (QUIC `CONNECTION_CLOSE`, code 0) and waits, at most
    /// [`CLOSE_WAIT`] in all, until each endpoint has sent it: a run that just exits leaves
    /// the server counting its connections until their idle timeout.
    pub async fn close(&self) {
        let conns = self.slots.take_all().await;
        for c in &conns {
            c.quic.close(0u32.into(), b"run over");
        }
        let all_sent = async {
            for c in &conns {
                c.endpoint.wait_idle().await;
            }
        };
        let _ = tokio::time::timeout(CLOSE_WAIT, all_sent).await;
    }

    async fn connect(&self, origin: &Origin) -> Result<Conn, CallError> {
        let addr = resolve(origin).await?;
        let local: SocketAddr = if addr.is_ipv6() { ([0u16; 8], 0).into() } else { ([0, 0, 0, 0], 0).into() };
        let endpoint = quinn::Endpoint::client(local).map_err(|e| CallError::Connect(format!("UDP socket: {e}")))?;
        let connecting = endpoint
            .connect_with(self.config.clone(), addr, &origin.host)
            .map_err(|e| CallError::Connect(format!("QUIC: {e}")))?;
        let quic = connecting.await.map_err(|e| error::quic_connect(&e))?;
        let (mut driver, sender) = h3::client::new(h3_quinn::Connection::new(quic.clone()))
            .await
            .map_err(|e| CallError::Connect(format!("HTTP/3 handshake: {e}")))?;
        // Owned by the connection's handles (`Driver` aborts it when the last one goes); it
        // ends on its own when the connection closes.
        let task = tokio::spawn(async move {
            let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
        });
        Ok(Conn { quic, sender, _driver: Arc::new(Driver(task)), endpoint })
    }
}

async fn resolve(origin: &Origin) -> Result<SocketAddr, CallError> {
    let mut addrs = tokio::net::lookup_host((origin.host.as_str(), origin.port))
        .await
        .map_err(|e| CallError::Connect(format!("{}: {e}", origin.host)))?;
    addrs.next().ok_or_else(|| CallError::Connect(format!("{}: no address", origin.host)))
}

async fn send_body(stream: &mut Stream, body: Parts) -> Result<(), CallError> {
    let mut body = std::pin::pin!(body);
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            stream.send_data(data).await.map_err(|e| error::h3_stream(&e))?;
        }
    }
    stream.finish().await.map_err(|e| error::h3_stream(&e))
}

async fn read_body(stream: &mut Stream) -> Result<Bytes, CallError> {
    let mut out = bytes::BytesMut::new();
    while let Some(mut chunk) = stream.recv_data().await.map_err(|e| error::h3_stream(&e))? {
        if out.len() + chunk.remaining() > MAX_RESPONSE_BYTES {
            return Err(CallError::BadResponse(format!("response body over {MAX_RESPONSE_BYTES} bytes")));
        }
        while chunk.has_remaining() {
            let n = chunk.chunk().len();
            out.extend_from_slice(chunk.chunk());
            chunk.advance(n);
        }
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use chatedge_serve::tls::{CertSource, Tls};

    use super::*;

    /// A QUIC server on loopback with a generated certificate: its endpoint and address.
    fn quic_server() -> (quinn::Endpoint, SocketAddr) {
        let tls = Tls::load(CertSource::SelfSigned).expect("certificate");
        let config = quinn::ServerConfig::with_crypto(Arc::new(tls.quic().expect("quic config")));
        let endpoint = quinn::Endpoint::server(config, ([127, 0, 0, 1], 0).into()).expect("bind");
        let addr = endpoint.local_addr().expect("addr");
        (endpoint, addr)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closing_the_pool_tells_the_server_at_once_instead_of_leaving_it_to_the_idle_timeout() {
        let (server, addr) = quic_server();
        let pool = Pool::new(1, &Arc::new(Trust::new(true, None).expect("trust"))).expect("pool");
        let origin = Origin { tls: true, host: "127.0.0.1".into(), port: addr.port() };
        let (conn, accepted) = tokio::join!(pool.slots.get(&origin, || pool.connect(&origin)), async {
            server.accept().await.expect("incoming").await.expect("handshake")
        });
        assert!(conn.expect("connected").is_open());

        pool.close().await;
        // Without the close the server would hear nothing until QUIC's idle timeout (30 s).
        let reason = tokio::time::timeout(Duration::from_secs(10), accepted.closed()).await.expect("closed promptly");
        match reason {
            quinn::ConnectionError::ApplicationClosed(close) => assert_eq!(close.error_code, 0u32.into()),
            other => panic!("closed for another reason: {other}"),
        }
    }
}
