//! Finds the actor of a conversation, starting it from the database on
//! first use (or after it stopped or crashed), and delivers commands to it.

use super::actor::{ActorContext, Command, ConversationActor, Reply};
use app::errors::AppError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

type Actors = Arc<Mutex<HashMap<Uuid, mpsc::Sender<Command>>>>;

/// The live conversation actors, by conversation id.
pub struct Registry {
    actors: Actors,
    context: ActorContext,
}

/// How many times a command is retried when its actor stops under it.
const ATTEMPTS: usize = 3;

fn lock(actors: &Actors) -> MutexGuard<'_, HashMap<Uuid, mpsc::Sender<Command>>> {
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
    /// started and the command sent again (sends are idempotent by client id).
    pub async fn request<T>(
        &self,
        conversation: Uuid,
        make: impl Fn(Reply<T>) -> Command,
    ) -> Result<T, AppError> {
        for _ in 0..ATTEMPTS {
            let actor = self.actor(conversation).await?;
            let (reply, answer) = oneshot::channel();
            if actor.send(make(reply)).await.is_err() {
                continue;
            }
            if let Ok(result) = answer.await {
                return result;
            }
        }
        Err(AppError::Internal(
            "the conversation could not be opened; try again".into(),
        ))
    }

    async fn actor(&self, conversation: Uuid) -> Result<mpsc::Sender<Command>, AppError> {
        if let Some(actor) = self.running(conversation) {
            return Ok(actor);
        }
        let actor = ConversationActor::load(conversation, self.context.clone()).await?;
        let mut actors = lock(&self.actors);
        if let Some(running) = actors.get(&conversation).filter(|a| !a.is_closed()) {
            return Ok(running.clone()); // another request started it meanwhile
        }
        let (sender, commands) = mpsc::channel(64);
        let registry = self.actors.clone();
        tokio::spawn(async move {
            actor.run(commands).await;
            let mut actors = lock(&registry);
            if actors.get(&conversation).is_some_and(|a| a.is_closed()) {
                actors.remove(&conversation);
            }
        });
        actors.insert(conversation, sender.clone());
        Ok(sender)
    }

    fn running(&self, conversation: Uuid) -> Option<mpsc::Sender<Command>> {
        lock(&self.actors)
            .get(&conversation)
            .filter(|a| !a.is_closed())
            .cloned()
    }
}
