//! The actor's edits on whole branches: naming them, marking the main one,
//! and pruning a subtree with a time to undo it. A pruned subtree is hidden
//! at once (rows marked `pruned_at`, nodes out of the tree) and kept in
//! memory until its undo time passes; its rows are deleted for good later
//! (see [`BranchStore::purge_pruned`](crate::storage::BranchStore::purge_pruned)).

use super::ConversationActor;
use crate::clock::now_ms;
use crate::storage::{ShownNodes, StoredMessage};
use app::domain::branches::{clean_branch_name, PRUNE_UNDO_WINDOW_MS};
use app::domain::errors::AppError;
use app::domain::model::{BranchLabel, ChatEvent, PruneReceipt};
use app::domain::tree::{NodeLink, Tree};
use app::text::code_highlight::highlight_message;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A subtree pruned recently enough to be restored.
pub(super) struct PrunedSubtree {
    /// The node it hung from its parent by.
    pub(super) root: Uuid,
    /// Its messages, parents before children.
    pub(super) messages: Vec<StoredMessage>,
    /// When it was pruned (ms since the epoch).
    pub(super) at: i64,
    /// What was shown and marked main before, if inside this subtree.
    pub(super) shown_before: ShownNodes,
}

impl PrunedSubtree {
    /// Groups the stored pruned messages of a conversation by the subtree
    /// each was pruned with, dropping those whose undo time has passed.
    pub(super) fn group(pruned: Vec<(StoredMessage, i64)>) -> Vec<PrunedSubtree> {
        let now = now_ms();
        let tree = Tree::from_links(pruned.iter().map(|(m, _)| NodeLink::from(&m.node)));
        let mut by_id: HashMap<Uuid, (StoredMessage, i64)> = pruned
            .into_iter()
            .map(|(m, at)| (m.node.id, (m, at)))
            .collect();
        let mut groups: Vec<PrunedSubtree> = tree
            .children(None)
            .iter()
            .filter_map(|root| {
                let at = by_id.get(root)?.1;
                let messages = tree
                    .subtree(*root)
                    .iter()
                    .filter_map(|id| by_id.remove(id).map(|(m, _)| m))
                    .collect();
                Some(PrunedSubtree {
                    root: *root,
                    messages,
                    at,
                    shown_before: ShownNodes {
                        active_leaf: None,
                        main_node: None,
                    },
                })
            })
            .filter(|group| group.at + PRUNE_UNDO_WINDOW_MS >= now)
            .collect();
        groups.sort_by_key(|g| g.at);
        groups
    }
}

impl ConversationActor {
    /// Shows the branch ending at `leaf` (kept across reloads).
    pub(super) async fn set_active_leaf(&mut self, leaf: Uuid) -> Result<(), AppError> {
        if !self.messages.contains_key(&leaf) {
            return Err(AppError::NotFound("message".into()));
        }
        let stamp = self.tree.activity_stamp(now_ms());
        self.context
            .store
            .set_active_leaf(self.id, leaf, stamp)
            .await?;
        self.tree.mark_active(leaf, stamp);
        if let Some(node) = self.messages.get_mut(&leaf) {
            node.last_active_at = Some(stamp);
        }
        self.active_leaf = Some(leaf);
        Ok(())
    }

    /// The names of branches that are shown (not pruned).
    pub(super) fn shown_labels(&self) -> Vec<BranchLabel> {
        self.labels
            .iter()
            .filter(|l| self.messages.contains_key(&l.node_id))
            .cloned()
            .collect()
    }

    fn publish_labels(&mut self) {
        let labels = self.shown_labels();
        self.log.publish(ChatEvent::Labels {
            labels,
            main_node_id: self.main_node,
        });
    }

    fn require_message(&self, id: Uuid) -> Result<(), AppError> {
        if self.messages.contains_key(&id) {
            Ok(())
        } else {
            Err(AppError::NotFound("message".into()))
        }
    }

    pub(super) async fn name_branch(
        &mut self,
        node: Uuid,
        name: Option<String>,
    ) -> Result<(), AppError> {
        self.require_message(node)?;
        let name = name
            .map(|n| clean_branch_name(&n).map_err(AppError::BadRequest))
            .transpose()?;
        if let Some(name) = &name {
            if let Some(other) = self
                .labels
                .iter()
                .find(|l| l.name == *name && l.node_id != node)
            {
                let where_ = if self.messages.contains_key(&other.node_id) {
                    "another branch"
                } else {
                    "a branch you just pruned"
                };
                return Err(AppError::BadRequest(format!(
                    "{where_} is already named “{name}”; pick another name"
                )));
            }
        }
        self.context
            .store
            .set_branch_label(self.id, node, name.as_deref(), now_ms())
            .await?;
        match (self.labels.iter_mut().find(|l| l.node_id == node), name) {
            (Some(label), Some(name)) => label.name = name,
            (None, Some(name)) => self.labels.push(BranchLabel {
                node_id: node,
                name,
            }),
            (_, None) => self.labels.retain(|l| l.node_id != node),
        }
        self.publish_labels();
        Ok(())
    }

    pub(super) async fn set_main_branch(&mut self, node: Option<Uuid>) -> Result<(), AppError> {
        if let Some(node) = node {
            self.require_message(node)?;
        }
        self.context.store.set_main_node(self.id, node).await?;
        self.main_node = node;
        self.publish_labels();
        Ok(())
    }

