//! account: the Z-API routes about the instance's account rather than its messages — profile,
//! privacy, contacts, chats, calls, groups, communities, channels, business and catalog,
//! labels, status posts, registration (seed 001). Each family is a module with its route
//! table (`ROUTES`, see [`routes`](super::routes)) and `handle`, which reads the request, asks
//! the instance's connector one `network::account` call through its shard and renders the
//! reply in Z-API's shape. Nothing here knows which network answers (the sim or a real one).

mod calls;
mod chats;
mod contacts;
mod communities;
mod groups;
mod privacy;
mod profile;
mod business;
mod labels;
mod privacy;
mod status;
mod channels;
mod privacy;
mod registration;

use chatedge_serve::Resp;
use hyper::{Method, StatusCode};
use serde::Serialize;

use super::routes::{self, Params};
use super::{Call, ZapiError};
use crate::network::account::{AccountError, FamilyCall};
use crate::shard::Command;

/// A matched account route: its family's operation and the path parameters.
pub struct AccountRoute {
    family: Family,
    params: Params,
}

enum Family {
    Calls(calls::Op),
    Chats(chats::Op),
    Contacts(contacts::Op),
    Communities(communities::Op),
    Groups(groups::Op),
    Privacy(privacy::Op),
    Profile(profile::Op),
    Business(business::Op),
    Labels(labels::Op),
    Privacy(privacy::Op),
    Status(status::Op),
    Channels(channels::Op),
    Privacy(privacy::Op),
    Registration(registration::Op),
}

/// The account route `rest` names, as (label, allowed methods, route).
pub fn route(rest: &[&str]) -> Option<(&'static str, &'static str, AccountRoute)> {
    macro_rules! try_family {
        ($module:ident, $variant:ident) => {
            if let Some((r, params)) = routes::find($module::ROUTES, rest) {
                return Some((r.label, r.methods, AccountRoute { family: Family::$variant(r.op), params }));
            }
        };
    }
    try_family!(calls, Calls);
    try_family!(chats, Chats);
    try_family!(contacts, Contacts);
    try_family!(communities, Communities);
    try_family!(groups, Groups);
    try_family!(privacy, Privacy);
    try_family!(profile, Profile);
    try_family!(business, Business);
    try_family!(labels, Labels);
    try_family!(privacy, Privacy);
    try_family!(status, Status);
    try_family!(channels, Channels);
    try_family!(privacy, Privacy);
    try_family!(registration, Registration);
    None
}

/// Every account route as (path pattern, methods), for the OpenAPI check.
#[allow(dead_code)] // read by the OpenAPI contract test
pub fn documented() -> Vec<(&'static str, &'static str)> {
    let mut all = Vec::new();
    all.extend(calls::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(chats::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(contacts::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(communities::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(groups::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(privacy::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(profile::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(business::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(labels::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(privacy::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(status::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(channels::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(privacy::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(registration::ROUTES.iter().map(|r| (r.path, r.methods)));
    all
}

pub async fn handle(call: &Call<'_>, method: &Method, route: AccountRoute) -> Result<Resp, ZapiError> {
    let params = &route.params;
    match route.family {
        Family::Calls(op) => calls::handle(call, method, op, params).await,
        Family::Chats(op) => chats::handle(call, method, op, params).await,
        Family::Contacts(op) => contacts::handle(call, method, op, params).await,
        Family::Communities(op) => communities::handle(call, method, op, params).await,
        Family::Groups(op) => groups::handle(call, method, op, params).await,
        Family::Privacy(op) => privacy::handle(call, method, op, params).await,
        Family::Profile(op) => profile::handle(call, method, op, params).await,
        Family::Business(op) => business::handle(call, method, op, params).await,
        Family::Labels(op) => labels::handle(call, method, op, params).await,
        Family::Privacy(op) => privacy::handle(call, method, op, params).await,
        Family::Status(op) => status::handle(call, method, op, params).await,
        Family::Channels(op) => channels::handle(call, method, op, params).await,
        Family::Privacy(op) => privacy::handle(call, method, op, params).await,
        Family::Registration(op) => registration::handle(call, method, op, params).await,
    }
}

/// Asks the instance's connector `c` and waits for its family's reply.
pub async fn ask<C: FamilyCall>(call: &Call<'_>, c: C) -> Result<C::Reply, ZapiError> {
    let instance = call.instance.id;
    let c = c.into();
    let reply = call.app.shards.ask(&instance, |reply| Command::Account { instance, call: c, reply }).await?;
    let reply = reply.map_err(ZapiError::Account)?;
    C::reply(reply)
        .ok_or_else(|| ZapiError::Account(AccountError::Unavailable("the connector answered another family".into())))
}

/// 200 with `body` as JSON.
pub fn ok(body: &impl Serialize) -> Result<Resp, ZapiError> {
    Ok(chatedge_serve::json(StatusCode::OK, body))
}
