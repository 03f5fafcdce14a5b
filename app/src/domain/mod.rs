//! What the browser and the server share, free of any UI framework: the
//! data the server sends ([`model`]), pure logic on it (tree walking,
//! branches, replays, sampler settings, reading windows, search queries),
//! the error type, and the backend traits the server implements.

pub mod accounts;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod branches;
pub mod errors;
pub mod forms;
pub mod model;
pub mod operations;
pub mod reading_window;
pub mod replay;
pub mod sampling;
pub mod search;
pub mod transfer;
pub mod tree;
