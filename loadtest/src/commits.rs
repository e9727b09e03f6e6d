//! The server's group commits during a chatedge round: how many, how many batches each
//! carried, how long each took, and how much of the round the committer spent inside them.
//! These separate the two regimes issue 11 §7 met (docs/BENCHMARKS.md): a closed loop bound by
//! the commit cycle (the committer busy most of the round, groups as large as the requests in
//! flight allow) and one bound by CPU elsewhere. [`Reading`] is the three counters on the data
//! plane's /metrics (`chatedge_dp_store_commit_seconds` and `chatedge_dp_store_batch_size`);
//! [`Commits::between`] turns two readings around a round into its figures. It counts every
//! commit of the server over the round, not only those of the round's own sends (a network
//! that sends meanwhile commits too). Like the backlog, it only reads the server.

use std::time::Duration;

use serde::Serialize;

use crate::scrape;

/// Families read, as the data plane exports them.
const COMMIT_COUNT: &str = "chatedge_dp_store_commit_seconds_count";
const COMMIT_SECONDS: &str = "chatedge_dp_store_commit_seconds_sum";
const BATCHES: &str = "chatedge_dp_store_batch_size_sum";

/// The store's commit counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Group commits so far.
    pub commits: f64,
    /// Their wall time (write + fsync), summed.
    pub seconds: f64,
    /// Batches they carried (one per accepted send-text).
    pub batches: f64,
}

impl Reading {
    /// The counters in a /metrics text, if it has all three.
    pub fn parse(text: &str) -> Option<Reading> {
        Some(Reading {
            commits: scrape::parse_family(text, COMMIT_COUNT)?,
            seconds: scrape::parse_family(text, COMMIT_SECONDS)?,
            batches: scrape::parse_family(text, BATCHES)?,
        })
    }
}

/// One round's group commits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Commits {
    pub commits: u64,
    /// Batches per commit, on average.
    pub batches_per_commit: f64,
    /// Wall time per commit (write + fsync), on average.
    pub ms_per_commit: f64,
    /// The share of the round the committer spent committing (0–1).
    pub committer_busy: f64,
}

impl Commits {
    /// The figures between `before` and `after`, over a round of `elapsed`; `None` when either
    /// reading is missing or the counters went backwards (the server restarted).
    pub fn between(before: Option<Reading>, after: Option<Reading>, elapsed: Duration) -> Option<Commits> {
        let (b, a) = (before?, after?);
        let (commits, seconds, batches) = (a.commits - b.commits, a.seconds - b.seconds, a.batches - b.batches);
        if commits < 0.0 || seconds < 0.0 || batches < 0.0 {
            return None;
        }
        let per_commit = |x: f64| if commits > 0.0 { x / commits } else { 0.0 };
        let round = elapsed.as_secs_f64();
        Some(Commits {
            commits: commits.round() as u64,
            batches_per_commit: per_commit(batches),
            ms_per_commit: per_commit(seconds) * 1000.0,
            committer_busy: if round > 0.0 { (seconds / round).min(1.0) } else { 0.0 },
        })
    }
}

/// The round table's columns for them, and their cells (empty for a round without).
pub const HEADER: [&str; 4] = ["commits", "batches/commit", "ms/commit", "committer busy"];

pub fn cells(commits: Option<&Commits>) -> [String; 4] {
    match commits {
        None => Default::default(),
        Some(c) => [
            c.commits.to_string(),
            format!("{:.1}", c.batches_per_commit),
            format!("{:.2}", c.ms_per_commit),
            format!("{:.0} %", c.committer_busy * 100.0),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# TYPE chatedge_dp_store_commit_seconds histogram\n\
        chatedge_dp_store_commit_seconds_bucket{le=\"0.001\"} 90\n\
        chatedge_dp_store_commit_seconds_sum 0.5\n\
        chatedge_dp_store_commit_seconds_count 100\n\
        chatedge_dp_store_batch_size_sum 2500\n\
        chatedge_dp_store_batch_size_count 100\n";

    #[test]
    fn a_reading_takes_the_three_counters_and_needs_all_of_them() {
        assert_eq!(Reading::parse(TEXT), Some(Reading { commits: 100.0, seconds: 0.5, batches: 2500.0 }));
        let without_batches: String =
            TEXT.lines().filter(|l| !l.contains("batch_size_sum")).collect::<Vec<_>>().join("\n");
        assert_eq!(Reading::parse(&without_batches), None);
    }

    #[test]
    fn a_round_s_commits_are_the_difference_of_two_readings() {
        let before = Reading { commits: 100.0, seconds: 0.5, batches: 2500.0 };
        let after = Reading { commits: 16_100.0, seconds: 9.3, batches: 418_500.0 };
        let c = Commits::between(Some(before), Some(after), Duration::from_secs(10)).expect("figures");
        assert_eq!(c.commits, 16_000);
        assert!((c.batches_per_commit - 26.0).abs() < 1e-9, "{c:?}");
        assert!((c.ms_per_commit - 0.55).abs() < 1e-9, "{c:?}");
        assert!((c.committer_busy - 0.88).abs() < 1e-9, "{c:?}");
        assert_eq!(cells(Some(&c)), ["16000", "26.0", "0.55", "88 %"].map(String::from));
    }

    #[test]
    fn missing_or_restarted_counters_give_no_figures() {
        let r = Reading { commits: 10.0, seconds: 1.0, batches: 10.0 };
        let restarted = Reading { commits: 1.0, seconds: 0.1, batches: 1.0 };
        assert_eq!(Commits::between(None, Some(r), Duration::from_secs(1)), None);
        assert_eq!(Commits::between(Some(r), None, Duration::from_secs(1)), None);
        assert_eq!(Commits::between(Some(r), Some(restarted), Duration::from_secs(1)), None);
        let idle = Commits::between(Some(r), Some(r), Duration::from_secs(1)).expect("no commits is a figure");
        assert_eq!((idle.commits, idle.ms_per_commit, idle.committer_busy), (0, 0.0, 0.0));
        assert_eq!(cells(None), <[String; 4]>::default());
    }
}
