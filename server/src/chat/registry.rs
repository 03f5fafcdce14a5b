//! Finds the actor of a conversation, starting it from the database on
//! first use (or after it stopped or crashed), and delivers commands to it.
//! It also answers, without disturbing any actor, which conversations are
//! in memory and what each is doing. In a cluster it starts an actor only
//! after taking the conversation's lease (else it names the node holding
//! it), and renews the leases of its running actors.

use super::actor::{ActorContext, Command, ConversationActor, Reply};
use super::status::ActorStatus;
use crate::cluster::{Cluster, Owner};
use app::domain::errors::AppError;
use futures::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;
use uuid::Uuid;

/// How to reach one running actor and what it reports of itself.
#[derive(Clone)]
struct ActorHandle {
    /// Commands are boxed so an idle actor's queue stays small.
    commands: mpsc::Sender<Box<Command>>,
    status: Arc<ActorStatus>,
    /// Closed when the actor's task has ended, writes included (an actor
    /// stops taking commands before it has saved what it must).
    ended: watch::Receiver<()>,
}

type Actors = Arc<Mutex<HashMap<Uuid, ActorHandle>>>;

/// The live conversation actors, by conversation id.
pub struct Registry {
    actors: Actors,
    context: ActorContext,
    /// The other nodes on this database, if it is shared.
    cluster: Option<Arc<Cluster>>,
}

/// Why a request was not answered by an actor of this node.
#[derive(Debug)]
pub(super) enum Refusal {
    Failed(AppError),
    /// Another live node runs the conversation.
    OwnedBy(Owner),
}

impl From<AppError> for Refusal {
    fn from(error: AppError) -> Self {
        Refusal::Failed(error)
    }
}

/// How many times a command is retried when its actor stops under it.
const ATTEMPTS: usize = 3;

/// Commands that may wait for one actor.
const COMMAND_QUEUE: usize = 32;

