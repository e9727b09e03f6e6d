//! Templates route (issue 12; chatedge's extension, Z-API has none): `GET templates?pageSize=&
//! after=` lists the message templates the account had approved on its network, a page at a
//! time, as `{"templates": [{id, name, language, status, category, components}], "after"}`
//! (`after`: the cursor of the next page, absent on the last). The sim's accounts have none.
//! Runs on the request's task; its only I/O is the account call to the instance's shard.

use chatedge_serve::Resp;
use hyper::Method;
use serde_json::json;

use super::{ask, ok};
use crate::api::zapi::fields;
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::network::account::templates::{Call as Net, Reply, MAX_PAGE_SIZE};

/// Page size when none is asked.
const DEFAULT_PAGE_SIZE: usize = 20;
/// Longest paging cursor accepted back.
const MAX_CURSOR_CHARS: usize = 1024;

#[derive(Debug, Clone, Copy)]
pub enum Op {
    List,
}

pub static ROUTES: &[Route<Op>] = &[Route { path: "templates", methods: "GET", label: "zapi.templates", op: Op::List }];

pub async fn handle(call: &Call<'_>, _method: &Method, _op: Op, _params: &Params) -> Result<Resp, ZapiError> {
    let query = call.query.as_deref();
    let page_size = match fields::query(query, "pageSize") {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => raw.parse::<usize>().ok().filter(|n| (1..=MAX_PAGE_SIZE).contains(n)).ok_or_else(|| {
            ZapiError::invalid("Invalid pageSize", format!("pageSize must be a number from 1 to {MAX_PAGE_SIZE}"))
        })?,
    };
    let after = fields::query(query, "after").filter(|a| !a.is_empty());
    if after.as_ref().is_some_and(|a| a.chars().count() > MAX_CURSOR_CHARS) {
        return Err(ZapiError::invalid("Invalid after", "after must be the cursor a previous page gave"));
    }
    let Reply::Page { templates, after } = ask(call, Net::List { page_size, after }).await?;
    let mut body = json!({ "templates": templates });
    if let Some(after) = after {
        body["after"] = json!(after);
    }
    ok(&body)
}
