//! h2: the HTTP/2 engine — `--connections` connections per origin ([`Slots`]), many
//! concurrent streams on each; prior knowledge (h2c) on http:// origins, TLS with ALPN h2 on
//! https:// ones (a server that does not agree to h2 is a TLS error, not a silent HTTP/1.1).
//! Each connection is driven by its own task, which ends when the connection closes or when
//! every handle to it is gone (its slot replaced, the client dropped).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::client::conn::http2;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::error::{self, CallError};
use super::protocol::Origin;
use super::slots::{Multiplexed, Slots};
use super::trust::{Trust, TrustError};
use super::Parts;

#[derive(Clone)]
struct Conn(http2::SendRequest<Parts>);

impl Multiplexed for Conn {
    fn is_open(&self) -> bool {
        !self.0.is_closed()
    }
}

/// The HTTP/2 connections of one client.
pub struct Pool {
    slots: Slots<Conn>,
    tls: TlsConnector,
}

impl Pool {
    pub fn new(connections: usize, trust: &Arc<Trust>) -> Result<Pool, TrustError> {
        let tls = TlsConnector::from(Arc::new(trust.tcp(&[b"h2"])?));
        Ok(Pool { slots: Slots::new(connections), tls })
    }

    /// Sends `req` (an absolute URI) on the next connection of its origin.
    pub async fn request(&self, req: Request<Parts>) -> Result<Response<Incoming>, CallError> {
        let origin = Origin::of(req.uri()).map_err(CallError::Connect)?;
        let Conn(mut sender) = self.slots.get(&origin, || self.connect(&origin)).await?;
        sender.ready().await.map_err(|e| error::h2_request(&e))?;
        sender.send_request(req).await.map_err(|e| error::h2_request(&e))
    }

    async fn connect(&self, origin: &Origin) -> Result<Conn, CallError> {
        let tcp = TcpStream::connect((origin.host.as_str(), origin.port)).await.map_err(|e| error::connect(&e))?;
        let _ = tcp.set_nodelay(true);
        if !origin.tls {
            return handshake(tcp).await;
        }
        let name = ServerName::try_from(origin.host.clone()).map_err(|e| CallError::Tls(e.to_string()))?;
        let tls = self.tls.connect(name, tcp).await.map_err(|e| error::connect(&e))?;
        match tls.get_ref().1.alpn_protocol() {
            Some(b"h2") => handshake(tls).await,
            other => Err(CallError::Tls(format!(
                "the server did not agree to h2 by ALPN (it chose {})",
                other.map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_else(|| "nothing".into())
            ))),
        }
    }
}

async fn handshake<S>(io: S) -> Result<Conn, CallError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| CallError::Connect(format!("HTTP/2 handshake: {}", error::source_chain(&e))))?;
    // Ends when the connection closes, or once every SendRequest to it has been dropped.
    tokio::spawn(connection);
    Ok(Conn(sender))
}
