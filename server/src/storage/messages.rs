//! Message rows: reading a conversation's messages, storing new ones,
//! checkpointing and finishing a streaming reply, and the shown branch.

use super::{StorageResult, StoredMessage};
use app::domain::model::MessageNode;
use uuid::Uuid;

/// Message rows and the shown branch.
#[async_trait::async_trait]
pub trait MessageStore: Send + Sync + 'static {
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

    /// Marks every reply still `streaming` as interrupted (their generation
    /// died with the process), keeping their text; on a database shared by
    /// several nodes, only in conversations no node holds a live lease of
    /// (the others are still being written). Returns how many.
    async fn interrupt_streaming(&self, note: &str, now: i64) -> StorageResult<u64>;
}
