//! A server killed mid-reply loses nothing it had saved: on the next start
//! the reply is marked interrupted with its partial text kept.

mod common;

use app::domain::model::MessageStatus;
use common::{delta_text, find, TestServer};

#[tokio::test]
async fn restart_marks_streaming_replies_interrupted_and_keeps_their_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The same address both times, as a restarted node has (on a shared
    // PostgreSQL database, that is how the new run knows the old one's
    // leases are dead).
    let addr = common::free_address();
    let env = [
        ("ARBOR_OFFLINE_TOKEN_MS", "50"),
        ("ARBOR_CHECKPOINT_MS", "0"),
        ("ARBOR_ADDR", addr.as_str()),
    ];
    let server = TestServer::start(dir.path(), &env).await;
    let (conversation, mut events) = server.watched_conversation().await;
    let receipt = server.send(conversation, None, "crash in the middle").await;
    let id = receipt.assistant.id;
    let seen = events.until_deltas(4).await;
    drop(events);
    server.kill().await;

    let server = TestServer::start(dir.path(), &env).await;
    // Start-up alone, before any request opens the conversation, repaired the row.
    let row = server.stored(conversation, id).await;
    assert_eq!(row.status, "interrupted");
    assert!(row.content.starts_with(&delta_text(&seen, id)));
    let view = server.conversation(conversation).await;
    let reply = find(&view, id);
    assert_eq!(reply.status, MessageStatus::Interrupted);
    assert!(reply
        .note
        .as_deref()
        .unwrap_or_default()
        .contains("Interrupted"));
    let shown = delta_text(&seen, id);
    assert!(
        reply.content.starts_with(&shown),
        "saved text {:?} keeps what was shown {:?}",
        reply.content,
        shown
    );
    assert_eq!(
        find(&view, receipt.user.expect("user").id).content,
        "crash in the middle"
    );

    // The interrupted reply can be regenerated on the restarted server.
    let again = server
        .regenerate(conversation, id)
        .await
        .expect("regenerate");
    let finished = server
        .wait_until_finished(conversation, again.assistant.id)
        .await;
    assert_eq!(finished.status, MessageStatus::Complete);
}

#[tokio::test]
async fn sigterm_stops_the_server_even_with_an_event_stream_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let _events = server.events(conversation, None, false).await;
    let status = server.terminate().await;
    assert!(status.success(), "clean exit, got {status}");
}
