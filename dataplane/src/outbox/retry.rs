//! The retry policy: what one attempt's answer means for the event. Pure functions (time and
//! jitter are arguments), table-tested; the dispatcher applies them on the edge runtime.
//!
//! Issue 9 §3: the first attempt goes at once, then after each step of `[webhooks]
//! retry_schedule` (default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — about 27.5 h in all),
//! each ±20 % jitter; after the last step the event goes to dead letters. Any 2xx is success;
//! 3xx is a failure (redirects are never followed); 410 Gone disables the endpoint; a timeout
//! or a 429 waits at least [`SLOW_DOWN`]; `Retry-After` (seconds or an HTTP date), clamped to
//! [[`MIN_RETRY_AFTER`], [`MAX_RETRY_AFTER`]], can lengthen a step but never shorten it (a
//! receiver answering `503` + `Retry-After: 1` must not burn the whole schedule in seconds);
//! the 60 s floor of a timeout or 429 applies on top.

use std::time::{Duration, SystemTime};

/// Least wait after a timeout or a 429 (the receiver is overloaded or gone).
pub const SLOW_DOWN: Duration = Duration::from_secs(60);
pub const MIN_RETRY_AFTER: Duration = Duration::from_secs(1);
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);
/// ± this fraction of each step.
pub const JITTER: f64 = 0.2;

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The receiver answered with this status.
    Status(u16),
    /// No answer within `[webhooks] timeout` (or no connection within `connect_timeout`).
    Timeout,
    /// The connection failed (refused, reset, TLS, DNS).
    Connect,
}

/// What happens to the event next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Delivered,
    /// Try again after this long.
    RetryIn(Duration),
    /// The schedule is exhausted: to dead letters.
    DeadLetter,
    /// 410 Gone: disable the endpoint for the instance.
    Disable,
    /// A recovery probe failed: the event stays exactly as it was (its attempts and its
    /// schedule are untouched); the endpoint is probed again after this long.
    Held(Duration),
}

impl Answer {
    pub fn is_success(&self) -> bool {
        matches!(self, Answer::Status(s) if (200..300).contains(s))
    }

    /// A short, URL-free description for logs, metrics-free storage and the endpoints API.
    pub fn describe(&self) -> String {
        match self {
            Answer::Status(s) => format!("HTTP {s}"),
            Answer::Timeout => "timeout".into(),
            Answer::Connect => "connection failed".into(),
        }
    }
}

/// How long after a failed recovery probe the endpoint is probed again: `probe_after`, at
/// least [`SLOW_DOWN`] after a timeout or a 429, and longer when the receiver's `Retry-After`
/// (clamped like a retry's) asks for it. Probes never burn the schedule: they keep their own.
pub fn probe_again_in(probe_after: Duration, answer: &Answer, retry_after: Option<Duration>) -> Duration {
    let asked = retry_after.map_or(Duration::ZERO, |ra| ra.clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER));
    let slow_down = matches!(answer, Answer::Timeout | Answer::Status(429));
    let floor = if slow_down { SLOW_DOWN } else { Duration::ZERO };
    probe_after.max(asked).max(floor)
}

