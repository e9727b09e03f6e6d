//! profile: phone-side `/sim` actions of the account's owner changing the profile on the phone
//! — `profile-name` `{instanceId, name}` and `profile-picture` `{instanceId, url}` — each
//! changing the sim's record of the profile and announced to the integrator as seed 001's
//! PROFILE_NAME_UPDATED / PROFILE_PICTURE_UPDATED notification.
//! Runs on the admin request's task.

use std::sync::Arc;

use chatedge_config::InstanceId;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::{invalid, SimApiError};
use crate::api::App;
use crate::network::sim::world::profile;
use crate::network::sim::SimNetwork;

/// `/sim/<action>` → metrics label.
pub const ACTIONS: &[(&str, &str)] =
    &[("profile-name", "sim.profile-name"), ("profile-picture", "sim.profile-picture")];

const MAX_URL_CHARS: usize = 2048;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Rename {
    instance_id: InstanceId,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewPhoto {
    instance_id: InstanceId,
    url: String,
}

pub async fn serve(_app: &App, sim: &Arc<SimNetwork>, action: &str, body: &[u8]) -> Result<Value, SimApiError> {
    match action {
        "profile-name" => {
            let b: Rename = super::parse(body)?;
            let name = b.name;
            sim.phone_change(b.instance_id, |world, cx| profile::renamed_on_phone(world, name, cx)).await?;
            Ok(json!({"value": true}))
        }
        "profile-picture" => {
            let b: NewPhoto = super::parse(body)?;
            let url = b.url;
            let lower = url.to_ascii_lowercase();
            if url.chars().count() > MAX_URL_CHARS || !(lower.starts_with("https://") || lower.starts_with("http://")) {
                return Err(invalid(format!("url must be an http(s) URL of at most {MAX_URL_CHARS} characters")));
            }
            sim.phone_change(b.instance_id, |world, cx| profile::photo_changed_on_phone(world, url, cx)).await?;
            Ok(json!({"value": true}))
        }
        _ => Err(invalid(format!("unknown sim action {action}"))),
    }
}
