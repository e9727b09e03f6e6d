//! Reading Z-API request bodies. Bodies are parsed as a JSON object and each field is read
//! with its own rule, so an error names the field and says what is expected. Extra fields are
//! ignored (Z-API clients send many optional ones); wrong types are refused. Like Z-API's
//! clients expect, `phone` may be a string or a number, and numbers may come as strings.

use bytes::Bytes;
use chatedge_config::Phone;
use serde_json::{Map, Value};

use super::ZapiError;

pub type Object = Map<String, Value>;

/// The body as a JSON object.
pub fn object(body: &Bytes) -> Result<Object, ZapiError> {
    not_blank(body)?;
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(ZapiError::BadJson("the body must be a JSON object".into())),
        Err(e) => Err(ZapiError::BadJson(format!("the body is not valid JSON: {e}"))),
    }
}

fn not_blank(body: &Bytes) -> Result<(), ZapiError> {
    match body.iter().all(u8::is_ascii_whitespace) {
        true => Err(ZapiError::BadJson("the body is empty; send a JSON object".into())),
        false => Ok(()),
    }
}

/// A required recipient: a number as client code writes it (normalised to digits, see
/// [`Phone::normalize`]), a group id, a `@lid` or a `@newsletter` id.
pub fn phone(o: &Object, field: &str) -> Result<Phone, ZapiError> {
    match o.get(field) {
        None | Some(Value::Null) => Err(ZapiError::invalid("Invalid phone", format!("{field} is required"))),
        Some(v) => phone_value(v, field),
    }
}

/// One phone given as a JSON string or number (Z-API's `mentioned: [5511999999999]`); `name`
/// is how errors call it (`mentioned[2]`).
pub fn phone_value(v: &Value, name: &str) -> Result<Phone, ZapiError> {
    let raw = match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        Value::Number(n) if n.is_u64() => std::borrow::Cow::Owned(n.to_string()),
        _ => return Err(ZapiError::invalid("Invalid phone", format!("{name} must be a string of digits"))),
    };
    Phone::normalize(&raw).map_err(|e| ZapiError::invalid("Invalid phone", format!("{name}: {e}")))
}

/// A string of at most `max_chars` characters; `required` refuses absence and emptiness.
pub fn text(o: &Object, field: &str, max_chars: usize, required: bool) -> Result<Option<String>, ZapiError> {
    let bad = |m: String| ZapiError::invalid("Invalid field", m);
    match o.get(field) {
        None | Some(Value::Null) if required => Err(bad(format!("{field} is required"))),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if required && s.trim().is_empty() => Err(bad(format!("{field} must not be empty"))),
        Some(Value::String(s)) if s.chars().count() > max_chars => {
            Err(bad(format!("{field} is longer than {max_chars} characters")))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("{field} must be a string"))),
    }
}

/// Optional whole seconds within `range` (Z-API `delayMessage`, `delayTyping`: 1–15).
pub fn seconds(o: &Object, field: &str, range: std::ops::RangeInclusive<u8>) -> Result<Option<u8>, ZapiError> {
    let bad = || {
        ZapiError::invalid(
            "Invalid field",
            format!("{field} must be a whole number of seconds from {} to {}", range.start(), range.end()),
        )
    };
    let n = match o.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(bad)?,
        Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
    };
    u8::try_from(n).ok().filter(|n| range.contains(n)).map(Some).ok_or_else(bad)
}

/// A required boolean.
pub fn boolean(o: &Object, field: &str) -> Result<bool, ZapiError> {
    match o.get(field) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(_) => Err(ZapiError::invalid("Invalid field", format!("{field} must be true or false"))),
        None => Err(ZapiError::invalid("Invalid field", format!("{field} is required"))),
    }
}

/// Where a media field's base64 text is: inside the body (the common case: no JSON escapes,
/// so nothing is copied) or, when the client escaped characters, unescaped into its own buffer.
#[derive(Debug, Clone)]
pub enum MediaText {
    Url(String),
    Base64 { body: Bytes, range: std::ops::Range<usize> },
}

