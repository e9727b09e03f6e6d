//! The `chaos` scenario (issue 8 §4's soak): this tool starts chatedge itself
//! (`chatedge up` on a data directory and two fixed loopback ports, webhooks pointed at the
//! embedded sink), provisions and pairs instances, then for `--duration` runs at once:
//! send-text workers, webhook reception (signatures verified), new pairings, `kill -9` and
//! restart at random moments and, with `--network-faults`, sim connection drops and logouts.
//! Then it pairs every instance again if needed, drains (bounded by `--grace`), lists what is
//! still queued, stops chatedge with SIGTERM and settles the books ([`book`]) into a ledger
//! ([`report`]). Every loop is bounded by the stop signal, the request timeout and
//! `--max-messages`. Everything runs on the tool's tokio runtime; [`run`] owns every task it
//! spawns and awaits each before it reports. Traffic goes to 127.0.0.1 only.

mod book;
mod faults;
mod process;
mod report;
mod state;
mod traffic;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::task::JoinHandle;

use self::book::ChaosBook;
use self::faults::{Kills, NetworkFaults};
use self::process::{Launch, Process};
use self::report::{ChaosReport, Drain, ProcessReport, Sends};
use self::state::Fleet;
use self::traffic::{PairingReport, Shared};
use crate::cli::{ChaosArgs, ClientArgs, TargetArgs};
use crate::client::Http;
use crate::provision::Provisioner;
use crate::sink::Sink;
use crate::stats::{self, Percentiles};
use crate::{credentials, progress};

/// The drain ends early once every queue is empty and no webhook arrived for this long
/// (chatedge's webhook retries back off to 500 ms at most with the soak's config).
const DRAIN_QUIET: Duration = Duration::from_secs(5);
/// How often the drain looks at the books (and, when quiet, the queues).
const DRAIN_POLL: Duration = Duration::from_millis(250);
/// Most zaapIds read from one instance's queue at the end.
const QUEUE_LIST_LIMIT: usize = 10_000_000;
/// Progress refresh during the chaos.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

fn describe(a: &ChaosArgs) -> String {
    let faults = if a.network_faults {
        format!(", sim drops/logouts every {:?}–{:?}", a.fault_min, a.fault_max)
    } else {
        String::new()
    };
    format!(
        "{:?} of send-text at {} msg/s ({} workers), kill -9 every {:?}–{:?}{faults}, {} instances at start (new one \
         every {:?}, at most {})",
        a.duration, a.rate, a.concurrency, a.kill_min, a.kill_max, a.instances, a.pair_every, a.max_instances
    )
}

/// Starts chatedge, provisions the first instances and builds what every task shares.
async fn setup(a: &ChaosArgs, launch: &Launch, book: Arc<ChaosBook>) -> Result<(Arc<Shared>, Process)> {
    let sink = Arc::new(Sink::start(a.sink.sink, book.clone()).await?);
    let process = Process::start(launch).await?;
    if !a.quiet {
        eprintln!(
            "chatedge up in {:.0} ms: data plane {}, control plane {}, data dir {}; webhook sink http://{}",
            process.time_to_listen.as_secs_f64() * 1000.0,
            launch.data_plane_url(),
            launch.control_plane_url(),
            launch.data_dir.display(),
            sink.addr()
        );
    }
    let target = TargetArgs {
        data_plane: launch.data_plane_url(),
        control_plane: launch.control_plane_url(),
        admin_token: None,
        integrator_token: None,
        credentials: Some(launch.credentials()),
        timeout: a.timeout,
        metrics_url: None,
        client: ClientArgs::default(),
    };
    let tokens = credentials::resolve(&target)?;
    let http = Http::new(a.concurrency as usize + 8, a.timeout)?;
    let provisioner =
        Provisioner::new(http.clone(), &target.data_plane, &target.control_plane, tokens, super::PAIR_TIMEOUT);
    let instances = super::provision(&provisioner, a.instances, Some(sink.clone()), a.quiet).await?;
    let fleet = Fleet::default();
    for i in instances {
        fleet.add(&target.data_plane, i)?;
    }
    let shared = Shared::new(http, provisioner, sink, book, fleet);
    shared.server.came_up();
    Ok((Arc::new(shared), process))
}

