//! contacts: the network calls and replies of this family (see the parent module).

/// What is asked.
#[derive(Debug, Clone)]
pub enum Call {}

/// What the network answers.
#[derive(Debug, Clone)]
pub enum Reply {}
