//! The verdict on a webhook run's books: which findings fail the run (the binary then exits
//! with status 1) and which are only counted. Against a sink on loopback that answers 200 at
//! once, with no restarts, every accepted message must get its DeliveryCallback and READ, and
//! each event must come once under one webhook-id and verify; redeliveries of the same
//! webhook-id are allowed up to a number the caller gives (at-least-once delivery). Failed
//! sends, deliveries the client never saw accepted and DeliveryCallbacks that carry an `error`
//! are counted, not failures: they say something about the network or the client, not about
//! the webhooks.

use super::Accounting;

impl Accounting {
    /// Why the run fails, one sentence each; empty when it passes. `max_duplicates`
    /// redeliveries (same webhook-id) are tolerated.
    pub fn defects(&self, max_duplicates: u64) -> Vec<String> {
        let mut defects = Vec::new();
        let mut fail = |bad: bool, why: String| {
            if bad {
                defects.push(why);
            }
        };
        fail(
            self.missing > 0,
            format!("{} of {} accepted messages got no DeliveryCallback", self.missing, self.published),
        );
        fail(self.unread > 0, format!("{} delivered messages got no READ status", self.unread));
        fail(
            self.duplicates > max_duplicates,
            format!(
                "{} redeliveries (same webhook-id), more than the {max_duplicates} allowed (--max-duplicates)",
                self.duplicates
            ),
        );
        fail(
            self.repeated_deliveries > 0,
            format!("{} DeliveryCallbacks repeated under a new webhook-id", self.repeated_deliveries),
        );
        fail(
            self.repeated_statuses > 0,
            format!("{} status callbacks repeated under a new webhook-id", self.repeated_statuses),
        );
        fail(self.bad_signatures > 0, format!("{} webhooks failed the webhook-signature check", self.bad_signatures));
        fail(self.malformed > 0, format!("{} webhook bodies were malformed", self.malformed));
        fail(!self.events_balance(), "the webhook books do not balance (a bug in the load tester)".to_owned());
        defects
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> Accounting {
        Accounting { published: 10, delivered: 10, read: 10, events_received: 40, ..Accounting::default() }
            .with_statuses(&[("SENT", 10), ("RECEIVED", 10), ("READ", 10)])
    }

    impl Accounting {
        fn with_statuses(mut self, statuses: &[(&str, u64)]) -> Accounting {
            self.statuses = statuses.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect();
            self
        }
    }

    #[test]
    fn complete_verified_books_pass() {
        assert_eq!(clean().defects(0), Vec::<String>::new());
    }

    #[test]
    fn missing_events_fail_the_run() {
        let a = Accounting { delivered: 8, missing: 2, events_received: 38, ..clean() };
        assert_eq!(a.defects(0), vec!["2 of 10 accepted messages got no DeliveryCallback".to_owned()]);
        let a = Accounting { read: 9, unread: 1, events_received: 39, ..clean() }.with_statuses(&[
            ("SENT", 10),
            ("RECEIVED", 10),
            ("READ", 9),
        ]);
        assert_eq!(a.defects(0), vec!["1 delivered messages got no READ status".to_owned()]);
    }

    #[test]
    fn redeliveries_fail_only_beyond_the_allowance() {
        let a = Accounting { duplicates: 3, events_received: 43, ..clean() };
        assert!(a.defects(3).is_empty());
        let defects = a.defects(2);
        assert_eq!(defects.len(), 1);
        assert!(defects[0].contains("3 redeliveries") && defects[0].contains("2 allowed"), "{defects:?}");
    }

    #[test]
    fn events_reported_twice_bad_signatures_and_malformed_bodies_always_fail() {
        let a = Accounting { repeated_deliveries: 1, repeated_statuses: 2, events_received: 43, ..clean() };
        assert_eq!(a.defects(1000).len(), 2);
        let a = Accounting { bad_signatures: 1, ..clean() };
        assert_eq!(a.defects(1000), vec!["1 webhooks failed the webhook-signature check".to_owned()]);
        let a = Accounting { malformed: 1, events_received: 41, ..clean() };
        assert_eq!(a.defects(1000), vec!["1 webhook bodies were malformed".to_owned()]);
    }

    #[test]
    fn counted_findings_do_not_fail_the_run() {
        let a = Accounting { delivery_errors: 1, unmatched_deliveries: 2, events_received: 42, ..clean() };
        assert!(a.defects(0).is_empty(), "{:?}", a.defects(0));
    }
}
