//! Full-text search over titles and messages.

use super::StorageResult;
use app::domain::search::SearchResults;
use uuid::Uuid;

/// Searching a user's conversations.
#[async_trait::async_trait]
pub trait SearchStore: Send + Sync + 'static {
    /// The owner's conversations whose title contains `query`, and the
    /// messages (not pruned, not streaming) that hold every word of it,
    /// best first; at most `limit` of each.
    async fn search(&self, owner: Uuid, query: &str, limit: u32) -> StorageResult<SearchResults>;
}
