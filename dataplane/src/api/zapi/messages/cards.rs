//! (to be written) The cards routes.

use chatedge_serve::Resp;

use super::super::{Call, ZapiError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardRoute {}

pub fn route(_rest: &[&str]) -> Option<(&'static str, &'static str, CardRoute)> {
    None
}

pub async fn handle(_call: &Call<'_>, route: CardRoute) -> Result<Resp, ZapiError> {
    match route {}
}
