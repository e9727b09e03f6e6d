//! Webhook accounting for the `webhooks` scenario, kept pure (no I/O) so it can be tested:
//! the sender publishes each accepted message (its `messageId`, known only from the answer,
//! with the instant its request was *sent*), the sink files each webhook it receives, and
//! [`Ledger::account`] settles the books — published = delivered + missing, every received
//! event in exactly one bucket, and send → DeliveryCallback / send → READ latencies (measured
//! from the send, so the time chatedge took to answer is part of them, as a customer sees it).
//! Delivery is at-least-once, so events are deduplicated by `webhook-id`; events may also
//! arrive before the send's answer does, and wait here for their message to be published.
//! [`verdict`] decides which findings fail the run.

mod verdict;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::Value;

use crate::stats::{self, Percentiles};

/// One webhook as the sink saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    pub at: Instant,
    pub body: Value,
    /// Fingerprint of the raw body bytes (see [`crate::sink`]).
    pub body_hash: u64,
    pub signature_ok: bool,
}

#[derive(Default)]
struct Book {
    /// messageId → when its send-text request was sent.
    published: HashMap<String, Instant>,
    seen: HashSet<String>,
    /// messageId → first DeliveryCallback (arrival, carried an `error`).
    deliveries: HashMap<String, (Instant, bool)>,
    /// A DeliveryCallback for an already delivered messageId under a different webhook-id.
    repeated_deliveries: u64,
    /// (status, messageId) → first arrival.
    statuses: HashMap<(String, String), Instant>,
    /// Status callbacks whose (status, messageId) was already seen under another webhook-id.
    repeated_statuses: u64,
    other: BTreeMap<String, u64>,
    duplicates: u64,
    malformed: u64,
    bad_signatures: u64,
    received: u64,
}

/// The books, shared by the sender and the sink.
#[derive(Default)]
pub struct Ledger {
    /// Locked once per published message and per received webhook for a few map updates,
    /// never across an `.await`.
    book: Mutex<Book>,
}

/// The settled books.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Accounting {
    /// Messages chatedge accepted (200 from send-text).
    pub published: u64,
    /// Published messages with at least one DeliveryCallback.
    pub delivered: u64,
    /// published − delivered.
    pub missing: u64,
    /// Delivered messages whose DeliveryCallback carried an `error`.
    pub delivery_errors: u64,
    /// Published messages with a READ status.
    pub read: u64,
    /// Messages delivered without error that have no READ status.
    pub unread: u64,
    /// Unique MessageStatusCallbacks per status (SENT, RECEIVED, READ, ...).
    pub statuses: BTreeMap<String, u64>,
    /// Every webhook POST the sink received.
    pub events_received: u64,
    /// Same webhook-id seen again (at-least-once redelivery).
    pub duplicates: u64,
    /// DeliveryCallbacks for a messageId this run never saw accepted (e.g. a send that
    /// timed out on the client side but was accepted by the server).
    pub unmatched_deliveries: u64,
    /// A second DeliveryCallback for one messageId under a different webhook-id.
    pub repeated_deliveries: u64,
    /// A second status callback for one (status, messageId) under a different webhook-id.
    pub repeated_statuses: u64,
    /// Other event types (ConnectedCallback, ...), by type.
    pub other_events: BTreeMap<String, u64>,
    /// Bodies that were not a JSON object with the fields their type needs.
    pub malformed: u64,
    /// Events whose `webhook-signature` did not verify.
    pub bad_signatures: u64,
    /// From the send-text request's send to the message's first DeliveryCallback.
    pub delivery_latency_ms: Percentiles,
    /// From the send-text request's send to the message's READ status.
    pub read_latency_ms: Percentiles,
}

impl Accounting {
    /// Every received event is in exactly one bucket.
    pub fn events_balance(&self) -> bool {
        let delivery_callbacks = self.delivered + self.unmatched_deliveries + self.repeated_deliveries;
        let status_callbacks = self.statuses.values().sum::<u64>() + self.repeated_statuses;
        let other = self.other_events.values().sum::<u64>();
        self.events_received == delivery_callbacks + status_callbacks + other + self.duplicates + self.malformed
    }
}

