//! Lanes and the fair choice among them. A *lane* is (instance, endpoint): the queues of one
//! instance whose current URL is that endpoint; its next event is the lowest-seq head among
//! those queues, and it has at most one attempt in flight, so events of one instance reach one
//! endpoint in the order they happened and a failing head holds back only its lane.
//! [`pick`] is the pure scheduling step the dispatcher runs each turn (edge runtime): endpoints
//! with ready lanes are served round-robin, one lane per endpoint per round, each endpoint up
//! to what its cap (and breaker) allows, from two separate pools of slots — a retry never
//! takes a first attempt's slot.

use std::collections::VecDeque;

use super::StoredEvent;

/// One queue as the dispatcher knows it: a bounded read-ahead of its next events.
#[derive(Debug, Default)]
pub struct Queue {
    /// Events loaded from the store, in seq order (at most a read-ahead's worth).
    pub buf: VecDeque<(u64, StoredEvent)>,
    /// The next load starts here.
    pub next_seq: u64,
    /// The lowest seq notified while it may lie behind the read cursor, so the next load
    /// starts there instead. Seqs are handed out when an event joins its batch, and writers
    /// other than the instance's shard (requeue, replay, dead-letter retry, disabled notices)
    /// commit theirs concurrently: one can commit after a higher seq of the same queue was
    /// already read, and without this it would be skipped.
    pub rewind: Option<u64>,
    /// The store may hold events not in `buf`.
    pub more: bool,
    /// Bumped by every notification, so a load that raced one knows to look again.
    pub gen: u64,
    /// The highest seq the dispatcher has been told is committed (`u64::MAX` when found by a
    /// scan). A load ignores events past it: one committed after the last notification the
    /// dispatcher read could otherwise overtake an earlier event of another queue of the
    /// same lane whose notification is still in the channel.
    pub known_max: u64,
    pub busy: Busy,
    /// No load before this time (unix ms), after a failed read.
    pub load_after_ms: u64,
    /// Events taken from its head since its delivered span was last compacted.
    pub deleted: u32,
    /// Deletes of its delivered events submitted and not yet durable (the attempt does not
    /// wait for them; the committer's completion counts them down). While any is pending the
    /// store still holds delivered events, so the queue is neither forgotten (a fresh one
    /// reads from its start) nor read again from behind its cursor.
    pub settling: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    #[default]
    Idle,
    /// A read-ahead is under way (it started at this `gen`).
    Loading(u64),
    /// Its head is being attempted.
    InFlight,
    /// A job is emptying it (dropped or dead-lettered; started at this `gen`).
    Emptying(u64),
}

impl Queue {
    pub fn notified() -> Self {
        Queue { more: true, ..Default::default() }
    }

    /// Notes that `seq` was committed. A seq the cursor has passed, not buffered, is read
    /// again from (it committed late); while a load is running any seq may be behind it.
    pub fn committed(&mut self, seq: u64) {
        self.more = true;
        self.gen += 1;
        self.known_max = self.known_max.max(seq);
        let loading = matches!(self.busy, Busy::Loading(_));
        if (loading || seq < self.next_seq) && !self.holds(seq) {
            self.rewind = Some(self.rewind.map_or(seq, |r| r.min(seq)));
        }
    }

    /// Whether `seq` is in the read-ahead.
    pub fn holds(&self, seq: u64) -> bool {
        self.buf.binary_search_by_key(&seq, |(s, _)| *s).is_ok()
    }

    /// Whether deletes of delivered events are still on their way to disk.
    pub fn is_settling(&self) -> bool {
        self.settling.load(std::sync::atomic::Ordering::Acquire) > 0
    }

    /// Whether the next load reads behind the cursor, over events maybe delivered already.
    pub fn rewinds(&self) -> bool {
        self.rewind.is_some_and(|r| r < self.next_seq)
    }

    /// Where the next load starts: the cursor, or a late seq behind it.
    pub fn load_from(&mut self) -> u64 {
        match self.rewind.take() {
            Some(r) if r < self.next_seq => r,
            _ => self.next_seq,
        }
    }

