//! Replies stream over Server-Sent Events: deltas add up to the stored
//! text, a reconnect resumes without gaps or duplicates, Stop keeps the
//! partial text, a failing model keeps its text too, and the reply goes on
//! when nobody is watching.

mod common;

use app::domain::model::{EventCursor, MessageStatus};
use common::{delta_text, find, TestServer};
use serde_json::Value;

fn cursor(id: &str) -> EventCursor {
    id.parse().expect("event ids are cursors")
}

#[tokio::test]
async fn deltas_add_up_to_the_stored_reply() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A model slower than the stream's 16 ms frame: each token goes alone.
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "20")]).await;
    let (conversation, mut events) = server.watched_conversation().await;

    let receipt = server.send(conversation, None, "stream please").await;
    let received = events.until_done(receipt.assistant.id).await;

    let names: Vec<&str> = received.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        &names[..2],
        ["message", "message"],
        "both new nodes are announced first"
    );
    assert!(
        received.iter().filter(|e| common::is_delta(e)).count() > 30,
        "token by token"
    );
    let done: Value = serde_json::from_str(&received.last().expect("done").data).expect("json");
    assert_eq!(done["status"], "complete");

    let stored = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(delta_text(&received, receipt.assistant.id), stored.content);
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_resumes_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "10")]).await;
    let (conversation, mut first) = server.watched_conversation().await;
    let receipt = server.send(conversation, None, "resume me").await;
    let id = receipt.assistant.id;

    let before = first.until_deltas(5).await;
    let last_seen = before.last().expect("events").id.clone();
    drop(first); // the connection drops mid-reply

    let mut second = server.events(conversation, Some(&last_seen), true).await;
    let after = second.until_done(id).await;

    let all: Vec<EventCursor> = before.iter().chain(&after).map(|e| cursor(&e.id)).collect();
    for pair in all.windows(2) {
        assert_eq!(pair[1].epoch, pair[0].epoch);
        assert_eq!(
            pair[1].seq,
            pair[0].seq + 1,
            "no gap and no duplicate: {all:?}"
        );
    }
    let text = delta_text(&before, id) + &delta_text(&after, id);
    let stored = server.wait_until_finished(conversation, id).await;
    assert_eq!(text, stored.content);
}

#[tokio::test]
async fn an_unknown_resume_point_gets_a_reset_event() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let mut events = server.events(conversation, Some("1-5"), true).await;
    assert_eq!(events.next().await.event, "reset");
    let mut events = server.events(conversation, Some("garbage"), true).await;
    assert_eq!(events.next().await.event, "reset");
}

#[tokio::test]
async fn stop_keeps_the_partial_text_marked_as_stopped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "40")]).await;
    let (conversation, mut events) = server.watched_conversation().await;
    let receipt = server
        .send(conversation, None, "a long answer please")
        .await;
    let id = receipt.assistant.id;

    let mut received = events.until_deltas(3).await;
    server.stop(conversation, id).await.expect("stop succeeds");
    received.extend(events.until_done(id).await);

    let done: Value = serde_json::from_str(&received.last().expect("done").data).expect("json");
    assert_eq!(done["status"], "interrupted");
    let stored = server.wait_until_finished(conversation, id).await;
    assert_eq!(stored.status, MessageStatus::Interrupted);
    assert_eq!(stored.note.as_deref(), Some("Stopped by user."));
    assert!(!stored.content.is_empty());
    assert_eq!(
        delta_text(&received, id),
        stored.content,
        "exactly what was shown is kept"
    );

    // Stopping again is harmless and changes nothing.
    server
        .stop(conversation, id)
        .await
        .expect("second stop is a no-op");
    let view = server.conversation(conversation).await;
    assert_eq!(find(&view, id).content, stored.content);
}

#[tokio::test]
async fn a_model_failing_mid_stream_ends_in_error_with_its_text_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_FAIL_AFTER", "6")]).await;
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "fail please").await;
    let stored = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(stored.status, MessageStatus::Error);
    assert!(stored
        .note
        .as_deref()
        .unwrap_or_default()
        .contains("fail after 6 tokens"));
    assert_eq!(
        stored.content.split_whitespace().count(),
        6,
        "{:?}",
        stored.content
    );

    // The conversation stays usable: the failed reply can be regenerated.
    let again = server
        .regenerate(conversation, receipt.assistant.id)
        .await
        .expect("retry");
    assert_eq!(again.assistant.parent_id, stored.parent_id);
}

#[tokio::test]
async fn the_reply_continues_when_the_page_goes_away() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The reply takes about 3 s and an actor may go idle after 1 s: only its
    // running generation keeps it (and the reply) alive.
    let env = [
        ("ARBOR_OFFLINE_TOKEN_MS", "40"),
        ("ARBOR_ACTOR_IDLE_SECS", "1"),
    ];
    let server = TestServer::start(dir.path(), &env).await;
    let (conversation, mut events) = server.watched_conversation().await;
    let receipt = server.send(conversation, None, "keep going").await;
    let seen = events.until_deltas(2).await;
    drop(events); // the tab closes

    let stored = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(stored.status, MessageStatus::Complete);
    let partial = delta_text(&seen, receipt.assistant.id);
    assert!(stored.content.starts_with(&partial));
    assert!(stored.content.len() > partial.len());
}

#[tokio::test]
async fn an_actor_with_a_running_reply_is_not_evicted_when_idle() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Tokens come 1.3 s apart and actors may idle out after 1 s: with nobody
    // watching and no requests, only the running generation keeps the actor.
    let env = [
        ("ARBOR_OFFLINE_TOKEN_MS", "1300"),
        ("ARBOR_ACTOR_IDLE_SECS", "1"),
    ];
    let server = TestServer::start(dir.path(), &env).await;
    let (conversation, mut events) = server.watched_conversation().await;
    let receipt = server.send(conversation, None, "take your time").await;
    let seen = events.until_deltas(1).await;
    let last_seen = seen.last().expect("events").id.clone();
    drop(events);

    // The stimulus is time itself: more than two idle periods pass with no
    // request and no subscriber.
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;

    // The same actor incarnation still numbers the events, so resuming from
    // the old position continues instead of asking for a reset.
    let mut resumed = server.events(conversation, Some(&last_seen), true).await;
    let next = resumed.next().await;
    assert_eq!(next.event, "delta", "resumed without a reset");
    assert_eq!(cursor(&next.id).seq, cursor(&last_seen).seq + 1);
    server
        .stop(conversation, receipt.assistant.id)
        .await
        .expect("stop");
    let stopped = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(stopped.note.as_deref(), Some("Stopped by user."));
}