/// The decision after an attempt. `attempts` counts attempts made including this one;
/// `jitter` is uniform in [-1, 1] (the caller draws it); `retry_after` is the receiver's
/// header, already parsed.
pub fn next(schedule: &[Duration], attempts: u32, answer: &Answer, retry_after: Option<Duration>, jitter: f64) -> Next {
    if answer.is_success() {
        return Next::Delivered;
    }
    if *answer == Answer::Status(410) {
        return Next::Disable;
    }
    let Some(step) = schedule.get(attempts.saturating_sub(1) as usize) else { return Next::DeadLetter };
    let jittered = step.mul_f64(1.0 + JITTER * jitter.clamp(-1.0, 1.0));
    // The receiver may ask for more time than the step, never for less.
    let wait = match retry_after {
        Some(ra) => jittered.max(ra.clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER)),
        None => jittered,
    };
    let slow_down = matches!(answer, Answer::Timeout | Answer::Status(429));
    Next::RetryIn(if slow_down { wait.max(SLOW_DOWN) } else { wait })
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date (relative to `now`; a date in
/// the past means no wait). `None` when it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatedge_config::file::parse_duration;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn default_schedule() -> Vec<Duration> {
        ["5s", "5m", "30m", "2h", "5h", "10h", "10h"].iter().map(|d| parse_duration(d).unwrap()).collect()
    }

    #[test]
    fn the_policy_table() {
        let sched = default_schedule();
        let cases: &[(u32, Answer, Option<Duration>, f64, Next)] = &[
            (1, Answer::Status(200), None, 0.0, Next::Delivered),
            (3, Answer::Status(204), None, 0.0, Next::Delivered),
            (1, Answer::Status(503), None, 0.0, Next::RetryIn(s(5))),
            (2, Answer::Status(500), None, 0.0, Next::RetryIn(s(300))),
            (1, Answer::Status(301), None, 0.0, Next::RetryIn(s(5))),
            (1, Answer::Status(302), None, 1.0, Next::RetryIn(s(6))),
            (1, Answer::Status(404), None, -1.0, Next::RetryIn(s(4))),
            (1, Answer::Status(410), None, 0.0, Next::Disable),
            (7, Answer::Status(410), None, 0.0, Next::Disable),
            (1, Answer::Timeout, None, 0.0, Next::RetryIn(SLOW_DOWN)),
            (1, Answer::Status(429), None, 0.0, Next::RetryIn(SLOW_DOWN)),
            (3, Answer::Timeout, None, 0.0, Next::RetryIn(s(1800))),
            (1, Answer::Connect, None, 0.0, Next::RetryIn(s(5))),
            (1, Answer::Status(503), Some(s(120)), 0.0, Next::RetryIn(s(120))),
            (1, Answer::Status(503), Some(s(0)), 0.0, Next::RetryIn(s(5))),
            (1, Answer::Status(503), Some(s(1)), 0.0, Next::RetryIn(s(5))),
            (2, Answer::Status(503), Some(s(1)), 0.0, Next::RetryIn(s(300))),
            (3, Answer::Status(503), Some(s(120)), 0.0, Next::RetryIn(s(1800))),
            (1, Answer::Status(503), Some(s(86_400)), 0.0, Next::RetryIn(MAX_RETRY_AFTER)),
            (1, Answer::Status(429), Some(s(5)), 0.0, Next::RetryIn(SLOW_DOWN)),
            (1, Answer::Status(429), Some(s(600)), 0.0, Next::RetryIn(s(600))),
            (7, Answer::Status(503), None, 0.0, Next::RetryIn(s(36_000))),
            (8, Answer::Status(503), None, 0.0, Next::DeadLetter),
            (8, Answer::Timeout, None, 0.0, Next::DeadLetter),
        ];
        for (attempts, answer, ra, jitter, want) in cases {
            assert_eq!(next(&sched, *attempts, answer, *ra, *jitter), *want, "{attempts} {answer:?} {ra:?}");
        }
    }

    #[test]
    fn a_failed_recovery_probe_waits_its_own_interval_not_the_schedule() {
        let every = s(30);
        let cases: &[(Answer, Option<Duration>, Duration)] = &[
            (Answer::Status(503), None, every),
            (Answer::Connect, None, every),
            (Answer::Status(500), Some(s(1)), every),
            (Answer::Status(503), Some(s(120)), s(120)),
            (Answer::Status(503), Some(s(86_400)), MAX_RETRY_AFTER),
            (Answer::Timeout, None, SLOW_DOWN),
            (Answer::Status(429), None, SLOW_DOWN),
            (Answer::Status(429), Some(s(600)), s(600)),
        ];
        for (answer, ra, want) in cases {
            assert_eq!(probe_again_in(every, answer, *ra), *want, "{answer:?} {ra:?}");
        }
    }

    #[test]
    fn the_default_schedule_spans_about_27_and_a_half_hours() {
        let total: Duration = default_schedule().iter().sum();
        assert_eq!(total.as_secs(), 5 + 300 + 1800 + 7200 + 18_000 + 36_000 + 36_000);
        assert!((total.as_secs_f64() / 3600.0 - 27.5).abs() < 0.1);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let sched = default_schedule();
        for j in [-1.0, -0.5, 0.0, 0.3, 1.0, 7.0, -7.0] {
            let Next::RetryIn(d) = next(&sched, 2, &Answer::Status(500), None, j) else { panic!() };
            assert!(d >= s(240) && d <= s(360), "{j}: {d:?}");
        }
    }

    #[test]
    fn retry_after_never_shortens_the_schedule() {
        // 503 + `Retry-After: 1` on every attempt still takes the whole schedule.
        let sched = default_schedule();
        let mut total = Duration::ZERO;
        for attempts in 1..=sched.len() as u32 {
            let Next::RetryIn(d) = next(&sched, attempts, &Answer::Status(503), Some(s(1)), -1.0) else { panic!() };
            assert!(d >= sched[attempts as usize - 1].mul_f64(1.0 - JITTER), "attempt {attempts}: {d:?}");
            total += d;
        }
        assert!(total >= Duration::from_secs(20 * 3600), "{total:?}");
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + s(1_445_412_480);
        assert_eq!(parse_retry_after("120", now), Some(s(120)));
        assert_eq!(parse_retry_after(" 7 ", now), Some(s(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now), Some(s(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
