//! send_path: the CPU the edge spends on one `POST /instances/{id}/token/{token}/send-text`
//! before anything touches storage — routing the path, authenticating the instance against a
//! snapshot of 10,000 instances, and turning the body into a validated message with fresh ids.
//! Each request cycles to another instance, so lookups are not served from one hot entry.
//!
//! What it protects: the send path's budget in front of the committer. Group commit lets one
//! node queue on the order of 10⁵ durable messages/s, so the edge's own CPU per request must
//! stay in single-digit microseconds. `auth` guards two decisions: a token is checked by its
//! SHA-256 hash, compared in constant time, and an unknown instance or wrong token costs the
//! same work as a hit (no timing oracle) — `auth_unknown_instance` and `auth_wrong_token`
//! should sit within ~15 % of `auth_hit` (measured: an unknown instance is 3–11 % cheaper, from
//! the map lookup missing; the hashing is equal); a miss much cheaper than a hit is a
//! regression, as is lookup time growing with the number of instances. `full` measured
//! 1.7–3.1 µs; above ~10 µs is a regression.
//!
//! `encode` is the message's stored form, which the shard writes for every accepted send (its
//! ids as hex strings: written straight into the output, not through `fmt`).
//!
//! Routing is measured the way the edge does it (split the path, match the `/instances/…`
//! shape, then `api::zapi::route_label` on the rest); the edge's own splitter is private, so
//! its few lines are mirrored here.

use std::hint::black_box;

use bytes::Bytes;
use chatedge_benches::{fleet, SAMPLE_TEXT};
use chatedge_config::{InstanceId, Secret};
use chatedge_dataplane::api::zapi::{parse_send_text, route_label};
use chatedge_dataplane::auth;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Instances in the snapshot.
const INSTANCES: usize = 10_000;

/// What the edge's router does with the path (it owns a copy of the URI path, splits it into
/// segments and matches the `/instances/…` shape), then the Z-API route table: (route label,
/// instance id, token).
fn route(path: &str) -> Option<(&'static str, &str, &str)> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["instances", id, "token", token, rest @ ..] => Some((route_label(rest)?, id, token)),
        _ => None,
    }
}

fn send_path(c: &mut Criterion) {
    let fleet = fleet(INSTANCES);
    let snapshot = &fleet.snapshot;
    let creds: Vec<(String, String)> =
        fleet.credentials.iter().map(|(id, token)| (id.to_string(), token.expose().to_owned())).collect();
    let paths: Vec<String> =
        creds.iter().map(|(id, token)| format!("/instances/{id}/token/{token}/send-text")).collect();
    let strangers: Vec<String> = (0..INSTANCES).map(|_| InstanceId::generate().to_string()).collect();
    let wrong = Secret::generate(16).expose().to_owned();
    let body = Bytes::from(
        serde_json::json!({"phone": "5511999999999", "message": SAMPLE_TEXT, "delayMessage": 3}).to_string(),
    );
    let any_instance = fleet.credentials[0].0;
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) % INSTANCES;
        i
    };

    let mut g = c.benchmark_group("send_path");
    g.throughput(Throughput::Elements(1));
    g.bench_function("route", |b| {
        b.iter(|| {
            let path = black_box(&paths[next()]).to_owned();
            let label = route(&path).map(|(label, _, _)| label);
            assert_eq!(label, Some("zapi.send-text"));
            label
        })
    });
    g.bench_function("auth_hit", |b| {
        b.iter(|| {
            let (id, token) = &creds[next()];
            let found = auth::instance(black_box(snapshot), id, token);
            assert!(found.is_some());
            found
        })
    });
    g.bench_function("auth_unknown_instance", |b| {
        b.iter(|| {
            let n = next();
            let found = auth::instance(black_box(snapshot), &strangers[n], &creds[n].1);
            assert!(found.is_none());
            found
        })
    });
    g.bench_function("auth_wrong_token", |b| {
        b.iter(|| {
            let found = auth::instance(black_box(snapshot), &creds[next()].0, &wrong);
            assert!(found.is_none());
            found
        })
    });
    g.bench_function("parse_send_text", |b| {
        b.iter(|| parse_send_text(black_box(&body), any_instance).unwrap_or_else(|e| panic!("{e:?}")))
    });
    let queued = parse_send_text(&body, any_instance).unwrap_or_else(|e| panic!("{e:?}"));
    g.bench_function("encode", |b| b.iter(|| black_box(&queued).encode()));
    g.bench_function("full", |b| {
        b.iter(|| {
            let path = black_box(&paths[next()]).to_owned();
            let Some((_, id, token)) = route(&path) else { panic!("route must match") };
            let Some(instance) = auth::instance(snapshot, id, token) else { panic!("token must match") };
            parse_send_text(black_box(&body), instance.id).unwrap_or_else(|e| panic!("{e:?}"))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = chatedge_benches::quick_criterion();
    targets = send_path
}
criterion_main!(benches);
