//! The PostgreSQL side of imports: a conversation with its whole tree
//! written in one transaction (an observer sees all of it or none), under
//! its own ids unless any is taken.

use super::message_writes::insert_message_rows;
use super::rows::{json_text, summary_from_row};
use super::PostgresStore;
use super::SUMMARY_COLUMNS;
use crate::storage::{StorageResult, StoredMessage};
use crate::transfer::archive::ArchivedConversation;
use app::domain::model::ConversationSummary;
use sqlx::PgConnection;
use uuid::Uuid;

/// Whether the conversation's id or any of its messages' is already stored.
async fn ids_taken(
    db: &mut PgConnection,
    conversation: &ArchivedConversation,
) -> StorageResult<bool> {
    let message_ids: Vec<Uuid> = conversation.messages.iter().map(|m| m.id).collect();
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1) \
             OR EXISTS (SELECT 1 FROM messages WHERE id = ANY($2))",
    )
    .bind(conversation.id)
    .bind(message_ids)
    .fetch_one(&mut *db)
    .await?;
    Ok(taken)
}

async fn insert(
    db: &mut PgConnection,
    owner: Uuid,
    conversation: &ArchivedConversation,
) -> StorageResult<ConversationSummary> {
    sqlx::query(
        "INSERT INTO conversations (id, owner_id, title, persona, model, params, created_at, \
         updated_at, system_prompt, tools_enabled, forked_from_conversation_id, \
         forked_from_message_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(conversation.id)
    .bind(owner)
    .bind(&conversation.title)
    .bind(&conversation.settings.persona)
    .bind(&conversation.settings.model)
    .bind(json_text(&conversation.settings.params, "conversations")?)
    .bind(conversation.created_at)
    .bind(conversation.updated_at)
    .bind(&conversation.system_prompt)
    .bind(conversation.settings.tools)
    .bind(conversation.forked_from.map(|f| f.conversation_id))
    .bind(conversation.forked_from.map(|f| f.message_id))
    .execute(&mut *db)
    .await?;
    let stored: Vec<StoredMessage> = conversation
        .messages
        .iter()
        .map(|node| StoredMessage {
            node: node.clone(),
            client_id: None,
        })
        .collect();
    let rows: Vec<(Uuid, &StoredMessage)> = stored.iter().map(|m| (conversation.id, m)).collect();
    insert_message_rows(&mut *db, &rows).await?;
    let (label_nodes, label_names): (Vec<Uuid>, Vec<String>) = conversation
        .labels
        .iter()
        .map(|label| (label.node_id, label.name.clone()))
        .unzip();
    sqlx::query(
        "INSERT INTO branch_labels (message_id, conversation_id, name, created_at) \
         SELECT message_id, $3, name, $4 FROM UNNEST($1::uuid[], $2::text[]) AS l(message_id, name)",
    )
    .bind(label_nodes)
    .bind(label_names)
    .bind(conversation.id)
    .bind(conversation.updated_at)
    .execute(&mut *db)
    .await?;
    // The shown leaf and the main branch name messages: set once they exist.
    let row = sqlx::query(&format!(
        "UPDATE conversations SET active_leaf_id = $1, main_node_id = $2 WHERE id = $3 \
         RETURNING {SUMMARY_COLUMNS}"
    ))
    .bind(conversation.active_leaf_id)
    .bind(conversation.main_node_id)
    .bind(conversation.id)
    .fetch_one(&mut *db)
    .await?;
    summary_from_row(&row)
}

impl PostgresStore {
    pub(super) async fn insert_imported(
        &self,
        owner: Uuid,
        conversation: ArchivedConversation,
    ) -> StorageResult<(ConversationSummary, bool)> {
        let mut transaction = self.pool.begin().await?;
        let renumber = ids_taken(&mut transaction, &conversation).await?;
        let conversation = if renumber {
            conversation.renumbered()
        } else {
            conversation
        };
        let summary = insert(&mut transaction, owner, &conversation).await?;
        transaction.commit().await?;
        Ok((summary, renumber))
    }
}
