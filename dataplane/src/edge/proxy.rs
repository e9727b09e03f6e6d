//! proxy: any data plane serves any instance (issue 10 §5). Before a request is routed,
//! [`locate`] asks the snapshot where the instance its path names lives: here, held out of
//! service here ([`Where::Quarantined`]), on another node (the pushed placement map), or
//! nowhere known (routed as before, so an unknown instance answers exactly as it always did).
//! A request for another node's instance is [`forward`]ed to that node's advertised URL —
//! method, path, query, headers and body streamed (bounded by the largest body any route
//! takes) — and the owner's answer is returned as it came. The owner enforces everything:
//! instance token, Client-Token, IP allowlist (against the client address the forwarding node
//! passes on), rate limits.
//!
//! Trust between nodes: the forwarding node presents its peer key
//! ([`chatedge_config::placement::PeerKey`]); [`admit`] checks it against the pushed peers'
//! key hashes and only then believes the client address header. A forwarded request is never
//! forwarded again ([`Hop`]), so a stale placement map cannot make a loop. A peer-key header
//! that matches no node is dropped, with the client-address header, and the request is served
//! as any client's. Runs on the request's task; one pooled HTTP/1.1 client for all peers.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chatedge_config::placement::{Peer, PeerKey};
use chatedge_config::{InstanceId, NodeId, Snapshot, TokenHash};
use chatedge_serve::{Body, Resp};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::json;

use crate::api::App;
use crate::auth::Origin;

/// The forwarding node's peer key.
pub const PEER_KEY_HEADER: &str = "x-chatedge-peer-key";
/// The client's address as the forwarding node saw it (believed only with a valid peer key).
pub const CLIENT_IP_HEADER: &str = "x-chatedge-client-ip";
/// Time to open a connection to a peer; past it the owner is unreachable (502).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Owner answers up to this size (declared) are read whole; larger or undeclared ones stream.
const INLINE_ANSWER_BYTES: u64 = 256 * 1024;
/// Chunks of a streamed answer held in memory while the client is slow to read.
const STREAM_BUFFER: usize = 8;

type ProxyBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// A request another node forwarded here, its peer key checked: never forwarded again.
#[derive(Debug, Clone, Copy)]
pub struct Hop;

/// Where the instance a request names lives.
#[derive(Debug, PartialEq, Eq)]
pub enum Where {
    /// Here, or unknown to every node as far as this one knows: routed as usual.
    Here,
    /// Here, but its configuration was refused: the reason.
    Quarantined(String),
    /// On another node.
    Elsewhere(NodeId),
}

/// This node's side of the links to its peers: its key and one client for all of them.
pub struct PeerLink {
    key: PeerKey,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, ProxyBody>,
}

impl PeerLink {
    /// https:// peers are checked against the web PKI roots; http:// is plain.
    pub fn new(key: PeerKey) -> Result<PeerLink, rustls::Error> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(PeerLink { key, client })
    }

    pub fn key(&self) -> &PeerKey {
        &self.key
    }
}

/// Checks a presented peer key: with a valid one the request is a [`Hop`] and its client
/// address header names the caller; otherwise both headers are dropped.
pub fn admit(app: &App, req: &mut Request<Body>) {
    let Some(presented) = req.headers_mut().remove(PEER_KEY_HEADER) else {
        req.headers_mut().remove(CLIENT_IP_HEADER);
        return;
    };
    let hash = TokenHash::of(presented.as_bytes());
    let known = app.config.load().peers.values().fold(false, |found, p| found | (p.key_hash == hash));
    let client = req.headers_mut().remove(CLIENT_IP_HEADER);
    if !known {
        app.metrics.peer_requests.with_label_values(&["refused"]).inc();
        return;
    }
    app.metrics.peer_requests.with_label_values(&["accepted"]).inc();
    if let Some(ip) = client.and_then(|v| v.to_str().ok().and_then(|v| v.parse::<IpAddr>().ok())) {
        // The forwarding node already applied its trusted proxies: this address is final.
        let peer = std::net::SocketAddr::new(ip, 0);
        req.extensions_mut().insert(Origin { peer, trusted_proxies: Arc::from(Vec::new()) });
    }
    req.extensions_mut().insert(Hop);
}

/// Where the instance named by `path` lives (see [`Where`]). `hop`: the request was forwarded
/// here, so it is served here whatever the map says.
pub fn locate(snapshot: &Snapshot, path: &str, hop: bool) -> Where {
    let mut s = path.trim_matches('/').split('/');
    let (id, token) = match (s.next(), s.next(), s.next(), s.next()) {
        (Some("instances"), Some(id), Some("token"), Some(token)) => (id, Some(token)),
        (Some("network"), Some("cloud-api"), Some(id), Some("webhook")) => (id, None),
        _ => return Where::Here,
    };
    let Ok(id) = InstanceId::parse(id) else { return Where::Here };
    if let (Some(q), Some(token)) = (snapshot.quarantined.get(&id), token) {
        if q.token_hash.matches(token.as_bytes()) {
            return Where::Quarantined(q.reason.clone());
        }
    }
    placed(snapshot, &id, hop)
}

