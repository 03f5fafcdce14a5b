//! A conversation's numbered event stream: every change gets the next
//! sequence number, the most recent events are kept so a reconnecting
//! client can resume from its `Last-Event-ID`, and live subscribers receive
//! each event through a broadcast channel. While a client on another node
//! watches, each event also goes to this node's relay (`cluster::relay`).

use super::sse_frame::sse_frame;
use app::domain::model::{short_delta_data, ChatEvent, EventCursor};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// Where a node's actors hand the events that other nodes watch: the
/// conversation and the event, in the order they were published.
pub type RelaySender = mpsc::Sender<(Uuid, Arc<Sequenced>)>;

/// Events of one conversation go to the relay until `until` (renewed by
/// each watching node while its clients follow).
struct RemoteWatch {
    conversation: Uuid,
    relay: RelaySender,
    until: Instant,
}

/// One event with its position in the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequenced {
    pub cursor: EventCursor,
    pub event: ChatEvent,
    /// The event as JSON, made by the first subscriber that sends it and
    /// reused by the others.
    json: OnceLock<String>,
    /// The event's SSE frame, whole and in its short form (a delta's text
    /// alone, see [`app::domain::model::StreamWriter`]), each made once.
    frames: [OnceLock<Bytes>; 2],
}

impl Sequenced {
    pub fn new(cursor: EventCursor, event: ChatEvent) -> Self {
        Sequenced {
            cursor,
            event,
            json: OnceLock::new(),
            frames: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// The event as JSON, serialized once however many subscribers send it.
    pub fn json(&self) -> &str {
        self.json
            .get_or_init(|| serde_json::to_string(&self.event).unwrap_or_else(|_| "{}".into()))
    }

    /// The event as Server-Sent Events, `short` (text only) if it is a
    /// delta and the subscriber's previous delta named the same reply.
    /// Made once however many subscribers send it; copies share the bytes.
    pub fn frame(&self, short: bool) -> Bytes {
        let short = short && matches!(self.event, ChatEvent::Delta { .. });
        self.frames[usize::from(short)]
            .get_or_init(|| {
                let id = self.cursor.to_string();
                match &self.event {
                    ChatEvent::Delta { text, .. } if short => {
                        sse_frame(Some(&id), None, &short_delta_data(text))
                    }
                    _ => sse_frame(Some(&id), Some(self.event.name()), self.json()),
                }
            })
            .clone()
    }
}

/// An event on its way between nodes: in a notification, and in what a
/// node watching for its clients gets first ([`RemoteStart`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RelayedEvent {
    pub conversation: Uuid,
    pub cursor: EventCursor,
    pub event: ChatEvent,
}

impl RelayedEvent {
    pub fn new(conversation: Uuid, sequenced: &Sequenced) -> Self {
        RelayedEvent {
            conversation,
            cursor: sequenced.cursor,
            event: sequenced.event.clone(),
        }
    }

    pub fn into_sequenced(self) -> Arc<Sequenced> {
        Arc::new(Sequenced::new(self.cursor, self.event))
    }
}

/// What a node whose client starts following a conversation it does not
/// own gets from the owner: the events the client missed (`None`: it must
/// reload), and the position the relayed events go on from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RemoteStart {
    pub missed: Option<Vec<RelayedEvent>>,
    pub cursor: EventCursor,
}

/// What a subscriber that asks to resume gets first.
#[derive(Debug, PartialEq)]
pub enum Replay {
    /// These events, then the live stream, with nothing missing in between.
    Events(Vec<Arc<Sequenced>>),
    /// The position cannot be resumed (another actor incarnation numbered
    /// it, or it is too old): reload the snapshot.
    Reset,
}

/// Owned by one conversation actor.
pub struct EventLog {
    epoch: u64,
    /// Sequence number of the last event published (0: none yet).
    last_seq: u64,
    recent: VecDeque<Arc<Sequenced>>,
    capacity: usize,
    /// Made by the first subscriber: an actor nobody watches keeps no buffer.
    live: Option<broadcast::Sender<Arc<Sequenced>>>,
    /// Set while a client on another node follows.
    remote: Option<RemoteWatch>,
}

/// Events a live subscriber may fall behind by before it must reload.
pub const LIVE_BUFFER: usize = 1024;

impl EventLog {
    /// A log numbering events under `epoch`, keeping the last `capacity` of them.
    pub fn new(epoch: u64, capacity: usize) -> Self {
        EventLog {
            epoch,
            last_seq: 0,
            recent: VecDeque::new(),
            capacity: capacity.max(1),
            live: None,
            remote: None,
        }
    }

    /// The position after the last published event.
    pub fn cursor(&self) -> EventCursor {
        EventCursor {
            epoch: self.epoch,
            seq: self.last_seq,
        }
    }

    /// Numbers, keeps and broadcasts an event.
    pub fn publish(&mut self, event: ChatEvent) {
        self.last_seq += 1;
        let sequenced = Arc::new(Sequenced::new(self.cursor(), event));
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(sequenced.clone());
        if let Some(live) = &self.live {
            // No receivers is fine: nobody is watching right now.
            _ = live.send(sequenced.clone());
        }
        if let Some(remote) = self.remote.as_ref().filter(|r| r.until > Instant::now()) {
            // A full relay drops the event: the watching node sees the gap
            // in the numbers and tells its clients to reload.
            if remote
                .relay
                .try_send((remote.conversation, sequenced))
                .is_err()
            {
                tracing::warn!(conversation = %remote.conversation, "relay full: an event was not relayed");
            }
        }
    }

