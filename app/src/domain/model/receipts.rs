//! What the server answers when a request starts work: a send, a prune,
//! a replay.

use super::message::MessageNode;
use super::replay_progress::ReplayProgress;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What pruning a subtree answers: how to undo it, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReceipt {
    /// The node the pruned subtree hung from (pass it to undo).
    pub root: Uuid,
    /// How many messages were removed.
    pub removed: usize,
    /// Until when (ms since the epoch, server clock) the prune can be undone.
    pub undo_until: i64,
}

/// What `send_message` and `regenerate` hand back at once, before any token streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendReceipt {
    /// The stored user message (absent for a regeneration).
    pub user: Option<MessageNode>,
    /// The new assistant reply, status `Streaming`.
    pub assistant: MessageNode,
}

/// A replay that has started: its progress and its first reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayStarted {
    pub progress: ReplayProgress,
    pub receipt: SendReceipt,
}
