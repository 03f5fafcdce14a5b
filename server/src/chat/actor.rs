//! One conversation's actor: a tokio task that owns the conversation while
//! it is in use. It holds the cached tree and every message's current text,
//! runs the conversation's generations (several branches may stream at
//! once), numbers and broadcasts every change through its [`EventLog`], and
//! is the only writer of its conversation's rows. It stops after a quiet
//! period with no subscriber and nothing generating.

mod branch_edits;
mod replays;

use super::event_log::{EventLog, Replay, Sequenced};
use super::generation::{self, derive_seed, estimate_tokens, GenerationUpdate, UpdateKind};
use super::status::ActorStatus;
use super::title;
use super::tools::{self, ToolScope, MAX_TOOL_ROUNDS};
use crate::catalog::{Catalog, ReplyPlan};
use crate::clock::now_ms;
use crate::providers::{GenerationRequest, ThreadMessage, TokenUsage};
use crate::storage::{Store, StoredMessage};
use app::errors::AppError;
use app::model::{
    BranchLabel, ChatEvent, ConversationSettings, EffectiveModel, EventCursor, MessageNode,
    MessageStatus, NodeOutline, PruneReceipt, ReplayStarted, ReplyParams, ReplyUsage, Role,
    SendReceipt, ToolCall,
};
use app::reading_window;
use app::replay::ReplayProgress;
use app::tree::{NodeLink, Tree};
use branch_edits::PrunedSubtree;
use futures::FutureExt;
use replays::{ReplayRun, TurnEnd};
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

/// Note stored on a reply the user stopped.
pub const STOPPED_NOTE: &str = "Stopped by user.";
/// Note stored on a reply whose generation died with an earlier actor or process.
pub const INTERRUPTED_NOTE: &str = "Interrupted: the server stopped before this reply finished.";
/// Note stored on a reply whose conversation's actor failed (panicked) while it was written.
pub const CRASHED_NOTE: &str =
    "Interrupted: this conversation hit an internal error. The text so far is kept.";

/// Where an actor sends the answer to a command.
pub type Reply<T> = oneshot::Sender<Result<T, AppError>>;

/// What the rest of the server can ask an actor. Every command names the
/// acting user; a user who does not own the conversation gets `NotFound`.
pub enum Command {
    Snapshot {
        user: Uuid,
        reply: Reply<Snapshot>,
    },
    Subscribe {
        user: Uuid,
        after: Option<EventCursor>,
        reply: Reply<Subscription>,
    },
    Send {
        user: Uuid,
        parent: Parent,
        client_id: String,
        text: String,
        reply: Reply<SendReceipt>,
    },
    Regenerate {
        user: Uuid,
        message: Uuid,
        reply: Reply<SendReceipt>,
    },
    /// Continues an interrupted or failed reply in a new sibling that
    /// starts with its text.
    Continue {
        user: Uuid,
        message: Uuid,
        reply: Reply<SendReceipt>,
    },
    Stop {
        user: Uuid,
        message: Uuid,
        reply: Reply<()>,
    },
    SetActiveLeaf {
        user: Uuid,
        leaf: Uuid,
        reply: Reply<()>,
    },
    SetSystemPrompt {
        user: Uuid,
        text: String,
        reply: Reply<()>,
    },
    /// Replaces the model, persona and sampler choices (already validated).
    SetSettings {
        user: Uuid,
        settings: ConversationSettings,
        reply: Reply<EffectiveModel>,
    },
    /// Deletes the conversation and every message, then stops the actor.
    Delete {
        user: Uuid,
        reply: Reply<()>,
    },
    /// Answers with the reply once it is no longer streaming (at once if it
    /// is not). If the actor stops first, the registry asks the next one.
    AwaitReply {
        user: Uuid,
        message: Uuid,
        reply: Reply<MessageNode>,
    },
    /// Every message without its text, oldest first.
    Outline {
        user: Uuid,
        reply: Reply<Vec<NodeOutline>>,
    },
    /// These messages, with their text; ids that do not exist (any more)
    /// are left out.
    Messages {
        user: Uuid,
        ids: Vec<Uuid>,
        reply: Reply<Vec<MessageNode>>,
    },
    /// The messages from the root to `leaf` (none: the shown leaf).
    Branch {
        user: Uuid,
        leaf: Option<Uuid>,
        reply: Reply<Vec<MessageNode>>,
    },
    /// Counts of the conversation's messages, branches and tokens.
    Stats {
        user: Uuid,
        reply: Reply<ConversationStats>,
    },
    /// Names the branch through `node` (`None`: removes its name).
    NameBranch {
        user: Uuid,
        node: Uuid,
        name: Option<String>,
        reply: Reply<()>,
    },
    /// Marks the branch through `node` as the main one (`None`: none is).
    SetMainBranch {
        user: Uuid,
        node: Option<Uuid>,
        reply: Reply<()>,
    },
    /// Hides `node` and everything below it, undoable for a while; refused
    /// while a reply in it is being written.
    Prune {
        user: Uuid,
        node: Uuid,
        reply: Reply<PruneReceipt>,
    },
    /// Brings back the subtree pruned at `root`.
    UndoPrune {
        user: Uuid,
        root: Uuid,
        reply: Reply<()>,
    },
    /// Re-runs the assistant turns of the branch ending at `leaf`, from
    /// `from` on (none: all), with `settings` (already validated), into a
    /// new sibling branch.
    Replay {
        user: Uuid,
        leaf: Uuid,
        from: Option<Uuid>,
        settings: ConversationSettings,
        reply: Reply<ReplayStarted>,
    },
    /// Stops a running replay (its reply so far is kept).
    StopReplay {
        user: Uuid,
        replay: Uuid,
        reply: Reply<()>,
    },
    /// Stops the actor (the conversation stays stored); refused while a
    /// reply is being generated.
    Close {
        user: Uuid,
        reply: Reply<()>,
    },
}

