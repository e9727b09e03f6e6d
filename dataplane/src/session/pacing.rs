//! Pacing: the random gap between two messages of one instance, so a number sends like a
//! person (Z-API default: random 1–3 s). `0/0` sends as fast as the network acknowledges.

use std::time::Duration;

use chatedge_config::snapshot::Pacing;
use rand::Rng;

/// A gap drawn uniformly from `[min_delay_ms, max_delay_ms]`.
pub fn draw(p: Pacing) -> Duration {
    if p.max_delay_ms == 0 {
        return Duration::ZERO;
    }
    let lo = p.min_delay_ms.min(p.max_delay_ms);
    Duration::from_millis(rand::rng().random_range(lo..=p.max_delay_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_stay_within_the_configured_range() {
        let p = Pacing { min_delay_ms: 1000, max_delay_ms: 3000 };
        for _ in 0..1000 {
            let d = draw(p).as_millis();
            assert!((1000..=3000).contains(&d), "{d}");
        }
        assert_eq!(draw(Pacing { min_delay_ms: 0, max_delay_ms: 0 }), Duration::ZERO);
    }
}
