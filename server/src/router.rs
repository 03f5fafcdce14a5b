//! The HTTP surface: Leptos pages and server functions, the event stream,
//! static files, compression and request tracing.

use crate::service::ChatService;
use crate::sse::conversation_events;
use app::backend::{CurrentUser, SharedBackend};
use app::{shell, App};
use axum::routing::get;
use axum::{Extension, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

/// Builds the router serving the whole application.
pub fn router(chat: Arc<ChatService>, options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    let backend: SharedBackend = chat.clone();
    let user = CurrentUser(chat.local_user());
    let context = move || {
        provide_context(backend.clone());
        provide_context(user);
    };
    Router::new()
        .route("/api/conversations/{id}/events", get(conversation_events))
        .leptos_routes_with_context(&options, routes, context, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(Extension(chat))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(options)
}
