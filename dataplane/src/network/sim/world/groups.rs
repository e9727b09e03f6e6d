//! groups: the sim's state and behaviour for `account::groups` calls (see the parent module).

use super::{Cx, Loader, World};
use crate::network::account::groups::{Call, Reply};
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

/// The members a message to group `to` reaches (see `World::recipients`).
pub fn recipients(
    _world: &World,
    _me: Option<&chatedge_config::Phone>,
    _to: &chatedge_config::Phone,
) -> Option<Result<Vec<chatedge_config::Phone>, String>> {
    None
}
