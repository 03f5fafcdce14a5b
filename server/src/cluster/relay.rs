//! Events between nodes. A node's actors hand the events that clients on
//! other nodes follow to its [`Relay`], which sends them in order on one
//! `NOTIFY` channel, several to a notification while they fit. Every node
//! listens, and passes each event to its own clients following that
//! conversation. The numbers of the events tell a follower of a gap (a
//! relay that fell behind, a lost connection): it then ends the client's
//! stream, and the client resumes or reloads.

use crate::chat::event_log::{RelaySender, RelayedEvent, Sequenced, LIVE_BUFFER};
use crate::storage::leases::LeaseStore;
use crate::storage::StorageError;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// Events a node's actors may have handed over and not yet sent.
const OUTGOING_QUEUE: usize = 8192;

/// Most bytes of events packed into one notification (under PostgreSQL's
/// 8,000-byte limit; one larger event goes alone, by reference).
const PACK_BYTES: usize = 7_000;

/// How long the listener waits before listening again after losing its connection.
const RELISTEN_PAUSE: Duration = Duration::from_millis(500);

type Followers = Arc<Mutex<HashMap<Uuid, broadcast::Sender<Arc<Sequenced>>>>>;

fn lock(followers: &Followers) -> MutexGuard<'_, HashMap<Uuid, broadcast::Sender<Arc<Sequenced>>>> {
    // Each use is one insert, lookup or removal: poisoning leaves nothing half done.
    followers
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// This node's end of the channel between nodes.
pub struct Relay {
    outgoing: RelaySender,
    followers: Followers,
}

impl Relay {
    /// Starts listening (before answering, so nothing notified after this
    /// returns is missed) and sending.
    pub async fn start(leases: Arc<dyn LeaseStore>) -> Result<Relay, StorageError> {
        let (outgoing, queued) = mpsc::channel(OUTGOING_QUEUE);
        let followers: Followers = Arc::default();
        let first = leases.listen().await?;
        tokio::spawn(send_all(leases.clone(), queued));
        tokio::spawn(receive_all(leases, first, followers.clone()));
        Ok(Relay {
            outgoing,
            followers,
        })
    }

    /// Where this node's actors hand events for other nodes.
    pub fn sender(&self) -> RelaySender {
        self.outgoing.clone()
    }

    /// Every event of `conversation` relayed from now on (from the node
    /// that owns it). The receiver is closed if the relay lost its
    /// connection meanwhile.
    pub fn follow(&self, conversation: Uuid) -> broadcast::Receiver<Arc<Sequenced>> {
        let mut followers = lock(&self.followers);
        followers.retain(|_, sender| sender.receiver_count() > 0);
        followers
            .entry(conversation)
            .or_insert_with(|| broadcast::channel(LIVE_BUFFER).0)
            .subscribe()
    }
}

/// Sends the queued events in order, as many to a notification as fit.
async fn send_all(leases: Arc<dyn LeaseStore>, mut queued: mpsc::Receiver<(Uuid, Arc<Sequenced>)>) {
    while let Some(first) = queued.recv().await {
        let mut pack = vec![RelayedEvent::new(first.0, &first.1)];
        let mut size = first.1.json().len();
        while size < PACK_BYTES {
            match queued.try_recv() {
                Ok((conversation, event)) => {
                    size += event.json().len();
                    pack.push(RelayedEvent::new(conversation, &event));
                }
                Err(_) => break,
            }
        }
        let payload = match serde_json::to_string(&pack) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!(%error, "an event could not be encoded for other nodes");
                continue;
            }
        };
        metrics::counter!("arbor_relayed_events_sent_total").increment(pack.len() as u64);
        if let Err(error) = leases.notify(&payload).await {
            // Followers elsewhere see the gap and reload.
            tracing::warn!(%error, "events could not be sent to other nodes");
        }
    }
}

/// Passes every notified event to this node's followers of its
/// conversation; after a lost connection, ends every follower (they may
/// have missed events) and listens again.
async fn receive_all(
    leases: Arc<dyn LeaseStore>,
    first: futures::stream::BoxStream<'static, Result<String, StorageError>>,
    followers: Followers,
) {
    let mut notifications = Some(first);
    loop {
        if let Some(mut stream) = notifications.take() {
            while let Some(payload) = stream.next().await {
                match payload {
                    Ok(payload) => deliver(&payload, &followers),
                    Err(error) => tracing::warn!(%error, "a notification could not be read"),
                }
            }
            tracing::warn!("lost the connection that listens to other nodes");
        }
        lock(&followers).clear();
        tokio::time::sleep(RELISTEN_PAUSE).await;
        match leases.listen().await {
            Ok(stream) => notifications = Some(stream),
            Err(error) => tracing::warn!(%error, "could not listen to other nodes"),
        }
    }
}

/// Hands the events of one notification to the followers of their conversations.
fn deliver(payload: &str, followers: &Followers) {
    let events: Vec<RelayedEvent> = match serde_json::from_str(payload) {
        Ok(events) => events,
        Err(error) => {
            tracing::warn!(%error, "a notification from another node was not understood");
            return;
        }
    };
    metrics::counter!("arbor_relayed_events_received_total").increment(events.len() as u64);
    let followers = lock(followers);
    for event in events {
        if let Some(sender) = followers.get(&event.conversation) {
            // No receiver left is fine: the entry is dropped on the next follow.
            _ = sender.send(event.into_sequenced());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::model::{ChatEvent, EventCursor};

    fn event(conversation: Uuid, seq: u64) -> RelayedEvent {
        RelayedEvent {
            conversation,
            cursor: EventCursor { epoch: 7, seq },
            event: ChatEvent::Delta {
                id: Uuid::nil(),
                text: format!("part {seq}"),
            },
        }
    }

    #[test]
    fn a_notification_reaches_only_the_followers_of_its_conversations() {
        let followers: Followers = Arc::default();
        let (watched, other) = (Uuid::now_v7(), Uuid::now_v7());
        let mut receiver = lock(&followers)
            .entry(watched)
            .or_insert_with(|| broadcast::channel(8).0)
            .subscribe();
        let payload =
            serde_json::to_string(&vec![event(other, 1), event(watched, 4), event(watched, 5)])
                .expect("encodes");
        deliver(&payload, &followers);
        deliver("not json", &followers);
        let seqs: Vec<u64> = std::iter::from_fn(|| receiver.try_recv().ok())
            .map(|e| e.cursor.seq)
            .collect();
        assert_eq!(seqs, [4, 5]);
    }
}
