//! Reading the nested fields of interactive bodies (buttons in cards in a carousel, products
//! in an order) so that every refusal names the field by its full path, as
//! `carousel[2].buttons[0].label is required`. [`At`] is one JSON object and the path that
//! leads to it; each reader checks one field's type, length, range or spelling. Extra fields
//! are ignored, like at the top level (`fields.rs`). Pure functions, no I/O.

use std::ops::RangeInclusive;

use serde_json::Value;

use super::super::super::fields::Object;
use super::super::super::ZapiError;

/// Largest amount accepted in an order (value, discount, tax, shipping).
pub const MAX_AMOUNT: f64 = 1e12;

pub fn invalid(message: String) -> ZapiError {
    ZapiError::invalid("Invalid field", message)
}

/// One JSON object of the body and the path that leads to it (`""` for the body).
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    pub o: &'a Object,
    path: &'a str,
}

/// An object inside the body, with its path owned.
#[derive(Debug, Clone)]
pub struct Nested<'a> {
    pub o: &'a Object,
    pub path: String,
}

impl<'a> Nested<'a> {
    pub fn at(&self) -> At<'_> {
        At { o: self.o, path: &self.path }
    }
}

impl<'a> At<'a> {
    pub fn root(o: &'a Object) -> At<'a> {
        At { o, path: "" }
    }

    /// The full path of `field` (`carousel[0].text`).
    pub fn name(&self, field: &str) -> String {
        if self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.path)
        }
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.o.get(field).filter(|v| !v.is_null())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    fn required(&self, field: &str) -> ZapiError {
        invalid(format!("{} is required", self.name(field)))
    }

    /// A string of at most `max_chars` characters; when `required`, neither absent nor blank.
    pub fn text(&self, field: &str, max_chars: usize, required: bool) -> Result<Option<String>, ZapiError> {
        match self.get(field) {
            None if required => Err(self.required(field)),
            None => Ok(None),
            Some(Value::String(s)) if required && s.trim().is_empty() => {
                Err(invalid(format!("{} must not be empty", self.name(field))))
            }
            Some(Value::String(s)) if s.chars().count() > max_chars => {
                Err(invalid(format!("{} is longer than {max_chars} characters", self.name(field))))
            }
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!("{} must be a string", self.name(field)))),
        }
    }

    pub fn required_text(&self, field: &str, max_chars: usize) -> Result<String, ZapiError> {
        self.text(field, max_chars, true)?.ok_or_else(|| self.required(field))
    }

    /// An identifier: a non-blank string, or a whole number (clients often send `"id": 1`).
    pub fn id(&self, field: &str, max_chars: usize, required: bool) -> Result<Option<String>, ZapiError> {
        match self.get(field) {
            Some(Value::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
            Some(Value::String(_)) | None => self.text(field, max_chars, required),
            Some(_) => Err(invalid(format!("{} must be a string", self.name(field)))),
        }
    }

    pub fn boolean(&self, field: &str, required: bool) -> Result<Option<bool>, ZapiError> {
        match self.get(field) {
            None if required => Err(self.required(field)),
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(invalid(format!("{} must be true or false", self.name(field)))),
        }
    }

    /// One of `names` (matched ignoring case), answered as its entry in `values`.
    pub fn one_of<T: Copy>(
        &self,
        field: &str,
        names: &[&str],
        values: &[T],
        required: bool,
    ) -> Result<Option<T>, ZapiError> {
        let bad = || invalid(format!("{} must be one of {}", self.name(field), names.join(", ")));
        match self.get(field) {
            None if required => Err(self.required(field)),
            None => Ok(None),
            Some(Value::String(s)) => {
                let i = names.iter().position(|n| n.eq_ignore_ascii_case(s.trim())).ok_or_else(bad)?;
                values.get(i).copied().map(Some).ok_or_else(bad)
            }
            Some(_) => Err(bad()),
        }
    }

    /// A whole number within `range` (a number or a string of digits).
    pub fn count(&self, field: &str, range: RangeInclusive<u64>, required: bool) -> Result<Option<u64>, ZapiError> {
        let bad = || {
            invalid(format!("{} must be a whole number from {} to {}", self.name(field), range.start(), range.end()))
        };
        let n = match self.get(field) {
            None if required => return Err(self.required(field)),
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(bad)?,
            Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad())?,
            Some(_) => return Err(bad()),
        };
        range.contains(&n).then_some(Some(n)).ok_or_else(bad)
    }

    /// An amount of money: a number (or numeric string) from 0 to [`MAX_AMOUNT`].
    pub fn amount(&self, field: &str, required: bool) -> Result<Option<f64>, ZapiError> {
        let bad = || invalid(format!("{} must be a number from 0 to {MAX_AMOUNT}", self.name(field)));
        let n = match self.get(field) {
            None if required => return Err(self.required(field)),
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_f64().ok_or_else(bad)?,
            Some(Value::String(s)) => s.trim().parse::<f64>().map_err(|_| bad())?,
            Some(_) => return Err(bad()),
        };
        (n.is_finite() && (0.0..=MAX_AMOUNT).contains(&n)).then_some(Some(n)).ok_or_else(bad)
    }

    /// An `http(s)` URL without spaces.
    pub fn url(&self, field: &str, max_chars: usize, required: bool) -> Result<Option<String>, ZapiError> {
        let Some(url) = self.text(field, max_chars, required)? else { return Ok(None) };
        let url = url.trim().to_owned();
        let lower = url.get(..8).unwrap_or(&url).to_ascii_lowercase();
        let scheme_ok = lower.starts_with("http://") || lower.starts_with("https://");
        let host_ok = url.split("://").nth(1).is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !scheme_ok || !host_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(format!("{} must be an http(s) URL", self.name(field))));
        }
        Ok(Some(url))
    }

    /// A nested object.
    pub fn object(&self, field: &str, required: bool) -> Result<Option<Nested<'a>>, ZapiError> {
        match self.get(field) {
            None if required => Err(self.required(field)),
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(Nested { o, path: self.name(field) })),
            Some(_) => Err(invalid(format!("{} must be an object", self.name(field)))),
        }
    }

    /// An array of `count` objects (`None` when absent and not required).
    pub fn objects(
        &self,
        field: &str,
        count: RangeInclusive<usize>,
        required: bool,
    ) -> Result<Option<Vec<Nested<'a>>>, ZapiError> {
        let items = match self.get(field) {
            None if required => return Err(self.required(field)),
            None => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(invalid(format!("{} must be an array of objects", self.name(field)))),
        };
        if !count.contains(&items.len()) {
            let (min, max) = (count.start(), count.end());
            return Err(invalid(format!(
                "{} must have from {min} to {max} items, not {}",
                self.name(field),
                items.len()
            )));
        }
        let name = self.name(field);
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(o) => Ok(Nested { o, path: format!("{name}[{i}]") }),
                _ => Err(invalid(format!("{name}[{i}] must be an object"))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A phone number written on a button or naming an account: digits, possibly written with
    /// a leading `+`, spaces, dashes, dots or parentheses; answered as 8 to 15 digits.
    pub fn phone_number(&self, field: &str, required: bool) -> Result<Option<String>, ZapiError> {
        let bad = || invalid(format!("{} must be a phone number of 8 to 15 digits", self.name(field)));
        let raw = match self.get(field) {
            None if required => return Err(self.required(field)),
            None => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) if n.is_u64() => n.to_string(),
            Some(_) => return Err(bad()),
        };
        let raw = raw.trim();
        let body = raw.strip_prefix('+').unwrap_or(raw);
        if !body.chars().all(|c| c.is_ascii_digit() || " -.()".contains(c)) {
            return Err(bad());
        }
        let digits: String = body.chars().filter(char::is_ascii_digit).collect();
        (8..=15).contains(&digits.len()).then_some(Some(digits)).ok_or_else(bad)
    }
}

