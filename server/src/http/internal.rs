//! `POST /api/internal/conversations/{id}`: operations another node
//! forwards to this one because it runs the conversation (see
//! `cluster::forward`). Only nodes sharing the database know the secret
//! the request must carry; the answer is the operation's own (`Ok` or
//! `Err`, as JSON), or 409 when this node does not run the conversation.

use crate::chat::service::ChatService;
use crate::cluster::forward::MOVED_STATUS;
use crate::cluster::request::Forwarded;
use crate::cluster::SECRET_HEADER;
use crate::http::error::ApiError;
use app::domain::errors::{parse_id, AppError};
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::sync::Arc;

/// The handler.
pub async fn forwarded_operation(
    Extension(chat): Extension<Arc<ChatService>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Forwarded>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(cluster) = chat.cluster() else {
        return ApiError(AppError::NotFound("route".into())).into_response();
    };
    let presented = headers
        .get(SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !cluster.accepts(presented) {
        tracing::warn!("refused a forwarded operation without the nodes' secret");
        return ApiError(AppError::Forbidden("not a node of this cluster".into())).into_response();
    }
    let conversation = match parse_id(&id, "conversation") {
        Ok(conversation) => conversation,
        Err(error) => return ApiError(error).into_response(),
    };
    let Json(forwarded) = match body {
        Ok(body) => body,
        Err(rejection) => {
            return ApiError(AppError::BadRequest(format!(
                "not a forwarded operation: {rejection}"
            )))
            .into_response()
        }
    };
    match chat.perform_forwarded(conversation, forwarded).await {
        Some(answer) => Json(answer).into_response(),
        None => MOVED_STATUS.into_response(),
    }
}
