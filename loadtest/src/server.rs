//! The accept loop of the tool's own webhook sink (chatedge posts webhooks over HTTP/1.1):
//! HTTP/1.1 with keep-alive, one task per connection, the request body read in full
//! (bounded) and handed with the request head to a synchronous handler. The baseline
//! endpoint does not use it: it runs chatedge's own stack (`baseline.rs`).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;

pub type Handler = Arc<dyn Fn(Parts, Bytes) -> Response<Full<Bytes>> + Send + Sync>;

/// A small JSON answer.
pub fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    res
}

async fn answer(handler: Handler, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(body) => Ok(handler(parts, body.to_bytes())),
        Err(_) => Ok(json(StatusCode::BAD_REQUEST, r#"{"error":"bad body"}"#)),
    }
}

/// Serves `listener` until the task is dropped or aborted.
pub async fn serve(listener: TcpListener, handler: Handler) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        // Lives as long as the client keeps the connection open, or until the runtime stops
        // (the sink lives for the whole process).
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(handler.clone(), req));
            let _ = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
