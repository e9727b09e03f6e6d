//! contacts: phone-side `/sim` actions of other people's profiles — `contact-profile`
//! `{instanceId, phone, name?, pictureUrl?, about?, groupAdd?}` records what `phone`'s owner
//! shows the network (their WhatsApp name, photo and about text), which the account then sees in
//! `contacts`, `profile-picture?phone=` and `chats/{phone}`, and who may add them to groups
//! (`all`, `contacts` or `none`: with either of the last two the account cannot add them, only
//! invite them — Z-API's `autoInvite`).
//! Runs on the admin request's task.

use std::sync::Arc;

use chatedge_config::{InstanceId, Phone};
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::{invalid, SimApiError};
use crate::api::App;
use crate::network::sim::world::contacts::PublicProfile;
use crate::network::sim::SimNetwork;

/// `/sim/<action>` → metrics label.
pub const ACTIONS: &[(&str, &str)] = &[("contact-profile", "sim.contact-profile")];

/// Longest name, URL or about text recorded.
const MAX_CHARS: usize = 2048;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContactProfile {
    instance_id: InstanceId,
    phone: Phone,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    picture_url: Option<String>,
    #[serde(default)]
    about: Option<String>,
    #[serde(default)]
    group_add: Option<String>,
}

pub async fn serve(_app: &App, sim: &Arc<SimNetwork>, action: &str, body: &[u8]) -> Result<Value, SimApiError> {
    match action {
        "contact-profile" => {
            let b: ContactProfile = super::parse(body)?;
            let texts = [&b.name, &b.picture_url, &b.about];
            if texts.iter().any(|t| t.as_ref().is_some_and(|t| t.chars().count() > MAX_CHARS)) {
                return Err(invalid(format!("name, pictureUrl and about are at most {MAX_CHARS} characters")));
            }
            if b.group_add.as_deref().is_some_and(|g| !PublicProfile::GROUP_ADD.contains(&g)) {
                return Err(invalid(format!("groupAdd must be one of {}", PublicProfile::GROUP_ADD.join(", "))));
            }
            let profile =
                PublicProfile { name: b.name, picture_url: b.picture_url, about: b.about, group_add: b.group_add };
            let phone = b.phone;
            sim.phone_change(b.instance_id, |world, cx| world.contacts.set_public(&phone, profile, cx)).await?;
            Ok(json!({"value": true}))
        }
        _ => Err(invalid(format!("unknown sim action {action}"))),
    }
}
