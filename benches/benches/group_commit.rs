//! group_commit: how long until K concurrently submitted batches (K = 1, 8, 64, 256; each one
//! queued message, as one send-text makes) are all durable through the store's committer.
//!
//! What it protects: the single-committer group-commit design. Every write is `sync = true`,
//! so without grouping K writes cost K fsyncs (~250 µs each here) and throughput stays at the
//! one-put-per-fsync ceiling (~3.7k/s on this machine). With grouping, the time for K = 64
//! should be a small multiple of the time for K = 1, not 64 times it, and throughput at
//! K = 64…256 should approach the project's ~158k/s ceiling for one committer writing groups of
//! 64. A regression is K = 64 or 256 taking close to K × the K = 1 latency, or
//! "group commits per round" (printed after the group; it counts fsyncs) approaching K.

use std::cell::Cell;
use std::time::{Duration, Instant};

use chatedge_benches::{default_max_batch, sample_message, TempStore};
use chatedge_config::InstanceId;
use chatedge_dataplane::store::{keys, Batch, Cf};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const KS: [usize; 4] = [1, 8, 64, 256];
/// The value size of the small-value variant (a compact binary record would be about this).
const SMALL_VALUE: usize = 64;

/// The K batches of one round, each one put under a queue key. Untimed.
fn batches(k: usize, instances: &[InstanceId], seq: &mut u64, value: impl Fn(InstanceId) -> Vec<u8>) -> Vec<Batch> {
    (0..k)
        .map(|i| {
            let id = instances[i % instances.len()];
            *seq += 1;
            let mut b = Batch::new();
            b.put(Cf::Queue, keys::queue(&id, *seq), value(id));
            b
        })
        .collect()
}

fn group_commit(c: &mut Criterion) {
    let ts = TempStore::open(default_max_batch());
    // K different instances, as K concurrent requests on one node would mostly be.
    let instances: Vec<InstanceId> = (0..256).map(|_| InstanceId::generate()).collect();
    let message = |id| sample_message(id).encode();
    let small = |_| vec![7u8; SMALL_VALUE];
    let mut seq = 0u64;
    let mut report = Vec::new();
    let mut g = c.benchmark_group("group_commit");

    // Baseline: one put written straight to RocksDB with sync = true (no committer). The gap
    // to committer/1 is the committer's hand-off; its throughput is the one-put-per-fsync
    // ceiling (~3.7k/s in the project's notes).
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new("direct_one_put", 1), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batch = batches(1, &instances, &mut seq, message);
                let started = Instant::now();
                ts.write_direct(&batch, true);
                total += started.elapsed();
            }
            total
        })
    });

    // K queued messages (~350-byte values), then K = 256 with 64-byte values: if the small
    // values commit much faster, a round's cost is the bytes fsync'd, not the fsync count.
    let cases = KS.iter().map(|&k| ("committer", k, false)).chain([("committer_64B_values", 256, true)]);
    for (name, k, small_values) in cases {
        let (rounds, commits) = (Cell::new(0u64), Cell::new(0u64));
        g.throughput(Throughput::Elements(k as u64));
        g.bench_with_input(BenchmarkId::new(name, k), &k, |b, &k| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let round = match small_values {
                        true => batches(k, &instances, &mut seq, small),
                        false => batches(k, &instances, &mut seq, message),
                    };
                    let before = ts.group_commits();
                    let started = Instant::now();
                    ts.commit_all(round);
                    total += started.elapsed();
                    commits.set(commits.get() + ts.group_commits() - before);
                    rounds.set(rounds.get() + 1);
                }
                total
            })
        });
        report.push((name, k, commits.get() as f64 / rounds.get().max(1) as f64));
    }
    g.finish();
    eprintln!("group_commit: a queued message encodes to {} bytes", message(instances[0]).len());
    for (name, k, per_round) in report {
        eprintln!("group_commit {name}/{k}: {per_round:.2} group commits (fsyncs) per round of {k} batches");
    }
}

criterion_group! {
    name = benches;
    config = chatedge_benches::storage_criterion();
    targets = group_commit
}
criterion_main!(benches);