/// A conversation's size and state, as the programmatic API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationStats {
    pub messages: usize,
    /// Leaves of the tree: each is the end of one branch.
    pub branches: usize,
    /// Prompt and completion tokens over every reply (provider counts or estimates).
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Replies being generated now (0: idle).
    pub running: usize,
    /// Live event streams following the conversation.
    pub subscribers: usize,
    /// When the last message was written or chosen (Unix milliseconds).
    pub last_activity_ms: i64,
}

/// Where a new user message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// A new root: a fresh thread in the conversation.
    Root,
    /// Under this reply (editing a message sends under its parent).
    Message(Uuid),
    /// At the end of the branch the conversation shows (a new root if it is empty).
    ShownBranch,
}

/// The text a continued reply starts with, and the seed of the reply it continues.
struct Prefill {
    text: String,
    seed: Option<u64>,
}

/// Why a reply is being written, beyond the message it answers.
#[derive(Debug, Clone, Copy, Default)]
struct ReplyOrigin {
    /// How many model turns of this tool loop came before this one.
    tool_round: usize,
    /// The replay it is a turn of, if any (its settings apply).
    replay: Option<Uuid>,
}

/// The conversation's messages and position in its event stream, taken at one instant.
pub struct Snapshot {
    /// Every message without its text, oldest first; for a big tree only
    /// the window's messages and their siblings (see `outline_complete`).
    pub outline: Vec<NodeOutline>,
    pub outline_complete: bool,
    /// The newest messages of the shown branch, with their text.
    pub window: Vec<MessageNode>,
    pub active_leaf_id: Option<Uuid>,
    pub cursor: EventCursor,
    pub system_prompt: String,
    pub settings: ConversationSettings,
    /// The names of shown branches.
    pub labels: Vec<BranchLabel>,
    pub main_node_id: Option<Uuid>,
    pub replays: Vec<ReplayProgress>,
}

/// A subscriber's start: missed events to replay, then the live receiver.
pub struct Subscription {
    pub replay: Replay,
    pub live: broadcast::Receiver<Arc<Sequenced>>,
}

/// Shared by every actor: where to store, what generates, and timings.
#[derive(Clone)]
pub struct ActorContext {
    pub store: Arc<dyn Store>,
    /// Which providers, models and personas exist.
    pub catalog: Arc<Catalog>,
    /// How long an actor with no subscriber and no generation stays alive.
    pub idle_timeout: Duration,
    /// How often a streaming reply's text is saved.
    pub checkpoint_every: Duration,
    /// How many recent events are kept for resuming subscribers.
    pub replay_capacity: usize,
    /// A generation that receives nothing for this long fails.
    pub stream_idle_timeout: Duration,
}

/// Whether the actor keeps serving after a command.
enum Flow {
    Continue,
    /// Stop; the reply, if any, is answered once no command can reach the
    /// actor any more, so the caller sees it gone.
    Stop(Option<Reply<()>>),
}

/// One actor's share of the `arbor_running_generations` gauge, kept in step
/// by [`ConversationActor::report_status`]; dropping it (the actor stopping,
/// even by a panic) takes the share back.
#[derive(Default)]
struct RunningGauge {
    counted: usize,
}

impl RunningGauge {
    fn set(&mut self, running: usize) {
        if running != self.counted {
            metrics::gauge!("arbor_running_generations")
                .increment(running as f64 - self.counted as f64);
            self.counted = running;
        }
    }
}

impl Drop for RunningGauge {
    fn drop(&mut self) {
        self.set(0);
    }
}

/// What woke the actor up.
enum Wake {
    Command(Box<Command>),
    Update(GenerationUpdate),
    /// Nothing happened for the idle timeout.
    Quiet,
}

