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

fn message(instance: InstanceId, n: u32) -> OutboundMessage {
    OutboundMessage {
        instance,
        zaap_id: ZaapId::generate(),
        message_id: MessageId::generate(),
        phone: Phone::parse("5511999999999").unwrap(),
        content: Content::Text { message: format!("m{n}") },
        delay_message_s: None,
        delay_typing_s: None,
        edit_message_id: None,
        created_ms: n as u64,
    }
}

#[derive(Debug, Clone)]
enum Step {
    Push,
    Send,
    /// Takes the head as if sending it, then the connection drops and it goes back.
    Bounce,
    Remove(usize),
    Clear,
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => Just(Step::Push),
        4 => Just(Step::Send),
        1 => Just(Step::Bounce),
        1 => (0usize..50).prop_map(Step::Remove),
        1 => Just(Step::Clear),
        1 => Just(Step::Restart),
    ]
}

/// Applies `steps` to a real queue on RocksDB and to a VecDeque, and checks they agree.
fn run(steps: &[Step]) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 16, Arc::new(Metrics::new())).unwrap();
    let id = InstanceId::generate();
    let mut q = InstanceQueue::new(id);
    let mut model: VecDeque<ZaapId> = VecDeque::new();
    let mut n = 0;
    for s in steps {
        let mut batch = Batch::new();
        match s {
            Step::Push => {
                n += 1;
                let m = message(id, n);
                model.push_back(m.zaap_id);
                let seq = q.push(m, &mut batch);
                commit(&store, batch);
                q.mark_committed(seq);
            }
            Step::Send => {
                let taken = q.take_front(&store).unwrap();
                assert_eq!(taken.as_ref().map(|f| f.message.zaap_id), model.front().copied(), "FIFO order");
                if let Some(t) = taken {
                    model.pop_front();
                    q.complete(t.seq, &mut batch, &store);
                    commit(&store, batch);
                }
            }
            Step::Bounce => {
                if let Some(t) = q.take_front(&store).unwrap() {
                    q.put_back(t);
                }
            }
            Step::Remove(i) => {
                if let Some(z) = model.get(*i % model.len().max(1)).copied() {
                    assert!(q.remove(&z, &mut batch, &store).unwrap());
                    model.retain(|m| *m != z);
                    commit(&store, batch);
                }
            }
            Step::Clear => {
                assert_eq!(q.clear(&mut batch), model.len() as u64);
                model.clear();
                commit(&store, batch);
            }
            Step::Restart => {
                let recovered = recovery::scan(&store).unwrap();
                q = match recovered.get(&id) {
                    Some(r) => InstanceQueue::recovered(id, *r),
                    None => InstanceQueue::new(id),
                };
            }
        }
        assert_eq!(q.len(), model.len() as u64);
    }
    let listed: Vec<ZaapId> = q.page(&store, 1, 10_000).unwrap().iter().map(|m| m.zaap_id).collect();
    assert_eq!(listed, Vec::from(model.clone()));
    store.close();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
    #[test]
    fn the_queue_behaves_like_a_fifo_across_removals_and_restarts(steps in proptest::collection::vec(step(), 1..300)) {
        run(&steps);
    }
}

#[test]
fn more_messages_than_the_window_leave_in_order() {
    let steps: Vec<Step> = std::iter::repeat_n(Step::Push, 500)
        .chain([Step::Restart])
        .chain(std::iter::repeat_n(Step::Send, 501))
        .collect();
    run(&steps);
}

#[test]
fn an_uncommitted_message_is_not_sendable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 16, Arc::new(Metrics::new())).unwrap();
    let id = InstanceId::generate();
    let mut q = InstanceQueue::new(id);
    let mut batch = Batch::new();
    let seq = q.push(message(id, 1), &mut batch);
    assert!(q.front(&store).unwrap().is_none());
    commit(&store, batch);
    q.mark_committed(seq);
    assert_eq!(q.front(&store).unwrap().map(|f| f.seq), Some(seq));
}

#[test]
fn pages_split_the_queue_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 16, Arc::new(Metrics::new())).unwrap();
    let id = InstanceId::generate();
    let mut q = InstanceQueue::new(id);
    for i in 0..25 {
        let mut batch = Batch::new();
        let seq = q.push(message(id, i), &mut batch);
        commit(&store, batch);
        q.mark_committed(seq);
    }
    let texts =
        |p| -> Vec<String> { q.page(&store, p, 10).unwrap().iter().map(|m| m.content.preview().to_owned()).collect() };
    assert_eq!(texts(1).first().map(String::as_str), Some("m0"));
    assert_eq!(texts(3), vec!["m20", "m21", "m22", "m23", "m24"]);
    assert!(texts(4).is_empty());
}
