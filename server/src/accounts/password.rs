//! Password hashing: Argon2id at OWASP's recommended cost (19 MiB of
//! memory, two passes, one lane), computed on the blocking thread pool so it
//! never stalls the async runtime, and only a bounded number at a time so a
//! burst of sign-ins cannot exhaust memory or cores.

use app::domain::errors::AppError;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use tokio::sync::{OnceCell, Semaphore};

/// Memory cost in KiB (OWASP: 19 MiB).
const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over the memory (OWASP: 2).
const PASSES: u32 = 2;
/// Degree of parallelism (OWASP: 1).
const LANES: u32 = 1;

/// Hashes and checks passwords; owns the permits that bound how many
/// hashes run at once.
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A hash of nothing in particular, checked when a username is unknown
    /// so that answer takes as long as a wrong password.
    decoy: OnceCell<String>,
}

fn argon2() -> Result<Argon2<'static>, AppError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| AppError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_now(password: &str) -> Result<String, AppError> {
    let mut salt = [0_u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| AppError::Internal(format!("no randomness for a salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| AppError::Internal(format!("salt encoding: {e}")))?;
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
}

fn matches_now(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        tracing::error!("a stored password hash cannot be parsed");
        return false;
    };
    // The stored hash names its own algorithm and cost; verify with those.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

impl PasswordHasher {
    /// A hasher that runs at most `at_once` hashes at the same time.
    pub fn new(at_once: usize) -> Self {
        PasswordHasher {
            permits: Arc::new(Semaphore::new(at_once.max(1))),
            decoy: OnceCell::new(),
        }
    }

    async fn on_blocking_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| AppError::Internal("the password hasher is closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::Internal(format!("password hashing stopped: {e}")))
    }

    /// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) to store.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.on_blocking_pool(move || hash_now(&password)).await?
    }

    /// Whether `password` matches `stored`. With no stored hash (an unknown
    /// user) a decoy is checked instead and the answer is false.
    pub async fn matches(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, AppError> {
        let known = stored.is_some();
        let stored = match stored {
            Some(stored) => stored,
            None => self
                .decoy
                .get_or_try_init(|| self.hash("decoy password".into()))
                .await?
                .clone(),
        };
        let matched = self
            .on_blocking_pool(move || matches_now(&password, &stored))
            .await?;
        Ok(known && matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_cost_and_verify() {
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash("correct horse".into()).await.expect("hashes");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher
            .matches("correct horse".into(), Some(hash.clone()))
            .await
            .expect("checks"));
        assert!(!hasher
            .matches("wrong horse".into(), Some(hash.clone()))
            .await
            .expect("checks"));
        let again = hasher.hash("correct horse".into()).await.expect("hashes");
        assert_ne!(hash, again, "every hash has its own salt");
    }

    #[tokio::test]
    async fn unknown_users_and_corrupt_hashes_never_match() {
        let hasher = PasswordHasher::new(1);
        assert!(!hasher
            .matches("decoy password".into(), None)
            .await
            .expect("checks"));
        assert!(!hasher
            .matches("x".into(), Some("not a hash".into()))
            .await
            .expect("checks"));
    }
}
