//! Continue: an interrupted or failed reply goes on in a new sibling that
//! starts with its text, with the offline model and with an
//! OpenAI-compatible server.

mod common;

use app::domain::model::MessageStatus;
use common::{fake_openai, find, TestServer};
use serde_json::json;

#[tokio::test]
async fn a_stopped_offline_reply_continues_where_it_stopped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "20")]).await;
    let (conversation, mut events) = server.watched_conversation().await;
    let sent = server.send(conversation, None, "tell me about oaks").await;
    events.until_deltas(5).await;
    server
        .stop(conversation, sent.assistant.id)
        .await
        .expect("stopped");
    let stopped = server
        .wait_until_finished(conversation, sent.assistant.id)
        .await;
    assert_eq!(stopped.status, MessageStatus::Interrupted);

    let continued = server
        .continue_reply(conversation, stopped.id)
        .await
        .expect("continued");
    assert_eq!(
        continued.assistant.parent_id, stopped.parent_id,
        "a sibling"
    );
    assert_eq!(
        continued.assistant.content, stopped.content,
        "starts with the kept text"
    );
    assert!(continued.user.is_none());
    let done = server
        .wait_until_finished(conversation, continued.assistant.id)
        .await;
    assert_eq!(done.status, MessageStatus::Complete);
    assert!(done.content.starts_with(&stopped.content));
    assert!(done.content.len() > stopped.content.len());
    assert!(
        done.content.contains("```rust"),
        "the rest of the same reply"
    );
    let seed =
        |node: &app::domain::model::MessageNode| node.params.as_ref().and_then(|p| p.sampler.seed);
    assert_eq!(
        seed(&done),
        seed(&stopped),
        "the offline model keeps its seed"
    );

    // The stopped reply is untouched; the view shows the continuation.
    let view = server.conversation(conversation).await;
    assert_eq!(find(&view, stopped.id).content, stopped.content);
    assert_eq!(view.active_leaf_id, Some(done.id));
    let row = server.stored(conversation, stopped.id).await;
    assert_eq!(row.content, stopped.content);
}

#[tokio::test]
async fn only_interrupted_or_failed_replies_with_text_can_be_continued() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let sent = server.send(conversation, None, "hello").await;
    let complete = server
        .wait_until_finished(conversation, sent.assistant.id)
        .await;
    let user = sent.user.expect("a user message").id;
    for (message, status) in [(complete.id, 400), (user, 400), (uuid::Uuid::now_v7(), 404)] {
        let failure = server
            .continue_reply(conversation, message)
            .await
            .expect_err("refused");
        assert_eq!(failure.status, status, "{:?}", failure.body);
    }
    let view = server.conversation(conversation).await;
    assert_eq!(view.nodes.len(), 2, "nothing was added");

    let slow = tempfile::tempdir().expect("temp dir");
    let slow = TestServer::start(slow.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "200")]).await;
    let conversation = slow.create_conversation().await.id;
    let streaming = slow.send(conversation, None, "hello").await.assistant.id;
    let busy = slow
        .continue_reply(conversation, streaming)
        .await
        .expect_err("still streaming");
    assert_eq!(busy.status, 409);
}

#[tokio::test]
async fn a_failed_remote_reply_continues_with_its_text_sent_as_the_models_own_turn() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let base_url = format!("{}/v1", fake.origin);
    let server = TestServer::start(
        dir.path(),
        &[("OPENAI_BASE_URL", &base_url), ("ARBOR_MODEL", "fake-cut")],
    )
    .await;
    let conversation = server.create_conversation().await.id;
    let sent = server.send(conversation, None, "hi").await;
    let failed = server
        .wait_until_finished(conversation, sent.assistant.id)
        .await;
    assert_eq!(failed.status, MessageStatus::Error);
    assert_eq!(failed.content, "one two three ");

    // A model the server lists (GET /v1/models) can be picked.
    let _: app::domain::model::EffectiveModel = server
        .call(
            "set_generation_settings",
            json!({ "id": conversation, "settings": { "model": "openai/fake-echo", "persona": null, "params": {} } }),
        )
        .await
        .expect("a listed model");
    let continued = server
        .continue_reply(conversation, failed.id)
        .await
        .expect("continued");
    let done = server
        .wait_until_finished(conversation, continued.assistant.id)
        .await;
    assert_eq!(done.status, MessageStatus::Complete);
    assert_eq!(done.content, "one two three You said: hi");
    let request = fake.chat_requests().last().expect("a request").body.clone();
    let messages = request["messages"].as_array().expect("messages");
    assert_eq!(
        messages.last(),
        Some(&json!({ "role": "assistant", "content": "one two three " })),
        "the kept text is sent as the start of the model's turn"
    );
}
