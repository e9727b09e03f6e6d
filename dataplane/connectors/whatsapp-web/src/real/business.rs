//! The business profile (WhatsApp Business): a change is WhatsApp's `w:biz` profile IQ, sent
//! as a delta (only the fields it names change), as WhatsApp's clients send it — the engine
//! reads a business profile but has no call that writes one; reading another number's is the
//! engine's own call, its answer put in the connector's terms. It keeps nothing.

use whatsapp_rust::wacore::iq::spec::IqSpec;
use whatsapp_rust::wacore::request::InfoQuery;
use whatsapp_rust::wacore_binary::{Node, NodeContent, NodeRef, Server};
use whatsapp_rust::{Client, Jid, NodeBuilder};

use whatsapp_rust::wacore::iq::business::{BusinessHourMode, BusinessHoursConfig, BusinessProfile, DayOfWeek};

use super::account::iq_error;
use crate::engine::{Answer, BusinessInfo, EngineError, Opening, OpeningHours, ProfileChange};

/// Changes the account's business profile as `change` says.
pub async fn change(client: &Client, change: &ProfileChange) -> Result<Answer, EngineError> {
    client.execute(ProfileEdit(change.clone())).await.map_err(|e| iq_error(&e))?;
    Ok(Answer::Done)
}

/// The business profile `jid` shows (`None`: not a business).
pub async fn profile_of(client: &Client, jid: &Jid) -> Result<Answer, EngineError> {
    let profile = client.get_business_profile(jid).await.map_err(|e| iq_error(&e))?;
    Ok(Answer::Business(profile.map(business_info)))
}

/// The engine's business profile in the connector's terms: hours of a day WhatsApp names in a
/// way this version does not know are left out.
pub fn business_info(p: BusinessProfile) -> BusinessInfo {
    let hours = p.business_hours.business_config.unwrap_or_default().iter().filter_map(opening).collect();
    BusinessInfo {
        description: p.description,
        address: p.address.unwrap_or_default(),
        email: p.email.unwrap_or_default(),
        websites: p.website,
        categories: p.categories.into_iter().map(|c| (c.id, c.name)).collect(),
        timezone: p.business_hours.timezone,
        hours,
    }
}

fn opening(c: &BusinessHoursConfig) -> Option<Opening> {
    let day = match c.day_of_week {
        DayOfWeek::Sunday => "sun",
        DayOfWeek::Monday => "mon",
        DayOfWeek::Tuesday => "tue",
        DayOfWeek::Wednesday => "wed",
        DayOfWeek::Thursday => "thu",
        DayOfWeek::Friday => "fri",
        DayOfWeek::Saturday => "sat",
        DayOfWeek::Other(_) => return None,
    };
    let minutes = |t: Option<u32>| t.and_then(|t| u16::try_from(t).ok());
    let hours = match c.mode {
        BusinessHourMode::SpecificHours => {
            OpeningHours::Between { open: minutes(c.open_time)?, close: minutes(c.close_time)? }
        }
        BusinessHourMode::Open24H => OpeningHours::AllDay,
        BusinessHourMode::AppointmentOnly => OpeningHours::ByAppointment,
        BusinessHourMode::Other(_) => return None,
    };
    Some(Opening { day, hours })
}

/// `<iq xmlns="w:biz" type="set"><business_profile v="3" mutation_type="delta">…`.
pub struct ProfileEdit(pub ProfileChange);

impl ProfileEdit {
    /// The profile fields the change writes.
    pub fn fields(&self) -> Vec<Node> {
        let text = |tag: &'static str, value: &str| NodeBuilder::new(tag).string_content(value).build();
        match &self.0 {
            ProfileChange::Description(v) => vec![text("description", v)],
            ProfileChange::Email(v) => vec![text("email", v)],
            ProfileChange::Address(v) => vec![text("address", v)],
            // An empty `website` clears them.
            ProfileChange::Websites(sites) if sites.is_empty() => vec![NodeBuilder::new("website").build()],
            ProfileChange::Websites(sites) => sites.iter().map(|site| text("website", site)).collect(),
            ProfileChange::Categories(ids) => {
                let each = ids.iter().map(|id| NodeBuilder::new("category").attr("id", id.as_str()).build());
                vec![NodeBuilder::new("categories").children(each).build()]
            }
            ProfileChange::Hours { timezone, days } => {
                let each = days.iter().map(|d| {
                    let config = NodeBuilder::new("business_hours_config").attr("day_of_week", d.day);
                    match d.hours {
                        OpeningHours::Between { open, close } => config
                            .attr("mode", "specific_hours")
                            .attr("open_time", open.to_string())
                            .attr("close_time", close.to_string()),
                        OpeningHours::AllDay => config.attr("mode", "open_24h"),
                        OpeningHours::ByAppointment => config.attr("mode", "appointment_only"),
                    }
                    .build()
                });
                vec![NodeBuilder::new("business_hours").attr("timezone", timezone.as_str()).children(each).build()]
            }
        }
    }
}

impl IqSpec for ProfileEdit {
    type Response = ();

    fn build_iq(&self) -> InfoQuery<'static> {
        let profile =
            NodeBuilder::new("business_profile").attr("v", "3").attr("mutation_type", "delta").children(self.fields());
        InfoQuery::set("w:biz", Jid::new("", Server::Pn), Some(NodeContent::Nodes(vec![profile.build()])))
    }

    fn parse_response(&self, _response: &NodeRef<'_>) -> Result<(), whatsapp_rust::anyhow::Error> {
        Ok(())
    }
}
