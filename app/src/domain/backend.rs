//! The seam between server functions and the server: `app` declares what it
//! needs here, the `server` crate implements it and provides it as context.

use crate::domain::accounts::{AccessState, Account};
use crate::domain::errors::AppError;
use crate::domain::model::{
    ConversationSettings, ConversationSummary, ConversationView, EffectiveModel, MessageNode,
    ModelChoices, NodeOutline, PruneReceipt, ReplayStarted, SendReceipt,
};
use crate::domain::search::SearchResults;
use std::sync::Arc;
use uuid::Uuid;

/// The signed-in user a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: Uuid,
    pub username: String,
    pub is_admin: bool,
    /// When the account was created.
    pub created_at: i64,
}

/// Who sent a request, as the server's session layer found out before any
/// handler ran (kept in the request's extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account of a live session (none: nobody is signed in).
    pub user: Option<CurrentUser>,
    /// The session cookie's token, as sent.
    pub session_token: Option<String>,
    /// The client's address (rate limits count per address).
    pub ip: std::net::IpAddr,
    /// The request reached us over TLS (directly or through a proxy), so
    /// cookies are marked `Secure`.
    pub over_tls: bool,
}

/// A session just opened: the account and the `Set-Cookie` value that
/// hands the browser its token.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account: Account,
    pub set_cookie: String,
}

/// A new message as the composer (or an edit) submits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUserMessage {
    pub conversation_id: Uuid,
    /// `None` starts a new root; editing a message passes that message's parent.
    pub parent_id: Option<Uuid>,
    /// Chosen by the browser; sending the same one twice stores one message.
    pub client_id: String,
    pub text: String,
}

