//! The chat service: validates requests, checks ownership, and routes them
//! to storage or to the conversation's actor. It implements the `Backend`
//! that `app`'s server functions call, and serves the event stream.

use crate::catalog::Catalog;
use crate::chat::actor::{ActorContext, Command, Parent, Subscription};
use crate::chat::registry::Registry;
use crate::clock::now_ms;
use crate::storage::{ConversationRecord, NewFork, StorageError, Store};
use app::backend::{Backend, NewUserMessage};
use app::errors::AppError;
use app::model::{
    ConversationSettings, ConversationSummary, ConversationView, EffectiveModel, EventCursor,
    ForkOrigin, MessageNode, ModelChoices, NodeOutline, PruneReceipt, ReplayStarted, SendReceipt,
    MAX_SYSTEM_PROMPT_CHARS, MAX_TITLE_CHARS,
};
use app::reading_window::MAX_FETCH;
use app::search::{SearchResults, MAX_QUERY_CHARS};
use std::sync::Arc;
use tokio::sync::watch;
use uuid::Uuid;

/// The most title matches, and the most message matches, one search answers.
const SEARCH_RESULTS: u32 = 50;

/// Longest accepted idempotency key.
const MAX_CLIENT_ID_CHARS: usize = 128;

/// Limits on what users may send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_message_chars: usize,
    /// Largest file accepted for import, in bytes.
    pub max_import_bytes: u64,
    /// Largest JSON an imported file may unpack to, in bytes.
    pub max_import_unpacked_bytes: u64,
}

/// Owns the store, the actor registry and the limits; shared by every request.
pub struct ChatService {
    store: Arc<dyn Store>,
    registry: Registry,
    limits: Limits,
    catalog: Arc<Catalog>,
    local_user: Uuid,
    closing: watch::Receiver<bool>,
}

impl ChatService {
    /// Builds the service; makes sure the built-in local user exists.
    /// `closing` turns true when the server shuts down.
    pub async fn new(
        context: ActorContext,
        limits: Limits,
        closing: watch::Receiver<bool>,
    ) -> Result<Self, StorageError> {
        let local_user = context.store.local_user().await?;
        // Pruned messages whose undo time passed while the server was down.
        context
            .store
            .purge_pruned(now_ms() - app::branches::PRUNE_UNDO_WINDOW_MS)
            .await?;
        Ok(ChatService {
            store: context.store.clone(),
            catalog: context.catalog.clone(),
            registry: Registry::new(context),
            limits,
            local_user,
            closing,
        })
    }

    /// Resolves when the server starts shutting down, so long-lived
    /// responses (event streams) can end and let it stop.
    pub fn closing(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.clone();
        async move {
            // An error means the sender is gone: the server is stopping too.
            _ = closing.wait_for(|closing| *closing).await;
        }
    }

    /// The user every request acts as until accounts exist.
    pub fn local_user(&self) -> Uuid {
        self.local_user
    }

    /// Subscribes to a conversation's events after `after` (none: from now).
    pub async fn subscribe(
        &self,
        user: Uuid,
        conversation: Uuid,
        after: Option<EventCursor>,
    ) -> Result<Subscription, AppError> {
        self.registry
            .request(conversation, |reply| Command::Subscribe {
                user,
                after,
                reply,
            })
            .await
    }

