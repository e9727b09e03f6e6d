//! Wall-clock helpers shared by both planes.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// RFC 3339 UTC timestamp with milliseconds, e.g. `2026-11-21T23:17:24.000Z`.
pub fn rfc3339_ms(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, unix_ms % 1000)
}

/// ISO 8601 UTC timestamp to the second with an explicit offset, e.g.
/// `2026-11-21T23:17:24+00:00` (the form seed 002's webhooks write).
pub fn iso8601_s(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// (year, month, day) → days since 1970-01-01 in the proleptic Gregorian calendar
/// (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_ms(1_795_303_044_000), "2026-11-21T23:17:24.000Z");
        assert_eq!(iso8601_s(1_795_303_044_999), "2026-11-21T23:17:24+00:00");
    }
}

/// The one "now" of a plane's calendar rules (billing, campaign schedules): the system clock,
/// or with `--test-clock` a settable instant that stands still between settings and only moves
/// forward, so tests can live through months in seconds. No I/O; read from any thread.
#[derive(Debug)]
pub struct Clock {
    /// `Some` with `--test-clock`: the set instant (`None` inside until first set, when the
    /// system clock is used). A plain lock, held for nanoseconds, never across I/O.
    test: Option<std::sync::Mutex<Option<u64>>>,
}

/// Why a clock was not set; each plane words it in its own answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockRefusal {
    NotATestClock,
    Backwards { now_ms: u64, asked_ms: u64 },
}

impl Clock {
    pub fn system() -> Clock {
        Clock { test: None }
    }

    /// A settable clock, resuming at `resume_ms` when a previous run set one.
    pub fn test(resume_ms: Option<u64>) -> Clock {
        Clock { test: Some(std::sync::Mutex::new(resume_ms)) }
    }

    pub fn is_test(&self) -> bool {
        self.test.is_some()
    }

    pub fn now_ms(&self) -> u64 {
        let set = self.test.as_ref().and_then(|m| *m.lock().unwrap_or_else(|p| p.into_inner()));
        set.unwrap_or_else(unix_ms)
    }

    /// Moves a test clock to `to_ms` (never backwards).
    pub fn set(&self, to_ms: u64) -> Result<(), ClockRefusal> {
        let cell = self.test.as_ref().ok_or(ClockRefusal::NotATestClock)?;
        let mut held = cell.lock().unwrap_or_else(|p| p.into_inner());
        let now_ms = held.unwrap_or_else(unix_ms);
        if to_ms < now_ms {
            return Err(ClockRefusal::Backwards { now_ms, asked_ms: to_ms });
        }
        *held = Some(to_ms);
        Ok(())
    }
}
