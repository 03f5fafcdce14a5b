//! The PostgreSQL implementation of every storage trait (together,
//! [`crate::storage::Store`]), for several Arbor nodes sharing one
//! database: a connection pool, migrations embedded in the binary and run
//! on open (sqlx holds an advisory lock meanwhile, so nodes starting
//! together migrate once), every write its own transaction.

mod accounts;
mod branches;
mod import;
mod leases;
mod message_writes;
mod rows;
mod search;

use super::{
    BranchStore, ConversationRecord, ConversationStore, ImportStore, MessageStore, NewFork,
    SearchStore, ShownNodes, StorageResult, StoredMessage,
};
use crate::transfer::archive::ArchivedConversation;
use app::domain::model::{BranchLabel, ConversationSettings, ConversationSummary, MessageNode};
use app::domain::sampling::SamplerParams;
use app::domain::search::SearchResults;
use rows::{json_text, message_from_row, summary_from_row, MESSAGE_COLUMNS};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub(super) use super::{LOCAL_USERNAME, SUMMARY_COLUMNS};

/// Connections each node keeps open at most.
const MAX_CONNECTIONS: u32 = 16;

/// Records one message write in the write metrics. Each is its own commit
/// here (PostgreSQL takes concurrent writers, so nothing is grouped): a
/// batch of one, in the same summaries as SQLite's grouped commits.
fn record_commit(started: Instant) {
    metrics::histogram!("arbor_write_batch_seconds").record(started.elapsed().as_secs_f64());
    metrics::histogram!("arbor_write_batch_size").record(1.0);
}

/// One PostgreSQL database, shared by every node that opens it.
pub struct PostgresStore {
    pool: PgPool,
    /// The connection notifications go out on (made on first use).
    notifier: tokio::sync::Mutex<Option<sqlx::PgConnection>>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and runs pending migrations.
    pub async fn open(url: &str) -> StorageResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore {
            pool,
            notifier: tokio::sync::Mutex::new(None),
        })
    }
}

#[async_trait::async_trait]
impl ConversationStore for PostgresStore {
    async fn local_user(&self) -> StorageResult<Uuid> {
        sqlx::query(
            "INSERT INTO users (id, username, is_admin, created_at) VALUES ($1, $2, TRUE, $3) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(LOCAL_USERNAME)
        .bind(crate::clock::now_ms())
        .execute(&self.pool)
        .await?;
        let id = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(LOCAL_USERNAME)
            .fetch_one(&self.pool)
            .await?;
        Ok(id)
    }

    async fn list_conversations(&self, owner: Uuid) -> StorageResult<Vec<ConversationSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM conversations WHERE owner_id = $1 \
             ORDER BY updated_at DESC, id DESC"
        ))
        .bind(owner)
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
        sqlx::query(
            "INSERT INTO conversations (id, owner_id, title, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(summary.id)
        .bind(owner)
        .bind(&summary.title)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(summary)
    }

    async fn conversation(&self, id: Uuid) -> StorageResult<Option<ConversationRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS}, owner_id, active_leaf_id, system_prompt, model, persona, \
             params, tools_enabled, main_node_id, forked_from_conversation_id, \
             forked_from_message_id FROM conversations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let forked_conversation: Option<Uuid> = row.try_get("forked_from_conversation_id")?;
            let forked_message: Option<Uuid> = row.try_get("forked_from_message_id")?;
            Ok(ConversationRecord {
                summary: summary_from_row(&row)?,
                owner_id: row.try_get("owner_id")?,
                active_leaf_id: row.try_get("active_leaf_id")?,
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
                main_node_id: row.try_get("main_node_id")?,
                forked_from: forked_conversation.zip(forked_message),
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
        let row = sqlx::query(&format!(
            "UPDATE conversations SET title = $1 WHERE id = $2 AND owner_id = $3 \
             RETURNING {SUMMARY_COLUMNS}"
        ))
        .bind(title)
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(summary_from_row).transpose()
    }

    async fn set_system_prompt(&self, id: Uuid, text: &str) -> StorageResult<()> {
        sqlx::query("UPDATE conversations SET system_prompt = $1 WHERE id = $2")
            .bind(text)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_generation_settings(
        &self,
        id: Uuid,
        settings: &ConversationSettings,
    ) -> StorageResult<()> {
        sqlx::query(
            "UPDATE conversations SET model = $1, persona = $2, params = $3, \
             tools_enabled = $4 WHERE id = $5",
        )
        .bind(&settings.model)
        .bind(&settings.persona)
        .bind(json_text(&settings.params, "conversations")?)
        .bind(settings.tools)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_title_if_untitled(&self, id: Uuid, title: &str) -> StorageResult<bool> {
        let done = sqlx::query("UPDATE conversations SET title = $1 WHERE id = $2 AND title = ''")
            .bind(title)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_conversation(&self, owner: Uuid, id: Uuid) -> StorageResult<bool> {
        let done = sqlx::query("DELETE FROM conversations WHERE id = $1 AND owner_id = $2")
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn message_counts(&self, owner: Uuid) -> StorageResult<HashMap<Uuid, u64>> {
        let rows: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT m.conversation_id, COUNT(*) FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.owner_id = $1 AND m.pruned_at IS NULL GROUP BY m.conversation_id",
        )
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, count)| (id, u64::try_from(count).unwrap_or(0)))
            .collect())
    }

    async fn users(&self) -> StorageResult<Vec<(Uuid, String)>> {
        let rows = sqlx::query_as("SELECT id, username FROM users ORDER BY created_at, username")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows)
    }
}

