//! tcp: the accept loop of a TCP listener, plain (HTTP/1.1 and h2c with prior knowledge) or
//! TLS (ALPN h2 and http/1.1). It admits each connection through the plane's [`Gate`],
//! refuses over-limit ones at once, and spawns one task per connection that it owns until the
//! connection closes or the drain ends — on the accepting runtime, or on the runtime the
//! listener's [`Placement`](crate::Placement) picks (on a steering placement, once a plain
//! connection's first bytes have arrived, or a TLS connection's handshake and first bytes:
//! relocate.rs moves it then). It never touches request bodies. The accept loop runs on the
//! planes' runtime.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;

use crate::conn::{self, Activity, TimedIo};
use crate::limits::{Slot, MAX_HEADERS, MIN_HEADER_BYTES};
use crate::placement::{Place, STEER_HEAD_BYTES};
use crate::relocate::{Portable, Rewound};
use crate::shutdown::{stopped, Connections};
use crate::tls::Tls;
use crate::{Handler, ServeOptions};

/// The answer to a plain-TCP connection refused at the gate: HTTP/1.1 is the only protocol a
/// client may be speaking before its first byte is read, and an h2c client reads it as a
/// protocol error, which closes it all the same.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
connection: close\r\nretry-after: 1\r\ncontent-length: 75\r\n\r\n\
{\"error\":\"Too many connections\",\"message\":\"too many open connections now\"}\n";

/// Serves plain HTTP/1.1 and h2c on `listener` until `shutdown`, then drains.
pub async fn serve<H, RB>(listener: TcpListener, handler: H, shutdown: watch::Receiver<bool>, opts: ServeOptions)
where
    H: Handler<RB>,
    RB: From<Incoming> + Send + 'static,
{
    accept_loop(listener, None, handler, shutdown, opts).await
}

/// Serves HTTP/1.1 and h2 over TLS on `listener` until `shutdown`, then drains.
pub async fn serve_tls<H, RB>(
    listener: TcpListener,
    tls: Tls,
    handler: H,
    shutdown: watch::Receiver<bool>,
    opts: ServeOptions,
) where
    H: Handler<RB>,
    RB: From<Incoming> + Send + 'static,
{
    accept_loop(listener, Some(tls), handler, shutdown, opts).await
}

fn builder(opts: &ServeOptions) -> auto::Builder<TokioExecutor> {
    let l = &opts.limits;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // hyper's own head timer starts when an answer ends, so it closed kept-alive connections
        // idle for this long; conn.rs's starts at a head's first byte instead.
        .header_read_timeout(None)
        .max_buf_size(l.max_header_bytes.max(MIN_HEADER_BYTES))
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(l.max_streams_per_connection)
        .max_header_list_size(u32::try_from(l.max_header_bytes).unwrap_or(u32::MAX))
        // Pings find dead peers; they are not requests, so they do not hold an idle
        // connection open (conn.rs closes it on its own idle timer).
        .keep_alive_interval(l.idle_timeout)
        .keep_alive_timeout(l.header_read_timeout);
    builder
}

async fn accept_loop<H, RB>(
    listener: TcpListener,
    tls: Option<Tls>,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
    opts: ServeOptions,
) where
    H: Handler<RB>,
    RB: From<Incoming> + Send + 'static,
{
    let builder = Arc::new(builder(&opts));
    let mut connections = Connections::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stopped(&mut shutdown) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await; // e.g. out of file descriptors
                continue;
            }
        };
        let slot = match opts.gate.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                opts.refused(refusal.reason());
                if tls.is_none() {
                    let _ = stream.try_write(REFUSED); // best effort: never wait on a refused client
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Some(placement) = opts.placement.clone() else {
            let task = connection(stream, peer, slot, tls.clone(), builder.clone(), handler.clone(), &opts, &shutdown);
            connections.spawn(task);
            continue;
        };
        let accepted = Accepted {
            peer,
            slot,
            tls: tls.clone(),
            builder: builder.clone(),
            handler: handler.clone(),
            opts: opts.clone(),
            shutdown: shutdown.clone(),
        };
        if placement.steers() {
            connections.spawn(steered(stream, placement, accepted));
        } else if let Some((task, runtime)) = accepted.placed(placement.next(), stream) {
            connections.spawn_on(task, &runtime);
        }
    }
    drop(listener);
    connections.drain(opts.limits.drain_timeout).await;
}

