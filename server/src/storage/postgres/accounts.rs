//! The PostgreSQL implementation of [`AccountStore`]: the `users` and
//! `sessions` tables, shared by every node (a session made on one node
//! signs its browser in on all of them).

use super::{PostgresStore, LOCAL_USERNAME};
use crate::storage::accounts::{AccountStore, Credentials, Enrolment, NewAccount, Refusal};
use crate::storage::StorageResult;
use app::domain::accounts::Account;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

const ACCOUNT_COLUMNS: &str = "id, username, is_admin, created_at";

fn account_from_row(row: &PgRow) -> StorageResult<Account> {
    Ok(Account {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        is_admin: row.try_get("is_admin")?,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait::async_trait]
impl AccountStore for PostgresStore {
    async fn has_accounts(&self) -> StorageResult<bool> {
        let any = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM users WHERE password_hash IS NOT NULL)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(any)
    }

    async fn create_account(&self, new: NewAccount) -> StorageResult<Result<Account, Refusal>> {
        let mut transaction = self.pool.begin().await?;
        // One account is created at a time across every node, so two first
        // sign-ups cannot both become administrator. Reads go on.
        sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *transaction)
            .await?;
        let taken: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE username = $1)")
                .bind(&new.username)
                .fetch_one(&mut *transaction)
                .await?;
        if taken {
            return Ok(Err(Refusal::UsernameTaken));
        }
        let first: bool = sqlx::query_scalar(
            "SELECT NOT EXISTS (SELECT 1 FROM users WHERE password_hash IS NOT NULL)",
        )
        .fetch_one(&mut *transaction)
        .await?;
        let is_admin = match new.enrolment {
            Enrolment::SelfService { .. } if first => true,
            Enrolment::SelfService { sign_up_open: true } => false,
            Enrolment::SelfService {
                sign_up_open: false,
            } => return Ok(Err(Refusal::SignUpClosed)),
            Enrolment::ByAdmin { is_admin } => is_admin,
        };
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, is_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(new.id)
        .bind(&new.username)
        .bind(&new.password_hash)
        .bind(is_admin)
        .bind(new.now)
        .execute(&mut *transaction)
        .await?;
        if first {
            sqlx::query(
                "UPDATE conversations SET owner_id = $1 \
                 WHERE owner_id IN (SELECT id FROM users WHERE username = $2)",
            )
            .bind(new.id)
            .bind(LOCAL_USERNAME)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(Ok(Account {
            id: new.id,
            username: new.username,
            is_admin,
            created_at: new.now,
        }))
    }

    async fn credentials(&self, username: &str) -> StorageResult<Option<Credentials>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS}, password_hash FROM users \
             WHERE username = $1 AND password_hash IS NOT NULL"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Credentials {
                account: account_from_row(&row)?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    async fn accounts(&self) -> StorageResult<Vec<Account>> {
        sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM users WHERE password_hash IS NOT NULL \
             ORDER BY created_at, username"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(account_from_row)
        .collect()
    }

    async fn create_session(
        &self,
        token_hash: String,
        user: Uuid,
        now: i64,
        expires_at: i64,
    ) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session_account(&self, token_hash: &str, now: i64) -> StorageResult<Option<Account>> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.is_admin, u.created_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn delete_session(&self, token_hash: String) -> StorageResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: i64) -> StorageResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