/// Everything the server functions can ask of the server. Every call names
/// the acting user; ids that do not exist or belong to someone else are
/// `AppError::NotFound`.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn list_conversations(&self, user: Uuid) -> Result<Vec<ConversationSummary>, AppError>;
    async fn create_conversation(&self, user: Uuid) -> Result<ConversationSummary, AppError>;
    async fn rename_conversation(
        &self,
        user: Uuid,
        id: Uuid,
        title: String,
    ) -> Result<ConversationSummary, AppError>;
    async fn delete_conversation(&self, user: Uuid, id: Uuid) -> Result<(), AppError>;
    /// The page's view of a conversation: its shown branch, or with
    /// `focus` the branch through that message, opened at it.
    async fn conversation(
        &self,
        user: Uuid,
        id: Uuid,
        focus: Option<Uuid>,
    ) -> Result<ConversationView, AppError>;
    async fn send_message(
        &self,
        user: Uuid,
        message: NewUserMessage,
    ) -> Result<SendReceipt, AppError>;
    async fn regenerate(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<SendReceipt, AppError>;
    /// Continues an interrupted or failed reply in a new sibling that
    /// starts with its text.
    async fn continue_reply(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<SendReceipt, AppError>;
    async fn stop(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<(), AppError>;
    async fn set_system_prompt(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        text: String,
    ) -> Result<(), AppError>;
    /// The models and personas a user may pick.
    async fn model_choices(&self, user: Uuid) -> Result<ModelChoices, AppError>;
    /// The largest file an import accepts, in bytes.
    fn max_import_bytes(&self) -> u64;
    /// The user's conversations and messages that match `query`.
    async fn search(&self, user: Uuid, query: String) -> Result<SearchResults, AppError>;
    /// Replaces a conversation's model, persona and sampler choices; answers
    /// the model its new replies will come from.
    async fn set_generation_settings(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        settings: ConversationSettings,
    ) -> Result<EffectiveModel, AppError>;
    async fn set_active_leaf(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        leaf_id: Uuid,
    ) -> Result<(), AppError>;
    /// Names the branch through `node_id` (`None`: removes its name).
    async fn name_branch(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        node_id: Uuid,
        name: Option<String>,
    ) -> Result<(), AppError>;
    /// Marks the branch through `node_id` as the main one (`None`: none is).
    async fn set_main_branch(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        node_id: Option<Uuid>,
    ) -> Result<(), AppError>;
    /// Copies the path from the root to `node_id` into a new conversation
    /// that records where it came from.
    async fn fork_branch(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        node_id: Uuid,
    ) -> Result<ConversationSummary, AppError>;
    /// Removes `node_id` and everything below it; undoable for a while.
    async fn prune(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        node_id: Uuid,
    ) -> Result<PruneReceipt, AppError>;
    /// Brings back the subtree a prune of `root_id` removed.
    async fn undo_prune(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        root_id: Uuid,
    ) -> Result<(), AppError>;
    /// Every message of a conversation without its text, oldest first.
    async fn outline(
        &self,
        user: Uuid,
        conversation_id: Uuid,
    ) -> Result<Vec<NodeOutline>, AppError>;
    /// These messages of a conversation with their text (at most
    /// [`MAX_FETCH`](crate::domain::reading_window::MAX_FETCH)); ids that do not
    /// exist (any more) are left out.
    async fn messages(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        ids: Vec<Uuid>,
    ) -> Result<Vec<MessageNode>, AppError>;
    /// Re-runs the assistant turns of the branch ending at `leaf_id` (from
    /// `from_id` on; none: all of them) with `settings`, into a new sibling
    /// branch; the replies follow one another in the background.
    async fn replay_branch(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        leaf_id: Uuid,
        from_id: Option<Uuid>,
        settings: ConversationSettings,
    ) -> Result<ReplayStarted, AppError>;
    /// Stops a running replay, keeping what it wrote.
    async fn stop_replay(
        &self,
        user: Uuid,
        conversation_id: Uuid,
        replay_id: Uuid,
    ) -> Result<(), AppError>;
}

/// The backend as provided in the Leptos context.
pub type SharedBackend = Arc<dyn Backend>;

/// What the operators' dashboard may ask of the server.
#[async_trait::async_trait]
pub trait OperationsBackend: Send + Sync + 'static {
    /// Starts `count` conversations on the offline model and sends `text` to
    /// each, in the background; progress shows in the dashboard's snapshots.
    /// Refused while another such broadcast runs.
    async fn start_test_broadcast(
        &self,
        user: Uuid,
        count: u32,
        text: String,
    ) -> Result<(), AppError>;
}

/// The operations backend as provided in the Leptos context.
pub type SharedOperations = Arc<dyn OperationsBackend>;

/// Accounts and sessions: what the sign-in pages and the administrators'
/// user list ask of the server.
#[async_trait::async_trait]
pub trait AccountsBackend: Send + Sync + 'static {
    async fn access_state(&self) -> Result<AccessState, AppError>;
    /// Creates an account and signs it in (the first one becomes admin);
    /// refused when sign-up is closed.
    async fn sign_up(
        &self,
        caller: &Caller,
        username: String,
        password: String,
    ) -> Result<SignedIn, AppError>;
    /// Checks the password and opens a session (rate limited per address
    /// and per username).
    async fn log_in(
        &self,
        caller: &Caller,
        username: String,
        password: String,
    ) -> Result<SignedIn, AppError>;
    /// Ends the caller's session; answers the `Set-Cookie` value that
    /// clears the cookie.
    async fn log_out(&self, caller: &Caller) -> Result<String, AppError>;
    /// Every account (administrators only).
    async fn accounts(&self, admin: &CurrentUser) -> Result<Vec<Account>, AppError>;
    /// Creates an account for someone else (administrators only).
    async fn create_account(
        &self,
        admin: &CurrentUser,
        username: String,
        password: String,
        is_admin: bool,
    ) -> Result<Account, AppError>;
    /// Counts one message sent (or reply asked for) against the caller's
    /// per-user and per-address limits; refused with a "slow down" error.
    fn count_send(&self, caller: &Caller, user: &CurrentUser) -> Result<(), AppError>;
}

/// The accounts backend as provided in the Leptos context.
pub type SharedAccounts = Arc<dyn AccountsBackend>;
