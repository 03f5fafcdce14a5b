//! [`ConversationHandle`]: one user's typed way to ask one conversation's
//! actor, one async method per operation. It builds the [`Command`]s and
//! the [`Registry`] delivers them (starting the actor when needed), so the
//! rest of the server never names a command. When another node runs the
//! conversation, the handle forwards the operation there instead (the
//! same operation as a [`Request`]), and once that node's lease has lapsed
//! (it died) the conversation is started here.

use super::actor::{Command, ConversationStats, Op, Parent, Reply, Snapshot, Subscription};
use super::event_log::RemoteStart;
use super::registry::{Refusal, Registry};
use crate::cluster::forward::NotDelivered;
use crate::cluster::request::Request;
use crate::cluster::{Cluster, Owner};
use app::domain::errors::AppError;
use app::domain::model::{
    ConversationSettings, EffectiveModel, EventCursor, MessageNode, NodeOutline, PruneReceipt,
    ReplayStarted, SendReceipt,
};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// `user` acting on conversation `id`; the actor answers `NotFound` to
/// every operation unless the user owns it.
pub struct ConversationHandle<'a> {
    registry: &'a Registry,
    id: Uuid,
    user: Uuid,
}

/// Shortest and longest wait before asking again who owns a conversation
/// whose owner could not be reached.
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(1);

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

/// The error when no node could run the conversation in time.
fn unreachable_owner(detail: &str) -> AppError {
    tracing::warn!(
        detail,
        "the node running a conversation could not be reached"
    );
    AppError::Internal(
        "the server running this conversation could not be reached; try again".into(),
    )
}

