//! (to be written) The interactive routes.

use chatedge_serve::Resp;

use super::super::{Call, ZapiError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InteractiveRoute {}

pub fn route(_rest: &[&str]) -> Option<(&'static str, &'static str, InteractiveRoute)> {
    None
}

pub async fn handle(_call: &Call<'_>, route: InteractiveRoute) -> Result<Resp, ZapiError> {
    match route {}
}
