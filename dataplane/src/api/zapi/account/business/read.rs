//! Reading the business routes' bodies: each field by its own rule, errors naming it. Product
//! bodies are read leniently where Z-API's own examples are (its HAR sends `images` as one
//! string, `price` and `isHidden` as strings and `integrationId` for `retailerId`).

use serde_json::Value;

use crate::api::zapi::fields::{self, Object};
use crate::api::zapi::ZapiError;
use crate::network::account::business::{Hours, HoursMode, OpenInterval, ProductDraft, Weekday};
use crate::network::sim::world::business::{MAX_COLLECTION_PRODUCTS, MAX_PRODUCTS};

pub const MAX_NAME_CHARS: usize = 150;
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;
pub const MAX_IMAGES: usize = 10;
pub const MAX_URL_CHARS: usize = 2_048;
pub const MAX_RETAILER_ID_CHARS: usize = 100;
/// WhatsApp's limit on a business description.
pub const MAX_PROFILE_DESCRIPTION_CHARS: usize = 512;
pub const MAX_EMAIL_CHARS: usize = 128;
pub const MAX_ADDRESS_CHARS: usize = 256;
/// WhatsApp keeps at most two websites (seed 001 line 10850).
pub const MAX_WEBSITES: usize = 2;
/// Opening intervals: a few per day.
pub const MAX_INTERVALS: usize = 21;
/// A business has one to three categories (seed 001 line 11045).
pub const MAX_CATEGORIES: usize = 3;
pub const MAX_QUERY_CHARS: usize = 100;
const MAX_ID_CHARS: usize = 64;

fn bad(message: impl Into<String>) -> ZapiError {
    ZapiError::invalid("Invalid field", message.into())
}

/// The body of `POST /products`.
pub fn product(o: &Object) -> Result<ProductDraft, ZapiError> {
    let name = fields::text(o, "name", MAX_NAME_CHARS, true)?.unwrap_or_default().trim().to_owned();
    let description = fields::text(o, "description", MAX_DESCRIPTION_CHARS, false)?.unwrap_or_default();
    let price = amount(o, "price")?.ok_or_else(|| bad("price is required"))?;
    let sale_price = amount(o, "salePrice")?;
    if sale_price.is_some_and(|s| s > price) {
        return Err(bad("salePrice must not be above price"));
    }
    let currency = fields::text(o, "currency", 3, true)?.unwrap_or_default().to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad("currency must be an ISO 4217 code of three letters, like BRL"));
    }
    let retailer_id = match o.get("retailerId").filter(|v| !v.is_null()) {
        Some(_) => fields::text(o, "retailerId", MAX_RETAILER_ID_CHARS, false)?,
        None => fields::text(o, "integrationId", MAX_RETAILER_ID_CHARS, false)?,
    };
    let retailer_id = retailer_id.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    Ok(ProductDraft {
        retailer_id,
        name,
        description,
        price,
        sale_price,
        currency,
        images: images(o)?,
        is_hidden: fields::optional_boolean(o, "isHidden")?.unwrap_or(false),
        url: fields::url(o, "url", MAX_URL_CHARS, false)?,
    })
}

/// A price: a whole non-negative number, or such a number as a string.
fn amount(o: &Object, field: &str) -> Result<Option<u64>, ZapiError> {
    let wrong = || bad(format!("{field} must be a whole number, at least 0"));
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(wrong),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| wrong()),
        Some(_) => Err(wrong()),
    }
}

/// `images`: one URL or an array of 1 to [`MAX_IMAGES`] URLs.
fn images(o: &Object) -> Result<Vec<String>, ZapiError> {
    let list: Vec<Value> = match o.get("images") {
        None | Some(Value::Null) => return Err(bad("images is required")),
        Some(Value::String(s)) => vec![Value::String(s.clone())],
        Some(Value::Array(_)) => fields::array(o, "images", 1, MAX_IMAGES)?.cloned().unwrap_or_default(),
        Some(_) => return Err(bad("images must be a URL or an array of URLs")),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.into_iter().enumerate() {
        let one = Object::from_iter([(format!("images[{i}]"), v)]);
        out.push(fields::url(&one, &format!("images[{i}]"), MAX_URL_CHARS, true)?.unwrap_or_default());
    }
    Ok(out)
}

/// An id from the path or the query: digits, as the network mints them.
pub fn id(raw: &str, name: &str) -> Result<String, ZapiError> {
    let raw = raw.trim();
    match !raw.is_empty() && raw.len() <= MAX_ID_CHARS && raw.bytes().all(|b| b.is_ascii_digit()) {
        true => Ok(raw.to_owned()),
        false => Err(bad(format!("{name} must be an id of digits"))),
    }
}

/// `nextCursor`: what a previous page answered (an id), or nothing for the first page.
pub fn cursor(raw: Option<String>) -> Result<Option<String>, ZapiError> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) if c.len() <= MAX_ID_CHARS && c.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(c.to_owned())),
        Some(_) => Err(bad("nextCursor must be the nextCursor a previous page answered")),
    }
}

fn ids(o: &Object, field: &str, max: usize) -> Result<Vec<String>, ZapiError> {
    let list = fields::array(o, field, 1, max)?.ok_or_else(|| bad(format!("{field} is required")))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let name = format!("{field}[{i}]");
            match v {
                Value::String(s) => id(s, &name),
                Value::Number(n) if n.is_u64() => id(&n.to_string(), &name),
                _ => Err(bad(format!("{name} must be an id of digits"))),
            }
        })
        .collect()
}

pub fn collection_name(o: &Object) -> Result<String, ZapiError> {
    Ok(fields::text(o, "name", MAX_NAME_CHARS, true)?.unwrap_or_default().trim().to_owned())
}

