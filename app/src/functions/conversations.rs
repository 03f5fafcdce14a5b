//! Server functions on conversations: list, create, open, rename, delete,
//! and the generation settings (model, persona, sampler values).

use crate::domain::errors::AppError;
use crate::domain::model::{
    ConversationSettings, ConversationSummary, ConversationView, EffectiveModel, ModelChoices,
};
use leptos::prelude::*;
use server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::{domain::errors::parse_id, functions::run};

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

/// The whole tree of one conversation, with the branch to show; with
/// `node`, the branch through that message, opened at it.
#[server(endpoint = "get_conversation", input = Json)]
pub async fn get_conversation(
    id: String,
    node: Option<String>,
) -> Result<ConversationView, AppError> {
    run(|backend, user| async move {
        let focus = node
            .as_deref()
            .map(|node| parse_id(node, "message"))
            .transpose()?;
        backend
            .conversation(user, parse_id(&id, "conversation")?, focus)
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

/// The models and personas the pickers offer.
#[server(endpoint = "model_choices", input = Json)]
pub async fn list_model_choices() -> Result<ModelChoices, AppError> {
    run(|backend, user| async move { backend.model_choices(user).await }).await
}

/// Sets a conversation's model, persona and sampler values; only replies
/// started afterwards use them. Answers the model new replies come from.
#[server(endpoint = "set_generation_settings", input = Json)]
pub async fn set_generation_settings(
    id: String,
    settings: ConversationSettings,
) -> Result<EffectiveModel, AppError> {
    run(|backend, user| async move {
        backend
            .set_generation_settings(user, parse_id(&id, "conversation")?, settings)
            .await
    })
    .await
}