/// Where the instance a request names lives: by its path as [`locate`] reads it, or for the
/// dialects under `/zapini/` and `/zami/` by what names their instance before the body — a
/// Zapini `instances/{id}` path, an `sk_` key that carries its instance, an `instance_id` query
/// parameter, a Zami `connections/{id}` path. (An instance named in a dialect's body is found
/// by the dialect, which forwards the request it read.)
pub fn locate_request<B>(snapshot: &Snapshot, req: &Request<B>, hop: bool) -> Where {
    let path = req.uri().path();
    if !(path.starts_with("/zapini/") || path.starts_with("/zami/")) {
        return locate(snapshot, path, hop);
    }
    match dialect_instance(path, req.uri().query(), req.headers()) {
        Some(id) => placed(snapshot, &id, hop),
        None => Where::Here,
    }
}

/// The instance a dialect's request names before its body, if any.
fn dialect_instance(path: &str, query: Option<&str>, headers: &HeaderMap) -> Option<InstanceId> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["zami", "v1", "connections", id, ..] => InstanceId::parse(id).ok(),
        ["zapini", "api", "v1", "instances", id, ..] | ["zapini", "instances", id, ..] => {
            chatedge_config::snapshot::parse_instance_ref(id)
        }
        ["zapini", ..] => {
            crate::auth::api_key(headers).and_then(chatedge_config::snapshot::api_key_instance).or_else(|| {
                chatedge_serve::query_param(query, "instance_id")
                    .and_then(|q| chatedge_config::snapshot::parse_instance_ref(&q))
            })
        }
        _ => None,
    }
}

/// Where instance `id` lives: another node when the pushed map says so and it is not here.
pub fn placed(snapshot: &Snapshot, id: &InstanceId, hop: bool) -> Where {
    match snapshot.placements.get(id) {
        Some(node) if !hop && !snapshot.instances.contains_key(id) => Where::Elsewhere(*node),
        _ => Where::Here,
    }
}

/// The answer for a quarantined instance.
pub fn quarantined(reason: &str) -> Resp {
    let message = format!(
        "this data plane refused the instance's configuration and holds it out of service until the control \
         plane sends one it accepts: {reason}"
    );
    chatedge_serve::json(StatusCode::SERVICE_UNAVAILABLE, &json!({"error": "Instance quarantined", "message": message}))
}

/// The error shape a proxy failure is answered in: the dialect of the request's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Zapi,
    Zapini,
    Zami,
}

impl Shape {
    pub fn of(path: &str) -> Shape {
        if path.starts_with("/zapini/") {
            Shape::Zapini
        } else if path.starts_with("/zami/") {
            Shape::Zami
        } else {
            Shape::Zapi
        }
    }

    /// The dialect label of `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Shape::Zapi => "zapi",
            Shape::Zapini => "zapini",
            Shape::Zami => "zami",
        }
    }

    /// A proxy failure in this dialect's error shape.
    fn failure(self, status: StatusCode, error: &'static str, message: impl Into<String>) -> Resp {
        let message = message.into();
        let body = match self {
            Shape::Zapi => json!({"error": error, "message": message}),
            Shape::Zapini => {
                let code = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
                    StatusCode::BAD_GATEWAY => "OWNER_UNREACHABLE",
                    _ => "SERVICE_UNAVAILABLE",
                };
                json!({"success": false, "error": {"code": code, "message": message, "details": {}}})
            }
            Shape::Zami => json!({"success": false, "id": null, "error": message}),
        };
        chatedge_serve::json(status, &body)
    }
}

