//! Conversations at run time. The [`service::ChatService`] validates
//! requests and is the only way in; it reaches each conversation's actor
//! through a [`handle::ConversationHandle`] from the [`registry`]. The
//! actor runs generations and streams events; [`transfers`] reads and
//! writes whole conversations for export and import.

pub mod actor;
pub mod event_log;
pub mod fork;
mod forwarded;
pub mod frame_pacer;
pub mod generation;
pub mod handle;
pub mod registry;
pub mod service;
pub mod sse_frame;
pub mod status;
pub mod title;
pub mod tools;
pub mod transfers;
