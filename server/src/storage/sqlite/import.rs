//! The SQLite side of imports and whole-instance exports: a conversation
//! with its whole tree written in one transaction (an observer sees all of
//! it or none), under its own ids unless any is taken.

use super::message_writes::insert_message_rows;
use super::{summary_from_row, SqliteStore, SUMMARY_COLUMNS};
use crate::storage::{StorageError, StorageResult, StoredMessage};
use crate::transfer::archive::ArchivedConversation;
use app::domain::model::ConversationSummary;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

/// Ids per `IN (…)` list, well under SQLite's bound-parameter limit.
const IDS_PER_STATEMENT: usize = 1000;

/// Whether the conversation's id or any of its messages' is already stored.
async fn ids_taken(
    db: &mut SqliteConnection,
    conversation: &ArchivedConversation,
) -> StorageResult<bool> {
    let taken = sqlx::query("SELECT 1 FROM conversations WHERE id = ?")
        .bind(conversation.id.to_string())
        .fetch_optional(&mut *db)
        .await?
        .is_some();
    if taken {
        return Ok(true);
    }
    for chunk in conversation.messages.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "SELECT 1 FROM messages WHERE id IN ({}) LIMIT 1",
            vec!["?"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&sql);
        for message in chunk {
            query = query.bind(message.id.to_string());
        }
        if query.fetch_optional(&mut *db).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn insert(
    db: &mut SqliteConnection,
    owner: Uuid,
    conversation: &ArchivedConversation,
) -> StorageResult<ConversationSummary> {
    let params = serde_json::to_string(&conversation.settings.params).map_err(|e| {
        StorageError::Corrupt {
            table: "conversations",
            reason: e.to_string(),
        }
    })?;
    let id = conversation.id.to_string();
    sqlx::query(
        "INSERT INTO conversations (id, owner_id, title, persona, model, params, created_at, \
         updated_at, system_prompt, tools_enabled, forked_from_conversation_id, \
         forked_from_message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(owner.to_string())
    .bind(&conversation.title)
    .bind(&conversation.settings.persona)
    .bind(&conversation.settings.model)
    .bind(params)
    .bind(conversation.created_at)
    .bind(conversation.updated_at)
    .bind(&conversation.system_prompt)
    .bind(conversation.settings.tools)
    .bind(
        conversation
            .forked_from
            .map(|f| f.conversation_id.to_string()),
    )
    .bind(conversation.forked_from.map(|f| f.message_id.to_string()))
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
    for label in &conversation.labels {
        sqlx::query(
            "INSERT INTO branch_labels (message_id, conversation_id, name, created_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(label.node_id.to_string())
        .bind(&id)
        .bind(&label.name)
        .bind(conversation.updated_at)
        .execute(&mut *db)
        .await?;
    }
    // The shown leaf and the main branch name messages: set once they exist.
    let row = sqlx::query(&format!(
        "UPDATE conversations SET active_leaf_id = ?, main_node_id = ? WHERE id = ? \
         RETURNING {SUMMARY_COLUMNS}"
    ))
    .bind(conversation.active_leaf_id.map(|l| l.to_string()))
    .bind(conversation.main_node_id.map(|m| m.to_string()))
    .bind(&id)
    .fetch_one(&mut *db)
    .await?;
    summary_from_row(&row)
}

impl SqliteStore {
    pub(super) async fn insert_imported(
        &self,
        owner: Uuid,
        conversation: ArchivedConversation,
    ) -> StorageResult<(ConversationSummary, bool)> {
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    let renumber = ids_taken(&mut *db, &conversation).await?;
                    let conversation = if renumber {
                        conversation.renumbered()
                    } else {
                        conversation
                    };
                    Ok((insert(&mut *db, owner, &conversation).await?, renumber))
                })
            })
            .await
    }

    pub(super) async fn every_user(&self) -> StorageResult<Vec<(Uuid, String)>> {
        let rows = sqlx::query("SELECT id, username FROM users ORDER BY created_at, username")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    super::uuid_column(row, "users", "id")?,
                    row.try_get("username")?,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{ConversationStore, ImportStore, MessageStore};
    use app::domain::model::{MessageNode, MessageStatus, Role};

    fn conversation(messages: Vec<MessageNode>) -> ArchivedConversation {
        let shown = messages.last().map(|m| m.id);
        ArchivedConversation::imported("imported".into(), (1, 2), messages, shown)
    }

    fn message(parent: Option<Uuid>) -> MessageNode {
        MessageNode::new(
            Uuid::now_v7(),
            parent,
            Role::User,
            "hi",
            MessageStatus::Complete,
            1,
        )
    }

    #[tokio::test]
    async fn a_write_failing_halfway_leaves_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("a.db").display().to_string())
            .await
            .expect("opens");
        let owner = store.local_user().await.expect("local user");
        // Not validated: the second message's parent does not exist, so
        // its insert fails after the conversation row was written.
        let first = message(None);
        let orphan = message(Some(Uuid::now_v7()));
        let broken = conversation(vec![first, orphan]);
        assert!(store.import_conversation(owner, broken).await.is_err());
        assert!(store
            .list_conversations(owner)
            .await
            .expect("listed")
            .is_empty());
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(&store.pool)
            .await
            .expect("counted");
        assert_eq!(count, 0);
    }

    #[tokio::test]
    async fn taken_ids_are_replaced_and_references_follow() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("a.db").display().to_string())
            .await
            .expect("opens");
        let owner = store.local_user().await.expect("local user");
        let root = message(None);
        let child = message(Some(root.id));
        let original = conversation(vec![root, child]);
        let (first, renumbered) = store
            .import_conversation(owner, original.clone())
            .await
            .expect("stored");
        assert_eq!((first.id, renumbered), (original.id, false));
        let (second, renumbered) = store
            .import_conversation(owner, original.clone())
            .await
            .expect("stored");
        assert!(renumbered);
        assert_ne!(second.id, original.id);
        let record = store
            .conversation(second.id)
            .await
            .expect("read")
            .expect("exists");
        let messages = store.messages(second.id).await.expect("read");
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1].node.parent_id, Some(messages[0].node.id));
        assert_eq!(record.active_leaf_id, Some(messages[1].node.id));
        assert!(messages
            .iter()
            .all(|m| original.messages.iter().all(|o| o.id != m.node.id)));
    }
}
