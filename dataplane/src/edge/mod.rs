//! edge: where requests enter. Its [`listeners`] bind the plain, TLS, HTTP/3 and metrics
//! ports; [`handle`] bounds each request in time, forwards one for another node's instance to
//! its owner ([`proxy`]), routes the rest to a dialect by path, and records
//! what happened (route, dialect, status, latency) in `/metrics`. It runs on the planes'
//! runtime, one task per request, the same for every protocol. Serving itself (protocols,
//! connection limits, graceful shutdown) is `chatedge_serve`.

pub mod listeners;
pub mod proxy;
pub mod rate_limit;
pub(crate) mod router;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use chatedge_serve::Body;
use chatedge_serve::Resp;
use hyper::{Request, StatusCode};
use serde_json::json;

use crate::api::App;

/// Serves a request for an instance this node holds (or one nobody is known to hold) here, and
/// forwards one for another node's instance to its owner (see [`proxy`]).
async fn route(app: &App, req: Request<Body>, peer: SocketAddr) -> (&'static str, &'static str, Resp) {
    let hop = req.extensions().get::<proxy::Hop>().is_some();
    let place = proxy::locate_request(&app.config.load(), &req, hop);
    match place {
        proxy::Where::Here => rate_limit::route(app, req, peer).await,
        proxy::Where::Quarantined(reason) => ("quarantined", "zapi", proxy::quarantined(&reason)),
        proxy::Where::Elsewhere(owner) => {
            let shape = proxy::Shape::of(req.uri().path());
            ("proxy", shape.label(), proxy::forward(app, req, owner, shape).await)
        }
    }
}

/// Handles one request end to end.
pub async fn handle(app: Arc<App>, mut req: Request<Body>, peer: SocketAddr) -> Resp {
    let started = Instant::now();
    // Where the call came from, for the account IP allowlist (auth::account).
    req.extensions_mut().insert(crate::auth::Origin { peer, trusted_proxies: app.trusted_proxies.clone() });
    proxy::admit(&app, &mut req);
    let routed = route(&app, req, peer);
    let (route, dialect, res) = match tokio::time::timeout(app.limits.request_timeout, routed).await {
        Ok(r) => r,
        Err(_) => {
            app.metrics.refusals.with_label_values(&["request_timeout"]).inc();
            // Dropping the route's future closes its reply channel: a send whose batch is not
            // written yet is taken out of its group and never written (store/committer.rs).
            let body = json!({
                "error": "timeout",
                "message": "the request did not complete in time and was cancelled: nothing was stored, \
                            unless the disk write was already under way at that instant"
            });
            let mut res = chatedge_serve::json(StatusCode::SERVICE_UNAVAILABLE, &body);
            res.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from(1u32));
            ("timeout", "none", res)
        }
    };
    app.metrics.record_request(route, dialect, res.status(), started.elapsed().as_secs_f64());
    res
}