    /// Files loaded events in seq order, skipping those already held; returns how many were
    /// added. A late event behind the cursor is inserted in its place.
    pub fn file(&mut self, seq: u64, event: StoredEvent) -> bool {
        self.next_seq = self.next_seq.max(seq + 1);
        match self.buf.binary_search_by_key(&seq, |(s, _)| *s) {
            Ok(_) => false,
            Err(at) => {
                self.buf.insert(at, (seq, event));
                true
            }
        }
    }

    /// After a load: a rewind the load covered (the seq is now held, or ahead of the cursor)
    /// is done with.
    pub fn settle_rewind(&mut self) {
        if let Some(r) = self.rewind {
            if r >= self.next_seq || self.holds(r) {
                self.rewind = None;
            }
        }
    }

    /// Removes the event `seq` (delivered or dead-lettered) wherever it is in the read-ahead.
    pub fn take(&mut self, seq: u64) -> bool {
        match self.buf.binary_search_by_key(&seq, |(s, _)| *s) {
            Ok(at) => self.buf.remove(at).is_some(),
            Err(_) => false,
        }
    }

    /// Keeps only the head in memory (a lane that waits: a retry not yet due, an open
    /// breaker); the rest is read again from the store when the lane moves. Returns how many
    /// events were let go.
    pub fn trim_to_head(&mut self) -> usize {
        let Some(&(head, _)) = self.buf.front() else { return 0 };
        let dropped = self.buf.len() - 1;
        if dropped > 0 {
            self.buf.truncate(1);
            self.next_seq = head + 1;
            self.more = true;
        }
        dropped
    }
}

/// A ready lane of an endpoint: its head can go now.
#[derive(Debug, Clone, Copy)]
pub struct ReadyLane<L> {
    pub lane: L,
    /// The head has been attempted before: it needs a retry slot.
    pub retry: bool,
}

/// An endpoint with ready lanes, and how many more attempts it may have in flight now.
#[derive(Debug)]
pub struct ReadyEndpoint<L> {
    pub allowed: usize,
    /// Oldest head first.
    pub lanes: Vec<ReadyLane<L>>,
}

/// Free slots of each class.
#[derive(Debug, Clone, Copy)]
pub struct Slots {
    pub first: usize,
    pub retry: usize,
}