/// An admitted connection on its way to the runtime a [`Placement`](crate::Placement) picks,
/// with what its task needs there.
struct Accepted<H> {
    peer: SocketAddr,
    slot: Slot,
    tls: Option<Tls>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    handler: H,
    opts: ServeOptions,
    shutdown: watch::Receiver<bool>,
}

impl<H> Accepted<H> {
    /// The connection's task for `place`'s runtime, and that runtime: the socket leaves this
    /// runtime's reactor here and joins the other's when the task starts there. `None` when
    /// the socket cannot leave (logged).
    fn placed<RB>(self, place: Place, stream: TcpStream) -> Option<(impl Future<Output = ()> + Send + 'static, Handle)>
    where
        H: Handler<RB>,
        RB: From<Incoming> + Send + 'static,
    {
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot move an accepted connection");
                return None;
            }
        };
        let runtime = place.runtime.clone();
        let Accepted { peer, slot, tls, builder, handler, opts, shutdown } = self;
        let task = async move {
            let _open = place.open();
            match TcpStream::from_std(stream) {
                Ok(stream) => connection(stream, peer, slot, tls, builder, handler, &opts, &shutdown).await,
                Err(e) => tracing::warn!(error = %e, "cannot serve a moved connection"),
            }
        };
        Some((task, runtime))
    }
}

/// A connection on a placement that steers: waits here, within the header read timeout (the
/// same refusal as [`connection`]'s wait for a first byte or a handshake), for what chooses its
/// runtime (`Placement::choose`); then it runs there, this task waiting for it, so that the
/// listener's drain waits for it and aborting this task aborts it too.
async fn steered<H, RB>(stream: TcpStream, placement: crate::Placement, accepted: Accepted<H>)
where
    H: Handler<RB>,
    RB: From<Incoming> + Send + 'static,
{
    match accepted.tls.clone() {
        None => steered_plain(stream, placement, accepted).await,
        Some(tls) => steered_tls(stream, tls, placement, accepted).await,
    }
}

/// A plain connection is placed by its first bytes, `peek`ed so that nothing is consumed.
async fn steered_plain<H, RB>(stream: TcpStream, placement: crate::Placement, accepted: Accepted<H>)
where
    H: Handler<RB>,
    RB: From<Incoming> + Send + 'static,
{
    let mut head = [0u8; STEER_HEAD_BYTES];
    let first = accepted.opts.limits.header_read_timeout;
    let n = match tokio::time::timeout(first, stream.peek(&mut head)).await {
        Ok(Ok(n @ 1..)) => n,
        _ => return accepted.opts.refused("header_timeout"),
    };
    let Some((task, runtime)) = accepted.placed(placement.choose(&head[..n]), stream) else { return };
    run_on(runtime, task).await;
}

/// A TLS connection opens here ([`tls_opening`]) on a [`Portable`] socket, is placed by its
/// first bytes — an HTTP/1.1 request line may name the runtime, an h2 preface never does — and
/// moves there with its TLS state, those bytes served again first.
async fn steered_tls<H, RB>(stream: TcpStream, tls: Tls, placement: crate::Placement, accepted: Accepted<H>)
where
    H: Handler<RB>,
    RB: From<Incoming> + Send + 'static,
{
    let Some((mut stream, head)) = tls_opening(Portable::new(stream), &tls, &accepted.opts).await else { return };
    let place = placement.choose(&head);
    let socket = match stream.get_mut().0.detach() {
        Ok(socket) => socket,
        Err(e) => return tracing::warn!(error = %e, "cannot move an accepted connection"),
    };
    let runtime = place.runtime.clone();
    let Accepted { peer, slot, builder, handler, opts, shutdown, .. } = accepted;
    let task = async move {
        let _open = place.open();
        match stream.get_mut().0.attach(socket) {
            Ok(()) => http(Rewound::new(head, stream), peer, builder, handler, opts, shutdown).await,
            Err(e) => tracing::warn!(error = %e, "cannot serve a moved connection"),
        }
        drop(slot);
    };
    run_on(runtime, task).await;
}

