//! `GET /api/conversations/{id}/events`: a conversation's changes as
//! Server-Sent Events. Each event carries its id; a client resumes with
//! the `Last-Event-ID` header (or `?after=` on its first connection) and
//! gets exactly the events it missed, or a `reset` event when that is not
//! possible and it must reload the conversation.

use crate::chat::event_log::{Replay, Sequenced};
use crate::chat::service::ChatService;
use crate::chat::sse_frame::{sse_frame, KEEP_ALIVE};
use crate::http::caller::signed_in;
use crate::http::error::ApiError;
use app::domain::backend::Caller;
use app::domain::errors::parse_id;
use app::domain::model::{ChatEvent, EventCursor, StreamWriter, RESET_EVENT};
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::{Bytes, BytesMut};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};
use tokio::time::{Instant, Sleep};

/// Most queued events a subscriber takes (and merges) at once.
const MAX_DRAIN: usize = 256;

/// How often an open stream gets a comment, so proxies keep it open.
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);

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

fn reset_frame() -> Bytes {
    sse_frame(None, Some(RESET_EVENT), "{}")
}

/// The frames of `events`, in order, as one piece (one write, one chunk).
/// Each event's frame is made once for all subscribers; `writer` picks the
/// whole or the short form for this connection.
fn frames_of(events: &[Arc<Sequenced>], writer: &mut StreamWriter) -> Bytes {
    if let [one] = events {
        return one.frame(writer.sends_short(&one.event));
    }
    let mut joined = BytesMut::new();
    for event in events {
        joined.extend_from_slice(&event.frame(writer.sends_short(&event.event)));
    }
    joined.freeze()
}

/// The handler.
pub async fn conversation_events(
    Extension(chat): Extension<Arc<ChatService>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
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
    let frames: stream::BoxStream<'static, Bytes> = match replay {
        None => stream::once(async { reset_frame() }).boxed(),
        Some(events) => {
            let mut writer = StreamWriter::default();
            let replayed = frames_of(&events, &mut writer);
            stream::once(async { replayed })
                .chain(live(subscription.live, writer))
                .boxed()
        }
    };
    // An empty piece would read as the end of a chunked body: none is sent.
    let frames = frames
        .filter(|frame| std::future::ready(!frame.is_empty()))
        .take_until(chat.closing())
        .map(Ok::<_, Infallible>);
    let headers = [
        (header::CONTENT_TYPE, "text/event-stream"),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    Ok((headers, Body::from_stream(frames)).into_response())
}

/// One live subscriber's state between writes.
struct Live {
    receiver: broadcast::Receiver<Arc<Sequenced>>,
    writer: StreamWriter,
    keep_alive: Pin<Box<Sleep>>,
    _count: SubscriberCount,
}

/// Live events until the conversation's actor stops; a subscriber that fell
/// behind the broadcast buffer gets `reset` and the stream ends. Whatever
/// has queued up while the last write went out is sent together, with runs
/// of deltas to one reply merged (see [`coalesce`]): a fast model costs a
/// slow client fewer, larger events instead of a backlog. A comment goes
/// out every [`KEEP_ALIVE_EVERY`].
fn live(
    receiver: broadcast::Receiver<Arc<Sequenced>>,
    writer: StreamWriter,
) -> impl Stream<Item = Bytes> {
    let state = Some(Live {
        receiver,
        writer,
        keep_alive: Box::pin(tokio::time::sleep(KEEP_ALIVE_EVERY)),
        _count: SubscriberCount::join(),
    });
    stream::unfold(state, |state| async move {
        let mut state = state?;
        let first = tokio::select! {
            received = state.receiver.recv() => match received {
                Ok(event) => event,
                Err(RecvError::Lagged(_)) => return Some((reset_frame(), None)),
                Err(RecvError::Closed) => return None,
            },
            () = &mut state.keep_alive => {
                state.keep_alive.as_mut().reset(Instant::now() + KEEP_ALIVE_EVERY);
                return Some((Bytes::from_static(KEEP_ALIVE), Some(state)));
            }
        };
        let mut ready = vec![first];
        let mut ended = None;
        while ready.len() < MAX_DRAIN {
            match state.receiver.try_recv() {
                Ok(event) => ready.push(event),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => {
                    ended = Some(Some(reset_frame()));
                    break;
                }
                Err(TryRecvError::Closed) => {
                    ended = Some(None);
                    break;
                }
            }
        }
        let frames = frames_of(&coalesce(ready), &mut state.writer);
        match ended {
            None => Some((frames, Some(state))),
            Some(None) => Some((frames, None)),
            Some(Some(reset)) => {
                let mut joined = BytesMut::from(&frames[..]);
                joined.extend_from_slice(&reset);
                Some((joined.freeze(), None))
            }
        }
    })
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
