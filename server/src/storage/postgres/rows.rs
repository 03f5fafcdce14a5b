//! Reading PostgreSQL rows into Arbor's types. A value that does not parse
//! (a role or status the code does not know) is reported as a corrupt row,
//! never guessed.

use crate::storage::json_columns::{params_of, tool_calls_of, usage_of};
use crate::storage::{StorageError, StorageResult, StoredMessage};
use app::domain::model::{ConversationSummary, MessageNode};
use sqlx::postgres::PgRow;
use sqlx::Row;
use std::str::FromStr;

/// The columns [`message_from_row`] reads.
pub const MESSAGE_COLUMNS: &str = "id, parent_id, role, content, status, model, params, error, \
     client_id, usage, tool_calls, tool_call_id, last_active_at, created_at";

pub fn parsed_column<T: FromStr<Err = String>>(
    row: &PgRow,
    table: &'static str,
    column: &str,
) -> StorageResult<T> {
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|reason| StorageError::Corrupt { table, reason })
}

pub fn summary_from_row(row: &PgRow) -> StorageResult<ConversationSummary> {
    Ok(ConversationSummary {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub fn message_from_row(row: &PgRow) -> StorageResult<StoredMessage> {
    Ok(StoredMessage {
        node: MessageNode {
            id: row.try_get("id")?,
            parent_id: row.try_get("parent_id")?,
            role: parsed_column(row, "messages", "role")?,
            content: row.try_get("content")?,
            status: parsed_column(row, "messages", "status")?,
            model: row.try_get("model")?,
            params: params_of(row.try_get("params")?),
            tool_calls: tool_calls_of(row.try_get("tool_calls")?),
            tool_call_id: row.try_get("tool_call_id")?,
            note: row.try_get("error")?,
            last_active_at: row.try_get("last_active_at")?,
            usage: usage_of(row.try_get("usage")?),
            created_at: row.try_get("created_at")?,
            highlighted_code: Vec::new(),
        },
        client_id: row.try_get("client_id")?,
    })
}

/// A JSON text of `value` for a TEXT column, or a clear error.
pub fn json_text<T: serde::Serialize>(value: &T, table: &'static str) -> StorageResult<String> {
    serde_json::to_string(value).map_err(|e| StorageError::Corrupt {
        table,
        reason: e.to_string(),
    })
}
