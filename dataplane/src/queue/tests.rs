use std::collections::VecDeque;
use std::sync::Arc;

use chatedge_config::{MessageId, Phone};
use proptest::prelude::*;

use super::*;
use crate::metrics::Metrics;
use crate::store::Completion;

fn commit(store: &Store, batch: Batch) {
    let (tx, rx) = std::sync::mpsc::channel();
    store.submit(batch, Completion::call(move |r| tx.send(r).unwrap()));
    rx.recv().unwrap().unwrap();
}

const PHONES: [&str; 3] = ["5511999990001", "5511999990002", "120363019502650977-group"];

fn phone(p: usize) -> Phone {
    Phone::parse(PHONES[p % PHONES.len()]).unwrap()
}

/// Every third message carries a stored image (its digest made from `n`).
fn message(instance: InstanceId, n: u32, to: usize) -> OutboundMessage {
    let content = if n.is_multiple_of(3) {
        let stored = crate::media::StoredMedia {
            digest: crate::media::Digest::of(&n.to_be_bytes()),
            size: 4,
            mime: "image/png".into(),
        };
        Content::Media(Box::new(content::Media {
            kind: crate::media::MediaKind::Image,
            source: content::MediaSource::Stored(stored),
            caption: Some(format!("m{n}")),
            file_name: None,
            extension: None,
            view_once: false,
            sticker_author: None,
        }))
    } else {
        Content::text(format!("m{n}"))
    };
    let mut m = OutboundMessage::new(instance, phone(to), content);
    m.message_id = MessageId::generate();
    m.created_ms = n as u64;
    m
}

#[derive(Debug, Clone)]
enum Step {
    Push(usize),
    /// Takes the head and completes it at once.
    Send,
    /// Takes the head and leaves it on the wire.
    Take,
    /// The network answers the message on the wire.
    Answer,
    /// The connection drops: the message on the wire goes back.
    Drop,
    Remove(usize),
    RemoveUnknown,
    RemovePhone(usize, usize),
    Clear,
    Restart,
    Page(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0usize..3).prop_map(Step::Push),
        3 => Just(Step::Send),
        2 => Just(Step::Take),
        2 => Just(Step::Answer),
        1 => Just(Step::Drop),
        2 => (0usize..80).prop_map(Step::Remove),
        1 => Just(Step::RemoveUnknown),
        1 => ((0usize..3), (1usize..5)).prop_map(|(p, n)| Step::RemovePhone(p, n)),
        1 => Just(Step::Clear),
        1 => Just(Step::Restart),
        2 => ((1usize..6), (1usize..9)).prop_map(|(p, s)| Step::Page(p, s)),
    ]
}

