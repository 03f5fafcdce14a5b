//! The open conversation as the page holds it: the tree's shape, each
//! message's live text and status (texts are loaded as they are shown),
//! the displayed branch, and the actions that change them (send, edit,
//! regenerate, stop, switch branch).

use crate::errors::AppError;
use crate::functions::branches::{
    fork_branch, name_branch, prune_branch, replay_branch, set_main_branch, stop_replay, undo_prune,
};
use crate::functions::messages::{
    continue_reply, get_messages, get_outline, regenerate, send_message, set_active_leaf,
    stop_generation,
};
use crate::model::{
    BranchLabel, ChatEvent, ConversationSettings, ConversationSummary, ConversationView,
    EffectiveModel, ForkOrigin, MessageNode, MessageStatus, NodeOutline, PruneReceipt, ReplyParams,
    ReplyUsage, Role, SendReceipt, ToolCall,
};
use crate::reading_window::{self, Window};
use crate::replay::{ReplayProgress, ReplayState};
use crate::tree::{NodeLink, Tree};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// One message with the parts that change while it streams.
#[derive(Clone)]
pub struct LiveMessage {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub role: Role,
    pub model: Option<String>,
    pub params: Option<ReplyParams>,
    pub content: ArcRwSignal<String>,
    pub status: ArcRwSignal<MessageStatus>,
    pub note: ArcRwSignal<Option<String>>,
    pub usage: ArcRwSignal<Option<ReplyUsage>>,
    /// The tools a reply called (known when it finishes).
    pub tool_calls: ArcRwSignal<Vec<ToolCall>>,
    pub tool_call_id: Option<String>,
    pub created_at: i64,
    /// Whether the text (and model, parameters, note) is here; a message
    /// known only by its outline has none until it is loaded.
    pub loaded: ArcRwSignal<bool>,
}

impl LiveMessage {
    /// A message known only by its place in the tree.
    fn outline(node: &NodeOutline) -> Self {
        LiveMessage {
            id: node.id,
            parent_id: node.parent_id,
            role: node.role,
            model: None,
            params: None,
            content: ArcRwSignal::new(String::new()),
            status: ArcRwSignal::new(node.status),
            note: ArcRwSignal::new(None),
            usage: ArcRwSignal::new(node.usage),
            tool_calls: ArcRwSignal::new(Vec::new()),
            tool_call_id: None,
            created_at: node.created_at,
            loaded: ArcRwSignal::new(false),
        }
    }

    /// Takes in the whole message, keeping the signals (views showing
    /// them follow).
    fn fill(&mut self, node: MessageNode) {
        self.model = node.model;
        self.params = node.params;
        self.tool_call_id = node.tool_call_id;
        if self.content.with_untracked(|c| *c != node.content) {
            self.content.set(node.content);
        }
        self.status.set(node.status);
        self.note.set(node.note);
        self.usage.set(node.usage);
        self.tool_calls.set(node.tool_calls);
        self.loaded.set(true);
    }

    fn new(node: MessageNode) -> Self {
        LiveMessage {
            id: node.id,
            parent_id: node.parent_id,
            role: node.role,
            model: node.model,
            params: node.params,
            content: ArcRwSignal::new(node.content),
            status: ArcRwSignal::new(node.status),
            note: ArcRwSignal::new(node.note),
            usage: ArcRwSignal::new(node.usage),
            tool_calls: ArcRwSignal::new(node.tool_calls),
            tool_call_id: node.tool_call_id,
            created_at: node.created_at,
            loaded: ArcRwSignal::new(true),
        }
    }

    /// The message as a plain node, as it is now (reading its signals, so a
    /// view built from it follows changes). The activity mark is not kept.
    pub fn snapshot(&self) -> MessageNode {
        MessageNode {
            id: self.id,
            parent_id: self.parent_id,
            role: self.role,
            content: self.content.get(),
            status: self.status.get(),
            model: self.model.clone(),
            params: self.params.clone(),
            note: self.note.get(),
            last_active_at: None,
            usage: self.usage.get(),
            tool_calls: self.tool_calls.get(),
            tool_call_id: self.tool_call_id.clone(),
            created_at: self.created_at,
        }
    }
}

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
struct PendingSend {
    parent: Option<Uuid>,
    text: String,
    client_id: String,
}

/// Saving the displayed branch: one request at a time, always for the latest choice.
#[derive(Default)]
struct LeafSaver {
    wanted: Option<Uuid>,
    in_flight: bool,
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

