//! account: the Z-API routes about the instance's account rather than its messages — profile,
//! privacy, contacts, chats, calls, groups, communities, channels, business and catalog,
//! labels, status posts, registration (seed 001) and message templates (issue 12). Each family
//! is a module with its route
//! table (`ROUTES`, see [`routes`](super::routes)) and `handle`, which reads the request, asks
//! the instance's connector one `network::account` call through its shard and renders the
//! reply in Z-API's shape. Nothing here knows which network answers (the sim or a real one).

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

/// Declares the families once: their modules, the `Family` enum, and the three functions that
/// go through every family in the same order.
macro_rules! families {
    ($($module:ident => $variant:ident),* $(,)?) => {
        $(mod $module;)*

        enum Family {
            $($variant($module::Op),)*
        }

        /// The account route `rest` names, as (label, allowed methods, route).
        pub fn route(rest: &[&str]) -> Option<(&'static str, &'static str, AccountRoute)> {
            $(
                if let Some((r, params)) = routes::find($module::ROUTES, rest) {
                    return Some((r.label, r.methods, AccountRoute { family: Family::$variant(r.op), params }));
                }
            )*
            None
        }

        /// Every account route as (path pattern, methods), for the OpenAPI check.
        #[allow(dead_code)] // read by the OpenAPI contract test
        pub fn documented() -> Vec<(&'static str, &'static str)> {
            let mut all = Vec::new();
            $(all.extend($module::ROUTES.iter().map(|r| (r.path, r.methods)));)*
            all
        }

        pub async fn handle(call: &Call<'_>, method: &Method, route: AccountRoute) -> Result<Resp, ZapiError> {
            let params = &route.params;
            match route.family {
                $(Family::$variant(op) => $module::handle(call, method, op, params).await,)*
            }
        }
    };
}

families!(
    business => Business,
    calls => Calls,
    channels => Channels,
    chats => Chats,
    communities => Communities,
    contacts => Contacts,
    groups => Groups,
    labels => Labels,
    privacy => Privacy,
    profile => Profile,
    registration => Registration,
    status => Status,
    templates => Templates,
);

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