#[async_trait::async_trait]
impl MessageStore for PostgresStore {
    async fn messages(&self, conversation: Uuid) -> StorageResult<Vec<StoredMessage>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE conversation_id = $1 AND pruned_at IS NULL ORDER BY created_at, id"
        ))
        .bind(conversation)
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
        let started = Instant::now();
        let mut transaction = self.pool.begin().await?;
        message_writes::insert_and_show(&mut transaction, conversation, messages, active_leaf)
            .await?;
        transaction.commit().await?;
        record_commit(started);
        Ok(())
    }

    async fn checkpoint_message(&self, id: Uuid, content: &str, now: i64) -> StorageResult<()> {
        let started = Instant::now();
        let mut db = self.pool.acquire().await?;
        message_writes::checkpoint(&mut db, id, content, now).await?;
        record_commit(started);
        Ok(())
    }

    async fn finish_message(&self, node: &MessageNode, now: i64) -> StorageResult<()> {
        let started = Instant::now();
        let mut db = self.pool.acquire().await?;
        message_writes::finish(&mut db, node, now).await?;
        record_commit(started);
        Ok(())
    }

    async fn set_active_leaf(&self, conversation: Uuid, leaf: Uuid, at: i64) -> StorageResult<()> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "UPDATE messages SET last_active_at = $1 WHERE id = $2 AND conversation_id = $3",
        )
        .bind(at)
        .bind(leaf)
        .bind(conversation)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("UPDATE conversations SET active_leaf_id = $1 WHERE id = $2")
            .bind(leaf)
            .bind(conversation)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn interrupt_streaming(&self, note: &str, now: i64) -> StorageResult<u64> {
        let done = sqlx::query(
            "UPDATE messages SET status = 'interrupted', error = $1, updated_at = $2 \
             WHERE status = 'streaming' AND conversation_id NOT IN \
               (SELECT conversation_id FROM conversation_leases WHERE expires_at >= now())",
        )
        .bind(note)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

#[async_trait::async_trait]
impl BranchStore for PostgresStore {
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
        self.write_label(conversation, node, name, now).await
    }

    async fn set_main_node(&self, conversation: Uuid, node: Option<Uuid>) -> StorageResult<()> {
        sqlx::query("UPDATE conversations SET main_node_id = $1 WHERE id = $2")
            .bind(node)
            .bind(conversation)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_pruned(
        &self,
        conversation: Uuid,
        ids: &[Uuid],
        at: Option<i64>,
        shown: ShownNodes,
    ) -> StorageResult<()> {
        self.write_pruned(conversation, ids, at, shown).await
    }

    async fn pruned_messages(
        &self,
        conversation: Uuid,
    ) -> StorageResult<Vec<(StoredMessage, i64)>> {
        self.read_pruned(conversation).await
    }

    async fn purge_pruned(&self, before: i64) -> StorageResult<u64> {
        let done =
            sqlx::query("DELETE FROM messages WHERE pruned_at IS NOT NULL AND pruned_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    async fn create_fork(&self, fork: NewFork) -> StorageResult<ConversationSummary> {
        self.insert_fork(fork).await
    }
}

#[async_trait::async_trait]
impl SearchStore for PostgresStore {
    async fn search(&self, owner: Uuid, query: &str, limit: u32) -> StorageResult<SearchResults> {
        self.search_owned(owner, query, limit).await
    }
}

#[async_trait::async_trait]
impl ImportStore for PostgresStore {
    async fn import_conversation(
        &self,
        owner: Uuid,
        conversation: ArchivedConversation,
    ) -> StorageResult<(ConversationSummary, bool)> {
        self.insert_imported(owner, conversation).await
    }
}