    /// Fetches the texts of those of `ids` the page has not got and is
    /// not fetching already.
    pub async fn load(&self, ids: &[Uuid]) -> Result<(), AppError> {
        let batches = self
            .fetching
            .try_update_value(|fetching| {
                let batches = reading_window::to_fetch(ids, |id| {
                    fetching.contains(&id) || untrack(|| self.is_loaded(id))
                });
                fetching.extend(batches.iter().flatten());
                batches
            })
            .unwrap_or_default();
        let mut outcome = Ok(());
        for batch in batches {
            let ids = batch.iter().map(Uuid::to_string).collect();
            match get_messages(self.conversation_id.to_string(), ids).await {
                Ok(nodes) => nodes.into_iter().for_each(|node| self.take_in(node)),
                Err(err) => outcome = Err(err),
            }
            self.fetching.try_update_value(|fetching| {
                for id in &batch {
                    fetching.remove(id);
                }
            });
        }
        outcome
    }

    /// Fetches the whole outline when the page came with part of it, and
    /// rebuilds the tree from it (keeping what events added meanwhile).
    pub async fn complete_outline(&self) -> Result<(), AppError> {
        if self.outline_complete.get_untracked() {
            return Ok(());
        }
        let outline = get_outline(self.conversation_id.to_string()).await?;
        let mut links: Vec<NodeLink> = outline.iter().map(NodeLink::from).collect();
        let known: HashSet<Uuid> = outline.iter().map(|o| o.id).collect();
        self.messages.try_update_value(|messages| {
            // Added by events after the outline was taken.
            links.extend(
                messages
                    .values()
                    .filter(|m| !known.contains(&m.id))
                    .map(|m| NodeLink {
                        id: m.id,
                        parent_id: m.parent_id,
                        created_at: m.created_at,
                        last_active_at: None,
                    }),
            );
            for node in &outline {
                messages
                    .entry(node.id)
                    .or_insert_with(|| LiveMessage::outline(node));
            }
        });
        let tree = Tree::from_links(links);
        let leaf = tree.initial_leaf(self.active_leaf.get_untracked());
        self.tree.set(tree);
        self.active_leaf.set(leaf);
        self.outline_complete.set(true);
        Ok(())
    }

    /// Fills in a message fetched on demand.
    fn take_in(&self, node: MessageNode) {
        if node.status == MessageStatus::Streaming {
            self.fetched_streaming
                .try_update_value(|ids| ids.insert(node.id));
        }
        self.messages.try_update_value(|messages| {
            if let Some(known) = messages.get_mut(&node.id) {
                known.fill(node);
            }
        });
    }

