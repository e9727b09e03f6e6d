//! business: a business profile in WhatsApp Web's terms and back — opening hours as the
//! engine writes them (a line per opening, minutes after midnight) and the profile another
//! number shows as the dialects read it. Pure mapping: no I/O.

use chatedge_whatsapp_web as wa;

use crate::network::account::business::{self, Hours, HoursMode, ListedCategory, OpenInterval, PublicProfile, Weekday};
use crate::network::account::AccountError;

/// The days as WhatsApp names them, in the order of [`WEEKDAYS`].
const WEEK: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const WEEKDAYS: [Weekday; 7] = [
    Weekday::Sunday,
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
];

/// Opening hours as WhatsApp takes them: a line per opening, minutes after midnight; open all
/// day or by appointment on every day when the hours' mode says so.
pub fn opening_hours(hours: business::Hours) -> Result<wa::ProfileChange, AccountError> {
    let every_day = |h: wa::OpeningHours| WEEK.iter().map(|day| wa::Opening { day, hours: h }).collect();
    let minutes = |t: &str| -> Result<u16, AccountError> {
        let (h, m) = t.split_once(':').ok_or_else(|| AccountError::Refused(format!("{t} is not a time (hh:mm)")))?;
        match (h.parse::<u16>(), m.parse::<u16>()) {
            (Ok(h), Ok(m)) if (h < 24 && m < 60) || (h, m) == (24, 0) => Ok(h * 60 + m),
            _ => Err(AccountError::Refused(format!("{t} is not a time (hh:mm)"))),
        }
    };
    let days = match hours.mode {
        Some(HoursMode::Open24h) => every_day(wa::OpeningHours::AllDay),
        Some(HoursMode::AppointmentOnly) => every_day(wa::OpeningHours::ByAppointment),
        Some(HoursMode::SpecificHours) | None => {
            let mut days = Vec::with_capacity(hours.days.len());
            for i in &hours.days {
                // `Weekday` runs from Sunday (0) as `WEEK` does.
                let day = WEEK[i.day_of_week as usize];
                let between =
                    wa::OpeningHours::Between { open: minutes(&i.open_time)?, close: minutes(&i.close_time)? };
                days.push(wa::Opening { day, hours: between });
            }
            days
        }
    };
    Ok(wa::ProfileChange::Hours { timezone: hours.timezone, days })
}

/// The profile a business shows, as the dialects read it: categories labelled where the
/// directory knows them; opening hours open all day or by appointment on every day read as
/// that mode, any other hours as each day's interval (a day open all day as 00:00–24:00, a day
/// by appointment left out). The engine does not say whether there is a cover photo: `false`.
pub fn public_profile(b: wa::BusinessInfo) -> PublicProfile {
    let categories = b
        .categories
        .into_iter()
        .map(|(id, display_name)| {
            let label = business::CATEGORIES.iter().find(|c| c.id == id).and_then(|c| c.label).map(str::to_owned);
            ListedCategory { id, label, display_name }
        })
        .collect();
    let openings = b.hours;
    let hours = b.timezone.map(|timezone| {
        let every_day = |h: wa::OpeningHours| !openings.is_empty() && openings.iter().all(|o| o.hours == h);
        match (every_day(wa::OpeningHours::AllDay), every_day(wa::OpeningHours::ByAppointment)) {
            (true, _) => Hours { timezone, mode: Some(HoursMode::Open24h), days: Vec::new() },
            (_, true) => Hours { timezone, mode: Some(HoursMode::AppointmentOnly), days: Vec::new() },
            _ => Hours {
                timezone,
                mode: Some(HoursMode::SpecificHours),
                days: openings.iter().filter_map(interval).collect(),
            },
        }
    });
    PublicProfile {
        description: b.description,
        address: b.address,
        email: b.email,
        websites: b.websites,
        categories,
        hours,
        has_cover_photo: false,
    }
}

fn interval(o: &wa::Opening) -> Option<OpenInterval> {
    let day = WEEKDAYS[WEEK.iter().position(|d| *d == o.day)?];
    let (open, close) = match o.hours {
        wa::OpeningHours::Between { open, close } => (open, close),
        wa::OpeningHours::AllDay => (0, 24 * 60),
        wa::OpeningHours::ByAppointment => return None,
    };
    let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    Some(OpenInterval { day_of_week: day, open_time: hhmm(open), close_time: hhmm(close) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_business_whatsapp_web_shows_reads_in_the_dialects_terms() {
        let opening = |day, hours| wa::Opening { day, hours };
        let info = wa::BusinessInfo {
            description: "Padaria".into(),
            categories: vec![("273819889462351".into(), "Restaurant".into()), ("1".into(), "Bakery".into())],
            timezone: Some("America/Sao_Paulo".into()),
            hours: vec![
                opening("mon", wa::OpeningHours::Between { open: 360, close: 1200 }),
                opening("sun", wa::OpeningHours::AllDay),
                opening("sat", wa::OpeningHours::ByAppointment),
            ],
            ..wa::BusinessInfo::default()
        };
        let p = public_profile(info.clone());
        let labels: Vec<_> = p.categories.iter().map(|c| (c.display_name.as_str(), c.label.as_deref())).collect();
        assert_eq!(labels, [("Restaurant", Some("RESTAURANT")), ("Bakery", None)]);
        let hours = p.hours.expect("hours");
        assert_eq!(hours.mode, Some(HoursMode::SpecificHours));
        let days: Vec<_> =
            hours.days.iter().map(|d| (d.day_of_week, d.open_time.as_str(), d.close_time.as_str())).collect();
        assert_eq!(days, [(Weekday::Monday, "06:00", "20:00"), (Weekday::Sunday, "00:00", "24:00")]);

        let all_day = wa::BusinessInfo {
            hours: WEEK.iter().map(|d| opening(d, wa::OpeningHours::AllDay)).collect(),
            ..info.clone()
        };
        let hours = public_profile(all_day).hours.expect("hours");
        assert_eq!((hours.mode, hours.days.len()), (Some(HoursMode::Open24h), 0));
        assert_eq!(public_profile(wa::BusinessInfo { timezone: None, ..info }).hours, None, "no hours set");
    }

    #[test]
    fn opening_hours_go_to_whatsapp_a_line_per_day() {
        let monday =
            OpenInterval { day_of_week: Weekday::Monday, open_time: "08:00".into(), close_time: "18:00".into() };
        let hours = Hours { timezone: "UTC".into(), mode: None, days: vec![monday] };
        let Ok(wa::ProfileChange::Hours { days, .. }) = opening_hours(hours) else { panic!() };
        assert_eq!(days, [wa::Opening { day: "mon", hours: wa::OpeningHours::Between { open: 480, close: 1080 } }]);
    }
}
