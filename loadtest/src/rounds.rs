//! Rounds: the order in which targets are measured (with a baseline they alternate — baseline,
//! chatedge, baseline, chatedge, … — so drift in a noisy machine hits both alike) and one
//! measured round of a workload against one target. What separates rounds (the wait for a
//! chatedge round's backlog, [`crate::backlog`]) is the caller's, `scenario::run_rounds`.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::backlog::Drain;
use crate::commits::Commits;
use crate::load::{self, Pace, Workload};
use crate::progress;
use crate::stats::RunStats;

/// What a round measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Chatedge,
    Baseline,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Chatedge => "chatedge",
            Target::Baseline => "baseline",
        }
    }
}

/// One measured round.
#[derive(Debug, Clone)]
pub struct Round {
    pub target: Target,
    /// 1-based, per target.
    pub number: u32,
    pub stats: RunStats,
    /// After a chatedge round: the backlog it left and the wait for it to drain.
    pub backlog: Option<Drain>,
    /// During a chatedge round: the server's group commits, when its /metrics has them.
    pub commits: Option<Commits>,
}

/// The targets to run, in order: `rounds` of chatedge, each preceded by a baseline round
/// when `baseline` is set.
pub fn plan(rounds: u32, baseline: bool) -> Vec<(Target, u32)> {
    let mut order = Vec::new();
    for n in 1..=rounds {
        if baseline {
            order.push((Target::Baseline, n));
        }
        order.push((Target::Chatedge, n));
    }
    order
}

/// Runs one round with a progress bar.
pub async fn measure<W: Workload>(
    target: Target,
    number: u32,
    of: u32,
    workload: Arc<W>,
    pace: Pace,
    duration: Duration,
    quiet: bool,
) -> Round {
    let bar = progress::timed(quiet, format!("{} {number}/{of}", target.name()), duration);
    let stats = load::drive(workload, pace, duration, &bar).await;
    bar.finish_and_clear();
    Round { target, number, stats, backlog: None, commits: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_rounds_alternate_with_chatedge_rounds() {
        use Target::*;
        assert_eq!(plan(2, true), vec![(Baseline, 1), (Chatedge, 1), (Baseline, 2), (Chatedge, 2)]);
        assert_eq!(plan(2, false), vec![(Chatedge, 1), (Chatedge, 2)]);
    }
}
