//! phone: the `/sim` admin routes that stand for people acting on the network rather than
//! through chatedge — the account's owner on the phone (renaming the profile, labelling a
//! chat), contacts (calling, asking to join a group), other admins (adding, promoting,
//! removing participants). Each changes the instance's account state on the sim
//! ([`SimNetwork::change`](crate::network::sim::SimNetwork::change)) and produces the
//! notification webhook seed 001 shows for it. Each family is a module with its `ACTIONS`
//! (`/sim/<action>` → metrics label) and `serve`. Bodies are JSON objects naming the
//! `instanceId`; answers are JSON.

mod calls;
mod channels;
mod communities;
mod contacts;
mod groups;
mod labels;
mod profile;
mod registration;

use serde_json::Value;

use super::{invalid, SimApiError};
use crate::api::App;
use crate::network::sim::SimNetwork;

/// Every family's actions, in one list.
const FAMILIES: &[&[(&str, &str)]] = &[
    calls::ACTIONS,
    channels::ACTIONS,
    communities::ACTIONS,
    contacts::ACTIONS,
    groups::ACTIONS,
    labels::ACTIONS,
    profile::ACTIONS,
    registration::ACTIONS,
];

/// The metrics label of `/sim/<action>`, if a family serves it.
pub fn label(action: &str) -> Option<&'static str> {
    FAMILIES.iter().flat_map(|f| f.iter()).find(|(a, _)| *a == action).map(|(_, label)| *label)
}

pub async fn serve(
    app: &App,
    sim: &std::sync::Arc<SimNetwork>,
    action: &str,
    body: &[u8],
) -> Result<Value, SimApiError> {
    let has = |actions: &[(&str, &str)]| actions.iter().any(|(a, _)| *a == action);
    if has(calls::ACTIONS) {
        calls::serve(app, sim, action, body).await
    } else if has(channels::ACTIONS) {
        channels::serve(app, sim, action, body).await
    } else if has(communities::ACTIONS) {
        communities::serve(app, sim, action, body).await
    } else if has(contacts::ACTIONS) {
        contacts::serve(app, sim, action, body).await
    } else if has(groups::ACTIONS) {
        groups::serve(app, sim, action, body).await
    } else if has(labels::ACTIONS) {
        labels::serve(app, sim, action, body).await
    } else if has(profile::ACTIONS) {
        profile::serve(app, sim, action, body).await
    } else if has(registration::ACTIONS) {
        registration::serve(app, sim, action, body).await
    } else {
        Err(invalid(format!("unknown sim action {action}")))
    }
}

/// The body as a JSON object of type `T` (unknown fields refused by `T`'s own rules).
#[allow(dead_code)] // used by the families as they add actions
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, SimApiError> {
    serde_json::from_slice(body).map_err(invalid)
}