/// The next generation update, or never if no generation ever started.
async fn next_update(
    updates: &mut Option<mpsc::Receiver<GenerationUpdate>>,
) -> Option<GenerationUpdate> {
    match updates {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// A generation in progress and what is measured about it. Dropping it
/// (the actor stopping or failing) cancels the generation.
struct Running {
    task: JoinHandle<()>,
    last_checkpoint: Instant,
    started: Instant,
    first_text: Option<Instant>,
    usage: TokenUsage,
    /// Size of the thread sent, for estimating prompt tokens.
    prompt_chars: usize,
    /// The tools the reply calls (known at its end).
    tool_calls: Vec<ToolCall>,
    origin: ReplyOrigin,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Running {
    /// The reply's token counts (the provider's, else estimated) and timing.
    fn reply_usage(&self, content: &str) -> ReplyUsage {
        let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        ReplyUsage {
            prompt_tokens: self
                .usage
                .prompt
                .unwrap_or_else(|| estimate_tokens(self.prompt_chars)),
            completion_tokens: self
                .usage
                .completion
                .unwrap_or_else(|| estimate_tokens(content.chars().count())),
            estimated: self.usage.prompt.is_none() || self.usage.completion.is_none(),
            time_to_first_token_ms: self.first_text.map(|t| millis(t - self.started)),
            total_ms: millis(self.started.elapsed()),
        }
    }
}

/// The actor's state; see the module documentation.
pub struct ConversationActor {
    id: Uuid,
    owner: Uuid,
    tree: Tree,
    messages: HashMap<Uuid, MessageNode>,
    client_ids: HashMap<String, Uuid>,
    active_leaf: Option<Uuid>,
    log: EventLog,
    running: HashMap<Uuid, Running>,
    /// Where generations send their progress; made with the first one.
    updates: Option<mpsc::Sender<GenerationUpdate>>,
    updates_rx: Option<mpsc::Receiver<GenerationUpdate>>,
    status: Arc<ActorStatus>,
    running_gauge: RunningGauge,
    context: ActorContext,
    /// The conversation had no title when loaded and none was made yet.
    needs_title: bool,
    /// Sent before every message to the model (empty: none).
    system_prompt: String,
    /// Model, persona and sampler choices for new replies.
    settings: ConversationSettings,
    /// Callers waiting for a streaming reply to end, by reply.
    waiters: HashMap<Uuid, Vec<Reply<MessageNode>>>,
    /// Every branch name, on shown and pruned nodes alike (names are unique
    /// across both, so an undone prune never clashes).
    labels: Vec<BranchLabel>,
    /// The node whose branch is the main one.
    main_node: Option<Uuid>,
    /// Subtrees pruned recently enough to be restored, oldest first.
    pruned: Vec<PrunedSubtree>,
    /// Replays running, by id.
    replays: HashMap<Uuid, ReplayRun>,
}

impl ConversationActor {
    /// Reads the conversation from the database. Writes nothing, so a load
    /// that loses a race to another one leaves no trace.
    pub async fn load(id: Uuid, context: ActorContext) -> Result<Self, AppError> {
        let record = context
            .store
            .conversation(id)
            .await?
            .ok_or_else(|| AppError::NotFound("conversation".into()))?;
        let stored = context.store.messages(id).await?;
        let tree = Tree::from_links(stored.iter().map(|m| NodeLink::from(&m.node)));
        let client_ids = stored
            .iter()
            .filter_map(|m| Some((m.client_id.clone()?, m.node.id)))
            .collect();
        let messages: HashMap<Uuid, MessageNode> =
            stored.into_iter().map(|m| (m.node.id, m.node)).collect();
        let pruned = PrunedSubtree::group(context.store.pruned_messages(id).await?);
        let mut labels = context.store.branch_labels(id).await?;
        labels.retain(|l| {
            messages.contains_key(&l.node_id)
                || pruned
                    .iter()
                    .any(|p| p.messages.iter().any(|m| m.node.id == l.node_id))
        });
        let status = Arc::new(ActorStatus::default());
        status.record(0, messages.len(), now_ms());
        // Microseconds of the start time tell this incarnation's event ids
        // apart from any earlier one's.
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        Ok(ConversationActor {
            id,
            owner: record.owner_id,
            tree,
            messages,
            client_ids,
            active_leaf: record.active_leaf_id,
            log: EventLog::new(epoch, context.replay_capacity),
            running: HashMap::new(),
            updates: None,
            updates_rx: None,
            status,
            running_gauge: RunningGauge::default(),
            context,
            needs_title: record.summary.title.trim().is_empty(),
            system_prompt: record.system_prompt,
            settings: record.settings,
            waiters: HashMap::new(),
            labels,
            main_node: record.main_node_id,
            pruned,
            replays: HashMap::new(),
        })
    }

    /// What outsiders can see of this actor without asking it.
    pub fn status(&self) -> Arc<ActorStatus> {
        self.status.clone()
    }

    /// Serves commands until closed, deleted or idle. Each command and each
    /// generation update runs as one step; a step that panics ends the actor
    /// after saving its running replies as interrupted (see
    /// [`Self::recover_from_panic`]), and the registry starts a fresh one from
    /// the database on the conversation's next use.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Box<Command>>) {
        let mut updates: Option<mpsc::Receiver<GenerationUpdate>> = None;
        let orphans = AssertUnwindSafe(Box::pin(self.interrupt_orphans())).catch_unwind();
        if let Err(panic) = orphans.await {
            self.recover_from_panic(panic).await;
            return;
        }
        let idle = self.context.idle_timeout;
        loop {
            if updates.is_none() {
                updates = self.updates_rx.take();
            }
            let deadline = Instant::now() + idle;
            let wake = tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => Wake::Command(command),
                    None => break,
                },
                Some(update) = next_update(&mut updates) => Wake::Update(update),
                () = tokio::time::sleep_until(deadline) => Wake::Quiet,
            };
            let this = &mut self;
            let step: Pin<Box<dyn Future<Output = Flow> + Send + '_>> = match wake {
                Wake::Command(command) => Box::pin(this.handle(*command)),
                Wake::Update(update) => Box::pin(async move {
                    this.on_update(update).await;
                    Flow::Continue
                }),
                Wake::Quiet if self.running.is_empty() && self.log.subscriber_count() == 0 => break,
                Wake::Quiet => continue,
            };
            match AssertUnwindSafe(step).catch_unwind().await {
                Ok(Flow::Continue) => self.report_status(),
                Ok(Flow::Stop(reply)) => {
                    commands.close();
                    if let Some(reply) = reply {
                        _ = reply.send(Ok(()));
                    }
                    break;
                }
                Err(panic) => {
                    // Commands still queued were never started: their
                    // callers retry them on a fresh actor.
                    commands.close();
                    self.recover_from_panic(panic).await;
                    break;
                }
            }
        }
        self.running.clear();
        self.running_gauge.set(0);
        tracing::debug!(conversation = %self.id, "actor stopped");
    }

    /// Publishes the actor's state after a step.
    fn report_status(&mut self) {
        self.running_gauge.set(self.running.len());
        self.status
            .record(self.running.len(), self.messages.len(), now_ms());
    }

    /// A step panicked, so the actor's state cannot be trusted beyond each
    /// reply's text: cancel every generation and store its reply as
    /// interrupted with the text it had. If storing panics too, the next
    /// actor marks what is left as interrupted when it loads.
    async fn recover_from_panic(&mut self, panic: Box<dyn Any + Send>) {
        let reason = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        tracing::error!(
            conversation = %self.id,
            %reason,
            running = self.running.len(),
            "the conversation's actor panicked; its replies are kept as interrupted"
        );
        metrics::counter!("arbor_actor_panics_total").increment(1);
        self.status.mark_panicked();
        let running: Vec<(Uuid, Running)> = self.running.drain().collect();
        self.running_gauge.set(0);
        for (id, generation) in running {
            generation.task.abort();
            let usage = self.usage_of(&generation, id);
            let saved = AssertUnwindSafe(Box::pin(self.finish(
                id,
                MessageStatus::Interrupted,
                Some(CRASHED_NOTE.into()),
                usage,
            )))
            .catch_unwind()
            .await;
            if saved.is_err() {
                tracing::error!(conversation = %self.id, "could not save replies after a panic");
                break;
            }
        }
        self.status.record(0, self.messages.len(), now_ms());
    }

    /// The sender generations report through, made on first use (an idle
    /// actor keeps no channel).
    fn updates_sender(&mut self) -> mpsc::Sender<GenerationUpdate> {
        if let Some(sender) = &self.updates {
            return sender.clone();
        }
        let (sender, receiver) = mpsc::channel(256);
        self.updates = Some(sender.clone());
        self.updates_rx = Some(receiver);
        sender
    }

    /// Replies left `streaming` by an earlier actor or process have no
    /// generation behind them any more: keep their text, mark them interrupted.
    async fn interrupt_orphans(&mut self) {
        let orphans: Vec<Uuid> = self
            .messages
            .values()
            .filter(|m| m.status == MessageStatus::Streaming)
            .map(|m| m.id)
            .collect();
        for id in orphans {
            self.finish(
                id,
                MessageStatus::Interrupted,
                Some(INTERRUPTED_NOTE.into()),
                None,
            )
            .await;
        }
    }

    async fn handle(&mut self, command: Command) -> Flow {
        // Each answer is sent even if the asker has gone away meanwhile.
        match command {
            Command::Snapshot { user, reply } => {
                _ = reply.send(self.check_owner(user).map(|()| self.snapshot()));
            }
            Command::Subscribe { user, after, reply } => {
                _ = reply.send(self.check_owner(user).map(|()| Subscription {
                    replay: self.log.replay_after(after),
                    live: self.log.subscribe(),
                }));
            }
            Command::Send {
                user,
                parent,
                client_id,
                text,
                reply,
            } => {
                let result = async {
                    self.check_owner(user)?;
                    self.send(parent, client_id, text).await
                };
                _ = reply.send(result.await);
            }
            Command::Regenerate {
                user,
                message,
                reply,
            } => {
                let result = async {
                    self.check_owner(user)?;
                    self.regenerate(message).await
                };
                _ = reply.send(result.await);
            }
            Command::Continue {
                user,
                message,
                reply,
            } => {
                let result = async {
                    self.check_owner(user)?;
                    self.continue_reply(message).await
                };
                _ = reply.send(result.await);
            }
            Command::Stop {
                user,
                message,
                reply,
            } => {
                let result = async {
                    self.check_owner(user)?;
                    self.stop(message).await
                };
                _ = reply.send(result.await);
            }
            Command::SetActiveLeaf { user, leaf, reply } => {
                let result = async {
                    self.check_owner(user)?;
                    self.set_active_leaf(leaf).await
                };
                _ = reply.send(result.await);
            }
            Command::SetSystemPrompt { user, text, reply } => {
                let result = async {
                    self.check_owner(user)?;
                    self.context.store.set_system_prompt(self.id, &text).await?;
                    self.system_prompt = text;
                    Ok(())
                };
                _ = reply.send(result.await);
            }
            Command::SetSettings {
                user,
                settings,
                reply,
            } => {
                let result = async {
                    self.check_owner(user)?;
                    self.context
                        .store
                        .set_generation_settings(self.id, &settings)
                        .await?;
                    self.settings = settings;
                    Ok(self.context.catalog.effective_model(&self.settings))
                };
                _ = reply.send(result.await);
            }
            Command::AwaitReply {
                user,
                message,
                reply,
            } => {
                let found = self.check_owner(user).and_then(|()| {
                    self.messages
                        .get(&message)
                        .ok_or_else(|| AppError::NotFound("message".into()))
                });
                match found {
                    Ok(node) if node.status == MessageStatus::Streaming => {
                        self.waiters.entry(message).or_default().push(reply);
                    }
                    other => _ = reply.send(other.cloned()),
                }
            }
            Command::Outline { user, reply } => {
                _ = reply.send(self.check_owner(user).map(|()| self.outline()));
            }
            Command::Messages { user, ids, reply } => {
                _ = reply.send(self.check_owner(user).map(|()| {
                    ids.iter()
                        .filter_map(|id| self.messages.get(id).cloned())
                        .collect()
                }));
            }
            Command::Branch { user, leaf, reply } => {
                _ = reply.send(self.check_owner(user).and_then(|()| self.branch(leaf)));
            }
            Command::Stats { user, reply } => {
                _ = reply.send(self.check_owner(user).map(|()| self.stats()));
            }
            Command::NameBranch {
                user,
                node,
                name,
                reply,
            } => {
                let result = async {
                    self.check_owner(user)?;
                    self.name_branch(node, name).await
                };
                _ = reply.send(result.await);
            }
            Command::SetMainBranch { user, node, reply } => {
                let result = async {
                    self.check_owner(user)?;
                    self.set_main_branch(node).await
                };
                _ = reply.send(result.await);
            }
            Command::Prune { user, node, reply } => {
                let result = async {
                    self.check_owner(user)?;
                    self.prune(node).await
                };
                _ = reply.send(result.await);
            }
            Command::UndoPrune { user, root, reply } => {
                let result = async {
                    self.check_owner(user)?;
                    self.undo_prune(root).await
                };
                _ = reply.send(result.await);
            }
            Command::Replay {
                user,
                leaf,
                from,
                settings,
                reply,
            } => {
                let result = async {
                    self.check_owner(user)?;
                    self.start_replay(leaf, from, settings).await
                };
                _ = reply.send(result.await);
            }
            Command::StopReplay {
                user,
                replay,
                reply,
            } => {
                let result = async {
                    self.check_owner(user)?;
                    self.stop_replay(replay).await
                };
                _ = reply.send(result.await);
            }
            Command::Close { user, reply } => {
                let closing = self.check_owner(user).and_then(|()| {
                    if self.running.is_empty() {
                        Ok(())
                    } else {
                        Err(AppError::Busy(format!(
                            "the conversation is generating {} repl{}; interrupt {} or wait \
                             before closing it",
                            self.running.len(),
                            if self.running.len() == 1 { "y" } else { "ies" },
                            if self.running.len() == 1 {
                                "it"
                            } else {
                                "them"
                            },
                        )))
                    }
                });
                return match closing {
                    Ok(()) => Flow::Stop(Some(reply)),
                    Err(error) => {
                        _ = reply.send(Err(error));
                        Flow::Continue
                    }
                };
            }
            Command::Delete { user, reply } => {
                return match self.delete(user).await {
                    Ok(()) => Flow::Stop(Some(reply)),
                    Err(error) => {
                        _ = reply.send(Err(error));
                        Flow::Continue
                    }
                };
            }
        }
        Flow::Continue
    }

    /// Deletes the conversation. Running generations are abandoned: the
    /// actor stops right after, and their rows are gone.
    async fn delete(&mut self, user: Uuid) -> Result<(), AppError> {
        self.check_owner(user)?;
        if !self
            .context
            .store
            .delete_conversation(user, self.id)
            .await?
        {
            return Err(AppError::NotFound("conversation".into()));
        }
        Ok(())
    }

    fn check_owner(&self, user: Uuid) -> Result<(), AppError> {
        if user == self.owner {
            Ok(())
        } else {
            Err(AppError::NotFound("conversation".into()))
        }
    }

    fn branch(&self, leaf: Option<Uuid>) -> Result<Vec<MessageNode>, AppError> {
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

    fn stats(&self) -> ConversationStats {
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

    fn outline(&self) -> Vec<NodeOutline> {
        let mut outline: Vec<NodeOutline> = self.messages.values().map(NodeOutline::from).collect();
        outline.sort_by_key(|n| (n.created_at, n.id));
        outline
    }

    fn snapshot(&self) -> Snapshot {
        let path = self
            .tree
            .initial_leaf(self.active_leaf)
            .map(|leaf| self.tree.path_to(leaf))
            .unwrap_or_default();
        let window = reading_window::Window::NEWEST
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
        Snapshot {
            outline,
            outline_complete,
            window,
            active_leaf_id: self.active_leaf,
            cursor: self.log.cursor(),
            system_prompt: self.system_prompt.clone(),
            settings: self.settings.clone(),
            labels: self.shown_labels(),
            main_node_id: self.main_node,
            replays: self.running_replays(),
        }
    }

    async fn send(
        &mut self,
        parent: Parent,
        client_id: String,
        text: String,
    ) -> Result<SendReceipt, AppError> {
        if let Some(existing) = self.client_ids.get(&client_id) {
            return self.receipt_for(*existing);
        }
        let parent = match parent {
            Parent::Root => None,
            Parent::Message(id) => Some(id),
            Parent::ShownBranch => self.active_leaf,
        };
        if let Some(parent_id) = parent {
            let parent = self
                .messages
                .get(&parent_id)
                .ok_or_else(|| AppError::NotFound("parent message".into()))?;
            if parent.role == Role::User {
                return Err(AppError::BadRequest(
                    "a message can only be sent under a reply, not under another user message"
                        .into(),
                ));
            }
            if parent.status == MessageStatus::Streaming {
                return Err(AppError::Busy(
                    "the reply you are answering is still being written: wait for it or stop it"
                        .into(),
                ));
            }
        }
        let user = MessageNode::new(
            Uuid::now_v7(),
            parent,
            Role::User,
            text,
            MessageStatus::Complete,
            now_ms(),
        );
        let user = StoredMessage {
            node: user,
            client_id: Some(client_id),
        };
        self.create_reply(user.node.id, Some(user), None, ReplyOrigin::default())
            .await
    }

    /// The assistant reply `message` and the message it answers, for
    /// starting a sibling of it; `verb` names the action in errors.
    fn reply_and_parent(
        &self,
        message: Uuid,
        verb: &str,
    ) -> Result<(&MessageNode, Uuid), AppError> {
        let node = self
            .messages
            .get(&message)
            .ok_or_else(|| AppError::NotFound("message".into()))?;
        if node.role != Role::Assistant {
            return Err(AppError::BadRequest(format!(
                "only assistant replies can be {verb}; edit a user message instead"
            )));
        }
        let parent = node.parent_id.ok_or_else(|| {
            AppError::BadRequest(format!(
                "this reply answers no message, so it cannot be {verb}"
            ))
        })?;
        Ok((node, parent))
    }

    async fn regenerate(&mut self, message: Uuid) -> Result<SendReceipt, AppError> {
        let (_, parent) = self.reply_and_parent(message, "regenerated")?;
        self.create_reply(parent, None, None, ReplyOrigin::default())
            .await
    }

    /// Starts a sibling of an interrupted or failed reply that begins with
    /// its text and asks the model to go on from there. The offline model
    /// reuses the original's seed, so it carries on with the same reply.
    async fn continue_reply(&mut self, message: Uuid) -> Result<SendReceipt, AppError> {
        let (node, parent) = self.reply_and_parent(message, "continued")?;
        match node.status {
            MessageStatus::Streaming => {
                return Err(AppError::Busy(
                    "this reply is still being written: stop it first".into(),
                ))
            }
            MessageStatus::Complete => {
                return Err(AppError::BadRequest(
                    "this reply is complete; regenerate it for another one".into(),
                ))
            }
            MessageStatus::Interrupted | MessageStatus::Error => {}
        }
        if node.content.trim().is_empty() {
            return Err(AppError::BadRequest(
                "this reply has no text to continue; regenerate it instead".into(),
            ));
        }
        let prefill = Prefill {
            text: node.content.clone(),
            seed: node.params.as_ref().and_then(|p| p.sampler.seed),
        };
        self.create_reply(parent, None, Some(prefill), ReplyOrigin::default())
            .await
    }

    /// Stores (the new user message and) a streaming assistant reply under
    /// `parent`, shows it, announces it, and starts generating with the
    /// model and parameters the catalog plans for this conversation.
    async fn create_reply(
        &mut self,
        parent: Uuid,
        user: Option<StoredMessage>,
        prefill: Option<Prefill>,
        origin: ReplyOrigin,
    ) -> Result<SendReceipt, AppError> {
        let settings = origin
            .replay
            .and_then(|r| self.replays.get(&r))
            .map_or(&self.settings, |r| &r.settings)
            .clone();
        let mut plan = self.context.catalog.plan(&settings);
        let system_prompt = self.effective_system_prompt(&plan);
        let mut thread = match &user {
            Some(user) => self.thread_to(&system_prompt, user.node.parent_id, Some(&user.node)),
            None => self.thread_to(&system_prompt, Some(parent), None),
        };
        if let Some(prefill) = &prefill {
            // The reply so far, as the start of the model's own turn.
            thread.push(ThreadMessage::new(Role::Assistant, prefill.text.clone()));
        }
        if plan.provider.is_offline() && plan.params.seed.is_none() {
            // The offline model needs a seed: a continued reply keeps the one
            // it continues; otherwise one per thread and sibling position, so
            // each regeneration differs and every reply can be reproduced.
            // (A new user message has no replies yet: position 0.)
            let sibling_index = self.tree.children(Some(parent)).len();
            let kept = prefill.as_ref().and_then(|p| p.seed);
            plan.params.seed = Some(kept.unwrap_or_else(|| derive_seed(&thread, sibling_index)));
        }
        let now = now_ms();
        let stamp = self.tree.activity_stamp(now);
        let assistant = MessageNode {
            id: Uuid::now_v7(),
            parent_id: Some(parent),
            role: Role::Assistant,
            content: prefill.map(|p| p.text).unwrap_or_default(),
            status: MessageStatus::Streaming,
            model: Some(plan.key.clone()),
            params: Some(ReplyParams {
                sampler: plan.params.clone(),
                persona: settings.persona.clone(),
                system_prompt: (!system_prompt.trim().is_empty()).then_some(system_prompt),
            }),
            note: None,
            last_active_at: Some(stamp),
            usage: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            created_at: now.max(user.as_ref().map_or(0, |u| u.node.created_at)),
        };
        let mut rows: Vec<StoredMessage> = user.into_iter().collect();
        rows.push(StoredMessage {
            node: assistant.clone(),
            client_id: None,
        });
        self.context
            .store
            .insert_messages(self.id, &rows, assistant.id)
            .await?;

        let mut user_node = None;
        for row in rows {
            if let Some(client_id) = row.client_id {
                self.client_ids.insert(client_id, row.node.id);
            }
            self.tree.insert(NodeLink::from(&row.node));
            if row.node.role == Role::User {
                user_node = Some(row.node.clone());
            }
            self.messages.insert(row.node.id, row.node.clone());
            self.log.publish(ChatEvent::Message {
                node: Box::new(row.node),
            });
        }
        self.tree.mark_active(assistant.id, stamp);
        self.active_leaf = Some(assistant.id);

        let prompt_chars = thread.iter().map(|m| m.content.chars().count()).sum();
        let task = generation::spawn(
            plan.provider.clone(),
            GenerationRequest {
                model: plan.model_id,
                thread,
                params: plan.params,
                tools: if settings.tools
                    && plan.provider.supports_tools()
                    && origin.tool_round + 1 < MAX_TOOL_ROUNDS
                {
                    tools::specs()
                } else {
                    Vec::new()
                },
            },
            assistant.id,
            self.updates_sender(),
            self.context.stream_idle_timeout,
        );
        self.running.insert(
            assistant.id,
            Running {
                task,
                last_checkpoint: Instant::now(),
                started: Instant::now(),
                first_text: None,
                usage: TokenUsage::default(),
                prompt_chars,
                tool_calls: Vec::new(),
                origin,
            },
        );
        Ok(SendReceipt {
            user: user_node,
            assistant,
        })
    }

    /// The system prompt new replies get: the conversation's own, else its persona's.
    fn effective_system_prompt(&self, plan: &ReplyPlan) -> String {
        if self.system_prompt.trim().is_empty() {
            plan.persona_prompt.clone()
        } else {
            self.system_prompt.clone()
        }
    }

    /// The receipt of a message already stored under the same client id.
    fn receipt_for(&self, user_id: Uuid) -> Result<SendReceipt, AppError> {
        let user = self.messages.get(&user_id).cloned();
        let assistant = self
            .tree
            .children(Some(user_id))
            .first()
            .and_then(|id| self.messages.get(id))
            .cloned();
        match (user, assistant) {
            (Some(user), Some(assistant)) => Ok(SendReceipt {
                user: Some(user),
                assistant,
            }),
            _ => Err(AppError::Internal(
                "a message with this client id exists but has no reply".into(),
            )),
        }
    }

    /// The thread a model sees when answering `until` (and then `extra`, a
    /// user message not stored yet): the system prompt, then the path.
    fn thread_to(
        &self,
        system_prompt: &str,
        until: Option<Uuid>,
        extra: Option<&MessageNode>,
    ) -> Vec<ThreadMessage> {
        let system = (!system_prompt.trim().is_empty())
            .then(|| ThreadMessage::new(Role::System, system_prompt.to_string()));
        let path = until.map(|id| self.tree.path_to(id)).unwrap_or_default();
        let messages = path
            .iter()
            .filter_map(|id| self.messages.get(id))
            .chain(extra)
            .filter(|m| !m.content.is_empty() || !m.tool_calls.is_empty() || m.role == Role::Tool)
            .map(|m| ThreadMessage {
                role: m.role,
                content: m.content.clone(),
                tool_calls: m.tool_calls.clone(),
                tool_call_id: m.tool_call_id.clone(),
            });
        system.into_iter().chain(messages).collect()
    }

    async fn stop(&mut self, message: Uuid) -> Result<(), AppError> {
        if !self.messages.contains_key(&message) {
            return Err(AppError::NotFound("message".into()));
        }
        if let Some(running) = self.running.remove(&message) {
            running.task.abort();
            let usage = self.usage_of(&running, message);
            self.finish(
                message,
                MessageStatus::Interrupted,
                Some(STOPPED_NOTE.into()),
                usage,
            )
            .await;
            self.replay_turn_ended(running.origin.replay, message, TurnEnd::Stopped)
                .await;
        }
        Ok(())
    }

    async fn set_active_leaf(&mut self, leaf: Uuid) -> Result<(), AppError> {
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

    async fn on_update(&mut self, update: GenerationUpdate) {
        let id = update.id;
        match update.kind {
            UpdateKind::Text { text, pieces } => {
                let (Some(running), Some(node)) =
                    (self.running.get_mut(&id), self.messages.get_mut(&id))
                else {
                    return; // stopped meanwhile: the rest is dropped
                };
                node.content.push_str(&text);
                running.first_text.get_or_insert_with(Instant::now);
                self.status.add_deltas(pieces);
                metrics::counter!("arbor_tokens_streamed_total").increment(pieces);
                if running.last_checkpoint.elapsed() >= self.context.checkpoint_every {
                    running.last_checkpoint = Instant::now();
                    if let Err(error) = self
                        .context
                        .store
                        .checkpoint_message(id, &node.content, now_ms())
                        .await
                    {
                        tracing::error!(%error, reply = %id, "checkpoint failed");
                    }
                }
                self.log.publish(ChatEvent::Delta { id, text });
            }
            UpdateKind::Title(title) => self.set_title(title).await,
            UpdateKind::Usage(usage) => {
                if let Some(running) = self.running.get_mut(&id) {
                    running.usage = running.usage.merge(usage);
                }
            }
            UpdateKind::ToolCalls(calls) => {
                if let Some(running) = self.running.get_mut(&id) {
                    running.tool_calls = calls;
                }
            }
            UpdateKind::Finished(result) => {
                let Some(mut running) = self.running.remove(&id) else {
                    return;
                };
                let usage = self.usage_of(&running, id);
                match result {
                    Ok(()) if !running.tool_calls.is_empty() => {
                        let calls = std::mem::take(&mut running.tool_calls);
                        if let Some(node) = self.messages.get_mut(&id) {
                            node.tool_calls = calls.clone();
                        }
                        self.finish(id, MessageStatus::Complete, None, usage).await;
                        self.run_tools(id, calls, running.origin).await;
                    }
                    Ok(()) => {
                        self.finish(id, MessageStatus::Complete, None, usage).await;
                        self.name_conversation(id).await;
                        self.replay_turn_ended(running.origin.replay, id, TurnEnd::Complete)
                            .await;
                    }
                    Err(error) => {
                        metrics::counter!("arbor_provider_errors_total", "kind" => error.kind.as_str())
                            .increment(1);
                        let note = error.to_string();
                        self.finish(id, MessageStatus::Error, Some(note.clone()), usage)
                            .await;
                        self.replay_turn_ended(running.origin.replay, id, TurnEnd::Failed(note))
                            .await;
                    }
                }
            }
        }
    }

    /// Runs the tools reply `id` called, stores each result as a tool node
    /// (a chain below the reply), and asks the model to go on from the
    /// last one.
    async fn run_tools(&mut self, id: Uuid, calls: Vec<ToolCall>, origin: ReplyOrigin) {
        let mut parent = id;
        for call in calls {
            let result = {
                let path = self.tree.path_to(parent);
                let scope = ToolScope {
                    store: &self.context.store,
                    owner: self.owner,
                    conversation: self.id,
                    branch: path.iter().filter_map(|n| self.messages.get(n)).collect(),
                };
                tools::run(&call, &scope).await
            };
            let now = now_ms();
            let node = MessageNode {
                model: Some(call.name.clone()),
                tool_call_id: Some(call.id.clone()),
                ..MessageNode::new(
                    Uuid::now_v7(),
                    Some(parent),
                    Role::Tool,
                    result,
                    MessageStatus::Complete,
                    now,
                )
            };
            let row = StoredMessage {
                node: node.clone(),
                client_id: None,
            };
            if let Err(error) = self
                .context
                .store
                .insert_messages(self.id, &[row], node.id)
                .await
            {
                tracing::error!(%error, reply = %id, "could not store a tool result");
                let note = format!("a tool result could not be stored: {error}");
                self.replay_turn_ended(origin.replay, id, TurnEnd::Failed(note))
                    .await;
                return;
            }
            self.tree.insert(NodeLink::from(&node));
            self.messages.insert(node.id, node.clone());
            self.active_leaf = Some(node.id);
            parent = node.id;
            self.log.publish(ChatEvent::Message {
                node: Box::new(node),
            });
        }
        let next = ReplyOrigin {
            tool_round: origin.tool_round + 1,
            replay: origin.replay,
        };
        if let Err(error) = self.create_reply(parent, None, None, next).await {
            tracing::error!(?error, reply = %id, "could not answer after the tools ran");
            let note = format!("the model could not be asked after its tools ran: {error}");
            self.replay_turn_ended(origin.replay, id, TurnEnd::Failed(note))
                .await;
        }
    }

    /// After the first complete reply of an untitled conversation, names it:
    /// the offline model by the first message's words, any other model by
    /// asking it (falling back to those words).
    async fn name_conversation(&mut self, reply: Uuid) {
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

    /// The usage of the reply `running` was generating.
    fn usage_of(&self, running: &Running, id: Uuid) -> Option<ReplyUsage> {
        let node = self.messages.get(&id)?;
        Some(running.reply_usage(&node.content))
    }

    /// Stores a reply's final state and announces it.
    async fn finish(
        &mut self,
        id: Uuid,
        status: MessageStatus,
        note: Option<String>,
        usage: Option<ReplyUsage>,
    ) {
        let Some(node) = self.messages.get_mut(&id) else {
            return;
        };
        node.status = status;
        node.note = note.clone();
        node.usage = usage;
        if let Err(error) = self.context.store.finish_message(node, now_ms()).await {
            tracing::error!(%error, reply = %id, "could not store the end of a reply");
        }
        let tool_calls = node.tool_calls.clone();
        let waiters = self.waiters.remove(&id).unwrap_or_default();
        if !waiters.is_empty() {
            let ended = node.clone();
            // Whoever is told the reply ended must not see it still running.
            self.status
                .record(self.running.len(), self.messages.len(), now_ms());
            for waiter in waiters {
                _ = waiter.send(Ok(ended.clone()));
            }
        }
        self.log.publish(ChatEvent::Done {
            id,
            status,
            note,
            usage,
            tool_calls,
        });
    }
}
