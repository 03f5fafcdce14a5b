//! The one writer of a SQLite database. Every write of every conversation
//! actor is queued here; a single task takes whatever is queued (up to
//! [`MAX_BATCH`] writes) and runs it in one transaction, so thousands of
//! simultaneous replies cost a few commits instead of thousands, and no two
//! connections ever contend for the database's write lock.
//!
//! Each write runs inside its own savepoint: a write that fails (a
//! conversation deleted meanwhile, say) is rolled back alone and answered
//! with its error, while the rest of the batch commits. A write is answered
//! only after its batch has committed.

use super::{StorageError, StorageResult};
use futures::future::BoxFuture;
use sqlx::{Acquire, SqliteConnection, SqlitePool};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// Most writes committed in one transaction.
pub const MAX_BATCH: usize = 1024;

/// How many writes may wait for the writer before callers wait to queue.
const QUEUE: usize = 16 * 1024;

/// One write: statements run on the writer's connection, inside a
/// transaction the writer owns.
pub type Operation<T> =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StorageResult<T>> + Send>;

/// A queued write and the caller waiting for its answer.
trait Job: Send {
    /// Runs the write; true when it succeeded (its result is kept for later).
    fn run<'c>(&'c mut self, connection: &'c mut SqliteConnection) -> BoxFuture<'c, bool>;
    /// Answers the caller once the batch has committed (or failed to).
    fn answer(self: Box<Self>, batch: Result<(), String>);
}

struct TypedJob<T> {
    operation: Option<Operation<T>>,
    result: Option<StorageResult<T>>,
    reply: oneshot::Sender<StorageResult<T>>,
}

impl<T: Send + 'static> Job for TypedJob<T> {
    fn run<'c>(&'c mut self, connection: &'c mut SqliteConnection) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let Some(operation) = self.operation.take() else {
                return false;
            };
            let result = operation(connection).await;
            let ok = result.is_ok();
            self.result = Some(result);
            ok
        })
    }

    fn answer(self: Box<Self>, batch: Result<(), String>) {
        let result = match (batch, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StorageError::WriteFailed("the write never ran".into())),
            (Err(reason), _) => Err(StorageError::WriteFailed(reason)),
        };
        // The caller may have gone away; the write stands either way.
        _ = self.reply.send(result);
    }
}

/// The handle writes are queued through; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer task on `pool`. It runs until every handle is dropped.
    pub fn start(pool: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, queue));
        Writer { jobs }
    }

    /// Queues `operation` and waits until its batch has committed.
    pub async fn write<T: Send + 'static>(
        &self,
        operation: impl for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StorageResult<T>>
            + Send
            + 'static,
    ) -> StorageResult<T> {
        let (reply, answer) = oneshot::channel();
        let job = TypedJob {
            operation: Some(Box::new(operation)),
            result: None,
            reply,
        };
        self.jobs
            .send(Box::new(job))
            .await
            .map_err(|_| StorageError::WriteFailed("the database writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StorageError::WriteFailed("the database writer has stopped".into()))?
    }
}

async fn run(pool: SqlitePool, mut queue: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let started = Instant::now();
        let outcome = write_batch(&pool, &mut batch)
            .await
            .map_err(|error| error.to_string());
        if let Err(reason) = &outcome {
            tracing::error!(%reason, writes = batch.len(), "a write batch failed");
        }
        metrics::histogram!("arbor_write_batch_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("arbor_write_batch_size").record(batch.len() as f64);
        for job in batch.drain(..) {
            job.answer(outcome.clone());
        }
    }
}

async fn write_batch(pool: &SqlitePool, batch: &mut [Box<dyn Job>]) -> Result<(), sqlx::Error> {
    let mut transaction = pool.begin().await?;
    for job in batch.iter_mut() {
        let mut savepoint = transaction.begin().await?;
        if job.run(&mut savepoint).await {
            savepoint.commit().await?;
        } else {
            savepoint.rollback().await?;
        }
    }
    transaction.commit().await
}

#[cfg(test)]
mod tests {
    use crate::storage::{SqliteStore, Store, StoredMessage};
    use app::model::{MessageNode, MessageStatus, Role};
    use std::sync::Arc;
    use uuid::Uuid;

    fn user_message(text: &str) -> StoredMessage {
        StoredMessage {
            node: MessageNode {
                id: Uuid::now_v7(),
                parent_id: None,
                role: Role::User,
                content: text.into(),
                status: MessageStatus::Complete,
                model: None,
                params: None,
                note: None,
                last_active_at: None,
                usage: None,
                tool_calls: Vec::new(),
                tool_call_id: None,
                created_at: 1,
            },
            client_id: None,
        }
    }

    async fn store(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
        let path = dir.path().join("arbor.db");
        let store = SqliteStore::open(path.to_str().expect("utf-8 temp path"))
            .await
            .expect("open the database");
        Arc::new(store)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn thousands_of_simultaneous_writes_are_all_committed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = store(&dir).await;
        let owner = store.local_user().await.expect("local user");
        let conversation = store.create_conversation(owner, 1).await.expect("create");
        let writes = (0..3000).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let message = user_message(&format!("message {i}"));
                let id = message.node.id;
                store.insert_messages(conversation.id, &[message], id).await
            })
        });
        for write in futures::future::join_all(writes).await {
            write.expect("task").expect("write committed");
        }
        let stored = store.messages(conversation.id).await.expect("read back");
        assert_eq!(stored.len(), 3000);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_is_rolled_back_alone_and_its_batch_commits() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = store(&dir).await;
        let owner = store.local_user().await.expect("local user");
        let conversation = store.create_conversation(owner, 1).await.expect("create");
        let orphan_conversation = Uuid::now_v7(); // no such row: the foreign key fails
        let writes = (0..200).map(|i| {
            let store = store.clone();
            let target = if i % 10 == 0 {
                orphan_conversation
            } else {
                conversation.id
            };
            tokio::spawn(async move {
                let message = user_message(&format!("message {i}"));
                let id = message.node.id;
                store.insert_messages(target, &[message], id).await
            })
        });
        let results = futures::future::join_all(writes).await;
        let failed = results.iter().filter(|r| matches!(r, Ok(Err(_)))).count();
        assert_eq!(
            failed, 20,
            "exactly the writes to the missing conversation fail"
        );
        let stored = store.messages(conversation.id).await.expect("read back");
        assert_eq!(stored.len(), 180);
        assert!(store
            .messages(orphan_conversation)
            .await
            .expect("read")
            .is_empty());
    }
}