impl ConversationHandle<'_> {
    /// Sends the operation `op` makes to the actor and waits for its
    /// answer; when another node runs the conversation, sends it `request`
    /// (the same operation) instead.
    async fn ask<T: DeserializeOwned>(
        &self,
        request: Request,
        op: impl Fn(Reply<T>) -> Op,
    ) -> Result<T, AppError> {
        let (id, user) = (self.id, self.user);
        self.route(op, |cluster, owner| {
            let request = request.clone();
            async move { cluster.forward(&owner, id, user, request).await }
        })
        .await
    }

    /// Performs the operation `op` makes on this node's actor, or, while
    /// another node runs the conversation, `elsewhere` with that node;
    /// waits for an owner that cannot be reached until its lease lapses
    /// and this node may start the conversation itself.
    async fn route<T, Elsewhere>(
        &self,
        op: impl Fn(Reply<T>) -> Op,
        elsewhere: impl Fn(Arc<Cluster>, Owner) -> Elsewhere,
    ) -> Result<T, AppError>
    where
        Elsewhere: Future<Output = Result<Result<T, AppError>, NotDelivered>>,
    {
        let user = self.user;
        let deadline = self.give_up_at();
        loop {
            let owner = match self
                .registry
                .request(self.id, |reply| Command {
                    user,
                    op: op(reply),
                })
                .await
            {
                Ok(answer) => return Ok(answer),
                Err(Refusal::Failed(error)) => return Err(error),
                Err(Refusal::OwnedBy(owner)) => owner,
            };
            let Some(cluster) = self.registry.cluster() else {
                return Err(unreachable_owner("no cluster"));
            };
            match elsewhere(cluster.clone(), owner.clone()).await {
                Ok(answer) => return answer,
                Err(not_delivered) => self.wait_for(&owner, not_delivered, deadline).await?,
            }
        }
    }

    /// When to stop trying to reach the conversation's node: two leases
    /// from now (by then a dead node's lease has lapsed and this node has
    /// taken it).
    fn give_up_at(&self) -> Instant {
        let lease = self
            .registry
            .cluster()
            .map_or(Duration::ZERO, |c| c.lease());
        Instant::now() + lease * 2 + Duration::from_secs(5)
    }

    /// Waits before asking again who owns the conversation (its owner may
    /// be gone, or it moved), or fails once `deadline` has passed.
    async fn wait_for(
        &self,
        owner: &Owner,
        not_delivered: NotDelivered,
        deadline: Instant,
    ) -> Result<(), AppError> {
        let pause = match &not_delivered {
            NotDelivered::Moved => RETRY_MIN,
            NotDelivered::Unreachable(_) => owner.expires_in.clamp(RETRY_MIN, RETRY_MAX),
        };
        if Instant::now() + pause > deadline {
            let detail = match not_delivered {
                NotDelivered::Moved => "it kept moving".to_string(),
                NotDelivered::Unreachable(detail) => detail,
            };
            return Err(unreachable_owner(&detail));
        }
        tokio::time::sleep(pause).await;
        Ok(())
    }

    pub async fn snapshot(&self) -> Result<Snapshot, AppError> {
        self.snapshot_at(None).await
    }

    /// The snapshot opened at `focus` (none: the shown branch's newest).
    pub async fn snapshot_at(&self, focus: Option<Uuid>) -> Result<Snapshot, AppError> {
        self.ask(Request::Snapshot { focus }, |reply| Op::Snapshot {
            focus,
            reply,
        })
        .await
    }

    /// The events after `after` (none: from now), then the live ones,
    /// wherever the conversation runs.
    pub async fn subscribe(&self, after: Option<EventCursor>) -> Result<Subscription, AppError> {
        let (id, user) = (self.id, self.user);
        self.route(
            |reply| Op::Subscribe { after, reply },
            |cluster, owner| async move { cluster.follow_elsewhere(&owner, id, user, after).await },
        )
        .await
    }

    /// For another node's client: the events after `after`, and the later
    /// ones relayed for a while.
    pub async fn watch_for_another_node(
        &self,
        after: Option<EventCursor>,
    ) -> Result<RemoteStart, AppError> {
        self.ask(Request::Watch { after }, |reply| Op::Watch { after, reply })
            .await
    }

    pub async fn send(
        &self,
        parent: Parent,
        client_id: &str,
        text: &str,
    ) -> Result<SendReceipt, AppError> {
        let request = Request::Send {
            parent,
            client_id: client_id.to_string(),
            text: text.to_string(),
        };
        self.ask(request, |reply| Op::Send {
            parent,
            client_id: client_id.to_string(),
            text: text.to_string(),
            reply,
        })
        .await
    }

    pub async fn regenerate(&self, message: Uuid) -> Result<SendReceipt, AppError> {
        self.ask(Request::Regenerate { message }, |reply| Op::Regenerate {
            message,
            reply,
        })
        .await
    }

    pub async fn continue_reply(&self, message: Uuid) -> Result<SendReceipt, AppError> {
        self.ask(Request::Continue { message }, |reply| Op::Continue {
            message,
            reply,
        })
        .await
    }

    pub async fn stop(&self, message: Uuid) -> Result<(), AppError> {
        self.ask(Request::Stop { message }, |reply| Op::Stop {
            message,
            reply,
        })
        .await
    }

    pub async fn set_active_leaf(&self, leaf: Uuid) -> Result<(), AppError> {
        self.ask(Request::SetActiveLeaf { leaf }, |reply| Op::SetActiveLeaf {
            leaf,
            reply,
        })
        .await
    }

    pub async fn set_system_prompt(&self, text: &str) -> Result<(), AppError> {
        let request = Request::SetSystemPrompt {
            text: text.to_string(),
        };
        self.ask(request, |reply| Op::SetSystemPrompt {
            text: text.to_string(),
            reply,
        })
        .await
    }

    pub async fn set_settings(
        &self,
        settings: &ConversationSettings,
    ) -> Result<EffectiveModel, AppError> {
        let request = Request::SetSettings {
            settings: settings.clone(),
        };
        self.ask(request, |reply| Op::SetSettings {
            settings: settings.clone(),
            reply,
        })
        .await
    }

    pub async fn delete(&self) -> Result<(), AppError> {
        self.ask(Request::Delete, Op::Delete).await
    }

    /// The reply once it is no longer streaming.
    pub async fn await_reply(&self, message: Uuid) -> Result<MessageNode, AppError> {
        self.ask(Request::AwaitReply { message }, |reply| Op::AwaitReply {
            message,
            reply,
        })
        .await
    }

    pub async fn outline(&self) -> Result<Vec<NodeOutline>, AppError> {
        self.ask(Request::Outline, Op::Outline).await
    }

    pub async fn messages(&self, ids: &[Uuid]) -> Result<Vec<MessageNode>, AppError> {
        let request = Request::Messages { ids: ids.to_vec() };
        self.ask(request, |reply| Op::Messages {
            ids: ids.to_vec(),
            reply,
        })
        .await
    }

    /// The messages from the root to `leaf` (none: the shown leaf).
    pub async fn branch(&self, leaf: Option<Uuid>) -> Result<Vec<MessageNode>, AppError> {
        self.ask(Request::Branch { leaf }, |reply| Op::Branch { leaf, reply })
            .await
    }

    pub async fn stats(&self) -> Result<ConversationStats, AppError> {
        self.ask(Request::Stats, Op::Stats).await
    }

    pub async fn name_branch(&self, node: Uuid, name: Option<&str>) -> Result<(), AppError> {
        let request = Request::NameBranch {
            node,
            name: name.map(str::to_string),
        };
        self.ask(request, |reply| Op::NameBranch {
            node,
            name: name.map(str::to_string),
            reply,
        })
        .await
    }

    pub async fn set_main_branch(&self, node: Option<Uuid>) -> Result<(), AppError> {
        self.ask(Request::SetMainBranch { node }, |reply| Op::SetMainBranch {
            node,
            reply,
        })
        .await
    }

    pub async fn prune(&self, node: Uuid) -> Result<PruneReceipt, AppError> {
        self.ask(Request::Prune { node }, |reply| Op::Prune { node, reply })
            .await
    }

    pub async fn undo_prune(&self, root: Uuid) -> Result<(), AppError> {
        self.ask(Request::UndoPrune { root }, |reply| Op::UndoPrune {
            root,
            reply,
        })
        .await
    }

    pub async fn replay(
        &self,
        leaf: Uuid,
        from: Option<Uuid>,
        settings: &ConversationSettings,
    ) -> Result<ReplayStarted, AppError> {
        let request = Request::Replay {
            leaf,
            from,
            settings: settings.clone(),
        };
        self.ask(request, |reply| Op::Replay {
            leaf,
            from,
            settings: settings.clone(),
            reply,
        })
        .await
    }

    pub async fn stop_replay(&self, replay: Uuid) -> Result<(), AppError> {
        self.ask(Request::StopReplay { replay }, |reply| Op::StopReplay {
            replay,
            reply,
        })
        .await
    }

    /// Stops the actor if it is in memory, here or on the node running it
    /// (`None`: it is in memory nowhere, and nothing was started); refused
    /// while it generates.
    pub async fn close_if_running(&self) -> Option<Result<(), AppError>> {
        let user = self.user;
        if let Some(closed) = self
            .registry
            .request_if_running(self.id, |reply| Command {
                user,
                op: Op::Close(reply),
            })
            .await
        {
            return Some(closed);
        }
        let cluster = self.registry.cluster()?;
        let owner = match cluster.acquire(self.id).await {
            Ok(owner) => owner?,
            Err(error) => return Some(Err(error.into())),
        };
        // An owner that cannot be reached is gone, and so is its actor.
        cluster
            .forward(&owner, self.id, user, Request::Close)
            .await
            .ok()
    }
}
