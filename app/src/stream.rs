//! The browser end of a conversation's event stream: follows the server's
//! Server-Sent Events from a snapshot's cursor and applies them to the chat
//! state. The browser's own reconnect sends `Last-Event-ID`, so a dropped
//! connection resumes without gaps; when the server cannot resume (it
//! restarted, or we fell too far behind) it says `reset` and we reload the
//! snapshot.

use crate::domain::model::{ChatEvent, EventCursor, StreamReader, EVENT_NAMES, RESET_EVENT};
use crate::functions::conversations::get_conversation;
use crate::state::chat::ChatState;
use crate::state::conversation_list::{use_conversation_list, ConversationList};
use futures::future::{AbortHandle, Abortable};
use futures::stream::{select_all, StreamExt};
use gloo_net::eventsource::futures::EventSource;
use gloo_net::eventsource::State;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Follows the conversation's events until the calling component is disposed.
pub fn follow(state: ChatState, cursor: EventCursor) {
    let list = use_conversation_list();
    let (abort, registration) = AbortHandle::new_pair();
    spawn_local(async move {
        _ = Abortable::new(run(state, list, cursor), registration).await;
    });
    on_cleanup(move || abort.abort());
}

async fn run(state: ChatState, list: ConversationList, mut cursor: EventCursor) {
    loop {
        match listen(state, list, cursor).await {
            Ending::Reset => {
                match get_conversation(state.conversation_id.to_string(), None).await {
                    Ok(view) => {
                        state.replace_with(&view);
                        cursor = view.cursor;
                    }
                    Err(err) => {
                        state
                            .error
                            .set(Some(format!("lost the live connection: {err}")));
                        return;
                    }
                }
            }
            Ending::Closed => {
                state.error.set(Some(
                    "lost the live connection to the server; reload the page to reconnect".into(),
                ));
                return;
            }
        }
    }
}

enum Ending {
    /// The server asked for a fresh snapshot.
    Reset,
    /// The connection failed for good (the browser stopped retrying).
    Closed,
}

async fn listen(state: ChatState, list: ConversationList, cursor: EventCursor) -> Ending {
    let url = format!(
        "/api/conversations/{}/events?after={cursor}",
        state.conversation_id
    );
    let Ok(mut source) = EventSource::new(&url) else {
        return Ending::Closed;
    };
    let mut subscriptions = Vec::new();
    for name in EVENT_NAMES {
        match source.subscribe(name) {
            Ok(subscription) => subscriptions.push(subscription),
            Err(_) => return Ending::Closed,
        }
    }
    let mut events = select_all(subscriptions);
    let mut reader = StreamReader::default();
    while let Some(item) = events.next().await {
        match item {
            Ok((name, message)) if name == RESET_EVENT => {
                drop(message);
                return Ending::Reset;
            }
            Ok((name, message)) => {
                let data = message.data().as_string().unwrap_or_default();
                match reader.read(&name, &data) {
                    Ok(ChatEvent::Title { .. }) => list.refresh(),
                    Ok(event) => state.apply(event),
                    Err(err) => leptos::logging::warn!("ignoring malformed event: {err}"),
                }
            }
            // The browser reconnects by itself unless the source is closed.
            Err(_) if source.state() == State::Closed => return Ending::Closed,
            Err(_) => {}
        }
    }
    Ending::Closed
}
