//! Persistence. Every SQL statement of Arbor lives under this module: the
//! capability traits ([`ConversationStore`], [`MessageStore`],
//! [`BranchStore`], [`SearchStore`], [`ImportStore`],
//! [`accounts::AccountStore`] and, for several nodes, [`leases::LeaseStore`])
//! say what the rest of the server may ask, and
//! each database has one implementation beside them: `sqlite/` (one file,
//! one machine) and `postgres/` (one database shared by several nodes).

pub mod accounts;
mod branches;
mod conversations;
mod import;
mod json_columns;
pub mod leases;
mod messages;
mod postgres;
mod search;
mod sqlite;

pub use branches::BranchStore;
pub use conversations::ConversationStore;
pub use import::ImportStore;
pub use messages::MessageStore;
pub use postgres::PostgresStore;
pub use search::SearchStore;
pub use sqlite::SqliteStore;

use accounts::AccountStore;
use app::domain::model::{ConversationSettings, ConversationSummary, MessageNode};
use leases::LeaseStore;
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
}

pub type StorageResult<T> = Result<T, StorageError>;

/// The username of the built-in user that owns everything until accounts exist.
const LOCAL_USERNAME: &str = "local";

/// The conversation columns each store reads into a `ConversationSummary`.
const SUMMARY_COLUMNS: &str = "id, title, created_at, updated_at";

/// Words of context on each side of a match in a search snippet.
const SNIPPET_WORDS: u32 = 12;

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

/// Everything the server asks of its database: one trait per capability,
/// each in its own file, and a store is all of them.
pub trait Store:
    ConversationStore + MessageStore + BranchStore + SearchStore + ImportStore
{
}

impl<T> Store for T where
    T: ConversationStore + MessageStore + BranchStore + SearchStore + ImportStore
{
}

/// One database seen through each of its traits.
#[derive(Clone)]
pub struct Database {
    pub store: Arc<dyn Store>,
    pub accounts: Arc<dyn AccountStore>,
    /// Nodes and leases, on a database several nodes can share
    /// (PostgreSQL); `None` for SQLite, which one node owns.
    pub leases: Option<Arc<dyn LeaseStore>>,
}

/// Whether `url` names a PostgreSQL database (else it is SQLite's).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens the database named by `url` (`postgres://…` for PostgreSQL;
/// `sqlite://…` or a file path for SQLite) and brings its schema up to date.
pub async fn connect(url: &str) -> StorageResult<Database> {
    if is_postgres_url(url) {
        let postgres = Arc::new(PostgresStore::open(url).await?);
        return Ok(Database {
            store: postgres.clone(),
            accounts: postgres.clone(),
            leases: Some(postgres),
        });
    }
    let sqlite = Arc::new(SqliteStore::open(url).await?);
    Ok(Database {
        store: sqlite.clone(),
        accounts: sqlite,
        leases: None,
    })
}
