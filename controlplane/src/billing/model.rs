//! The billing records the control plane keeps for itself (never pushed to data planes): a
//! subscription ledger per instance that outlives the instance until it has been invoiced,
//! and invoices. Pure data and pure rules; no I/O, no clock of its own (`now` is passed in).

use chatedge_config::{InstanceId, TenantId};
use serde::{Deserialize, Serialize};

use crate::clock::{self, Month};

/// Most subscribe/cancel periods kept per instance; older ones merge into the oldest kept
/// (charging only asks whether a month overlaps any period, which merging preserves for
/// months not yet invoiced).
pub const MAX_PERIODS: usize = 24;

/// One stretch during which an instance was subscribed: from `from_ms` until its
/// cancellation (`None` while subscribed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub from_ms: u64,
    #[serde(default)]
    pub cancelled_ms: Option<u64>,
}

/// What billing knows of one instance that was ever subscribed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub instance: InstanceId,
    pub account: TenantId,
    /// The instance's name when last seen (shown on invoice lines after it is gone).
    pub name: String,
    pub periods: Vec<Period>,
    /// When the instance was deleted; it stays on the invoices of the months it was used in.
    #[serde(default)]
    pub ended_ms: Option<u64>,
}

impl Subscription {
    pub fn new(instance: InstanceId, account: TenantId, name: String) -> Subscription {
        Subscription { instance, account, name, periods: Vec::new(), ended_ms: None }
    }

    pub fn is_active(&self) -> bool {
        self.ended_ms.is_none() && self.periods.last().is_some_and(|p| p.cancelled_ms.is_none())
    }

    /// Starts a new paid period at `now` (no-op while one is open).
    pub fn subscribe(&mut self, now: u64) {
        if self.is_active() {
            return;
        }
        self.periods.push(Period { from_ms: now, cancelled_ms: None });
        if self.periods.len() > MAX_PERIODS {
            let first = self.periods.remove(0);
            self.periods[0].from_ms = first.from_ms;
        }
    }

    /// Ends the open period at `now`.
    pub fn cancel(&mut self, now: u64) {
        if let Some(p) = self.periods.last_mut().filter(|p| p.cancelled_ms.is_none()) {
            p.cancelled_ms = Some(now);
        }
    }

    /// Whether the instance is charged for `month`: subscribed at some moment of it, and
    /// neither cancelled nor deleted before it began. No pro rata (seed 001 line 13505): one
    /// such moment costs the whole month. A cancellation therefore still appears on the next
    /// invoice (seed 001 lines 13485–13492).
    pub fn charged_for(&self, month: Month) -> bool {
        let (start, end) = (clock::day_of_month_ms(month, 1), clock::day_of_month_ms(month + 1, 1));
        if self.ended_ms.is_some_and(|e| e < start) {
            return false;
        }
        self.periods.iter().any(|p| p.from_ms < end && p.cancelled_ms.is_none_or(|c| c >= start))
    }
}

/// One charged instance on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceLine {
    pub instance_id: InstanceId,
    pub name: String,
    pub amount_cents: u64,
}

/// An account's invoice for one month of use, issued on the 1st of the next month, due on the
/// 5th; unpaid on the 10th the account stops, on the 15th its instances are deleted (seed 001,
/// lines 13476–13497).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub id: String,
    pub account: TenantId,
    pub month: Month,
    pub issued_ms: u64,
    pub lines: Vec<InvoiceLine>,
    pub currency: String,
    #[serde(default)]
    pub paid_ms: Option<u64>,
    /// When the non-payment stop was applied for it.
    #[serde(default)]
    pub stopped_ms: Option<u64>,
    /// When the account's instances were deleted for it.
    #[serde(default)]
    pub deleted_ms: Option<u64>,
}

/// Invoice ids: the account and the month, so issuing twice is impossible by construction.
pub fn invoice_id(account: &TenantId, month: Month) -> String {
    format!("{account}-{:04}{:02}", month / 12, month % 12 + 1)
}

impl Invoice {
    pub fn amount_cents(&self) -> u64 {
        self.lines.iter().map(|l| l.amount_cents).sum()
    }

    /// The 5th of the month after the one billed.
    pub fn due_ms(&self) -> u64 {
        clock::day_of_month_ms(self.month + 1, 5)
    }

    /// The 10th: unpaid by then, the account's instances stop.
    pub fn stop_ms(&self) -> u64 {
        clock::day_of_month_ms(self.month + 1, 10)
    }

    /// The 15th: unpaid by then, the account's instances are deleted.
    pub fn delete_ms(&self) -> u64 {
        clock::day_of_month_ms(self.month + 1, 15)
    }

    /// `PAID`, `OPEN` (not yet due) or `OVERDUE`.
    pub fn status(&self, now: u64) -> &'static str {
        match self.paid_ms {
            Some(_) => "PAID",
            None if now > self.due_ms() + clock::DAY_MS - 1 => "OVERDUE",
            None => "OPEN",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_rfc3339;

    fn at(s: &str) -> u64 {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn a_cancelled_instance_is_charged_on_the_next_invoice_only() {
        let mut s = Subscription::new(InstanceId::generate(), TenantId::generate(), "i".into());
        s.subscribe(at("2030-05-20T12:00:00Z"));
        s.cancel(at("2030-06-10T00:00:00Z"));
        let may = clock::month_of(at("2030-05-01T00:00:00Z"));
        assert!(!s.charged_for(may - 1));
        assert!(s.charged_for(may));
        assert!(s.charged_for(may + 1), "June: subscribed until the 10th");
        assert!(!s.charged_for(may + 2), "July: cancelled before it began");
    }

    #[test]
    fn a_deleted_instance_is_not_charged_for_months_after_its_deletion() {
        let mut s = Subscription::new(InstanceId::generate(), TenantId::generate(), "i".into());
        s.subscribe(at("2030-05-02T00:00:00Z"));
        s.ended_ms = Some(at("2030-06-15T00:00:00Z"));
        let may = clock::month_of(at("2030-05-01T00:00:00Z"));
        assert!(s.charged_for(may) && s.charged_for(may + 1));
        assert!(!s.charged_for(may + 2));
    }

    #[test]
    fn invoice_dates_follow_the_seed() {
        let may = clock::month_of(at("2030-05-01T00:00:00Z"));
        let inv = Invoice {
            id: invoice_id(&TenantId::generate(), may),
            account: TenantId::generate(),
            month: may,
            issued_ms: at("2030-06-01T00:00:00Z"),
            lines: vec![],
            currency: "BRL".into(),
            paid_ms: None,
            stopped_ms: None,
            deleted_ms: None,
        };
        assert!(inv.id.ends_with("-203005"));
        assert_eq!(clock::date(inv.due_ms()), "2030-06-05");
        assert_eq!(clock::date(inv.stop_ms()), "2030-06-10");
        assert_eq!(clock::date(inv.delete_ms()), "2030-06-15");
        assert_eq!(inv.status(at("2030-06-05T23:00:00Z")), "OPEN");
        assert_eq!(inv.status(at("2030-06-06T00:00:00Z")), "OVERDUE");
    }
}
