//! What operators see of the real server: `/metrics` in Prometheus format,
//! a request id on every response, the dashboard's live snapshots, and
//! the test broadcast the dashboard starts.

mod common;

use app::domain::operations::DashboardSnapshot;
use common::{metric, TestServer};
use serde_json::json;

#[tokio::test]
async fn metrics_count_actors_messages_tokens_and_write_batches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "count me").await;
    server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;

    let _watching = server.events(conversation, None, false).await;
    let response = server.get("/metrics").await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.expect("body");
    assert_eq!(metric(&text, "arbor_active_actors"), Some(1.0), "{text}");
    assert_eq!(metric(&text, "arbor_running_generations"), Some(0.0));
    assert!(metric(&text, "arbor_messages_written_total").is_some_and(|n| n >= 2.0));
    assert!(metric(&text, "arbor_tokens_streamed_total").is_some_and(|n| n > 0.0));
    assert!(
        text.contains("arbor_write_batch_seconds{quantile=\"0.5\"}"),
        "{text}"
    );
    assert_eq!(metric(&text, "arbor_sse_subscribers"), Some(1.0), "{text}");
}

#[tokio::test]
async fn provider_errors_are_counted_by_kind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_FAIL_AFTER", "2")]).await;
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "fail please").await;
    server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    let text = server.get("/metrics").await.text().await.expect("body");
    assert!(
        text.contains("arbor_provider_errors_total{kind=\"upstream\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let first = server.get("/").await;
    let second = server.get("/").await;
    let id = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .expect("an x-request-id header")
    };
    assert_ne!(id(&first), id(&second), "each request gets its own id");
}

#[tokio::test]
async fn the_dashboard_streams_a_test_broadcast_to_the_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Slow tokens: the broadcast is still running when a second one is asked for.
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "20")]).await;
    let mut snapshots = server.event_stream("/api/admin/events").await;
    let first: DashboardSnapshot =
        serde_json::from_str(&snapshots.next().await.data).expect("a snapshot");
    assert_eq!(first.active_conversations, 0);
    assert!(first.broadcast.is_none());

    let started: Result<(), _> = server
        .call::<()>(
            "start_test_broadcast",
            json!({"count": 25, "text": "hello, all of you"}),
        )
        .await;
    started.expect("the broadcast starts");
    let refused = server
        .call::<()>("start_test_broadcast", json!({"count": 5, "text": "again"}))
        .await
        .expect_err("one broadcast at a time");
    assert_eq!(refused.status, 409, "{:?}", refused.body);

    let finished = loop {
        let event = snapshots.next().await;
        assert_eq!(event.event, "snapshot");
        let snapshot: DashboardSnapshot = serde_json::from_str(&event.data).expect("JSON");
        if let Some(progress) = &snapshot.broadcast {
            assert!(progress.completed + progress.failed <= progress.total);
            if progress.finished {
                break snapshot;
            }
        }
    };
    let progress = finished.broadcast.expect("progress");
    assert_eq!(progress.total, 25);
    assert_eq!(progress.failed, 0);
    assert_eq!(progress.completed, progress.total);
    assert!(finished.active_conversations >= 25);
    let conversations = server
        .call::<Vec<app::domain::model::ConversationSummary>>("list_conversations", json!({}));
    assert!(conversations.await.expect("list").len() >= 25);
}

#[tokio::test]
async fn a_test_broadcast_of_a_bad_size_or_an_empty_message_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    for args in [
        json!({"count": 0, "text": "hi"}),
        json!({"count": 10_001, "text": "hi"}),
        json!({"count": 3, "text": "   "}),
    ] {
        let failure = server
            .call::<()>("start_test_broadcast", args.clone())
            .await
            .expect_err("refused");
        assert_eq!(failure.status, 400, "{args}: {:?}", failure.body);
    }
}