/// Chooses the lanes to launch now: round-robin over `endpoints` starting at `start`, one
/// lane per endpoint per round, until nothing more fits. Returns (endpoint index, lane) in
/// launch order and takes the slots used from `slots`.
pub fn pick<L: Copy>(endpoints: &mut [ReadyEndpoint<L>], start: usize, slots: &mut Slots) -> Vec<(usize, L)> {
    let n = endpoints.len();
    let mut cursor = vec![0usize; n];
    let mut out = Vec::new();
    loop {
        let mut progressed = false;
        for step in 0..n {
            let i = (start + step) % n;
            let ep = &mut endpoints[i];
            if ep.allowed == 0 {
                continue;
            }
            // The endpoint's next lane whose class still has a slot.
            while cursor[i] < ep.lanes.len() {
                let lane = ep.lanes[cursor[i]];
                cursor[i] += 1;
                let free = if lane.retry { &mut slots.retry } else { &mut slots.first };
                if *free > 0 {
                    *free -= 1;
                    ep.allowed -= 1;
                    out.push((i, lane.lane));
                    progressed = true;
                    break;
                }
            }
        }
        if !progressed {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(allowed: usize, lanes: &[(u32, bool)]) -> ReadyEndpoint<u32> {
        ReadyEndpoint { allowed, lanes: lanes.iter().map(|&(lane, retry)| ReadyLane { lane, retry }).collect() }
    }

    #[test]
    fn endpoints_are_served_in_turn_not_one_after_the_other() {
        let mut eps =
            vec![endpoint(16, &[(1, false), (2, false), (3, false)]), endpoint(16, &[(10, false), (11, false)])];
        let mut slots = Slots { first: 4, retry: 0 };
        let got: Vec<u32> = pick(&mut eps, 0, &mut slots).into_iter().map(|(_, l)| l).collect();
        assert_eq!(got, vec![1, 10, 2, 11]);
        assert_eq!(slots.first, 0);
    }

    #[test]
    fn an_endpoint_at_its_cap_gets_nothing_and_does_not_stop_the_others() {
        let mut eps =
            vec![endpoint(0, &[(1, false), (2, false)]), endpoint(2, &[(10, false), (11, false), (12, false)])];
        let mut slots = Slots { first: 512, retry: 64 };
        let got: Vec<u32> = pick(&mut eps, 0, &mut slots).into_iter().map(|(_, l)| l).collect();
        assert_eq!(got, vec![10, 11], "the capped endpoint sends nothing; the other up to its own cap");
    }

    #[test]
    fn a_retry_never_takes_a_first_attempts_slot() {
        let mut eps = vec![endpoint(16, &[(1, true), (2, true), (3, false)]), endpoint(16, &[(10, false)])];
        let mut slots = Slots { first: 2, retry: 1 };
        let got: Vec<u32> = pick(&mut eps, 0, &mut slots).into_iter().map(|(_, l)| l).collect();
        assert_eq!(got, vec![1, 10, 3], "one retry slot, then first attempts only");
        assert_eq!((slots.first, slots.retry), (0, 0));
    }

    fn event() -> StoredEvent {
        StoredEvent::new(
            chatedge_config::EventId::generate(),
            chatedge_config::InstanceId::generate(),
            chatedge_config::snapshot::WebhookKind::Delivery,
            "DeliveryCallback".into(),
            bytes::Bytes::from_static(b"{}"),
        )
    }

    #[test]
    fn a_seq_committed_behind_the_read_cursor_is_read_again_and_filed_in_order() {
        let mut q = Queue::notified();
        for seq in [10, 30] {
            assert!(q.file(seq, event()));
        }
        assert_eq!(q.next_seq, 31);
        q.committed(30); // its own notification, already held: nothing to re-read
        assert_eq!(q.rewind, None);
        q.committed(20); // a requeue that took seq 20 and committed after 30 was read
        assert_eq!(q.load_from(), 20, "the next load starts at the late seq");
        assert!(q.file(20, event()));
        assert!(!q.file(30, event()), "what is held is not filed twice");
        q.settle_rewind();
        let seqs: Vec<u64> = q.buf.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, vec![10, 20, 30]);
        assert_eq!((q.rewind, q.next_seq), (None, 31));
        assert!(q.take(20) && !q.take(20));
    }

    #[test]
    fn a_notification_during_a_load_keeps_its_seq_until_a_load_has_covered_it() {
        let mut q = Queue::notified();
        q.busy = Busy::Loading(0);
        q.committed(5);
        q.busy = Busy::Idle;
        q.file(7, event()); // the load saw only a later seq
        q.settle_rewind();
        assert_eq!(q.load_from(), 5, "seq 5 may have committed after the load's iterator opened");
    }

    #[test]
    fn a_waiting_lane_keeps_only_its_head() {
        let mut q = Queue::notified();
        for seq in 1..=64 {
            q.file(seq, event());
        }
        q.more = false;
        assert_eq!(q.trim_to_head(), 63);
        assert_eq!((q.buf.len(), q.next_seq, q.more), (1, 2, true));
        assert_eq!(q.trim_to_head(), 0);
    }

    #[test]
    fn the_starting_endpoint_rotates() {
        let mut eps = vec![endpoint(16, &[(1, false)]), endpoint(16, &[(10, false)])];
        let got: Vec<u32> = pick(&mut eps, 1, &mut Slots { first: 1, retry: 0 }).into_iter().map(|(_, l)| l).collect();
        assert_eq!(got, vec![10]);
    }
}