/// A queue on RocksDB and the model it must agree with: every message in order, the one on
/// the wire (if any) first.
struct Harness {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    id: InstanceId,
    q: InstanceQueue,
    model: VecDeque<(ZaapId, usize)>,
    on_wire: Option<Queued>,
    /// The message put back after a drop: waiting at the head, but not removable.
    unconfirmed: bool,
    n: u32,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, Arc::new(Metrics::new())).unwrap();
        let id = InstanceId::generate();
        let q = InstanceQueue::new(id);
        Harness { _dir: dir, store, id, q, model: VecDeque::new(), on_wire: None, unconfirmed: false, n: 0 }
    }

    fn push(&mut self, to: usize) {
        self.n += 1;
        let m = message(self.id, self.n, to);
        self.model.push_back((m.zaap_id, to));
        let mut batch = Batch::new();
        let seq = self.q.push(m, &mut batch);
        commit(&self.store, batch);
        self.q.mark_committed(seq);
    }

    fn take(&mut self) -> Option<Queued> {
        let taken = self.q.take_front(&self.store).unwrap();
        assert_eq!(taken.as_ref().map(|t| t.message.zaap_id), self.model.front().map(|m| m.0), "FIFO order");
        taken
    }

    fn complete(&mut self, t: Queued) {
        let mut batch = Batch::new();
        self.q.complete(t.seq, &mut batch, &self.store);
        commit(&self.store, batch);
        self.model.pop_front();
        self.unconfirmed = false;
    }

    /// Whether the model's first message is handed to the network (on the wire or put back).
    fn head_taken(&self) -> bool {
        self.on_wire.is_some() || self.unconfirmed
    }

    /// The model's waiting messages to phone `p`, in order.
    fn waiting_to(&self, p: usize) -> Vec<ZaapId> {
        let skip = self.head_taken() as usize;
        self.model.iter().skip(skip).filter(|m| m.1 == p).map(|m| m.0).collect()
    }

    fn apply(&mut self, s: &Step) {
        let mut batch = Batch::new();
        match s {
            Step::Push(to) => self.push(*to),
            Step::Send if self.on_wire.is_none() => {
                if let Some(t) = self.take() {
                    self.complete(t);
                }
            }
            Step::Take if self.on_wire.is_none() => {
                self.on_wire = self.take();
                self.unconfirmed = false;
            }
            Step::Answer => {
                if let Some(t) = self.on_wire.take() {
                    self.complete(t);
                }
            }
            Step::Drop => {
                if let Some(t) = self.on_wire.take() {
                    self.q.put_back(t);
                    self.unconfirmed = true;
                }
            }
            Step::Remove(i) if !self.model.is_empty() => {
                let i = i % self.model.len();
                let zaap = self.model[i].0;
                let expected = if i == 0 && self.head_taken() { Removal::InFlight } else { Removal::Removed };
                assert_eq!(self.q.remove(&zaap, &mut batch, &self.store).unwrap(), expected);
                if expected == Removal::Removed {
                    self.model.remove(i);
                    commit(&self.store, batch);
                    assert_eq!(self.q.remove(&zaap, &mut Batch::new(), &self.store).unwrap(), Removal::NotQueued);
                }
            }
            Step::RemoveUnknown => {
                let got = self.q.remove(&ZaapId::generate(), &mut batch, &self.store).unwrap();
                assert_eq!(got, Removal::NotQueued);
                assert!(batch.is_empty());
            }
            Step::RemovePhone(p, limit) => {
                let waiting = self.waiting_to(*p);
                let on_wire_to_p = self.head_taken() && self.model.front().is_some_and(|m| m.1 == *p);
                let got = self.q.remove_phone(&phone(*p), *limit, &mut batch, &self.store).unwrap();
                let removed: Vec<ZaapId> = waiting.iter().take(*limit).copied().collect();
                let expected =
                    Removed { removed: removed.len() as u64, in_flight: on_wire_to_p, more: waiting.len() > *limit };
                assert_eq!(got, expected);
                self.model.retain(|m| !removed.contains(&m.0));
                commit(&self.store, batch);
            }
            Step::Clear => {
                let kept = self.head_taken() as usize;
                let got = self.q.clear(&mut batch, &self.store);
                assert_eq!(got, Cleared { removed: (self.model.len() - kept) as u64, in_flight: kept == 1 });
                self.model.truncate(kept);
                commit(&self.store, batch);
            }
            Step::Restart => {
                // What was on the wire is still on disk, at the head: it is simply queued again.
                self.on_wire = None;
                self.unconfirmed = false;
                let recovered = recovery::scan(&self.store).unwrap();
                self.q = match recovered.get(&self.id) {
                    Some(r) => {
                        assert_eq!(r.len(), self.model.len() as u64, "recovery counts what is stored");
                        InstanceQueue::recovered(self.id, r.clone())
                    }
                    None => InstanceQueue::new(self.id),
                };
            }
            Step::Page(page, size) => {
                let listed: Vec<ZaapId> =
                    self.q.page(&self.store, *page, *size).unwrap().iter().map(|m| m.zaap_id).collect();
                let expected: Vec<ZaapId> =
                    self.model.iter().skip((page - 1) * size).take(*size).map(|m| m.0).collect();
                assert_eq!(listed, expected, "page {page} of {size}");
                if self.model.len() <= 1000 {
                    self.check_cursor_walk(*size); // (a walk of a long queue is done once, at the end)
                }
            }
            _ => {}
        }
        assert_eq!(self.q.len(), self.model.len() as u64, "after {s:?}");
        assert_eq!(self.q.in_flight().is_some(), self.head_taken());
        self.check_media_refs(s);
    }

    /// The stored media refs are exactly those of the queued messages that carry media.
    fn check_media_refs(&self, s: &Step) {
        let db = self.store.db();
        let mut refs: Vec<crate::media::Digest> = db
            .prefix_iterator_cf(self.store.cf(crate::store::Cf::MediaRef), self.id.as_bytes())
            .flatten()
            .take_while(|(k, _)| k.starts_with(self.id.as_bytes()))
            .flat_map(|(_, v)| keys::parse_media_ref_value(&v).collect::<Vec<_>>())
            .collect();
        refs.sort();
        let mut expected: Vec<crate::media::Digest> = self
            .page_all()
            .iter()
            .filter_map(|m| match &m.content {
                Content::Media(media) => media.stored_digest(),
                _ => None,
            })
            .collect();
        expected.sort();
        assert_eq!(refs, expected, "media refs after {s:?}");
    }

    fn page_all(&self) -> Vec<OutboundMessage> {
        self.q.page(&self.store, 1, 100_000).unwrap()
    }

    /// Following the cursor from the start, `size` at a time, lists the model in order, and
    /// every page but the last says where the next one starts.
    fn check_cursor_walk(&self, size: usize) {
        let (mut listed, mut from) = (Vec::new(), Some(0));
        while let Some(seq) = from {
            let slice = self.q.page_from(&self.store, seq, size).unwrap();
            assert!(slice.messages.len() == size || slice.next.is_none(), "a short page is the last");
            assert!(slice.next.is_none_or(|next| next > seq), "the cursor moves on");
            listed.extend(slice.messages.iter().map(|m| m.zaap_id));
            from = slice.next;
        }
        assert_eq!(listed, self.model.iter().map(|m| m.0).collect::<Vec<_>>(), "cursor pages of {size}");
    }

    fn check_whole_listing(&self) {
        let listed: Vec<ZaapId> = self.q.page(&self.store, 1, 10_000).unwrap().iter().map(|m| m.zaap_id).collect();
        assert_eq!(listed, self.model.iter().map(|m| m.0).collect::<Vec<_>>());
        self.check_cursor_walk(30);
    }
}

