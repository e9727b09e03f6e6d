//! The campaigns' clock: when a scheduled run is due. The system clock in production; with
//! `--test-clock` a settable instant (`POST /admin/clock` on the data plane) that stands still
//! between settings and only moves forward, persisted so a restart resumes at it — the
//! control plane's billing clock too (`chatedge_config::time::Clock`); only the wording of a
//! refusal is this plane's. Read from any thread; no I/O here.

use chatedge_config::time::ClockRefusal;

pub use chatedge_config::time::Clock;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("this data plane was not started with --test-clock")]
    NotATestClock,
    #[error("the test clock only moves forward: it is at {now} ms, asked for {asked} ms")]
    Backwards { now: u64, asked: u64 },
}

impl From<ClockRefusal> for ClockError {
    fn from(r: ClockRefusal) -> Self {
        match r {
            ClockRefusal::NotATestClock => ClockError::NotATestClock,
            ClockRefusal::Backwards { now_ms, asked_ms } => ClockError::Backwards { now: now_ms, asked: asked_ms },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_stands_still_and_never_goes_back() {
        let c = Clock::test(Some(5_000_000_000_000));
        assert_eq!(c.now_ms(), 5_000_000_000_000);
        c.set(5_000_000_060_000).unwrap();
        assert_eq!(c.now_ms(), 5_000_000_060_000);
        assert!(matches!(c.set(1).map_err(ClockError::from), Err(ClockError::Backwards { .. })));
        assert_eq!(Clock::system().set(1).map_err(ClockError::from), Err(ClockError::NotATestClock));
    }
}
