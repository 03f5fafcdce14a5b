//! The operations one node forwards to the node that owns a conversation:
//! every operation of `ConversationHandle` but the local subscription (a
//! client on another node follows through [`Request::Watch`] and the
//! relay), as JSON. The owner performs them in `chat::forwarded`.

use crate::chat::actor::Parent;
use app::domain::model::{ConversationSettings, EventCursor};
use serde::{Deserialize, Serialize};
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
