//! The actor's replays: re-running a branch's assistant turns, one after
//! the other, with other settings, into a new sibling branch (the plan
//! comes from [`app::domain::replay::replay_plan`]). A replay lives in the actor's
//! memory while it runs; each reply it writes is an ordinary reply, stored
//! and streamed like any other, so a replay cut short by a restart leaves
//! its replies so far (the last one interrupted).

use super::{ConversationActor, ReplyOrigin};
use crate::clock::now_ms;
use crate::storage::StoredMessage;
use app::domain::errors::AppError;
use app::domain::model::{
    ChatEvent, ConversationSettings, MessageNode, MessageStatus, ReplayProgress, ReplayStarted,
    ReplayState, Role,
};
use app::domain::replay::replay_plan;
use std::collections::VecDeque;
use uuid::Uuid;

/// A replay in progress.
pub(super) struct ReplayRun {
    pub(super) progress: ReplayProgress,
    /// The model, persona and sampler choices its replies use.
    pub(super) settings: ConversationSettings,
    /// The texts of the user messages still to ask, in order.
    remaining: VecDeque<String>,
}

/// How a reply that belongs to a replay ended.
pub(super) enum TurnEnd {
    Complete,
    Stopped,
    Failed(String),
}

impl ConversationActor {
    /// Starts replaying the branch ending at `leaf` from `from` (none: its
    /// first message) with `settings` (already validated).
    pub(super) async fn start_replay(
        &mut self,
        leaf: Uuid,
        from: Option<Uuid>,
        settings: ConversationSettings,
    ) -> Result<ReplayStarted, AppError> {
        if !self.messages.contains_key(&leaf) {
            return Err(AppError::NotFound("message".into()));
        }
        let path: Vec<(Uuid, Role)> = self
            .tree
            .path_to(leaf)
            .iter()
            .filter_map(|id| self.messages.get(id).map(|m| (m.id, m.role)))
            .collect();
        let plan = replay_plan(&path, from).map_err(AppError::BadRequest)?;
        let remaining = plan
            .then
            .iter()
            .filter_map(|id| self.messages.get(id).map(|m| m.content.clone()))
            .collect();
        let id = Uuid::now_v7();
        let model = self.context.catalog.effective_model(&settings).key;
        self.replays.insert(
            id,
            ReplayRun {
                progress: ReplayProgress {
                    id,
                    model,
                    done: 0,
                    total: plan.turns(),
                    leaf,
                    state: ReplayState::Running,
                    note: None,
                },
                settings,
                remaining,
            },
        );
        let origin = ReplyOrigin {
            tool_round: 0,
            replay: Some(id),
        };
        let receipt = match self.create_reply(plan.first, None, None, origin).await {
            Ok(receipt) => receipt,
            Err(error) => {
                self.replays.remove(&id);
                return Err(error);
            }
        };
        let progress = self
            .replay_moved_to(id, receipt.assistant.id)
            .ok_or_else(|| AppError::Internal("the replay ended before it began".into()))?;
        Ok(ReplayStarted { progress, receipt })
    }

    /// Stops a running replay by stopping the reply it is writing (the
    /// turn's first reply, or the one answering its tools' results).
    pub(super) async fn stop_replay(&mut self, replay: Uuid) -> Result<(), AppError> {
        if !self.replays.contains_key(&replay) {
            return Err(AppError::NotFound(
                "replay (it may have ended already)".into(),
            ));
        }
        let writing = self
            .running
            .iter()
            .find(|(_, running)| running.origin.replay == Some(replay))
            .map(|(id, _)| *id);
        match writing {
            Some(reply) => self.stop(reply).await,
            None => {
                self.end_replay(replay, ReplayState::Stopped, None);
                Ok(())
            }
        }
    }

    /// A reply ended; if it belongs to a replay (`replay`), ask the
    /// replay's next user message, or end the replay.
    pub(super) async fn replay_turn_ended(
        &mut self,
        replay: Option<Uuid>,
        reply: Uuid,
        end: TurnEnd,
    ) {
        let Some(replay) = replay else { return };
        match end {
            TurnEnd::Stopped => self.end_replay(replay, ReplayState::Stopped, None),
            TurnEnd::Failed(note) => self.end_replay(replay, ReplayState::Failed, Some(note)),
            TurnEnd::Complete => {
                let Some(run) = self.replays.get_mut(&replay) else {
                    return;
                };
                run.progress.done += 1;
                run.progress.leaf = reply;
                let Some(text) = run.remaining.pop_front() else {
                    self.end_replay(replay, ReplayState::Finished, None);
                    return;
                };
                let user = StoredMessage {
                    node: MessageNode::new(
                        Uuid::now_v7(),
                        Some(reply),
                        Role::User,
                        text,
                        MessageStatus::Complete,
                        now_ms(),
                    ),
                    client_id: None,
                };
                let origin = ReplyOrigin {
                    tool_round: 0,
                    replay: Some(replay),
                };
                match self
                    .create_reply(user.node.id, Some(user), None, origin)
                    .await
                {
                    Ok(receipt) => _ = self.replay_moved_to(replay, receipt.assistant.id),
                    Err(error) => {
                        let note = format!("the next message could not be sent: {error}");
                        self.end_replay(replay, ReplayState::Failed, Some(note));
                    }
                }
            }
        }
    }

    /// Records that `replay` is writing `reply`, announces that, and
    /// answers the new progress.
    fn replay_moved_to(&mut self, replay: Uuid, reply: Uuid) -> Option<ReplayProgress> {
        let run = self.replays.get_mut(&replay)?;
        run.progress.leaf = reply;
        let progress = run.progress.clone();
        self.log.publish(ChatEvent::Replay {
            progress: progress.clone(),
        });
        Some(progress)
    }

    /// Ends `replay` in `state` and announces it.
    fn end_replay(&mut self, replay: Uuid, state: ReplayState, note: Option<String>) {
        let Some(mut run) = self.replays.remove(&replay) else {
            return;
        };
        run.progress.state = state;
        run.progress.note = note;
        self.log.publish(ChatEvent::Replay {
            progress: run.progress,
        });
    }

    /// The progress of every running replay.
    pub(super) fn running_replays(&self) -> Vec<ReplayProgress> {
        let mut replays: Vec<ReplayProgress> =
            self.replays.values().map(|r| r.progress.clone()).collect();
        replays.sort_by_key(|r| r.id);
        replays
    }
}
