//! queue: durable enqueue and pop of one instance's queue ([`InstanceQueue`]) on RocksDB, with
//! `sync = true` through the committer (the data plane's only write path) and, as a baseline,
//! the same keys and values written straight to RocksDB with `sync` on and off.
//!
//! What it protects:
//! - `enqueue/committer_sync_on` guards the decision to answer send-text only after an fsync
//!   yet keep throughput by group commit: 256 messages pushed one per batch, as 256 concurrent
//!   requests would be, must cost a few fsyncs, not 256. The project's ceiling for one
//!   committer writing groups of 64 is ~158k durable writes/s on this machine; a figure near
//!   the one-fsync-per-write ceiling (~3.7k/s) means group commit is broken.
//! - `enqueue/direct_sync_{on,off}` separate the fsync (on − off, in groups of 64) from the
//!   committer's thread hand-off (committer − direct_sync_on). The project's sync-off ceiling
//!   is ~284k/s; committer well below direct_sync_on means the hand-off got expensive.
//! - `pop/*` guards the queue's cursor reads: a backlog of 1024 messages is popped
//!   (`take_front` + `complete`, 64 completions per batch) while the queue's head keeps moving
//!   over the tombstones of earlier iterations. Reads seek from an in-memory cursor; if they
//!   crawled the tombstones from the prefix start, pops would fall by ~6× (3k → 0.5k/s in the
//!   project's notes) and keep falling as the run goes on.

use std::time::{Duration, Instant};

use chatedge_benches::{default_max_batch, sample_message, Submitter, TempStore};
use chatedge_config::InstanceId;
use chatedge_dataplane::queue::InstanceQueue;
use chatedge_dataplane::store::Batch;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Messages enqueued per measured round.
const ENQUEUE_N: usize = 256;
/// Backlog popped per measured round (16 windows of 64: most pops refill from disk).
const POP_N: usize = 1024;
/// Batches per direct `WriteBatch`, and completions per pop batch.
const GROUP: usize = 64;

/// Pushes `n` fresh messages, one batch each, returning the batches and the last seq.
fn push_batches(q: &mut InstanceQueue, id: InstanceId, n: usize) -> (Vec<Batch>, u64) {
    let mut last = 0;
    let batches = (0..n)
        .map(|_| {
            let mut b = Batch::new();
            last = q.push(sample_message(id), &mut b);
            b
        })
        .collect();
    (batches, last)
}

/// Makes one pop batch durable: through the committer (sync on, waited for at the end of the
/// round) or straight to RocksDB with sync off.
fn flush(ts: &TempStore, s: &mut Submitter<'_>, via_committer: bool, batch: Batch) {
    if via_committer {
        s.submit(batch);
    } else {
        ts.write_direct(&[batch], false);
    }
}

fn enqueue(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue/enqueue");
    g.throughput(Throughput::Elements(ENQUEUE_N as u64));

    // The real path: each message is its own batch, submitted as soon as it is pushed; the
    // committer groups whatever is waiting (up to the default max_batch) under one fsync.
    {
        let (ts, id, mut q) = fresh_queue();
        g.bench_function("committer_sync_on", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let messages: Vec<_> = (0..ENQUEUE_N).map(|_| sample_message(id)).collect();
                    let started = Instant::now();
                    let mut s = ts.submitter();
                    let mut last = 0;
                    for m in messages {
                        let mut batch = Batch::new();
                        last = q.push(m, &mut batch);
                        s.submit(batch);
                    }
                    s.wait();
                    q.mark_committed(last);
                    total += started.elapsed();
                }
                total
            })
        });
    }

    // The same pushes written without the committer, GROUP batches per WriteBatch.
    for (name, sync) in [("direct_sync_on", true), ("direct_sync_off", false)] {
        let (ts, id, mut q) = fresh_queue();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let (batches, last) = push_batches(&mut q, id, ENQUEUE_N);
                    for chunk in batches.chunks(GROUP) {
                        ts.write_direct(chunk, sync);
                    }
                    q.mark_committed(last);
                    total += started.elapsed();
                }
                total
            })
        });
    }
    g.finish();
}

/// An empty queue of a new instance on its own temporary store.
fn fresh_queue() -> (TempStore, InstanceId, InstanceQueue) {
    let id = InstanceId::generate();
    (TempStore::open(default_max_batch()), id, InstanceQueue::new(id))
}

fn pop(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue/pop");
    g.throughput(Throughput::Elements(POP_N as u64));
    for (name, via_committer) in [("committer_sync_on", true), ("direct_sync_off", false)] {
        let (ts, id, mut q) = fresh_queue();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // Untimed: a durable backlog of POP_N messages (one batch, one fsync).
                    let (batches, last) = push_batches(&mut q, id, POP_N);
                    ts.commit_all(batches);
                    q.mark_committed(last);

                    let started = Instant::now();
                    let mut s = ts.submitter();
                    let mut batch = Batch::new();
                    let mut in_batch = 0;
                    let mut popped = 0;
                    while let Some(taken) = q.take_front(&ts.store).unwrap_or_else(|e| panic!("pop failed: {e}")) {
                        q.complete(taken.seq, &mut batch, &ts.store);
                        popped += 1;
                        in_batch += 1;
                        if in_batch == GROUP {
                            flush(&ts, &mut s, via_committer, std::mem::take(&mut batch));
                            in_batch = 0;
                        }
                    }
                    if in_batch > 0 {
                        flush(&ts, &mut s, via_committer, batch);
                    }
                    s.wait();
                    total += started.elapsed();
                    assert_eq!(popped, POP_N, "the whole backlog pops");
                    assert!(q.is_empty());
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = chatedge_benches::storage_criterion();
    targets = enqueue, pop
}
criterion_main!(benches);
