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

/// The cursor's text form, `epoch-seq` with both in base 36 (an SSE `id:`
/// on every event, so it is kept short).
impl fmt::Display for EventCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", Base36(self.epoch), Base36(self.seq))
    }
}

/// A number written in base 36, lower case.
struct Base36(u64);

impl fmt::Display for Base36 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut digits = [0u8; 13];
        let mut start = digits.len();
        let mut rest = self.0;
        loop {
            start -= 1;
            digits[start] = DIGITS[(rest % 36) as usize];
            rest /= 36;
            if rest == 0 {
                break;
            }
        }
        f.write_str(std::str::from_utf8(&digits[start..]).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for EventCursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || format!("malformed event id `{s}`");
        let (epoch, seq) = s.trim().split_once('-').ok_or_else(malformed)?;
        let number = |text: &str| {
            if text.is_empty()
                || !text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
            {
                return Err(malformed());
            }
            u64::from_str_radix(text, 36).map_err(|_| malformed())
        };
        Ok(EventCursor {
            epoch: number(epoch)?,
            seq: number(seq)?,
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
        let extremes = EventCursor {
            epoch: u64::MAX,
            seq: 0,
        };
        assert_eq!(extremes.to_string(), "3w5e11264sgsf-0");
        assert_eq!(extremes.to_string().parse::<EventCursor>(), Ok(extremes));
        let now = EventCursor {
            epoch: 1_796_687_276_193_983,
            seq: 249,
        };
        assert_eq!(now.to_string().len(), 13, "{now}");
    }

    #[test]
    fn malformed_event_ids_are_refused() {
        for id in [
            "",
            "-",
            "1",
            "1-",
            "-1",
            "A-1",
            "1-+2",
            "1-2-3",
            "zzzzzzzzzzzzzz-1",
        ] {
            assert!(id.parse::<EventCursor>().is_err(), "{id}");
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
