//! Data types shared by the browser and the server: what a conversation, a
//! message node and a stream event look like on the wire.

use crate::replay::ReplayProgress;
use crate::sampling::SamplerParams;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Longest accepted system prompt, in characters.
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 8_000;

/// Longest accepted conversation title, in characters (imported ones are cut).
pub const MAX_TITLE_CHARS: usize = 200;

/// Longest accepted message, in characters, unless the server is configured otherwise.
pub const DEFAULT_MAX_MESSAGE_CHARS: usize = 32_000;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

impl Role {
    /// The name stored in the database and shown in the UI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "system" => Ok(Role::System),
            "user" => Ok(Role::User),
            "assistant" => Ok(Role::Assistant),
            "tool" => Ok(Role::Tool),
            other => Err(format!("unknown role `{other}`")),
        }
    }
}

/// Where a message is in its life: assistant replies start `Streaming` and
/// end in one of the other three states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Complete,
    Streaming,
    Interrupted,
    Error,
}

impl MessageStatus {
    /// The name stored in the database and used as a CSS class.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Streaming => "streaming",
            MessageStatus::Interrupted => "interrupted",
            MessageStatus::Error => "error",
        }
    }
}

impl FromStr for MessageStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "complete" => Ok(MessageStatus::Complete),
            "streaming" => Ok(MessageStatus::Streaming),
            "interrupted" => Ok(MessageStatus::Interrupted),
            "error" => Ok(MessageStatus::Error),
            other => Err(format!("unknown message status `{other}`")),
        }
    }
}

/// One conversation as listed in the sidebar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: Uuid,
    /// Empty until the user (or, later, the model) names it.
    pub title: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Milliseconds since the Unix epoch; bumped by every new message.
    pub updated_at: i64,
}

impl ConversationSummary {
    /// The title to show: the stored one, or a placeholder for an unnamed conversation.
    pub fn display_title(&self) -> &str {
        display_title(&self.title)
    }
}

/// A conversation title to show: `title`, or a placeholder when it is blank.
pub fn display_title(title: &str) -> &str {
    if title.trim().is_empty() {
        "New conversation"
    } else {
        title
    }
}

/// Token counts and timing of one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyUsage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// The counts are estimates: the provider reported none.
    pub estimated: bool,
    /// From the request to the first text (none if no text came).
    pub time_to_first_token_ms: Option<u64>,
    /// From the request to the end of the reply.
    pub total_ms: u64,
}

impl ReplyUsage {
    /// Completion tokens per second of generation (after the first token).
    pub fn tokens_per_second(&self) -> Option<f64> {
        let generating_ms = self.total_ms.checked_sub(self.time_to_first_token_ms?)?;
        (generating_ms > 0 && self.completion_tokens > 0)
            .then(|| f64::from(self.completion_tokens) * 1000.0 / generating_ms as f64)
    }

    /// One line for the message footer, e.g. `12 → 48 tokens · first token 0.31 s · 2.40 s · 22.0 tokens/s`.
    pub fn summary(&self) -> String {
        let about = if self.estimated { "≈" } else { "" };
        let mut parts = vec![format!(
            "{about}{} → {about}{} tokens",
            self.prompt_tokens, self.completion_tokens
        )];
        if let Some(first) = self.time_to_first_token_ms {
            parts.push(format!("first token {:.2} s", first as f64 / 1000.0));
        }
        parts.push(format!("{:.2} s", self.total_ms as f64 / 1000.0));
        if let Some(rate) = self.tokens_per_second() {
            parts.push(format!("{rate:.1} tokens/s"));
        }
        parts.join(" · ")
    }
}

/// What produced an assistant reply, besides its model: recorded when the
/// reply starts and shown on the message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplyParams {
    /// The sampler values sent (after the provider dropped what it does not support).
    #[serde(default)]
    pub sampler: SamplerParams,
    /// The persona the conversation had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// The system prompt sent first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
}

/// A function call an assistant reply asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call; the tool result names it.
    pub id: String,
    /// Which built-in tool.
    pub name: String,
    /// The arguments, as the JSON text the model wrote.
    pub arguments: String,
}

