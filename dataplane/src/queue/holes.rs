//! `Holes`: the seqs between an instance queue's head and its tail that hold no message —
//! removed out of order (`DELETE queue/{id}`), cleared behind the message on the wire, or
//! never written (a batch that failed). Queue seqs are dense apart from these, so the n-th
//! message of the queue is found by arithmetic over the holes instead of by walking the
//! queue: [`Holes::nth_present`] is what lets `GET queue?page=N` seek straight to its page.
//!
//! Holes are kept as merged spans plus a count per bucket of 4096 seqs. Finding the n-th
//! present seq visits one entry per bucket that has holes (a 1,000,000-message queue spans
//! at most 245 buckets) and the spans of one bucket (at most 2048); inserting a span touches
//! the buckets it covers. Memory grows with the number of spans, which only out-of-order
//! removals create and the advancing head ([`Holes::prune_below`]) frees. Owned by one
//! [`InstanceQueue`](super::InstanceQueue), so it runs on that instance's shard thread.

use std::collections::BTreeMap;

const BUCKET_BITS: u32 = 12;
const BUCKET_SIZE: u64 = 1 << BUCKET_BITS;

#[derive(Debug, Default, Clone)]
pub struct Holes {
    /// start → end (exclusive); disjoint and never adjacent (adjacent spans are merged).
    spans: BTreeMap<u64, u64>,
    /// bucket (seq >> BUCKET_BITS) → hole seqs inside it; buckets without holes are absent.
    buckets: BTreeMap<u64, u64>,
    total: u64,
}

