//! [`Route`]: the workload of one stream of the media scenarios — `POST send-text` or `POST
//! send-image`, round-robin over the instances and recipients — which checks that every 2xx
//! answer has the `{zaapId, messageId, id}` shape both routes promise and counts the request
//! bytes of accepted requests (for bytes/s). Called from the load driver's tasks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Result;
use bytes::Bytes;
use hyper::{Method, Uri};
use serde::Deserialize;

use crate::client::{uri, CallError, Http, Parts};
use crate::load::Workload;
use crate::media::ImageUpload;
use crate::provision::{phone_number, Instance};

/// Distinct recipients (and captions) of the send-image bodies, like send-text's.
const RECIPIENTS: u64 = 1000;

/// The answer of a send route (Z-API: `{zaapId, messageId, id}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    pub zaap_id: String,
    pub message_id: String,
    pub id: String,
}

impl Sent {
    fn check(self) -> Result<Sent, CallError> {
        if self.zaap_id.is_empty() || self.message_id.is_empty() || self.id.is_empty() {
            return Err(CallError::BadResponse(format!("an empty id in {self:?}")));
        }
        Ok(self)
    }
}

enum Payload {
    /// Whole send-text bodies.
    Text(Arc<Vec<Bytes>>),
    /// Per-recipient JSON heads and the image they carry.
    Image { heads: Arc<Vec<Bytes>>, upload: Arc<ImageUpload> },
}

/// One route's request stream.
pub struct Route {
    op: &'static str,
    http: Http,
    targets: Vec<Uri>,
    payload: Payload,
    ok_bytes: AtomicU64,
}

/// The JSON heads of the send-image bodies, one per recipient, each with its caption.
pub fn image_heads() -> Arc<Vec<Bytes>> {
    Arc::new(
        (0..RECIPIENTS)
            .map(|i| ImageUpload::head(&phone_number("5511", i), &format!("chatedge-loadtest {i:04}")))
            .collect(),
    )
}

impl Route {
    fn new(op: &'static str, http: Http, base: &str, instances: &[Instance], payload: Payload) -> Result<Route> {
        let targets = instances.iter().map(|i| uri(base, &i.path(op))).collect::<Result<Vec<_>>>()?;
        let empty = match &payload {
            Payload::Text(b) => b.is_empty(),
            Payload::Image { heads, .. } => heads.is_empty(),
        };
        anyhow::ensure!(!targets.is_empty() && !empty, "nothing to send: no instances or bodies");
        Ok(Route { op, http, targets, payload, ok_bytes: AtomicU64::new(0) })
    }

    pub fn text(http: Http, base: &str, instances: &[Instance], bodies: Arc<Vec<Bytes>>) -> Result<Route> {
        Route::new("send-text", http, base, instances, Payload::Text(bodies))
    }

    pub fn image(
        http: Http,
        base: &str,
        instances: &[Instance],
        heads: Arc<Vec<Bytes>>,
        upload: Arc<ImageUpload>,
    ) -> Result<Route> {
        Route::new("send-image", http, base, instances, Payload::Image { heads, upload })
    }

    /// The body of request `seq`.
    pub fn body(&self, seq: u64) -> Parts {
        match &self.payload {
            Payload::Text(bodies) => Parts::one(bodies[(seq % bodies.len() as u64) as usize].clone()),
            Payload::Image { heads, upload } => upload.body(&heads[(seq % heads.len() as u64) as usize], seq),
        }
    }

    /// Request-body bytes of the requests accepted so far.
    pub fn ok_bytes(&self) -> u64 {
        self.ok_bytes.load(Ordering::Relaxed)
    }

    /// Sends request `seq` and checks the answer's shape.
    pub async fn send(&self, seq: u64) -> Result<Sent, CallError> {
        let target = self.targets[(seq % self.targets.len() as u64) as usize].clone();
        let body = self.body(seq);
        let len = body.len();
        let sent = self.http.send(Method::POST, target, None, Some(body)).await?.json::<Sent>()?.check()?;
        self.ok_bytes.fetch_add(len, Ordering::Relaxed);
        Ok(sent)
    }
}

impl Workload for Route {
    fn op(&self, _seq: u64) -> &'static str {
        self.op
    }

    async fn call(&self, seq: u64) -> Result<(), CallError> {
        self.send(seq).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests;
