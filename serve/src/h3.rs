//! h3: HTTP/3 over QUIC (quinn + h3) on the TLS port's number over UDP, serving the very
//! handler the TCP listeners serve — its request body is the stream's receive half, read
//! only when the handler reads it. It owns the QUIC endpoint and one task per connection
//! (plus one per request, owned by that connection's task); the same gate, idle, header and
//! write limits apply as on TCP. 0-RTT is off (tls.rs). Without a placement one endpoint runs
//! on the planes' runtime; with one, each runtime of it runs an endpoint of its own on the same
//! port (`SO_REUSEPORT` sockets, Linux; elsewhere the first socket only), so that HTTP/3's
//! requests stay on the shard threads like the TCP listeners' placed connections.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use hyper::header::{CONNECTION, TRANSFER_ENCODING, UPGRADE};
use hyper::Response;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::body::{Body, H3Body};
use crate::conn::{Activity, InFlight};
use crate::limits::{Limits, Slot};
use crate::placement::Place;
use crate::shutdown::{stopped, Connections};
use crate::tls::{Tls, TlsError};
use crate::{Handler, ServeOptions};

/// HTTP/3's "no error" code (RFC 9114 §8.1), used when closing an idle or draining connection.
const H3_NO_ERROR: u32 = 0x100;

/// An HTTP/3 port: its UDP socket, bound at start so that the port is ours, and the QUIC
/// configuration every endpoint serving it shares.
pub struct H3Port {
    socket: std::net::UdpSocket,
    quic: Quic,
}

struct Quic {
    server: quinn::ServerConfig,
    /// One for all the port's endpoints: the same stateless-reset key, so a reset from any of
    /// them is one the client recognises.
    endpoint: quinn::EndpointConfig,
}

/// Binds UDP `addr` for HTTP/3 with `tls`'s certificate.
pub fn bind(tls: &Tls, addr: SocketAddr, limits: &Limits) -> Result<H3Port, TlsError> {
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(tls.quic()?));
    let mut transport = quinn::TransportConfig::default();
    transport.max_concurrent_bidi_streams(limits.max_streams_per_connection.into());
    // QUIC's own idle timeout catches a silent peer; `Activity` closes one that only pings.
    if let Ok(idle) = quinn::IdleTimeout::try_from(limits.idle_timeout) {
        transport.max_idle_timeout(Some(idle));
    }
    server.transport_config(Arc::new(transport));
    let socket = udp_socket(addr).map_err(|e| TlsError::Config(format!("cannot bind UDP {addr}: {e}")))?;
    Ok(H3Port { socket, quic: Quic { server, endpoint: quinn::EndpointConfig::default() } })
}

/// A UDP socket on `addr` that later sockets of this process may share (`SO_REUSEPORT`, on
/// Linux): the kernel then spreads peers over the sockets by address, and a peer's packets
/// always reach the same one.
fn udp_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::DGRAM, None)?;
    #[cfg(target_os = "linux")]
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

impl Quic {
    /// A QUIC endpoint on `socket`, driven by the runtime of the calling context.
    fn endpoint(&self, socket: std::net::UdpSocket) -> std::io::Result<quinn::Endpoint> {
        let runtime = Arc::new(quinn::TokioRuntime);
        quinn::Endpoint::new(self.endpoint.clone(), Some(self.server.clone()), socket, runtime)
    }
}

/// `socket` for the first place and, for every other place, one more socket on its address.
/// A socket that cannot be added leaves its place out (logged): fewer threads serve HTTP/3.
fn spread(socket: std::net::UdpSocket, places: Vec<Place>) -> Vec<(std::net::UdpSocket, Place)> {
    let mut places = places.into_iter();
    let Some(first) = places.next() else { return Vec::new() };
    let addr = socket.local_addr();
    let mut paired = vec![(socket, first)];
    for place in places {
        match addr.as_ref().map_err(|e| e.kind().into()).and_then(|addr| udp_socket(*addr)) {
            Ok(socket) => paired.push((socket, place)),
            Err(e) => tracing::warn!(error = %e, "HTTP/3 serves on fewer threads: cannot add a socket"),
        }
    }
    paired
}

/// Serves HTTP/3 on `port` until `shutdown`, then stops accepting and drains. With a
/// placement, every runtime of it runs an endpoint of its own on the port (the kernel spreads
/// peers over their sockets), so that a request, the work it asks of that thread and the
/// answer stay on one thread, as the TCP listeners' placed connections do; without one, one
/// endpoint runs here.
pub async fn serve_h3<H>(port: H3Port, handler: H, shutdown: watch::Receiver<bool>, opts: ServeOptions)
where
    H: Handler<Body>,
{
    let H3Port { socket, quic } = port;
    let Some(placement) = opts.placement.clone() else {
        match quic.endpoint(socket) {
            Ok(endpoint) => serve_endpoint(endpoint, None, handler, shutdown, opts).await,
            Err(e) => tracing::error!(error = %e, "HTTP/3 endpoint failed to start"),
        }
        return;
    };
    let mut endpoints = JoinSet::new();
    for (socket, place) in spread(socket, placement.each()) {
        let runtime = place.runtime.clone();
        let endpoint = {
            let _inside = runtime.enter(); // the endpoint's driver and socket belong to that runtime
            quic.endpoint(socket)
        };
        match endpoint {
            Ok(endpoint) => {
                let serving = serve_endpoint(endpoint, Some(place), handler.clone(), shutdown.clone(), opts.clone());
                endpoints.spawn_on(serving, &runtime);
            }
            Err(e) => tracing::error!(error = %e, "HTTP/3 endpoint failed to start"),
        }
    }
    while endpoints.join_next().await.is_some() {}
}

/// One endpoint's accept loop, on the runtime it runs on; `place` counts its connections.
async fn serve_endpoint<H>(
    endpoint: quinn::Endpoint,
    place: Option<Place>,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
    opts: ServeOptions,
) where
    H: Handler<Body>,
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
        let open = place.as_ref().map(Place::open);
        let task = connection(incoming, peer, slot, handler.clone(), opts.clone(), shutdown.clone());
        connections.spawn(async move {
            task.await;
            drop(open);
        });
    }
    endpoint.set_server_config(None); // refuse new connections while the open ones drain
    connections.drain(opts.limits.drain_timeout).await;
    endpoint.close(H3_NO_ERROR.into(), b"shutting down");
    let _ = tokio::time::timeout(opts.limits.drain_timeout, endpoint.wait_idle()).await;
}

async fn connection<H>(
    incoming: quinn::Incoming,
    peer: SocketAddr,
    slot: Slot,
    handler: H,
    opts: ServeOptions,
    mut shutdown: watch::Receiver<bool>,
) where
    H: Handler<Body>,
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
async fn request<H>(resolver: Resolver, peer: SocketAddr, handler: H, in_flight: InFlight, limits: Limits)
where
    H: Handler<Body>,
{
    let Ok(Ok((req, stream))) = tokio::time::timeout(limits.header_read_timeout, resolver.resolve_request()).await
    else {
        return;
    };
    let (mut send, recv) = stream.split();
    let res = handler.call(req.map(|()| Body::H3(Box::new(H3Body::new(recv)))), peer).await;
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
