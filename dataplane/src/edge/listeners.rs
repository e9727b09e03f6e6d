//! listeners: the data plane's doors and what they share — the plain port (HTTP/1.1 and h2c),
//! the TLS port (HTTP/1.1 and h2 by ALPN) with HTTP/3 on its number over UDP, and an optional
//! metrics port. All of them serve [`super::handle`] (the metrics port only `/metrics`),
//! count their connections at one gate and refusals in `chatedge_dp_refusals_total`, and stop
//! accepting together when `shutdown` turns true. The certificate watcher runs beside them.
//! Binding happens before the plane reports ready; serving runs on the planes' runtime.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chatedge_config::file::{DataplaneConfig, LimitsConfig, TlsSource};
use chatedge_config::{Config, InstanceId};
use chatedge_serve::tls::{CertSource, Tls};
use chatedge_serve::{Body, Limits, ServeOptions};
use hyper::{Method, Request, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::App;
use crate::DataPlaneError;

/// Where the data plane listens, once bound.
#[derive(Debug, Clone)]
pub struct Bound {
    pub http: SocketAddr,
    pub tls: Option<SocketAddr>,
    /// Whether HTTP/3 is served on the TLS port's number (UDP).
    pub http3: bool,
    pub metrics: Option<SocketAddr>,
    /// The generated certificate (PEM) with `--tls-self-signed`, for clients to trust.
    pub self_signed_cert: Option<PathBuf>,
}

struct Secure {
    listener: TcpListener,
    tls: Tls,
    quic: Option<chatedge_serve::h3::H3Port>,
    /// How often the certificate files are checked for a change (`None`: SIGHUP only).
    watch_interval: Option<Duration>,
}

/// Bound listeners, not yet serving.
pub struct Listeners {
    plain: TcpListener,
    secure: Option<Secure>,
    metrics: Option<TcpListener>,
    bound: Bound,
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), DataPlaneError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| DataPlaneError::Listen { addr, source })?;
    let bound = listener.local_addr().map_err(|source| DataPlaneError::Listen { addr, source })?;
    Ok((listener, bound))
}

impl Listeners {
    /// Binds every configured listener; `data_dir` receives a generated certificate's PEM.
    pub async fn bind(config: &Config, data_dir: &Path) -> Result<Listeners, DataPlaneError> {
        let (plain, http) = bind(config.dataplane.listen).await?;
        let mut bound = Bound { http, tls: None, http3: false, metrics: None, self_signed_cert: None };
        let secure = match &config.tls {
            None => None,
            Some(t) => {
                let source = match &t.source {
                    TlsSource::Files { cert, key } => CertSource::Files { cert: cert.clone(), key: key.clone() },
                    TlsSource::SelfSigned => CertSource::SelfSigned,
                };
                let tls = Tls::load(source).map_err(|e| DataPlaneError::Start(e.to_string()))?;
                if let Some(pem) = tls.self_signed_pem() {
                    let file = data_dir.join("tls-self-signed.pem");
                    std::fs::write(&file, pem)
                        .map_err(|e| DataPlaneError::Start(format!("{}: {e}", file.display())))?;
                    bound.self_signed_cert = Some(file);
                }
                let (listener, addr) = bind(t.listen).await?;
                bound.tls = Some(addr);
                let quic = match t.http3 {
                    true => Some(
                        chatedge_serve::h3::bind(&tls, addr, &limits(&config.limits))
                            .map_err(|e| DataPlaneError::Start(e.to_string()))?,
                    ),
                    false => None,
                };
                bound.http3 = quic.is_some();
                Some(Secure { listener, tls, quic, watch_interval: t.watch_interval })
            }
        };
        let metrics = match config.metrics.listen {
            None => None,
            Some(addr) => {
                let (listener, at) = bind(addr).await?;
                bound.metrics = Some(at);
                Some(listener)
            }
        };
        Ok(Listeners { plain, secure, metrics, bound })
    }

    pub fn bound(&self) -> &Bound {
        &self.bound
    }