/// Shows progress until the duration ends or something raised the stop.
async fn watch(shared: &Shared, duration: Duration, quiet: bool) {
    let bar = progress::timed(quiet, "chaos".into(), duration);
    let started = Instant::now();
    while started.elapsed() < duration && !shared.stop.nap(PROGRESS_EVERY).await {
        let f = shared.sends.snapshot();
        bar.set_position(progress::millis(started.elapsed()));
        bar.set_message(format!(
            "{} acked | failed {} down, {} up | {} kills | {} instances | {} webhooks | {}",
            shared.acknowledged.load(Ordering::Relaxed),
            f.down_total(),
            f.up_total(),
            shared.kills.load(Ordering::Relaxed),
            shared.fleet.len(),
            shared.book.events_received(),
            if shared.server.is_up() { "serving" } else { "DOWN" },
        ));
    }
    bar.finish_and_clear();
}

/// Waits (bounded by `grace`) for every acknowledged message's DeliveryCallback and SENT.
async fn drain(shared: &Shared, grace: Duration, quiet: bool) -> Drain {
    let started = Instant::now();
    let (acknowledged, _) = shared.book.progress();
    let bar = progress::counted(quiet, "draining webhooks".into(), acknowledged);
    let (mut events, mut last_event) = (shared.book.events_received(), Instant::now());
    let members: Vec<_> = shared.fleet.all().iter().map(|m| m.instance.clone()).collect();
    let complete = loop {
        let (acknowledged, complete) = shared.book.progress();
        bar.set_length(acknowledged.max(1));
        bar.set_position(complete);
        if complete >= acknowledged {
            break true;
        }
        if started.elapsed() >= grace {
            break false;
        }
        let now = shared.book.events_received();
        if now != events {
            (events, last_event) = (now, Instant::now());
        } else if last_event.elapsed() >= DRAIN_QUIET && matches!(shared.provisioner.queued(&members).await, Ok(0)) {
            break false;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    };
    bar.finish_and_clear();
    Drain { waited_s: started.elapsed().as_secs_f64(), complete, queued_at_end: 0 }
}

/// The zaapIds still queued on every instance (errors become notes).
async fn queued(shared: &Shared, notes: &mut Vec<String>) -> HashSet<String> {
    let mut ids = HashSet::new();
    for m in shared.fleet.all() {
        match shared.provisioner.queued_ids(&m.instance, QUEUE_LIST_LIMIT).await {
            Ok(list) => ids.extend(list),
            Err(e) => notes.push(format!("could not list the queue of instance {}: {e}", m.instance.id)),
        }
    }
    ids
}

fn data_dir(a: &ChaosArgs) -> PathBuf {
    a.data_dir.clone().unwrap_or_else(|| {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        std::env::temp_dir().join(format!("chatedge-chaos-{secs}-{}", std::process::id()))
    })
}

/// The tasks of the chaos, each ending at the stop.
struct Tasks {
    senders: Vec<JoinHandle<Histogram<u64>>>,
    pairing: JoinHandle<PairingReport>,
    kills: JoinHandle<(Option<Process>, Kills)>,
    network: Option<JoinHandle<NetworkFaults>>,
}

/// What the tasks left behind once they all ended.
struct Ended {
    latency: Histogram<u64>,
    pairings: PairingReport,
    process: Option<Process>,
    kills: Kills,
    network: Option<NetworkFaults>,
}

fn spawn_tasks(a: &ChaosArgs, shared: &Arc<Shared>, launch: &Launch, process: Process, seed: u64) -> Tasks {
    let bodies = super::send::bodies(a.message_chars);
    let every = Duration::from_secs_f64(f64::from(a.concurrency) / a.rate);
    let senders = (0..a.concurrency)
        .map(|_| tokio::spawn(traffic::sender(shared.clone(), bodies.clone(), every, a.max_messages)))
        .collect();
    let pairing = tokio::spawn(traffic::pairings(shared.clone(), a.pair_every, a.max_instances as usize, a.instances));
    let rng = StdRng::seed_from_u64(seed);
    let kills = tokio::spawn(faults::kill_loop(shared.clone(), launch.clone(), process, (a.kill_min, a.kill_max), rng));
    let network = a.network_faults.then(|| {
        let rng = StdRng::seed_from_u64(seed.wrapping_add(1));
        tokio::spawn(faults::network_faults(shared.clone(), (a.fault_min, a.fault_max), rng))
    });
    Tasks { senders, pairing, kills, network }
}

impl Tasks {
    /// Awaits every task (call after the stop).
    async fn join(self) -> Result<Ended> {
        let mut latency = stats::histogram();
        for s in self.senders {
            let _ = latency.add(s.await?);
        }
        let pairings = self.pairing.await?;
        let (process, kills) = self.kills.await?;
        let network = match self.network {
            Some(task) => Some(task.await?),
            None => None,
        };
        Ok(Ended { latency, pairings, process, kills, network })
    }
}

/// After the chaos, with chatedge still running: every instance connected, the drain, the
/// queue listing and the SIGTERM. Returns the zaapIds still queued.
async fn wind_down(a: &ChaosArgs, shared: &Shared, process: Process, r: &mut ChaosReport) -> HashSet<String> {
    if !a.quiet {
        eprintln!("chaos over after {:.1} s; pairing every instance again if needed, then draining", r.elapsed_s);
    }
    r.pairings.disconnected_at_end = traffic::connect_all(shared).await;
    r.drain = drain(shared, a.grace, a.quiet).await;
    let queued_ids = queued(shared, &mut r.notes).await;
    r.drain.queued_at_end = queued_ids.len() as u64;
    r.process.final_stop = match process.terminate().await {
        Ok((Some(status), took)) => {
            r.process.final_stop_clean = status.success();
            format!("{status} after {:.0} ms", took.as_secs_f64() * 1000.0)
        }
        Ok((None, took)) => format!("no exit {:.0} ms after SIGTERM: killed", took.as_secs_f64() * 1000.0),
        Err(e) => format!("SIGTERM failed: {e:#}"),
    };
    queued_ids
}

fn sends(shared: &Shared, latency: &Histogram<u64>, elapsed: Duration, max: u64) -> Sends {
    let acknowledged = shared.acknowledged.load(Ordering::Relaxed);
    Sends {
        attempted: shared.attempted.load(Ordering::Relaxed).min(max),
        acknowledged,
        acknowledged_per_s: acknowledged as f64 / elapsed.as_secs_f64().max(1e-9),
        latency_ms: Percentiles::of(latency),
        failures: shared.sends.snapshot(),
    }
}

pub async fn run(a: ChaosArgs) -> Result<()> {
    anyhow::ensure!(a.rate > 0.0, "--rate must be greater than 0");
    let seed = a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
    });
    let dir = data_dir(&a);
    let launch = Launch::prepare(&a.chatedge, &dir, "")?;
    let (shared, process) = setup(&a, &launch, Arc::new(ChaosBook::default())).await?;
    let initial = shared.fleet.len() as u64;
    let started = Instant::now();
    // Every task ends at the stop (raised here after the duration, or by a failed restart)
    // and is awaited in `join` before the report.
    let tasks = spawn_tasks(&a, &shared, &launch, process, seed);
    watch(&shared, a.duration, a.quiet).await;
    shared.stop.stop();
    let elapsed = started.elapsed();
    let ended = tasks.join().await?;
    let mut r = ChaosReport {
        scenario: "chaos",
        description: describe(&a),
        seed,
        data_dir: dir.display().to_string(),
        duration_s: a.duration.as_secs_f64(),
        elapsed_s: elapsed.as_secs_f64(),
        sends: sends(&shared, &ended.latency, elapsed, a.max_messages),
        process: ProcessReport::from_kills(&ended.kills),
        pairings: PairingReport { initial, ..ended.pairings },
        network_faults: ended.network,
        ..ChaosReport::default()
    };
    if r.sends.attempted >= a.max_messages {
        r.notes.push(format!("sends stopped at --max-messages {}", a.max_messages));
    }
    let queued_ids = match ended.process {
        Some(process) => wind_down(&a, &shared, process, &mut r).await,
        None => {
            r.process.final_stop = "not stopped: a restart failed, the run ended early".into();
            r.notes.push("the drain and the queue listing were skipped: chatedge was not running".into());
            HashSet::new()
        }
    };
    r.ledger = shared.book.settle(&queued_ids);
    let drops_and_logouts = r.network_faults.as_ref().map(|n| n.drops.injected + n.logouts.injected).unwrap_or(0);
    r.sent_twice_allowance = ended.kills.in_flight_allowance + drops_and_logouts;
    r.defects = report::defects(&r);
    report::emit(&r, a.json, a.json_file.as_deref())?;
    if !r.defects.is_empty() {
        bail!("chaos found defects (data dir kept: {})", dir.display());
    }
    if a.data_dir.is_none() && !a.keep_data {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
