//! The one writer of a SQLite database. Every write of every conversation
//! actor is queued here; a single task takes whatever is queued (up to
//! [`MAX_BATCH`] writes) and commits it in one transaction, so thousands of
//! simultaneous replies cost a few commits instead of thousands, and no two
//! connections ever contend for the database's write lock.
//!
//! Consecutive message writes (see [`MessageWrite`]) are grouped into a few
//! multi-row statements. If a group fails (a conversation deleted meanwhile,
//! say), it is rolled back and its writes run one at a time, each in its own
//! savepoint, so only the bad write fails. Other writes are closures run in
//! their own savepoint. A write is answered only after its batch committed.

use super::message_writes::{self, MessageWrite};
use crate::storage::{StorageError, StorageResult};
use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::{Acquire, SqliteConnection, SqlitePool};
use std::panic::AssertUnwindSafe;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// Most writes committed in one transaction.
pub const MAX_BATCH: usize = 4096;

/// How many writes may wait for the writer before callers wait to queue.
const QUEUE: usize = 16 * 1024;

/// One write: statements run on the writer's connection, inside a
/// transaction the writer owns.
pub type Operation<T> =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StorageResult<T>> + Send>;

/// A closure write and the caller waiting for its answer.
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
        // The caller may have gone away; the write stands either way.
        _ = self.reply.send(outcome(batch, self.result));
    }
}

/// What a caller is told: its own result if the batch committed.
fn outcome<T>(batch: Result<(), String>, result: Option<StorageResult<T>>) -> StorageResult<T> {
    match (batch, result) {
        (Ok(()), Some(result)) => result,
        (Ok(()), None) => Err(StorageError::WriteFailed(
            "the write failed inside the database writer".into(),
        )),
        (Err(reason), _) => Err(StorageError::WriteFailed(reason)),
    }
}

/// A message write with the caller waiting for it.
struct QueuedMessageWrite {
    write: MessageWrite,
    result: Option<StorageResult<()>>,
    reply: oneshot::Sender<StorageResult<()>>,
}

enum Queued {
    Message(Box<QueuedMessageWrite>),
    Closure(Box<dyn Job>),
}

/// The handle writes are queued through; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Queued>,
}

fn stopped() -> StorageError {
    StorageError::WriteFailed("the database writer has stopped".into())
}

impl Writer {
    /// Starts the writer task on `pool`. It runs until every handle is dropped.
    pub fn start(pool: SqlitePool) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, receiver));
        Writer { queue }
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
        self.queue
            .send(Queued::Closure(Box::new(job)))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Queues a message write and waits until its batch has committed.
    pub async fn write_message(&self, write: MessageWrite) -> StorageResult<()> {
        let (reply, answer) = oneshot::channel();
        let queued = QueuedMessageWrite {
            write,
            result: None,
            reply,
        };
        self.queue
            .send(Queued::Message(Box::new(queued)))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(pool: SqlitePool, mut queue: mpsc::Receiver<Queued>) {
    let mut batch: Vec<Queued> = Vec::with_capacity(MAX_BATCH);
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
        let inserted = answer_all(&mut batch, outcome);
        metrics::counter!("arbor_messages_written_total").increment(inserted as u64);
    }
}

/// Answers every write of a batch that ended with `batch_outcome`; returns
/// how many messages it inserted.
fn answer_all(batch: &mut Vec<Queued>, batch_outcome: Result<(), String>) -> usize {
    let mut inserted = 0;
    for queued in batch.drain(..) {
        match queued {
            Queued::Message(message) => {
                if batch_outcome.is_ok() && matches!(message.result, Some(Ok(()))) {
                    inserted += message.write.inserted();
                }
                _ = message
                    .reply
                    .send(outcome(batch_outcome.clone(), message.result));
            }
            Queued::Closure(job) => job.answer(batch_outcome.clone()),
        }
    }
    inserted
}

