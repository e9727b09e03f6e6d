//! Prometheus plumbing shared by both planes' `metrics.rs`: registering a family once (a
//! definition error is a programming error, caught by any test that builds the metrics) and
//! rendering a registry in the text exposition format for `/metrics`.

use prometheus::core::Collector;
use prometheus::{Encoder, Registry, TextEncoder};

/// Registers `metric` (built from static, valid options) with `registry` and returns it.
pub fn register<M: Collector + Clone + 'static>(registry: &Registry, metric: prometheus::Result<M>) -> M {
    let m = metric.unwrap_or_else(|e| panic!("metric definition is static and valid: {e}"));
    registry.register(Box::new(m.clone())).unwrap_or_else(|e| panic!("metric names are unique: {e}"));
    m
}

/// Every family of `registry` in the Prometheus text format.
pub fn render(registry: &Registry) -> Vec<u8> {
    let mut buf = Vec::with_capacity(16 * 1024);
    let _ = TextEncoder::new().encode(&registry.gather(), &mut buf); // writing to a Vec cannot fail
    buf
}
