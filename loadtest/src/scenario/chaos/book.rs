//! The chaos scenario's books, kept pure (no I/O) so they can be tested: the senders publish
//! every acknowledged message (200 from send-text: its zaapId and messageId), the sink files
//! every webhook, and [`ChaosBook::settle`] — given the zaapIds still queued at the end —
//! says what was lost, what was delivered twice and why.
//!
//! Telling a redelivery from a message sent twice. chatedge derives a webhook-id from what the
//! event is about (instance, kind, zaapId for a DeliveryCallback; messageId and status for a
//! MessageStatusCallback) and stores each event's body once, so every redelivery of a stored
//! event carries the same webhook-id *and the same bytes* (allowed: delivery is
//! at-least-once). An event decided twice — the network accepted the message a second time —
//! is recreated: same webhook-id, different bytes (the SENT status carries the network's
//! `momment`), or, were ids ever random, the same zaapId under a second webhook-id. Both of
//! those count the message as sent twice. Runs on the sink's connection tasks and the
//! scenario task; the lock is held for a few map updates, never across an `.await`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::Value;

use crate::ledger::Received;
use crate::sink::Books;
use crate::stats::{self, Percentiles};

/// An acknowledged message.
struct Published {
    message_id: String,
    /// When its send-text request was sent.
    sent: Instant,
}

/// The first DeliveryCallback of one zaapId.
struct Delivery {
    at: Instant,
    failed: bool,
    message_id: String,
    /// Distinct webhook-ids seen for this zaapId's DeliveryCallbacks.
    webhook_ids: u32,
}

#[derive(Default)]
struct Book {
    /// zaapId → the acknowledged message.
    published: HashMap<String, Published>,
    /// webhook-id → fingerprint of the first body received under it.
    bodies: HashMap<String, u64>,
    /// zaapId → its first DeliveryCallback.
    deliveries: HashMap<String, Delivery>,
    /// messageId → the statuses seen for it (bits of [`status_bit`]).
    statuses: HashMap<String, u8>,
    /// messageIds whose network outcome was decided more than once.
    sent_twice: HashSet<String>,
    /// Same webhook-id, same bytes, after the sink answered 2xx.
    redeliveries: u64,
    /// Same webhook-id, different bytes, by event type (and status).
    recreated: BTreeMap<String, u64>,
    other: BTreeMap<String, u64>,
    received: u64,
    malformed: u64,
    bad_signatures: u64,
}

/// The books of one chaos run, shared by the senders and the sink.
#[derive(Default)]
pub struct ChaosBook {
    /// Locked once per acknowledged message and per received webhook, never across `.await`.
    book: Mutex<Book>,
}

/// The settled books.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ChaosAccounting {
    /// Messages answered 200 by send-text.
    pub acknowledged: u64,
    /// Acknowledged messages with a DeliveryCallback.
    pub delivered: u64,
    /// Of those, DeliveryCallbacks that carried an `error`.
    pub delivery_errors: u64,
    /// Acknowledged messages without DeliveryCallback but still in their queue at the end.
    pub still_queued: u64,
    /// Acknowledged messages with no DeliveryCallback ever and not in the queue at the end.
    pub acknowledged_lost: u64,
    /// A few of the lost zaapIds, to look up in chatedge's log.
    pub lost_samples: Vec<String>,
    /// Delivered messages that were also still queued at the end (would be sent again).
    pub delivered_and_still_queued: u64,
    /// DeliveryCallbacks (no error) without a SENT status: both are written in one batch.
    pub sent_status_lost: u64,
    /// Acknowledged messages with a status callback but no DeliveryCallback.
    pub delivery_event_lost: u64,
    /// sent_status_lost + delivery_event_lost.
    pub webhook_events_lost: u64,
    /// Delivered messages with no READ status (the sim's status timers live in the process,
    /// so a kill between send and READ loses them: expected, reported).
    pub read_missing: u64,
    /// Every webhook POST the sink received.
    pub events_received: u64,
    /// Same webhook-id and same bytes again after a 2xx: at-least-once redelivery (allowed).
    pub redeliveries: u64,
    /// Same webhook-id with different bytes, by event (`DeliveryCallback`,
    /// `MessageStatusCallback/READ`, ...): the event was decided twice.
    pub recreated_events: BTreeMap<String, u64>,
    /// Messages whose network outcome was decided twice (a recreated DeliveryCallback or SENT
    /// status, or one zaapId under two webhook-ids): the message was sent twice.
    pub sent_twice: u64,
    /// DeliveryCallbacks for zaapIds this run never saw acknowledged: sends stored but whose
    /// answer was lost (a kill between the write and the answer) or that timed out.
    pub delivered_unacknowledged: u64,
    /// ConnectedCallback, DisconnectedCallback, ... by type.
    pub other_events: BTreeMap<String, u64>,
    pub malformed: u64,
    pub bad_signatures: u64,
    /// Send (the request's start) → first DeliveryCallback.
    pub delivery_latency_ms: Percentiles,
}

/// One bit per status, so a message's statuses fit in a byte.
fn status_bit(status: &str) -> u8 {
    match status {
        "SENT" => 1,
        "RECEIVED" => 2,
        "READ" => 4,
        "PLAYED" => 8,
        _ => 16,
    }
}

fn text<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

impl Book {
    fn has(&self, message_id: &str, status: &str) -> bool {
        self.statuses.get(message_id).is_some_and(|bits| bits & status_bit(status) != 0)
    }

