//! status: status posts (stories) and replies to other people's. Both are messages and travel
//! the send path (`Connector::send`): a post is addressed to `status@broadcast`
//! ([`chatedge_config::phone::STATUS_BROADCAST`]), a reply to the author's number with the
//! status's message id as the message it replies to. No account call is needed for them, so
//! this family's `Call` has no variant yet; it is where calls about statuses (who may see
//! them, muting someone's) would go.

/// What is asked.
#[derive(Debug, Clone)]
pub enum Call {}

/// What the network answers.
#[derive(Debug, Clone)]
pub enum Reply {}