/// Applies `steps` to a real queue on RocksDB and to the model, and checks they agree.
fn run(steps: &[Step]) {
    let mut h = Harness::new();
    for s in steps {
        h.apply(s);
    }
    h.check_whole_listing();
    // Drain what is left: it must leave in model order.
    h.apply(&Step::Answer);
    h.apply(&Step::Drop);
    while !h.model.is_empty() {
        h.apply(&Step::Send);
    }
    assert!(h.q.take_front(&h.store).unwrap().is_none());
    h.store.close();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
    #[test]
    fn the_queue_behaves_like_a_fifo_across_removals_pages_and_restarts(
        steps in proptest::collection::vec(step(), 1..300),
    ) {
        run(&steps);
    }
}

#[test]
fn more_messages_than_the_window_leave_in_order() {
    let steps: Vec<Step> = std::iter::repeat_n(Step::Push(0), 500)
        .chain([Step::Restart])
        .chain(std::iter::repeat_n(Step::Send, 501))
        .collect();
    run(&steps);
}

#[test]
fn pages_seek_past_removals_in_the_middle_and_a_restart() {
    let mut h = Harness::new();
    for i in 0..10_000 {
        h.push(i % 3);
    }
    let mut steps = vec![Step::Take];
    // Remove a spread of messages in the middle, some in runs, across several buckets.
    steps.extend((0..300).map(|i| Step::Remove(1 + i * 29 % 9000)));
    steps.push(Step::RemovePhone(2, 50));
    for page in [1, 2, 40, 99, 100, 101, 1000, 4000] {
        steps.push(Step::Page(page, 7));
        steps.push(Step::Page(page / 4 + 1, 100));
    }
    steps.push(Step::Restart);
    for page in [1, 2, 40, 99, 100, 101, 1000, 4000] {
        steps.push(Step::Page(page, 7));
    }
    for s in &steps {
        h.apply(s);
    }
    h.check_whole_listing();
    h.store.close();
}

#[test]
fn the_message_on_the_wire_is_counted_once_cannot_be_removed_and_survives_clear() {
    let mut h = Harness::new();
    for i in 0..5 {
        h.push(i);
    }
    h.apply(&Step::Take);
    assert_eq!(h.q.len(), 5, "the message on the wire is still in the queue");
    h.apply(&Step::Page(1, 2)); // listed first
    h.apply(&Step::Remove(0)); // answers InFlight
    h.apply(&Step::Clear); // removes the 4 waiting, keeps it
    assert_eq!(h.q.len(), 1);
    h.apply(&Step::Push(1));
    h.apply(&Step::Drop); // the connection dropped: it goes back and is sent again first
    h.apply(&Step::Send);
    h.apply(&Step::Send);
    assert!(h.q.is_empty());
    h.store.close();
}

#[test]
fn an_uncommitted_message_is_not_sendable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 16, Arc::new(Metrics::new())).unwrap();
    let id = InstanceId::generate();
    let mut q = InstanceQueue::new(id);
    let mut batch = Batch::new();
    let seq = q.push(message(id, 1, 0), &mut batch);
    assert!(q.front(&store).unwrap().is_none());
    commit(&store, batch);
    q.mark_committed(seq);
    assert_eq!(q.front(&store).unwrap().map(|f| f.seq), Some(seq));
}

#[test]
fn an_abandoned_message_leaves_no_trace_in_count_pages_or_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 16, Arc::new(Metrics::new())).unwrap();
    let id = InstanceId::generate();
    let mut q = InstanceQueue::new(id);
    let mut seqs = Vec::new();
    for i in 0..3 {
        let mut batch = Batch::new();
        let seq = q.push(message(id, i, 0), &mut batch);
        if i != 1 {
            commit(&store, batch); // the middle one's batch is never written
        }
        seqs.push(seq);
    }
    q.mark_committed(seqs[0]);
    q.abandon(seqs[1]);
    q.mark_committed(seqs[2]);
    assert_eq!(q.len(), 2);
    let texts: Vec<String> = q.page(&store, 2, 1).unwrap().iter().map(|m| m.content.preview().into_owned()).collect();
    assert_eq!(texts, vec!["m2"]);
    let recovered = recovery::scan(&store).unwrap().remove(&id).unwrap();
    assert_eq!(recovered.len(), 2);
    assert_eq!(recovered.holes, vec![(seqs[1], seqs[1] + 1)]);
}