/// Forwards `req` to `node`, the owner, and answers what it answered (a failure to reach it
/// in `shape`). The body is streamed as it arrives, or comes already read (a dialect that
/// found the instance named in the body).
pub async fn forward<B>(app: &App, req: Request<B>, node: NodeId, shape: Shape) -> Resp
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let failure = |status, error, message: String| shape.failure(status, error, message);
    let peer = app.config.load().peers.get(&node).cloned();
    let Some(peer) = peer else {
        app.metrics.proxied_requests.with_label_values(&["no_address"]).inc();
        let message = format!("this instance is served by data plane {node}, which has not advertised an address yet");
        return failure(StatusCode::SERVICE_UNAVAILABLE, "Owner unavailable", message);
    };
    let link = &app.peers;
    // The route's own limit, as the owner would apply it: a body cut here at that limit never
    // reaches the owner whole, so the owner never answers (or stores) it.
    let limit = body_limit(app, req.uri().path());
    let too_large = || {
        app.metrics.proxied_requests.with_label_values(&["too_large"]).inc();
        failure(StatusCode::PAYLOAD_TOO_LARGE, "Body too large", format!("the body is larger than {limit} bytes"))
    };
    if chatedge_serve::declared_length(req.headers()).is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let upstream = match upstream_request(link, req, &peer, limit) {
        Ok(r) => r,
        Err(e) => return failure(StatusCode::BAD_GATEWAY, "Owner unreachable", e),
    };
    match link.client.request(upstream).await {
        Ok(res) => {
            app.metrics.proxied_requests.with_label_values(&["answered"]).inc();
            answer(res, shape).await
        }
        // A body without a declared length that ran past the limit while it streamed: the
        // owner saw it cut off and stored nothing.
        Err(e) if body_over_limit(&e) => too_large(),
        Err(e) => {
            app.metrics.proxied_requests.with_label_values(&["unreachable"]).inc();
            tracing::warn!(owner = %node, url = %peer.url, error = %e, "owner of a forwarded request unreachable");
            let message =
                format!("this instance is served by data plane {node} at {}, which could not be reached", peer.url);
            failure(StatusCode::BAD_GATEWAY, "Owner unreachable", message)
        }
    }
}

/// The largest body the route of `path` accepts: a Z-API instance route's own (base64 media
/// routes take more), the node's default for the others.
fn body_limit(app: &App, path: &str) -> usize {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["instances", _, "token", _, rest @ ..] => crate::api::zapi::body_limit(app, rest),
        // Uploads by id take a whole file (the owner applies each kind's own limit).
        ["zapini", .., "media", "upload"] | ["zami", "v1", "media"] => {
            let largest = crate::media::MediaKind::ALL.iter().map(|k| app.media.limit(*k)).max().unwrap_or(0);
            app.limits.max_body_bytes.max(largest as usize + 64 * 1024)
        }
        _ => app.limits.max_body_bytes,
    }
}

/// Whether a forwarding failed because the client's body ran past the limit ([`Limited`]'s
/// error, somewhere in the chain of causes).
fn body_over_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = err.source();
    }
    false
}

/// The request as the owner receives it: same method, path, query, headers (hop-by-hop ones
/// aside) and body, plus this node's peer key and the client's address.
fn upstream_request<B>(
    link: &PeerLink,
    req: Request<B>,
    peer: &Peer,
    limit: usize,
) -> Result<Request<ProxyBody>, String>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = req.into_parts();
    let client_ip = parts.extensions.get::<Origin>().map(|o| crate::auth::caller_ip(o, &parts.headers));
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let uri: hyper::Uri = format!("{}{path}", peer.url).parse().map_err(|e| format!("owner URL: {e}"))?;
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.remove(hyper::header::HOST);
    let key = HeaderValue::from_str(link.key.expose()).map_err(|e| e.to_string())?;
    headers.insert(HeaderName::from_static(PEER_KEY_HEADER), key);
    if let Some(ip) = client_ip.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
        headers.insert(HeaderName::from_static(CLIENT_IP_HEADER), ip);
    }
    let body: ProxyBody = Limited::new(body, limit).boxed_unsync();
    let mut out = Request::builder().method(parts.method).uri(uri).body(body).map_err(|e| e.to_string())?;
    *out.headers_mut() = headers;
    Ok(out)
}

/// The owner's answer, unchanged: read whole when small, streamed otherwise.
async fn answer(res: hyper::Response<hyper::body::Incoming>, shape: Shape) -> Resp {
    let (mut parts, body) = res.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let small = chatedge_serve::declared_length(&parts.headers).is_some_and(|n| n <= INLINE_ANSWER_BYTES);
    let body = if small {
        match Limited::new(body, INLINE_ANSWER_BYTES as usize).collect().await {
            Ok(c) => Either::Left(Full::new(c.to_bytes())),
            Err(e) => {
                let message = format!("the owner's answer broke off: {e}");
                return shape.failure(StatusCode::BAD_GATEWAY, "Owner unreachable", message);
            }
        }
    } else {
        let (tx, streamed) = chatedge_serve::streamed(parts.status, "application/octet-stream", STREAM_BUFFER);
        // Owned by the runtime; ends with the owner's body, or when the client goes away.
        tokio::spawn(pump(body, tx));
        streamed.into_body()
    };
    hyper::Response::from_parts(parts, body)
}

/// Copies the owner's body to the client; a broken one cuts the client's answer too.
async fn pump(mut body: hyper::body::Incoming, mut tx: chatedge_serve::StreamSender) {
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Ok(data) = f.into_data() {
                    if tx.send_data(data).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                tx.abort(chatedge_serve::StreamError(format!("the owner's answer broke off: {e}")));
                return;
            }
        }
    }
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    use hyper::header::{CONNECTION, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE};
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for h in named {
        headers.remove(h);
    }
    for h in [CONNECTION, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE] {
        headers.remove(h);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

#[cfg(test)]
mod tests;
