//! One conversation's actor: a tokio task that owns the conversation while
//! it is in use. It holds the cached tree and every message's current text,
//! runs the conversation's generations (several branches may stream at
//! once), numbers and broadcasts every change through its [`EventLog`], and
//! is the only writer of its conversation's rows. It stops after a quiet
//! period with no subscriber, nothing generating and no title on its way.
//!
//! This file holds its state, loading, the run loop, panic recovery and the
//! dispatch of [`Command`]s (with the one owner check); each kind of work
//! has a file of its own: `replies` (send, regenerate, continue, stop,
//! the tool loop, finishing), `view` (snapshots and reads),
//! `branch_edits`, `replays`, `settings` and `naming`.

mod branch_edits;
pub mod command;
mod naming;
mod replays;
mod replies;
mod settings;
mod view;

pub use command::{Command, ConversationStats, Op, Parent, Reply, Snapshot, Subscription};

use super::event_log::{EventLog, RelaySender};
use super::generation::{GenerationUpdate, StreamPace};
use super::status::ActorStatus;
use crate::catalog::Catalog;
use crate::clock::now_ms;
use crate::storage::Store;
use app::domain::errors::AppError;
use app::domain::model::{BranchLabel, ConversationSettings, MessageNode, MessageStatus};
use app::domain::tree::{NodeLink, Tree};
use branch_edits::PrunedSubtree;
use futures::FutureExt;
use replays::ReplayRun;
use replies::Running;
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

/// Note stored on a reply the user stopped.
pub const STOPPED_NOTE: &str = "Stopped by user.";
/// Note stored on a reply whose generation died with an earlier actor or process.
pub const INTERRUPTED_NOTE: &str = "Interrupted: the server stopped before this reply finished.";
/// Note stored on a reply whose conversation's actor failed (panicked) while it was written.
pub const CRASHED_NOTE: &str =
    "Interrupted: this conversation hit an internal error. The text so far is kept.";

/// Why a reply is being written, beyond the message it answers.
#[derive(Debug, Clone, Copy, Default)]
struct ReplyOrigin {
    /// How many model turns of this tool loop came before this one.
    tool_round: usize,
    /// The replay it is a turn of, if any (its settings apply).
    replay: Option<Uuid>,
}

/// Shared by every actor: where to store, what generates, and timings.
#[derive(Clone)]
pub struct ActorContext {
    pub store: Arc<dyn Store>,
    /// Which providers, models and personas exist.
    pub catalog: Arc<Catalog>,
    /// How long an actor with no subscriber, no generation and no title on
    /// its way stays alive.
    pub idle_timeout: Duration,
    /// How often a streaming reply's text is saved.
    pub checkpoint_every: Duration,
    /// How many recent events are kept for resuming subscribers.
    pub replay_capacity: usize,
    /// When a generation gives up on a silent model, and how often it
    /// passes text on.
    pub stream_pace: StreamPace,
    /// Where events go that clients on other nodes follow (`None`: this
    /// node shares its database with no other).
    pub relay: Option<RelaySender>,
    /// How long one watch by another node lasts unless asked again.
    pub watch_lapse: Duration,
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
    /// The model is being asked for a title; the actor waits for it before
    /// stopping for quiet, or the title would be lost.
    naming: bool,
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
            naming: false,
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
    /// `Self::recover_from_panic`), and the registry starts a fresh one from
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
                Wake::Quiet if self.is_quiet() => break,
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

    /// Nothing generating, nobody following and no title on its way.
    fn is_quiet(&self) -> bool {
        self.running.is_empty() && self.log.subscriber_count() == 0 && !self.naming
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

    /// Performs one command, after checking that its user owns the
    /// conversation (the only owner check of an actor's work).
    async fn handle(&mut self, command: Command) -> Flow {
        let Command { user, op } = command;
        if user != self.owner {
            op.refuse(AppError::NotFound("conversation".into()));
            return Flow::Continue;
        }
        // Each answer is sent even if the asker has gone away meanwhile.
        match op {
            Op::Snapshot { focus, reply } => _ = reply.send(Ok(self.snapshot(focus))),
            Op::Subscribe { after, reply } => _ = reply.send(Ok(self.subscribe(after))),
            Op::Watch { after, reply } => _ = reply.send(self.watch(after)),
            Op::Send {
                parent,
                client_id,
                text,
                reply,
            } => _ = reply.send(self.send(parent, client_id, text).await),
            Op::Regenerate { message, reply } => _ = reply.send(self.regenerate(message).await),
            Op::Continue { message, reply } => _ = reply.send(self.continue_reply(message).await),
            Op::Stop { message, reply } => _ = reply.send(self.stop(message).await),
            Op::SetActiveLeaf { leaf, reply } => _ = reply.send(self.set_active_leaf(leaf).await),
            Op::SetSystemPrompt { text, reply } => {
                _ = reply.send(self.set_system_prompt(text).await)
            }
            Op::SetSettings { settings, reply } => {
                _ = reply.send(self.set_settings(settings).await)
            }
            Op::AwaitReply { message, reply } => self.await_reply(message, reply),
            Op::Outline(reply) => _ = reply.send(Ok(self.outline())),
            Op::Messages { ids, reply } => _ = reply.send(Ok(self.messages_by_id(&ids))),
            Op::Branch { leaf, reply } => _ = reply.send(self.branch(leaf)),
            Op::Stats(reply) => _ = reply.send(Ok(self.stats())),
            Op::NameBranch { node, name, reply } => {
                _ = reply.send(self.name_branch(node, name).await)
            }
            Op::SetMainBranch { node, reply } => _ = reply.send(self.set_main_branch(node).await),
            Op::Prune { node, reply } => _ = reply.send(self.prune(node).await),
            Op::UndoPrune { root, reply } => _ = reply.send(self.undo_prune(root).await),
            Op::Replay {
                leaf,
                from,
                settings,
                reply,
            } => _ = reply.send(self.start_replay(leaf, from, settings).await),
            Op::StopReplay { replay, reply } => _ = reply.send(self.stop_replay(replay).await),
            Op::Close(reply) => return stop_unless_failed(self.check_idle(), reply),
            Op::Delete(reply) => return stop_unless_failed(self.delete().await, reply),
        }
        Flow::Continue
    }

    /// Refuses to close while replies are being generated.
    fn check_idle(&self) -> Result<(), AppError> {
        let running = self.running.len();
        if running == 0 {
            return Ok(());
        }
        let (replies, them) = if running == 1 {
            ("reply", "it")
        } else {
            ("replies", "them")
        };
        Err(AppError::Busy(format!(
            "the conversation is generating {running} {replies}; interrupt {them} or wait \
             before closing it"
        )))
    }

    /// Deletes the conversation. Running generations are abandoned: the
    /// actor stops right after, and their rows are gone.
    async fn delete(&mut self) -> Result<(), AppError> {
        if !self
            .context
            .store
            .delete_conversation(self.owner, self.id)
            .await?
        {
            return Err(AppError::NotFound("conversation".into()));
        }
        Ok(())
    }
}

/// Stops the actor after `done` succeeded (answering once no command can
/// reach it any more); otherwise answers the error and goes on.
fn stop_unless_failed(done: Result<(), AppError>, reply: Reply<()>) -> Flow {
    match done {
        Ok(()) => Flow::Stop(Some(reply)),
        Err(error) => {
            _ = reply.send(Err(error));
            Flow::Continue
        }
    }
}

#[cfg(test)]
mod tests;
