//! Persistence. Every SQL statement of Arbor lives under this module: the
//! [`Store`] trait says what the rest of the server may ask, and each
//! database has one implementation beside it (SQLite today; PostgreSQL can
//! sit next to it with the same trait and the same tests).

pub mod accounts;
mod sqlite;

pub use sqlite::SqliteStore;

use crate::transfer::archive::ArchivedConversation;
use accounts::AccountStore;
use app::domain::model::{BranchLabel, ConversationSettings, ConversationSummary, MessageNode};
use app::domain::search::SearchResults;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// A storage failure. Details go to the log, never to the user.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("the write was not saved: {0}")]
    WriteFailed(String),
    #[error("unsupported database URL `{0}` (expected sqlite:// or a file path)")]
    UnsupportedUrl(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

impl From<StorageError> for app::domain::errors::AppError {
    /// Logs the detail and tells the user only that the database failed.
    fn from(error: StorageError) -> Self {
        tracing::error!(%error, "storage failure");
        app::domain::errors::AppError::Internal(
            "the database could not complete the request".into(),
        )
    }
}

/// A conversation row with the fields only the server needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationRecord {
    pub summary: ConversationSummary,
    pub owner_id: Uuid,
    pub active_leaf_id: Option<Uuid>,
    /// Sent before every message to the model (empty: none).
    pub system_prompt: String,
    /// Model, persona and sampler choices.
    pub settings: ConversationSettings,
    /// The node whose branch is the main one.
    pub main_node_id: Option<Uuid>,
    /// The conversation and last message a fork copied, if it is one.
    pub forked_from: Option<(Uuid, Uuid)>,
}

/// A new conversation holding a copy of another's branch.
#[derive(Debug, Clone)]
pub struct NewFork {
    pub owner: Uuid,
    pub title: String,
    pub source_conversation: Uuid,
    /// The last message copied.
    pub source_message: Uuid,
    pub system_prompt: String,
    pub settings: ConversationSettings,
    /// The copied path, root first, with new ids; the last one is shown.
    pub messages: Vec<StoredMessage>,
    pub now: i64,
}

/// Which nodes a pruned or restored set leaves shown and marked as main.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShownNodes {
    pub active_leaf: Option<Uuid>,
    pub main_node: Option<Uuid>,
}

/// A message row: the node the browser sees plus server-only fields.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub node: MessageNode,
    /// The browser's idempotency key for a user message.
    pub client_id: Option<String>,
}