    /// The live actors.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The database.
    /// The stored conversation `id` if `user` owns it (404 for anyone else's).
    pub(crate) async fn owned_record(
        &self,
        user: Uuid,
        id: Uuid,
    ) -> Result<ConversationRecord, AppError> {
        self.store
            .conversation(id)
            .await?
            .filter(|r| r.owner_id == user)
            .ok_or_else(|| AppError::NotFound("conversation".into()))
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Which providers, models and personas exist.
    pub(crate) fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Validates and sends a user message under `parent`; the reply starts
    /// streaming before this returns.
    pub async fn send_under(
        &self,
        user: Uuid,
        conversation: Uuid,
        parent: Parent,
        client_id: String,
        text: String,
    ) -> Result<SendReceipt, AppError> {
        self.check_text(&text)?;
        let client_id = client_id.trim().to_string();
        if client_id.is_empty() || client_id.chars().count() > MAX_CLIENT_ID_CHARS {
            return Err(AppError::BadRequest(format!(
                "client_id must be 1 to {MAX_CLIENT_ID_CHARS} characters"
            )));
        }
        self.registry
            .request(conversation, |reply| Command::Send {
                user,
                parent,
                client_id: client_id.clone(),
                text: text.clone(),
                reply,
            })
            .await
    }

    /// Refuses an empty message or one over the length limit.
    pub(crate) fn check_text(&self, text: &str) -> Result<(), AppError> {
        if text.trim().is_empty() {
            return Err(AppError::BadRequest("the message is empty".into()));
        }
        let length = text.chars().count();
        let limit = self.limits.max_message_chars;
        if length > limit {
            return Err(AppError::BadRequest(format!(
                "the message is too long: {length} characters, the limit is {limit}"
            )));
        }
        Ok(())
    }

    /// Refuses a model or persona that does not exist and sampler values
    /// out of range.
    async fn check_settings(&self, settings: &ConversationSettings) -> Result<(), AppError> {
        if let Some(model) = &settings.model {
            if !self.catalog.offers(model).await {
                return Err(AppError::BadRequest(format!(
                    "there is no model `{model}`; pick one from the list"
                )));
            }
        }
        if let Some(persona) = &settings.persona {
            if self.catalog.persona(persona).is_none() {
                return Err(AppError::BadRequest(format!(
                    "there is no persona `{persona}`"
                )));
            }
        }
        settings
            .params
            .validate()
            .map_err(|e| AppError::BadRequest(e.to_string()))
    }
}

#[async_trait::async_trait]
impl Backend for ChatService {
    async fn list_conversations(&self, user: Uuid) -> Result<Vec<ConversationSummary>, AppError> {
        Ok(self.store.list_conversations(user).await?)
    }

    async fn create_conversation(&self, user: Uuid) -> Result<ConversationSummary, AppError> {
        Ok(self.store.create_conversation(user, now_ms()).await?)
    }

    async fn rename_conversation(
        &self,
        user: Uuid,
        id: Uuid,
        title: String,
    ) -> Result<ConversationSummary, AppError> {
        let title = title.trim();
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(AppError::BadRequest(format!(
                "the title is too long; the limit is {MAX_TITLE_CHARS} characters"
            )));
        }
        self.store
            .rename_conversation(user, id, title)
            .await?
            .ok_or_else(|| AppError::NotFound("conversation".into()))
    }

    async fn delete_conversation(&self, user: Uuid, id: Uuid) -> Result<(), AppError> {
        // The actor deletes, so no request can race it with stale state.
        self.registry
            .request(id, |reply| Command::Delete { user, reply })
            .await
    }

    async fn conversation(&self, user: Uuid, id: Uuid) -> Result<ConversationView, AppError> {
        let record = self.owned_record(user, id).await?;
        let snapshot = self
            .registry
            .request(id, |reply| Command::Snapshot { user, reply })
            .await?;
        let forked_from = match record.forked_from {
            Some((conversation_id, message_id)) => {
                let source = self.store.conversation(conversation_id).await?;
                Some(ForkOrigin {
                    conversation_id,
                    message_id,
                    title: source
                        .filter(|s| s.owner_id == user)
                        .map(|s| s.summary.display_title().to_string()),
                })
            }
            None => None,
        };
        Ok(ConversationView {
            summary: record.summary,
            outline: snapshot.outline,
            outline_complete: snapshot.outline_complete,
            nodes: snapshot.window,
            active_leaf_id: snapshot.active_leaf_id,
            cursor: snapshot.cursor,
            model: self.catalog.effective_model(&snapshot.settings),
            settings: snapshot.settings,
            max_message_chars: self.limits.max_message_chars,
            system_prompt: snapshot.system_prompt,
            labels: snapshot.labels,
            main_node_id: snapshot.main_node_id,
            forked_from,
            replays: snapshot.replays,
        })
    }

    async fn send_message(
        &self,
        user: Uuid,
        message: NewUserMessage,
    ) -> Result<SendReceipt, AppError> {
        self.send_under(
            user,
            message.conversation_id,
            message.parent_id.map_or(Parent::Root, Parent::Message),
            message.client_id,
            message.text,
        )
        .await
    }

