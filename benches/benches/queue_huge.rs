//! queue_huge: one instance with 1,000,000 queued messages (issue 8, "queues of any size,
//! without stalls"), while a second instance on the same store keeps taking pushes through
//! the committer the whole time, as another instance on the same shard would.
//!
//! What it protects — each of these runs on a shard thread in the data plane, so each must
//! cost about the same with 1,000,000 messages queued as with 100:
//! - `page_late`: `GET queue?page=9000&pageSize=100` (messages 899,901–900,000) with a few
//!   thousand removals spread before it. The first seq of the page is computed from the
//!   queue's holes and one page is read; walking the skipped messages would cost ~1 s here.
//! - `page_first`: page 1, for comparison: `page_late` should cost about the same.
//! - `count`: `queue/count` (kept in memory).
//! - `zaap_index_get`: the RocksDB point read under `DELETE queue/{zaapId}`, alone. It guards
//!   the block-cache settings in dataplane/src/store/options.rs: with index and filter blocks
//!   charged to the cache it took ~0.7 ms here instead of ~6 µs.
//! - `delete_by_zaap_lookup`: `DELETE queue/{zaapId}` of a message in the second half, up to
//!   the batch being built (a point read of the zaapId index) — the part that runs on the
//!   shard thread. `delete_by_zaap_durable` adds the fsync that the request waits for.
//! - `recovery_scan`: the start-up scan of the queue family (keys only, nothing decoded) —
//!   what a restart with this queue costs before the shards start.
//!
//! Setup writes the 1,000,000 messages with `sync = false` in WriteBatches of 4096 (about
//! 10 s here), then flushes and compacts them (see [`settle`]); none of it is measured.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use chatedge_benches::{default_max_batch, sample_message, TempStore};
use chatedge_config::{InstanceId, ZaapId};
use chatedge_dataplane::queue::{recovery, InstanceQueue, Removal};
use chatedge_dataplane::store::{keys, Batch, Cf};
use criterion::{criterion_group, criterion_main, Criterion};

const HUGE: u64 = 1_000_000;
/// Messages written per setup WriteBatch.
const SETUP_CHUNK: u64 = 4096;
/// Messages removed out of order before measuring, spread over the queue.
const REMOVED_BEFORE: u64 = 3000;
/// Messages pushed per batch by the neighbouring instance.
const NEIGHBOUR_BATCH: usize = 16;

/// The huge queue and the zaapIds of its messages (to delete some by id).
struct Huge {
    ts: Arc<TempStore>,
    id: InstanceId,
    q: InstanceQueue,
    zaaps: Vec<ZaapId>,
}

fn build() -> Huge {
    let ts = Arc::new(TempStore::open(default_max_batch()));
    let id = InstanceId::generate();
    let mut q = InstanceQueue::new(id);
    let mut zaaps = Vec::with_capacity(HUGE as usize);
    let started = Instant::now();
    let mut written = 0;
    while written < HUGE {
        let mut batch = Batch::new();
        let mut last = 0;
        for _ in 0..SETUP_CHUNK.min(HUGE - written) {
            let m = sample_message(id);
            zaaps.push(m.zaap_id);
            last = q.push(m, &mut batch);
            written += 1;
        }
        ts.write_direct(&[batch], false);
        q.mark_committed(last);
    }
    // Out-of-order removals spread over the queue, so pages seek across holes.
    let mut batch = Batch::new();
    for i in 0..REMOVED_BEFORE {
        let zaap = zaaps[(i * (HUGE / REMOVED_BEFORE) + 7) as usize];
        assert_eq!(q.remove(&zaap, &mut batch, &ts.store).unwrap_or_else(|e| panic!("{e}")), Removal::Removed);
    }
    ts.commit_all([batch]);
    eprintln!("queue_huge: {} messages queued in {:.1} s", q.len(), started.elapsed().as_secs_f64());
    settle(&ts);
    Huge { ts, id, q, zaaps }
}

/// Flushes and compacts what setup wrote, as it would be in a queue that built up over hours;
/// otherwise the measurements race RocksDB's background compaction of ~400 MB written in
/// seconds (in runs without this, lookups took 3 µs or 1 ms depending on that timing).
fn settle(ts: &TempStore) {
    let started = Instant::now();
    let db = ts.store.db();
    for cf in [Cf::Queue, Cf::QueueIndex] {
        db.flush_cf(ts.store.cf(cf)).unwrap_or_else(|e| panic!("flush: {e}"));
        db.compact_range_cf(ts.store.cf(cf), None::<&[u8]>, None::<&[u8]>);
    }
    eprintln!("queue_huge: flushed and compacted in {:.1} s", started.elapsed().as_secs_f64());
}

