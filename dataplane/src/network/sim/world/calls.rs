//! calls: the sim's call log of the account — calls it placed (`send-call`) and calls it
//! received (`/sim/call`, standing for a contact calling) — one durable bounded table, the
//! oldest call forgotten when full. What the other side's phone saw of a call is read back by
//! `/sim/calls`. A blocked number cannot call nor be called. An incoming call is announced as
//! the seed's CALL_VOICE notification, and CALL_MISSED_VOICE when nobody answers; with
//! `reject_message` (the instance's callRejectAuto) it is rejected at once and the caller's
//! phone is shown the message.
//! Runs under the instance's world lock (`SimNetwork::change`: a shard's local task for account
//! calls, the admin request's task for `/sim`); nothing here blocks or does I/O.

use chatedge_config::Phone;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::{Cx, Loader, Table, World};
use crate::network::account::calls::{Call, Reply};
use crate::network::account::AccountError;
use crate::network::incoming::Notification;
use crate::network::IncomingMessage;
use crate::store::StoreError;

/// Calls the log keeps.
pub const MAX_CALLS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    Outgoing,
    Incoming,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Rang for its duration and hung up (a placed call).
    Rang,
    Answered,
    Missed,
    /// Rejected automatically (callRejectAuto).
    Rejected,
}

/// One call as the network recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub call_id: String,
    pub direction: Direction,
    /// The other side.
    pub phone: Phone,
    pub at_ms: u64,
    /// How long it rang (placed calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u8>,
    pub outcome: Outcome,
    /// What the caller was told when the call was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_message: Option<String>,
}

#[derive(Debug, Default)]
pub struct State {
    log: Table<CallRecord>,
}

impl State {
    pub fn load(l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State { log: l.table("calls", MAX_CALLS)? })
    }

    /// The calls with `phone`, oldest first.
    pub fn with(&self, phone: &Phone) -> Vec<CallRecord> {
        self.log.values().filter(|c| &c.phone == phone).cloned().collect()
    }
}

pub fn apply(world: &mut World, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    match call {
        Call::Place { phone, seconds } => {
            check_peer(world, &phone, cx)?;
            let call_id = new_call_id();
            let record = CallRecord {
                call_id: call_id.clone(),
                direction: Direction::Outgoing,
                phone,
                at_ms: cx.now_ms,
                seconds: Some(seconds),
                outcome: Outcome::Rang,
                reject_message: None,
            };
            log(&mut world.calls, record, cx)?;
            Ok(Reply::Placed { call_id })
        }
    }
}

/// How an incoming call ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Answered,
    Missed,
    /// Rejected at once, the caller shown the message (callRejectAuto).
    Rejected {
        message: Option<String>,
    },
}

/// `caller` calls the account (a phone-side event, `/sim/call`): logged and announced.
pub fn receive(world: &mut World, caller: Phone, how: Incoming, cx: &mut Cx) -> Result<CallRecord, AccountError> {
    check_peer(world, &caller, cx)?;
    let (outcome, reject_message) = match how {
        Incoming::Answered => (Outcome::Answered, None),
        Incoming::Missed => (Outcome::Missed, None),
        Incoming::Rejected { message } => (Outcome::Rejected, message),
    };
    let record = CallRecord {
        call_id: new_call_id(),
        direction: Direction::Incoming,
        phone: caller.clone(),
        at_ms: cx.now_ms,
        seconds: None,
        outcome,
        reject_message,
    };
    log(&mut world.calls, record.clone(), cx)?;
    let name = world.contacts.display_name(&caller);
    let mut missed = vec![false];
    if outcome != Outcome::Answered {
        missed.push(true);
    }
    for missed in missed {
        let notification = Notification::call(&record.call_id, missed, false);
        let mut notice = IncomingMessage::notice(caller.clone(), None, notification);
        notice.sender_name = name.clone();
        notice.at_ms = cx.now_ms;
        cx.notices.push(notice);
    }
    Ok(record)
}