    async fn regenerate(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<SendReceipt, AppError> {
        self.registry
            .request(conversation_id, |reply| Command::Regenerate {
                user,
                message: message_id,
                reply,
            })
            .await
    }

    async fn continue_reply(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<SendReceipt, AppError> {
        self.registry
            .request(conversation_id, |reply| Command::Continue {
                user,
                message: message_id,
                reply,
            })
            .await
    }

    async fn stop(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<(), AppError> {
        self.registry
            .request(conversation_id, |reply| Command::Stop {
                user,
                message: message_id,
                reply,
            })
            .await
    }

    async fn set_system_prompt(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        text: String,
    ) -> Result<(), AppError> {
        let text = text.trim().to_string();
        if text.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
            return Err(AppError::BadRequest(format!(
                "the system prompt is too long; the limit is {MAX_SYSTEM_PROMPT_CHARS} characters"
            )));
        }
        self.registry
            .request(conversation_id, |reply| Command::SetSystemPrompt {
                user,
                text: text.clone(),
                reply,
            })
            .await
    }

    fn max_import_bytes(&self) -> u64 {
        self.limits.max_import_bytes
    }

    async fn model_choices(&self, _user: Uuid) -> Result<ModelChoices, AppError> {
        Ok(self.catalog.choices().await)
    }

    async fn search(&self, user: Uuid, query: String) -> Result<SearchResults, AppError> {
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(AppError::BadRequest(format!(
                "a search can be at most {MAX_QUERY_CHARS} characters long"
            )));
        }
        Ok(self.store.search(user, &query, SEARCH_RESULTS).await?)
    }

    async fn set_generation_settings(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        settings: ConversationSettings,
    ) -> Result<EffectiveModel, AppError> {
        self.check_settings(&settings).await?;
        self.registry
            .request(conversation_id, |reply| Command::SetSettings {
                user,
                settings: settings.clone(),
                reply,
            })
            .await
    }

    async fn set_active_leaf(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        leaf_id: Uuid,
    ) -> Result<(), AppError> {
        self.registry
            .request(conversation_id, |reply| Command::SetActiveLeaf {
                user,
                leaf: leaf_id,
                reply,
            })
            .await
    }

    async fn name_branch(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        node_id: Uuid,
        name: Option<String>,
    ) -> Result<(), AppError> {
        self.registry
            .request(conversation_id, |reply| Command::NameBranch {
                user,
                node: node_id,
                name: name.clone(),
                reply,
            })
            .await
    }

    async fn set_main_branch(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        node_id: Option<Uuid>,
    ) -> Result<(), AppError> {
        self.registry
            .request(conversation_id, |reply| Command::SetMainBranch {
                user,
                node: node_id,
                reply,
            })
            .await
    }

    async fn fork_branch(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        node_id: Uuid,
    ) -> Result<ConversationSummary, AppError> {
        let path = self
            .registry
            .request(conversation_id, |reply| Command::Branch {
                user,
                leaf: Some(node_id),
                reply,
            })
            .await?;
        let record = self
            .store
            .conversation(conversation_id)
            .await?
            .ok_or_else(|| AppError::NotFound("conversation".into()))?;
        let summary = self
            .store
            .create_fork(NewFork {
                owner: user,
                title: format!("{} (fork)", record.summary.display_title()),
                source_conversation: conversation_id,
                source_message: node_id,
                system_prompt: record.system_prompt,
                settings: record.settings,
                messages: crate::chat::fork::copy_path(&path),
                now: now_ms(),
            })
            .await?;
        Ok(summary)
    }

    async fn prune(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        node_id: Uuid,
    ) -> Result<PruneReceipt, AppError> {
        self.registry
            .request(conversation_id, |reply| Command::Prune {
                user,
                node: node_id,
                reply,
            })
            .await
    }

    async fn undo_prune(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        root_id: Uuid,
    ) -> Result<(), AppError> {
        self.registry
            .request(conversation_id, |reply| Command::UndoPrune {
                user,
                root: root_id,
                reply,
            })
            .await
    }

    async fn outline(
        &self,
        user: Uuid,
        conversation_id: Uuid,
    ) -> Result<Vec<NodeOutline>, AppError> {
        self.registry
            .request(conversation_id, |reply| Command::Outline { user, reply })
            .await
    }

    async fn messages(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        ids: Vec<Uuid>,
    ) -> Result<Vec<MessageNode>, AppError> {
        if ids.len() > MAX_FETCH {
            return Err(AppError::BadRequest(format!(
                "at most {MAX_FETCH} messages can be asked for at once"
            )));
        }
        self.registry
            .request(conversation_id, |reply| Command::Messages {
                user,
                ids: ids.clone(),
                reply,
            })
            .await
    }

    async fn replay_branch(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        leaf_id: Uuid,
        from_id: Option<Uuid>,
        settings: ConversationSettings,
    ) -> Result<ReplayStarted, AppError> {
        self.check_settings(&settings).await?;
        self.registry
            .request(conversation_id, |reply| Command::Replay {
                user,
                leaf: leaf_id,
                from: from_id,
                settings: settings.clone(),
                reply,
            })
            .await
    }

    async fn stop_replay(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        replay_id: Uuid,
    ) -> Result<(), AppError> {
        self.registry
            .request(conversation_id, |reply| Command::StopReplay {
                user,
                replay: replay_id,
                reply,
            })
            .await
    }
}
