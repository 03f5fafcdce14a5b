//! Each message's live signals ([`LiveMessage`]) and loading what the page
//! was not sent at first: texts as they are shown, the rest of a big
//! tree's outline.

use super::ChatState;
use crate::domain::errors::AppError;
use crate::domain::model::{
    MessageNode, MessageStatus, NodeOutline, ReplyParams, ReplyUsage, Role, ToolCall,
};
use crate::domain::reading_window;
use crate::domain::tree::{NodeLink, Tree};
use crate::functions::messages::{get_messages, get_outline};
use leptos::prelude::*;
use std::collections::HashSet;
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
    /// The server's colours for the text's code blocks (see
    /// [`MessageNode::highlighted_code`]).
    pub highlighted_code: ArcRwSignal<Vec<Option<String>>>,
    pub tool_call_id: Option<String>,
    pub created_at: i64,
    /// Whether the text (and model, parameters, note) is here; a message
    /// known only by its outline has none until it is loaded.
    pub loaded: ArcRwSignal<bool>,
}

impl LiveMessage {
    /// A message known only by its place in the tree.
    pub(super) fn outline(node: &NodeOutline) -> Self {
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
            highlighted_code: ArcRwSignal::new(Vec::new()),
            tool_call_id: None,
            created_at: node.created_at,
            loaded: ArcRwSignal::new(false),
        }
    }

    /// Takes in the whole message, keeping the signals (views showing
    /// them follow).
    pub(super) fn fill(&mut self, node: MessageNode) {
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
        if self
            .highlighted_code
            .with_untracked(|h| *h != node.highlighted_code)
        {
            self.highlighted_code.set(node.highlighted_code);
        }
        self.loaded.set(true);
    }

    pub(super) fn new(node: MessageNode) -> Self {
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
            highlighted_code: ArcRwSignal::new(node.highlighted_code),
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
            highlighted_code: self.highlighted_code.get(),
        }
    }
}

impl ChatState {
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
        let known_end = self.active_leaf.get_untracked();
        let leaf = tree.initial_leaf(known_end);
        // A page opened at a message knew its branch only down to the
        // shown window: the messages shown stay, the rest waits below.
        if let (Some(known_end), Some(leaf)) = (known_end, leaf) {
            let path = tree.path_to(leaf);
            if let Some(end) = path.iter().position(|id| *id == known_end) {
                let added = path.len() - end - 1;
                self.window.update(|w| *w = w.extended_below(added));
            }
        }
        self.tree.set(tree);
        self.active_leaf.set(leaf);
        self.outline_complete.set(true);
        Ok(())
    }

    /// Fills in a message fetched on demand.
    pub(super) fn take_in(&self, node: MessageNode) {
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
}
