//! business: the sim's state and behaviour for `account::business` calls (see the parent module).

use super::{Cx, Loader, World};
use crate::network::account::business::{Call, Reply};
use crate::network::account::AccountError;
use crate::store::StoreError;

#[derive(Debug, Default)]
pub struct State {}

impl State {
    pub fn load(_l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State::default())
    }
}

pub fn apply(_world: &mut World, call: Call, _cx: &mut Cx) -> Result<Reply, AccountError> {
    match call {}
}
