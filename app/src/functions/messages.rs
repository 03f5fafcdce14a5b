//! Server functions on messages: send (and edit), regenerate, stop, and
//! choosing which branch is shown.

use crate::errors::AppError;
use crate::model::SendReceipt;
use leptos::prelude::*;
use server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::{backend::NewUserMessage, errors::parse_id, functions::run};

/// Stores a user message under `parent_id` (none: a new root) and starts the
/// reply. Editing a message is sending under that message's parent.
#[server(endpoint = "send_message", input = Json)]
pub async fn send_message(
    conversation_id: String,
    parent_id: Option<String>,
    client_id: String,
    text: String,
) -> Result<SendReceipt, AppError> {
    run(|backend, user| async move {
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
    run(|backend, user| async move {
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
    run(|backend, user| async move {
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
