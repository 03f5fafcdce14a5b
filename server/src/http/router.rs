//! The HTTP surface: Leptos pages and server functions, the event streams,
//! `/metrics`, static files, compression, and request tracing (each request
//! gets an `x-request-id`, logged on every line of its span and answered
//! back to the client). Every request first passes the security layers:
//! security headers, the body size limit, the cross-site refusal, the
//! session lookup and the route guard.

use super::dashboard::dashboard_events;
use crate::accounts::Accounts;
use crate::api::Arbor;
use crate::cluster::forward::INTERNAL_ROUTE;
use crate::http::caller::identify_caller;
use crate::http::cross_origin::refuse_cross_site;
use crate::http::events::conversation_events;
use crate::http::forms::{send_from_form, start_from_form};
use crate::http::guard::guard_routes;
use crate::http::internal::forwarded_operation;
use crate::http::security_headers::{add_security_headers, page_policy};
use crate::http::transfer::{export_backup, export_conversation, export_instance, import};
use crate::operations::Operations;
use app::domain::backend::{SharedAccounts, SharedBackend, SharedOperations};
use app::domain::errors::AppError;
use app::domain::forms::{NEW_CONVERSATION_URL, SEND_ROUTE};
use app::domain::transfer::IMPORT_URL;
use app::{shell, App};
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Builds the router serving the whole application. `metrics` renders
/// `/metrics` (none: that route answers 503).
pub fn router(
    arbor: Arbor,
    accounts: Arc<Accounts>,
    metrics: Option<PrometheusHandle>,
    options: LeptosOptions,
) -> Router {
    let chat = arbor.service();
    let operations = Arc::new(Operations::new(arbor));
    let routes = generate_route_list(App);
    let backend: SharedBackend = chat.clone();
    let shared_operations: SharedOperations = operations.clone();
    let shared_accounts: SharedAccounts = accounts.clone();
    let max_body = accounts.settings().max_request_bytes;
    let context = move || {
        provide_context(backend.clone());
        provide_context(shared_operations.clone());
        provide_context(shared_accounts.clone());
        set_page_policy();
    };
    Router::new()
        .route("/api/conversations/{id}/events", get(conversation_events))
        .route("/api/conversations/{id}/export", get(export_conversation))
        .route(INTERNAL_ROUTE, post(forwarded_operation))
        .route("/api/backup", get(export_backup))
        .route("/api/admin/events", get(dashboard_events))
        .route("/api/admin/backup", get(export_instance))
        .route("/metrics", get(move || render_metrics(metrics.clone())))
        .route(SEND_ROUTE, post(send_from_form))
        .route(NEW_CONVERSATION_URL, post(start_from_form))
        .leptos_routes_with_context(&options, routes, context, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(RequestBodyLimitLayer::new(max_body))
        // Imports read their body up to their own, larger limit (and name
        // it in their error); added after the general limit, so not under it.
        .route(IMPORT_URL, post(import))
        .layer(middleware::from_fn(server_fn_error_status))
        .layer(Extension(chat))
        .layer(Extension(operations))
        .layer(Extension(accounts.clone()))
        .layer(middleware::from_fn_with_state(
            accounts.clone(),
            guard_routes,
        ))
        .layer(middleware::from_fn_with_state(accounts, identify_caller))
        .layer(middleware::from_fn(refuse_cross_site))
        .layer(middleware::from_fn(add_security_headers))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(options)
}

/// Gives a page the Content-Security-Policy naming the nonce Leptos put on
/// its scripts (server functions have no nonce and keep the default).
fn set_page_policy() {
    let nonce = leptos::nonce::use_nonce();
    let response = use_context::<leptos_axum::ResponseOptions>();
    if let (Some(nonce), Some(response)) = (nonce, response) {
        if let Ok(policy) = axum::http::HeaderValue::from_str(&page_policy(Some(&nonce))) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, policy);
        }
    }
}

/// The span every log line of a request is written in.
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// `GET /metrics`: every recorded figure in Prometheus' text format.
async fn render_metrics(metrics: Option<PrometheusHandle>) -> Response {
    match metrics {
        Some(handle) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are recorded by another server in this process",
        )
            .into_response(),
    }
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
