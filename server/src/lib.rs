//! Arbor's server: configuration, storage, conversation actors, model
//! providers and the HTTP edge. `main.rs` only reads the configuration and
//! calls [`serve`]; this file only names the modules.
//!
//! - [`api`]: Arbor as a library (the facade over the chat service).
//! - [`chat`]: the chat service, conversation actors and their generations.
//! - [`http`]: the only module that speaks HTTP (axum): routes, sessions,
//!   guards, event streams, downloads and uploads.
//! - [`storage`]: every SQL statement, behind traits.
//! - [`cluster`]: several nodes on one PostgreSQL database (leases,
//!   forwarding, events between nodes).
//! - [`providers`], [`catalog`]: the models and which one answers.
//! - [`transfer`]: export and import formats, as pure functions.
//! - [`accounts`], [`config`], [`operations`], [`telemetry`]: the rest.

pub mod accounts;
pub mod api;
pub mod catalog;
pub mod chat;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod error;
pub mod http;
pub mod operations;
pub mod providers;
pub mod secret;
pub mod storage;
pub mod telemetry;
pub mod transfer;

pub use error::ServeError;
pub use http::serve::serve;
