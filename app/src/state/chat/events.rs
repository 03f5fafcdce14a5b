//! The reducer of a conversation's event stream: each [`ChatEvent`] from
//! the server applied to the page's state. Events may repeat (a resumed
//! stream) or come before the page has a message's text; both are safe.

use super::{ChatState, LiveMessage};
use crate::domain::model::{ChatEvent, MessageNode, ReplayProgress};
use crate::domain::tree::NodeLink;
use leptos::prelude::*;
use uuid::Uuid;

impl ChatState {
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
                highlighted_code,
            } => {
                if let Some(message) = self.message(id) {
                    message.status.set(status);
                    message.note.set(note);
                    message.usage.set(usage);
                    message.tool_calls.set(tool_calls);
                    message.highlighted_code.set(highlighted_code);
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
    pub(super) fn note_replay(&self, progress: ReplayProgress) {
        self.replays.update(
            |replays| match replays.iter_mut().find(|r| r.id == progress.id) {
                Some(known) => *known = progress,
                None => replays.push(progress),
            },
        );
    }

    /// Takes pruned nodes off the page and shows `active_leaf` (the
    /// server's choice) or, if unknown here, the default branch.
    pub(super) fn remove(&self, ids: &[Uuid], active_leaf: Option<Uuid>) {
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
}

#[cfg(test)]
mod tests;
