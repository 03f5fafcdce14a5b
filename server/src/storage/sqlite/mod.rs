//! The SQLite implementation of every storage trait (together,
//! [`crate::storage::Store`]): one file, WAL journal, foreign keys on,
//! migrations embedded in the binary and run on open.

mod accounts;
mod branches;
mod import;
mod message_writes;
mod search;
mod writer;

use super::json_columns::{params_of, tool_calls_of, usage_of};
use super::{
    BranchStore, ConversationRecord, ConversationStore, ImportStore, MessageStore, NewFork,
    SearchStore, ShownNodes, StorageError, StorageResult, StoredMessage,
};
use crate::transfer::archive::ArchivedConversation;
use app::domain::model::{BranchLabel, ConversationSettings, ConversationSummary, MessageNode};
use app::domain::sampling::SamplerParams;
use app::domain::search::SearchResults;
use message_writes::MessageWrite;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::Row;
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;
use writer::Writer;

pub(super) use super::{LOCAL_USERNAME, SUMMARY_COLUMNS};

/// One SQLite file: a pool of connections for reads, and the one
/// `Writer` every write goes through.
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    pub(super) writer: Writer,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or
    /// a plain path) and runs pending migrations.
    pub async fn open(url: &str) -> StorageResult<Self> {
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)?
        } else {
            if let Some(dir) = Path::new(url)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| StorageError::Database(e.into()))?;
            }
            SqliteConnectOptions::new().filename(url)
        }
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let writer = Writer::start(pool.clone());
        Ok(SqliteStore { pool, writer })
    }
}

pub(super) fn uuid_column(
    row: &SqliteRow,
    table: &'static str,
    column: &str,
) -> StorageResult<Uuid> {
    let text: String = row.try_get(column)?;
    Uuid::parse_str(&text).map_err(|_| StorageError::Corrupt {
        table,
        reason: format!("{column} is not a UUID: `{text}`"),
    })
}

pub(super) fn optional_uuid_column(
    row: &SqliteRow,
    table: &'static str,
    column: &str,
) -> StorageResult<Option<Uuid>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        Uuid::parse_str(&t).map_err(|_| StorageError::Corrupt {
            table,
            reason: format!("{column} is not a UUID: `{t}`"),
        })
    })
    .transpose()
}

pub(super) fn parsed_column<T: FromStr<Err = String>>(
    row: &SqliteRow,
    table: &'static str,
    column: &str,
) -> StorageResult<T> {
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|reason| StorageError::Corrupt { table, reason })
}

