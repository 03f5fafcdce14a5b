//! Arbor as a library: the programmatic API for embedding Arbor in another
//! Rust program and for operators' scripts. [`Arbor`] owns the same chat
//! service the web server runs (store, catalog, conversation actors), so
//! everything done here is what a browser would see, live.
//!
//! Every call acts as the built-in local user (or, after
//! [`Arbor::acting_as`], as an account). The example program
//! `server/examples/embed.rs` (run it with `cargo run -p server --example
//! embed`) walks through each call; in short:
//!
//! ```text
//! let config = Config::from_lookup(|name| match name {
//!     "ARBOR_DATABASE_URL" => Some("arbor.db".into()),
//!     _ => None,
//! })?;
//! let arbor = Arbor::open(&config).await?;
//! let conversation = arbor.start_conversation().await?;
//! let reply = arbor.ask(conversation, "Hello").await?;     // waits for the whole reply
//! let branch = arbor.history(conversation, None).await?;   // root to the shown leaf
//! let stats = arbor.stats(conversation).await?;            // messages, branches, tokens, busy
//! let many = arbor.start_conversations(100).await?;
//! let results = arbor.broadcast(&many, "Same question to all").await;
//! arbor.close(conversation).await?;                        // refused while it generates
//! ```

use crate::catalog::Catalog;
use crate::chat::actor::{ActorContext, ConversationStats, Parent, INTERRUPTED_NOTE};
use crate::chat::generation::StreamPace;
use crate::chat::service::{ChatService, Limits};
use crate::chat::status::ActorStatus;
use crate::clock::now_ms;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::error::ServeError;
use crate::storage::{self, Store};
use app::domain::backend::Backend;
use app::domain::errors::AppError;
use app::domain::model::{ConversationSettings, MessageNode, SendReceipt};
use futures::stream::{self, StreamExt};
use std::sync::Arc;
use tokio::sync::watch;
use uuid::Uuid;

/// How many conversations a broadcast sends to at once.
pub const BROADCAST_CONCURRENCY: usize = 4096;

/// A running Arbor: storage, models and conversation actors. Cheap to clone.
#[derive(Clone)]
pub struct Arbor {
    chat: Arc<ChatService>,
    user: Uuid,
    /// Turns the service's `closing` signal on (see [`Arbor::begin_shutdown`]).
    closing: Arc<watch::Sender<bool>>,
}

/// One conversation in [`Arbor::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationInfo {
    pub id: Uuid,
    pub title: String,
    pub messages: u64,
    /// Its actor is in memory.
    pub active: bool,
    /// Replies being generated now (0: idle).
    pub running: usize,
    pub updated_at: i64,
}

impl ConversationInfo {
    /// Whether a reply is being generated.
    pub fn is_busy(&self) -> bool {
        self.running > 0
    }
}

/// What one conversation of a broadcast answered.
#[derive(Debug)]
pub struct BroadcastResult {
    pub conversation: Uuid,
    /// The finished reply, or why the message could not be sent.
    pub reply: Result<MessageNode, AppError>,
}

impl Arbor {
    /// Opens the database `config` names, marks replies a crash left
    /// streaming as interrupted, and loads the providers and models. On a
    /// PostgreSQL database with `ARBOR_NODE_URL` set, it joins the nodes
    /// sharing it (as a server does, reachable at that URL); without it,
    /// it runs alone, as on SQLite.
    pub async fn open(config: &Config) -> Result<Arbor, ServeError> {
        let database = storage::connect(&config.database_url).await?;
        let cluster = match (database.leases, &config.node_url) {
            (Some(leases), Some(url)) => Some(Cluster::join(leases, url, config.lease).await?),
            _ => None,
        };
        Arbor::open_in_cluster(config, database.store, cluster).await
    }

    /// Like [`Arbor::open`] with a store of the caller's (any [`Store`]).
    pub async fn open_with_store(
        config: &Config,
        store: Arc<dyn Store>,
    ) -> Result<Arbor, ServeError> {
        Arbor::open_in_cluster(config, store, None).await
    }