/// One node of a conversation tree, as the browser sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageNode {
    pub id: Uuid,
    /// `None` for a root: the first message of a conversation, or an edit of it.
    pub parent_id: Option<Uuid>,
    pub role: Role,
    pub content: String,
    pub status: MessageStatus,
    /// The model that wrote an assistant reply, as `provider/model`; for a
    /// tool result, the tool's name.
    pub model: Option<String>,
    /// The parameters that produced an assistant reply.
    #[serde(default)]
    pub params: Option<ReplyParams>,
    /// Why a reply ended early (stopped, interrupted, failed), in words for the user.
    pub note: Option<String>,
    /// When this node was last the end of the displayed branch (ms since the epoch).
    pub last_active_at: Option<i64>,
    /// Tokens and timing of a finished reply.
    pub usage: Option<ReplyUsage>,
    /// The tools an assistant reply called (its results are the nodes below it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool result: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A message without its text: enough to place it in the tree, draw it
/// and count its branch's totals. The chat page gets one per message and
/// loads texts as it shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeOutline {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Uuid>,
    pub role: Role,
    pub status: MessageStatus,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ReplyUsage>,
}

impl From<&MessageNode> for NodeOutline {
    fn from(node: &MessageNode) -> Self {
        NodeOutline {
            id: node.id,
            parent_id: node.parent_id,
            role: node.role,
            status: node.status,
            created_at: node.created_at,
            last_active_at: node.last_active_at,
            usage: node.usage,
        }
    }
}

impl MessageNode {
    /// A node with no model, params, note, usage or tool calls.
    pub fn new(
        id: Uuid,
        parent_id: Option<Uuid>,
        role: Role,
        content: impl Into<String>,
        status: MessageStatus,
        created_at: i64,
    ) -> Self {
        MessageNode {
            id,
            parent_id,
            role,
            content: content.into(),
            status,
            model: None,
            params: None,
            note: None,
            last_active_at: None,
            usage: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            created_at,
        }
    }
}

/// How a conversation's new replies are generated; each field may be
/// changed at any time and affects only replies started afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationSettings {
    /// `provider/model`; `None`: the persona's model, else the default.
    pub model: Option<String>,
    /// A persona's name; `None`: no persona.
    pub persona: Option<String>,
    /// Sampler values set on the conversation: they win over the persona's
    /// and the model's defaults.
    #[serde(default)]
    pub params: SamplerParams,
    /// Whether models that can call tools are offered Arbor's built-in tools.
    #[serde(default = "tools_on")]
    pub tools: bool,
}

fn tools_on() -> bool {
    true
}

fn complete() -> bool {
    true
}

impl Default for ConversationSettings {
    /// No choices made: default model, no persona, no sampler values, tools on.
    fn default() -> Self {
        ConversationSettings {
            model: None,
            persona: None,
            params: SamplerParams::default(),
            tools: true,
        }
    }
}

/// The model that new replies of a conversation come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveModel {
    /// `provider/model`.
    pub key: String,
    /// Whether it runs offline inside Arbor (no API key, no network).
    pub offline: bool,
}

/// A model the picker offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOption {
    /// `provider/model`.
    pub key: String,
    pub label: String,
    pub offline: bool,
    /// The model's default sampler values from the config file.
    pub defaults: SamplerParams,
}

/// A persona the picker offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonaOption {
    pub name: String,
    pub system_prompt: String,
    /// `provider/model` the persona talks through, if it names one.
    pub model: Option<String>,
    pub params: SamplerParams,
}

/// Everything the model and persona pickers offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelChoices {
    pub models: Vec<ModelOption>,
    pub personas: Vec<PersonaOption>,
    /// The key used when neither the conversation nor its persona names a model.
    pub default_model: String,
}

