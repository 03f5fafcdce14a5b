//! Branch rows: names, the main branch, pruning (with its undo window)
//! and forks.

use super::{NewFork, ShownNodes, StorageResult, StoredMessage};
use app::domain::model::{BranchLabel, ConversationSummary};
use uuid::Uuid;

/// Branch names, the main branch, pruned subtrees and forks.
#[async_trait::async_trait]
pub trait BranchStore: Send + Sync + 'static {
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
}
