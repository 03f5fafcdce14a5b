//! The operations one node forwards to the node that owns a conversation:
//! every operation of `ConversationHandle` but the local subscription (a
//! client on another node follows through [`Request::Watch`] and the
//! relay), as JSON, and how the owner performs one.

use crate::chat::actor::Parent;
use crate::chat::handle::ConversationHandle;
use app::domain::errors::AppError;
use app::domain::model::{ConversationSettings, EventCursor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// One operation on one conversation, as it goes between nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Snapshot {
        focus: Option<Uuid>,
    },
    Watch {
        after: Option<EventCursor>,
    },
    Send {
        parent: Parent,
        client_id: String,
        text: String,
    },
    Regenerate {
        message: Uuid,
    },
    Continue {
        message: Uuid,
    },
    Stop {
        message: Uuid,
    },
    SetActiveLeaf {
        leaf: Uuid,
    },
    SetSystemPrompt {
        text: String,
    },
    SetSettings {
        settings: ConversationSettings,
    },
    Delete,
    AwaitReply {
        message: Uuid,
    },
    Outline,
    Messages {
        ids: Vec<Uuid>,
    },
    Branch {
        leaf: Option<Uuid>,
    },
    Stats,
    NameBranch {
        node: Uuid,
        name: Option<String>,
    },
    SetMainBranch {
        node: Option<Uuid>,
    },
    Prune {
        node: Uuid,
    },
    UndoPrune {
        root: Uuid,
    },
    Replay {
        leaf: Uuid,
        from: Option<Uuid>,
        settings: ConversationSettings,
    },
    StopReplay {
        replay: Uuid,
    },
    Close,
}

/// A forwarded request with the user it acts for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forwarded {
    pub user: Uuid,
    pub request: Request,
}

fn answer<T: Serialize>(result: Result<T, AppError>) -> Result<Value, AppError> {
    let value = result?;
    serde_json::to_value(value)
        .map_err(|e| AppError::Internal(format!("an answer could not be encoded: {e}")))
}

impl Request {
    /// Performs the request on this node, answering what the operation
    /// answers, as JSON.
    pub async fn perform(self, conversation: &ConversationHandle<'_>) -> Result<Value, AppError> {
        match self {
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
            Request::SetSystemPrompt { text } => {
                answer(conversation.set_system_prompt(&text).await)
            }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_back_as_they_were_written() {
        let requests = [
            Request::Send {
                parent: Parent::ShownBranch,
                client_id: "draft-1".into(),
                text: "Hello".into(),
            },
            Request::Watch {
                after: Some(EventCursor { epoch: 3, seq: 9 }),
            },
            Request::Delete,
            Request::NameBranch {
                node: Uuid::now_v7(),
                name: None,
            },
        ];
        for request in requests {
            let json = serde_json::to_string(&Forwarded {
                user: Uuid::nil(),
                request: request.clone(),
            })
            .expect("encodes");
            let back: Forwarded = serde_json::from_str(&json).expect("decodes");
            assert_eq!(back.request, request, "{json}");
        }
        assert!(
            serde_json::from_str::<Forwarded>(r#"{"user":"x","request":{"op":"send"}}"#).is_err()
        );
    }
}
