//! Conversations at run time: one actor per active conversation, found
//! through the registry; the actor runs generations and streams events.

pub mod actor;
pub mod event_log;
pub mod fork;
pub mod generation;
pub mod registry;
pub mod status;
pub mod title;
pub mod tools;
