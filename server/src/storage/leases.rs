//! Who runs which conversation when several nodes share one PostgreSQL
//! database: node rows with a heartbeat, one lease row per conversation
//! whose actor is running, the nodes' shared secret, and events passed
//! between nodes by `NOTIFY` (those too large for a notification go by
//! reference to a row). Times are the database's own clock, so nodes whose
//! clocks disagree still agree on who holds what.

use super::StorageResult;
use futures::stream::BoxStream;
use std::time::Duration;
use uuid::Uuid;

/// Who holds a conversation's lease after asking for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseHolder {
    /// The asking node: it may run the conversation's actor.
    Me,
    /// Another node holds a lease that has not expired.
    Node {
        id: Uuid,
        /// Its base URL for forwarded requests.
        address: String,
        /// How long its lease still runs if it is not renewed.
        expires_in: Duration,
    },
}

/// Nodes, leases and the channel between nodes.
#[async_trait::async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Records `node` as running at `address` and answers the secret every
    /// node presents to the others (made by the first node to ask). A node
    /// row already at `address` is an earlier run of the same node (two
    /// live nodes cannot share an address): it is removed with its leases.
    async fn join(&self, node: Uuid, address: &str, secret_if_new: &str) -> StorageResult<String>;

    /// Removes `node` and every lease it holds (a clean shutdown).
    async fn leave(&self, node: Uuid) -> StorageResult<()>;

    /// Takes the lease of `conversation` for `node` for `ttl` when nobody
    /// holds it, when its holder let it expire, or when `node` holds it.
    async fn acquire(
        &self,
        conversation: Uuid,
        node: Uuid,
        ttl: Duration,
    ) -> StorageResult<LeaseHolder>;

    /// Extends `node`'s leases of `conversations` and its heartbeat by
    /// `ttl`, and removes nodes whose heartbeat, and leases whose expiry,
    /// is older than `forget_after`. Answers those of `conversations` it
    /// still holds.
    async fn renew(
        &self,
        node: Uuid,
        conversations: &[Uuid],
        ttl: Duration,
        forget_after: Duration,
    ) -> StorageResult<Vec<Uuid>>;

    /// Sends `payload` to every node listening (this one included), in the
    /// order of the calls; a payload too large for a notification is stored
    /// and sent by reference.
    async fn notify(&self, payload: &str) -> StorageResult<()>;

    /// Every payload notified from now on, in order. The stream ends if
    /// the connection is lost (notifications may have been missed).
    async fn listen(&self) -> StorageResult<BoxStream<'static, StorageResult<String>>>;
}