/// Refuses the same text twice among `items` (poll options, votes, button ids), naming the
/// second one.
pub fn distinct<'s>(items: impl IntoIterator<Item = (String, &'s str)>) -> Result<(), ZapiError> {
    let mut seen = std::collections::HashSet::new();
    for (path, text) in items {
        if !seen.insert(text.trim().to_lowercase()) {
            return Err(invalid(format!("{path} repeats \"{text}\"; each must be different")));
        }
    }
    Ok(())
}

/// An ISO 8601 date and time, `YYYY-MM-DDTHH:MM[:SS[.fff]]` with an optional `Z` or `±HH:MM`
/// (the seed's events send `2024-04-29T09:30:53.309Z`; it also says "no timezone").
pub fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute)) =
        (digits(0..4), digits(5..7), digits(8..10), digits(11..13), digits(14..16))
    else {
        return false;
    };
    let seps = b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-') && b.get(13) == Some(&b':');
    let t = matches!(b.get(10), Some(b'T' | b't' | b' '));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if !seps || !t || !(1..=days).contains(&day) || hour > 23 || minute > 59 {
        return false;
    }
    let mut rest = &s[16..];
    if let Some(sec) = rest.strip_prefix(':') {
        let Some(secs) = sec.get(..2).filter(|x| x.bytes().all(|c| c.is_ascii_digit())) else { return false };
        if secs > "59" {
            return false;
        }
        rest = &sec[2..];
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 || n > 9 {
                return false;
            }
            rest = &frac[n..];
        }
    }
    match rest.as_bytes() {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) && (*h1, *h2) <= (b'1', b'4') && *m1 <= b'5'
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
