//! h3: HTTP/3 over QUIC (quinn + h3) on the TLS port's number over UDP, serving the very
//! handler the TCP listeners serve — its request body is the stream's receive half, read
//! only when the handler reads it. It owns the QUIC endpoint and one task per connection
//! (plus one per request, owned by that connection's task); the same gate, idle, header and
//! write limits apply as on TCP. 0-RTT is off (tls.rs). Runs on the planes' runtime.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use hyper::header::{CONNECTION, TRANSFER_ENCODING, UPGRADE};
use hyper::{Request, Response};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::body::{Body, H3Body};
use crate::conn::{Activity, InFlight};
use crate::limits::{Limits, Slot};
use crate::shutdown::{stopped, Connections};
use crate::tls::{Tls, TlsError};
use crate::ServeOptions;

/// HTTP/3's "no error" code (RFC 9114 §8.1), used when closing an idle or draining connection.
const H3_NO_ERROR: u32 = 0x100;

/// A QUIC endpoint bound to `addr` (UDP) with `tls`'s certificate.
pub fn endpoint(tls: &Tls, addr: SocketAddr, limits: &Limits) -> Result<quinn::Endpoint, TlsError> {
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(tls.quic()?));
    let mut transport = quinn::TransportConfig::default();
    transport.max_concurrent_bidi_streams(limits.max_streams_per_connection.into());
    // QUIC's own idle timeout catches a silent peer; `Activity` closes one that only pings.
    if let Ok(idle) = quinn::IdleTimeout::try_from(limits.idle_timeout) {
        transport.max_idle_timeout(Some(idle));
    }
    server.transport_config(Arc::new(transport));
    quinn::Endpoint::server(server, addr).map_err(|e| TlsError::Config(format!("cannot bind UDP {addr}: {e}")))
}

/// Serves HTTP/3 on `endpoint` until `shutdown`, then stops accepting and drains.
pub async fn serve_h3<H, F, B>(
    endpoint: quinn::Endpoint,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
    opts: ServeOptions,
) where
    H: Fn(Request<Body>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let mut connections = Connections::new();
    loop {
        let incoming = tokio::select! {
            i = endpoint.accept() => match i {
                Some(i) => i,
                None => break,
            },
            _ = stopped(&mut shutdown) => break,
        };
        let peer = incoming.remote_address();
        let slot = match opts.gate.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                opts.refused(refusal.reason());
                incoming.refuse();
                continue;
            }
        };
        connections.spawn(connection(incoming, peer, slot, handler.clone(), opts.clone(), shutdown.clone()));
    }
    endpoint.set_server_config(None); // refuse new connections while the open ones drain
    connections.drain(opts.limits.drain_timeout).await;
    endpoint.close(H3_NO_ERROR.into(), b"shutting down");
    let _ = tokio::time::timeout(opts.limits.drain_timeout, endpoint.wait_idle()).await;
}

async fn connection<H, F, B>(
    incoming: quinn::Incoming,
    peer: SocketAddr,
    slot: Slot,
    handler: H,
    opts: ServeOptions,
    mut shutdown: watch::Receiver<bool>,
) where
    H: Fn(Request<Body>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let limits = opts.limits;
    let quic = match tokio::time::timeout(limits.header_read_timeout, incoming).await {
        Ok(Ok(c)) => c,
        Ok(Err(_)) => return opts.refused("tls_handshake"),
        Err(_) => return opts.refused("header_timeout"),
    };
    let built = h3::server::builder()
        .max_field_section_size(limits.max_header_bytes as u64)
        .build::<_, Bytes>(h3_quinn::Connection::new(quic.clone()))
        .await;
    let Ok(mut h3) = built else { return };
    let activity = Activity::new();
    let mut requests = JoinSet::new();
    loop {
        let deadline = activity.idle_deadline(limits.idle_timeout);
        tokio::select! {
            accepted = h3.accept() => match accepted {
                Ok(Some(resolver)) => {
                    while requests.try_join_next().is_some() {}
                    let task = request(resolver, peer, handler.clone(), activity.begin(), limits);
                    requests.spawn(task); // owned by this connection's task; aborted with it
                }
                Ok(None) | Err(_) => break,
            },
            _ = tokio::time::sleep_until(deadline) => {
                if activity.is_idle(limits.idle_timeout) {
                    opts.refused("idle_timeout");
                    break;
                }
            }
            _ = stopped(&mut shutdown) => {
                let _ = h3.shutdown(0).await; // GOAWAY: no new requests on this connection
                break;
            }
        }
    }
    while requests.join_next().await.is_some() {}
    if activity.write_timed_out.load(std::sync::atomic::Ordering::Relaxed) {
        opts.refused("write_timeout");
    }
    quic.close(H3_NO_ERROR.into(), b"");
    drop(slot);
}

type Resolver = h3::server::RequestResolver<h3_quinn::Connection, Bytes>;

/// One request: headers within the header read timeout, the handler, then the answer, each
/// write bounded by the write timeout.
async fn request<H, F, B>(resolver: Resolver, peer: SocketAddr, handler: H, in_flight: InFlight, limits: Limits)
where
    H: Fn(Request<Body>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let Ok(Ok((req, stream))) = tokio::time::timeout(limits.header_read_timeout, resolver.resolve_request()).await
    else {
        return;
    };
    let (mut send, recv) = stream.split();
    let res = handler(req.map(|()| Body::H3(Box::new(H3Body::new(recv)))), peer).await;
    let (mut parts, body) = res.into_parts();
    for hop_by_hop in [CONNECTION, TRANSFER_ENCODING, UPGRADE] {
        parts.headers.remove(hop_by_hop); // forbidden in HTTP/3 (RFC 9114 §4.2)
    }
    let write = async {
        send.send_response(Response::from_parts(parts, ())).await.ok()?;
        let mut body = std::pin::pin!(body);
        while let Some(frame) = body.frame().await {
            if let Ok(mut data) = frame.ok()?.into_data() {
                send.send_data(data.copy_to_bytes(data.remaining())).await.ok()?;
            }
        }
        send.finish().await.ok()
    };
    if tokio::time::timeout(limits.write_timeout, write).await.is_err() {
        in_flight.write_timed_out();
    }
}
