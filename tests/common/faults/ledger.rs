//! The ledger of a fault test: every send the test made, filed by what it got back — answered
//! 200 (acknowledged: must never be lost), answered otherwise (refused: must leave no trace),
//! or no answer (unknown: may have taken effect, at most once) — and the checks that hold
//! what the data plane shows afterwards (queue listings, webhooks) against it.

use std::collections::{HashMap, HashSet};

use super::wire::Outcome;
use super::Listed;
use crate::common::sink::Received;

/// A send answered 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    pub text: String,
    pub message_id: String,
}

#[derive(Debug, Default)]
pub struct Ledger {
    /// zaapId → the acknowledged send.
    pub acked: HashMap<String, Acked>,
    /// Texts of sends refused with a non-2xx answer, with that answer's status.
    pub refused: HashMap<String, u16>,
    /// Texts of sends that got no answer.
    pub unknown: HashSet<String>,
    /// Text → messageId of the acknowledged sends.
    acked_texts: HashMap<String, String>,
    /// Every message the data plane has shown for a text (listings, webhooks): text → messageId.
    /// A second message id for one text is a send that took effect twice.
    seen: HashMap<String, String>,
}

impl Ledger {
    /// Files the outcome of the send of `text`.
    pub fn record(&mut self, text: String, outcome: Outcome) {
        match outcome {
            Outcome::Answered { status: 200, body } => {
                let field = |f: &str| body[f].as_str().map(str::to_owned);
                let (zaap, message_id) = match (field("zaapId"), field("messageId")) {
                    (Some(z), Some(m)) => (z, m),
                    _ => panic!("a 200 to send-text without zaapId/messageId: {body}"),
                };
                assert_eq!(body["id"].as_str(), Some(message_id.as_str()), "id and messageId differ: {body}");
                self.acked_texts.insert(text.clone(), message_id.clone());
                let before = self.acked.insert(zaap.clone(), Acked { text, message_id });
                assert!(before.is_none(), "zaapId {zaap} was given to two sends");
            }
            Outcome::Answered { status, .. } => {
                self.refused.insert(text, status);
            }
            Outcome::NoAnswer(_) => {
                self.unknown.insert(text);
            }
        }
    }

    pub fn count(&self) -> (usize, usize, usize) {
        (self.acked.len(), self.refused.len(), self.unknown.len())
    }

    /// Notes that the data plane shows message `message_id` (zaapId `zaap`, if known) for
    /// `text`, and checks that against the ledger: a refused send never shows, an
    /// acknowledged one shows with the ids it was answered with, and no text shows as two
    /// different messages.
    pub fn saw(&mut self, zaap: Option<&str>, message_id: &str, text: &str, where_: &str) {
        assert!(
            !self.refused.contains_key(text),
            "{where_}: the send of {text:?} was refused ({}) yet it exists as {message_id}",
            self.refused[text]
        );
        match self.acked_texts.get(text) {
            Some(acked) => assert_eq!(acked, message_id, "{where_}: {text:?} shows under another messageId"),
            None => assert!(self.unknown.contains(text), "{where_}: {message_id} ({text:?}) matches no send"),
        }
        if let Some(a) = zaap.and_then(|z| self.acked.get(z)) {
            assert_eq!(a.text, text, "{where_}: zaapId {} shows another text", zaap.unwrap_or_default());
        }
        if let Some(first) = self.seen.insert(text.to_owned(), message_id.to_owned()) {
            assert_eq!(first, message_id, "{where_}: the send of {text:?} took effect twice");
        }
    }

    /// Checks a queue listing (see [`saw`](Self::saw)); each text at most once in it.
    pub fn check_listing(&mut self, listing: &[Listed], where_: &str) {
        let mut texts = HashSet::new();
        for m in listing {
            assert!(texts.insert(m.text.as_str()), "{where_}: {:?} is queued twice", m.text);
            self.saw(Some(&m.zaap_id), &m.message_id, &m.text, where_);
        }
    }

    /// How many unanswered sends have been seen to take effect.
    pub fn unknown_seen(&self) -> usize {
        self.unknown.iter().filter(|t| self.seen.contains_key(*t)).count()
    }

    /// Acknowledged zaapIds that are not in `listing`.
    pub fn acked_outside(&self, listing: &[Listed]) -> HashSet<String> {
        let listed: HashSet<&str> = listing.iter().map(|m| m.zaap_id.as_str()).collect();
        self.acked.keys().filter(|z| !listed.contains(z.as_str())).cloned().collect()
    }

    /// Checks every webhook received so far: signed with `secret`, one body per `webhook-id`
    /// (a second body means the event was decided twice, e.g. a message accepted by the
    /// network twice), DeliveryCallbacks with the ids their send was answered with and no
    /// error, and notify-sent-by-me callbacks consistent with the ledger. Receipts cut short
    /// by a kill (empty body) are skipped; returns how many.
    pub fn check_webhooks(&mut self, events: &[Received], secret: &str) -> usize {
        let mut bodies: HashMap<&str, &[u8]> = HashMap::new();
        let mut truncated = 0;
        for e in events {
            if e.raw.is_empty() {
                truncated += 1;
                continue;
            }
            assert!(e.signed_by(secret), "webhook {} ({}) is not signed with the instance's secret", e.id, e.body);
            let first = *bodies.entry(e.id.as_str()).or_insert(&e.raw);
            assert!(
                first == &e.raw[..],
                "webhook-id {} came with two bodies:\n{}\n{}",
                e.id,
                String::from_utf8_lossy(first),
                e.body
            );
            match e.body["type"].as_str() {
                Some("DeliveryCallback") => {
                    assert!(e.body.get("error").is_none(), "a send failed: {}", e.body);
                    let (zaap, mid) = (e.body["zaapId"].as_str().unwrap(), e.body["messageId"].as_str().unwrap());
                    if let Some(a) = self.acked.get(zaap) {
                        assert_eq!(a.message_id, mid, "DeliveryCallback for {zaap} under another messageId");
                    }
                }
                Some("ReceivedCallback") if e.body["fromMe"] == true => {
                    let (mid, text) = (e.body["messageId"].as_str().unwrap(), e.body["text"]["message"].as_str());
                    self.saw(None, mid, text.unwrap(), "notify-sent-by-me webhook");
                }
                _ => {}
            }
        }
        truncated
    }
}

/// zaapIds with a DeliveryCallback among `events`.
pub fn delivered(events: &[Received]) -> HashSet<String> {
    events
        .iter()
        .filter(|e| e.body["type"] == "DeliveryCallback")
        .filter_map(|e| e.body["zaapId"].as_str().map(str::to_owned))
        .collect()
}
