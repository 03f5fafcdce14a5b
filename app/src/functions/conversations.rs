//! Server functions on conversations: list, create, open, rename, delete.

use crate::errors::AppError;
use crate::model::{ConversationSummary, ConversationView};
use leptos::prelude::*;
use server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::{errors::parse_id, functions::run};

/// The user's conversations, most recently active first.
#[server(endpoint = "list_conversations", input = Json)]
pub async fn list_conversations() -> Result<Vec<ConversationSummary>, AppError> {
    run(|backend, user| async move { backend.list_conversations(user).await }).await
}

/// Starts an empty conversation.
#[server(endpoint = "create_conversation", input = Json)]
pub async fn create_conversation() -> Result<ConversationSummary, AppError> {
    run(|backend, user| async move { backend.create_conversation(user).await }).await
}

/// The whole tree of one conversation, with the branch to show.
#[server(endpoint = "get_conversation", input = Json)]
pub async fn get_conversation(id: String) -> Result<ConversationView, AppError> {
    run(|backend, user| async move {
        backend
            .conversation(user, parse_id(&id, "conversation")?)
            .await
    })
    .await
}

/// Gives a conversation a new title.
#[server(endpoint = "rename_conversation", input = Json)]
pub async fn rename_conversation(
    id: String,
    title: String,
) -> Result<ConversationSummary, AppError> {
    run(|backend, user| async move {
        backend
            .rename_conversation(user, parse_id(&id, "conversation")?, title)
            .await
    })
    .await
}

/// Deletes a conversation and every message in it.
#[server(endpoint = "delete_conversation", input = Json)]
pub async fn delete_conversation(id: String) -> Result<(), AppError> {
    run(|backend, user| async move {
        backend
            .delete_conversation(user, parse_id(&id, "conversation")?)
            .await
    })
    .await
}

/// Sets the system prompt sent before every message of a conversation;
/// only replies started afterwards use it.
#[server(endpoint = "set_system_prompt", input = Json)]
pub async fn set_system_prompt(id: String, text: String) -> Result<(), AppError> {
    run(|backend, user| async move {
        backend
            .set_system_prompt(user, parse_id(&id, "conversation")?, text)
            .await
    })
    .await
}
