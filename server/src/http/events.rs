//! `GET /api/conversations/{id}/events`: a conversation's changes as
//! Server-Sent Events. Each event carries its id; a client resumes with
//! the `Last-Event-ID` header (or `?after=` on its first connection) and
//! gets exactly the events it missed, or a `reset` event when that is not
//! possible and it must reload the conversation.

use crate::chat::event_log::{Replay, Sequenced};
use crate::chat::service::ChatService;
use crate::http::caller::signed_in;
use crate::http::error::ApiError;
use app::domain::backend::Caller;
use app::domain::errors::parse_id;
use app::domain::model::{ChatEvent, EventCursor, RESET_EVENT};
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Extension;
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};

/// Most queued events a subscriber takes (and merges) at once.
const MAX_DRAIN: usize = 256;

/// Query string of the events route.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// Resume after this event id (used when there is no `Last-Event-ID`).
    after: Option<String>,
}

/// Where the client wants to resume: the header wins over the query, and a
/// malformed position resumes nothing (the client is told to reset).
fn resume_point(headers: &HeaderMap, query: &EventsQuery) -> Result<Option<EventCursor>, ()> {
    let text = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .map(str::to_string)
        .or_else(|| query.after.clone());
    match text {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| ()),
    }
}

fn to_sse(event: &Sequenced) -> Event {
    Event::default()
        .id(event.cursor.to_string())
        .event(event.event.name())
        .data(event.json())
}

fn reset_event() -> Event {
    Event::default().event(RESET_EVENT).data("{}")
}

/// The handler.
pub async fn conversation_events(
    Extension(chat): Extension<Arc<ChatService>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let user = signed_in(&caller)?;
    let conversation = parse_id(&id, "conversation").map_err(ApiError)?;
    let resume = resume_point(&headers, &query);
    let subscription = chat
        .subscribe(user.id, conversation, resume.unwrap_or(None))
        .await
        .map_err(ApiError)?;
    let replay = match (resume, subscription.replay) {
        (Err(()), _) | (_, Replay::Reset) => None,
        (Ok(_), Replay::Events(events)) => Some(events),
    };
    let stream: futures::stream::BoxStream<'static, Event> = match replay {
        None => stream::once(async { reset_event() }).boxed(),
        Some(events) => {
            let replayed = stream::iter(events.into_iter().map(|e| to_sse(&e)));
            replayed.chain(live(subscription.live)).boxed()
        }
    };
    let stream = stream.take_until(chat.closing());
    Ok(Sse::new(stream.map(Ok)).keep_alive(KeepAlive::default()))
}

/// Live events until the conversation's actor stops; a subscriber that fell
/// behind the broadcast buffer gets `reset` and the stream ends. Whatever
/// has queued up while the last write went out is sent together, with runs
/// of deltas to one reply merged (see [`coalesce`]): a fast model costs a
/// slow client fewer, larger events instead of a backlog.
fn live(receiver: broadcast::Receiver<Arc<Sequenced>>) -> impl Stream<Item = Event> {
    let state = Some((receiver, SubscriberCount::join()));
    stream::unfold(state, |state| async move {
        let (mut receiver, count) = state?;
        let first = match receiver.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(_)) => return Some((vec![reset_event()], None)),
            Err(RecvError::Closed) => return None,
        };
        let mut ready = vec![first];
        let mut ended = None;
        while ready.len() < MAX_DRAIN {
            match receiver.try_recv() {
                Ok(event) => ready.push(event),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => {
                    ended = Some(Some(reset_event()));
                    break;
                }
                Err(TryRecvError::Closed) => {
                    ended = Some(None);
                    break;
                }
            }
        }
        let mut events: Vec<Event> = coalesce(ready).iter().map(|e| to_sse(e)).collect();
        match ended {
            None => Some((events, Some((receiver, count)))),
            Some(last) => {
                events.extend(last);
                Some((events, None))
            }
        }
    })
    .flat_map(stream::iter)
}

/// Merges each run of consecutive deltas to the same reply into one delta
/// carrying the run's last position, so resuming after it misses nothing.
fn coalesce(events: Vec<Arc<Sequenced>>) -> Vec<Arc<Sequenced>> {
    let mut merged: Vec<Arc<Sequenced>> = Vec::with_capacity(events.len());
    for event in events {
        if let (
            Some(last),
            ChatEvent::Delta {
                id: next_id,
                text: next_text,
            },
        ) = (merged.last_mut(), &event.event)
        {
            if let ChatEvent::Delta { id, text } = &last.event {
                if id == next_id {
                    let joined = Sequenced::new(
                        event.cursor,
                        ChatEvent::Delta {
                            id: *id,
                            text: format!("{text}{next_text}"),
                        },
                    );
                    *last = Arc::new(joined);
                    continue;
                }
            }
        }
        merged.push(event);
    }
    merged
}

/// Counts live event-stream subscribers in `/metrics` while it exists.
struct SubscriberCount;

impl SubscriberCount {
    fn join() -> Self {
        metrics::gauge!("arbor_sse_subscribers").increment(1.0);
        SubscriberCount
    }
}

impl Drop for SubscriberCount {
    fn drop(&mut self) {
        metrics::gauge!("arbor_sse_subscribers").decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(after: Option<&str>) -> EventsQuery {
        EventsQuery {
            after: after.map(str::to_string),
        }
    }

    fn sequenced(seq: u64, event: ChatEvent) -> Arc<Sequenced> {
        Arc::new(Sequenced::new(EventCursor { epoch: 1, seq }, event))
    }

    fn delta(id: u128, text: &str) -> ChatEvent {
        ChatEvent::Delta {
            id: uuid::Uuid::from_u128(id),
            text: text.into(),
        }
    }

    #[test]
    fn runs_of_deltas_to_one_reply_merge_and_keep_the_last_position() {
        let title = ChatEvent::Title { title: "t".into() };
        let events = vec![
            sequenced(1, delta(1, "a")),
            sequenced(2, delta(1, "b")),
            sequenced(3, delta(2, "x")),
            sequenced(4, delta(1, "c")),
            sequenced(5, title.clone()),
            sequenced(6, delta(1, "d")),
            sequenced(7, delta(1, "e")),
        ];
        let merged: Vec<(u64, ChatEvent)> = coalesce(events)
            .iter()
            .map(|e| (e.cursor.seq, e.event.clone()))
            .collect();
        assert_eq!(
            merged,
            vec![
                (2, delta(1, "ab")),
                (3, delta(2, "x")),
                (4, delta(1, "c")),
                (5, title),
                (7, delta(1, "de")),
            ]
        );
    }

    #[test]
    fn last_event_id_header_wins_over_the_query() {
        let mut headers = HeaderMap::new();
        headers.insert("last-event-id", "5-9".parse().expect("valid header"));
        assert_eq!(
            resume_point(&headers, &query(Some("5-1"))),
            Ok(Some(EventCursor { epoch: 5, seq: 9 }))
        );
        assert_eq!(
            resume_point(&HeaderMap::new(), &query(Some("5-1"))),
            Ok(Some(EventCursor { epoch: 5, seq: 1 }))
        );
        assert_eq!(resume_point(&HeaderMap::new(), &query(None)), Ok(None));
        assert_eq!(
            resume_point(&HeaderMap::new(), &query(Some("junk"))),
            Err(())
        );
    }
}
