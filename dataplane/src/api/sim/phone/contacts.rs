//! contacts: phone-side `/sim` actions of other people's profiles — `contact-profile`
//! `{instanceId, phone, name?, pictureUrl?, about?, groupAdd?, business?}` records what
//! `phone`'s owner shows the network (their WhatsApp name, photo and about text), which the
//! account then sees in `contacts`, `profile-picture?phone=` and `chats/{phone}`, who may add
//! them to groups (`all`, `contacts` or `none`: with either of the last two the account cannot
//! add them, only invite them — Z-API's `autoInvite`), and, for a WhatsApp Business number, its
//! business profile (`{description, address, email, websites, categories, hours}`, categories by
//! id or label), which the account reads with `business/profile?phone=`.
//! Runs on the admin request's task.

use std::sync::Arc;

use chatedge_config::{InstanceId, Phone};
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::{invalid, SimApiError};
use crate::api::App;
use crate::network::account::business::category_id;
use crate::network::sim::world::business::Profile;
use crate::network::sim::world::contacts::PublicProfile;
use crate::network::sim::SimNetwork;

/// `/sim/<action>` → metrics label.
pub const ACTIONS: &[(&str, &str)] = &[("contact-profile", "sim.contact-profile")];

/// Longest name, URL or about text recorded, and any text of a business profile.
const MAX_CHARS: usize = 2048;
/// At most this many websites, categories and opening intervals (WhatsApp's own bounds: 2, 3, 21).
const MAX_WEBSITES: usize = 2;
const MAX_CATEGORIES: usize = 3;
const MAX_INTERVALS: usize = 21;

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
    #[serde(default)]
    business: Option<Profile>,
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
            let business = b.business.map(business_profile).transpose()?;
            let profile = PublicProfile {
                name: b.name,
                picture_url: b.picture_url,
                about: b.about,
                group_add: b.group_add,
                business,
            };
            let phone = b.phone;
            sim.phone_change(b.instance_id, |world, cx| world.contacts.set_public(&phone, profile, cx)).await?;
            Ok(json!({"value": true}))
        }
        _ => Err(invalid(format!("unknown sim action {action}"))),
    }
}

/// A business profile within its bounds, its categories (ids or labels) as ids.
fn business_profile(mut p: Profile) -> Result<Profile, SimApiError> {
    let texts = [&p.description, &p.address, &p.email];
    let too_long = texts.into_iter().chain(&p.websites).any(|t| t.chars().count() > MAX_CHARS);
    if too_long || p.hours.as_ref().is_some_and(|h| h.timezone.chars().count() > MAX_CHARS) {
        return Err(invalid(format!("business texts are at most {MAX_CHARS} characters")));
    }
    if p.websites.len() > MAX_WEBSITES || p.categories.len() > MAX_CATEGORIES {
        return Err(invalid(format!(
            "business.websites has at most {MAX_WEBSITES} items and business.categories at most {MAX_CATEGORIES}"
        )));
    }
    if p.hours.as_ref().is_some_and(|h| h.days.len() > MAX_INTERVALS) {
        return Err(invalid(format!("business.hours.days has at most {MAX_INTERVALS} items")));
    }
    p.categories = p
        .categories
        .iter()
        .map(|c| category_id(c).map(str::to_owned).ok_or_else(|| invalid(format!("business.categories: unknown {c}"))))
        .collect::<Result<_, _>>()?;
    Ok(p)
}
