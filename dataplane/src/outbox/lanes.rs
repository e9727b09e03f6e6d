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

    #[test]
    fn the_starting_endpoint_rotates() {
        let mut eps = vec![endpoint(16, &[(1, false)]), endpoint(16, &[(10, false)])];
        let got: Vec<u32> = pick(&mut eps, 1, &mut Slots { first: 1, retry: 0 }).into_iter().map(|(_, l)| l).collect();
        assert_eq!(got, vec![10]);
    }
}