    fn delivery(&mut self, body: &Value, at: Instant, recreated: bool) {
        let (Some(zaap), Some(message_id)) = (text(body, "zaapId"), text(body, "messageId")) else {
            self.malformed += 1;
            return;
        };
        if recreated {
            self.sent_twice.insert(message_id.to_owned());
        }
        match self.deliveries.get_mut(zaap) {
            Some(d) if !recreated => {
                // A new webhook-id for a zaapId already delivered.
                d.webhook_ids += 1;
                self.sent_twice.insert(message_id.to_owned());
            }
            Some(_) => {}
            None => {
                let failed = body.get("error").is_some_and(|e| !e.is_null());
                let d = Delivery { at, failed, message_id: message_id.to_owned(), webhook_ids: 1 };
                self.deliveries.insert(zaap.to_owned(), d);
            }
        }
    }

    fn status(&mut self, body: &Value, recreated: bool) {
        let status = text(body, "status");
        let id = body.get("ids").and_then(|ids| ids.get(0)).and_then(Value::as_str);
        let (Some(status), Some(id)) = (status, id) else {
            self.malformed += 1;
            return;
        };
        if recreated && status == "SENT" {
            self.sent_twice.insert(id.to_owned());
        }
        *self.statuses.entry(id.to_owned()).or_insert(0) |= status_bit(status);
    }
}

impl Books for ChaosBook {
    fn receive(&self, event: Received) {
        let mut guard = self.book();
        let b = &mut *guard;
        b.received += 1;
        if !event.signature_ok {
            b.bad_signatures += 1;
        }
        let kind = text(&event.body, "type").unwrap_or_default().to_owned();
        let recreated = match b.bodies.get(&event.webhook_id) {
            Some(first) if *first == event.body_hash => {
                b.redeliveries += 1;
                return;
            }
            Some(_) => {
                let label = match text(&event.body, "status") {
                    Some(status) => format!("{kind}/{status}"),
                    None => kind.clone(),
                };
                *b.recreated.entry(label).or_insert(0) += 1;
                true
            }
            None => {
                b.bodies.insert(event.webhook_id, event.body_hash);
                false
            }
        };
        match kind.as_str() {
            "DeliveryCallback" => b.delivery(&event.body, event.at, recreated),
            "MessageStatusCallback" => b.status(&event.body, recreated),
            "" => b.malformed += 1,
            _ if recreated => {}
            _ => *b.other.entry(kind).or_insert(0) += 1,
        }
    }
}

impl ChaosBook {
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// send-text answered 200 with `zaap_id` and `message_id`; the request was sent at `sent`.
    pub fn publish(&self, zaap_id: String, message_id: String, sent: Instant) {
        self.book().published.insert(zaap_id, Published { message_id, sent });
    }

    /// (acknowledged, complete): messages acknowledged, and how many of them have their
    /// DeliveryCallback and, unless it failed, their SENT status — for drain progress.
    pub fn progress(&self) -> (u64, u64) {
        let b = self.book();
        let complete = b
            .published
            .iter()
            .filter(|(zaap, p)| b.deliveries.get(*zaap).is_some_and(|d| d.failed || b.has(&p.message_id, "SENT")))
            .count();
        (b.published.len() as u64, complete as u64)
    }

    /// Webhook POSTs received so far.
    pub fn events_received(&self) -> u64 {
        self.book().received
    }

    /// Settles the books; `queued` holds the zaapIds found in the instances' queues at the end.
    pub fn settle(&self, queued: &HashSet<String>) -> ChaosAccounting {
        let b = self.book();
        let mut latency: Histogram<u64> = stats::histogram();
        let mut a = ChaosAccounting { acknowledged: b.published.len() as u64, ..ChaosAccounting::default() };
        for (zaap, p) in &b.published {
            match b.deliveries.get(zaap) {
                Some(d) => {
                    a.delivered += 1;
                    a.delivery_errors += u64::from(d.failed);
                    latency.saturating_record(stats::micros(d.at.saturating_duration_since(p.sent)));
                    a.sent_status_lost += u64::from(!d.failed && !b.has(&p.message_id, "SENT"));
                    a.read_missing += u64::from(!d.failed && !b.has(&p.message_id, "READ"));
                    a.delivered_and_still_queued += u64::from(queued.contains(zaap));
                }
                // The network saw it (a status arrived): the message left, its DeliveryCallback
                // did not arrive.
                None if b.statuses.get(&p.message_id).is_some_and(|bits| *bits != 0) => {
                    a.delivery_event_lost += 1;
                }
                None if queued.contains(zaap) => a.still_queued += 1,
                None => {
                    a.acknowledged_lost += 1;
                    if a.lost_samples.len() < 10 {
                        a.lost_samples.push(zaap.clone());
                    }
                }
            }
        }
        a.webhook_events_lost = a.sent_status_lost + a.delivery_event_lost;
        a.delivered_unacknowledged = b.deliveries.keys().filter(|z| !b.published.contains_key(*z)).count() as u64;
        let extra_ids = b.deliveries.values().filter(|d| d.webhook_ids > 1).map(|d| &d.message_id);
        a.sent_twice = b.sent_twice.iter().chain(extra_ids).collect::<HashSet<_>>().len() as u64;
        a.events_received = b.received;
        a.redeliveries = b.redeliveries;
        a.recreated_events = b.recreated.clone();
        a.other_events = b.other.clone();
        a.malformed = b.malformed;
        a.bad_signatures = b.bad_signatures;
        a.delivery_latency_ms = Percentiles::of(&latency);
        a
    }
}

#[cfg(test)]
mod tests;