    /// Serves every listener until `shutdown`, then lets each drain; returns when all have.
    /// With `on_shards`, the plain and TLS ports' connections run on the shard threads.
    pub async fn serve(
        self,
        app: Arc<App>,
        limits_config: &LimitsConfig,
        dataplane: &DataplaneConfig,
        shutdown: watch::Receiver<bool>,
    ) {
        let mut opts = ServeOptions::new(limits(limits_config));
        opts.refusals = Some(app.metrics.refusals.clone());
        if let (Some(addr), true) = (self.bound.tls, self.bound.http3) {
            opts.alt_svc = Some(chatedge_serve::alt_svc_h3(addr.port()));
        }
        if dataplane.connections_on_shards {
            opts.placement = shard_placement(&app, dataplane.steer_connections);
        }
        let edge = {
            let app = app.clone();
            move |req, peer| super::handle(app.clone(), req, peer)
        };
        let plain = chatedge_serve::serve(self.plain, edge.clone(), shutdown.clone(), opts.clone());
        let secure = async {
            let Some(Secure { listener, tls, quic, watch_interval }) = self.secure else { return };
            let reloads = app.metrics.refusals.clone(); // failed reloads are counted as refusals
            let watcher = tls.clone().watch(watch_interval, shutdown.clone(), move |ok| {
                if !ok {
                    reloads.with_label_values(&["tls_reload_failed"]).inc();
                }
            });
            let tcp = chatedge_serve::serve_tls(listener, tls, edge.clone(), shutdown.clone(), opts.clone());
            let h3 = async {
                if let Some(port) = quic {
                    chatedge_serve::h3::serve_h3(port, edge.clone(), shutdown.clone(), opts.clone()).await;
                }
            };
            tokio::join!(watcher, tcp, h3);
        };
        let metrics = async {
            let Some(listener) = self.metrics else { return };
            let app = app.clone();
            let handler = move |req: Request<Body>, _peer| {
                let app = app.clone();
                async move { metrics_only(&app, &req) }
            };
            chatedge_serve::serve(listener, handler, shutdown.clone(), ServeOptions::default()).await;
        };
        tokio::join!(plain, secure, metrics);
    }
}

/// The shard threads' runtimes, each with its gauge of open connections; with `steer`, plain
/// and TLS HTTP/1.1 connections go to the shard of the instance their first request names.
fn shard_placement(app: &App, steer: bool) -> Option<chatedge_serve::Placement> {
    let runtimes = app.shards.runtimes().iter().enumerate();
    let gauge = |i: usize| app.metrics.shard_connections.with_label_values(&[&i.to_string()]);
    let placement = chatedge_serve::Placement::new(runtimes.map(|(i, rt)| (rt.clone(), gauge(i))).collect())?;
    if !steer {
        return Some(placement);
    }
    let shards = app.shards.len();
    let how = |h: &str| app.metrics.connections_placed.with_label_values(&[h]);
    Some(placement.steering(chatedge_serve::Steering {
        steer: Arc::new(move |head: &[u8]| instance_named(head).map(|id| id.shard(shards))),
        steered: how("steered"),
        spread: how("spread"),
    }))
}

/// The Z-API instance a request line names (`POST /instances/{id}/token/…`), if the bytes hold
/// its whole id: the shard its requests go to (`Shards`) is `id.shard(n)`.
fn instance_named(head: &[u8]) -> Option<InstanceId> {
    const PREFIX: &[u8] = b" /instances/";
    let head = head.split(|&b| b == b'\n').next()?; // the request line only
    let at = head.windows(PREFIX.len()).position(|w| w == PREFIX)? + PREFIX.len();
    let rest = head.get(at..)?;
    let end = rest.iter().position(|&b| b == b'/')?;
    InstanceId::parse(std::str::from_utf8(&rest[..end]).ok()?).ok()
}

/// The metrics port: `GET /metrics` and nothing else.
fn metrics_only(app: &App, req: &Request<Body>) -> chatedge_serve::Resp {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => {
            chatedge_serve::bytes(StatusCode::OK, "text/plain; version=0.0.4", app.metrics.render())
        }
        _ => chatedge_serve::json(StatusCode::NOT_FOUND, &serde_json::json!({"error": "Route not found"})),
    }
}

/// The serving limits of `[limits]`.
pub fn limits(c: &LimitsConfig) -> Limits {
    Limits {
        max_connections: c.max_connections,
        max_connections_per_ip: c.max_connections_per_ip,
        max_streams_per_connection: c.max_streams_per_connection,
        max_header_bytes: c.max_header_bytes,
        header_read_timeout: c.header_read_timeout,
        idle_timeout: c.idle_timeout,
        write_timeout: c.write_timeout,
        ..Limits::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_names_its_instance_and_nothing_else_does() {
        let id = InstanceId::generate();
        let line = |path: &str| format!("POST {path} HTTP/1.1\r\nhost: x\r\n\r\n");
        let cases: [(String, Option<InstanceId>); 7] = [
            (line(&format!("/instances/{id}/token/T/send-text")), Some(id)),
            (line(&format!("/instances/{}/token/T/status", id.to_string().to_lowercase())), Some(id)),
            // Cut before the id ends, no id, a short id, another route, a header's text.
            (format!("POST /instances/{}", &id.to_string()[..20]), None),
            (line("/instances/integrator/on-demand"), None),
            (line("/instances/0123/token/T/send-text"), None),
            (line(&format!("/zapini/instances/{id}/x")), None),
            (format!("GET /healthz HTTP/1.1\r\nx-path: /instances/{id}/token/T\r\n\r\n"), None),
        ];
        for (head, want) in cases {
            assert_eq!(instance_named(head.as_bytes()), want, "{head:?}");
        }
    }
}
