//! The writes every streaming reply makes (insert the messages, checkpoint
//! the text, store the end). Any number of new messages go in one
//! statement: each column is bound as one array and `UNNEST` turns the
//! arrays back into rows, so a 10,000-message import is one round trip.

use super::rows::json_text;
use crate::storage::json_columns::tool_calls_text;
use crate::storage::{StorageResult, StoredMessage};
use app::domain::model::MessageNode;
use sqlx::PgConnection;
use uuid::Uuid;

/// One array per column of the messages being inserted.
#[derive(Default)]
struct MessageColumns {
    id: Vec<Uuid>,
    conversation_id: Vec<Uuid>,
    parent_id: Vec<Option<Uuid>>,
    role: Vec<String>,
    content: Vec<String>,
    status: Vec<String>,
    model: Vec<Option<String>>,
    params: Vec<Option<String>>,
    error: Vec<Option<String>>,
    client_id: Vec<Option<String>>,
    last_active_at: Vec<Option<i64>>,
    created_at: Vec<i64>,
    tool_calls: Vec<Option<String>>,
    tool_call_id: Vec<Option<String>>,
    usage: Vec<Option<String>>,
}

impl MessageColumns {
    fn push(&mut self, conversation: Uuid, message: &StoredMessage) -> StorageResult<()> {
        let node = &message.node;
        self.id.push(node.id);
        self.conversation_id.push(conversation);
        self.parent_id.push(node.parent_id);
        self.role.push(node.role.as_str().to_string());
        self.content.push(node.content.clone());
        self.status.push(node.status.as_str().to_string());
        self.model.push(node.model.clone());
        self.params.push(
            node.params
                .as_ref()
                .map(|p| json_text(p, "messages"))
                .transpose()?,
        );
        self.error.push(node.note.clone());
        self.client_id.push(message.client_id.clone());
        self.last_active_at.push(node.last_active_at);
        self.created_at.push(node.created_at);
        self.tool_calls.push(tool_calls_text(&node.tool_calls));
        self.tool_call_id.push(node.tool_call_id.clone());
        self.usage.push(
            node.usage
                .as_ref()
                .map(|u| json_text(u, "messages"))
                .transpose()?,
        );
        Ok(())
    }
}

/// Inserts message rows (conversation, message) in one statement.
pub async fn insert_message_rows(
    db: &mut PgConnection,
    rows: &[(Uuid, &StoredMessage)],
) -> StorageResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut columns = MessageColumns::default();
    for (conversation, message) in rows {
        columns.push(*conversation, message)?;
    }
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, parent_id, role, content, status, model, \
         params, error, client_id, last_active_at, created_at, updated_at, tool_calls, \
         tool_call_id, usage) \
         SELECT id, conversation_id, parent_id, role, content, status, model, params, error, \
                client_id, last_active_at, created_at, created_at, tool_calls, tool_call_id, usage \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], \
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::int8[], $12::int8[], \
                     $13::text[], $14::text[], $15::text[]) \
              AS m(id, conversation_id, parent_id, role, content, status, model, params, error, \
                   client_id, last_active_at, created_at, tool_calls, tool_call_id, usage)",
    )
    .bind(columns.id)
    .bind(columns.conversation_id)
    .bind(columns.parent_id)
    .bind(columns.role)
    .bind(columns.content)
    .bind(columns.status)
    .bind(columns.model)
    .bind(columns.params)
    .bind(columns.error)
    .bind(columns.client_id)
    .bind(columns.last_active_at)
    .bind(columns.created_at)
    .bind(columns.tool_calls)
    .bind(columns.tool_call_id)
    .bind(columns.usage)
    .execute(&mut *db)
    .await?;
    metrics::counter!("arbor_messages_written_total").increment(rows.len() as u64);
    Ok(())
}

/// Inserts `messages` and makes `active_leaf` the conversation's shown
/// leaf, its update time the newest message's.
pub async fn insert_and_show(
    db: &mut PgConnection,
    conversation: Uuid,
    messages: &[StoredMessage],
    active_leaf: Uuid,
) -> StorageResult<()> {
    let rows: Vec<(Uuid, &StoredMessage)> = messages.iter().map(|m| (conversation, m)).collect();
    insert_message_rows(&mut *db, &rows).await?;
    let latest = messages
        .iter()
        .map(|m| m.node.created_at)
        .max()
        .unwrap_or(0);
    sqlx::query("UPDATE conversations SET active_leaf_id = $1, updated_at = $2 WHERE id = $3")
        .bind(active_leaf)
        .bind(latest)
        .bind(conversation)
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// Saves a streaming reply's text so far (ignored once it has ended).
pub async fn checkpoint(
    db: &mut PgConnection,
    id: Uuid,
    content: &str,
    now: i64,
) -> StorageResult<()> {
    sqlx::query(
        "UPDATE messages SET content = $1, updated_at = $2 \
         WHERE id = $3 AND status = 'streaming'",
    )
    .bind(content)
    .bind(now)
    .bind(id)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// Stores a reply's final text, status, note, usage and tool calls.
pub async fn finish(db: &mut PgConnection, node: &MessageNode, now: i64) -> StorageResult<()> {
    sqlx::query(
        "UPDATE messages SET content = $1, status = $2, error = $3, usage = $4, \
         tool_calls = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(node.content.as_str())
    .bind(node.status.as_str())
    .bind(node.note.as_deref())
    .bind(
        node.usage
            .as_ref()
            .map(|u| json_text(u, "messages"))
            .transpose()?,
    )
    .bind(tool_calls_text(&node.tool_calls))
    .bind(now)
    .bind(node.id)
    .execute(&mut *db)
    .await?;
    Ok(())
}