pub(super) fn summary_from_row(row: &SqliteRow) -> StorageResult<ConversationSummary> {
    Ok(ConversationSummary {
        id: uuid_column(row, "conversations", "id")?,
        title: row.try_get("title")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn message_from_row(row: &SqliteRow) -> StorageResult<StoredMessage> {
    Ok(StoredMessage {
        node: MessageNode {
            id: uuid_column(row, "messages", "id")?,
            parent_id: optional_uuid_column(row, "messages", "parent_id")?,
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

#[async_trait::async_trait]
impl ConversationStore for SqliteStore {
    async fn local_user(&self) -> StorageResult<Uuid> {
        let id = Uuid::now_v7().to_string();
        let now = crate::clock::now_ms();
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO users (id, username, is_admin, created_at) \
                         VALUES (?, ?, 1, ?) ON CONFLICT (username) DO NOTHING",
                    )
                    .bind(id)
                    .bind(LOCAL_USERNAME)
                    .bind(now)
                    .execute(&mut *db)
                    .await?;
                    Ok(())
                })
            })
            .await?;
        let row = sqlx::query("SELECT id FROM users WHERE username = ?")
            .bind(LOCAL_USERNAME)
            .fetch_one(&self.pool)
            .await?;
        uuid_column(&row, "users", "id")
    }

    async fn list_conversations(&self, owner: Uuid) -> StorageResult<Vec<ConversationSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM conversations WHERE owner_id = ? \
             ORDER BY updated_at DESC, id DESC"
        ))
        .bind(owner.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn create_conversation(
        &self,
        owner: Uuid,
        now: i64,
    ) -> StorageResult<ConversationSummary> {
        let summary = ConversationSummary {
            id: Uuid::now_v7(),
            title: String::new(),
            created_at: now,
            updated_at: now,
        };
        let row = summary.clone();
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO conversations (id, owner_id, title, created_at, updated_at) \
                         VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(row.id.to_string())
                    .bind(owner.to_string())
                    .bind(row.title)
                    .bind(now)
                    .bind(now)
                    .execute(&mut *db)
                    .await?;
                    Ok(())
                })
            })
            .await?;
        Ok(summary)
    }

    async fn conversation(&self, id: Uuid) -> StorageResult<Option<ConversationRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS}, owner_id, active_leaf_id, system_prompt, model, persona, \
             params, tools_enabled, main_node_id, forked_from_conversation_id, \
             forked_from_message_id FROM conversations WHERE id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ConversationRecord {
                summary: summary_from_row(&row)?,
                owner_id: uuid_column(&row, "conversations", "owner_id")?,
                active_leaf_id: optional_uuid_column(&row, "conversations", "active_leaf_id")?,
                system_prompt: row.try_get("system_prompt")?,
                settings: ConversationSettings {
                    model: row.try_get("model")?,
                    persona: row.try_get("persona")?,
                    params: serde_json::from_str::<SamplerParams>(
                        &row.try_get::<String, _>("params")?,
                    )
                    .unwrap_or_default(),
                    tools: row.try_get("tools_enabled")?,
                },
                main_node_id: optional_uuid_column(&row, "conversations", "main_node_id")?,
                forked_from: optional_uuid_column(
                    &row,
                    "conversations",
                    "forked_from_conversation_id",
                )?
                .zip(optional_uuid_column(
                    &row,
                    "conversations",
                    "forked_from_message_id",
                )?),
            })
        })
        .transpose()
    }

    async fn rename_conversation(
        &self,
        owner: Uuid,
        id: Uuid,
        title: &str,
    ) -> StorageResult<Option<ConversationSummary>> {
        let title = title.to_string();
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    let row = sqlx::query(&format!(
                        "UPDATE conversations SET title = ? WHERE id = ? AND owner_id = ? \
                         RETURNING {SUMMARY_COLUMNS}"
                    ))
                    .bind(title)
                    .bind(id.to_string())
                    .bind(owner.to_string())
                    .fetch_optional(&mut *db)
                    .await?;
                    row.as_ref().map(summary_from_row).transpose()
                })
            })
            .await
    }

    async fn set_system_prompt(&self, id: Uuid, text: &str) -> StorageResult<()> {
        let text = text.to_string();
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    sqlx::query("UPDATE conversations SET system_prompt = ? WHERE id = ?")
                        .bind(text)
                        .bind(id.to_string())
                        .execute(&mut *db)
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    async fn set_generation_settings(
        &self,
        id: Uuid,
        settings: &ConversationSettings,
    ) -> StorageResult<()> {
        let params =
            serde_json::to_string(&settings.params).map_err(|e| StorageError::Corrupt {
                table: "conversations",
                reason: e.to_string(),
            })?;
        let settings = settings.clone();
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE conversations SET model = ?, persona = ?, params = ?, \
                         tools_enabled = ? WHERE id = ?",
                    )
                    .bind(settings.model)
                    .bind(settings.persona)
                    .bind(params)
                    .bind(settings.tools)
                    .bind(id.to_string())
                    .execute(&mut *db)
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    async fn set_title_if_untitled(&self, id: Uuid, title: &str) -> StorageResult<bool> {
        let title = title.to_string();
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE conversations SET title = ? WHERE id = ? AND title = ''",
                    )
                    .bind(title)
                    .bind(id.to_string())
                    .execute(&mut *db)
                    .await?;
                    Ok(done.rows_affected() > 0)
                })
            })
            .await
    }

    async fn delete_conversation(&self, owner: Uuid, id: Uuid) -> StorageResult<bool> {
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    let done =
                        sqlx::query("DELETE FROM conversations WHERE id = ? AND owner_id = ?")
                            .bind(id.to_string())
                            .bind(owner.to_string())
                            .execute(&mut *db)
                            .await?;
                    Ok(done.rows_affected() > 0)
                })
            })
            .await
    }

    async fn message_counts(&self, owner: Uuid) -> StorageResult<HashMap<Uuid, u64>> {
        let rows = sqlx::query(
            "SELECT m.conversation_id, COUNT(*) AS count FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.owner_id = ? AND m.pruned_at IS NULL GROUP BY m.conversation_id",
        )
        .bind(owner.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id = uuid_column(row, "messages", "conversation_id")?;
                let count: i64 = row.try_get("count")?;
                Ok((id, u64::try_from(count).unwrap_or(0)))
            })
            .collect()
    }

    async fn users(&self) -> StorageResult<Vec<(Uuid, String)>> {
        self.every_user().await
    }
}