/// A TLS connection's handshake and then its first bytes (at most [`STEER_HEAD_BYTES`]), each
/// within the header read timeout — as a plain connection must send a byte within it — or it
/// is refused and counted. The bytes read are to be served again first ([`Rewound`]). `None`
/// also when the client closed before sending anything.
async fn tls_opening<IO>(io: IO, tls: &Tls, opts: &ServeOptions) -> Option<(TlsStream<IO>, Vec<u8>)>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let first = opts.limits.header_read_timeout;
    let mut stream = match tokio::time::timeout(first, tls.acceptor().accept(io)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(_)) => return refused(opts, "tls_handshake"),
        Err(_) => return refused(opts, "header_timeout"),
    };
    let mut head = vec![0u8; STEER_HEAD_BYTES];
    match tokio::time::timeout(first, stream.read(&mut head)).await {
        Ok(Ok(n @ 1..)) => {
            head.truncate(n);
            Some((stream, head))
        }
        Ok(_) => None, // closed (or broken) before its first request: nothing to serve
        Err(_) => refused(opts, "header_timeout"),
    }
}

fn refused<T>(opts: &ServeOptions, reason: &'static str) -> Option<T> {
    opts.refused(reason);
    None
}

/// Runs a placed connection's `task` on `runtime` until it ends or this is aborted.
async fn run_on(runtime: Handle, task: impl Future<Output = ()> + Send + 'static) {
    let mut running = AbortOnDrop(runtime.spawn(task));
    let _ = (&mut running.0).await;
}

/// A task that ends when its handle is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One connection's task: the first byte (plain) or the handshake and first bytes (TLS) within
/// the header read timeout, then HTTP until it closes.
#[allow(clippy::too_many_arguments)]
fn connection<H, RB>(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    tls: Option<Tls>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    handler: H,
    opts: &ServeOptions,
    shutdown: &watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send + 'static
where
    H: Handler<RB>,
    RB: From<Incoming> + Send + 'static,
{
    let (opts, shutdown) = (opts.clone(), shutdown.clone());
    async move {
        let first = opts.limits.header_read_timeout;
        match tls {
            None => {
                // Until a protocol is chosen hyper has no timer running: a silent client would
                // hold its slot for ever, so it gets the header read timeout to send a byte.
                let mut probe = [0u8; 1];
                if !matches!(tokio::time::timeout(first, stream.peek(&mut probe)).await, Ok(Ok(1..))) {
                    opts.refused("header_timeout");
                    return;
                }
                http(stream, peer, builder, handler, opts, shutdown).await;
            }
            Some(tls) => {
                if let Some((stream, head)) = tls_opening(stream, &tls, &opts).await {
                    http(Rewound::new(head, stream), peer, builder, handler, opts, shutdown).await;
                }
            }
        }
        drop(slot);
    }
}

async fn http<S, H, RB>(
    stream: S,
    peer: SocketAddr,
    builder: Arc<auto::Builder<TokioExecutor>>,
    handler: H,
    opts: ServeOptions,
    shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler<RB>,
    RB: From<Incoming> + Send + 'static,
{
    let activity = Activity::new();
    let limits = &opts.limits;
    let io = TimedIo::new(stream, limits.write_timeout, limits.header_read_timeout, activity.clone());
    let alt_svc = opts.alt_svc.clone();
    let tracked = activity.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let (handler, in_flight, alt_svc) = (handler.clone(), tracked.begin(), alt_svc.clone());
        async move {
            let mut res = handler.call(req.map(RB::from), peer).await;
            drop(in_flight);
            advertise(&mut res, alt_svc);
            Ok::<_, Infallible>(res)
        }
    });
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let idle = opts.limits.idle_timeout;
    let result = conn::drive(conn, &activity, idle, shutdown, || opts.refused("idle_timeout")).await;
    let error = result.as_ref().err().map(|e| &**e as &(dyn std::error::Error + 'static));
    if let Some(reason) = conn::limit_hit(&activity, error) {
        opts.refused(reason);
    }
}

/// Adds the `Alt-Svc` header that announces HTTP/3, when it is served.
fn advertise<B>(res: &mut Response<B>, alt_svc: Option<HeaderValue>) {
    if let Some(v) = alt_svc {
        res.headers_mut().insert(hyper::header::ALT_SVC, v);
    }
}
