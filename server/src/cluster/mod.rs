//! Several nodes on one PostgreSQL database. Each conversation's actor runs
//! on one node at a time, the one holding its lease row (taken on first
//! use, renewed every third of `ARBOR_LEASE_SECS` while the actor runs);
//! a request that reaches another node is forwarded to the holder
//! ([`forward`]), or served there once the holder's lease has expired. Events
//! reach clients on other nodes through `NOTIFY` ([`relay`]). With SQLite
//! there is no cluster: one node owns the file.

pub mod forward;
pub mod relay;
pub mod request;

use crate::storage::leases::{LeaseHolder, LeaseStore};
use crate::storage::StorageError;
use relay::Relay;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The header a node presents the shared secret in.
pub const SECRET_HEADER: &str = "x-arbor-node-secret";

/// A node's row is removed once its heartbeat is this many leases old.
const FORGET_AFTER_LEASES: u32 = 20;

/// Another node that holds a conversation's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub node: Uuid,
    /// Its base URL, e.g. `http://10.0.0.5:3000`.
    pub address: String,
    /// When its lease lapses unless renewed.
    pub expires_in: Duration,
}

/// This node's part in a cluster: who it is, the secret nodes share, the
/// leases, and the relay of events between nodes.
pub struct Cluster {
    node: Uuid,
    /// SHA-256 of the shared secret (compared by digest, so the time a
    /// comparison takes says nothing about the secret).
    secret_digest: [u8; 32],
    secret: String,
    leases: Arc<dyn LeaseStore>,
    lease: Duration,
    client: reqwest::Client,
    relay: Relay,
}

impl Cluster {
    /// Joins the nodes sharing `leases`' database as a new node reachable
    /// at `address`, holding conversations for `lease` at a time.
    pub async fn join(
        leases: Arc<dyn LeaseStore>,
        address: &str,
        lease: Duration,
    ) -> Result<Arc<Cluster>, StorageError> {
        let node = Uuid::now_v7();
        let fresh = crate::accounts::session_cookie::new_token()
            .map_err(|e| StorageError::WriteFailed(e.to_string()))?;
        let secret = leases.join(node, address, &fresh).await?;
        let relay = Relay::start(leases.clone()).await?;
        tracing::info!(%node, address, lease_secs = lease.as_secs(), "joined the nodes sharing this database");
        Ok(Arc::new(Cluster {
            node,
            secret_digest: Sha256::digest(secret.as_bytes()).into(),
            secret,
            leases,
            lease,
            client: reqwest::Client::new(),
            relay,
        }))
    }

    /// How long a lease lasts without renewal.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    pub fn relay(&self) -> &Relay {
        &self.relay
    }

    /// Whether `presented` is the nodes' shared secret.
    pub fn accepts(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest == self.secret_digest
    }

    /// Takes the lease of `conversation` if no other live node holds it;
    /// otherwise names the node that does.
    pub async fn acquire(&self, conversation: Uuid) -> Result<Option<Owner>, StorageError> {
        match self
            .leases
            .acquire(conversation, self.node, self.lease)
            .await?
        {
            LeaseHolder::Me => Ok(None),
            LeaseHolder::Node {
                id,
                address,
                expires_in,
            } => Ok(Some(Owner {
                node: id,
                address,
                expires_in,
            })),
        }
    }

    /// Renews the leases of the conversations whose actors run here and
    /// answers those whose lease this node no longer holds.
    pub async fn renew(&self, running: &[Uuid]) -> Result<Vec<Uuid>, StorageError> {
        let held = self
            .leases
            .renew(
                self.node,
                running,
                self.lease,
                self.lease * FORGET_AFTER_LEASES,
            )
            .await?;
        Ok(running
            .iter()
            .filter(|id| !held.contains(id))
            .copied()
            .collect())
    }

    /// Leaves the cluster (a clean shutdown): this node's leases go with it.
    pub async fn leave(&self) {
        if let Err(error) = self.leases.leave(self.node).await {
            tracing::warn!(%error, "could not remove this node's row and leases");
        }
    }
}