#[async_trait::async_trait]
impl MessageStore for SqliteStore {
    async fn messages(&self, conversation: Uuid) -> StorageResult<Vec<StoredMessage>> {
        let rows = sqlx::query(
            "SELECT id, parent_id, role, content, status, model, params, error, client_id, \
             usage, tool_calls, tool_call_id, last_active_at, created_at FROM messages \
             WHERE conversation_id = ? AND pruned_at IS NULL \
             ORDER BY created_at, id",
        )
        .bind(conversation.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn insert_messages(
        &self,
        conversation: Uuid,
        messages: &[StoredMessage],
        active_leaf: Uuid,
    ) -> StorageResult<()> {
        self.writer
            .write_message(MessageWrite::Insert {
                conversation,
                messages: messages.to_vec(),
                active_leaf,
            })
            .await
    }

    async fn checkpoint_message(&self, id: Uuid, content: &str, now: i64) -> StorageResult<()> {
        self.writer
            .write_message(MessageWrite::Checkpoint {
                id,
                content: content.to_string(),
                now,
            })
            .await
    }

    async fn finish_message(&self, node: &MessageNode, now: i64) -> StorageResult<()> {
        self.writer
            .write_message(MessageWrite::Finish {
                node: Box::new(node.clone()),
                now,
            })
            .await
    }

    async fn set_active_leaf(&self, conversation: Uuid, leaf: Uuid, at: i64) -> StorageResult<()> {
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE messages SET last_active_at = ? \
                         WHERE id = ? AND conversation_id = ?",
                    )
                    .bind(at)
                    .bind(leaf.to_string())
                    .bind(conversation.to_string())
                    .execute(&mut *db)
                    .await?;
                    sqlx::query("UPDATE conversations SET active_leaf_id = ? WHERE id = ?")
                        .bind(leaf.to_string())
                        .bind(conversation.to_string())
                        .execute(&mut *db)
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    async fn interrupt_streaming(&self, note: &str, now: i64) -> StorageResult<u64> {
        let note = note.to_string();
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE messages SET status = 'interrupted', error = ?, updated_at = ? \
                         WHERE status = 'streaming'",
                    )
                    .bind(note)
                    .bind(now)
                    .execute(&mut *db)
                    .await?;
                    Ok(done.rows_affected())
                })
            })
            .await
    }
}

#[async_trait::async_trait]
impl BranchStore for SqliteStore {
    async fn branch_labels(&self, conversation: Uuid) -> StorageResult<Vec<BranchLabel>> {
        self.labels_of(conversation).await
    }

    async fn set_branch_label(
        &self,
        conversation: Uuid,
        node: Uuid,
        name: Option<&str>,
        now: i64,
    ) -> StorageResult<()> {
        self.write_label(conversation, node, name.map(str::to_string), now)
            .await
    }

    async fn set_main_node(&self, conversation: Uuid, node: Option<Uuid>) -> StorageResult<()> {
        self.write_main_node(conversation, node).await
    }

    async fn set_pruned(
        &self,
        conversation: Uuid,
        ids: &[Uuid],
        at: Option<i64>,
        shown: ShownNodes,
    ) -> StorageResult<()> {
        self.write_pruned(conversation, ids.to_vec(), at, shown)
            .await
    }

    async fn pruned_messages(
        &self,
        conversation: Uuid,
    ) -> StorageResult<Vec<(StoredMessage, i64)>> {
        self.read_pruned(conversation).await
    }

    async fn purge_pruned(&self, before: i64) -> StorageResult<u64> {
        self.delete_pruned_before(before).await
    }

    async fn create_fork(&self, fork: NewFork) -> StorageResult<ConversationSummary> {
        self.insert_fork(fork).await
    }
}

#[async_trait::async_trait]
impl SearchStore for SqliteStore {
    async fn search(&self, owner: Uuid, query: &str, limit: u32) -> StorageResult<SearchResults> {
        self.search_owned(owner, query, limit).await
    }
}

#[async_trait::async_trait]
impl ImportStore for SqliteStore {
    async fn import_conversation(
        &self,
        owner: Uuid,
        conversation: ArchivedConversation,
    ) -> StorageResult<(ConversationSummary, bool)> {
        self.insert_imported(owner, conversation).await
    }
}
