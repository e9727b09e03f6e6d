//! billing: the integrator lifecycle and billing rules of seed 001 (lines 13470–13510) as one
//! pure function of the model and "now" ([`plan`]): trials and cancelled instances past their
//! `due` are deleted; on the 1st each account gets one invoice for the instances subscribed
//! during the month before (no pro rata), due on the 5th; unpaid on the 10th the account
//! stops (sends refused), unpaid on the 15th its instances are deleted. Every step is decided
//! from stored state and stamped with its scheduled date, so running it twice, late, or after
//! a restart changes nothing more: an invoice id names its account and month, and an invoice
//! records when its stop and deletion were applied.
//!
//! The [`jobs`] timer runs the plan on the control plane's clock; it never blocks the event
//! loop (the write runs on a blocking thread through `ControlPlane::mutate`).

pub mod jobs;
pub mod model;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chatedge_config::{InstanceId, TenantId};

use crate::clock::{self, Month};
use crate::registry::{Change, InstanceRecord, Registry, TenantRecord};
use model::{Invoice, InvoiceLine, Subscription};

/// Months invoiced in one run at most when the clock jumped far (the rest follow next run).
const MAX_MONTHS_PER_RUN: u32 = 120;

/// Z-API's payment status strings (seed 001 line 13760 shows the field, not the values).
pub const TRIAL: &str = "TRIAL";
pub const PAID: &str = "PAID";
pub const CANCELED: &str = "CANCELED";

/// What one run decided, for logs and metrics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub invoices_issued: usize,
    pub instances_expired: usize,
    pub accounts_stopped: usize,
    pub instances_deleted_unpaid: usize,
    /// Subscribed instances whose `due` moved to the next month's 10th.
    pub dues_renewed: usize,
}

impl Summary {
    pub fn is_empty(&self) -> bool {
        *self == Summary::default()
    }
}

/// Prices from `[billing]`.
#[derive(Debug, Clone)]
pub struct Prices {
    pub per_instance_cents: u64,
    pub currency: String,
}

/// Working copies of the records one run touches.
struct Plan<'a> {
    r: &'a Registry,
    subs: HashMap<InstanceId, Subscription>,
    invoices: BTreeMap<String, Invoice>,
    tenants: HashMap<TenantId, TenantRecord>,
    removed: BTreeSet<InstanceId>,
    removed_subs: Vec<InstanceId>,
    renewed: Vec<InstanceRecord>,
    invoiced_month: Option<Month>,
    summary: Summary,
}

impl<'a> Plan<'a> {
    fn sub(&mut self, id: &InstanceId) -> Option<&mut Subscription> {
        if !self.subs.contains_key(id) {
            let s = self.r.subscriptions.get(id)?.clone();
            self.subs.insert(*id, s);
        }
        self.subs.get_mut(id)
    }

    fn tenant(&mut self, id: &TenantId) -> Option<&mut TenantRecord> {
        if !self.tenants.contains_key(id) {
            let t = self.r.tenants.get(id)?.clone();
            self.tenants.insert(*id, t);
        }
        self.tenants.get_mut(id)
    }

    fn invoice(&self, id: &str) -> Option<&Invoice> {
        self.invoices.get(id).or_else(|| self.r.invoices.get(id))
    }

    /// Deletes an instance as of `at`; its subscription stays for invoicing.
    fn remove_instance(&mut self, id: InstanceId, at: u64) {
        if self.removed.insert(id) {
            if let Some(s) = self.sub(&id) {
                s.ended_ms.get_or_insert(at);
            }
        }
    }
}

/// Everything due at `now`, as one change (empty summary: nothing to do).
pub fn plan(r: &Registry, now: u64, prices: &Prices) -> (Change, Summary) {
    let mut p = Plan {
        r,
        subs: HashMap::new(),
        invoices: BTreeMap::new(),
        tenants: HashMap::new(),
        removed: BTreeSet::new(),
        removed_subs: Vec::new(),
        renewed: Vec::new(),
        invoiced_month: None,
        summary: Summary::default(),
    };
    issue_invoices(&mut p, now, prices);
    expire_instances(&mut p, now);
    enforce_unpaid(&mut p, now);
    renew_dues(&mut p, now);
    let summary = p.summary.clone();
    let change = Change {
        instances: p.renewed,
        tenants: p.tenants.into_values().collect(),
        removed_instances: p.removed.into_iter().collect(),
        subscriptions: p.subs.into_values().collect(),
        removed_subscriptions: p.removed_subs,
        invoices: p.invoices.into_values().collect(),
        invoiced_month: p.invoiced_month,
        ..Change::default()
    };
    (change, summary)
}

