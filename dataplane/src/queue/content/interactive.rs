//! Interactive messages: buttons, lists, OTP and PIX buttons, carousels, polls and votes,
//! events, orders, products and catalogs.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::media::Digest;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Interactive {
    Poll { message: String, options: Vec<String>, max_options: u32 },
}

impl Interactive {
    pub fn preview(&self) -> Cow<'_, str> {
        match self {
            Interactive::Poll { message, .. } => Cow::Borrowed(message),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Interactive::Poll { .. } => "poll",
        }
    }

    pub fn stored_media(&self) -> Vec<Digest> {
        Vec::new()
    }
}
