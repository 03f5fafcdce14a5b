//! Server functions on whole branches: name one, mark the main one, fork
//! one into a new conversation, prune a subtree and undo that, replay one
//! with other settings, and the word diffs of the compare view.

use crate::domain::errors::AppError;
use crate::domain::model::{
    ConversationSettings, ConversationSummary, PruneReceipt, ReplayStarted,
};
use crate::text::word_diff::DiffRun;
use leptos::prelude::*;
use server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::{
    domain::errors::parse_id,
    functions::{run, run_sending},
};

/// The most pairs [`word_diffs`] compares in one call (two messages each,
/// within what one `messages` read may name).
pub const MAX_DIFF_PAIRS: usize = crate::domain::reading_window::MAX_FETCH / 2;

/// The word-level differences of pairs of messages (left, right) of one
/// conversation, in order: the compare view asks for them so the diff
/// engine stays on the server. An id that is not a message of the caller's
/// conversation is not found.
#[server(endpoint = "word_diffs", input = Json)]
pub async fn word_diffs(
    conversation_id: String,
    pairs: Vec<(String, String)>,
) -> Result<Vec<Vec<DiffRun>>, AppError> {
    use crate::text::word_diff::word_diff;
    use std::collections::HashMap;
    run(|backend, user| async move {
        if pairs.len() > MAX_DIFF_PAIRS {
            return Err(AppError::BadRequest(format!(
                "at most {MAX_DIFF_PAIRS} pairs of messages can be compared at once"
            )));
        }
        let conversation = parse_id(&conversation_id, "conversation")?;
        let pairs = pairs
            .iter()
            .map(|(left, right)| Ok((parse_id(left, "message")?, parse_id(right, "message")?)))
            .collect::<Result<Vec<_>, AppError>>()?;
        let ids = pairs
            .iter()
            .flat_map(|(left, right)| [*left, *right])
            .collect();
        let texts: HashMap<_, _> = backend
            .messages(user, conversation, ids)
            .await?
            .into_iter()
            .map(|message| (message.id, message.content))
            .collect();
        pairs
            .iter()
            .map(|(left, right)| match (texts.get(left), texts.get(right)) {
                (Some(left), Some(right)) => Ok(word_diff(left, right)),
                _ => Err(AppError::NotFound("message".into())),
            })
            .collect()
    })
    .await
}

/// Names the branch through `node_id`; an empty or absent name removes it.
#[server(endpoint = "name_branch", input = Json)]
pub async fn name_branch(
    conversation_id: String,
    node_id: String,
    name: Option<String>,
) -> Result<(), AppError> {
    run(|backend, user| async move {
        let name = name.filter(|n| !n.trim().is_empty());
        backend
            .name_branch(
                user,
                parse_id(&conversation_id, "conversation")?,
                parse_id(&node_id, "message")?,
                name,
            )
            .await
    })
    .await
}

/// Marks the branch through `node_id` as the conversation's main one
/// (absent: no branch is).
#[server(endpoint = "set_main_branch", input = Json)]
pub async fn set_main_branch(
    conversation_id: String,
    node_id: Option<String>,
) -> Result<(), AppError> {
    run(|backend, user| async move {
        backend
            .set_main_branch(
                user,
                parse_id(&conversation_id, "conversation")?,
                node_id
                    .as_deref()
                    .map(|n| parse_id(n, "message"))
                    .transpose()?,
            )
            .await
    })
    .await
}

/// Copies the path from the root to `node_id` into a new conversation.
#[server(endpoint = "fork_branch", input = Json)]
pub async fn fork_branch(
    conversation_id: String,
    node_id: String,
) -> Result<ConversationSummary, AppError> {
    run(|backend, user| async move {
        backend
            .fork_branch(
                user,
                parse_id(&conversation_id, "conversation")?,
                parse_id(&node_id, "message")?,
            )
            .await
    })
    .await
}

/// Removes `node_id` and everything below it; refused while a reply in it
/// streams. The answer says until when it can be undone.
#[server(endpoint = "prune_branch", input = Json)]
pub async fn prune_branch(
    conversation_id: String,
    node_id: String,
) -> Result<PruneReceipt, AppError> {
    run(|backend, user| async move {
        backend
            .prune(
                user,
                parse_id(&conversation_id, "conversation")?,
                parse_id(&node_id, "message")?,
            )
            .await
    })
    .await
}

/// Brings back what pruning `root_id` removed, if its undo time has not passed.
#[server(endpoint = "undo_prune", input = Json)]
pub async fn undo_prune(conversation_id: String, root_id: String) -> Result<(), AppError> {
    run(|backend, user| async move {
        backend
            .undo_prune(
                user,
                parse_id(&conversation_id, "conversation")?,
                parse_id(&root_id, "message")?,
            )
            .await
    })
    .await
}

/// Re-runs each assistant turn of the branch ending at `leaf_id` (from
/// `from_id` on; absent: the whole branch) with `settings` instead of the
/// conversation's, into a new sibling branch. Answers once the first reply
/// has started; progress follows on the event stream.
#[server(endpoint = "replay_branch", input = Json)]
pub async fn replay_branch(
    conversation_id: String,
    leaf_id: String,
    from_id: Option<String>,
    settings: ConversationSettings,
) -> Result<ReplayStarted, AppError> {
    run_sending(|backend, user| async move {
        backend
            .replay_branch(
                user,
                parse_id(&conversation_id, "conversation")?,
                parse_id(&leaf_id, "message")?,
                from_id
                    .as_deref()
                    .map(|f| parse_id(f, "message"))
                    .transpose()?,
                settings,
            )
            .await
    })
    .await
}

/// Stops a running replay; the replies it wrote stay.
#[server(endpoint = "stop_replay", input = Json)]
pub async fn stop_replay(conversation_id: String, replay_id: String) -> Result<(), AppError> {
    run(|backend, user| async move {
        backend
            .stop_replay(
                user,
                parse_id(&conversation_id, "conversation")?,
                parse_id(&replay_id, "replay")?,
            )
            .await
    })
    .await
}
