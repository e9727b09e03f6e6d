//! The integrator's own account routes (`Authorization: Bearer <integrator token>`): its
//! invoices (`GET /integrator/invoices`, `GET /integrator/invoices/{id}`, JSON or CSV with
//! `?format=csv`) and its account security — the Client-Token (`POST
//! /integrator/security-token`, `…/enable`, `…/disable`) and IP allowlist (`PUT
//! /integrator/ip-allowlist`), the same operations the operator has under `/admin/accounts/
//! {id}`; and its instances' daily limits (`PUT /integrator/instances/{id}/daily-limit`,
//! issue 10 §5). Another account's invoice or instance answers exactly as an unknown one.

use std::sync::Arc;

use chatedge_config::TenantId;
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde_json::json;

use super::integrator::caller;
use crate::billing::model::Invoice;
use crate::{accounts, clock, ControlPlane, CpError};

/// Serves `/integrator/{rest…}`; `None` when no route matches.
pub async fn handle(
    cp: &Arc<ControlPlane>,
    req: Request<Incoming>,
    rest: &[&str],
) -> Option<(&'static str, Result<Resp, CpError>)> {
    let method = req.method().clone();
    let label = match (&method, rest) {
        (&Method::GET, ["invoices"] | ["invoices", _]) => "integrator.invoices",
        (&Method::POST, ["security-token"] | ["security-token", "enable" | "disable"]) => "integrator.security-token",
        (&Method::PUT, ["ip-allowlist"]) => "integrator.ip-allowlist",
        (&Method::PUT, ["instances", _, "daily-limit"]) => "integrator.daily-limit",
        _ => return None,
    };
    let account = match caller(cp, req.headers()) {
        Ok(c) => c.account,
        Err(e) => return Some((label, Err(e))),
    };
    let result = match (&method, rest) {
        (&Method::GET, ["invoices"]) => Ok(list_of(cp, account)),
        (&Method::GET, ["invoices", id]) => one(cp, account, id, req.uri().query()),
        (&Method::POST, ["security-token"]) => accounts::generate_client_token(cp, account)
            .await
            .map(|t| chatedge_serve::json(StatusCode::CREATED, &json!({"token": t.expose(), "enabled": false}))),
        (&Method::POST, ["security-token", which]) => {
            accounts::set_client_token_enabled(cp, account, *which == "enable")
                .await
                .map(|_| chatedge_serve::json(StatusCode::OK, &json!({"value": true})))
        }
        (&Method::PUT, ["instances", id, "daily-limit"]) => {
            let id = id.to_string();
            super::daily_limit::set(cp, req, &id, Some(account)).await
        }
        _ => match super::json_body::<super::admin::AllowlistBody>(req).await {
            Ok(body) => accounts::set_ip_allowlist(cp, account, body.ips, body.enabled)
                .await
                .map(|l| chatedge_serve::json(StatusCode::OK, &json!({"enabled": l.enabled, "ips": l.ips}))),
            Err(e) => Err(e),
        },
    };
    Some((label, result))
}

/// An account's invoices, oldest first, in Z-API's page shape (one page).
pub fn list_of(cp: &ControlPlane, account: TenantId) -> Resp {
    let now = cp.clock.now_ms();
    let content: Vec<_> = cp.registry_read(|r| r.invoices_of(&account).into_iter().map(|i| view(i, now)).collect());
    let n = content.len();
    chatedge_serve::json(
        StatusCode::OK,
        &json!({"total": n, "totalPage": 1, "pageSize": n, "page": 1, "content": content}),
    )
}

fn one(cp: &ControlPlane, account: TenantId, id: &str, query: Option<&str>) -> Result<Resp, CpError> {
    let now = cp.clock.now_ms();
    let invoice = cp
        .registry_read(|r| r.invoices.get(id).filter(|i| i.account == account).cloned())
        .ok_or_else(|| CpError::refused(404, "Invoice not found", "no invoice with this id for this integrator"))?;
    match chatedge_serve::query_param(query, "format").as_deref() {
        None | Some("json") => Ok(chatedge_serve::json(StatusCode::OK, &view(&invoice, now))),
        Some("csv") => Ok(chatedge_serve::bytes(StatusCode::OK, "text/csv; charset=utf-8", csv(&invoice, now))),
        Some(_) => Err(CpError::refused(400, "Invalid field", "format must be json or csv")),
    }
}

/// `12345` cents → `"123.45"`.
fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// An invoice as JSON: period, dates, status, one line per instance, totals (amounts both as
/// decimal strings and integer cents, so no client rounds a float).
pub fn view(i: &Invoice, now: u64) -> serde_json::Value {
    let when = |ms: Option<u64>| ms.map(clock::rfc3339);
    let from = clock::day_of_month_ms(i.month, 1);
    let to = clock::day_of_month_ms(i.month + 1, 1) - clock::DAY_MS;
    json!({
        "id": i.id,
        "accountId": i.account.to_string(),
        "period": {"month": clock::month_name(i.month), "from": clock::date(from), "to": clock::date(to)},
        "issued": clock::date(i.issued_ms),
        "due": clock::date(i.due_ms()),
        "stopsOn": clock::date(i.stop_ms()),
        "deletesOn": clock::date(i.delete_ms()),
        "status": i.status(now),
        "currency": i.currency,
        "amount": money(i.amount_cents()),
        "amountCents": i.amount_cents(),
        "instances": i.lines.len(),
        "lines": i.lines.iter().map(|l| json!({
            "instanceId": l.instance_id.to_string(),
            "name": l.name,
            "period": clock::month_name(i.month),
            "amount": money(l.amount_cents),
            "amountCents": l.amount_cents,
        })).collect::<Vec<_>>(),
        "paidAt": when(i.paid_ms),
        "stoppedAt": when(i.stopped_ms),
        "instancesDeletedAt": when(i.deleted_ms),
    })
}

/// One row per line (RFC 4180 quoting), then a total row.
pub fn csv(i: &Invoice, now: u64) -> Vec<u8> {
    let quote = |s: &str| {
        // A leading = + - @ would be a formula to a spreadsheet opening the file.
        let s = match s.starts_with(['=', '+', '-', '@']) {
            true => format!("'{s}"),
            false => s.to_owned(),
        };
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let (period, status) = (clock::month_name(i.month), i.status(now));
    let due = clock::date(i.due_ms());
    let mut out = String::from("invoice,period,due,status,instance_id,instance_name,amount,currency\r\n");
    for l in &i.lines {
        out.push_str(&format!(
            "{},{period},{due},{status},{},{},{},{}\r\n",
            quote(&i.id),
            l.instance_id,
            quote(&l.name),
            money(l.amount_cents),
            i.currency
        ));
    }
    out.push_str(&format!(
        "{},{period},{due},{status},TOTAL,,{},{}\r\n",
        quote(&i.id),
        money(i.amount_cents()),
        i.currency
    ));
    out.into_bytes()
}