/// Everything the chat page needs to show a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationView {
    pub summary: ConversationSummary,
    /// Every message, without text, oldest first; or, when
    /// `outline_complete` is false (a big tree), only the shown messages and
    /// their siblings (`get_outline` answers the rest).
    pub outline: Vec<NodeOutline>,
    #[serde(default = "complete")]
    pub outline_complete: bool,
    /// The newest messages of the shown branch (up to
    /// [`FIRST_WINDOW`](crate::reading_window::FIRST_WINDOW)), with their
    /// text; the page loads the others' when it shows them.
    pub nodes: Vec<MessageNode>,
    pub active_leaf_id: Option<Uuid>,
    /// The event stream position this snapshot corresponds to: subscribe after it.
    pub cursor: EventCursor,
    /// The model new replies come from.
    pub model: EffectiveModel,
    /// The conversation's model, persona and sampler choices.
    pub settings: ConversationSettings,
    /// Longest accepted message, in characters.
    pub max_message_chars: usize,
    /// Sent before every message to the model (empty: none).
    pub system_prompt: String,
    /// The branches the user named, in the order they were named.
    #[serde(default)]
    pub labels: Vec<BranchLabel>,
    /// The node whose branch is marked as the conversation's main one.
    #[serde(default)]
    pub main_node_id: Option<Uuid>,
    /// Where this conversation was forked from, if it was.
    #[serde(default)]
    pub forked_from: Option<ForkOrigin>,
    /// Replays still running.
    #[serde(default)]
    pub replays: Vec<ReplayProgress>,
}

/// A name the user gave a branch. It sits on one node (usually the leaf
/// when it was named); the branch it names is the path through that node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchLabel {
    pub node_id: Uuid,
    pub name: String,
}

/// The conversation and message a fork copied its path from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkOrigin {
    pub conversation_id: Uuid,
    /// The last message copied.
    pub message_id: Uuid,
    /// The source's title; `None` when it has been deleted since.
    pub title: Option<String>,
}

/// What pruning a subtree answers: how to undo it, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReceipt {
    /// The node the pruned subtree hung from (pass it to undo).
    pub root: Uuid,
    /// How many messages were removed.
    pub removed: usize,
    /// Until when (ms since the epoch, server clock) the prune can be undone.
    pub undo_until: i64,
}

/// What `send_message` and `regenerate` hand back at once, before any token streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendReceipt {
    /// The stored user message (absent for a regeneration).
    pub user: Option<MessageNode>,
    /// The new assistant reply, status `Streaming`.
    pub assistant: MessageNode,
}

/// A replay that has started: its progress and its first reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayStarted {
    pub progress: ReplayProgress,
    pub receipt: SendReceipt,
}

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

impl ChatEvent {
    /// The SSE `event:` name for this event.
    pub fn name(&self) -> &'static str {
        match self {
            ChatEvent::Message { .. } => "message",
            ChatEvent::Delta { .. } => "delta",
            ChatEvent::Done { .. } => "done",
            ChatEvent::Title { .. } => "title",
            ChatEvent::Labels { .. } => "labels",
            ChatEvent::Pruned { .. } => "pruned",
            ChatEvent::Restored { .. } => "restored",
            ChatEvent::Replay { .. } => "replay",
        }
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
    fn roles_and_statuses_round_trip_through_their_names() {
        for role in [Role::System, Role::User, Role::Assistant, Role::Tool] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        for status in [
            MessageStatus::Complete,
            MessageStatus::Streaming,
            MessageStatus::Interrupted,
            MessageStatus::Error,
        ] {
            assert_eq!(status.as_str().parse::<MessageStatus>(), Ok(status));
        }
    }

    #[test]
    fn usage_summaries_mark_estimates_and_compute_the_rate() {
        let usage = ReplyUsage {
            prompt_tokens: 12,
            completion_tokens: 48,
            estimated: false,
            time_to_first_token_ms: Some(400),
            total_ms: 2400,
        };
        assert_eq!(usage.tokens_per_second(), Some(24.0));
        assert_eq!(
            usage.summary(),
            "12 → 48 tokens · first token 0.40 s · 2.40 s · 24.0 tokens/s"
        );
        let guess = ReplyUsage {
            estimated: true,
            time_to_first_token_ms: None,
            ..usage
        };
        assert_eq!(guess.tokens_per_second(), None);
        assert_eq!(guess.summary(), "≈12 → ≈48 tokens · 2.40 s");
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
}
