//! `GET /api/admin/events`: the administrators' dashboard as Server-Sent
//! Events, a `snapshot` event now and every half second.

use crate::operations::Operations;
use app::domain::operations::SNAPSHOT_EVENT;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Extension;
use futures::{Stream, StreamExt};
use std::convert::Infallible;
use std::sync::Arc;

/// The handler; the route guard has already admitted only administrators.
pub async fn dashboard_events(
    Extension(operations): Extension<Arc<Operations>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = operations.snapshots().map(|snapshot| {
        let data = serde_json::to_string(&snapshot).unwrap_or_else(|_| "{}".into());
        Ok(Event::default().event(SNAPSHOT_EVENT).data(data))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