fn lock(actors: &Actors) -> MutexGuard<'_, HashMap<Uuid, ActorHandle>> {
    // A panic while holding this lock cannot leave the map inconsistent
    // (each operation is a single insert or remove), so poisoning is ignored.
    actors
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Registry {
    /// An empty registry whose actors share `context`; in `cluster`, if
    /// the database is shared with other nodes.
    pub fn new(context: ActorContext, cluster: Option<Arc<Cluster>>) -> Self {
        let actors: Actors = Arc::new(Mutex::new(HashMap::new()));
        if let Some(cluster) = &cluster {
            tokio::spawn(keep_leases(cluster.clone(), Arc::downgrade(&actors)));
        }
        Registry {
            actors,
            context,
            cluster,
        }
    }

    /// The other nodes on this database, if it is shared.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// Whether this node runs `conversation` (or may start it: it now
    /// holds its lease).
    pub(super) async fn owns(&self, conversation: Uuid) -> Result<bool, AppError> {
        if self.running(conversation).is_some() {
            return Ok(true);
        }
        match &self.cluster {
            None => Ok(true),
            Some(cluster) => Ok(cluster.acquire(conversation).await?.is_none()),
        }
    }

    /// Sends a command built by `make` to the conversation's actor and waits
    /// for the answer. If the actor stops before answering, a fresh one is
    /// started and the command sent again (sends are idempotent by client id)
    /// unless the actor stopped by panicking: the command may have been the
    /// cause, or half done, so it is answered with an internal error instead.
    pub(super) async fn request<T>(
        &self,
        conversation: Uuid,
        make: impl Fn(Reply<T>) -> Command,
    ) -> Result<T, Refusal> {
        for _ in 0..ATTEMPTS {
            let actor = self.actor(conversation).await?;
            let (reply, answer) = oneshot::channel();
            if actor.commands.send(Box::new(make(reply))).await.is_err() {
                continue;
            }
            match answer.await {
                Ok(result) => return result.map_err(Refusal::Failed),
                Err(_) => {
                    // The actor stopped without answering. Whether it
                    // panicked is known once its task has ended (a panic
                    // drops the answer before the actor records it).
                    _ = actor.ended.clone().changed().await;
                    if actor.status.has_panicked() {
                        return Err(Refusal::Failed(AppError::Internal(
                            "the conversation hit an internal error and was reloaded; try again"
                                .into(),
                        )));
                    }
                }
            }
        }
        Err(Refusal::Failed(AppError::Internal(
            "the conversation could not be opened; try again".into(),
        )))
    }

    /// Like [`Self::request`], but only if the actor is in memory: `None`
    /// when it is not (nothing is started).
    pub(super) async fn request_if_running<T>(
        &self,
        conversation: Uuid,
        make: impl FnOnce(Reply<T>) -> Command,
    ) -> Option<Result<T, AppError>> {
        let actor = self.running(conversation)?;
        let (reply, answer) = oneshot::channel();
        actor.commands.send(Box::new(make(reply))).await.ok()?;
        answer.await.ok()
    }

    /// How many actors are in memory.
    pub fn active_count(&self) -> usize {
        lock(&self.actors)
            .values()
            .filter(|a| !a.commands.is_closed())
            .count()
    }

    /// Every actor in memory with its status.
    pub fn statuses(&self) -> Vec<(Uuid, Arc<ActorStatus>)> {
        lock(&self.actors)
            .iter()
            .filter(|(_, a)| !a.commands.is_closed())
            .map(|(id, a)| (*id, a.status.clone()))
            .collect()
    }

    /// The status of a conversation's actor, if it is in memory.
    pub fn status(&self, conversation: Uuid) -> Option<Arc<ActorStatus>> {
        self.running(conversation).map(|a| a.status)
    }

    async fn actor(&self, conversation: Uuid) -> Result<ActorHandle, Refusal> {
        if let Some(actor) = self.running(conversation) {
            return Ok(actor);
        }
        if let Some(cluster) = &self.cluster {
            if let Some(owner) = cluster
                .acquire(conversation)
                .await
                .map_err(AppError::from)?
            {
                return Err(Refusal::OwnedBy(owner));
            }
        }
        // A previous actor may still be saving (its replies, after a panic):
        // the next one reads the database only once that is done.
        let stopping = lock(&self.actors).get(&conversation).cloned();
        if let Some(previous) = stopping {
            _ = previous.ended.clone().changed().await;
        }
        let actor = ConversationActor::load(conversation, self.context.clone()).await?;
        let mut actors = lock(&self.actors);
        if let Some(running) = actors
            .get(&conversation)
            .filter(|a| !a.commands.is_closed())
        {
            return Ok(running.clone()); // another request started it meanwhile
        }
        let (sender, commands) = mpsc::channel(COMMAND_QUEUE);
        let (end, ended) = watch::channel(());
        let handle = ActorHandle {
            commands: sender.clone(),
            status: actor.status(),
            ended,
        };
        let registry = self.actors.clone();
        // A root span: the actor outlives the request that started it.
        let span = tracing::info_span!(parent: None, "conversation", id = %conversation);
        tokio::spawn(
            async move {
                // The actor catches panics in its own steps; this catches
                // any elsewhere so the entry is always cleaned up.
                if AssertUnwindSafe(actor.run(commands))
                    .catch_unwind()
                    .await
                    .is_err()
                {
                    tracing::error!("conversation actor panicked outside a step");
                }
                let mut actors = lock(&registry);
                if actors
                    .get(&conversation)
                    .is_some_and(|a| a.commands.is_closed())
                {
                    actors.remove(&conversation);
                }
                metrics::gauge!("arbor_active_actors").set(actors.len() as f64);
                drop(end);
            }
            .instrument(span),
        );
        actors.insert(conversation, handle.clone());
        metrics::gauge!("arbor_active_actors").set(actors.len() as f64);
        Ok(handle)
    }

    fn running(&self, conversation: Uuid) -> Option<ActorHandle> {
        lock(&self.actors)
            .get(&conversation)
            .filter(|a| !a.commands.is_closed())
            .cloned()
    }
}

/// Renews the leases of the actors running here every third of a lease,
/// for as long as the registry exists. An actor whose lease was lost (this
/// node could not renew in time and another took the conversation) is
/// forgotten, so requests go to the new owner; it stops once idle.
async fn keep_leases(cluster: Arc<Cluster>, actors: Weak<Mutex<HashMap<Uuid, ActorHandle>>>) {
    let mut every = tokio::time::interval(cluster.lease() / 3);
    loop {
        every.tick().await;
        let Some(actors) = actors.upgrade() else {
            return;
        };
        let running: Vec<Uuid> = lock(&actors)
            .iter()
            .filter(|(_, a)| !a.commands.is_closed())
            .map(|(id, _)| *id)
            .collect();
        match cluster.renew(&running).await {
            Ok(lost) => {
                let mut map = lock(&actors);
                for id in lost {
                    tracing::error!(conversation = %id, "lost the lease of a running conversation to another node");
                    map.remove(&id);
                }
            }
            Err(error) => tracing::warn!(%error, "could not renew this node's leases"),
        }
    }
}
