//! What a conversation's event stream carries: [`ChatEvent`]s, their one
//! list of SSE names, and the cursor a subscriber resumes from.

use super::message::{BranchLabel, MessageNode, MessageStatus, ReplyUsage, ToolCall};
use super::replay_progress::ReplayProgress;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A change to a conversation, pushed to subscribers over Server-Sent Events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChatEvent {
    /// A node was added to the tree (content as it was at creation).
    Message { node: Box<MessageNode> },
    /// Text appended to a streaming reply.
    Delta { id: Uuid, text: String },
    /// A streaming reply ended.
    Done {
        id: Uuid,
        status: MessageStatus,
        note: Option<String>,
        usage: Option<ReplyUsage>,
        /// The tools the reply called, if any.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
        /// The server's colours for the reply's code blocks (see
        /// [`MessageNode::highlighted_code`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        highlighted_code: Vec<Option<String>>,
    },
    /// The conversation was given a title automatically.
    Title { title: String },
    /// The branch names or the main branch changed: the full new set.
    Labels {
        labels: Vec<BranchLabel>,
        main_node_id: Option<Uuid>,
    },
    /// A subtree was pruned: these nodes are gone (for now); the displayed
    /// branch is the one through `active_leaf_id`.
    Pruned {
        ids: Vec<Uuid>,
        active_leaf_id: Option<Uuid>,
    },
    /// A prune was undone: these nodes are back.
    Restored {
        nodes: Vec<MessageNode>,
        active_leaf_id: Option<Uuid>,
    },
    /// A replay moved on or ended.
    Replay { progress: ReplayProgress },
}

/// The SSE `event:` name that tells a subscriber to drop what it has and
/// load the conversation afresh (it fell too far behind to be caught up).
pub const RESET_EVENT: &str = "reset";

/// Every SSE `event:` name a conversation's stream carries: one per
/// [`ChatEvent`] kind, then [`RESET_EVENT`].
pub const EVENT_NAMES: [&str; 9] = [
    "message",
    "delta",
    "done",
    "title",
    "labels",
    "pruned",
    "restored",
    "replay",
    RESET_EVENT,
];

impl ChatEvent {
    /// The SSE `event:` name for this event (one of [`EVENT_NAMES`]).
    pub fn name(&self) -> &'static str {
        let index = match self {
            ChatEvent::Message { .. } => 0,
            ChatEvent::Delta { .. } => 1,
            ChatEvent::Done { .. } => 2,
            ChatEvent::Title { .. } => 3,
            ChatEvent::Labels { .. } => 4,
            ChatEvent::Pruned { .. } => 5,
            ChatEvent::Restored { .. } => 6,
            ChatEvent::Replay { .. } => 7,
        };
        EVENT_NAMES[index]
    }
}

/// A position in one conversation's event stream: `epoch` names the actor
/// incarnation that numbered the events, `seq` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCursor {
    pub epoch: u64,
    pub seq: u64,
}

impl fmt::Display for EventCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.epoch, self.seq)
    }
}

impl FromStr for EventCursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (epoch, seq) = s
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("malformed event id `{s}`"))?;
        Ok(EventCursor {
            epoch: epoch
                .parse()
                .map_err(|_| format!("malformed event id `{s}`"))?,
            seq: seq
                .parse()
                .map_err(|_| format!("malformed event id `{s}`"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_cursor_round_trips_through_its_text_form() {
        let cursor = EventCursor {
            epoch: 1_732_000_000_123,
            seq: 42,
        };
        assert_eq!(cursor.to_string().parse::<EventCursor>(), Ok(cursor));
    }

    #[test]
    fn malformed_event_cursors_are_rejected() {
        for bad in ["", "12", "a-1", "1-b", "1-2-3"] {
            assert!(bad.parse::<EventCursor>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn stream_events_are_tagged_by_kind_on_the_wire() {
        let id = Uuid::nil();
        let json = serde_json::to_value(ChatEvent::Delta {
            id,
            text: "hi".into(),
        })
        .expect("serializes");
        assert_eq!(json["kind"], "delta");
        assert_eq!(json["text"], "hi");
    }

    #[test]
    fn each_event_is_named_as_it_is_tagged_on_the_wire() {
        let id = Uuid::nil();
        let events = [
            ChatEvent::Delta {
                id,
                text: String::new(),
            },
            ChatEvent::Title {
                title: String::new(),
            },
            ChatEvent::Labels {
                labels: Vec::new(),
                main_node_id: None,
            },
            ChatEvent::Pruned {
                ids: Vec::new(),
                active_leaf_id: None,
            },
            ChatEvent::Restored {
                nodes: Vec::new(),
                active_leaf_id: None,
            },
        ];
        for event in events {
            let json = serde_json::to_value(&event).expect("serializes");
            assert_eq!(json["kind"], event.name());
            assert!(EVENT_NAMES.contains(&event.name()));
        }
    }
}