/// Another instance pushing through the committer (sync on) until stopped; counts its pushes.
struct Neighbour {
    stop: Arc<AtomicBool>,
    pushed: Arc<AtomicU64>,
    thread: JoinHandle<()>,
}

/// `QUEUE_HUGE_QUIET=1` runs without the neighbour: the same-run baseline that shows what the
/// neighbour's load (and the CPU it takes on two cores) adds.
fn neighbour(ts: Arc<TempStore>) -> Neighbour {
    let stop = Arc::new(AtomicBool::new(std::env::var_os("QUEUE_HUGE_QUIET").is_some()));
    let pushed = Arc::new(AtomicU64::new(0));
    let (s, p) = (stop.clone(), pushed.clone());
    let thread = std::thread::spawn(move || {
        let id = InstanceId::generate();
        let mut q = InstanceQueue::new(id);
        while !s.load(Ordering::Relaxed) {
            let mut sub = ts.submitter();
            let mut last = 0;
            for _ in 0..NEIGHBOUR_BATCH {
                let mut b = Batch::new();
                last = q.push(sample_message(id), &mut b);
                sub.submit(b);
            }
            sub.wait();
            q.mark_committed(last);
            p.fetch_add(NEIGHBOUR_BATCH as u64, Ordering::Relaxed);
        }
    });
    Neighbour { stop, pushed, thread }
}

fn huge(c: &mut Criterion) {
    let mut h = build();
    let n = neighbour(h.ts.clone());
    let started = Instant::now();
    let mut g = c.benchmark_group("queue_huge");
    g.bench_function("page_late", |b| {
        b.iter(|| {
            let page = h.q.page(&h.ts.store, 9000, 100).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(page.len(), 100);
            page
        })
    });
    g.bench_function("page_first", |b| b.iter(|| h.q.page(&h.ts.store, 1, 100).unwrap_or_else(|e| panic!("{e}"))));
    g.bench_function("count", |b| b.iter(|| std::hint::black_box(&h.q).len()));
    // The zaapId index read alone (RocksDB), on the first quarter of the queue.
    let mut next_get = 0u64;
    g.bench_function("zaap_index_get", |b| {
        b.iter(|| {
            let key = keys::zaap_index(&h.id, &h.zaaps[(next_get % (HUGE / 4)) as usize]);
            next_get += 1;
            let store = &h.ts.store;
            store.db().get_pinned_cf(store.cf(Cf::QueueIndex), key).unwrap_or_else(|e| panic!("{e}")).is_some()
        })
    });
    // Each iteration looks up and removes another message of the second half of the queue
    // (wrapping round: a second pass finds them removed, which costs the same lookup). The
    // batches are not written, so criterion may run as many iterations as it likes.
    let mut next = 0u64;
    g.bench_function("delete_by_zaap_lookup", |b| {
        b.iter(|| {
            let zaap = h.zaaps[(HUGE / 2 + next % (HUGE / 2)) as usize];
            next += 1;
            let mut batch = Batch::new();
            h.q.remove(&zaap, &mut batch, &h.ts.store).unwrap_or_else(|e| panic!("{e}"))
        })
    });
    // Removes from the second quarter and waits for the fsync, sharing the committer with the
    // neighbour's pushes.
    let mut next = HUGE / 4 + 1;
    g.bench_function("delete_by_zaap_durable", |b| {
        b.iter(|| {
            let mut batch = Batch::new();
            // Skip the few removed at setup.
            while h.q.remove(&h.zaaps[next as usize], &mut batch, &h.ts.store).unwrap_or_else(|e| panic!("{e}"))
                != Removal::Removed
            {
                next += 1;
            }
            next += 1;
            h.ts.commit_all([batch]);
        })
    });
    g.sample_size(10);
    g.bench_function("recovery_scan", |b| {
        b.iter(|| {
            let all = recovery::scan(&h.ts.store).unwrap_or_else(|e| panic!("{e}"));
            assert!(all.values().any(|r| r.len() > HUGE / 2));
            all
        })
    });
    g.finish();
    n.stop.store(true, Ordering::Relaxed);
    let _ = n.thread.join();
    let pushed = n.pushed.load(Ordering::Relaxed);
    eprintln!(
        "queue_huge: the neighbouring instance pushed {pushed} messages meanwhile ({:.0}/s, sync on)",
        pushed as f64 / started.elapsed().as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = chatedge_benches::storage_criterion();
    targets = huge
}
criterion_main!(benches);
