//! status: status posts on the sim. A post is a message to `status@broadcast`; the sim lets it
//! reach the broadcast list itself ([`recipients`]), so the phones' record (the witness,
//! `GET /sim/received?phone=status@broadcast`) shows every post the account made, with its
//! text or media, as the network got it. This family keeps no table of its own: a post is
//! traffic, and traffic must not cost a write (`World::recipients` is read-only and is not
//! told the message); replies to statuses are ordinary messages to their authors.

use chatedge_config::phone::PhoneKind;
use chatedge_config::Phone;

use super::{Cx, Loader, World};
use crate::network::account::status::{Call, Reply};
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

/// A message to `status@broadcast` is a status post: it reaches the broadcast list, where the
/// phones' record keeps it (see `World::recipients`). Other ids are not this family's.
pub fn recipients(_world: &World, to: &Phone) -> Option<Result<Vec<Phone>, String>> {
    (to.kind() == PhoneKind::StatusBroadcast).then(|| Ok(vec![to.clone()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_reaches_the_broadcast_list_and_other_ids_are_left_alone() {
        let w = World::default();
        let broadcast = Phone::parse("status@broadcast").unwrap();
        assert_eq!(recipients(&w, &broadcast), Some(Ok(vec![broadcast.clone()])));
        assert_eq!(recipients(&w, &Phone::parse("5544999999999").unwrap()), None);
        assert_eq!(w.recipients(None, &broadcast), Ok(vec![broadcast]));
    }
}
