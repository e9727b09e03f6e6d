//! Templates (send-template, issue 12): a message template the business had approved on the
//! network, named with its language and the values of its variable parts. `components` are
//! kept in the Graph API's own shape (`[{"type": "body", "parameters": [{"type": "text",
//! "text": "…"}]}, …]`), checked for shape by the dialect and passed through by the connector:
//! inventing a second shape for them would only add a translation to get wrong. Plain data;
//! no I/O.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest template name the network accepts (lowercase letters, digits and underscores).
pub const MAX_NAME_CHARS: usize = 512;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub name: String,
    /// The language and locale code the template was approved in (`pt_BR`, `en_US`, `es`).
    pub language: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Value>,
}

impl Template {
    /// A name the network could have approved: 1–512 lowercase letters, digits, underscores.
    pub fn valid_name(name: &str) -> bool {
        !name.is_empty()
            && name.chars().count() <= MAX_NAME_CHARS
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    /// A language code shaped like `pt_BR`, `en_US` or `es` (ISO 639 language, optional region).
    pub fn valid_language(code: &str) -> bool {
        let mut parts = code.split('_');
        let lang = parts.next().unwrap_or_default();
        let region = parts.next();
        let lang_ok = (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_lowercase());
        let region_ok =
            region.is_none_or(|r| (2..=4).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric()));
        lang_ok && region_ok && parts.next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_language_codes_are_checked_as_the_network_spells_them() {
        assert!(Template::valid_name("order_shipped_2"));
        assert!(!Template::valid_name("Order Shipped"));
        assert!(!Template::valid_name(""));
        assert!(Template::valid_language("pt_BR"));
        assert!(Template::valid_language("es"));
        assert!(Template::valid_language("zh_HANT"));
        assert!(!Template::valid_language("portuguese"));
        assert!(!Template::valid_language("pt-BR"));
    }
}