    /// Like [`Arbor::open_with_store`], as one of the nodes of `cluster`
    /// (if any) sharing the store's database.
    pub async fn open_in_cluster(
        config: &Config,
        store: Arc<dyn Store>,
        cluster: Option<Arc<Cluster>>,
    ) -> Result<Arbor, ServeError> {
        let interrupted = store
            .interrupt_streaming(INTERRUPTED_NOTE, now_ms())
            .await?;
        if interrupted > 0 {
            tracing::warn!(
                count = interrupted,
                "marked replies left streaming by a crash as interrupted"
            );
        }
        let file = config
            .config_file
            .as_deref()
            .map(crate::config::file::ConfigFile::load)
            .transpose()?;
        let catalog = Catalog::build(config, file.as_ref(), |name| std::env::var(name).ok())?;
        let default = catalog.effective_model(&Default::default());
        tracing::info!(model = %default.key, offline = default.offline, "default model");
        let context = ActorContext {
            store,
            catalog: Arc::new(catalog),
            idle_timeout: config.actor_idle,
            checkpoint_every: config.checkpoint_every,
            replay_capacity: 4096,
            stream_pace: StreamPace {
                idle_timeout: config.stream_idle_timeout,
                frame: config.stream_frame,
            },
            relay: cluster.as_ref().map(|c| c.relay().sender()),
            watch_lapse: cluster.as_ref().map_or(config.lease, |c| c.watch_lapse()),
        };
        let limits = Limits {
            max_message_chars: config.max_message_chars,
            max_import_bytes: config.max_import_bytes,
            max_import_unpacked_bytes: config.max_import_unpacked_bytes,
        };
        let (closing, closing_rx) = watch::channel(false);
        let chat = Arc::new(ChatService::new(context, limits, closing_rx, cluster).await?);
        Ok(Arbor {
            user: chat.local_user(),
            chat,
            closing: Arc::new(closing),
        })
    }

    /// The same Arbor acting as `user` (an account's id) instead of the
    /// built-in local user.
    pub fn acting_as(&self, user: Uuid) -> Arbor {
        Arbor {
            user,
            ..self.clone()
        }
    }

    /// The user every call acts as.
    pub fn user(&self) -> Uuid {
        self.user
    }

    /// The chat service the web routes serve.
    pub fn service(&self) -> Arc<ChatService> {
        self.chat.clone()
    }

    /// Every conversation in memory with what its actor reports.
    pub fn live_conversations(&self) -> Vec<(Uuid, Arc<ActorStatus>)> {
        self.chat.live_conversations()
    }

    /// Resolves when the server starts shutting down.
    pub fn closing(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.chat.closing()
    }

    /// Tells long-lived responses (event streams) that the server is stopping.
    pub fn begin_shutdown(&self) {
        _ = self.closing.send(true);
    }

    /// Creates an empty conversation with the default model.
    pub async fn start_conversation(&self) -> Result<Uuid, AppError> {
        Ok(self.chat.create_conversation(self.user).await?.id)
    }

