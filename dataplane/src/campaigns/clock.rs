//! The campaigns' clock: when a scheduled run is due. The system clock in production; with
//! `--test-clock` a settable instant (`POST /admin/clock` on the data plane) that stands still
//! between settings and only moves forward, persisted so a restart resumes at it — the same
//! pattern as the control plane's billing clock. Read from any thread; no I/O here.

use std::sync::Mutex;

#[derive(Debug)]
pub struct Clock {
    /// `Some` with `--test-clock`: the set instant (`None` inside until first set).
    test: Option<Mutex<Option<u64>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("this data plane was not started with --test-clock")]
    NotATestClock,
    #[error("the test clock only moves forward: it is at {now} ms, asked for {asked} ms")]
    Backwards { now: u64, asked: u64 },
}

impl Clock {
    pub fn system() -> Clock {
        Clock { test: None }
    }

    /// A settable clock, resuming at `resume_ms` when a previous run set one.
    pub fn test(resume_ms: Option<u64>) -> Clock {
        Clock { test: Some(Mutex::new(resume_ms)) }
    }

    pub fn is_test(&self) -> bool {
        self.test.is_some()
    }

    pub fn now_ms(&self) -> u64 {
        let set = self.test.as_ref().and_then(|m| *m.lock().unwrap_or_else(|p| p.into_inner()));
        set.unwrap_or_else(chatedge_config::time::unix_ms)
    }

    /// Moves a test clock to `to_ms` (never backwards).
    pub fn set(&self, to_ms: u64) -> Result<(), ClockError> {
        let cell = self.test.as_ref().ok_or(ClockError::NotATestClock)?;
        let mut held = cell.lock().unwrap_or_else(|p| p.into_inner());
        let now = held.unwrap_or_else(chatedge_config::time::unix_ms);
        if to_ms < now {
            return Err(ClockError::Backwards { now, asked: to_ms });
        }
        *held = Some(to_ms);
        Ok(())
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
        assert!(matches!(c.set(1), Err(ClockError::Backwards { .. })));
        assert_eq!(Clock::system().set(1), Err(ClockError::NotATestClock));
    }
}
