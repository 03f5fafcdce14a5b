//! What the person does to the open conversation: each action calls its
//! server function and shows the outcome (sends are idempotent across
//! retries; the displayed branch is saved one request at a time).

use super::{new_client_id, now_ms, ChatState, PendingSend};
use crate::domain::errors::AppError;
use crate::domain::model::{ConversationSettings, ConversationSummary, SendReceipt};
use crate::domain::reading_window::Window;
use crate::functions::branches::{
    fork_branch, name_branch, prune_branch, replay_branch, set_main_branch, stop_replay, undo_prune,
};
use crate::functions::messages::{
    continue_reply, regenerate, send_message, set_active_leaf, stop_generation,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

impl ChatState {
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

    /// Shows the branch through `node`, with enough of it for `node`
    /// itself to be shown.
    pub fn reveal(&self, node: Uuid) {
        self.show_branch_of(node);
        let path = untrack(|| self.path());
        self.window
            .update(|window| *window = window.reaching(&path, node));
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
    pub(super) fn client_id_for(&self, parent: Option<Uuid>, text: &str) -> String {
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

    /// Shows a send's (or regeneration's) new messages and its branch.
    pub(super) fn accept(&self, receipt: SendReceipt) {
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

    /// Shows the branch ending at `leaf` and marks it as just chosen.
    pub(super) fn show_leaf(&self, leaf: Uuid) {
        self.tree.update(|t| _ = t.mark_active(leaf, now_ms()));
        self.active_leaf.set(Some(leaf));
    }

    /// Stores the displayed branch. Requests go one at a time and the last
    /// choice is always the one sent last, so quick clicks cannot be stored
    /// out of order.
    pub(super) fn persist_active_leaf(&self, leaf: Uuid) {
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