    /// Relays every event of `conversation` published until `until` (a
    /// later call moves the end).
    pub fn watch_remotely(&mut self, conversation: Uuid, relay: RelaySender, until: Instant) {
        self.remote = Some(RemoteWatch {
            conversation,
            relay,
            until,
        });
    }

    /// The events after `after` that a resuming subscriber missed.
    /// `None` means "from now on".
    pub fn replay_after(&self, after: Option<EventCursor>) -> Replay {
        let Some(after) = after else {
            return Replay::Events(Vec::new());
        };
        if after.epoch != self.epoch || after.seq > self.last_seq {
            return Replay::Reset;
        }
        let oldest_kept = self
            .recent
            .front()
            .map_or(self.last_seq + 1, |e| e.cursor.seq);
        if after.seq + 1 < oldest_kept {
            return Replay::Reset;
        }
        Replay::Events(
            self.recent
                .iter()
                .filter(|e| e.cursor.seq > after.seq)
                .cloned()
                .collect(),
        )
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&mut self) -> broadcast::Receiver<Arc<Sequenced>> {
        self.live
            .get_or_insert_with(|| broadcast::channel(LIVE_BUFFER).0)
            .subscribe()
    }

    /// How many live subscribers there are (clients on other nodes,
    /// while they watch, count as one).
    pub fn subscriber_count(&self) -> usize {
        let remote = self
            .remote
            .as_ref()
            .is_some_and(|r| r.until > Instant::now());
        self.live
            .as_ref()
            .map_or(0, broadcast::Sender::receiver_count)
            + usize::from(remote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn delta(text: &str) -> ChatEvent {
        ChatEvent::Delta {
            id: Uuid::nil(),
            text: text.into(),
        }
    }

    fn texts(replay: Replay) -> Vec<String> {
        match replay {
            Replay::Events(events) => events
                .iter()
                .map(|e| match &e.event {
                    ChatEvent::Delta { text, .. } => text.clone(),
                    other => format!("{other:?}"),
                })
                .collect(),
            Replay::Reset => vec!["RESET".into()],
        }
    }

    fn at(epoch: u64, seq: u64) -> Option<EventCursor> {
        Some(EventCursor { epoch, seq })
    }

    #[test]
    fn resuming_replays_exactly_the_missed_events() {
        let mut log = EventLog::new(9, 100);
        for t in ["a", "b", "c", "d"] {
            log.publish(delta(t));
        }
        assert_eq!(texts(log.replay_after(at(9, 2))), vec!["c", "d"]);
        assert_eq!(texts(log.replay_after(at(9, 0))), vec!["a", "b", "c", "d"]);
        assert!(texts(log.replay_after(at(9, 4))).is_empty());
        assert!(texts(log.replay_after(None)).is_empty());
    }

    #[test]
    fn a_cursor_from_another_epoch_or_the_future_asks_for_a_reset() {
        let mut log = EventLog::new(9, 100);
        log.publish(delta("a"));
        assert_eq!(log.replay_after(at(8, 1)), Replay::Reset);
        assert_eq!(log.replay_after(at(9, 2)), Replay::Reset);
    }

    #[test]
    fn a_cursor_older_than_what_is_kept_asks_for_a_reset() {
        let mut log = EventLog::new(1, 3);
        for t in ["a", "b", "c", "d", "e"] {
            log.publish(delta(t));
        }
        // Kept: c(3) d(4) e(5). Resuming after 2 is still gap-free; after 1 is not.
        assert_eq!(texts(log.replay_after(at(1, 2))), vec!["c", "d", "e"]);
        assert_eq!(log.replay_after(at(1, 1)), Replay::Reset);
    }

    #[test]
    fn live_subscribers_get_events_published_after_they_subscribed() {
        let mut log = EventLog::new(1, 10);
        log.publish(delta("before"));
        let mut rx = log.subscribe();
        log.publish(delta("after"));
        let got = rx.try_recv().expect("one event");
        assert_eq!(got.cursor, EventCursor { epoch: 1, seq: 2 });
        assert!(rx.try_recv().is_err());
        assert_eq!(log.subscriber_count(), 1);
    }

    #[test]
    fn events_go_to_the_relay_only_while_another_node_watches() {
        let mut log = EventLog::new(1, 10);
        let (relay, mut relayed) = mpsc::channel(8);
        let conversation = Uuid::now_v7();
        log.publish(delta("unwatched"));
        log.watch_remotely(
            conversation,
            relay.clone(),
            Instant::now() + std::time::Duration::from_secs(60),
        );
        assert_eq!(
            log.subscriber_count(),
            1,
            "the other node counts as a subscriber"
        );
        log.publish(delta("watched"));
        let (to, event) = relayed.try_recv().expect("relayed");
        assert_eq!(to, conversation);
        assert_eq!(event.cursor, EventCursor { epoch: 1, seq: 2 });
        assert!(relayed.try_recv().is_err(), "nothing from before the watch");

        log.watch_remotely(conversation, relay, Instant::now());
        log.publish(delta("after the watch ended"));
        assert!(relayed.try_recv().is_err());
        assert_eq!(log.subscriber_count(), 0);
    }
}
