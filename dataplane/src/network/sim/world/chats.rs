//! chats: the sim's state and behaviour for `account::chats` calls (see the parent module).

use super::{Cx, Loader, World};
use crate::network::account::chats::{Call, Reply};
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

/// A message went to or came from `chat` (see `World::saw_traffic`).
pub fn saw_traffic(_world: &mut World, _chat: &chatedge_config::Phone, _at_ms: u64, _from_me: bool) {}
