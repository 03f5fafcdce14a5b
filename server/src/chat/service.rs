//! The chat service: validates requests and routes them to storage or to
//! the conversation's actor (which checks ownership; rows read without an
//! actor are checked here, in `ChatService::owned_record`). It implements
//! the `Backend` that `app`'s server functions call, and is what the HTTP
//! edge and the programmatic API reach everything through.

use super::actor::{ActorContext, ConversationStats, Parent, Subscription};
use super::handle::ConversationHandle;
use super::registry::Registry;
use super::status::ActorStatus;
use super::transfers;
use crate::catalog::Catalog;
use crate::clock::now_ms;
use crate::cluster::request::Forwarded;
use crate::cluster::Cluster;
use crate::storage::{ConversationRecord, NewFork, StorageError, Store};
use crate::transfer::archive::{Archive, ArchivedConversation};
use crate::transfer::ImportLimits;
use app::domain::backend::{Backend, NewUserMessage};
use app::domain::errors::AppError;
use app::domain::model::{
    ConversationSettings, ConversationSummary, ConversationView, EffectiveModel, EventCursor,
    ForkOrigin, MessageNode, ModelChoices, NodeOutline, PruneReceipt, ReplayStarted, SendReceipt,
    MAX_SYSTEM_PROMPT_CHARS, MAX_TITLE_CHARS,
};
use app::domain::reading_window::MAX_FETCH;
use app::domain::search::{SearchResults, MAX_QUERY_CHARS};
use app::domain::transfer::ImportSummary;
use app::text::code_highlight::highlight_message;
use std::sync::Arc;
use tokio::sync::watch;
use uuid::Uuid;

/// The most title matches, and the most message matches, one search answers.
const SEARCH_RESULTS: u32 = 50;

/// Longest accepted idempotency key.
const MAX_CLIENT_ID_CHARS: usize = 128;