/// Like [`object`], but the field `media` (a URL or base64 data, possibly hundreds of MB) is
/// not copied into the object: it is located in the body instead.
pub fn object_with_media(body: &Bytes, media: &str) -> Result<(Object, Option<MediaText>), ZapiError> {
    use serde_json::value::RawValue;
    use std::borrow::Cow;
    not_blank(body)?;
    let raw: Vec<(Cow<'_, str>, &RawValue)> = match serde_json::from_slice::<RawObject<'_>>(body) {
        Ok(o) => o.0,
        Err(e) if e.is_data() => return Err(ZapiError::BadJson("the body must be a JSON object".into())),
        Err(e) => return Err(ZapiError::BadJson(format!("the body is not valid JSON: {e}"))),
    };
    let mut o = Object::new();
    let mut found = None;
    for (key, value) in raw {
        if key != media {
            let v: Value = serde_json::from_str(value.get()).map_err(|e| ZapiError::BadJson(e.to_string()))?;
            o.insert(key.into_owned(), v);
            continue;
        }
        let text = value.get();
        if text == "null" {
            continue;
        }
        let bad = || ZapiError::invalid("Invalid field", format!("{media} must be a string (a URL or base64 data)"));
        if !text.starts_with('"') {
            return Err(bad());
        }
        let start = text.as_ptr() as usize - body.as_ptr() as usize + 1;
        let inner = start..start + text.len() - 2;
        let input = if text.contains('\\') {
            let unescaped: String = serde_json::from_str(text).map_err(|_| bad())?;
            let len = unescaped.len();
            (Bytes::from(unescaped), 0..len)
        } else {
            (body.clone(), inner)
        };
        found = Some(classify(media, input.0, input.1)?);
    }
    Ok((o, found))
}

fn classify(field: &str, body: Bytes, range: std::ops::Range<usize>) -> Result<MediaText, ZapiError> {
    use crate::media::base64::MediaInput;
    let text = std::str::from_utf8(&body[range.clone()])
        .map_err(|_| ZapiError::invalid("Invalid field", format!("{field} is not valid UTF-8")))?;
    match MediaInput::parse(text) {
        Ok(MediaInput::Url(u)) => Ok(MediaText::Url(u.to_owned())),
        Ok(MediaInput::Base64(b)) => {
            let start = range.start + (b.as_ptr() as usize - text.as_ptr() as usize);
            Ok(MediaText::Base64 { range: start..start + b.len(), body })
        }
        Err(e) => Err(ZapiError::invalid("Invalid field", format!("{field} {e}"))),
    }
}

/// A JSON object read as its keys and raw (unparsed, borrowed) values, in order.
struct RawObject<'a>(Vec<(std::borrow::Cow<'a, str>, &'a serde_json::value::RawValue)>);

impl<'de> serde::Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(RawObject(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// An optional boolean (`true`/`false`, or those words as strings).
pub fn optional_boolean(o: &Object, field: &str) -> Result<Option<bool>, ZapiError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        _ => boolean(o, field).map(Some),
    }
}

/// An optional array of `min` to `max` items.
pub fn array<'a>(o: &'a Object, field: &str, min: usize, max: usize) -> Result<Option<&'a Vec<Value>>, ZapiError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) if (min..=max).contains(&a.len()) => Ok(Some(a)),
        Some(Value::Array(_)) => {
            Err(ZapiError::invalid("Invalid field", format!("{field} must have from {min} to {max} items")))
        }
        Some(_) => Err(ZapiError::invalid("Invalid field", format!("{field} must be an array"))),
    }
}

/// A nested JSON object (`adminInviteMessage`, an item of `contacts`); `name` is how errors
/// call it.
pub fn nested<'a>(v: Option<&'a Value>, name: &str, required: bool) -> Result<Option<&'a Object>, ZapiError> {
    match v {
        None | Some(Value::Null) if required => Err(ZapiError::invalid("Invalid field", format!("{name} is required"))),
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(ZapiError::invalid("Invalid field", format!("{name} must be an object"))),
    }
}

/// Runs a reader on a nested object and names its fields by their path (`contacts[1].name`).
pub fn within<T>(path: &str, r: Result<T, ZapiError>) -> Result<T, ZapiError> {
    r.map_err(|e| match e {
        ZapiError::Invalid { error, message } => ZapiError::Invalid { error, message: format!("{path}.{message}") },
        other => other,
    })
}

