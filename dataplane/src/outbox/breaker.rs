//! A circuit breaker per webhook endpoint (a URL string): pure state, the clock is an argument
//! (unix ms), so it is unit-tested without waiting. Owned by the dispatcher task on the edge
//! runtime; one per endpoint with events pending, dropped when the endpoint has none.
//!
//! Issue 9 §1: it opens when, over the rolling `breaker_window`, at least
//! `breaker_min_attempts` attempts were made and failures/attempts ≥ `breaker_failure_ratio`.
//! After `breaker_probe_after` one lane sends one probe: success closes it (and the dispatcher
//! makes every waiting head of the endpoint due at once), failure opens it again. The window is
//! [`BUCKETS`] counters, so its memory is fixed whatever the traffic.

use std::time::Duration;

/// Slices of the rolling window.
const BUCKETS: usize = 10;

#[derive(Debug, Clone, Copy)]
pub struct BreakerConfig {
    pub window: Duration,
    pub failure_ratio: f64,
    pub min_attempts: u32,
    pub probe_after: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    /// No attempts until this time (unix ms); then one probe.
    Open {
        until_ms: u64,
    },
    /// One probe is (or may be) under way; everything else waits for its answer.
    HalfOpen {
        probing: bool,
    },
}

/// What the breaker lets the endpoint do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Send as the endpoint's caps allow.
    Send,
    /// Send exactly one attempt: the probe.
    Probe,
    /// Nothing now; ask again at this time (unix ms), or when the probe answers (`None`).
    Wait(Option<u64>),
}

#[derive(Debug, Clone)]
pub struct Breaker {
    cfg: BreakerConfig,
    state: State,
    /// (slice start ms, attempts, failures), a ring indexed by slice number.
    buckets: [(u64, u32, u32); BUCKETS],
}

impl Breaker {
    pub fn new(cfg: BreakerConfig) -> Self {
        Breaker { cfg, state: State::Closed, buckets: [(0, 0, 0); BUCKETS] }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Closed)
    }

    /// Whether the endpoint may send now. Asking when the open time is over turns the breaker
    /// half-open and grants the probe (once).
    pub fn permit(&mut self, now_ms: u64) -> Permit {
        match self.state {
            State::Closed => Permit::Send,
            State::Open { until_ms } if now_ms >= until_ms => Permit::Probe,
            State::Open { until_ms } => Permit::Wait(Some(until_ms)),
            State::HalfOpen { probing: false } => Permit::Probe,
            State::HalfOpen { probing: true } => Permit::Wait(None),
        }
    }

    /// The probe granted by [`permit`](Self::permit) was sent.
    pub fn probe_sent(&mut self) {
        self.state = State::HalfOpen { probing: true };
    }

    /// The probe was not sent after all (its lane had nothing due): another may go.
    pub fn probe_unused(&mut self) {
        if self.state == (State::HalfOpen { probing: true }) {
            self.state = State::HalfOpen { probing: false };
        }
    }

    /// Records an attempt's outcome. Returns true when this closed an open breaker (the
    /// endpoint recovered: its waiting heads are due now).
    pub fn record(&mut self, now_ms: u64, ok: bool, probe: bool) -> bool {
        if probe {
            self.buckets = [(0, 0, 0); BUCKETS];
            self.state = if ok { State::Closed } else { self.opened(now_ms) };
            return ok;
        }
        let slice = self.slice_ms();
        let start = now_ms / slice * slice;
        let b = &mut self.buckets[((now_ms / slice) as usize) % BUCKETS];
        if b.0 != start {
            *b = (start, 0, 0);
        }
        b.1 += 1;
        b.2 += u32::from(!ok);
        if self.state == State::Closed && self.tripped(now_ms) {
            self.state = self.opened(now_ms);
        }
        false
    }

    fn opened(&self, now_ms: u64) -> State {
        State::Open { until_ms: now_ms + self.cfg.probe_after.as_millis() as u64 }
    }

    fn slice_ms(&self) -> u64 {
        (self.cfg.window.as_millis() as u64 / BUCKETS as u64).max(1)
    }

    fn tripped(&self, now_ms: u64) -> bool {
        let oldest = now_ms.saturating_sub(self.cfg.window.as_millis() as u64);
        let (attempts, failures) = self
            .buckets
            .iter()
            .filter(|b| b.0 + self.slice_ms() > oldest)
            .fold((0u32, 0u32), |(a, f), b| (a + b.1, f + b.2));
        attempts >= self.cfg.min_attempts && f64::from(failures) >= self.cfg.failure_ratio * f64::from(attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            window: Duration::from_secs(300),
            failure_ratio: 0.7,
            min_attempts: 10,
            probe_after: Duration::from_secs(30),
        }
    }

    fn feed(b: &mut Breaker, at: u64, oks: usize, fails: usize) {
        (0..oks).for_each(|_| {
            let _ = b.record(at, true, false);
        });
        (0..fails).for_each(|_| {
            let _ = b.record(at, false, false);
        });
    }

    #[test]
    fn it_opens_at_seventy_percent_failures_over_ten_attempts() {
        let mut b = Breaker::new(cfg());
        feed(&mut b, 1_000, 3, 6);
        assert_eq!(b.state(), State::Closed, "9 attempts are too few to judge");
        feed(&mut b, 1_000, 0, 1);
        assert_eq!(b.state(), State::Open { until_ms: 31_000 }, "7 of 10 failed");
    }

    #[test]
    fn sixty_percent_failures_keep_it_closed() {
        let mut b = Breaker::new(cfg());
        feed(&mut b, 1_000, 40, 60);
        assert_eq!(b.permit(1_000), Permit::Send);
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let mut b = Breaker::new(cfg());
        feed(&mut b, 1_000, 0, 9);
        feed(&mut b, 1_000 + 400_000, 0, 1);
        assert_eq!(b.state(), State::Closed);
    }

    #[test]
    fn after_the_probe_delay_one_probe_goes_and_its_success_closes_it() {
        let mut b = Breaker::new(cfg());
        feed(&mut b, 0, 0, 10);
        assert_eq!(b.permit(29_999), Permit::Wait(Some(30_000)));
        assert_eq!(b.permit(30_000), Permit::Probe);
        b.probe_sent();
        assert_eq!(b.permit(30_001), Permit::Wait(None), "only one probe at a time");
        assert!(b.record(30_500, true, true), "a successful probe reports the recovery");
        assert_eq!(b.permit(30_600), Permit::Send);
        feed(&mut b, 30_700, 0, 9);
        assert_eq!(b.state(), State::Closed, "the window starts afresh after recovery");
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let mut b = Breaker::new(cfg());
        feed(&mut b, 0, 0, 10);
        assert_eq!(b.permit(30_000), Permit::Probe);
        b.probe_sent();
        assert!(!b.record(31_000, false, true));
        assert_eq!(b.permit(31_000), Permit::Wait(Some(61_000)));
    }

    #[test]
    fn an_unused_probe_can_be_granted_again() {
        let mut b = Breaker::new(cfg());
        feed(&mut b, 0, 0, 10);
        assert_eq!(b.permit(30_000), Permit::Probe);
        b.probe_sent();
        b.probe_unused();
        assert_eq!(b.permit(30_001), Permit::Probe);
    }
}
