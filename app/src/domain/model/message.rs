//! A message node as the server sends it: who wrote it, its status, text,
//! usage, the parameters it was written with, tool calls; its text-less
//! outline; and the names users give the branches through nodes.

use crate::domain::sampling::SamplerParams;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use uuid::Uuid;

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
    /// How many of the oldest messages of the branch were left out so that
    /// the rest fit the model's context window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_out: Option<u32>,
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
    /// The server's syntax colours for the text's code blocks, one run list
    /// ([`code_paint`](crate::text::code_paint)) a block (`None`: a
    /// language it does not know), for
    /// [`render_markdown`](crate::text::markdown::render_markdown). Made
    /// when the server sends the message, never stored; empty when no
    /// block is coloured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlighted_code: Vec<Option<String>>,
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
            highlighted_code: Vec::new(),
        }
    }
}

/// A name the user gave a branch. It sits on one node (usually the leaf
/// when it was named); the branch it names is the path through that node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchLabel {
    pub node_id: Uuid,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
