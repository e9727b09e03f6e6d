//! How long a session whose connection was lost waits before its next attempt: exponential
//! backoff from `reconnect_initial` to `reconnect_max`, with "equal jitter" (half the wait
//! fixed, half random) so that a network outage that dropped thousands of sessions at once
//! does not bring them back in lockstep.

use std::time::Duration;

use chatedge_config::file::SessionConfig;
use rand::Rng;

/// The wait before attempt number `failed + 1`, after `failed` failed attempts.
pub fn wait(cfg: SessionConfig, failed: u32) -> Duration {
    let doubled = cfg.reconnect_initial.saturating_mul(1u32 << failed.min(20));
    let full = doubled.min(cfg.reconnect_max).max(Duration::from_millis(1));
    let half = full / 2;
    let jitter_ms = rand::rng().random_range(0..=half.as_millis() as u64);
    half + Duration::from_millis(jitter_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SessionConfig {
        SessionConfig {
            reconnect_initial: Duration::from_millis(1000),
            reconnect_max: Duration::from_millis(60_000),
            connect_timeout: Duration::from_secs(30),
        }
    }

    #[test]
    fn waits_double_per_failed_attempt_within_jitter_and_stop_at_the_maximum() {
        let table = [(0, 500, 1000), (1, 1000, 2000), (3, 4000, 8000), (6, 30_000, 60_000), (40, 30_000, 60_000)];
        for (failed, lo, hi) in table {
            for _ in 0..200 {
                let w = wait(cfg(), failed).as_millis() as u64;
                assert!((lo..=hi).contains(&w), "attempt {failed}: {w} ms not in {lo}..={hi}");
            }
        }
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let waits: std::collections::BTreeSet<_> = (0..100).map(|_| wait(cfg(), 4).as_millis()).collect();
        assert!(waits.len() > 10, "{waits:?}");
    }
}
