//! Where a replay stands, as the server announces it (the planning is in
//! [`crate::domain::replay`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a replay stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayState {
    Running,
    /// Every turn was answered.
    Finished,
    /// The user stopped it (or the reply it was writing).
    Stopped,
    /// A reply failed, or the next turn could not start.
    Failed,
}

/// A replay's progress, as the server announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayProgress {
    pub id: Uuid,
    /// The model the replay's replies come from (`provider/model`).
    pub model: String,
    /// Replies written completely so far.
    pub done: usize,
    /// Replies the replay writes in all.
    pub total: usize,
    /// The last reply the replay wrote: the end of the new branch.
    pub leaf: Uuid,
    pub state: ReplayState,
    /// Why it failed, if it did.
    pub note: Option<String>,
}

impl ReplayProgress {
    /// One line for people: what the replay is doing or how it ended.
    pub fn describe(&self) -> String {
        let ReplayProgress {
            model, done, total, ..
        } = self;
        match self.state {
            ReplayState::Running => {
                format!("Replaying with {model}: reply {} of {total}", done + 1)
            }
            ReplayState::Finished => format!("Replay with {model} finished: {total} replies"),
            ReplayState::Stopped => {
                format!("Replay with {model} stopped after {done} of {total} replies")
            }
            ReplayState::Failed => {
                let why = self.note.as_deref().unwrap_or("the reply failed");
                format!(
                    "Replay with {model} failed at reply {} of {total}: {why}",
                    done + 1
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_as_a_sentence() {
        let mut progress = ReplayProgress {
            id: Uuid::nil(),
            model: "local/fake-echo".into(),
            done: 1,
            total: 3,
            leaf: Uuid::nil(),
            state: ReplayState::Running,
            note: None,
        };
        assert_eq!(
            progress.describe(),
            "Replaying with local/fake-echo: reply 2 of 3"
        );
        progress.state = ReplayState::Stopped;
        assert_eq!(
            progress.describe(),
            "Replay with local/fake-echo stopped after 1 of 3 replies"
        );
        progress.state = ReplayState::Failed;
        progress.note = Some("rate limited".into());
        assert_eq!(
            progress.describe(),
            "Replay with local/fake-echo failed at reply 2 of 3: rate limited"
        );
        progress.state = ReplayState::Finished;
        assert_eq!(
            progress.describe(),
            "Replay with local/fake-echo finished: 3 replies"
        );
    }
}
