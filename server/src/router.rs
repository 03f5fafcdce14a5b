//! The HTTP surface: Leptos pages and server functions, the event stream,
//! static files, compression and request tracing.

use crate::service::ChatService;
use crate::sse::conversation_events;
use app::backend::{CurrentUser, SharedBackend};
use app::errors::AppError;
use app::{shell, App};
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
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
        .layer(middleware::from_fn(server_fn_error_status))
        .layer(Extension(chat))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(options)
}

/// Largest server function error body inspected for its status.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Server functions answer errors raised before their body runs (malformed
/// or missing arguments) with 500; give those the status of the `AppError`
/// they carry (400 for bad arguments).
async fn server_fn_error_status(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response();
    };
    if let Some(status) = serde_json::from_slice::<AppError>(&bytes)
        .ok()
        .and_then(|error| StatusCode::from_u16(error.status_code()).ok())
    {
        parts.status = status;
    }
    Response::from_parts(parts, Body::from(bytes))
}
