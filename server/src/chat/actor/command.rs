//! What the rest of the server can ask a conversation's actor: a
//! [`Command`] names the acting user and the operation ([`Op`]), whose last
//! field is where the answer goes. The actor checks the user once, for
//! every operation; `ConversationHandle` (in `chat::handle`) builds these,
//! so nothing outside `chat` names them. Also the answers that are not
//! shared with the browser: [`Snapshot`], [`Subscription`],
//! [`ConversationStats`].

use crate::chat::event_log::{RemoteStart, Replay, Sequenced};
use app::domain::errors::AppError;
use app::domain::model::{
    BranchLabel, ConversationSettings, EffectiveModel, EventCursor, MessageNode, NodeOutline,
    PruneReceipt, ReplayProgress, ReplayStarted, SendReceipt,
};
use std::sync::Arc;
use tokio::sync::{broadcast, oneshot};
use uuid::Uuid;

/// Where an actor sends the answer to a command.
pub type Reply<T> = oneshot::Sender<Result<T, AppError>>;

/// One request to an actor: who asks, and what. A user who does not own
/// the conversation gets `NotFound`, whatever the operation.
pub struct Command {
    pub user: Uuid,
    pub op: Op,
}

/// The operations an actor performs.
pub enum Op {
    /// The outline, the newest texts of the shown branch and the event
    /// cursor; with `focus`, the branch through that message, opened at it.
    Snapshot {
        focus: Option<Uuid>,
        reply: Reply<Snapshot>,
    },
    /// The events after `after` (none: from now), then the live ones.
    Subscribe {
        after: Option<EventCursor>,
        reply: Reply<Subscription>,
    },
    /// For a client on another node: the events after `after`, and every
    /// later one through this node's relay for a while (asked again to
    /// go on).
    Watch {
        after: Option<EventCursor>,
        reply: Reply<RemoteStart>,
    },
    Send {
        parent: Parent,
        client_id: String,
        text: String,
        reply: Reply<SendReceipt>,
    },
    Regenerate {
        message: Uuid,
        reply: Reply<SendReceipt>,
    },
    /// Continues an interrupted or failed reply in a new sibling that
    /// starts with its text.
    Continue {
        message: Uuid,
        reply: Reply<SendReceipt>,
    },
    Stop {
        message: Uuid,
        reply: Reply<()>,
    },
    SetActiveLeaf {
        leaf: Uuid,
        reply: Reply<()>,
    },
    SetSystemPrompt {
        text: String,
        reply: Reply<()>,
    },
    /// Replaces the model, persona and sampler choices (already validated).
    SetSettings {
        settings: ConversationSettings,
        reply: Reply<EffectiveModel>,
    },
    /// Deletes the conversation and every message, then stops the actor.
    Delete(Reply<()>),
    /// Answers with the reply once it is no longer streaming (at once if it
    /// is not). If the actor stops first, the registry asks the next one.
    AwaitReply {
        message: Uuid,
        reply: Reply<MessageNode>,
    },
    /// Every message without its text, oldest first.
    Outline(Reply<Vec<NodeOutline>>),
    /// These messages, with their text; ids that do not exist (any more)
    /// are left out.
    Messages {
        ids: Vec<Uuid>,
        reply: Reply<Vec<MessageNode>>,
    },
    /// The messages from the root to `leaf` (none: the shown leaf).
    Branch {
        leaf: Option<Uuid>,
        reply: Reply<Vec<MessageNode>>,
    },
    /// Counts of the conversation's messages, branches and tokens.
    Stats(Reply<ConversationStats>),
    /// Names the branch through `node` (`None`: removes its name).
    NameBranch {
        node: Uuid,
        name: Option<String>,
        reply: Reply<()>,
    },
    /// Marks the branch through `node` as the main one (`None`: none is).
    SetMainBranch {
        node: Option<Uuid>,
        reply: Reply<()>,
    },
    /// Hides `node` and everything below it, undoable for a while; refused
    /// while a reply in it is being written.
    Prune {
        node: Uuid,
        reply: Reply<PruneReceipt>,
    },
    /// Brings back the subtree pruned at `root`.
    UndoPrune {
        root: Uuid,
        reply: Reply<()>,
    },
    /// Re-runs the assistant turns of the branch ending at `leaf`, from
    /// `from` on (none: all), with `settings` (already validated), into a
    /// new sibling branch.
    Replay {
        leaf: Uuid,
        from: Option<Uuid>,
        settings: ConversationSettings,
        reply: Reply<ReplayStarted>,
    },
    /// Stops a running replay (its reply so far is kept).
    StopReplay {
        replay: Uuid,
        reply: Reply<()>,
    },
    /// Stops the actor (the conversation stays stored); refused while a
    /// reply is being generated.
    Close(Reply<()>),
}

impl Op {
    /// Answers the operation with `error` without performing it.
    pub fn refuse(self, error: AppError) {
        // Each answer is sent even if the asker has gone away meanwhile.
        fn answer<T>(reply: Reply<T>, error: AppError) {
            _ = reply.send(Err(error));
        }
        match self {
            Op::Snapshot { reply, .. } => answer(reply, error),
            Op::Subscribe { reply, .. } => answer(reply, error),
            Op::Watch { reply, .. } => answer(reply, error),
            Op::Send { reply, .. } | Op::Regenerate { reply, .. } | Op::Continue { reply, .. } => {
                answer(reply, error)
            }
            Op::Stop { reply, .. }
            | Op::SetActiveLeaf { reply, .. }
            | Op::SetSystemPrompt { reply, .. }
            | Op::NameBranch { reply, .. }
            | Op::SetMainBranch { reply, .. }
            | Op::UndoPrune { reply, .. }
            | Op::StopReplay { reply, .. }
            | Op::Delete(reply)
            | Op::Close(reply) => answer(reply, error),
            Op::SetSettings { reply, .. } => answer(reply, error),
            Op::AwaitReply { reply, .. } => answer(reply, error),
            Op::Outline(reply) => answer(reply, error),
            Op::Messages { reply, .. } | Op::Branch { reply, .. } => answer(reply, error),
            Op::Stats(reply) => answer(reply, error),
            Op::Prune { reply, .. } => answer(reply, error),
            Op::Replay { reply, .. } => answer(reply, error),
        }
    }
}

/// A conversation's size and state, as the programmatic API reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Parent {
    /// A new root: a fresh thread in the conversation.
    Root,
    /// Under this reply (editing a message sends under its parent).
    Message(Uuid),
    /// At the end of the branch the conversation shows (a new root if it is empty).
    ShownBranch,
}

/// The conversation's messages and position in its event stream, taken at one instant.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// Every message without its text, oldest first; for a big tree only
    /// the window's messages and their siblings (see `outline_complete`).
    pub outline: Vec<NodeOutline>,
    pub outline_complete: bool,
    /// The shown messages of the branch, with their text: its newest, or
    /// those around `focus`.
    pub window: Vec<MessageNode>,
    pub active_leaf_id: Option<Uuid>,
    /// The message asked to be opened at, if it is in the tree.
    pub focus: Option<Uuid>,
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