/// A required number within `range`, given as a JSON number or a numeric string (seed 001
/// types latitude and longitude as strings: `"latitude": "-23.0696347"`).
pub fn number(o: &Object, field: &str, range: std::ops::RangeInclusive<f64>) -> Result<f64, ZapiError> {
    let bad = || {
        ZapiError::invalid(
            "Invalid field",
            format!("{field} must be a number from {} to {}", range.start(), range.end()),
        )
    };
    let n = match o.get(field) {
        None | Some(Value::Null) => return Err(ZapiError::invalid("Invalid field", format!("{field} is required"))),
        Some(Value::Number(n)) => n.as_f64().ok_or_else(bad)?,
        Some(Value::String(s)) => s.trim().parse::<f64>().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
    };
    if n.is_finite() && range.contains(&n) {
        Ok(n)
    } else {
        Err(bad())
    }
}

/// An optional choice among `choices` (compared without regard to case), answered as the
/// choice's own spelling.
pub fn one_of(o: &Object, field: &str, choices: &[&'static str]) -> Result<Option<&'static str>, ZapiError> {
    let bad = || ZapiError::invalid("Invalid field", format!("{field} must be one of {}", choices.join(", ")));
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            choices.iter().find(|c| c.eq_ignore_ascii_case(s.trim())).copied().map(Some).ok_or_else(bad)
        }
        Some(_) => Err(bad()),
    }
}

/// An http(s) URL of at most `max_chars` characters.
pub fn url(o: &Object, field: &str, max_chars: usize, required: bool) -> Result<Option<String>, ZapiError> {
    let Some(u) = text(o, field, max_chars, required)? else { return Ok(None) };
    let u = u.trim().to_owned();
    let lower = u.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !u.chars().any(char::is_whitespace) => Ok(Some(u)),
        _ => Err(ZapiError::invalid("Invalid field", format!("{field} must be an http:// or https:// URL"))),
    }
}

