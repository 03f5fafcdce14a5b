//! The HTTP edge, and the only place that speaks axum: the router and its
//! layers (who is calling, route guards, cross-site refusal, security
//! headers), the event streams, the downloads and uploads, the composer's plain form
//! posts, the route other nodes forward operations to, and serving.

pub mod bundle;
pub mod caller;
pub mod cross_origin;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod forms;
pub mod guard;
pub mod internal;
pub mod router;
pub mod security_headers;
pub mod serve;
pub mod transfer;
