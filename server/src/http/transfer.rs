//! The download and upload routes of exports and imports:
//! - `GET /api/conversations/{id}/export?format=arbor|markdown|openai&leaf=`
//!   a conversation (or one branch of it) as a file;
//! - `GET /api/backup`: the caller's conversations as one archive;
//! - `GET /api/admin/backup`: every conversation (administrators);
//! - `POST /api/import?file=NAME`: the body is the file; answers the
//!   [`ImportSummary`] as JSON.

use crate::chat::service::ChatService;
use crate::clock::now_ms;
use crate::http::caller::signed_in;
use crate::http::error::ApiError;
use crate::transfer::archive::{Archive, ArchiveKind};
use crate::transfer::branch_export;
use app::domain::backend::{Backend, Caller};
use app::domain::errors::{parse_id, AppError};
use app::domain::transfer::{file_stem, human_bytes, ExportFormat, ImportSummary};
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use std::sync::Arc;

/// Query string of a conversation's export.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
    leaf: Option<String>,
}

/// Query string of an import.
#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    file: Option<String>,
}

/// A response that downloads `body` as `file_name`.
fn download(body: Vec<u8>, file_name: &str, content_type: &'static str) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from(body),
    )
        .into_response()
}

fn archive_download(archive: &Archive, stem: &str) -> Result<Response, ApiError> {
    let bytes = archive.to_gzip().map_err(|_| {
        ApiError(AppError::Internal(
            "the archive could not be written".into(),
        ))
    })?;
    Ok(download(
        bytes,
        &format!("{stem}.arbor.json.gz"),
        "application/gzip",
    ))
}

/// `GET /api/conversations/{id}/export`.
pub async fn export_conversation(
    Extension(chat): Extension<Arc<ChatService>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let user = signed_in(&caller)?;
    let id = parse_id(&id, "conversation").map_err(ApiError)?;
    let format: ExportFormat = query
        .format
        .as_deref()
        .unwrap_or("arbor")
        .parse()
        .map_err(|e| ApiError(AppError::BadRequest(e)))?;
    let leaf = query
        .leaf
        .as_deref()
        .map(|leaf| parse_id(leaf, "message"))
        .transpose()
        .map_err(ApiError)?;
    let conversation = chat
        .export_conversation(user.id, id)
        .await
        .map_err(ApiError)?;
    let stem = file_stem(&conversation.title);
    if let Some(leaf) = leaf.filter(|l| !conversation.messages.iter().any(|m| m.id == *l)) {
        return Err(ApiError(AppError::NotFound(format!("message {leaf}"))));
    }
    let through = leaf.or(conversation.active_leaf_id);
    match format {
        ExportFormat::Arbor => {
            let archive = Archive::new(ArchiveKind::Conversation, vec![conversation], now_ms());
            archive_download(&archive, &stem)
        }
        ExportFormat::Markdown => {
            let path = branch_export::branch(&conversation.messages, through);
            let text =
                branch_export::markdown(&conversation.title, &conversation.system_prompt, &path);
            Ok(download(
                text.into_bytes(),
                &format!("{stem}.{}", format.extension()),
                "text/markdown; charset=utf-8",
            ))
        }
        ExportFormat::OpenAi => {
            let path = branch_export::branch(&conversation.messages, through);
            let messages = branch_export::openai_messages(&conversation.system_prompt, &path);
            let bytes = serde_json::to_vec_pretty(&messages).map_err(|_| {
                ApiError(AppError::Internal("the export could not be written".into()))
            })?;
            Ok(download(
                bytes,
                &format!("{stem}.{}", format.extension()),
                "application/json",
            ))
        }
    }
}

/// `GET /api/backup`.
pub async fn export_backup(
    Extension(chat): Extension<Arc<ChatService>>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let user = signed_in(&caller)?;
    let archive = chat.backup(user.id).await.map_err(ApiError)?;
    archive_download(
        &archive,
        &format!("arbor-backup-{}", file_stem(&user.username)),
    )
}

/// `GET /api/admin/backup` (the route guard lets only administrators in).
pub async fn export_instance(
    Extension(chat): Extension<Arc<ChatService>>,
) -> Result<Response, ApiError> {
    let archive = chat.instance_backup().await.map_err(ApiError)?;
    archive_download(&archive, "arbor-instance-backup")
}

/// `POST /api/import?file=NAME`: reads the body up to the configured
/// limit (413 with the limit named past it) and imports it.
pub async fn import(
    Extension(chat): Extension<Arc<ChatService>>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportSummary>, ApiError> {
    let user = signed_in(&caller)?;
    let file_name = query
        .file
        .map(|f| {
            f.chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
        })
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| "the uploaded file".into());
    let limit = chat.max_import_bytes();
    let too_large = || {
        ApiError(AppError::TooLarge(format!(
            "{file_name}: the file is larger than {}, the largest import this Arbor accepts \
             (ARBOR_MAX_IMPORT_BYTES)",
            human_bytes(limit)
        )))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .await
        .map_err(|_| too_large())?;
    if bytes.is_empty() {
        return Err(ApiError(AppError::BadRequest(format!(
            "{file_name}: the file is empty"
        ))));
    }
    let summary = chat
        .import(user.id, &file_name, bytes)
        .await
        .map_err(ApiError)?;
    Ok(Json(summary))
}
