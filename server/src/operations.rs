//! The operators' side of a running Arbor: the dashboard's live snapshots
//! (served every half second by `http::dashboard`) and the test broadcast
//! the dashboard starts.

use crate::api::Arbor;
use app::domain::backend::OperationsBackend;
use app::domain::errors::AppError;
use app::domain::model::{ConversationSettings, MessageStatus};
use app::domain::operations::{
    rate, ActiveConversation, BroadcastProgress, DashboardSnapshot, MAX_LISTED_CONVERSATIONS,
    MAX_TEST_CONVERSATIONS,
};
use futures::stream::{self, Stream, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How often the dashboard gets a snapshot.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);
/// How many test conversations are created at once.
const CREATE_CONCURRENCY: usize = 256;

/// Owns the latest test broadcast; shared by the dashboard's requests.
pub struct Operations {
    arbor: Arbor,
    latest: Mutex<Option<Arc<BroadcastRun>>>,
}

/// Counters of one test broadcast, updated as it runs.
struct BroadcastRun {
    total: u32,
    started: AtomicU32,
    completed: AtomicU32,
    failed: AtomicU32,
    began: Instant,
    /// How long it took and why it stopped early, if it did; `None` while it runs.
    ended: Mutex<Option<(Duration, Option<String>)>>,
}

/// Locks a mutex whose data stays consistent even if a holder panicked
/// (each holder makes one assignment).
fn read<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl BroadcastRun {
    fn new(total: u32) -> Self {
        BroadcastRun {
            total,
            started: AtomicU32::new(0),
            completed: AtomicU32::new(0),
            failed: AtomicU32::new(0),
            began: Instant::now(),
            ended: Mutex::new(None),
        }
    }

    fn is_finished(&self) -> bool {
        read(&self.ended).is_some()
    }

    fn progress(&self) -> BroadcastProgress {
        let ended = read(&self.ended).clone();
        let elapsed = ended
            .as_ref()
            .map_or_else(|| self.began.elapsed(), |(took, _)| *took);
        BroadcastProgress {
            total: self.total,
            started: self.started.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            finished: ended.is_some(),
            error: ended.and_then(|(_, error)| error),
        }
    }

    fn finish(&self, error: Option<String>) {
        read(&self.ended).get_or_insert((self.began.elapsed(), error));
    }
}

impl Operations {
    pub fn new(arbor: Arbor) -> Self {
        Operations {
            arbor,
            latest: Mutex::new(None),
        }
    }

    fn latest(&self) -> Option<Arc<BroadcastRun>> {
        read(&self.latest).clone()
    }

    /// The server now; `sampler` remembers the previous one for rates.
    fn snapshot(&self, sampler: &mut Sampler) -> DashboardSnapshot {
        let statuses = self.arbor.live_conversations();
        let millis = u64::try_from(sampler.at.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut previous = std::mem::take(&mut sampler.deltas);
        let mut conversations: Vec<ActiveConversation> = statuses
            .iter()
            .map(|(id, status)| {
                let deltas = status.deltas_streamed();
                let before = previous.remove(id).unwrap_or(deltas);
                sampler.deltas.insert(*id, deltas);
                ActiveConversation {
                    id: *id,
                    messages: status.messages(),
                    running: status.running(),
                    tokens_per_second: rate(before, deltas, millis),
                    last_activity_ms: status.last_activity_ms(),
                }
            })
            .collect();
        sampler.at = Instant::now();
        let running_generations = conversations.iter().map(|c| c.running).sum();
        let tokens_per_second = conversations.iter().map(|c| c.tokens_per_second).sum();
        conversations.sort_by(|a, b| {
            (b.running, b.last_activity_ms)
                .cmp(&(a.running, a.last_activity_ms))
                .then(a.id.cmp(&b.id))
        });
        conversations.truncate(MAX_LISTED_CONVERSATIONS);
        DashboardSnapshot {
            active_conversations: statuses.len(),
            running_generations,
            tokens_per_second,
            conversations,
            broadcast: self.latest().map(|run| run.progress()),
        }
    }
}

#[async_trait::async_trait]
impl OperationsBackend for Operations {
    async fn start_test_broadcast(
        &self,
        user: Uuid,
        count: u32,
        text: String,
    ) -> Result<(), AppError> {
        if !(1..=MAX_TEST_CONVERSATIONS).contains(&count) {
            return Err(AppError::BadRequest(format!(
                "start 1 to {MAX_TEST_CONVERSATIONS} conversations"
            )));
        }
        self.arbor.service().check_text(&text)?;
        let run = {
            let mut latest = read(&self.latest);
            if latest.as_ref().is_some_and(|run| !run.is_finished()) {
                return Err(AppError::Busy(
                    "a test broadcast is still running; wait for it to finish".into(),
                ));
            }
            let run = Arc::new(BroadcastRun::new(count));
            *latest = Some(run.clone());
            run
        };
        // The test conversations belong to the administrator who asked.
        tokio::spawn(run_test_broadcast(self.arbor.acting_as(user), run, text));
        Ok(())
    }
}

/// Marks a run finished if its task ends without saying so (a panic), so
/// the next broadcast is not refused for ever.
struct FinishOnDrop(Arc<BroadcastRun>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        // The first finish wins: a run that finished normally keeps its result.
        self.0
            .finish(Some("the broadcast stopped unexpectedly".into()));
    }
}

/// Creates the run's conversations on the offline model, then broadcasts.
async fn run_test_broadcast(arbor: Arbor, run: Arc<BroadcastRun>, text: String) {
    let _finish = FinishOnDrop(run.clone());
    tracing::info!(count = run.total, "test broadcast started");
    let offline = ConversationSettings {
        model: Some(arbor.offline_model()),
        ..ConversationSettings::default()
    };
    let created: Result<Vec<Uuid>, AppError> = stream::iter(0..run.total)
        .map(|_| async {
            let id = arbor.start_conversation().await?;
            arbor.configure(id, offline.clone()).await?;
            run.started.fetch_add(1, Ordering::Relaxed);
            Ok(id)
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect();
    let ids = match created {
        Ok(ids) => ids,
        Err(error) => {
            tracing::error!(%error, "test broadcast could not create its conversations");
            run.finish(Some(error.to_string()));
            return;
        }
    };
    arbor
        .broadcast_with_progress(&ids, &text, |result| {
            let counter = match &result.reply {
                Ok(reply) if reply.status == MessageStatus::Complete => &run.completed,
                _ => &run.failed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .await;
    let progress = run.progress();
    tracing::info!(
        completed = progress.completed,
        failed = progress.failed,
        elapsed_ms = progress.elapsed_ms,
        "test broadcast finished"
    );
    run.finish(None);
}

/// What the previous snapshot saw, for per-second rates.
struct Sampler {
    at: Instant,
    deltas: HashMap<Uuid, u64>,
}

impl Operations {
    /// The dashboard's snapshots: one now, then one every half second, until
    /// the server starts shutting down.
    pub fn snapshots(self: Arc<Self>) -> impl Stream<Item = DashboardSnapshot> + Send + 'static {
        let closing = self.arbor.closing();
        let sampler = Sampler {
            at: Instant::now(),
            deltas: HashMap::new(),
        };
        stream::unfold(
            (self, sampler, true),
            |(operations, mut sampler, first)| async move {
                if !first {
                    tokio::time::sleep(SNAPSHOT_EVERY).await;
                }
                let snapshot = operations.snapshot(&mut sampler);
                Some((snapshot, (operations, sampler, false)))
            },
        )
        .take_until(closing)
    }
}
