//! Pages, one per file.

pub mod chat;
pub mod home;
