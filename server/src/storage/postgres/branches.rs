//! The PostgreSQL side of working with branches: names, pruning (hide now,
//! delete once the undo time has passed) and forks.

use super::message_writes::insert_and_show;
use super::rows::{json_text, message_from_row, summary_from_row, MESSAGE_COLUMNS};
use super::PostgresStore;
use crate::storage::{
    NewFork, ShownNodes, StorageError, StorageResult, StoredMessage, SUMMARY_COLUMNS,
};
use app::domain::model::{BranchLabel, ConversationSummary};
use sqlx::Row;
use uuid::Uuid;

impl PostgresStore {
    pub(super) async fn labels_of(&self, conversation: Uuid) -> StorageResult<Vec<BranchLabel>> {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT message_id, name FROM branch_labels WHERE conversation_id = $1 \
             ORDER BY created_at, name",
        )
        .bind(conversation)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(node_id, name)| BranchLabel { node_id, name })
            .collect())
    }

    pub(super) async fn write_label(
        &self,
        conversation: Uuid,
        node: Uuid,
        name: Option<&str>,
        now: i64,
    ) -> StorageResult<()> {
        let mut transaction = self.pool.begin().await?;
        match name {
            Some(name) => {
                // A name can only still be taken by a message whose undo
                // time has passed: it goes now.
                sqlx::query(
                    "DELETE FROM branch_labels WHERE conversation_id = $1 AND name = $2 \
                     AND message_id IN (SELECT id FROM messages WHERE pruned_at IS NOT NULL)",
                )
                .bind(conversation)
                .bind(name)
                .execute(&mut *transaction)
                .await?;
                sqlx::query(
                    "INSERT INTO branch_labels (message_id, conversation_id, name, created_at) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (message_id) DO UPDATE SET name = excluded.name",
                )
                .bind(node)
                .bind(conversation)
                .bind(name)
                .bind(now)
                .execute(&mut *transaction)
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM branch_labels WHERE message_id = $1 AND conversation_id = $2",
                )
                .bind(node)
                .bind(conversation)
                .execute(&mut *transaction)
                .await?;
            }
        }
        transaction.commit().await?;
        Ok(())
    }

    pub(super) async fn write_pruned(
        &self,
        conversation: Uuid,
        ids: &[Uuid],
        at: Option<i64>,
        shown: ShownNodes,
    ) -> StorageResult<()> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "UPDATE messages SET pruned_at = $1 WHERE conversation_id = $2 AND id = ANY($3)",
        )
        .bind(at)
        .bind(conversation)
        .bind(ids)
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "UPDATE conversations SET active_leaf_id = $1, main_node_id = $2 WHERE id = $3",
        )
        .bind(shown.active_leaf)
        .bind(shown.main_node)
        .bind(conversation)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    pub(super) async fn read_pruned(
        &self,
        conversation: Uuid,
    ) -> StorageResult<Vec<(StoredMessage, i64)>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS}, pruned_at FROM messages \
             WHERE conversation_id = $1 AND pruned_at IS NOT NULL ORDER BY created_at, id"
        ))
        .bind(conversation)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((message_from_row(row)?, row.try_get("pruned_at")?)))
            .collect()
    }

    pub(super) async fn insert_fork(&self, fork: NewFork) -> StorageResult<ConversationSummary> {
        let Some(last) = fork.messages.last().map(|m| m.node.id) else {
            return Err(StorageError::WriteFailed(
                "a fork needs at least one message".into(),
            ));
        };
        let id = Uuid::now_v7();
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO conversations (id, owner_id, title, created_at, updated_at, \
             system_prompt, model, persona, params, tools_enabled, \
             forked_from_conversation_id, forked_from_message_id) \
             VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id)
        .bind(fork.owner)
        .bind(&fork.title)
        .bind(fork.now)
        .bind(&fork.system_prompt)
        .bind(&fork.settings.model)
        .bind(&fork.settings.persona)
        .bind(json_text(&fork.settings.params, "conversations")?)
        .bind(fork.settings.tools)
        .bind(fork.source_conversation)
        .bind(fork.source_message)
        .execute(&mut *transaction)
        .await?;
        insert_and_show(&mut transaction, id, &fork.messages, last).await?;
        // Inserting moved the update time to the last message's: a fork is
        // new, so it goes to the top of the list.
        let row = sqlx::query(&format!(
            "UPDATE conversations SET updated_at = $1 WHERE id = $2 RETURNING {SUMMARY_COLUMNS}"
        ))
        .bind(fork.now)
        .bind(id)
        .fetch_one(&mut *transaction)
        .await?;
        let summary = summary_from_row(&row)?;
        transaction.commit().await?;
        Ok(summary)
    }
}
