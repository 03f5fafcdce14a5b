//! The actor's replies: sending a message, regenerating and continuing a
//! reply, stopping one, following a generation's updates (text, usage, tool
//! calls, its end), the tool loop, and storing how a reply ended.

use super::replays::TurnEnd;
use super::{ConversationActor, Parent, Reply, ReplyOrigin, STOPPED_NOTE};
use crate::catalog::ReplyPlan;
use crate::chat::generation::{self, derive_seed, estimate_tokens, GenerationUpdate, UpdateKind};
use crate::chat::tools::{self, ToolScope, MAX_TOOL_ROUNDS};
use crate::clock::now_ms;
use crate::providers::{context_fit, GenerationRequest, ThreadMessage, TokenUsage};
use crate::storage::StoredMessage;
use app::domain::errors::AppError;
use app::domain::model::{
    ChatEvent, MessageNode, MessageStatus, ReplyParams, ReplyUsage, Role, SendReceipt, ToolCall,
};
use app::domain::tree::NodeLink;
use app::text::code_highlight::{highlight_code_blocks, highlight_message};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

/// The text a continued reply starts with, and the seed of the reply it continues.
pub(super) struct Prefill {
    text: String,
    seed: Option<u64>,
}

/// A generation in progress and what is measured about it. Dropping it
/// (the actor stopping or failing) cancels the generation.
pub(super) struct Running {
    pub(super) task: JoinHandle<()>,
    last_checkpoint: Instant,
    started: Instant,
    first_text: Option<Instant>,
    usage: TokenUsage,
    /// Size of the thread sent, for estimating prompt tokens.
    prompt_chars: usize,
    /// The tools the reply calls (known at its end).
    tool_calls: Vec<ToolCall>,
    pub(super) origin: ReplyOrigin,
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

impl ConversationActor {
    pub(super) async fn send(
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

    pub(super) async fn regenerate(&mut self, message: Uuid) -> Result<SendReceipt, AppError> {
        let (_, parent) = self.reply_and_parent(message, "regenerated")?;
        self.create_reply(parent, None, None, ReplyOrigin::default())
            .await
    }

    /// Starts a sibling of an interrupted or failed reply that begins with
    /// its text and asks the model to go on from there. The offline model
    /// reuses the original's seed, so it carries on with the same reply.
    pub(super) async fn continue_reply(&mut self, message: Uuid) -> Result<SendReceipt, AppError> {
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
    pub(super) async fn create_reply(
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
        // A model with a small context gets the newest part of the branch.
        let fitting = GenerationRequest {
            model: plan.model_id.clone(),
            thread,
            params: plan.params.clone(),
            tools: Vec::new(),
        };
        let left_out = plan
            .provider
            .messages_to_leave_out(&fitting)
            .map_err(|error| AppError::BadRequest(error.message))?;
        let thread = context_fit::without_oldest(&fitting.thread, left_out);
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
                left_out: u32::try_from(left_out).ok().filter(|n| *n > 0),
            }),
            note: None,
            last_active_at: Some(stamp),
            usage: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            created_at: now.max(user.as_ref().map_or(0, |u| u.node.created_at)),
            highlighted_code: Vec::new(),
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
            let mut node = row.node;
            highlight_message(&mut node);
            self.log.publish(ChatEvent::Message {
                node: Box::new(node),
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
            self.context.stream_pace,
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

    pub(super) async fn stop(&mut self, message: Uuid) -> Result<(), AppError> {
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

    pub(super) async fn on_update(&mut self, update: GenerationUpdate) {
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
            UpdateKind::Title(title) => self.title_arrived(title).await,
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

    /// The usage of the reply `running` was generating.
    pub(super) fn usage_of(&self, running: &Running, id: Uuid) -> Option<ReplyUsage> {
        let node = self.messages.get(&id)?;
        Some(running.reply_usage(&node.content))
    }

    /// Stores a reply's final state and announces it.
    pub(super) async fn finish(
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
        let highlighted_code = highlight_code_blocks(&node.content);
        let waiters = self.waiters.remove(&id).unwrap_or_default();
        if !waiters.is_empty() {
            let mut ended = node.clone();
            ended.highlighted_code = highlighted_code.clone();
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
            highlighted_code,
        });
    }

    /// Answers `reply` with the message once it is no longer streaming (at
    /// once if it is not).
    pub(super) fn await_reply(&mut self, message: Uuid, reply: Reply<MessageNode>) {
        match self.messages.get(&message) {
            Some(node) if node.status == MessageStatus::Streaming => {
                self.waiters.entry(message).or_default().push(reply);
            }
            Some(node) => _ = reply.send(Ok(node.clone())),
            None => _ = reply.send(Err(AppError::NotFound("message".into()))),
        }
    }
}
