//! The `mixed` scenario: send-text plus `GET status` reads plus settings changes (`PUT
//! update-webhook-delivery`, `update-webhook-message-status`, `update-every-webhooks`, each
//! alternating between two sink URLs so every change is a real change), in fixed proportions
//! spread evenly over the request sequence. Every webhook URL stays on the embedded sink, so
//! the webhook books must still balance while settings change under load.

use std::cell::RefCell;
use std::sync::Arc;

use anyhow::Result;
use bytes::Bytes;
use hyper::{Method, Uri};
use serde::Deserialize;
use serde_json::json;

use crate::cli::{Mix, MixedArgs};
use crate::client::{uri, CallError, Http};
use crate::ledger::Ledger;
use crate::load::Workload;
use crate::provision::Instance;
use crate::report::{self, Report};
use crate::scenario::send::{self, SendText};
use crate::scenario::webhooks::drain;
use crate::sink::Sink;

/// Settings routes, with the label of the sink URLs they alternate between.
const SETTINGS: [(&str, &str); 3] = [
    ("update-webhook-delivery", "delivery"),
    ("update-webhook-message-status", "message-status"),
    ("update-every-webhooks", "every"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Send,
    Status,
    Settings,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Maps request numbers to operations: within every `total` consecutive requests each
/// operation appears exactly its weight's times, spread out by a multiplier coprime to `total`.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    mix: Mix,
    total: u64,
    stride: u64,
}

impl Schedule {
    fn new(mix: Mix) -> Schedule {
        let total = u64::from(mix.send + mix.status + mix.settings).max(1);
        let mut stride = (total * 618 / 1000).max(1);
        while gcd(stride, total) != 1 {
            stride += 1;
        }
        Schedule { mix, total, stride }
    }

    fn op(&self, seq: u64) -> Op {
        let slot = (seq % self.total) * self.stride % self.total;
        if slot < u64::from(self.mix.send) {
            Op::Send
        } else if slot < u64::from(self.mix.send + self.mix.status) {
            Op::Status
        } else {
            Op::Settings
        }
    }
}

/// Parsed to check the answer's shape.
#[derive(Deserialize)]
struct Status {
    connected: bool,
}

#[derive(Deserialize)]
struct Changed {
    value: bool,
}

struct Mixed {
    send: SendText,
    http: Http,
    schedule: Schedule,
    status: Vec<Uri>,
    /// Per instance, one URI per entry of [`SETTINGS`].
    settings: Vec<Vec<Uri>>,
    indices: Vec<u32>,
    sink: Arc<Sink>,
}

impl Mixed {
    fn new(send: SendText, http: Http, base: &str, instances: &[Instance], sink: Arc<Sink>, mix: Mix) -> Result<Mixed> {
        let status = instances.iter().map(|i| uri(base, &i.path("status"))).collect::<Result<Vec<_>>>()?;
        let settings = instances
            .iter()
            .map(|i| SETTINGS.iter().map(|(route, _)| uri(base, &i.path(route))).collect::<Result<Vec<_>>>())
            .collect::<Result<Vec<_>>>()?;
        let indices = instances.iter().map(|i| i.index).collect();
        Ok(Mixed { send, http, schedule: Schedule::new(mix), status, settings, indices, sink })
    }

    async fn status(&self, seq: u64) -> Result<(), CallError> {
        let target = self.status[(seq % self.status.len() as u64) as usize].clone();
        let status: Status = self.http.get(target, None).await?.json()?;
        let _connected = status.connected;
        Ok(())
    }

    async fn change(&self, seq: u64) -> Result<(), CallError> {
        let n = self.settings.len() as u64;
        let instance = (seq % n) as usize;
        let cycle = seq / self.schedule.total;
        let which = (cycle % SETTINGS.len() as u64) as usize;
        let url = self.sink.alternate_url(self.indices[instance], SETTINGS[which].1, cycle / SETTINGS.len() as u64);
        let body = Bytes::from(json!({"value": url}).to_string());
        let target = self.settings[instance][which].clone();
        let changed: Changed = self.http.call(Method::PUT, target, None, Some(body)).await?.json()?;
        if changed.value {
            Ok(())
        } else {
            Err(CallError::BadResponse("settings change answered value: false".into()))
        }
    }
}

impl Workload for Mixed {
    fn op(&self, seq: u64) -> &'static str {
        match self.schedule.op(seq) {
            Op::Send => "send-text",
            Op::Status => "status",
            Op::Settings => "settings",
        }
    }

    async fn call(&self, seq: u64) -> Result<(), CallError> {
        match self.schedule.op(seq) {
            Op::Send => self.send.send(seq).await,
            Op::Status => self.status(seq).await,
            Op::Settings => self.change(seq).await,
        }
    }
}

pub async fn run(args: MixedArgs) -> Result<()> {
    let quiet = args.output.quiet;
    let ledger = Arc::new(Ledger::default());
    let sink = Arc::new(Sink::start(args.sink.sink, ledger.clone()).await?);
    let (http, provisioner) = super::connect(&args.target, super::pace(&args.load).pool_size())?;
    let instances = super::provision(&provisioner, args.load.instances, Some(sink.clone()), quiet).await?;
    let bodies = send::bodies(args.load.message_chars);
    let make = |base: &str, ledger| {
        let send = SendText::new(http.clone(), base, &instances, bodies.clone(), ledger)?;
        Mixed::new(send, http.clone(), base, &instances, sink.clone(), args.mix)
    };
    let drains = RefCell::new(Vec::new());
    let after_round = || {
        let (ledger, drains) = (ledger.clone(), &drains);
        async move {
            let d = drain(&ledger, args.drain, quiet).await;
            drains.borrow_mut().push(d);
        }
    };
    let against = super::Against { data_plane: &args.target.data_plane, http: &http };
    let gauge = super::queue_gauge(&http, &args.target, &args.load);
    let done = super::run_rounds(&args.load, quiet, against, Some(ledger.clone()), &gauge, make, after_round).await?;
    let (accounting, latencies) = ledger.account();
    let defects = accounting.defects(args.verdict.max_duplicates);
    let m = args.mix;
    let mut report = Report::new(super::meta("mixed", &args.load, &args.target), done)
        .with_webhooks(accounting, latencies)
        .with_defects(defects.clone())
        .note(format!("mix: send {} : status {} : settings {}", m.send, m.status, m.settings));
    for (n, d) in drains.borrow().iter().enumerate() {
        if d.undelivered > 0 || d.unread > 0 {
            report = report.note(format!(
                "after chatedge round {}: {} messages without DeliveryCallback, {} without READ after {:.1} s",
                n + 1,
                d.undelivered,
                d.unread,
                d.waited.as_secs_f64()
            ));
        }
    }
    http.close().await;
    report::emit(&report, &args.output)?;
    super::webhooks::conclude("mixed", &defects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_keeps_exact_proportions_and_spreads_them() {
        let s = Schedule::new(Mix { send: 90, status: 8, settings: 2 });
        let ops: Vec<Op> = (0..100).map(|i| s.op(i)).collect();
        assert_eq!(ops.iter().filter(|o| **o == Op::Send).count(), 90);
        assert_eq!(ops.iter().filter(|o| **o == Op::Status).count(), 8);
        assert_eq!(ops.iter().filter(|o| **o == Op::Settings).count(), 2);
        let first_status = ops.iter().position(|o| *o == Op::Status).expect("a status read");
        assert!(first_status < 50, "status reads are spread out, not all at the end");
        let only = Schedule::new(Mix { send: 0, status: 1, settings: 0 });
        assert!((0..10).all(|i| only.op(i) == Op::Status));
    }
}
