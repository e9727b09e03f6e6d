//! clock: the one source of "now" for every lifecycle and billing rule (trial expiry, invoice
//! issue, non-payment stop and deletion). In production it is the system clock; started with
//! `--test-clock` it is a settable instant (`POST /admin/clock`) that stands still between
//! settings and only moves forward, so tests can live through months in seconds. The set
//! instant is persisted by the registry so a restart resumes at it.
//!
//! It holds no other state and does no I/O; calendar helpers (UTC months, RFC 3339) live here
//! too. Read from any thread.

use chatedge_config::time::{civil_from_days, days_from_civil, ClockRefusal};

/// One day in milliseconds.
pub const DAY_MS: u64 = 24 * 60 * 60 * 1000;

pub use chatedge_config::time::Clock;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("this control plane was not started with --test-clock")]
    NotATestClock,
    #[error("the test clock only moves forward: it is at {now}, asked for {asked}")]
    Backwards { now: String, asked: String },
}

impl From<ClockRefusal> for ClockError {
    fn from(r: ClockRefusal) -> Self {
        match r {
            ClockRefusal::NotATestClock => ClockError::NotATestClock,
            ClockRefusal::Backwards { now_ms, asked_ms } => {
                ClockError::Backwards { now: rfc3339(now_ms), asked: rfc3339(asked_ms) }
            }
        }
    }
}

/// `2030-03-01T00:00:00.000Z`.
pub fn rfc3339(ms: u64) -> String {
    chatedge_config::time::rfc3339_ms(ms)
}

/// A month as `year * 12 + (month - 1)`: consecutive months are consecutive numbers.
pub type Month = u32;

/// The month (UTC) holding instant `ms`.
pub fn month_of(ms: u64) -> Month {
    let (y, m, _) = civil_from_days((ms / DAY_MS) as i64);
    (y as u32) * 12 + (m - 1)
}

/// Midnight UTC of day `day` (1-based) of `month`.
pub fn day_of_month_ms(month: Month, day: u32) -> u64 {
    let (y, m) = ((month / 12) as i64, month % 12 + 1);
    (days_from_civil(y, m, day).max(0) as u64) * DAY_MS
}

/// `2030-03` for a month.
pub fn month_name(month: Month) -> String {
    format!("{:04}-{:02}", month / 12, month % 12 + 1)
}

/// `2030-03-05` for an instant.
pub fn date(ms: u64) -> String {
    rfc3339(ms)[..10].to_owned()
}

/// Parses an RFC 3339 instant (`2030-03-01T00:00:00Z`, fractions and `±hh:mm` offsets
/// accepted) into Unix milliseconds; `None` for anything else or a time before 1970.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y as i64, mo) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac_ms = 0u64;
    if let Some(f) = rest.strip_prefix('.') {
        let digits = f.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &f[..digits.min(3)]);
        frac_ms = padded.parse().ok()?;
        rest = &f[digits..];
    }
    let offset_s: i64 = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let (oh, om) = (o[1..3].parse::<i64>().ok()?, o[4..6].parse::<i64>().ok()?);
            let v = oh * 3600 + om * 60;
            if o.starts_with('+') {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y as i64, mo, d);
    let secs = days * 86_400 + (h as i64) * 3600 + (mi as i64) * 60 + sec as i64 - offset_s;
    (secs >= 0).then(|| secs as u64 * 1000 + frac_ms)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_through_unix_milliseconds() {
        let ms = parse_rfc3339("2030-03-01T00:00:00Z").unwrap();
        assert_eq!(rfc3339(ms), "2030-03-01T00:00:00.000Z");
        assert_eq!(parse_rfc3339("2030-03-01T03:00:00.5+03:00"), Some(ms + 500));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00.123Z"), Some(951_782_400_123));
        for bad in ["2030-02-30T00:00:00Z", "2030-03-01", "2030-03-01T00:00:00", "yesterday", "2030-13-01T00:00:00Z"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn months_are_consecutive_numbers_with_their_days() {
        let jan = month_of(parse_rfc3339("2030-01-31T23:59:59Z").unwrap());
        let feb = month_of(parse_rfc3339("2030-02-01T00:00:00Z").unwrap());
        assert_eq!(feb, jan + 1);
        assert_eq!(month_name(jan), "2030-01");
        assert_eq!(month_name(jan - 1), "2029-12");
        assert_eq!(rfc3339(day_of_month_ms(feb, 5)), "2030-02-05T00:00:00.000Z");
        assert_eq!(date(day_of_month_ms(jan - 1, 15)), "2029-12-15");
    }

    #[test]
    fn a_test_clock_stands_still_and_never_goes_back() {
        let c = Clock::test(Some(1_000));
        assert_eq!(c.now_ms(), 1_000);
        c.set(5_000).unwrap();
        assert_eq!(c.now_ms(), 5_000);
        assert!(matches!(c.set(4_999), Err(ClockRefusal::Backwards { .. })));
        assert_eq!(Clock::system().set(1).map_err(ClockError::from), Err(ClockError::NotATestClock));
    }
}