fn check_peer(world: &World, phone: &Phone, cx: &Cx) -> Result<(), AccountError> {
    if phone.kind() != chatedge_config::phone::PhoneKind::Contact {
        return Err(AccountError::Refused("calls are between phone numbers".into()));
    }
    if !cx.on_network(phone) {
        return Err(AccountError::NotFound(format!("{} on the network", phone.as_str())));
    }
    if cx.account.phone.as_ref() == Some(phone) {
        return Err(AccountError::Refused("the account cannot call itself".into()));
    }
    if world.contacts.is_blocked(phone) {
        return Err(AccountError::Refused(format!("{} is blocked", phone.as_str())));
    }
    Ok(())
}

/// Appends to the log, forgetting the oldest call when it is full.
fn log(calls: &mut State, record: CallRecord, cx: &mut Cx) -> Result<(), AccountError> {
    if calls.log.room() == 0 {
        let oldest = calls.log.iter().next().map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            calls.log.remove(&k, cx);
        }
    }
    // Keys sort by time: the log iterates oldest first.
    let key = format!("{:016}-{}", record.at_ms, record.call_id);
    calls.log.insert(key, record, cx)
}

/// 32 hex digits, like the seed's `F44E0E2011E7C784BB9A4AC11749C436`.
fn new_call_id() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::incoming::IncomingContent;
    use crate::network::sim::world::testing::{cx, phone};

    fn world() -> World {
        World {
            calls: State { log: Table::new("calls", 2) },
            contacts: super::super::contacts::State::empty(),
            ..World::default()
        }
    }

    fn kinds(c: Cx) -> Vec<(String, Option<Option<String>>)> {
        c.into_parts()
            .1
            .into_iter()
            .map(|m| match m.content {
                IncomingContent::Notification(n) => (n.notification, n.call_id),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_placed_call_is_logged_for_the_callee() {
        let mut w = world();
        let Reply::Placed { call_id } =
            apply(&mut w, Call::Place { phone: phone("554499999999"), seconds: 5 }, &mut cx()).unwrap();
        assert_eq!(call_id.len(), 32);
        let log = w.calls.with(&phone("554499999999"));
        assert_eq!(log.len(), 1);
        assert_eq!((log[0].direction, log[0].seconds, log[0].outcome), (Direction::Outgoing, Some(5), Outcome::Rang));
    }

    #[test]
    fn a_missed_call_is_announced_twice_with_one_call_id() {
        let mut w = world();
        let mut c = cx();
        let record = receive(&mut w, phone("554499999999"), Incoming::Missed, &mut c).unwrap();
        let id = Some(Some(record.call_id));
        assert_eq!(kinds(c), [("CALL_VOICE".to_owned(), id.clone()), ("CALL_MISSED_VOICE".to_owned(), id)]);
        let mut c = cx();
        receive(&mut w, phone("554499999999"), Incoming::Answered, &mut c).unwrap();
        assert_eq!(kinds(c).len(), 1, "an answered call is not missed");
    }

    #[test]
    fn blocked_and_unknown_numbers_cannot_call_nor_be_called() {
        let mut w = world();
        let blocked = phone("554499999999");
        let block = crate::network::account::contacts::Call::SetBlocked { phone: blocked.clone(), blocked: true };
        super::super::contacts::apply(&mut w, block, &mut cx()).unwrap();
        let mut c = cx();
        assert!(receive(&mut w, blocked.clone(), Incoming::Missed, &mut c).is_err());
        assert!(apply(&mut w, Call::Place { phone: blocked, seconds: 5 }, &mut c).is_err());
        assert!(apply(&mut w, Call::Place { phone: phone("554499990000"), seconds: 5 }, &mut c).is_err());
        let (batch, notices) = c.into_parts();
        assert!(batch.is_empty() && notices.is_empty());
    }

    #[test]
    fn the_log_forgets_its_oldest_call_when_full() {
        let mut w = world();
        for seconds in 1..=3 {
            let mut c = cx();
            c.now_ms = u64::from(seconds);
            apply(&mut w, Call::Place { phone: phone("554499999999"), seconds }, &mut c).unwrap();
        }
        let log = w.calls.with(&phone("554499999999"));
        assert_eq!(log.iter().map(|c| c.seconds).collect::<Vec<_>>(), [Some(2), Some(3)]);
    }
}