/// Refuses a text holding U+0000: no database column can store it
/// (PostgreSQL refuses it outright), and nobody types it.
fn refuse_nul(what: &str, text: &str) -> Result<(), AppError> {
    if text.contains('\0') {
        return Err(AppError::BadRequest(format!(
            "the {what} contains a NUL character (U+0000), which cannot be stored"
        )));
    }
    Ok(())
}

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
        cluster: Option<Arc<Cluster>>,
    ) -> Result<Self, StorageError> {
        let local_user = context.store.local_user().await?;
        // Pruned messages whose undo time passed while the server was down.
        context
            .store
            .purge_pruned(now_ms() - app::domain::branches::PRUNE_UNDO_WINDOW_MS)
            .await?;
        Ok(ChatService {
            store: context.store.clone(),
            catalog: context.catalog.clone(),
            registry: Registry::new(context, cluster),
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
        self.actor(conversation, user).subscribe(after).await
    }

    /// One user's handle on a conversation's actor.
    fn actor(&self, conversation: Uuid, user: Uuid) -> ConversationHandle<'_> {
        self.registry.conversation(conversation, user)
    }

    /// The nodes sharing this database, if it is shared.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.registry.cluster()
    }

    /// Performs an operation another node forwarded, if this node runs the
    /// conversation (`None`: another does, and the sender must ask again).
    pub async fn perform_forwarded(
        &self,
        conversation: Uuid,
        forwarded: Forwarded,
    ) -> Option<Result<serde_json::Value, AppError>> {
        match self.registry.owns(conversation).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(error) => return Some(Err(error)),
        }
        let handle = self.actor(conversation, forwarded.user);
        Some(super::forwarded::perform(forwarded.request, &handle).await)
    }

    /// The stored conversation `id` if `user` owns it (404 for anyone else's).
    async fn owned_record(&self, user: Uuid, id: Uuid) -> Result<ConversationRecord, AppError> {
        self.store
            .conversation(id)
            .await?
            .filter(|r| r.owner_id == user)
            .ok_or_else(|| AppError::NotFound("conversation".into()))
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
        self.actor(conversation, user)
            .send(parent, &client_id, &text)
            .await
    }

    /// Refuses an empty message or one over the length limit.
    pub(crate) fn check_text(&self, text: &str) -> Result<(), AppError> {
        if text.trim().is_empty() {
            return Err(AppError::BadRequest("the message is empty".into()));
        }
        refuse_nul("message", text)?;
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

/// What the programmatic API, the dashboard and the HTTP downloads ask
/// beyond the `Backend` the server functions use.
impl ChatService {
    /// Waits until reply `message` is no longer streaming and returns it.
    pub async fn wait_for_reply(
        &self,
        user: Uuid,
        conversation: Uuid,
        message: Uuid,
    ) -> Result<MessageNode, AppError> {
        self.actor(conversation, user).await_reply(message).await
    }

    /// The messages from the root to `leaf` (none: the shown leaf).
    pub async fn branch(
        &self,
        user: Uuid,
        conversation: Uuid,
        leaf: Option<Uuid>,
    ) -> Result<Vec<MessageNode>, AppError> {
        self.actor(conversation, user).branch(leaf).await
    }

    /// Message count, branches, tokens, running replies and last activity.
    pub async fn stats(
        &self,
        user: Uuid,
        conversation: Uuid,
    ) -> Result<ConversationStats, AppError> {
        self.actor(conversation, user).stats().await
    }

    /// Stops the conversation's actor (it stays stored and restarts on
    /// next use). Refused with `Busy` while a reply is being generated.
    pub async fn close(&self, user: Uuid, conversation: Uuid) -> Result<(), AppError> {
        match self.actor(conversation, user).close_if_running().await {
            Some(result) => result,
            // Not in memory: closed already, if it is the user's at all.
            None => self.owned_record(user, conversation).await.map(|_| ()),
        }
    }

    /// How many conversations have an actor in memory.
    pub fn active_count(&self) -> usize {
        self.registry.active_count()
    }

    /// Every conversation in memory with what its actor reports.
    pub fn live_conversations(&self) -> Vec<(Uuid, Arc<ActorStatus>)> {
        self.registry.statuses()
    }

    /// What the conversation's actor reports, if it is in memory.
    pub fn live_status(&self, conversation: Uuid) -> Option<Arc<ActorStatus>> {
        self.registry.status(conversation)
    }

    /// How many messages each of the user's conversations has.
    pub async fn message_counts(
        &self,
        user: Uuid,
    ) -> Result<std::collections::HashMap<Uuid, u64>, AppError> {
        Ok(self.store.message_counts(user).await?)
    }

    /// The key of the built-in offline model (`provider/model`).
    pub fn offline_model_key(&self) -> String {
        self.catalog.offline_key()
    }

    /// The user's conversation `id`, whole, for an export (404 for anyone
    /// else's).
    pub async fn export_conversation(
        &self,
        user: Uuid,
        id: Uuid,
    ) -> Result<ArchivedConversation, AppError> {
        let record = self.owned_record(user, id).await?;
        transfers::archived(self.store.as_ref(), record, None).await
    }

    /// All of the user's conversations as one archive.
    pub async fn backup(&self, user: Uuid) -> Result<Archive, AppError> {
        transfers::backup(self.store.as_ref(), user).await
    }

    /// Every user's conversations as one archive (the caller must be an
    /// administrator: the route guard checks).
    pub async fn instance_backup(&self) -> Result<Archive, AppError> {
        transfers::instance_backup(self.store.as_ref()).await
    }

    /// Stores the conversations an uploaded file holds, each whole or not
    /// at all, for `user`.
    pub async fn import(
        &self,
        user: Uuid,
        file_name: &str,
        bytes: bytes::Bytes,
    ) -> Result<ImportSummary, AppError> {
        let limits = ImportLimits {
            max_unpacked_bytes: self.limits.max_import_unpacked_bytes,
        };
        transfers::import(self.store.as_ref(), user, file_name, bytes, limits).await
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
        refuse_nul("title", title)?;
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
        self.actor(id, user).delete().await
    }

    async fn conversation(
        &self,
        user: Uuid,
        id: Uuid,
        focus: Option<Uuid>,
    ) -> Result<ConversationView, AppError> {
        // The actor checks the owner; the record is read after it did.
        let snapshot = self.actor(id, user).snapshot_at(focus).await?;
        let record = self
            .store
            .conversation(id)
            .await?
            .ok_or_else(|| AppError::NotFound("conversation".into()))?;
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
            nodes: coloured(snapshot.window),
            active_leaf_id: snapshot.active_leaf_id,
            focus: snapshot.focus,
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
        self.actor(conversation_id, user)
            .regenerate(message_id)
            .await
    }

    async fn continue_reply(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<SendReceipt, AppError> {
        self.actor(conversation_id, user)
            .continue_reply(message_id)
            .await
    }

    async fn stop(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<(), AppError> {
        self.actor(conversation_id, user).stop(message_id).await
    }

    async fn set_system_prompt(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        text: String,
    ) -> Result<(), AppError> {
        let text = text.trim().to_string();
        refuse_nul("system prompt", &text)?;
        if text.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
            return Err(AppError::BadRequest(format!(
                "the system prompt is too long; the limit is {MAX_SYSTEM_PROMPT_CHARS} characters"
            )));
        }
        self.actor(conversation_id, user)
            .set_system_prompt(&text)
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
        self.actor(conversation_id, user)
            .set_settings(&settings)
            .await
    }

    async fn set_active_leaf(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        leaf_id: Uuid,
    ) -> Result<(), AppError> {
        self.actor(conversation_id, user)
            .set_active_leaf(leaf_id)
            .await
    }

    async fn name_branch(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        node_id: Uuid,
        name: Option<String>,
    ) -> Result<(), AppError> {
        self.actor(conversation_id, user)
            .name_branch(node_id, name.as_deref())
            .await
    }

    async fn set_main_branch(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        node_id: Option<Uuid>,
    ) -> Result<(), AppError> {
        self.actor(conversation_id, user)
            .set_main_branch(node_id)
            .await
    }

    async fn fork_branch(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        node_id: Uuid,
    ) -> Result<ConversationSummary, AppError> {
        let path = self
            .actor(conversation_id, user)
            .branch(Some(node_id))
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
        self.actor(conversation_id, user).prune(node_id).await
    }

    async fn undo_prune(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        root_id: Uuid,
    ) -> Result<(), AppError> {
        self.actor(conversation_id, user).undo_prune(root_id).await
    }

    async fn outline(
        &self,
        user: Uuid,
        conversation_id: Uuid,
    ) -> Result<Vec<NodeOutline>, AppError> {
        self.actor(conversation_id, user).outline().await
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
        Ok(coloured(
            self.actor(conversation_id, user).messages(&ids).await?,
        ))
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
        self.actor(conversation_id, user)
            .replay(leaf_id, from_id, &settings)
            .await
    }

    async fn stop_replay(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        replay_id: Uuid,
    ) -> Result<(), AppError> {
        self.actor(conversation_id, user)
            .stop_replay(replay_id)
            .await
    }
}

/// Messages on their way to a browser, with their code blocks coloured
/// (the browser has no highlighter of its own).
fn coloured(mut nodes: Vec<MessageNode>) -> Vec<MessageNode> {
    nodes.iter_mut().for_each(highlight_message);
    nodes
}
