//! Naming an untitled conversation after its first complete answer: the
//! offline model's title comes from the first message's words at once, any
//! other model is asked in a task of its own (see [`title`]).

use super::ConversationActor;
use crate::chat::title;
use app::domain::model::ChatEvent;
use uuid::Uuid;

impl ConversationActor {
    /// After the first complete reply of an untitled conversation, names it:
    /// the offline model by the first message's words, any other model by
    /// asking it (falling back to those words).
    pub(super) async fn name_conversation(&mut self, reply: Uuid) {
        if !std::mem::replace(&mut self.needs_title, false) {
            return;
        }
        let first = self.tree.path_to(reply).first().copied();
        let Some(first) = first.and_then(|id| self.messages.get(&id)) else {
            return;
        };
        let fallback = title::heuristic_title(&first.content);
        let plan = self.context.catalog.plan(&self.settings);
        if plan.provider.is_offline() {
            self.set_title(fallback).await;
            return;
        }
        let reply_text = self
            .messages
            .get(&reply)
            .map(|m| m.content.clone())
            .unwrap_or_default();
        self.naming = true;
        title::spawn(
            plan.provider,
            plan.model_id,
            first.content.clone(),
            reply_text,
            fallback,
            reply,
            self.updates_sender(),
        );
    }

    /// The model's title (or the fallback) has arrived.
    pub(super) async fn title_arrived(&mut self, title: String) {
        self.naming = false;
        self.set_title(title).await;
    }

    /// Stores an automatic title unless the conversation has one by now
    /// (a title the user set is never overwritten), and announces it.
    async fn set_title(&mut self, title: String) {
        match self
            .context
            .store
            .set_title_if_untitled(self.id, &title)
            .await
        {
            Ok(true) => self.log.publish(ChatEvent::Title { title }),
            Ok(false) => {}
            Err(error) => tracing::error!(%error, "could not store the title"),
        }
    }
}
