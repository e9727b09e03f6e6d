//! (to be written) The actions routes.

use chatedge_serve::Resp;

use super::super::{Call, ZapiError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionRoute {}

pub fn route(_rest: &[&str]) -> Option<(&'static str, &'static str, ActionRoute)> {
    None
}

pub async fn handle(_call: &Call<'_>, route: ActionRoute) -> Result<Resp, ZapiError> {
    match route {}
}
