//! contacts: the sim's state and behaviour for `account::contacts` calls (see the parent module).

use super::{Cx, Loader, World};
use crate::network::account::contacts::{Call, Reply};
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

/// A send to a blocked contact is refused (see `World::recipients`).
pub fn recipients(_world: &World, _to: &chatedge_config::Phone) -> Option<Result<Vec<chatedge_config::Phone>, String>> {
    None
}
