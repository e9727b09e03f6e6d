//! The `pairing` scenario: provision and pair K instances, `--concurrency` at a time, each
//! through the integrator API (create), the Z-API `qr-code` route, the sim network's
//! `/sim/scan` and `status` polling until connected. The overall latency is one instance's
//! whole create → connected time; each step also gets its own line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::cli::PairingArgs;
use crate::progress;
use crate::report::{self, Meta, Report};
use crate::rounds::{Round, Target};
use crate::stats::Recorder;

pub async fn run(args: PairingArgs) -> Result<()> {
    let quiet = args.output.quiet;
    let (_, mut provisioner) = super::connect(&args.target, args.concurrency as usize)?;
    provisioner.pair_timeout = args.pair_timeout;
    let bar = progress::counted(quiet, "pairing".into(), u64::from(args.instances));
    let permits = Arc::new(Semaphore::new(args.concurrency as usize));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for index in 0..args.instances {
        let (p, permits) = (provisioner.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = p.create_and_pair(index, None).await;
            (result, Instant::now())
        });
    }
    let mut recorder = Recorder::new(start);
    let (mut late, mut unknown_answers, mut longest) = (0u32, 0u64, Duration::ZERO);
    while let Some(joined) = tasks.join_next().await {
        let (result, done) = joined?;
        match result {
            Ok((_, t)) => {
                recorder.ok("pairing", done, t.total(), None);
                recorder.step("1 create", t.create);
                recorder.step("2 visible", t.visible);
                recorder.step("3 qr-code", t.qr_code);
                recorder.step("4 scan", t.scan);
                recorder.step("5 connect", t.connect);
                if t.unknown_answers > 0 {
                    late += 1;
                    unknown_answers += u64::from(t.unknown_answers);
                    longest = longest.max(t.visible);
                }
            }
            Err(e) => recorder.error("pairing", done, &e),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let stats = recorder.finish(Duration::ZERO);
    let meta = Meta {
        scenario: "pairing",
        description: format!("{} instances, {} at a time", args.instances, args.concurrency),
        data_plane: args.target.data_plane.clone(),
        protocol: args.target.client.protocol,
        transport: super::transport_label(&args.target),
        coordinated_omission: "closed loop: each instance timed from its create request to connected; not corrected"
            .into(),
        instances: args.instances,
        duration_s: stats.elapsed.as_secs_f64(),
        rate: None,
        concurrency: Some(args.concurrency),
        rounds: 1,
    };
    let round = Round { target: Target::Chatedge, number: 1, stats, backlog: None, commits: None };
    let mut report = Report::new(meta, vec![round])
        .note("throughput is paired instances per second; latency is create → connected per instance");
    if late > 0 {
        report = report.note(format!(
            "{late} of {} instances were still unknown to the data plane (401) after their create \
             answered: {unknown_answers} 401 answers in all, the longest wait {:.1} ms (step \
             \"2 visible\")",
            args.instances,
            longest.as_secs_f64() * 1000.0
        ));
    }
    report::emit(&report, &args.output)
}
