//! [`ConversationHandle`]: one user's typed way to ask one conversation's
//! actor, one async method per operation. It builds the [`Command`]s and
//! the [`Registry`] delivers them (starting the actor when needed), so the
//! rest of the server never names a command.

use super::actor::{Command, ConversationStats, Op, Parent, Reply, Snapshot, Subscription};
use super::registry::Registry;
use app::domain::errors::AppError;
use app::domain::model::{
    ConversationSettings, EffectiveModel, EventCursor, MessageNode, NodeOutline, PruneReceipt,
    ReplayStarted, SendReceipt,
};
use uuid::Uuid;

/// `user` acting on conversation `id`; the actor answers `NotFound` to
/// every operation unless the user owns it.
pub struct ConversationHandle<'a> {
    registry: &'a Registry,
    id: Uuid,
    user: Uuid,
}

impl Registry {
    /// A handle on conversation `id` for `user`.
    pub fn conversation(&self, id: Uuid, user: Uuid) -> ConversationHandle<'_> {
        ConversationHandle {
            registry: self,
            id,
            user,
        }
    }
}

impl ConversationHandle<'_> {
    /// Sends the operation `op` makes and waits for its answer.
    async fn ask<T>(&self, op: impl Fn(Reply<T>) -> Op) -> Result<T, AppError> {
        let user = self.user;
        self.registry
            .request(self.id, |reply| Command {
                user,
                op: op(reply),
            })
            .await
    }

    pub async fn snapshot(&self) -> Result<Snapshot, AppError> {
        self.snapshot_at(None).await
    }

    /// The snapshot opened at `focus` (none: the shown branch's newest).
    pub async fn snapshot_at(&self, focus: Option<Uuid>) -> Result<Snapshot, AppError> {
        self.ask(|reply| Op::Snapshot { focus, reply }).await
    }

    pub async fn subscribe(&self, after: Option<EventCursor>) -> Result<Subscription, AppError> {
        self.ask(|reply| Op::Subscribe { after, reply }).await
    }

    pub async fn send(
        &self,
        parent: Parent,
        client_id: &str,
        text: &str,
    ) -> Result<SendReceipt, AppError> {
        self.ask(|reply| Op::Send {
            parent,
            client_id: client_id.to_string(),
            text: text.to_string(),
            reply,
        })
        .await
    }

    pub async fn regenerate(&self, message: Uuid) -> Result<SendReceipt, AppError> {
        self.ask(|reply| Op::Regenerate { message, reply }).await
    }

    pub async fn continue_reply(&self, message: Uuid) -> Result<SendReceipt, AppError> {
        self.ask(|reply| Op::Continue { message, reply }).await
    }

    pub async fn stop(&self, message: Uuid) -> Result<(), AppError> {
        self.ask(|reply| Op::Stop { message, reply }).await
    }

    pub async fn set_active_leaf(&self, leaf: Uuid) -> Result<(), AppError> {
        self.ask(|reply| Op::SetActiveLeaf { leaf, reply }).await
    }

    pub async fn set_system_prompt(&self, text: &str) -> Result<(), AppError> {
        self.ask(|reply| Op::SetSystemPrompt {
            text: text.to_string(),
            reply,
        })
        .await
    }

    pub async fn set_settings(
        &self,
        settings: &ConversationSettings,
    ) -> Result<EffectiveModel, AppError> {
        self.ask(|reply| Op::SetSettings {
            settings: settings.clone(),
            reply,
        })
        .await
    }

    pub async fn delete(&self) -> Result<(), AppError> {
        self.ask(Op::Delete).await
    }

    /// The reply once it is no longer streaming.
    pub async fn await_reply(&self, message: Uuid) -> Result<MessageNode, AppError> {
        self.ask(|reply| Op::AwaitReply { message, reply }).await
    }

    pub async fn outline(&self) -> Result<Vec<NodeOutline>, AppError> {
        self.ask(Op::Outline).await
    }

    pub async fn messages(&self, ids: &[Uuid]) -> Result<Vec<MessageNode>, AppError> {
        self.ask(|reply| Op::Messages {
            ids: ids.to_vec(),
            reply,
        })
        .await
    }

    /// The messages from the root to `leaf` (none: the shown leaf).
    pub async fn branch(&self, leaf: Option<Uuid>) -> Result<Vec<MessageNode>, AppError> {
        self.ask(|reply| Op::Branch { leaf, reply }).await
    }

    pub async fn stats(&self) -> Result<ConversationStats, AppError> {
        self.ask(Op::Stats).await
    }

    pub async fn name_branch(&self, node: Uuid, name: Option<&str>) -> Result<(), AppError> {
        self.ask(|reply| Op::NameBranch {
            node,
            name: name.map(str::to_string),
            reply,
        })
        .await
    }

    pub async fn set_main_branch(&self, node: Option<Uuid>) -> Result<(), AppError> {
        self.ask(|reply| Op::SetMainBranch { node, reply }).await
    }

    pub async fn prune(&self, node: Uuid) -> Result<PruneReceipt, AppError> {
        self.ask(|reply| Op::Prune { node, reply }).await
    }

    pub async fn undo_prune(&self, root: Uuid) -> Result<(), AppError> {
        self.ask(|reply| Op::UndoPrune { root, reply }).await
    }

    pub async fn replay(
        &self,
        leaf: Uuid,
        from: Option<Uuid>,
        settings: &ConversationSettings,
    ) -> Result<ReplayStarted, AppError> {
        self.ask(|reply| Op::Replay {
            leaf,
            from,
            settings: settings.clone(),
            reply,
        })
        .await
    }

    pub async fn stop_replay(&self, replay: Uuid) -> Result<(), AppError> {
        self.ask(|reply| Op::StopReplay { replay, reply }).await
    }

    /// Stops the actor if it is in memory (`None`: it is not, and nothing
    /// was started); refused while it generates.
    pub async fn close_if_running(&self) -> Option<Result<(), AppError>> {
        let user = self.user;
        self.registry
            .request_if_running(self.id, |reply| Command {
                user,
                op: Op::Close(reply),
            })
            .await
    }
}