impl Holes {
    /// Every hole seq, counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn contains(&self, seq: u64) -> bool {
        self.spans.range(..=seq).next_back().is_some_and(|(_, &end)| end > seq)
    }

    /// The spans, in order (for tests and recovery checks).
    pub fn spans(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.spans.iter().map(|(&s, &e)| (s, e))
    }

    /// Hole seqs in `[from, to)`.
    pub fn count_in(&self, from: u64, to: u64) -> u64 {
        let before = self.spans.range(..from).next_back().map(|(&s, &e)| (s, e));
        before
            .into_iter()
            .chain(self.spans.range(from..to).map(|(&s, &e)| (s, e)))
            .map(|(s, e)| e.min(to).saturating_sub(s.max(from)))
            .sum()
    }

    /// Marks `[start, end)` as holes. Seqs in it that already are holes are left as they are.
    pub fn insert(&mut self, start: u64, end: u64) {
        let mut at = start;
        while at < end {
            // Skip over an existing span covering `at`, then add the gap up to the next span.
            let covering = self.spans.range(..=at).next_back().map(|(_, &e)| e).filter(|&e| e > at);
            if let Some(e) = covering {
                at = e;
                continue;
            }
            let gap_end = self.spans.range(at..end).next().map_or(end, |(&s, _)| s);
            self.insert_free(at, gap_end);
            at = gap_end;
        }
    }

    /// Inserts `[start, end)`, none of which is a hole yet, merging with neighbours.
    fn insert_free(&mut self, start: u64, end: u64) {
        self.count(start, end, true);
        let mut new_start = start;
        let mut new_end = end;
        let left = self.spans.range(..start).next_back().map(|(&s, &e)| (s, e));
        if let Some((s, e)) = left {
            if e == start {
                new_start = s;
                self.spans.remove(&s);
            }
        }
        if let Some(e) = self.spans.remove(&end) {
            new_end = e;
        }
        self.spans.insert(new_start, new_end);
    }

    /// Forgets every hole below `head` (the queue's head moved past them).
    pub fn prune_below(&mut self, head: u64) {
        while let Some((s, e)) = self.spans.first_key_value().map(|(&s, &e)| (s, e)) {
            if s >= head {
                break;
            }
            self.spans.remove(&s);
            self.count(s, e.min(head), false);
            if e > head {
                self.spans.insert(head, e);
                break;
            }
        }
    }

    pub fn clear(&mut self) {
        *self = Holes::default();
    }

    /// Adds (or takes away) the seqs `[start, end)` to the per-bucket counts.
    fn count(&mut self, start: u64, end: u64, add: bool) {
        let mut at = start;
        while at < end {
            let bucket = at >> BUCKET_BITS;
            let bucket_end = end.min((bucket + 1).saturating_mul(BUCKET_SIZE));
            let n = bucket_end - at;
            let slot = self.buckets.entry(bucket).or_default();
            if add {
                *slot += n;
                self.total += n;
            } else {
                *slot -= n;
                self.total -= n;
                if *slot == 0 {
                    self.buckets.remove(&bucket);
                }
            }
            at = bucket_end;
        }
    }

    /// The seq of the `n`-th (from 0) seq at or after `from` that is not a hole. Every hole
    /// must be at or after `from` (call [`prune_below`](Self::prune_below) with the head first).
    pub fn nth_present(&self, from: u64, n: u64) -> u64 {
        let mut pos = from;
        let mut need = n;
        for (&bucket, &holes) in self.buckets.range(from >> BUCKET_BITS..) {
            let start = (bucket << BUCKET_BITS).max(pos);
            let end = (bucket + 1).saturating_mul(BUCKET_SIZE);
            // Seqs before this bucket have no holes.
            let free = start - pos;
            if need < free {
                return pos + need;
            }
            need -= free;
            pos = start;
            let present = (end - pos) - holes;
            if need >= present {
                need -= present;
                pos = end;
                continue;
            }
            return self.walk(pos, end, need);
        }
        pos + need
    }

    /// The `need`-th present seq in `[pos, end)`, known to be there.
    fn walk(&self, mut pos: u64, end: u64, mut need: u64) -> u64 {
        if let Some(e) = self.spans.range(..pos).next_back().map(|(_, &e)| e).filter(|&e| e > pos) {
            pos = e; // a span that began in an earlier bucket
        }
        for (&s, &e) in self.spans.range(pos..end) {
            let free = s - pos;
            if need < free {
                return pos + need;
            }
            need -= free;
            pos = e;
        }
        pos + need
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The n-th present seq by walking one seq at a time: what `nth_present` must agree with.
    fn walk_slowly(holes: &std::collections::BTreeSet<u64>, from: u64, n: u64) -> u64 {
        (from..).filter(|s| !holes.contains(s)).nth(n as usize).unwrap()
    }

    #[test]
    fn a_span_across_many_buckets_is_counted_once_per_seq() {
        let mut h = Holes::default();
        h.insert(10, 1_000_010);
        h.insert(5, 20); // overlaps: only 5..10 is new
        assert_eq!(h.total(), 1_000_005);
        assert_eq!(h.spans().collect::<Vec<_>>(), vec![(5, 1_000_010)]);
        assert_eq!(h.nth_present(0, 4), 4);
        assert_eq!(h.nth_present(0, 5), 1_000_010);
        h.prune_below(500_000);
        assert_eq!(h.total(), 500_010);
        assert_eq!(h.nth_present(500_000, 0), 1_000_010);
        assert_eq!(h.count_in(0, u64::MAX), 500_010);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
        #[test]
        fn nth_present_agrees_with_walking_the_seqs(
            spans in proptest::collection::vec((0u64..20_000, 1u64..2_000), 0..40),
            head in 0u64..20_000,
            probes in proptest::collection::vec(0u64..30_000, 1..20),
        ) {
            let mut h = Holes::default();
            let mut model = std::collections::BTreeSet::new();
            for (s, len) in spans {
                h.insert(s, s + len);
                model.extend(s..s + len);
            }
            prop_assert_eq!(h.total(), model.len() as u64);
            h.prune_below(head);
            model.retain(|s| *s >= head);
            prop_assert_eq!(h.total(), model.len() as u64);
            for n in probes {
                prop_assert_eq!(h.nth_present(head, n), walk_slowly(&model, head, n));
                prop_assert_eq!(h.contains(head + n), model.contains(&(head + n)));
                prop_assert_eq!(h.count_in(head, head + n), model.range(head..head + n).count() as u64);
            }
        }
    }
}
