//! Conversation rows: listing, creating, reading, renaming and deleting
//! conversations, their settings and titles, and who owns them.

use super::{ConversationRecord, StorageResult};
use app::domain::model::{ConversationSettings, ConversationSummary};
use std::collections::HashMap;
use uuid::Uuid;

/// Conversation rows and their owners.
#[async_trait::async_trait]
pub trait ConversationStore: Send + Sync + 'static {
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

    /// Renames the owner's conversation (without moving it in the list),
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

    /// Every user (id, username), oldest first.
    async fn users(&self) -> StorageResult<Vec<(Uuid, String)>>;
}