    /// Creates `count` empty conversations (concurrently).
    pub async fn start_conversations(&self, count: usize) -> Result<Vec<Uuid>, AppError> {
        stream::iter(0..count)
            .map(|_| self.start_conversation())
            .buffer_unordered(BROADCAST_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// Sets a conversation's model, persona and sampler (validated as in the UI).
    pub async fn configure(
        &self,
        conversation: Uuid,
        settings: ConversationSettings,
    ) -> Result<(), AppError> {
        self.chat
            .set_generation_settings(self.user, conversation, settings)
            .await
            .map(|_| ())
    }

    /// The key of the built-in offline model (`provider/model`).
    pub fn offline_model(&self) -> String {
        self.chat.offline_model_key()
    }

    /// Sends `text` at the end of the conversation's shown branch and
    /// returns at once with the new message and its (streaming) reply.
    /// Refused with `Busy` while the branch's last reply is still streaming.
    pub async fn send(&self, conversation: Uuid, text: &str) -> Result<SendReceipt, AppError> {
        self.send_under(conversation, Parent::ShownBranch, text)
            .await
    }

    /// Sends `text` under a chosen place in the tree (see [`Parent`]).
    pub async fn send_under(
        &self,
        conversation: Uuid,
        parent: Parent,
        text: &str,
    ) -> Result<SendReceipt, AppError> {
        let client_id = Uuid::now_v7().to_string();
        self.chat
            .send_under(self.user, conversation, parent, client_id, text.to_string())
            .await
    }

    /// Sends `text` at the end of the shown branch and waits until the
    /// reply is complete (or failed, or stopped); returns the reply. A reply
    /// that calls tools is complete once it has called them: it is returned
    /// with its `tool_calls`, and the answer written after the tools ran is
    /// a later node of the branch (see [`Arbor::history`]).
    pub async fn ask(&self, conversation: Uuid, text: &str) -> Result<MessageNode, AppError> {
        let receipt = self.send(conversation, text).await?;
        self.wait_for_reply(conversation, receipt.assistant.id)
            .await
    }

    /// Waits until reply `message` is no longer streaming and returns it.
    pub async fn wait_for_reply(
        &self,
        conversation: Uuid,
        message: Uuid,
    ) -> Result<MessageNode, AppError> {
        self.chat
            .wait_for_reply(self.user, conversation, message)
            .await
    }

    /// Regenerates reply `message` as a new sibling; returns at once.
    pub async fn regenerate(
        &self,
        conversation: Uuid,
        message: Uuid,
    ) -> Result<SendReceipt, AppError> {
        self.chat.regenerate(self.user, conversation, message).await
    }

    /// The messages from the root to `leaf`, or to the shown leaf when `None`.
    pub async fn history(
        &self,
        conversation: Uuid,
        leaf: Option<Uuid>,
    ) -> Result<Vec<MessageNode>, AppError> {
        self.chat.branch(self.user, conversation, leaf).await
    }

    /// Makes the branch ending at `leaf` the one the conversation shows.
    pub async fn show(&self, conversation: Uuid, leaf: Uuid) -> Result<(), AppError> {
        self.chat
            .set_active_leaf(self.user, conversation, leaf)
            .await
    }

    /// Message count, branches, tokens, running replies and last activity.
    pub async fn stats(&self, conversation: Uuid) -> Result<ConversationStats, AppError> {
        self.chat.stats(self.user, conversation).await
    }

    /// Sends `text` to every conversation at once (each at the end of its
    /// shown branch) and waits for every reply. Results come in the order
    /// the replies finish.
    pub async fn broadcast(&self, conversations: &[Uuid], text: &str) -> Vec<BroadcastResult> {
        self.broadcast_with_progress(conversations, text, |_| {})
            .await
    }

    /// [`Arbor::broadcast`], calling `progress` as each conversation finishes.
    pub async fn broadcast_with_progress(
        &self,
        conversations: &[Uuid],
        text: &str,
        progress: impl Fn(&BroadcastResult),
    ) -> Vec<BroadcastResult> {
        stream::iter(conversations.iter().copied())
            .map(|conversation| async move {
                BroadcastResult {
                    conversation,
                    reply: self.ask(conversation, text).await,
                }
            })
            .buffer_unordered(BROADCAST_CONCURRENCY)
            .inspect(|result| progress(result))
            .collect()
            .await
    }

    /// How many conversations have an actor in memory.
    pub fn active_count(&self) -> usize {
        self.chat.active_count()
    }

    /// Every conversation with its message count and whether it is busy,
    /// most recently active first.
    pub async fn list(&self) -> Result<Vec<ConversationInfo>, AppError> {
        let summaries = self.chat.list_conversations(self.user).await?;
        let counts = self.chat.message_counts(self.user).await?;
        Ok(summaries
            .into_iter()
            .map(|summary| {
                let status = self.chat.live_status(summary.id);
                ConversationInfo {
                    messages: counts.get(&summary.id).copied().unwrap_or(0),
                    active: status.is_some(),
                    running: status.map_or(0, |s| s.running()),
                    id: summary.id,
                    title: summary.title,
                    updated_at: summary.updated_at,
                }
            })
            .collect())
    }

    /// Stops the conversation's actor (it stays stored and restarts on next
    /// use). Refused with `Busy` while a reply is being generated.
    pub async fn close(&self, conversation: Uuid) -> Result<(), AppError> {
        self.chat.close(self.user, conversation).await
    }

    /// Stops generating reply `message`; its text so far is kept.
    pub async fn interrupt(&self, conversation: Uuid, message: Uuid) -> Result<(), AppError> {
        self.chat.stop(self.user, conversation, message).await
    }
}
