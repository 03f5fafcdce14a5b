//! The actor's reads: snapshots for the page, outlines, branches, texts
//! by id, statistics, and subscriptions to the event stream. None of them
//! changes anything.

use super::{ConversationActor, ConversationStats, Snapshot, Subscription};
use crate::chat::event_log::{RelayedEvent, RemoteStart, Replay};
use crate::clock::now_ms;
use app::domain::errors::AppError;
use app::domain::model::{EventCursor, MessageNode, NodeOutline};
use app::domain::reading_window;
use uuid::Uuid;

impl ConversationActor {
    /// The messages from the root to `leaf` (none: the shown leaf).
    pub(super) fn branch(&self, leaf: Option<Uuid>) -> Result<Vec<MessageNode>, AppError> {
        let Some(leaf) = leaf.or(self.active_leaf) else {
            return Ok(Vec::new());
        };
        if !self.messages.contains_key(&leaf) {
            return Err(AppError::NotFound("message".into()));
        }
        Ok(self
            .tree
            .path_to(leaf)
            .iter()
            .filter_map(|id| self.messages.get(id).cloned())
            .collect())
    }

    /// Counts of messages, branches and tokens, and what runs now.
    pub(super) fn stats(&self) -> ConversationStats {
        let replies = self.messages.values().filter_map(|m| m.usage.as_ref());
        let (prompt_tokens, completion_tokens) = replies.fold((0, 0), |(p, c), usage| {
            (
                p + u64::from(usage.prompt_tokens),
                c + u64::from(usage.completion_tokens),
            )
        });
        let branches = self.tree.leaf_count();
        let last_activity_ms = self
            .messages
            .values()
            .map(|m| m.last_active_at.unwrap_or(m.created_at).max(m.created_at))
            .max()
            .unwrap_or(0);
        // A reply being written is activity now.
        let last_activity_ms = if self.running.is_empty() {
            last_activity_ms
        } else {
            now_ms()
        };
        ConversationStats {
            messages: self.messages.len(),
            branches,
            prompt_tokens,
            completion_tokens,
            running: self.running.len(),
            subscribers: self.log.subscriber_count(),
            last_activity_ms,
        }
    }

    /// Every message without its text, oldest first.
    pub(super) fn outline(&self) -> Vec<NodeOutline> {
        let mut outline: Vec<NodeOutline> = self.messages.values().map(NodeOutline::from).collect();
        outline.sort_by_key(|n| (n.created_at, n.id));
        outline
    }

    /// What the chat page opens with (see [`Snapshot`]).
    pub(super) fn snapshot(&self, focus: Option<Uuid>) -> Snapshot {
        let shown_leaf = self.tree.initial_leaf(self.active_leaf);
        let focus = focus.filter(|id| self.tree.contains(*id));
        let leaf = match focus {
            Some(focus) => self.tree.leaf_through(shown_leaf, focus),
            None => shown_leaf,
        };
        let path = leaf.map(|leaf| self.tree.path_to(leaf)).unwrap_or_default();
        let shown = match focus {
            Some(focus) => reading_window::Window::NEWEST.reaching(&path, focus),
            None => reading_window::Window::NEWEST,
        };
        let window = shown
            .shown(&path)
            .iter()
            .filter_map(|id| self.messages.get(id).cloned())
            .collect::<Vec<MessageNode>>();
        let outline_complete = self.messages.len() <= reading_window::WHOLE_OUTLINE_UP_TO;
        let outline = if outline_complete {
            self.outline()
        } else {
            let mut shown: Vec<NodeOutline> = window
                .iter()
                // The window is one path: its sibling sets never overlap.
                .flat_map(|m| self.tree.siblings(m.id).iter().copied())
                .filter_map(|id| self.messages.get(&id).map(NodeOutline::from))
                .collect();
            shown.sort_by_key(|n| (n.created_at, n.id));
            shown
        };
        // A big tree's partial outline holds only the window (and its
        // siblings): the page is given the window's end as the leaf, and
        // finds the rest of the branch when the whole outline arrives.
        let active_leaf_id = match focus {
            Some(_) if outline_complete => leaf,
            Some(_) => window.last().map(|m| m.id),
            None => self.active_leaf,
        };
        Snapshot {
            outline,
            outline_complete,
            window,
            active_leaf_id,
            focus,
            cursor: self.log.cursor(),
            system_prompt: self.system_prompt.clone(),
            settings: self.settings.clone(),
            labels: self.shown_labels(),
            main_node_id: self.main_node,
            replays: self.running_replays(),
        }
    }

    /// The events after `after` (none: from now), then the live ones.
    pub(super) fn subscribe(&mut self, after: Option<EventCursor>) -> Subscription {
        Subscription {
            replay: self.log.replay_after(after),
            live: self.log.subscribe(),
        }
    }

    /// The events after `after` for a client on another node, and every
    /// later one through this node's relay until the watch lapses.
    pub(super) fn watch(&mut self, after: Option<EventCursor>) -> Result<RemoteStart, AppError> {
        let Some(relay) = self.context.relay.clone() else {
            return Err(AppError::BadRequest(
                "this node does not share its database with other nodes".into(),
            ));
        };
        let until = std::time::Instant::now() + self.context.watch_lapse;
        self.log.watch_remotely(self.id, relay, until);
        let missed = match self.log.replay_after(after) {
            Replay::Events(events) => Some(
                events
                    .iter()
                    .map(|e| RelayedEvent::new(self.id, e))
                    .collect(),
            ),
            Replay::Reset => None,
        };
        Ok(RemoteStart {
            missed,
            cursor: self.log.cursor(),
        })
    }

    /// These messages with their text; unknown ids are left out.
    pub(super) fn messages_by_id(&self, ids: &[Uuid]) -> Vec<MessageNode> {
        ids.iter()
            .filter_map(|id| self.messages.get(id).cloned())
            .collect()
    }
}