/// Everything the server asks of its database.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The built-in local user (created on first use) that owns everything
    /// until accounts exist.
    async fn local_user(&self) -> StorageResult<Uuid>;

    /// A user's conversations, most recently active first.
    async fn list_conversations(&self, owner: Uuid) -> StorageResult<Vec<ConversationSummary>>;
    async fn create_conversation(
        &self,
        owner: Uuid,
        now: i64,
    ) -> StorageResult<ConversationSummary>;
    async fn conversation(&self, id: Uuid) -> StorageResult<Option<ConversationRecord>>;
    /// Renames the owner's conversation (without moving it in the list);
    /// `None` when there is no such conversation.
    async fn rename_conversation(
        &self,
        owner: Uuid,
        id: Uuid,
        title: &str,
    ) -> StorageResult<Option<ConversationSummary>>;
    /// Replaces the conversation's system prompt.
    async fn set_system_prompt(&self, id: Uuid, text: &str) -> StorageResult<()>;
    /// Replaces the conversation's model, persona and sampler choices.
    async fn set_generation_settings(
        &self,
        id: Uuid,
        settings: &ConversationSettings,
    ) -> StorageResult<()>;
    /// Sets an automatic title if the conversation still has none; true when set.
    async fn set_title_if_untitled(&self, id: Uuid, title: &str) -> StorageResult<bool>;
    /// Deletes the owner's conversation and its messages; false when there was none.
    async fn delete_conversation(&self, owner: Uuid, id: Uuid) -> StorageResult<bool>;
    /// How many messages each of the owner's conversations has (none: absent).
    async fn message_counts(&self, owner: Uuid) -> StorageResult<HashMap<Uuid, u64>>;

    /// Every message of a conversation, oldest first.
    async fn messages(&self, conversation: Uuid) -> StorageResult<Vec<StoredMessage>>;
    /// Stores new messages and makes `active_leaf` the displayed branch, in one transaction.
    async fn insert_messages(
        &self,
        conversation: Uuid,
        messages: &[StoredMessage],
        active_leaf: Uuid,
    ) -> StorageResult<()>;
    /// Saves the text a streaming reply has so far.
    async fn checkpoint_message(&self, id: Uuid, content: &str, now: i64) -> StorageResult<()>;
    /// Stores the final text, status, note, usage and tool calls of a reply.
    async fn finish_message(&self, node: &MessageNode, now: i64) -> StorageResult<()>;
    /// Records the displayed branch and marks its leaf as the latest chosen.
    async fn set_active_leaf(&self, conversation: Uuid, leaf: Uuid, at: i64) -> StorageResult<()>;
    /// Every branch name of a conversation (on pruned messages too), oldest first.
    async fn branch_labels(&self, conversation: Uuid) -> StorageResult<Vec<BranchLabel>>;
    /// Names the branch through `node`, replacing its name (`None`: removes it).
    async fn set_branch_label(
        &self,
        conversation: Uuid,
        node: Uuid,
        name: Option<&str>,
        now: i64,
    ) -> StorageResult<()>;
    /// Marks the branch through `node` as the main one (`None`: no main branch).
    async fn set_main_node(&self, conversation: Uuid, node: Option<Uuid>) -> StorageResult<()>;
    /// Hides `ids` as pruned at `at` (`None`: shows them again) and records
    /// what the conversation shows afterwards, in one transaction.
    async fn set_pruned(
        &self,
        conversation: Uuid,
        ids: &[Uuid],
        at: Option<i64>,
        shown: ShownNodes,
    ) -> StorageResult<()>;
    /// The conversation's pruned messages, oldest first, each with when it was pruned.
    async fn pruned_messages(&self, conversation: Uuid)
        -> StorageResult<Vec<(StoredMessage, i64)>>;
    /// Deletes for good every message pruned before `before`; answers how many.
    async fn purge_pruned(&self, before: i64) -> StorageResult<u64>;
    /// Stores a forked conversation and its messages in one transaction.
    async fn create_fork(&self, fork: NewFork) -> StorageResult<ConversationSummary>;
    /// Stores an imported conversation (messages parents-first, already
    /// validated) for `owner` in one transaction, under its own ids, or
    /// under new ones when any is taken (then the flag is true).
    async fn import_conversation(
        &self,
        owner: Uuid,
        conversation: ArchivedConversation,
    ) -> StorageResult<(ConversationSummary, bool)>;
    /// Every user (id, username), oldest first.
    async fn users(&self) -> StorageResult<Vec<(Uuid, String)>>;

    /// The owner's conversations whose title contains `query`, and the
    /// messages (not pruned, not streaming) that hold every word of it,
    /// best first; at most `limit` of each.
    async fn search(&self, owner: Uuid, query: &str, limit: u32) -> StorageResult<SearchResults>;

    /// Marks every reply still `streaming` as interrupted (their generation
    /// died with the process), keeping their text. Returns how many.
    async fn interrupt_streaming(&self, note: &str, now: i64) -> StorageResult<u64>;
}

/// One database seen through both traits.
#[derive(Clone)]
pub struct Database {
    pub store: Arc<dyn Store>,
    pub accounts: Arc<dyn AccountStore>,
}

/// Opens the database named by `url` and brings its schema up to date.
pub async fn connect(url: &str) -> StorageResult<Database> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Err(StorageError::UnsupportedUrl(url.to_string()));
    }
    let sqlite = Arc::new(SqliteStore::open(url).await?);
    Ok(Database {
        store: sqlite.clone(),
        accounts: sqlite,
    })
}