    /// Shows the branch through `node`, with enough of it for `node`
    /// itself to be shown.
    pub fn reveal(&self, node: Uuid) {
        self.show_branch_of(node);
        let path = untrack(|| self.path());
        self.window
            .update(|window| *window = window.reaching(&path, node));
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

    /// Applies one event from the server's stream.
    pub fn apply(&self, event: ChatEvent) {
        match event {
            ChatEvent::Message { node } => self.insert(*node),
            ChatEvent::Delta { id, text } => {
                // A text not loaded yet comes whole when it is.
                if let Some(message) = self.message(id).filter(|m| m.loaded.get_untracked()) {
                    message.content.update(|c| c.push_str(&text));
                }
            }
            ChatEvent::Done {
                id,
                status,
                note,
                usage,
                tool_calls,
            } => {
                if let Some(message) = self.message(id) {
                    message.status.set(status);
                    message.note.set(note);
                    message.usage.set(usage);
                    message.tool_calls.set(tool_calls);
                    let refetch = self
                        .fetched_streaming
                        .try_update_value(|ids| ids.remove(&id))
                        .unwrap_or(false);
                    if refetch {
                        message.loaded.set(false);
                    }
                }
            }
            // The title lives in the conversation list, which the stream refreshes.
            ChatEvent::Title { .. } => {}
            ChatEvent::Labels {
                labels,
                main_node_id,
            } => {
                self.labels.set(labels);
                self.main_node.set(main_node_id);
            }
            ChatEvent::Pruned {
                ids,
                active_leaf_id,
            } => self.remove(&ids, active_leaf_id),
            ChatEvent::Restored {
                nodes,
                active_leaf_id,
            } => {
                for node in nodes {
                    self.insert(node);
                }
                if let Some(leaf) = active_leaf_id.filter(|l| self.message(*l).is_some()) {
                    self.active_leaf.set(Some(leaf));
                }
            }
            ChatEvent::Replay { progress } => self.note_replay(progress),
        }
    }

    /// Records a replay's progress, replacing what was known of it.
    fn note_replay(&self, progress: ReplayProgress) {
        self.replays.update(
            |replays| match replays.iter_mut().find(|r| r.id == progress.id) {
                Some(known) => *known = progress,
                None => replays.push(progress),
            },
        );
    }

    /// Replays the branch ending at `leaf` with `settings`; shows the new
    /// branch as it grows.
    pub async fn replay(&self, leaf: Uuid, settings: ConversationSettings) -> Result<(), AppError> {
        let started = replay_branch(
            self.conversation_id.to_string(),
            leaf.to_string(),
            None,
            settings,
        )
        .await?;
        self.accept(started.receipt);
        self.note_replay(started.progress);
        Ok(())
    }

    /// Stops a running replay.
    pub async fn stop_replay(&self, replay: Uuid) -> Result<(), AppError> {
        stop_replay(self.conversation_id.to_string(), replay.to_string()).await
    }

    /// Forgets an ended replay's outcome.
    pub fn dismiss_replay(&self, replay: Uuid) {
        self.replays.update(|r| r.retain(|r| r.id != replay));
    }

    /// Takes pruned nodes off the page and shows `active_leaf` (the
    /// server's choice) or, if unknown here, the default branch.
    fn remove(&self, ids: &[Uuid], active_leaf: Option<Uuid>) {
        let gone: std::collections::HashSet<Uuid> = ids.iter().copied().collect();
        self.tree.update(|tree| {
            for id in ids {
                if tree.contains(*id) {
                    tree.remove_subtree(*id);
                }
            }
        });
        self.messages
            .update_value(|messages| messages.retain(|id, _| !gone.contains(id)));
        for signal in [self.selected, self.editing] {
            if signal.get_untracked().is_some_and(|s| gone.contains(&s)) {
                signal.set(None);
            }
        }
        let shown = self.active_leaf.get_untracked();
        if shown.is_none_or(|s| gone.contains(&s)) || active_leaf != shown {
            let leaf = self.tree.with_untracked(|t| t.initial_leaf(active_leaf));
            self.active_leaf.set(leaf);
        }
    }

    /// Names the branch through `node` (empty: the server removes its name).
    pub async fn name_branch(&self, node: Uuid, name: String) -> Result<(), AppError> {
        name_branch(
            self.conversation_id.to_string(),
            node.to_string(),
            Some(name),
        )
        .await
    }

    /// Marks the branch through `node` as main (`None`: no main branch).
    pub async fn set_main_branch(&self, node: Option<Uuid>) -> Result<(), AppError> {
        set_main_branch(
            self.conversation_id.to_string(),
            node.map(|n| n.to_string()),
        )
        .await
    }

    /// Copies the path to `node` into a new conversation.
    pub async fn fork(&self, node: Uuid) -> Result<ConversationSummary, AppError> {
        fork_branch(self.conversation_id.to_string(), node.to_string()).await
    }

    /// Prunes `node` and its subtree; the receipt stays for undoing it.
    pub async fn prune(&self, node: Uuid) -> Result<(), AppError> {
        let receipt = prune_branch(self.conversation_id.to_string(), node.to_string()).await?;
        self.last_prune.set(Some(receipt));
        Ok(())
    }

    /// Undoes the last prune.
    pub async fn undo_prune(&self) -> Result<(), AppError> {
        let Some(receipt) = self.last_prune.get_untracked() else {
            return Ok(());
        };
        undo_prune(self.conversation_id.to_string(), receipt.root.to_string()).await?;
        self.last_prune.set(None);
        Ok(())
    }

    /// Adds a node the page has not seen yet.
    pub fn insert(&self, node: MessageNode) {
        if self
            .messages
            .try_with_value(|m| m.contains_key(&node.id))
            .unwrap_or(true)
        {
            return;
        }
        let link = NodeLink::from(&node);
        // A node the server added below the shown leaf (a tool loop or a
        // replay going on, a message from another tab) extends the shown
        // branch; the server has already stored it as the active leaf.
        let follows =
            node.parent_id.is_some() && node.parent_id == self.active_leaf.get_untracked();
        let id = node.id;
        self.messages
            .update_value(|m| _ = m.insert(node.id, LiveMessage::new(node)));
        self.tree.update(|t| t.insert(link));
        if follows {
            self.active_leaf.set(Some(id));
            self.window.update(|window| *window = window.grown_by(1));
        }
    }

    /// Shows the branch through `node`: its most recently shown descendant,
    /// else its newest one.
    pub fn show_branch_of(&self, node: Uuid) {
        if let Some(leaf) = self.tree.with_untracked(|t| t.descend(Some(node))) {
            self.show_leaf(leaf);
            self.persist_active_leaf(leaf);
        }
    }

    /// Moves from `node` to its previous (`-1`) or next (`+1`) sibling.
    pub fn show_sibling(&self, node: Uuid, step: isize) {
        let target = self.tree.with_untracked(|t| {
            let siblings = t.siblings(node);
            let index = siblings.iter().position(|s| *s == node)?;
            siblings.get(index.checked_add_signed(step)?).copied()
        });
        if let Some(target) = target {
            self.selected.set(Some(target));
            self.reveal(target);
        }
    }

    /// Sends a message under `parent` (an edit sends under the edited
    /// message's parent). On success the new branch is shown.
    pub async fn send(&self, parent: Option<Uuid>, text: String) -> Result<(), AppError> {
        let client_id = self.client_id_for(parent, &text);
        let receipt = send_message(
            self.conversation_id.to_string(),
            parent.map(|p| p.to_string()),
            client_id,
            text,
        )
        .await?;
        self.pending_send.set_value(None);
        self.accept(receipt);
        Ok(())
    }

    /// The idempotency key for sending `text` under `parent`: the pending
    /// one when this is a retry of the same message, else a new one.
    fn client_id_for(&self, parent: Option<Uuid>, text: &str) -> String {
        let pending = self.pending_send.get_value();
        match pending {
            Some(p) if p.parent == parent && p.text == text => p.client_id,
            _ => {
                let client_id = new_client_id();
                self.pending_send.set_value(Some(PendingSend {
                    parent,
                    text: text.to_string(),
                    client_id: client_id.clone(),
                }));
                client_id
            }
        }
    }

    /// Starts another reply beside assistant message `id`.
    pub async fn regenerate(&self, id: Uuid) -> Result<(), AppError> {
        let receipt = regenerate(self.conversation_id.to_string(), id.to_string()).await?;
        self.accept(receipt);
        Ok(())
    }

    /// Continues the interrupted or failed reply `id` in a new sibling.
    pub async fn continue_reply(&self, id: Uuid) -> Result<(), AppError> {
        let receipt = continue_reply(self.conversation_id.to_string(), id.to_string()).await?;
        self.accept(receipt);
        Ok(())
    }

    /// Stops the streaming reply `id`, keeping its text.
    pub async fn stop(&self, id: Uuid) -> Result<(), AppError> {
        stop_generation(self.conversation_id.to_string(), id.to_string()).await
    }

    /// Runs an action in the background and shows its error, if any.
    pub fn spawn(&self, action: impl std::future::Future<Output = Result<(), AppError>> + 'static) {
        let error = self.error;
        spawn_local(async move {
            if let Err(err) = action.await {
                error.set(Some(err.to_string()));
            }
        });
    }

    fn accept(&self, receipt: SendReceipt) {
        let leaf = receipt.assistant.id;
        if let Some(user) = receipt.user {
            self.insert(user);
        }
        self.insert(receipt.assistant);
        self.error.set(None);
        // Whoever reads older messages and sends one wants to see it.
        if self.window.get_untracked().below > 0 {
            self.window.set(Window::NEWEST);
        }
        // The server already stored this leaf as active.
        self.show_leaf(leaf);
    }

    fn show_leaf(&self, leaf: Uuid) {
        self.tree.update(|t| _ = t.mark_active(leaf, now_ms()));
        self.active_leaf.set(Some(leaf));
    }

    /// Stores the displayed branch. Requests go one at a time and the last
    /// choice is always the one sent last, so quick clicks cannot be stored
    /// out of order.
    fn persist_active_leaf(&self, leaf: Uuid) {
        let start = self
            .leaf_saver
            .try_update_value(|saver| {
                saver.wanted = Some(leaf);
                !std::mem::replace(&mut saver.in_flight, true)
            })
            .unwrap_or(false);
        if !start {
            return; // the request in flight will send this choice when it ends
        }
        let state = *self;
        spawn_local(async move {
            loop {
                let next = state
                    .leaf_saver
                    .try_update_value(|saver| saver.wanted.take())
                    .flatten();
                let Some(leaf) = next else { break };
                let saved =
                    set_active_leaf(state.conversation_id.to_string(), leaf.to_string()).await;
                if let Err(err) = saved {
                    state.error.set(Some(err.to_string()));
                }
            }
            state
                .leaf_saver
                .update_value(|saver| saver.in_flight = false);
        });
    }
}

/// The chat state provided by the chat page.
pub fn use_chat() -> ChatState {
    expect_context::<ChatState>()
}

#[cfg(feature = "hydrate")]
fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

#[cfg(not(feature = "hydrate"))]
fn now_ms() -> i64 {
    0
}

/// An idempotency key for one send: unique enough for a retry to be
/// recognised, not a secret.
#[cfg(feature = "hydrate")]
fn new_client_id() -> String {
    let random = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    format!("{:x}-{:x}", js_sys::Date::now() as u64, random)
}

#[cfg(not(feature = "hydrate"))]
fn new_client_id() -> String {
    uuid::Uuid::nil().to_string()
}
