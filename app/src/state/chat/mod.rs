//! The open conversation as the page holds it: the tree's shape, each
//! message's live text and status (texts are loaded as they are shown),
//! the displayed branch. [`ChatState`] and its queries live here; the rest
//! of its methods are split by what drives them: `live` (each message's
//! signals and loading texts), `events` (the reducer of the server's
//! event stream), `actions` (what the person does: send, edit,
//! regenerate, stop, switch branch, prune, replay).

mod actions;
mod events;
mod live;

pub use live::LiveMessage;

use crate::domain::model::{
    BranchLabel, ConversationSettings, ConversationView, EffectiveModel, ForkOrigin, MessageStatus,
    PruneReceipt, ReplayProgress, ReplayState, Role,
};
use crate::domain::reading_window::Window;
use crate::domain::tree::{NodeLink, Tree};
use leptos::prelude::*;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The dialog open over the chat, if any (one at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatDialog {
    /// Asks before pruning this node and everything below it.
    ConfirmPrune(Uuid),
    /// What the model was sent for this reply.
    Context(Uuid),
    /// Two branches side by side, by their leaves.
    Compare { left: Uuid, right: Uuid },
    /// Choices for replaying the branch ending at this leaf.
    Replay(Uuid),
}

/// Facts about the conversation that do not change while it is open.
#[derive(Clone)]
pub struct ConversationFacts {
    pub title: String,
    pub max_message_chars: usize,
    /// Where this conversation was forked from, if it was.
    pub forked_from: Option<ForkOrigin>,
}

/// A send that has not been confirmed yet: retrying the same text under the
/// same parent reuses its idempotency key, so a lost response cannot store
/// the message twice.
#[derive(Clone, PartialEq)]
pub(super) struct PendingSend {
    pub(super) parent: Option<Uuid>,
    pub(super) text: String,
    pub(super) client_id: String,
}

/// Saving the displayed branch: one request at a time, always for the latest choice.
#[derive(Default)]
pub(super) struct LeafSaver {
    pub(super) wanted: Option<Uuid>,
    pub(super) in_flight: bool,
}

/// The open conversation; provided as context by the chat page. Actions
/// that finish after the page is gone leave it alone (reads use `try_`).
#[derive(Clone, Copy)]
pub struct ChatState {
    pub conversation_id: Uuid,
    pub tree: RwSignal<Tree>,
    messages: StoredValue<HashMap<Uuid, LiveMessage>>,
    /// The end of the displayed branch.
    pub active_leaf: RwSignal<Option<Uuid>>,
    /// The node last picked in the tree panel or with `< >`.
    pub selected: RwSignal<Option<Uuid>>,
    /// The user message whose inline editor is open.
    pub editing: RwSignal<Option<Uuid>>,
    /// The last failed action, shown until dismissed or replaced.
    pub error: RwSignal<Option<String>>,
    pub facts: StoredValue<ConversationFacts>,
    /// Sent before every message to the model (empty: none).
    pub system_prompt: RwSignal<String>,
    /// The model, persona and sampler choices for new replies.
    pub settings: RwSignal<ConversationSettings>,
    /// The model new replies come from.
    pub model: RwSignal<EffectiveModel>,
    /// The names of branches, in the order they were named.
    pub labels: RwSignal<Vec<BranchLabel>>,
    /// The node whose branch is the main one.
    pub main_node: RwSignal<Option<Uuid>>,
    /// The last prune, while it can be undone.
    pub last_prune: RwSignal<Option<PruneReceipt>>,
    /// The dialog shown over the chat.
    pub dialog: RwSignal<Option<ChatDialog>>,
    /// Replays running, and those that ended until dismissed.
    pub replays: RwSignal<Vec<ReplayProgress>>,
    /// Which messages of the displayed branch are shown (its newest at
    /// first; scrolling shows more).
    pub window: RwSignal<Window>,
    /// Whether the page knows every message's place in the tree (a big
    /// tree comes with only what is shown, the rest follows).
    pub outline_complete: RwSignal<bool>,
    /// Messages whose text is being fetched.
    fetching: StoredValue<HashSet<Uuid>>,
    /// Messages fetched while they streamed: fetched again when they end,
    /// as words written between the answer and the event stream could be missed.
    fetched_streaming: StoredValue<HashSet<Uuid>>,
    pending_send: StoredValue<Option<PendingSend>>,
    leaf_saver: StoredValue<LeafSaver>,
}

impl ChatState {
    /// Builds the state from a server snapshot.
    pub fn new(view: &ConversationView) -> Self {
        let state = ChatState {
            conversation_id: view.summary.id,
            tree: RwSignal::new(Tree::default()),
            messages: StoredValue::new(HashMap::new()),
            active_leaf: RwSignal::new(None),
            selected: RwSignal::new(None),
            editing: RwSignal::new(None),
            error: RwSignal::new(None),
            facts: StoredValue::new(ConversationFacts {
                title: view.summary.display_title().to_string(),
                max_message_chars: view.max_message_chars,
                forked_from: view.forked_from.clone(),
            }),
            system_prompt: RwSignal::new(view.system_prompt.clone()),
            settings: RwSignal::new(view.settings.clone()),
            model: RwSignal::new(view.model.clone()),
            labels: RwSignal::new(Vec::new()),
            main_node: RwSignal::new(None),
            last_prune: RwSignal::new(None),
            dialog: RwSignal::new(None),
            replays: RwSignal::new(Vec::new()),
            window: RwSignal::new(Window::NEWEST),
            outline_complete: RwSignal::new(view.outline_complete),
            fetching: StoredValue::new(HashSet::new()),
            fetched_streaming: StoredValue::new(HashSet::new()),
            pending_send: StoredValue::new(None),
            leaf_saver: StoredValue::new(LeafSaver::default()),
        };
        state.replace_with(view);
        state
    }

    /// Brings everything in line with a fresh snapshot (after the event
    /// stream could not resume). Messages already shown keep their signals,
    /// so the components showing them update in place; one whose state
    /// changed meanwhile outside the snapshot's texts is loaded again.
    pub fn replace_with(&self, view: &ConversationView) {
        let tree = Tree::from_links(view.outline.iter().map(NodeLink::from));
        let leaf = tree.initial_leaf(view.active_leaf_id);
        self.messages.update_value(|messages| {
            messages.retain(|id, _| tree.contains(*id));
            for node in &view.outline {
                match messages.get(&node.id) {
                    Some(known) => {
                        if known.status.get_untracked() != node.status {
                            known.loaded.set(false);
                            known.status.set(node.status);
                        }
                        known.usage.set(node.usage);
                    }
                    None => {
                        messages.insert(node.id, LiveMessage::outline(node));
                    }
                }
            }
            for node in &view.nodes {
                if let Some(known) = messages.get_mut(&node.id) {
                    known.fill(node.clone());
                }
            }
        });
        // Opened at a message: the window around it, as the server sent.
        if let (Some(focus), Some(leaf)) = (view.focus, leaf) {
            let path = tree.path_to(leaf);
            self.window.set(Window::NEWEST.reaching(&path, focus));
        }
        self.tree.set(tree);
        self.active_leaf.set(leaf);
        self.system_prompt.set(view.system_prompt.clone());
        self.settings.set(view.settings.clone());
        self.model.set(view.model.clone());
        self.labels.set(view.labels.clone());
        self.main_node.set(view.main_node_id);
        self.outline_complete.set(view.outline_complete);
        // Replays shown as running that are not any more ended while the
        // stream was away: their outcome is unknown, so they are dropped.
        self.replays.update(|shown| {
            shown.retain(|r| r.state != ReplayState::Running);
            shown.extend(view.replays.iter().cloned());
        });
    }

    /// The message with this id, if the page knows it.
    pub fn message(&self, id: Uuid) -> Option<LiveMessage> {
        self.messages
            .try_with_value(|m| m.get(&id).cloned())
            .flatten()
    }

    /// Whether the page has the text of message `id` (tracked); an
    /// unknown message has nothing to load.
    pub fn is_loaded(&self, id: Uuid) -> bool {
        self.messages
            .try_with_value(|m| m.get(&id).map(|m| m.loaded.get()))
            .flatten()
            .unwrap_or(true)
    }

    /// A message's role and (tracked) status, without copying the message.
    pub fn look(&self, id: Uuid) -> Option<(Role, MessageStatus)> {
        self.messages
            .try_with_value(|m| m.get(&id).map(|m| (m.role, m.status.get())))
            .flatten()
    }

    /// The displayed branch, root first.
    pub fn path(&self) -> Vec<Uuid> {
        let leaf = self.active_leaf.get();
        self.tree
            .with(|t| leaf.map(|l| t.path_to(l)).unwrap_or_default())
    }

    /// Whether the end of the displayed branch is still streaming.
    pub fn leaf_is_streaming(&self) -> bool {
        self.active_leaf
            .get()
            .and_then(|id| self.message(id))
            .is_some_and(|m| m.status.get() == MessageStatus::Streaming)
    }
}

/// The chat state provided by the chat page.
pub fn use_chat() -> ChatState {
    expect_context::<ChatState>()
}

#[cfg(feature = "hydrate")]
pub(super) fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

#[cfg(not(feature = "hydrate"))]
pub(super) fn now_ms() -> i64 {
    0
}

/// An idempotency key for one send: unique enough for a retry to be
/// recognised, not a secret.
#[cfg(feature = "hydrate")]
pub(super) fn new_client_id() -> String {
    let random = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    format!("{:x}-{:x}", js_sys::Date::now() as u64, random)
}

#[cfg(not(feature = "hydrate"))]
pub(super) fn new_client_id() -> String {
    uuid::Uuid::nil().to_string()
}