/// The query parameter `name` (the first, percent-decoded), if present.
pub fn query(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A required query parameter among `choices` (compared without regard to case), answered as
/// the choice's own spelling.
pub fn query_one_of(q: Option<&str>, name: &str, choices: &[&'static str]) -> Result<&'static str, ZapiError> {
    let bad = || ZapiError::invalid("Invalid field", format!("{name} must be one of {}", choices.join(", ")));
    let value = query(q, name).ok_or_else(|| ZapiError::invalid("Invalid field", format!("{name} is required")))?;
    choices.iter().find(|c| c.eq_ignore_ascii_case(value.trim())).copied().ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(s: &str) -> Object {
        object(&Bytes::from(s.to_owned())).unwrap()
    }

    #[test]
    fn bodies_that_are_not_json_objects_are_refused() {
        for bad in ["", "  ", "{", "[1]", "\"x\"", "nul"] {
            assert!(matches!(object(&Bytes::from(bad)), Err(ZapiError::BadJson(_))), "{bad:?}");
        }
        assert!(matches!(object(&Bytes::from_static(b"\xff\xfe")), Err(ZapiError::BadJson(_))));
    }

    #[test]
    fn phone_accepts_strings_and_numbers_of_digits() {
        assert_eq!(phone(&obj(r#"{"phone":"5511999999999"}"#), "phone").unwrap().as_str(), "5511999999999");
        assert_eq!(phone(&obj(r#"{"phone":5511999999999}"#), "phone").unwrap().as_str(), "5511999999999");
        assert_eq!(phone(&obj(r#"{"phone":"+55 (11) 99999-9999"}"#), "phone").unwrap().as_str(), "5511999999999");
        for bad in [r#"{}"#, r#"{"phone":"+55 11"}"#, r#"{"phone":true}"#, r#"{"phone":-5}"#, r#"{"phone":"x"}"#] {
            let e = phone(&obj(bad), "phone").unwrap_err();
            assert!(matches!(&e, ZapiError::Invalid { message, .. } if message.starts_with("phone")), "{bad}: {e:?}");
        }
    }

    #[test]
    fn numbers_come_as_numbers_or_numeric_strings_within_range() {
        let r = -90.0..=90.0;
        assert_eq!(number(&obj(r#"{"n":"-23.0696347"}"#), "n", r.clone()).unwrap(), -23.0696347);
        assert_eq!(number(&obj(r#"{"n":45}"#), "n", r.clone()).unwrap(), 45.0);
        for bad in [r#"{}"#, r#"{"n":"91"}"#, r#"{"n":-90.5}"#, r#"{"n":"NaN"}"#, r#"{"n":"inf"}"#, r#"{"n":true}"#] {
            assert!(number(&obj(bad), "n", r.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn choices_urls_arrays_and_nested_fields_name_the_field() {
        let o = obj(r#"{"t":"large","u":"https://z-api.io","a":[1,2],"x":{"y":1}}"#);
        assert_eq!(one_of(&o, "t", &["SMALL", "LARGE"]).unwrap(), Some("LARGE"));
        assert!(one_of(&o, "t", &["SMALL"]).is_err());
        assert_eq!(url(&o, "u", 100, true).unwrap().as_deref(), Some("https://z-api.io"));
        assert!(url(&obj(r#"{"u":"z-api.io"}"#), "u", 100, true).is_err());
        assert!(url(&obj(r#"{"u":"https://"}"#), "u", 100, true).is_err());
        assert_eq!(array(&o, "a", 1, 2).unwrap().map(Vec::len), Some(2));
        assert!(array(&o, "a", 3, 5).is_err());
        assert!(array(&o, "u", 0, 5).is_err());
        assert!(nested(o.get("x"), "x", true).unwrap().is_some());
        assert!(nested(o.get("a"), "a", true).is_err());
        let e = within("contacts[1]", text(&obj("{}"), "name", 10, true)).unwrap_err();
        assert!(matches!(e, ZapiError::Invalid { message, .. } if message == "contacts[1].name is required"));
    }

    #[test]
    fn a_media_field_is_located_in_the_body_not_copied() {
        let body =
            Bytes::from_static(br#"{"phone":"5511999999999","image":"data:image/png;base64,iVBORw0K","caption":"c"}"#);
        let (o, media) = object_with_media(&body, "image").unwrap();
        assert_eq!(o.get("caption").and_then(Value::as_str), Some("c"));
        assert!(o.get("image").is_none());
        match media.unwrap() {
            MediaText::Base64 { body: b, range } => {
                assert_eq!(&b[range], b"iVBORw0K");
                assert_eq!(b.as_ptr(), body.as_ptr(), "no copy");
            }
            other => panic!("{other:?}"),
        }
        let (_, media) =
            object_with_media(&Bytes::from_static(br#"{"image":"https:\/\/x.test\/a.png"}"#), "image").unwrap();
        assert!(matches!(media, Some(MediaText::Url(u)) if u == "https://x.test/a.png"));
        for bad in [&br#"{"image":5}"#[..], br#"{"image":"ftp://x"}"#, br#"[1]"#, br#"{"#] {
            assert!(object_with_media(&Bytes::from_static(bad), "image").is_err(), "{:?}", std::str::from_utf8(bad));
        }
    }

    #[test]
    fn delays_must_be_whole_seconds_in_range() {
        let r = 1..=15;
        assert_eq!(seconds(&obj(r#"{"d":5}"#), "d", r.clone()).unwrap(), Some(5));
        assert_eq!(seconds(&obj(r#"{"d":"15"}"#), "d", r.clone()).unwrap(), Some(15));
        assert_eq!(seconds(&obj(r#"{}"#), "d", r.clone()).unwrap(), None);
        for bad in [r#"{"d":0}"#, r#"{"d":16}"#, r#"{"d":2.5}"#, r#"{"d":-1}"#, r#"{"d":"x"}"#, r#"{"d":999999999999}"#]
        {
            assert!(seconds(&obj(bad), "d", r.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_bounded_and_required_text_is_not_blank() {
        assert!(text(&obj(r#"{"m":"  "}"#), "m", 10, true).is_err());
        assert!(text(&obj(r#"{"m":"12345678901"}"#), "m", 10, true).is_err());
        assert_eq!(text(&obj(r#"{"m":"ok"}"#), "m", 10, true).unwrap().as_deref(), Some("ok"));
        assert!(text(&obj(r#"{"m":1}"#), "m", 10, false).is_err());
    }
}
