//! Pages, one per file.

pub mod admin;
pub mod chat;
pub mod home;
pub mod sign_in;
