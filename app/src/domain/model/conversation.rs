//! A conversation as the sidebar lists it and the chat page opens it, its
//! generation settings, and the model and persona choices.

use super::events::EventCursor;
use super::message::{BranchLabel, MessageNode, NodeOutline};
use super::replay_progress::ReplayProgress;
use crate::domain::sampling::SamplerParams;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest accepted system prompt, in characters.
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 8_000;

/// Longest accepted conversation title, in characters (imported ones are cut).
pub const MAX_TITLE_CHARS: usize = 200;

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
    /// Whether it is a real model running on the server's own CPU.
    #[serde(default)]
    pub runs_here: bool,
}

impl EffectiveModel {
    /// The words of the badge beside the model picker, and its tooltip.
    pub fn badge(&self) -> (&'static str, &'static str) {
        if self.runs_here {
            (
                "Runs on this machine",
                "A real model running inside this Arbor server, on its own CPU: nothing leaves the machine",
            )
        } else if self.offline {
            (
                "Offline model",
                "Arbor's built-in offline model writes canned text (for trying Arbor out and for tests)",
            )
        } else {
            ("Model", "Replies come from the provider this model names")
        }
    }
}

/// A model the picker offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOption {
    /// `provider/model`.
    pub key: String,
    pub label: String,
    pub offline: bool,
    /// A real model running on the server's own CPU.
    #[serde(default)]
    pub runs_here: bool,
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
    /// [`FIRST_WINDOW`](crate::domain::reading_window::FIRST_WINDOW)), with their
    /// text; the page loads the others' when it shows them.
    pub nodes: Vec<MessageNode>,
    pub active_leaf_id: Option<Uuid>,
    /// The message the page was asked to open at (`?node=`), if it is in
    /// the tree: `nodes` are the messages around it, on its branch.
    #[serde(default)]
    pub focus: Option<Uuid>,
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

/// The conversation and message a fork copied its path from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkOrigin {
    pub conversation_id: Uuid,
    /// The last message copied.
    pub message_id: Uuid,
    /// The source's title; `None` when it has been deleted since.
    pub title: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(offline: bool, runs_here: bool) -> EffectiveModel {
        EffectiveModel {
            key: "p/m".into(),
            offline,
            runs_here,
        }
    }

    #[test]
    fn the_badge_says_where_the_model_runs() {
        assert_eq!(model(true, true).badge().0, "Runs on this machine");
        assert_eq!(model(true, false).badge().0, "Offline model");
        assert_eq!(model(false, false).badge().0, "Model");
    }
}