/// On the 1st: one invoice per account for the month before (catching up missed months),
/// then forgets subscriptions that can never be charged again.
fn issue_invoices(p: &mut Plan, now: u64, prices: &Prices) {
    let last_complete = clock::month_of(now).saturating_sub(1);
    let Some(done) = p.r.invoiced_month else {
        // First run: no history to bill.
        p.invoiced_month = Some(last_complete);
        p.summary.invoices_issued = 0;
        return;
    };
    if done >= last_complete {
        return;
    }
    let until = last_complete.min(done + MAX_MONTHS_PER_RUN);
    for month in done + 1..=until {
        let mut lines: BTreeMap<TenantId, Vec<InvoiceLine>> = BTreeMap::new();
        let mut charged: Vec<&Subscription> = p.r.subscriptions.values().filter(|s| s.charged_for(month)).collect();
        charged.sort_by_key(|s| s.instance);
        for s in charged {
            let line =
                InvoiceLine { instance_id: s.instance, name: s.name.clone(), amount_cents: prices.per_instance_cents };
            lines.entry(s.account).or_default().push(line);
        }
        for (account, lines) in lines {
            let id = model::invoice_id(&account, month);
            if p.invoice(&id).is_some() {
                continue;
            }
            let invoice = Invoice {
                id: id.clone(),
                account,
                month,
                issued_ms: clock::day_of_month_ms(month + 1, 1),
                lines,
                currency: prices.currency.clone(),
                paid_ms: None,
                stopped_ms: None,
                deleted_ms: None,
            };
            p.invoices.insert(id, invoice);
            p.summary.invoices_issued += 1;
        }
    }
    let invoiced_until = clock::day_of_month_ms(until + 1, 1);
    p.removed_subs =
        p.r.subscriptions
            .values()
            .filter(|s| s.ended_ms.is_some_and(|e| e < invoiced_until))
            .map(|s| s.instance)
            .collect();
    p.invoiced_month = Some(until);
}

/// Trials not subscribed in time and cancelled instances past their paid month are deleted,
/// with their data-plane data (seed 001 lines 13499 and 13680).
fn expire_instances(p: &mut Plan, now: u64) {
    let expired: Vec<(InstanceId, u64)> =
        p.r.instances
            .values()
            .filter(|i| matches!(i.config.payment_status.as_str(), TRIAL | CANCELED) && i.config.due_ms <= now)
            .map(|i| (i.config.id, i.config.due_ms))
            .collect();
    for (id, due) in expired {
        p.remove_instance(id, due);
        p.summary.instances_expired += 1;
    }
}

/// The 10th stops an account with an unpaid invoice; the 15th deletes its instances.
fn enforce_unpaid(p: &mut Plan, now: u64) {
    let unpaid: Vec<Invoice> =
        p.r.invoices
            .values()
            .chain(p.invoices.values())
            .filter(|i| i.paid_ms.is_none() && (i.stopped_ms.is_none() || i.deleted_ms.is_none()))
            .cloned()
            .collect();
    for mut inv in unpaid {
        if let Some(newer) = p.invoices.get(&inv.id) {
            inv = newer.clone();
        }
        let mut touched = false;
        if inv.stopped_ms.is_none() && now >= inv.stop_ms() {
            inv.stopped_ms = Some(inv.stop_ms());
            if let Some(t) = p.tenant(&inv.account) {
                if !t.tenant.payment_overdue {
                    t.tenant.payment_overdue = true;
                    p.summary.accounts_stopped += 1;
                }
            }
            touched = true;
        }
        if inv.deleted_ms.is_none() && now >= inv.delete_ms() {
            inv.deleted_ms = Some(inv.delete_ms());
            let doomed: Vec<InstanceId> = p.r.instances_of(&inv.account).iter().map(|i| i.config.id).collect();
            for id in doomed {
                if !p.removed.contains(&id) {
                    p.summary.instances_deleted_unpaid += 1;
                }
                p.remove_instance(id, inv.delete_ms());
            }
            touched = true;
        }
        if touched {
            p.invoices.insert(inv.id.clone(), inv);
        }
    }
}

/// A subscribed instance's `due` (what `/me` and the listing show) is the 10th of next month;
/// when the month turns it moves on, so data planes show it right too.
fn renew_dues(p: &mut Plan, now: u64) {
    let due = paid_due(now);
    let stale =
        p.r.instances
            .values()
            .filter(|i| i.config.payment_status == PAID && i.config.due_ms != due && !p.removed.contains(&i.config.id));
    for i in stale {
        let mut i = i.clone();
        i.config.due_ms = due;
        p.renewed.push(i);
    }
    p.summary.dues_renewed = p.renewed.len();
}

/// Marks `invoice` paid at `now` and lifts the account's stop when nothing else is overdue
/// past its stop date. `None` when there is no such invoice.
pub fn pay(r: &Registry, invoice: &str, now: u64) -> Option<Change> {
    let mut inv = r.invoices.get(invoice)?.clone();
    let mut change = Change::default();
    if inv.paid_ms.is_none() {
        inv.paid_ms = Some(now);
    }
    let still_overdue =
        r.invoices_of(&inv.account).iter().any(|i| i.id != inv.id && i.paid_ms.is_none() && now >= i.stop_ms());
    if let Some(t) = r.tenants.get(&inv.account) {
        if t.tenant.payment_overdue && !still_overdue {
            let mut t = t.clone();
            t.tenant.payment_overdue = false;
            change.tenants.push(t);
        }
    }
    change.invoices.push(inv);
    Some(change)
}

/// The `due` an instance shows: its trial's or its cancellation's end, or — subscribed —
/// the 10th of next month, the furthest it runs if the coming invoice goes unpaid (seed 001
/// line 13497).
pub fn due_of(i: &InstanceRecord, now: u64) -> u64 {
    match i.config.payment_status.as_str() {
        PAID => paid_due(now),
        _ => i.config.due_ms,
    }
}

/// The 10th of the month after `now`'s.
pub fn paid_due(now: u64) -> u64 {
    clock::day_of_month_ms(clock::month_of(now) + 1, 10)
}

#[cfg(test)]
mod tests;
