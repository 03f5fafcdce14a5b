//! `GET /api/conversations/{id}/events`: a conversation's changes as
//! Server-Sent Events. Each event carries its id; a client resumes with
//! the `Last-Event-ID` header (or `?after=` on its first connection) and
//! gets exactly the events it missed, or a `reset` event when that is not
//! possible and it must reload the conversation.

use crate::chat::event_log::{Replay, Sequenced};
use crate::service::ChatService;
use app::errors::{parse_id, AppError};
use app::model::EventCursor;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

/// Query string of the events route.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// Resume after this event id (used when there is no `Last-Event-ID`).
    after: Option<String>,
}

/// An `AppError` answered as JSON with its status code.
pub struct ApiError(pub AppError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
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
    let data = serde_json::to_string(&event.event).unwrap_or_else(|_| "{}".into());
    Event::default()
        .id(event.cursor.to_string())
        .event(event.event.name())
        .data(data)
}

fn reset_event() -> Event {
    Event::default().event("reset").data("{}")
}

/// The handler.
pub async fn conversation_events(
    Extension(chat): Extension<Arc<ChatService>>,
    Path(id): Path<String>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let conversation = parse_id(&id, "conversation").map_err(ApiError)?;
    let resume = resume_point(&headers, &query);
    let subscription = chat
        .subscribe(chat.local_user(), conversation, resume.unwrap_or(None))
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
/// behind the broadcast buffer gets `reset` and the stream ends.
fn live(receiver: broadcast::Receiver<Arc<Sequenced>>) -> impl Stream<Item = Event> {
    stream::unfold(Some(receiver), |receiver| async move {
        let mut receiver = receiver?;
        match receiver.recv().await {
            Ok(event) => Some((to_sse(&event), Some(receiver))),
            Err(RecvError::Lagged(_)) => Some((reset_event(), None)),
            Err(RecvError::Closed) => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(after: Option<&str>) -> EventsQuery {
        EventsQuery {
            after: after.map(str::to_string),
        }
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
