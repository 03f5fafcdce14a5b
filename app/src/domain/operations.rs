//! What the operators' dashboard (`/admin`) shows: a live snapshot of the
//! server's conversations, sent every half second over Server-Sent Events,
//! and the progress of a test broadcast.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The name of the dashboard stream's one kind of event.
pub const SNAPSHOT_EVENT: &str = "snapshot";
/// Most conversations a snapshot lists (the busiest first).
pub const MAX_LISTED_CONVERSATIONS: usize = 100;
/// Most test conversations one broadcast may start.
pub const MAX_TEST_CONVERSATIONS: u32 = 10_000;

/// The server at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DashboardSnapshot {
    /// Conversations with an actor in memory.
    pub active_conversations: usize,
    /// Replies being generated.
    pub running_generations: usize,
    /// Text deltas streamed per second over the last interval, all conversations.
    pub tokens_per_second: f64,
    /// The busiest active conversations (at most [`MAX_LISTED_CONVERSATIONS`]).
    pub conversations: Vec<ActiveConversation>,
    /// The latest test broadcast, if one was started.
    pub broadcast: Option<BroadcastProgress>,
}

/// One conversation in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveConversation {
    pub id: Uuid,
    pub messages: usize,
    /// Replies being generated (0: idle).
    pub running: usize,
    pub tokens_per_second: f64,
    pub last_activity_ms: i64,
}

/// How far a test broadcast has got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BroadcastProgress {
    pub total: u32,
    /// Conversations created so far.
    pub started: u32,
    /// Replies finished complete.
    pub completed: u32,
    /// Conversations whose message or reply failed.
    pub failed: u32,
    pub elapsed_ms: u64,
    pub finished: bool,
    /// Why the run stopped early, if it did.
    pub error: Option<String>,
}

/// Per-second rate of a counter that went from `before` to `after` in `millis`.
pub fn rate(before: u64, after: u64, millis: u64) -> f64 {
    if millis == 0 {
        return 0.0;
    }
    after.saturating_sub(before) as f64 * 1000.0 / millis as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_second_and_never_negative() {
        assert_eq!(rate(10, 60, 500), 100.0);
        assert_eq!(rate(60, 10, 500), 0.0); // a restarted actor counts from zero
        assert_eq!(rate(0, 5, 0), 0.0);
    }
}