/// `{name, productIds}` of a new collection.
pub fn new_collection(o: &Object) -> Result<(String, Vec<String>), ZapiError> {
    Ok((collection_name(o)?, ids(o, "productIds", MAX_COLLECTION_PRODUCTS)?))
}

/// `{collectionId, productIds}` of add-product and remove-product.
pub fn collection_change(o: &Object) -> Result<(String, Vec<String>), ZapiError> {
    let raw = match o.get("collectionId") {
        Some(Value::Number(n)) => n.to_string(),
        _ => fields::text(o, "collectionId", MAX_ID_CHARS, true)?.unwrap_or_default(),
    };
    Ok((id(&raw, "collectionId")?, ids(o, "productIds", MAX_PRODUCTS)?))
}

/// `value`: present, possibly empty (which removes it).
fn value(o: &Object, max: usize) -> Result<String, ZapiError> {
    match o.get("value") {
        None | Some(Value::Null) => Err(bad("value is required (send it empty to remove)")),
        _ => Ok(fields::text(o, "value", max, false)?.unwrap_or_default().trim().to_owned()),
    }
}

pub fn description(o: &Object) -> Result<String, ZapiError> {
    value(o, MAX_PROFILE_DESCRIPTION_CHARS)
}

pub fn address(o: &Object) -> Result<String, ZapiError> {
    value(o, MAX_ADDRESS_CHARS)
}

/// An e-mail address (seed 001 line 10735: anything else is an error), or empty to remove it.
pub fn email(o: &Object) -> Result<String, ZapiError> {
    let v = value(o, MAX_EMAIL_CHARS)?;
    if v.is_empty() {
        return Ok(v);
    }
    let valid = match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !v.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
                && !domain.contains('@')
        }
        None => false,
    };
    match valid {
        true => Ok(v),
        false => Err(bad("value must be an e-mail address, like email@example.com")),
    }
}

/// `websites`: at most two http(s) URLs; empty removes them.
pub fn websites(o: &Object) -> Result<Vec<String>, ZapiError> {
    let list = fields::array(o, "websites", 0, MAX_WEBSITES)?
        .ok_or_else(|| bad("websites is required (send [] to remove them)"))?;
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let name = format!("websites[{i}]");
        let one = Object::from_iter([(name.clone(), v.clone())]);
        out.push(fields::url(&one, &name, MAX_URL_CHARS, true)?.unwrap_or_default());
    }
    Ok(out)
}

/// `{timezone, mode?, days?}` of `business/hours`.
pub fn hours(o: &Object) -> Result<Hours, ZapiError> {
    let timezone = fields::text(o, "timezone", 64, true)?.unwrap_or_default().trim().to_owned();
    let tz_ok = timezone.contains('/') || timezone == "UTC";
    if !tz_ok || !timezone.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-+".contains(&b)) {
        return Err(bad("timezone must be an IANA time zone, like America/Sao_Paulo"));
    }
    let mode = fields::one_of(o, "mode", &["specificHours", "open24h", "appointmentOnly"])?.map(|m| match m {
        "specificHours" => HoursMode::SpecificHours,
        "open24h" => HoursMode::Open24h,
        _ => HoursMode::AppointmentOnly,
    });
    let mut days = Vec::new();
    for (i, v) in fields::array(o, "days", 0, MAX_INTERVALS)?.into_iter().flatten().enumerate() {
        let path = format!("days[{i}]");
        let d = fields::nested(Some(v), &path, true)?.ok_or_else(|| bad(format!("{path} is required")))?;
        days.push(fields::within(&path, interval(d))?);
    }
    Ok(Hours { timezone, mode, days })
}

fn interval(d: &Object) -> Result<OpenInterval, ZapiError> {
    const DAYS: [&str; 7] = ["SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"];
    let day = fields::one_of(d, "dayOfWeek", &DAYS)?.ok_or_else(|| bad("dayOfWeek is required"))?;
    let weekday = match day {
        "SUNDAY" => Weekday::Sunday,
        "MONDAY" => Weekday::Monday,
        "TUESDAY" => Weekday::Tuesday,
        "WEDNESDAY" => Weekday::Wednesday,
        "THURSDAY" => Weekday::Thursday,
        "FRIDAY" => Weekday::Friday,
        _ => Weekday::Saturday,
    };
    let open = time(d, "openTime")?;
    let close = time(d, "closeTime")?;
    if close <= open {
        return Err(bad("closeTime must be after openTime"));
    }
    Ok(OpenInterval { day_of_week: weekday, open_time: open, close_time: close })
}

/// `hh:mm`, 00:00 to 23:59 (24:00 closes at midnight).
fn time(d: &Object, field: &str) -> Result<String, ZapiError> {
    let t = fields::text(d, field, 5, true)?.unwrap_or_default();
    let ok = match t.split_once(':') {
        Some((h, m)) if h.len() == 2 && m.len() == 2 => match (h.parse::<u8>(), m.parse::<u8>()) {
            (Ok(h), Ok(m)) => (h < 24 && m < 60) || (h == 24 && m == 0),
            _ => false,
        },
        _ => false,
    };
    match ok {
        true => Ok(t),
        false => Err(bad(format!("{field} must be a time as hh:mm, like 08:00"))),
    }
}

/// `categories`: one to three category ids or labels.
pub fn categories(o: &Object) -> Result<Vec<String>, ZapiError> {
    let list = fields::array(o, "categories", 1, MAX_CATEGORIES)?.ok_or_else(|| bad("categories is required"))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) if !s.trim().is_empty() && s.len() <= MAX_ID_CHARS => Ok(s.trim().to_owned()),
            _ => {
                Err(bad(format!("categories[{i}] must be a category id or label (see business/available-categories)")))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
