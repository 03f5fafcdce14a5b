//! Operators' view of a running Arbor: the Prometheus recorder behind
//! `/metrics`. The figures themselves are recorded where they happen
//! (`metrics::counter!` and friends); this module only installs the
//! recorder and renders it.
//!
//! What is recorded:
//! - `arbor_active_actors` (gauge): conversations with an actor in memory;
//! - `arbor_running_generations` (gauge): replies being generated;
//! - `arbor_sse_subscribers` (gauge): open conversation event streams;
//! - `arbor_tokens_streamed_total` (counter): text deltas streamed;
//! - `arbor_messages_written_total` (counter): messages inserted;
//! - `arbor_write_batch_seconds`, `arbor_write_batch_size` (summaries): the
//!   database's message commits (SQLite groups them; on PostgreSQL each is one);
//! - `arbor_provider_errors_total{kind}` (counter): failed generations by kind;
//! - `arbor_actor_panics_total` (counter).

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::time::Duration;

/// How often histogram samples are folded into their summaries.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the process-wide Prometheus recorder and returns the handle
/// `/metrics` renders. `None` if a recorder is installed already (several
/// servers in one process): the first one keeps recording for all.
pub fn install_metrics() -> Option<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|error| tracing::warn!(%error, "metrics recorder not installed"))
        .ok()?;
    describe();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Some(handle)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!(
        "arbor_active_actors",
        "Conversations with an actor in memory"
    );
    describe_gauge!("arbor_running_generations", "Replies being generated");
    describe_gauge!("arbor_sse_subscribers", "Open conversation event streams");
    describe_counter!(
        "arbor_tokens_streamed_total",
        "Text deltas streamed to replies"
    );
    describe_counter!(
        "arbor_messages_written_total",
        "Messages inserted into the database"
    );
    describe_histogram!(
        "arbor_write_batch_seconds",
        Unit::Seconds,
        "Time to commit one batch of database writes"
    );
    describe_histogram!("arbor_write_batch_size", "Writes committed per batch");
    describe_counter!("arbor_provider_errors_total", "Failed generations, by kind");
    describe_counter!(
        "arbor_actor_panics_total",
        "Conversation actors that panicked"
    );
}