/// Latency histograms (µs) for the HTML report.
pub struct Latencies {
    pub delivery: Histogram<u64>,
    pub read: Histogram<u64>,
}

impl Ledger {
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// chatedge accepted `message_id`, whose request was sent at `sent`.
    pub fn publish(&self, message_id: String, sent: Instant) {
        self.book().published.insert(message_id, sent);
    }

    /// Files one webhook.
    pub fn receive(&self, event: Received) {
        let mut b = self.book();
        b.received += 1;
        if !event.signature_ok {
            b.bad_signatures += 1;
        }
        if !b.seen.insert(event.webhook_id) {
            b.duplicates += 1;
            return;
        }
        let kind = event.body.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
        match kind.as_str() {
            "DeliveryCallback" => match event.body.get("messageId").and_then(Value::as_str) {
                Some(id) if !b.deliveries.contains_key(id) => {
                    let failed = event.body.get("error").is_some_and(|e| !e.is_null());
                    b.deliveries.insert(id.to_owned(), (event.at, failed));
                }
                Some(_) => b.repeated_deliveries += 1,
                None => b.malformed += 1,
            },
            "MessageStatusCallback" => {
                let status = event.body.get("status").and_then(Value::as_str);
                let id = event.body.get("ids").and_then(|ids| ids.get(0)).and_then(Value::as_str);
                match (status, id) {
                    (Some(status), Some(id)) => match b.statuses.entry((status.to_owned(), id.to_owned())) {
                        Entry::Vacant(slot) => {
                            slot.insert(event.at);
                        }
                        Entry::Occupied(_) => b.repeated_statuses += 1,
                    },
                    _ => b.malformed += 1,
                }
            }
            "" => b.malformed += 1,
            _ => *b.other.entry(kind).or_insert(0) += 1,
        }
    }

    /// Webhook POSTs filed so far (cheap: for per-second rates).
    pub fn received(&self) -> u64 {
        self.book().received
    }

    /// (published, delivered, read) so far, for drain progress.
    pub fn progress(&self) -> (u64, u64, u64) {
        let b = self.book();
        let delivered = b.published.keys().filter(|id| b.deliveries.contains_key(*id)).count();
        let read = b.published.keys().filter(|id| b.statuses.contains_key(&("READ".to_owned(), (*id).clone()))).count();
        (b.published.len() as u64, delivered as u64, read as u64)
    }

    /// Settles the books.
    pub fn account(&self) -> (Accounting, Latencies) {
        let b = self.book();
        let mut delivery = stats::histogram();
        let mut read = stats::histogram();
        let mut a = Accounting { published: b.published.len() as u64, ..Accounting::default() };
        for (id, sent) in &b.published {
            let delivered = b.deliveries.get(id);
            if let Some((at, failed)) = delivered {
                a.delivered += 1;
                a.delivery_errors += u64::from(*failed);
                delivery.saturating_record(stats::micros(at.saturating_duration_since(*sent)));
            }
            match b.statuses.get(&("READ".to_owned(), id.clone())) {
                Some(at) => {
                    a.read += 1;
                    read.saturating_record(stats::micros(at.saturating_duration_since(*sent)));
                }
                None => a.unread += u64::from(matches!(delivered, Some((_, false)))),
            }
        }
        a.missing = a.published - a.delivered;
        a.unmatched_deliveries = b.deliveries.keys().filter(|id| !b.published.contains_key(*id)).count() as u64;
        for (status, _) in b.statuses.keys() {
            *a.statuses.entry(status.clone()).or_insert(0) += 1;
        }
        a.events_received = b.received;
        a.duplicates = b.duplicates;
        a.repeated_deliveries = b.repeated_deliveries;
        a.repeated_statuses = b.repeated_statuses;
        a.other_events = b.other.clone();
        a.malformed = b.malformed;
        a.bad_signatures = b.bad_signatures;
        a.delivery_latency_ms = Percentiles::of(&delivery);
        a.read_latency_ms = Percentiles::of(&read);
        (a, Latencies { delivery, read })
    }
}

#[cfg(test)]
mod tests;
