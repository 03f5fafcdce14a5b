//! Moving conversations in and out of Arbor. Every format is read into,
//! and written from, one shape: [`archive::ArchivedConversation`], a whole
//! tree as Arbor's lossless archive keeps it. This module is pure (bytes
//! in, conversations out, or the reverse); `chat/transfers.rs` reads and
//! writes them through the store, and [`crate::http::transfer`] serves the
//! downloads and the upload.

pub mod archive;
pub mod branch_export;
pub mod decode;
pub mod foreign_tree;
pub mod validate;

mod chatgpt;
mod json;
mod librechat;
mod linear_chat;
mod open_webui;
mod readable;

pub use decode::{decode, DecodeError, Decoded, ImportLimits, SourceFormat};