    pub(super) async fn prune(&mut self, node: Uuid) -> Result<PruneReceipt, AppError> {
        self.require_message(node)?;
        let ids = self.tree.subtree(node);
        let streaming = ids
            .iter()
            .filter(|id| self.running.contains_key(id))
            .count();
        if streaming > 0 {
            return Err(AppError::Busy(format!(
                "{streaming} repl{} in this branch {} still being written: stop {} before pruning",
                if streaming == 1 { "y" } else { "ies" },
                if streaming == 1 { "is" } else { "are" },
                if streaming == 1 { "it" } else { "them" },
            )));
        }
        let now = now_ms();
        self.forget_expired_prunes(now);
        let parent = self.tree.parent(node);
        let removed: HashSet<Uuid> = ids.iter().copied().collect();
        let shown_before = ShownNodes {
            active_leaf: self.active_leaf.filter(|l| removed.contains(l)),
            main_node: self.main_node.filter(|m| removed.contains(m)),
        };
        let links = self.tree.remove_subtree(node);
        let shown = ShownNodes {
            active_leaf: match self.active_leaf {
                Some(leaf) if removed.contains(&leaf) => self.tree.descend(parent),
                other => other,
            },
            main_node: self.main_node.filter(|m| !removed.contains(m)),
        };
        let saved = self
            .context
            .store
            .set_pruned(self.id, &ids, Some(now), shown)
            .await;
        if let Err(error) = saved {
            for link in links {
                self.tree.insert(link);
            }
            return Err(error.into());
        }
        let client_ids: HashMap<Uuid, String> = self
            .client_ids
            .iter()
            .filter(|(_, id)| removed.contains(id))
            .map(|(client_id, id)| (*id, client_id.clone()))
            .collect();
        self.client_ids.retain(|_, id| !removed.contains(id));
        let messages = ids
            .iter()
            .filter_map(|id| {
                let node = self.messages.remove(id)?;
                Some(StoredMessage {
                    client_id: client_ids.get(id).cloned(),
                    node,
                })
            })
            .collect();
        self.pruned.push(PrunedSubtree {
            root: node,
            messages,
            at: now,
            shown_before,
        });
        self.active_leaf = shown.active_leaf;
        self.main_node = shown.main_node;
        self.log.publish(ChatEvent::Pruned {
            ids: ids.clone(),
            active_leaf_id: shown.active_leaf,
        });
        self.publish_labels();
        // Rows whose undo time passed long ago go for good (any
        // conversation's). The prune is saved either way: a failure here
        // is only logged, and the next prune or start-up tries again.
        let purged = self
            .context
            .store
            .purge_pruned(now - 2 * PRUNE_UNDO_WINDOW_MS)
            .await;
        if let Err(error) = purged {
            tracing::warn!(%error, "could not delete old pruned messages");
        }
        Ok(PruneReceipt {
            root: node,
            removed: ids.len(),
            undo_until: now + PRUNE_UNDO_WINDOW_MS,
        })
    }

    pub(super) async fn undo_prune(&mut self, root: Uuid) -> Result<(), AppError> {
        self.forget_expired_prunes(now_ms());
        let index = self
            .pruned
            .iter()
            .position(|p| p.root == root)
            .ok_or_else(|| {
                AppError::NotFound("pruned branch (the time to undo it has passed)".into())
            })?;
        let group = &self.pruned[index];
        let parent = group.messages.first().and_then(|m| m.node.parent_id);
        if parent.is_some_and(|p| !self.messages.contains_key(&p)) {
            return Err(AppError::BadRequest(
                "the message this branch hung from was pruned since: undo that prune first".into(),
            ));
        }
        let shown = ShownNodes {
            active_leaf: group.shown_before.active_leaf.or(self.active_leaf),
            main_node: group.shown_before.main_node.or(self.main_node),
        };
        let ids: Vec<Uuid> = group.messages.iter().map(|m| m.node.id).collect();
        self.context
            .store
            .set_pruned(self.id, &ids, None, shown)
            .await?;
        let group = self.pruned.remove(index);
        let mut nodes = Vec::with_capacity(group.messages.len());
        for message in group.messages {
            self.tree.insert(NodeLink::from(&message.node));
            if let Some(client_id) = message.client_id {
                self.client_ids.insert(client_id, message.node.id);
            }
            let mut shown_node = message.node.clone();
            highlight_message(&mut shown_node);
            nodes.push(shown_node);
            self.messages.insert(message.node.id, message.node);
        }
        self.active_leaf = shown.active_leaf;
        self.main_node = shown.main_node;
        self.log.publish(ChatEvent::Restored {
            nodes,
            active_leaf_id: shown.active_leaf,
        });
        self.publish_labels();
        Ok(())
    }

    /// Drops the pruned subtrees whose undo time has passed.
    fn forget_expired_prunes(&mut self, now: i64) {
        let (kept, expired): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pruned)
            .into_iter()
            .partition(|p| p.at + PRUNE_UNDO_WINDOW_MS >= now);
        self.pruned = kept;
        let gone: HashSet<Uuid> = expired
            .iter()
            .flat_map(|p| p.messages.iter().map(|m| m.node.id))
            .collect();
        self.labels.retain(|l| !gone.contains(&l.node_id));
    }
}
