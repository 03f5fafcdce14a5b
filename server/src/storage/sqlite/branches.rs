//! The SQLite side of working with branches: names, the main branch,
//! pruning (hide now, delete once the undo time has passed) and forks.

use super::message_writes::{self, MessageWrite};
use super::{message_from_row, summary_from_row, uuid_column, SqliteStore, SUMMARY_COLUMNS};
use crate::storage::{NewFork, ShownNodes, StorageError, StorageResult, StoredMessage};
use app::domain::model::{BranchLabel, ConversationSummary};
use sqlx::Row;
use uuid::Uuid;

/// Ids per `IN (…)` list, well under SQLite's bound-parameter limit.
const IDS_PER_STATEMENT: usize = 1000;

fn question_marks(count: usize) -> String {
    vec!["?"; count].join(", ")
}

impl SqliteStore {
    pub(super) async fn labels_of(&self, conversation: Uuid) -> StorageResult<Vec<BranchLabel>> {
        let rows = sqlx::query(
            "SELECT message_id, name FROM branch_labels WHERE conversation_id = ? \
             ORDER BY created_at, name",
        )
        .bind(conversation.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BranchLabel {
                    node_id: uuid_column(row, "branch_labels", "message_id")?,
                    name: row.try_get("name")?,
                })
            })
            .collect()
    }

    pub(super) async fn write_label(
        &self,
        conversation: Uuid,
        node: Uuid,
        name: Option<String>,
        now: i64,
    ) -> StorageResult<()> {
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    match name {
                        Some(name) => {
                            // A name can only still be taken by a message
                            // whose undo time has passed: it goes now.
                            sqlx::query(
                                "DELETE FROM branch_labels WHERE conversation_id = ? AND name = ? \
                                 AND message_id IN (SELECT id FROM messages \
                                 WHERE pruned_at IS NOT NULL)",
                            )
                            .bind(conversation.to_string())
                            .bind(&name)
                            .execute(&mut *db)
                            .await?;
                            sqlx::query(
                                "INSERT INTO branch_labels \
                                 (message_id, conversation_id, name, created_at) \
                                 VALUES (?, ?, ?, ?) \
                                 ON CONFLICT (message_id) DO UPDATE SET name = excluded.name",
                            )
                            .bind(node.to_string())
                            .bind(conversation.to_string())
                            .bind(name)
                            .bind(now)
                            .execute(&mut *db)
                            .await?;
                        }
                        None => {
                            sqlx::query(
                                "DELETE FROM branch_labels \
                                 WHERE message_id = ? AND conversation_id = ?",
                            )
                            .bind(node.to_string())
                            .bind(conversation.to_string())
                            .execute(&mut *db)
                            .await?;
                        }
                    }
                    Ok(())
                })
            })
            .await
    }

    pub(super) async fn write_main_node(
        &self,
        conversation: Uuid,
        node: Option<Uuid>,
    ) -> StorageResult<()> {
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    sqlx::query("UPDATE conversations SET main_node_id = ? WHERE id = ?")
                        .bind(node.map(|n| n.to_string()))
                        .bind(conversation.to_string())
                        .execute(&mut *db)
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    pub(super) async fn write_pruned(
        &self,
        conversation: Uuid,
        ids: Vec<Uuid>,
        at: Option<i64>,
        shown: ShownNodes,
    ) -> StorageResult<()> {
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    for chunk in ids.chunks(IDS_PER_STATEMENT) {
                        let sql = format!(
                            "UPDATE messages SET pruned_at = ? \
                             WHERE conversation_id = ? AND id IN ({})",
                            question_marks(chunk.len())
                        );
                        let mut query = sqlx::query(&sql).bind(at).bind(conversation.to_string());
                        for id in chunk {
                            query = query.bind(id.to_string());
                        }
                        query.execute(&mut *db).await?;
                    }
                    sqlx::query(
                        "UPDATE conversations SET active_leaf_id = ?, main_node_id = ? \
                         WHERE id = ?",
                    )
                    .bind(shown.active_leaf.map(|n| n.to_string()))
                    .bind(shown.main_node.map(|n| n.to_string()))
                    .bind(conversation.to_string())
                    .execute(&mut *db)
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    pub(super) async fn read_pruned(
        &self,
        conversation: Uuid,
    ) -> StorageResult<Vec<(StoredMessage, i64)>> {
        let rows = sqlx::query(
            "SELECT id, parent_id, role, content, status, model, params, error, client_id, \
             usage, tool_calls, tool_call_id, last_active_at, created_at, pruned_at \
             FROM messages WHERE conversation_id = ? AND pruned_at IS NOT NULL \
             ORDER BY created_at, id",
        )
        .bind(conversation.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((message_from_row(row)?, row.try_get("pruned_at")?)))
            .collect()
    }

    pub(super) async fn delete_pruned_before(&self, before: i64) -> StorageResult<u64> {
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "DELETE FROM messages WHERE pruned_at IS NOT NULL AND pruned_at < ?",
                    )
                    .bind(before)
                    .execute(&mut *db)
                    .await?;
                    Ok(done.rows_affected())
                })
            })
            .await
    }

    pub(super) async fn insert_fork(&self, fork: NewFork) -> StorageResult<ConversationSummary> {
        let Some(last) = fork.messages.last().map(|m| m.node.id) else {
            return Err(StorageError::WriteFailed(
                "a fork needs at least one message".into(),
            ));
        };
        let params =
            serde_json::to_string(&fork.settings.params).map_err(|e| StorageError::Corrupt {
                table: "conversations",
                reason: e.to_string(),
            })?;
        let id = Uuid::now_v7();
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO conversations (id, owner_id, title, created_at, updated_at, \
                         system_prompt, model, persona, params, tools_enabled, \
                         forked_from_conversation_id, forked_from_message_id) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(id.to_string())
                    .bind(fork.owner.to_string())
                    .bind(&fork.title)
                    .bind(fork.now)
                    .bind(fork.now)
                    .bind(&fork.system_prompt)
                    .bind(&fork.settings.model)
                    .bind(&fork.settings.persona)
                    .bind(params)
                    .bind(fork.settings.tools)
                    .bind(fork.source_conversation.to_string())
                    .bind(fork.source_message.to_string())
                    .execute(&mut *db)
                    .await?;
                    let insert = MessageWrite::Insert {
                        conversation: id,
                        messages: fork.messages,
                        active_leaf: last,
                    };
                    message_writes::apply(&mut *db, &[&insert]).await?;
                    // Inserting moved the update time to the last message's: a
                    // fork is new, so it goes to the top of the list.
                    let row = sqlx::query(&format!(
                        "UPDATE conversations SET updated_at = ? WHERE id = ? \
                         RETURNING {SUMMARY_COLUMNS}"
                    ))
                    .bind(fork.now)
                    .bind(id.to_string())
                    .fetch_one(&mut *db)
                    .await?;
                    summary_from_row(&row)
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{BranchStore, ConversationStore, MessageStore};
    use app::domain::model::{MessageNode, MessageStatus, Role};

    #[tokio::test]
    async fn pruned_messages_are_hidden_then_purged_with_their_names() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("arbor.db");
        let store = SqliteStore::open(path.to_str().expect("utf-8 path"))
            .await
            .expect("opens");
        let owner = store.local_user().await.expect("user");
        let conversation = store
            .create_conversation(owner, 1)
            .await
            .expect("created")
            .id;
        let user = MessageNode::new(
            Uuid::now_v7(),
            None,
            Role::User,
            "q",
            MessageStatus::Complete,
            1,
        );
        let reply = MessageNode::new(
            Uuid::now_v7(),
            Some(user.id),
            Role::Assistant,
            "a",
            MessageStatus::Complete,
            2,
        );
        let rows: Vec<StoredMessage> = [&user, &reply]
            .map(|node| StoredMessage {
                node: node.clone(),
                client_id: None,
            })
            .to_vec();
        store
            .insert_messages(conversation, &rows, reply.id)
            .await
            .expect("inserted");
        store
            .set_branch_label(conversation, reply.id, Some("named"), 3)
            .await
            .expect("named");
        let nothing_shown = ShownNodes {
            active_leaf: None,
            main_node: None,
        };
        store
            .set_pruned(conversation, &[user.id, reply.id], Some(100), nothing_shown)
            .await
            .expect("pruned");
        assert!(store.messages(conversation).await.expect("read").is_empty());
        let pruned = store.pruned_messages(conversation).await.expect("read");
        assert_eq!(pruned.len(), 2);
        assert!(pruned.iter().all(|(_, at)| *at == 100));
        assert_eq!(
            store.branch_labels(conversation).await.expect("read").len(),
            1
        );

        assert_eq!(
            store.purge_pruned(100).await.expect("purge"),
            0,
            "not before its time"
        );
        // (Rows removed by the foreign key's cascade may not be counted.)
        assert!(store.purge_pruned(101).await.expect("purge") >= 1);
        assert!(store
            .pruned_messages(conversation)
            .await
            .expect("read")
            .is_empty());
        assert!(store
            .branch_labels(conversation)
            .await
            .expect("read")
            .is_empty());
    }
}
