//! Server functions on messages: send (and edit), regenerate, stop,
//! choosing which branch is shown, and loading texts the page has not got.

use crate::domain::errors::AppError;
use crate::domain::model::{MessageNode, NodeOutline, SendReceipt};
use leptos::prelude::*;
use server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::{
    domain::backend::NewUserMessage,
    domain::errors::parse_id,
    functions::{run, run_sending},
};

/// Stores a user message under `parent_id` (none: a new root) and starts the
/// reply. Editing a message is sending under that message's parent.
#[server(endpoint = "send_message", input = Json)]
pub async fn send_message(
    conversation_id: String,
    parent_id: Option<String>,
    client_id: String,
    text: String,
) -> Result<SendReceipt, AppError> {
    run_sending(|backend, user| async move {
        let message = NewUserMessage {
            conversation_id: parse_id(&conversation_id, "conversation")?,
            parent_id: parent_id
                .as_deref()
                .map(|p| parse_id(p, "parent message"))
                .transpose()?,
            client_id,
            text,
        };
        backend.send_message(user, message).await
    })
    .await
}

/// Starts a new reply beside an assistant message (same parent).
#[server(endpoint = "regenerate", input = Json)]
pub async fn regenerate(
    conversation_id: String,
    message_id: String,
) -> Result<SendReceipt, AppError> {
    run_sending(|backend, user| async move {
        backend
            .regenerate(
                user,
                parse_id(&conversation_id, "conversation")?,
                parse_id(&message_id, "message")?,
            )
            .await
    })
    .await
}

/// Continues an interrupted or failed reply: a new sibling that starts
/// with its text, and the model goes on from there.
#[server(endpoint = "continue_reply", input = Json)]
pub async fn continue_reply(
    conversation_id: String,
    message_id: String,
) -> Result<SendReceipt, AppError> {
    run_sending(|backend, user| async move {
        backend
            .continue_reply(
                user,
                parse_id(&conversation_id, "conversation")?,
                parse_id(&message_id, "message")?,
            )
            .await
    })
    .await
}

/// Stops a streaming reply, keeping the text it has so far.
#[server(endpoint = "stop_generation", input = Json)]
pub async fn stop_generation(conversation_id: String, message_id: String) -> Result<(), AppError> {
    run(|backend, user| async move {
        backend
            .stop(
                user,
                parse_id(&conversation_id, "conversation")?,
                parse_id(&message_id, "message")?,
            )
            .await
    })
    .await
}

/// Remembers which branch the user is looking at, so a reload (or another
/// browser) shows the same one.
#[server(endpoint = "set_active_leaf", input = Json)]
pub async fn set_active_leaf(conversation_id: String, leaf_id: String) -> Result<(), AppError> {
    run(|backend, user| async move {
        backend
            .set_active_leaf(
                user,
                parse_id(&conversation_id, "conversation")?,
                parse_id(&leaf_id, "message")?,
            )
            .await
    })
    .await
}

/// These messages of a conversation with their text, for the parts of the
/// tree the page did not get with it (at most
/// [`MAX_FETCH`](crate::domain::reading_window::MAX_FETCH) at once). Ids that do
/// not exist (any more, say pruned) are left out of the answer.
#[server(endpoint = "get_messages", input = Json)]
pub async fn get_messages(
    conversation_id: String,
    ids: Vec<String>,
) -> Result<Vec<MessageNode>, AppError> {
    run(|backend, user| async move {
        let ids = ids
            .iter()
            .map(|id| parse_id(id, "message"))
            .collect::<Result<Vec<_>, _>>()?;
        backend
            .messages(user, parse_id(&conversation_id, "conversation")?, ids)
            .await
    })
    .await
}

/// Every message of a conversation without its text, oldest first: what the
/// page fetches once it is live when the conversation came with only part
/// of its outline (a big tree).
#[server(endpoint = "get_outline", input = Json)]
pub async fn get_outline(conversation_id: String) -> Result<Vec<NodeOutline>, AppError> {
    run(|backend, user| async move {
        backend
            .outline(user, parse_id(&conversation_id, "conversation")?)
            .await
    })
    .await
}