async fn write_batch(pool: &SqlitePool, batch: &mut [Queued]) -> Result<(), sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let mut rest = &mut batch[..];
    while !rest.is_empty() {
        let run = rest
            .iter()
            .take_while(|q| matches!(q, Queued::Message(_)))
            .count();
        if run == 0 {
            let (first, tail) = rest.split_at_mut(1);
            if let Queued::Closure(job) = &mut first[0] {
                let mut savepoint = transaction.begin().await?;
                // A write that panics fails alone; the writer goes on.
                let ran = AssertUnwindSafe(job.run(&mut savepoint))
                    .catch_unwind()
                    .await;
                if ran.unwrap_or(false) {
                    savepoint.commit().await?;
                } else {
                    savepoint.rollback().await?;
                }
            }
            rest = tail;
        } else {
            let (group, tail) = rest.split_at_mut(run);
            let mut writes: Vec<&mut QueuedMessageWrite> = group
                .iter_mut()
                .filter_map(|q| match q {
                    Queued::Message(message) => Some(message.as_mut()),
                    Queued::Closure(_) => None,
                })
                .collect();
            write_group(&mut transaction, &mut writes).await?;
            rest = tail;
        }
    }
    transaction.commit().await
}

/// Applies a run of message writes together, or one at a time if together fails.
async fn write_group(
    db: &mut SqliteConnection,
    writes: &mut [&mut QueuedMessageWrite],
) -> Result<(), sqlx::Error> {
    let mut savepoint = db.begin().await?;
    let all: Vec<&MessageWrite> = writes.iter().map(|w| &w.write).collect();
    if apply_guarded(&mut savepoint, &all).await.is_ok() {
        savepoint.commit().await?;
        for write in writes.iter_mut() {
            write.result = Some(Ok(()));
        }
        return Ok(());
    }
    savepoint.rollback().await?;
    for write in writes.iter_mut() {
        let mut savepoint = db.begin().await?;
        let result = apply_guarded(&mut savepoint, &[&write.write]).await;
        if result.is_ok() {
            savepoint.commit().await?;
        } else {
            savepoint.rollback().await?;
        }
        write.result = Some(result);
    }
    Ok(())
}

/// [`message_writes::apply`], with a panic turned into a failure.
async fn apply_guarded(db: &mut SqliteConnection, writes: &[&MessageWrite]) -> StorageResult<()> {
    AssertUnwindSafe(message_writes::apply(db, writes))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            Err(StorageError::WriteFailed(
                "the write failed inside the database writer".into(),
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{ConversationStore, MessageStore, SqliteStore, StoredMessage};
    use app::domain::model::{MessageNode, MessageStatus, Role};
    use std::sync::Arc;
    use uuid::Uuid;

    fn user_message(text: &str) -> StoredMessage {
        StoredMessage {
            node: MessageNode::new(
                Uuid::now_v7(),
                None,
                Role::User,
                text,
                MessageStatus::Complete,
                1,
            ),
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

    /// A message insert queued by hand, with the receiver of its answer.
    fn queued_insert(
        conversation: Uuid,
    ) -> (Queued, oneshot::Receiver<crate::storage::StorageResult<()>>) {
        let message = user_message("queued by hand");
        let (reply, answer) = oneshot::channel();
        let write = MessageWrite::Insert {
            conversation,
            active_leaf: message.node.id,
            messages: vec![message],
        };
        let queued = QueuedMessageWrite {
            write,
            result: None,
            reply,
        };
        (Queued::Message(Box::new(queued)), answer)
    }

    #[tokio::test]
    async fn in_one_batch_a_failing_grouped_write_fails_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = store(&dir).await;
        let owner = store.local_user().await.expect("local user");
        let conversation = store.create_conversation(owner, 1).await.expect("create");
        let missing = Uuid::now_v7(); // no such conversation: the foreign key fails
        let mut batch = Vec::new();
        let mut answers = Vec::new();
        for i in 0..10 {
            let target = if i == 3 || i == 7 {
                missing
            } else {
                conversation.id
            };
            let (queued, answer) = queued_insert(target);
            batch.push(queued);
            answers.push(answer);
        }
        write_batch(&store.pool, &mut batch)
            .await
            .expect("the batch commits");
        assert_eq!(answer_all(&mut batch, Ok(())), 8);
        let mut failed = Vec::new();
        for (i, answer) in answers.into_iter().enumerate() {
            if answer.await.expect("answered").is_err() {
                failed.push(i);
            }
        }
        assert_eq!(failed, vec![3, 7]);
        let stored = store.messages(conversation.id).await.expect("read back");
        assert_eq!(stored.len(), 8);
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
