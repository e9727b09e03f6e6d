//! The faults the chaos scenario injects: `kill -9` of chatedge at random moments (every
//! `--kill-min`..`--kill-max`) followed by a restart on the same data directory and ports,
//! timed until both planes listen again; and, with `--network-faults`, the sim network's
//! `POST /sim/drop {"instanceId", "ms"}` (the connection is cut for a while, the session
//! reconnects by itself) and `POST /sim/logout {"instanceId"}` (the device is removed: the
//! pairing task pairs the instance again). A data plane without those routes answers 404:
//! the fault is then reported as unsupported and not tried again. Both loops end at the
//! [`Stop`](super::state::Stop); tasks on the scenario's runtime, owned by [`super::run`].

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::Rng;
use serde::Serialize;
use serde_json::json;

use super::process::{Launch, Process};
use super::state::{Failures, Tally};
use super::traffic::Shared;
use crate::client::{uri, CallError};

/// Tries to start chatedge again after a kill before the run gives up.
const RESTART_ATTEMPTS: u32 = 3;
/// Pause between two such tries.
const RESTART_PAUSE: Duration = Duration::from_secs(1);
/// How often the kill loop checks that chatedge did not exit on its own.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// Range of `/sim/drop` durations.
const DROP_MS: std::ops::RangeInclusive<u64> = 200..=3000;
/// Share of network faults that are drops (the rest are logouts).
const DROP_SHARE: f64 = 0.75;

/// A random duration in `[min, max]` (millisecond steps).
pub fn between(rng: &mut StdRng, min: Duration, max: Duration) -> Duration {
    let (lo, hi) = (min.as_millis() as u64, max.as_millis().max(min.as_millis()) as u64);
    Duration::from_millis(rng.random_range(lo..=hi))
}

/// What the kill loop did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Kills {
    pub kills: u64,
    pub restarts: u64,
    /// chatedge exited without being killed (a crash): restarted, and a defect.
    pub unexpected_exits: u64,
    /// Spawn → both planes listening, per restart.
    pub time_to_listen_ms: Vec<f64>,
    /// kill → both planes listening again, per restart.
    pub downtime_ms: Vec<f64>,
    /// Failed restarts (the run stops after [`RESTART_ATTEMPTS`] in a row).
    pub restart_errors: Vec<String>,
    /// Paired instances at each kill, summed: each may have had one message on the wire,
    /// which may be sent again after the restart (the allowance).
    pub in_flight_allowance: u64,
}

async fn restart(launch: &Launch, kills: &mut Kills) -> Option<Process> {
    for _ in 0..RESTART_ATTEMPTS {
        match Process::start(launch).await {
            Ok(p) => return Some(p),
            Err(e) => {
                kills.restart_errors.push(format!("{e:#}"));
                tokio::time::sleep(RESTART_PAUSE).await;
            }
        }
    }
    None
}

/// Kills and restarts chatedge at random moments until the stop. Returns the process still
/// running at the end (`None` when a restart failed; the stop is then raised).
pub async fn kill_loop(
    shared: Arc<Shared>,
    launch: Launch,
    mut process: Process,
    (min, max): (Duration, Duration),
    mut rng: StdRng,
) -> (Option<Process>, Kills) {
    let mut k = Kills::default();
    loop {
        let due = Instant::now() + between(&mut rng, min, max);
        let mut crashed = false;
        while Instant::now() < due && !crashed {
            if shared.stop.nap(WATCH_EVERY.min(due.saturating_duration_since(Instant::now()))).await {
                return (Some(process), k);
            }
            crashed = !process.running();
        }
        shared.server.going_down();
        let t0 = Instant::now();
        if crashed {
            k.unexpected_exits += 1;
        } else {
            k.in_flight_allowance += shared.fleet.len() as u64;
            if let Err(e) = process.kill_9().await {
                k.restart_errors.push(format!("{e:#}"));
            }
            k.kills += 1;
            shared.kills.fetch_add(1, Ordering::Relaxed);
        }
        match restart(&launch, &mut k).await {
            Some(p) => {
                shared.server.came_up();
                k.restarts += 1;
                k.time_to_listen_ms.push(p.time_to_listen.as_secs_f64() * 1000.0);
                k.downtime_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
                process = p;
            }
            None => {
                shared.stop.stop();
                return (None, k);
            }
        }
    }
}

/// One kind of network fault.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FaultCount {
    pub injected: u64,
    /// The 404 answer when the data plane does not have the route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsupported: Option<String>,
    pub failures: Failures,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NetworkFaults {
    pub drops: FaultCount,
    pub logouts: FaultCount,
}

struct Kind {
    route: &'static str,
    injected: u64,
    unsupported: Option<String>,
    tally: Tally,
}

impl Kind {
    fn new(route: &'static str) -> Kind {
        Kind { route, injected: 0, unsupported: None, tally: Tally::default() }
    }

    async fn inject(&mut self, shared: &Shared, body: serde_json::Value) -> bool {
        let seen = shared.server.seen();
        let p = &shared.provisioner;
        let target = match uri(&p.data_plane, self.route) {
            Ok(u) => u,
            Err(e) => {
                self.tally.fail(false, &CallError::BadResponse(e.to_string()));
                return false;
            }
        };
        match shared.http.post(target, Some(&p.tokens.admin), Bytes::from(body.to_string())).await {
            Ok(_) => {
                self.injected += 1;
                true
            }
            // The route itself is missing (an older data plane), not an instance or code.
            Err(CallError::Status { status: 404, body })
                if body.contains("route_not_found") || body.contains("sim_disabled") =>
            {
                self.unsupported = Some(format!("{} answered 404: {body}", self.route));
                false
            }
            Err(e) => {
                self.tally.fail(shared.server.disturbed(seen), &e);
                false
            }
        }
    }

    fn report(self) -> FaultCount {
        FaultCount { injected: self.injected, unsupported: self.unsupported, failures: self.tally.snapshot() }
    }
}

/// Drops connections and removes devices of random paired instances until the stop.
pub async fn network_faults(shared: Arc<Shared>, (min, max): (Duration, Duration), mut rng: StdRng) -> NetworkFaults {
    let mut drops = Kind::new("/sim/drop");
    let mut logouts = Kind::new("/sim/logout");
    while !shared.stop.nap(between(&mut rng, min, max)).await {
        if !shared.server.is_up() || shared.fleet.is_empty() {
            continue;
        }
        let Some(member) = shared.fleet.nth(rng.random()) else { continue };
        if member.logged_out.load(Ordering::Acquire) {
            continue;
        }
        let id = member.instance.id.clone();
        let want_drop = rng.random_bool(DROP_SHARE);
        if (want_drop || logouts.unsupported.is_some()) && drops.unsupported.is_none() {
            let ms = rng.random_range(DROP_MS);
            drops.inject(&shared, json!({"instanceId": id, "ms": ms})).await;
        } else if logouts.unsupported.is_none() {
            // Marked first: if a kill swallows the answer, pairing again is a no-op for a
            // still-connected instance.
            member.logged_out.store(true, Ordering::Release);
            if !logouts.inject(&shared, json!({"instanceId": id})).await && logouts.unsupported.is_some() {
                member.logged_out.store(false, Ordering::Release);
            }
        }
    }
    NetworkFaults { drops: drops.report(), logouts: logouts.report() }
}

#[cfg(test)]
mod tests;
