//! Accounts and sessions: signing up (the first account becomes the
//! administrator), signing in and out, finding the user of a session, the
//! administrators' user list, and the rate limits on signing in and on
//! sending. The browser reaches it through [`AccountsBackend`].

pub mod password;
pub mod rate_limits;
pub mod session_cookie;

use crate::clock::now_ms;
use crate::config::AccessSettings;
use crate::storage::accounts::{AccountStore, Enrolment, NewAccount, Refusal};
use crate::storage::StorageError;
use app::domain::accounts::{check_new_password, normalize_username, AccessState, Account};
use app::domain::backend::{AccountsBackend, Caller, CurrentUser, SignedIn};
use app::domain::errors::AppError;
use password::PasswordHasher;
use rate_limits::RateLimits;
use std::sync::Arc;
use uuid::Uuid;

/// The one answer to a failed sign-in, whichever part was wrong.
const WRONG_CREDENTIALS: &str = "Wrong username or password.";

/// Owns the account store, the password hasher and the rate limiters.
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    hasher: PasswordHasher,
    limits: RateLimits,
    settings: AccessSettings,
}

impl Accounts {
    pub fn new(store: Arc<dyn AccountStore>, settings: AccessSettings) -> Self {
        Accounts {
            hasher: PasswordHasher::new(settings.password_hashes_at_once),
            limits: RateLimits::new(&settings),
            store,
            settings,
        }
    }

    pub fn settings(&self) -> &AccessSettings {
        &self.settings
    }

    /// The user of an unexpired session.
    pub async fn user_for_token(&self, token: &str) -> Result<Option<CurrentUser>, StorageError> {
        let account = self
            .store
            .session_account(&session_cookie::token_hash(token), now_ms())
            .await?;
        Ok(account.map(|a| CurrentUser {
            id: a.id,
            username: a.username,
            is_admin: a.is_admin,
            created_at: a.created_at,
        }))
    }

    /// Whether any account exists yet.
    pub async fn has_accounts(&self) -> Result<bool, StorageError> {
        self.store.has_accounts().await
    }

    fn secure(&self, caller: &Caller) -> bool {
        self.settings.secure_cookies || caller.over_tls
    }

    async fn open_session(&self, caller: &Caller, account: Account) -> Result<SignedIn, AppError> {
        let token = session_cookie::new_token()?;
        let now = now_ms();
        let lifetime = self.settings.session_lifetime;
        let expires_at =
            now.saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX));
        let removed = self.store.delete_expired_sessions(now).await?;
        if removed > 0 {
            tracing::debug!(removed, "forgot expired sessions");
        }
        self.store
            .create_session(
                session_cookie::token_hash(&token),
                account.id,
                now,
                expires_at,
            )
            .await?;
        tracing::info!(user = %account.username, "signed in");
        Ok(SignedIn {
            set_cookie: session_cookie::session_cookie(&token, lifetime, self.secure(caller)),
            account,
        })
    }

    /// Checks a new username and password and stores the account.
    async fn enrol(
        &self,
        username: &str,
        password: String,
        enrolment: Enrolment,
    ) -> Result<Account, AppError> {
        let username = normalize_username(username).map_err(AppError::BadRequest)?;
        check_new_password(&password).map_err(AppError::BadRequest)?;
        let new = NewAccount {
            id: Uuid::now_v7(),
            password_hash: self.hasher.hash(password).await?,
            username: username.clone(),
            enrolment,
            now: now_ms(),
        };
        match self.store.create_account(new).await? {
            Ok(account) => {
                tracing::info!(user = %account.username, admin = account.is_admin, "account created");
                Ok(account)
            }
            Err(Refusal::UsernameTaken) => Err(AppError::BadRequest(format!(
                "The username `{username}` is taken."
            ))),
            Err(Refusal::SignUpClosed) => Err(sign_up_closed()),
        }
    }
}

fn sign_up_closed() -> AppError {
    AppError::Forbidden(app::domain::accounts::SIGN_UP_CLOSED.into())
}

fn admin_only(user: &CurrentUser) -> Result<(), AppError> {
    if user.is_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only an administrator of this Arbor can do that.".into(),
        ))
    }
}

#[async_trait::async_trait]
impl AccountsBackend for Accounts {
    async fn access_state(&self) -> Result<AccessState, AppError> {
        let first_run = !self.store.has_accounts().await?;
        Ok(AccessState {
            first_run,
            sign_up_open: first_run || self.settings.sign_up_open,
        })
    }

    async fn sign_up(
        &self,
        caller: &Caller,
        username: String,
        password: String,
    ) -> Result<SignedIn, AppError> {
        self.limits.count_login(caller.ip, None)?;
        // Refuse early (without hashing); the store decides again atomically.
        if !self.access_state().await?.sign_up_open {
            return Err(sign_up_closed());
        }
        let enrolment = Enrolment::SelfService {
            sign_up_open: self.settings.sign_up_open,
        };
        let account = self.enrol(&username, password, enrolment).await?;
        self.open_session(caller, account).await
    }

    async fn log_in(
        &self,
        caller: &Caller,
        username: String,
        password: String,
    ) -> Result<SignedIn, AppError> {
        let username = username.trim().to_lowercase();
        self.limits.count_login(caller.ip, Some(&username))?;
        if password.chars().count() > app::domain::accounts::MAX_PASSWORD_CHARS {
            return Err(AppError::Unauthorized(WRONG_CREDENTIALS.into()));
        }
        let credentials = self.store.credentials(&username).await?;
        let stored = credentials.as_ref().map(|c| c.password_hash.clone());
        // An unknown user costs a decoy check, so timing tells nothing.
        let matched = self.hasher.matches(password, stored).await?;
        match credentials {
            Some(credentials) if matched => self.open_session(caller, credentials.account).await,
            _ => {
                tracing::warn!(user = %username, ip = %caller.ip, "failed sign-in");
                Err(AppError::Unauthorized(WRONG_CREDENTIALS.into()))
            }
        }
    }

    async fn log_out(&self, caller: &Caller) -> Result<String, AppError> {
        if let Some(token) = &caller.session_token {
            self.store
                .delete_session(session_cookie::token_hash(token))
                .await?;
        }
        Ok(session_cookie::cleared_cookie(self.secure(caller)))
    }

    async fn accounts(&self, admin: &CurrentUser) -> Result<Vec<Account>, AppError> {
        admin_only(admin)?;
        Ok(self.store.accounts().await?)
    }

    async fn create_account(
        &self,
        admin: &CurrentUser,
        username: String,
        password: String,
        is_admin: bool,
    ) -> Result<Account, AppError> {
        admin_only(admin)?;
        self.enrol(&username, password, Enrolment::ByAdmin { is_admin })
            .await
    }

    fn count_send(&self, caller: &Caller, user: &CurrentUser) -> Result<(), AppError> {
        self.limits.count_send(caller.ip, user.id)
    }
}
