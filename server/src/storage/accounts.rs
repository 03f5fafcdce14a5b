//! What the accounts service asks of the database: users with their
//! password hashes, and server-side sessions (stored by a hash of their
//! token, so a copy of the database does not sign anyone in).

use super::StorageResult;
use app::domain::accounts::Account;
use uuid::Uuid;

/// Who may create an account in [`AccountStore::create_account`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolment {
    /// Someone signing themselves up: allowed on the first run (they
    /// become the administrator) or when sign-up is open.
    SelfService { sign_up_open: bool },
    /// An administrator creating an account for someone.
    ByAdmin { is_admin: bool },
}

/// A new account to store.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub enrolment: Enrolment,
    pub now: i64,
}

/// Why an account was not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UsernameTaken,
    SignUpClosed,
}

/// An account with its stored password hash (for checking a sign-in).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub account: Account,
    pub password_hash: String,
}

/// Users and sessions.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Whether anyone can sign in yet (the built-in local user cannot).
    async fn has_accounts(&self) -> StorageResult<bool>;
    /// Creates an account in one write, deciding there (so two first
    /// sign-ups cannot both become administrator) whether it is allowed
    /// and whether it is the first one. The first account also becomes the
    /// owner of the conversations the built-in local user made before
    /// accounts existed.
    async fn create_account(&self, new: NewAccount) -> StorageResult<Result<Account, Refusal>>;
    /// The account with this (normalized) username and its password hash.
    async fn credentials(&self, username: &str) -> StorageResult<Option<Credentials>>;
    async fn accounts(&self) -> StorageResult<Vec<Account>>;
    async fn create_session(
        &self,
        token_hash: String,
        user: Uuid,
        now: i64,
        expires_at: i64,
    ) -> StorageResult<()>;
    /// The account of an unexpired session.
    async fn session_account(&self, token_hash: &str, now: i64) -> StorageResult<Option<Account>>;
    async fn delete_session(&self, token_hash: String) -> StorageResult<()>;
    /// Forgets sessions that expired before `now`; answers how many.
    async fn delete_expired_sessions(&self, now: i64) -> StorageResult<u64>;
}
