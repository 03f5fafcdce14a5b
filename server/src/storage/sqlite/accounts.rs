//! The SQLite implementation of [`AccountStore`]: the `users` and
//! `sessions` tables.

use super::{uuid_column, SqliteStore, LOCAL_USERNAME};
use crate::storage::accounts::{AccountStore, Credentials, Enrolment, NewAccount, Refusal};
use crate::storage::StorageResult;
use app::domain::accounts::Account;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

const ACCOUNT_COLUMNS: &str = "id, username, is_admin, created_at";

fn account_from_row(row: &SqliteRow) -> StorageResult<Account> {
    Ok(Account {
        id: uuid_column(row, "users", "id")?,
        username: row.try_get("username")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait::async_trait]
impl AccountStore for SqliteStore {
    async fn has_accounts(&self) -> StorageResult<bool> {
        let row =
            sqlx::query("SELECT EXISTS (SELECT 1 FROM users WHERE password_hash IS NOT NULL)")
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get::<i64, _>(0)? != 0)
    }

    async fn create_account(&self, new: NewAccount) -> StorageResult<Result<Account, Refusal>> {
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    let taken = sqlx::query("SELECT 1 FROM users WHERE username = ?")
                        .bind(&new.username)
                        .fetch_optional(&mut *db)
                        .await?
                        .is_some();
                    if taken {
                        return Ok(Err(Refusal::UsernameTaken));
                    }
                    let first = sqlx::query(
                        "SELECT NOT EXISTS (SELECT 1 FROM users WHERE password_hash IS NOT NULL)",
                    )
                    .fetch_one(&mut *db)
                    .await?
                    .try_get::<i64, _>(0)?
                        != 0;
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
                         VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(new.id.to_string())
                    .bind(&new.username)
                    .bind(&new.password_hash)
                    .bind(is_admin)
                    .bind(new.now)
                    .execute(&mut *db)
                    .await?;
                    if first {
                        sqlx::query(
                            "UPDATE conversations SET owner_id = ? \
                             WHERE owner_id IN (SELECT id FROM users WHERE username = ?)",
                        )
                        .bind(new.id.to_string())
                        .bind(LOCAL_USERNAME)
                        .execute(&mut *db)
                        .await?;
                    }
                    Ok(Ok(Account {
                        id: new.id,
                        username: new.username,
                        is_admin,
                        created_at: new.now,
                    }))
                })
            })
            .await
    }

    async fn credentials(&self, username: &str) -> StorageResult<Option<Credentials>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS}, password_hash FROM users \
             WHERE username = ? AND password_hash IS NOT NULL"
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
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
                         VALUES (?, ?, ?, ?)",
                    )
                    .bind(token_hash)
                    .bind(user.to_string())
                    .bind(now)
                    .bind(expires_at)
                    .execute(&mut *db)
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    async fn session_account(&self, token_hash: &str, now: i64) -> StorageResult<Option<Account>> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.is_admin, u.created_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ? AND s.expires_at > ?",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn delete_session(&self, token_hash: String) -> StorageResult<()> {
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
                        .bind(token_hash)
                        .execute(&mut *db)
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    async fn delete_expired_sessions(&self, now: i64) -> StorageResult<u64> {
        self.writer
            .write(move |db| {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
                        .bind(now)
                        .execute(&mut *db)
                        .await?;
                    Ok(done.rows_affected())
                })
            })
            .await
    }
}
