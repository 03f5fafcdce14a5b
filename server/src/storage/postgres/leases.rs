//! [`LeaseStore`] on PostgreSQL: node rows, lease rows taken with one
//! `INSERT … ON CONFLICT DO UPDATE … WHERE` (so two nodes asking at once
//! cannot both win), and `pg_notify` / `LISTEN` on one channel.

use super::PostgresStore;
use crate::storage::leases::{LeaseHolder, LeaseStore};
use crate::storage::StorageResult;
use futures::stream::{self, BoxStream, StreamExt};
use sqlx::postgres::PgListener;
use sqlx::{Connection, Row};
use std::time::Duration;
use uuid::Uuid;

/// The one notification channel every node listens on.
const CHANNEL: &str = "arbor_events";

/// Largest payload sent inside a notification (PostgreSQL's limit is 8,000
/// bytes); longer ones are stored in `relayed_events` and sent as `#id`.
pub const MAX_INLINE_PAYLOAD: usize = 7_900;

/// How long a stored large event is kept for nodes to read it.
const RELAYED_EVENT_KEEP: &str = "10 minutes";

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

#[async_trait::async_trait]
impl LeaseStore for PostgresStore {
    async fn join(&self, node: Uuid, address: &str, secret_if_new: &str) -> StorageResult<String> {
        // Two live nodes cannot listen at one address: a row with this
        // address is an earlier run of this node (killed, restarted), and
        // its leases go with it.
        sqlx::query("DELETE FROM nodes WHERE address = $1 AND id <> $2")
            .bind(address)
            .bind(node)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO nodes (id, address) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, heartbeat_at = now()",
        )
        .bind(node)
        .bind(address)
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "INSERT INTO cluster_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(secret_if_new)
        .execute(&self.pool)
        .await?;
        let secret = sqlx::query_scalar("SELECT secret FROM cluster_secret WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(secret)
    }

    async fn leave(&self, node: Uuid) -> StorageResult<()> {
        sqlx::query("DELETE FROM nodes WHERE id = $1")
            .bind(node)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn acquire(
        &self,
        conversation: Uuid,
        node: Uuid,
        ttl: Duration,
    ) -> StorageResult<LeaseHolder> {
        let taken = sqlx::query(
            "INSERT INTO conversation_leases (conversation_id, node_id, expires_at) \
             VALUES ($1, $2, now() + make_interval(secs => $3)) \
             ON CONFLICT (conversation_id) DO UPDATE \
             SET node_id = EXCLUDED.node_id, expires_at = EXCLUDED.expires_at \
             WHERE conversation_leases.expires_at < now() \
                OR conversation_leases.node_id = EXCLUDED.node_id",
        )
        .bind(conversation)
        .bind(node)
        .bind(seconds(ttl))
        .execute(&self.pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(LeaseHolder::Me);
        }
        let holder = sqlx::query(
            "SELECT l.node_id, n.address, \
                    GREATEST(EXTRACT(EPOCH FROM l.expires_at - now()), 0)::float8 AS left_secs \
             FROM conversation_leases l JOIN nodes n ON n.id = l.node_id \
             WHERE l.conversation_id = $1",
        )
        .bind(conversation)
        .fetch_optional(&self.pool)
        .await?;
        match holder {
            Some(row) => Ok(LeaseHolder::Node {
                id: row.try_get("node_id")?,
                address: row.try_get("address")?,
                expires_in: Duration::from_secs_f64(row.try_get::<f64, _>("left_secs")?),
            }),
            // Released (or its node removed) in between: ask again.
            None => self.acquire(conversation, node, ttl).await,
        }
    }

    async fn renew(
        &self,
        node: Uuid,
        conversations: &[Uuid],
        ttl: Duration,
        forget_after: Duration,
    ) -> StorageResult<Vec<Uuid>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE nodes SET heartbeat_at = now() WHERE id = $1")
            .bind(node)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM nodes WHERE heartbeat_at < now() - make_interval(secs => $1)")
            .bind(seconds(forget_after))
            .execute(&mut *tx)
            .await?;
        // Leases nobody renews (actors that stopped, ids that named nothing).
        sqlx::query(
            "DELETE FROM conversation_leases WHERE expires_at < now() - make_interval(secs => $1)",
        )
        .bind(seconds(forget_after))
        .execute(&mut *tx)
        .await?;
        // A lease that lapsed but that nobody took is still this node's.
        let held = sqlx::query_scalar(
            "UPDATE conversation_leases SET expires_at = now() + make_interval(secs => $3) \
             WHERE node_id = $1 AND conversation_id = ANY($2) RETURNING conversation_id",
        )
        .bind(node)
        .bind(conversations)
        .bind(seconds(ttl))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(held)
    }

    async fn notify(&self, payload: &str) -> StorageResult<()> {
        // One connection, one caller at a time: notifications from one
        // session arrive in the order they were sent.
        let mut connection = self.notifier.lock().await;
        let db = match connection.as_mut() {
            Some(db) => db,
            None => connection.insert(self.pool.acquire().await?.detach()),
        };
        let sent = send_notification(db, payload).await;
        if sent.is_err() {
            // A broken connection is replaced on the next call.
            if let Some(broken) = connection.take() {
                _ = broken.close().await;
            }
        }
        sent
    }

    async fn listen(&self) -> StorageResult<BoxStream<'static, StorageResult<String>>> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        let pool = self.pool.clone();
        Ok(stream::unfold(Some(listener), move |listener| {
            let pool = pool.clone();
            async move {
                let mut listener = listener?;
                // `try_recv` answers `None` when the connection was lost:
                // the stream ends there, since notifications were missed.
                let payload = match listener.try_recv().await {
                    Ok(Some(notification)) => notification.payload().to_string(),
                    Ok(None) => return None,
                    Err(error) => return Some((Err(error.into()), None)),
                };
                let resolved = match payload.strip_prefix('#') {
                    Some(id) => stored_payload(&pool, id).await,
                    None => Ok(payload),
                };
                Some((resolved, Some(listener)))
            }
        })
        .boxed())
    }
}

async fn send_notification(db: &mut sqlx::PgConnection, payload: &str) -> StorageResult<()> {
    let inline = if payload.len() <= MAX_INLINE_PAYLOAD {
        payload.to_string()
    } else {
        sqlx::query(&format!(
            "DELETE FROM relayed_events WHERE created_at < now() - interval '{RELAYED_EVENT_KEEP}'"
        ))
        .execute(&mut *db)
        .await?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO relayed_events (payload) VALUES ($1) RETURNING id")
                .bind(payload)
                .fetch_one(&mut *db)
                .await?;
        format!("#{id}")
    };
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(inline)
        .execute(&mut *db)
        .await?;
    Ok(())
}

async fn stored_payload(pool: &sqlx::PgPool, id: &str) -> StorageResult<String> {
    let id: i64 = id
        .parse()
        .map_err(|_| crate::storage::StorageError::Corrupt {
            table: "relayed_events",
            reason: format!("a notification names event `{id}`"),
        })?;
    let payload = sqlx::query_scalar("SELECT payload FROM relayed_events WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    payload.ok_or_else(|| crate::storage::StorageError::Corrupt {
        table: "relayed_events",
        reason: format!("event {id} is gone"),
    })
}
