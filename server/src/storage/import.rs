//! Storing an imported conversation whole, in one transaction.

use super::StorageResult;
use crate::transfer::archive::ArchivedConversation;
use app::domain::model::ConversationSummary;
use uuid::Uuid;

/// Storing imported conversations.
#[async_trait::async_trait]
pub trait ImportStore: Send + Sync + 'static {
    /// Stores an imported conversation (messages parents-first, already
    /// validated) for `owner` in one transaction, under its own ids, or
    /// under new ones when any is taken (then the flag is true).
    async fn import_conversation(
        &self,
        owner: Uuid,
        conversation: ArchivedConversation,
    ) -> StorageResult<(ConversationSummary, bool)>;
}
