//! How the node that runs a conversation performs an operation another
//! node forwarded (a `cluster::request::Request`): through the same
//! [`ConversationHandle`] its own requests use.

use super::handle::ConversationHandle;
use crate::cluster::request::Request;
use app::domain::errors::AppError;
use serde::Serialize;
use serde_json::Value;

fn answer<T: Serialize>(result: Result<T, AppError>) -> Result<Value, AppError> {
    let value = result?;
    serde_json::to_value(value)
        .map_err(|e| AppError::Internal(format!("an answer could not be encoded: {e}")))
}

/// Performs `request` on this node, answering what the operation
/// answers, as JSON.
pub(super) async fn perform(
    request: Request,
    conversation: &ConversationHandle<'_>,
) -> Result<Value, AppError> {
    match request {
        Request::Snapshot { focus } => answer(conversation.snapshot_at(focus).await),
        Request::Watch { after } => answer(conversation.watch_for_another_node(after).await),
        Request::Send {
            parent,
            client_id,
            text,
        } => answer(conversation.send(parent, &client_id, &text).await),
        Request::Regenerate { message } => answer(conversation.regenerate(message).await),
        Request::Continue { message } => answer(conversation.continue_reply(message).await),
        Request::Stop { message } => answer(conversation.stop(message).await),
        Request::SetActiveLeaf { leaf } => answer(conversation.set_active_leaf(leaf).await),
        Request::SetSystemPrompt { text } => answer(conversation.set_system_prompt(&text).await),
        Request::SetSettings { settings } => answer(conversation.set_settings(&settings).await),
        Request::Delete => answer(conversation.delete().await),
        Request::AwaitReply { message } => answer(conversation.await_reply(message).await),
        Request::Outline => answer(conversation.outline().await),
        Request::Messages { ids } => answer(conversation.messages(&ids).await),
        Request::Branch { leaf } => answer(conversation.branch(leaf).await),
        Request::Stats => answer(conversation.stats().await),
        Request::NameBranch { node, name } => {
            answer(conversation.name_branch(node, name.as_deref()).await)
        }
        Request::SetMainBranch { node } => answer(conversation.set_main_branch(node).await),
        Request::Prune { node } => answer(conversation.prune(node).await),
        Request::UndoPrune { root } => answer(conversation.undo_prune(root).await),
        Request::Replay {
            leaf,
            from,
            settings,
        } => answer(conversation.replay(leaf, from, &settings).await),
        Request::StopReplay { replay } => answer(conversation.stop_replay(replay).await),
        Request::Close => answer(conversation.close_if_running().await.unwrap_or(Ok(()))),
    }
}
