//! Reaching the node that owns a conversation: a [`Request`] goes as JSON
//! to its internal route (`POST /api/internal/conversations/{id}`, with the
//! nodes' shared secret), and the operation's answer comes back. A client
//! that follows a conversation owned elsewhere is served by
//! [`Cluster::follow_elsewhere`]: the owner answers the events it missed
//! and relays the later ones until asked to stop.

use super::request::{Forwarded, Request};
use super::{Cluster, Owner, SECRET_HEADER};
use crate::chat::actor::Subscription;
use crate::chat::event_log::{RemoteStart, Replay, Sequenced, LIVE_BUFFER};
use app::domain::errors::AppError;
use app::domain::model::EventCursor;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

/// The internal route, under a node's base URL (axum's pattern).
pub const INTERNAL_ROUTE: &str = "/api/internal/conversations/{id}";

/// The status the internal route answers when this node does not hold the
/// conversation's lease (any more): the sender asks again who does.
pub const MOVED_STATUS: reqwest::StatusCode = reqwest::StatusCode::CONFLICT;

/// Why a forwarded request got no answer from the operation.
#[derive(Debug)]
pub enum NotDelivered {
    /// The owner could not be reached (it may be gone: wait for its lease).
    Unreachable(String),
    /// The node no longer holds the lease.
    Moved,
}

impl Cluster {
    /// Sends `request` for `user` to `owner` and answers what the
    /// operation answered there.
    pub async fn forward<T: DeserializeOwned>(
        &self,
        owner: &Owner,
        conversation: Uuid,
        user: Uuid,
        request: Request,
    ) -> Result<Result<T, AppError>, NotDelivered> {
        let path = INTERNAL_ROUTE.replace("{id}", &conversation.to_string());
        let url = format!("{}{path}", owner.address);
        let response = self
            .client
            .post(&url)
            .header(SECRET_HEADER, &self.secret)
            .json(&Forwarded { user, request })
            .send()
            .await
            .map_err(|e| NotDelivered::Unreachable(e.to_string()))?;
        match response.status() {
            reqwest::StatusCode::OK => {}
            MOVED_STATUS => return Err(NotDelivered::Moved),
            status => {
                return Err(NotDelivered::Unreachable(format!(
                    "{url} answered {status}"
                )))
            }
        }
        let answer: Result<Value, AppError> = response
            .json()
            .await
            .map_err(|e| NotDelivered::Unreachable(e.to_string()))?;
        Ok(answer.and_then(|value| {
            serde_json::from_value(value).map_err(|e| {
                AppError::Internal(format!("another node answered in an unknown form: {e}"))
            })
        }))
    }

    /// A subscription for a client of this node to a conversation `owner`
    /// runs: the events after `after`, then the relayed ones, for as long
    /// as the client follows and the owner keeps the conversation.
    pub async fn follow_elsewhere(
        self: &Arc<Self>,
        owner: &Owner,
        conversation: Uuid,
        user: Uuid,
        after: Option<EventCursor>,
    ) -> Result<Result<Subscription, AppError>, NotDelivered> {
        // Listening first: whatever the owner publishes after it answers
        // is relayed to this receiver.
        let relayed = self.relay().follow(conversation);
        let start: RemoteStart = match self
            .forward(owner, conversation, user, Request::Watch { after })
            .await?
        {
            Ok(start) => start,
            Err(error) => return Ok(Err(error)),
        };
        let (live, receiver) = broadcast::channel(LIVE_BUFFER);
        let replay = match start.missed {
            Some(events) => {
                Replay::Events(events.into_iter().map(|e| e.into_sequenced()).collect())
            }
            None => Replay::Reset,
        };
        let follower = Follower {
            cluster: self.clone(),
            owner: owner.clone(),
            conversation,
            user,
            last: start.cursor,
        };
        tokio::spawn(follower.run(relayed, live));
        Ok(Ok(Subscription {
            replay,
            live: receiver,
        }))
    }
}

/// Passes one client the relayed events of a conversation owned elsewhere,
/// in order and each once, and asks the owner again to relay them before
/// its watch lapses. It stops (ending the client's stream, which then
/// resumes or reloads) when the client leaves, on a gap in the numbers,
/// or when the owner stops answering or changes.
struct Follower {
    cluster: Arc<Cluster>,
    owner: Owner,
    conversation: Uuid,
    user: Uuid,
    /// The last event passed on (or the owner's position at the start).
    last: EventCursor,
}

impl Follower {
    async fn run(
        mut self,
        mut relayed: broadcast::Receiver<Arc<Sequenced>>,
        live: broadcast::Sender<Arc<Sequenced>>,
    ) {
        let mut renew = tokio::time::interval(self.cluster.watch_renewal());
        renew.tick().await; // the first tick is at once: the watch was just asked for
        loop {
            tokio::select! {
                event = relayed.recv() => match event {
                    Ok(event) => {
                        let cursor = event.cursor;
                        if cursor.epoch == self.last.epoch && cursor.seq <= self.last.seq {
                            continue; // already in what the owner answered
                        }
                        if cursor.epoch != self.last.epoch || cursor.seq != self.last.seq + 1 {
                            tracing::warn!(conversation = %self.conversation, "a relayed event is missing: the client reloads");
                            return;
                        }
                        self.last = cursor;
                        if live.send(event).is_err() {
                            return; // the client left
                        }
                    }
                    Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
                },
                _ = renew.tick() => {
                    if live.receiver_count() == 0 || !self.renew().await {
                        return;
                    }
                }
            }
        }
    }

    /// Asks the owner to go on relaying; false if it no longer can.
    async fn renew(&self) -> bool {
        let answer: Result<Result<RemoteStart, AppError>, NotDelivered> = self
            .cluster
            .forward(
                &self.owner,
                self.conversation,
                self.user,
                Request::Watch { after: None },
            )
            .await;
        matches!(answer, Ok(Ok(start)) if start.cursor.epoch == self.last.epoch)
    }
}

impl Cluster {
    /// How often a follower asks the owner again: a third of a watch.
    fn watch_renewal(&self) -> Duration {
        self.watch_lapse() / 3
    }

    /// How long one watch lasts: a lease (so a follower of a node that
    /// died stops relaying within one).
    pub fn watch_lapse(&self) -> Duration {
        self.lease
    }
}
