//! The `send` scenario and the send-text workload the other scenarios reuse: provision and
//! pair N instances, then `POST send-text` round-robin over them with a fixed set of request
//! bodies (the same bytes go to the baseline), open or closed loop, for each round.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use bytes::Bytes;
use hyper::Uri;
use serde::Deserialize;
use serde_json::json;

use crate::cli::SendArgs;
use crate::client::{uri, CallError, Http};
use crate::ledger::Ledger;
use crate::load::Workload;
use crate::provision::{phone_number, Instance};
use crate::report::{self, Report};

/// Distinct recipients (and so distinct bodies) cycled through.
const RECIPIENTS: u64 = 1000;

/// The `send-text` request bodies: `{"phone": ..., "message": ...}`, recipients never ending
/// in `0000`, messages padded to `chars` characters.
pub fn bodies(chars: usize) -> Arc<Vec<Bytes>> {
    let bodies = (0..RECIPIENTS)
        .map(|i| {
            let mut message = format!("chatedge-loadtest {i:04} ");
            while message.len() < chars {
                message.push('x');
            }
            message.truncate(chars.max(1));
            Bytes::from(json!({"phone": phone_number("5511", i), "message": message}).to_string())
        })
        .collect();
    Arc::new(bodies)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Accepted {
    message_id: String,
}

/// `POST send-text`, request `seq` to instance `seq % n` with body `seq % bodies`.
pub struct SendText {
    http: Http,
    targets: Vec<Uri>,
    bodies: Arc<Vec<Bytes>>,
    /// Where accepted messages are published (the webhooks scenario against chatedge).
    ledger: Option<Arc<Ledger>>,
}

impl SendText {
    pub fn new(
        http: Http,
        base: &str,
        instances: &[Instance],
        bodies: Arc<Vec<Bytes>>,
        ledger: Option<Arc<Ledger>>,
    ) -> Result<SendText> {
        let targets = instances.iter().map(|i| uri(base, &i.path("send-text"))).collect::<Result<Vec<_>>>()?;
        anyhow::ensure!(!targets.is_empty() && !bodies.is_empty(), "nothing to send: no instances or bodies");
        Ok(SendText { http, targets, bodies, ledger })
    }

    /// Sends request `seq`; an accepted message is published to the ledger with the instant
    /// the request started, so webhook latencies count from the send, not from the answer.
    pub async fn send(&self, seq: u64) -> Result<(), CallError> {
        let target = self.targets[(seq % self.targets.len() as u64) as usize].clone();
        let body = self.bodies[(seq % self.bodies.len() as u64) as usize].clone();
        let sent = Instant::now();
        let reply = self.http.post(target, None, body).await?;
        let accepted: Accepted = reply.json()?;
        if let Some(ledger) = &self.ledger {
            ledger.publish(accepted.message_id, sent);
        }
        Ok(())
    }
}

impl Workload for SendText {
    fn op(&self, _seq: u64) -> &'static str {
        "send-text"
    }

    async fn call(&self, seq: u64) -> Result<(), CallError> {
        self.send(seq).await
    }
}

pub async fn run(args: SendArgs) -> Result<()> {
    let quiet = args.output.quiet;
    let (http, provisioner) = super::connect(&args.target, super::pace(&args.load).pool_size())?;
    let instances = super::provision(&provisioner, args.load.instances, None, quiet).await?;
    let bodies = bodies(args.load.message_chars);
    let make = |base: &str, ledger| SendText::new(http.clone(), base, &instances, bodies.clone(), ledger);
    let gauge = super::queue_gauge(&http, &args.target, &args.load);
    let against = super::Against { data_plane: &args.target.data_plane, http: &http };
    let done = super::run_rounds(&args.load, quiet, against, None, &gauge, make, || async {}).await?;
    let mut report = Report::new(super::meta("send", &args.load, &args.target), done);
    report.queued_after_run = super::backlog(&provisioner, &instances).await;
    http.close().await;
    report::emit(&report, &args.output)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http_body_util::Full;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use serde_json::Value;

    use super::*;
    use crate::ledger::Received;

    /// A send-text endpoint on loopback that takes `delay` to answer.
    async fn slow_send_text(delay: Duration) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Ends with the test's runtime.
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = service_fn(move |_req| async move {
                    tokio::time::sleep(delay).await;
                    let body = r#"{"zaapId":"z1","messageId":"m1","id":"m1"}"#;
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn webhook_latency_counts_from_the_request_not_from_its_answer() {
        let base = slow_send_text(Duration::from_millis(150)).await;
        let instance =
            Instance { index: 0, id: "i".into(), token: "t".into(), webhook_secret: None, phone: "x".into() };
        let ledger = Arc::new(Ledger::default());
        let http = Http::new(1, Duration::from_secs(5)).expect("client");
        let sender = SendText::new(http, &base, &[instance], bodies(8), Some(ledger.clone())).expect("sender");
        sender.send(0).await.expect("accepted");
        let delivery: Value = json!({"type": "DeliveryCallback", "messageId": "m1"});
        ledger.receive(Received {
            webhook_id: "d1".into(),
            at: Instant::now(),
            body: delivery,
            body_hash: 0,
            signature_ok: true,
        });
        let (a, _) = ledger.account();
        assert_eq!((a.published, a.delivered), (1, 1));
        // The DeliveryCallback came right after the answer, 150 ms after the request left.
        assert!(a.delivery_latency_ms.p50 >= 150.0, "{:?}", a.delivery_latency_ms);
    }

    #[test]
    fn bodies_are_valid_send_text_requests() {
        let b = bodies(40);
        assert_eq!(b.len(), RECIPIENTS as usize);
        for body in b.iter() {
            let v: serde_json::Value = serde_json::from_slice(body).expect("json");
            let phone = v["phone"].as_str().expect("phone");
            assert!(!phone.ends_with("0000"));
            assert_eq!(v["message"].as_str().map(str::len), Some(40));
        }
    }
}
