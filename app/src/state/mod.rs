//! Page-wide state, one context per concern.

pub mod chat;
pub mod conversation_list;
