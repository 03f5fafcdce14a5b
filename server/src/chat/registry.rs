//! Finds the actor of a conversation, starting it from the database on
//! first use (or after it stopped or crashed), and delivers commands to it.
//! It also answers, without disturbing any actor, which conversations are
//! in memory and what each is doing.

use super::actor::{ActorContext, Command, ConversationActor, Reply};
use super::status::ActorStatus;
use app::domain::errors::AppError;
use futures::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};
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
    /// An empty registry whose actors share `context`.
    pub fn new(context: ActorContext) -> Self {
        Registry {
            actors: Arc::new(Mutex::new(HashMap::new())),
            context,
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
    ) -> Result<T, AppError> {
        for _ in 0..ATTEMPTS {
            let actor = self.actor(conversation).await?;
            let (reply, answer) = oneshot::channel();
            if actor.commands.send(Box::new(make(reply))).await.is_err() {
                continue;
            }
            match answer.await {
                Ok(result) => return result,
                Err(_) if actor.status.has_panicked() => {
                    return Err(AppError::Internal(
                        "the conversation hit an internal error and was reloaded; try again".into(),
                    ))
                }
                Err(_) => continue,
            }
        }
        Err(AppError::Internal(
            "the conversation could not be opened; try again".into(),
        ))
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

    async fn actor(&self, conversation: Uuid) -> Result<ActorHandle, AppError> {
        if let Some(actor) = self.running(conversation) {
            return Ok(actor);
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
