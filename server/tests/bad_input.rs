//! Bad requests get a clear error with the right status, and nothing
//! already stored is lost or altered.

mod common;

use app::domain::model::ConversationView;
use common::{client_id, stored_rows, TestServer};
use serde_json::json;
use uuid::Uuid;

/// A conversation with one finished exchange, and its state.
async fn seeded(server: &TestServer) -> (Uuid, ConversationView) {
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "keep me").await;
    server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    (conversation, server.conversation(conversation).await)
}

/// Checks that the server shows, and the database file holds, exactly `before`.
async fn assert_unchanged(server: &TestServer, conversation: Uuid, before: &ConversationView) {
    let after = server.conversation(conversation).await;
    assert_eq!(after.nodes, before.nodes, "messages are untouched");
    assert_eq!(after.active_leaf_id, before.active_leaf_id);
    let stored: Vec<(Uuid, String, String)> = stored_rows(&server.database, conversation)
        .await
        .into_iter()
        .map(|r| (r.id, r.content, r.status))
        .collect();
    let shown: Vec<(Uuid, String, String)> = before
        .nodes
        .iter()
        .map(|n| (n.id, n.content.clone(), n.status.as_str().to_string()))
        .collect();
    assert_eq!(stored, shown, "the database holds exactly what was there");
}

fn message_of(failure: &common::Failure) -> String {
    failure.body.to_string()
}

#[tokio::test]
async fn empty_and_over_long_messages_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_MAX_MESSAGE_CHARS", "50")]).await;
    let (conversation, before) = seeded(&server).await;
    let leaf = before.active_leaf_id;

    let empty = server
        .try_send(conversation, leaf, &client_id(), "  \n ")
        .await
        .expect_err("empty");
    assert_eq!(empty.status, 400);
    assert!(
        message_of(&empty).contains("empty"),
        "{}",
        message_of(&empty)
    );

    let long = "x".repeat(51);
    let too_long = server
        .try_send(conversation, leaf, &client_id(), &long)
        .await
        .expect_err("long");
    assert_eq!(too_long.status, 400);
    assert!(
        message_of(&too_long).contains("limit is 50"),
        "{}",
        message_of(&too_long)
    );

    assert!(server
        .try_send(conversation, leaf, &client_id(), &"y".repeat(50))
        .await
        .is_ok());
    let after = server.conversation(conversation).await;
    assert_eq!(after.nodes.len(), before.nodes.len() + 2);
}

#[tokio::test]
async fn texts_holding_a_nul_character_are_refused_on_every_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, before) = seeded(&server).await;
    let fingerprint = server.database_fingerprint().await;

    let message = server
        .try_send(conversation, before.active_leaf_id, &client_id(), "a\0b")
        .await
        .expect_err("a NUL in a message");
    let title = server
        .call::<serde_json::Value>(
            "rename_conversation",
            json!({ "id": conversation, "title": "ti\0tle" }),
        )
        .await
        .expect_err("a NUL in a title");
    let prompt = server
        .call::<serde_json::Value>(
            "set_system_prompt",
            json!({ "id": conversation, "text": "\0" }),
        )
        .await
        .expect_err("a NUL in a system prompt");
    for (what, failure) in [
        ("message", message),
        ("title", title),
        ("system prompt", prompt),
    ] {
        assert_eq!(failure.status, 400, "{what}");
        assert!(
            message_of(&failure).contains(&format!("the {what} contains a NUL character")),
            "{what}: {}",
            message_of(&failure)
        );
    }
    assert_unchanged(&server, conversation, &before).await;
    assert_eq!(server.database_fingerprint().await, fingerprint);
}

#[tokio::test]
async fn unknown_ids_are_404_and_malformed_ids_are_400() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, before) = seeded(&server).await;
    let unknown = Uuid::now_v7();

    let missing = server
        .call::<serde_json::Value>("get_conversation", json!({ "id": unknown }))
        .await
        .expect_err("unknown conversation");
    assert_eq!(missing.status, 404);
    assert!(
        message_of(&missing).contains("conversation not found")
            || message_of(&missing).contains("NotFound")
    );

    let malformed = server
        .call::<serde_json::Value>("get_conversation", json!({ "id": "not-a-uuid" }))
        .await
        .expect_err("malformed");
    assert_eq!(malformed.status, 400);
    assert!(message_of(&malformed).contains("malformed conversation id"));

    let no_parent = server
        .try_send(conversation, Some(unknown), &client_id(), "orphan")
        .await
        .expect_err("unknown parent");
    assert_eq!(no_parent.status, 404);

    let bad_parent = server
        .call::<serde_json::Value>(
            "send_message",
            json!({ "conversation_id": conversation, "parent_id": "nope", "client_id": "c", "text": "hi" }),
        )
        .await
        .expect_err("malformed parent");
    assert_eq!(bad_parent.status, 400);

    let no_message = server
        .regenerate(conversation, unknown)
        .await
        .expect_err("unknown message");
    assert_eq!(no_message.status, 404);
    let no_conversation = server
        .stop(unknown, unknown)
        .await
        .expect_err("unknown conversation");
    assert_eq!(no_conversation.status, 404);

    assert_unchanged(&server, conversation, &before).await;
}

#[tokio::test]
async fn regenerating_a_user_message_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, before) = seeded(&server).await;
    let user = before
        .nodes
        .iter()
        .find(|n| n.parent_id.is_none())
        .expect("root")
        .id;
    let refused = server
        .regenerate(conversation, user)
        .await
        .expect_err("refused");
    assert_eq!(refused.status, 400);
    assert!(message_of(&refused).contains("only assistant replies can be regenerated"));

    // Replying under a user message is refused as well.
    let under_user = server
        .try_send(conversation, Some(user), &client_id(), "hi")
        .await
        .expect_err("refused");
    assert_eq!(under_user.status, 400);
    assert_unchanged(&server, conversation, &before).await;
}

#[tokio::test]
async fn answering_a_reply_that_still_streams_is_busy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "200")]).await;
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "slow").await;
    let busy = server
        .try_send(
            conversation,
            Some(receipt.assistant.id),
            &client_id(),
            "too soon",
        )
        .await
        .expect_err("busy");
    assert_eq!(busy.status, 409);
    server
        .stop(conversation, receipt.assistant.id)
        .await
        .expect("stop");
}

#[tokio::test]
async fn pages_for_unknown_or_malformed_conversations_say_so_with_a_status() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (status, body) = server.page(&format!("/c/{}", Uuid::now_v7())).await;
    assert_eq!(status, 404);
    assert!(body.contains("does not exist"), "{body}");
    let (status, body) = server.page("/c/not-an-id").await;
    assert_eq!(status, 400);
    assert!(body.contains("malformed conversation id"), "{body}");
    let (status, _) = server.page("/no/such/page").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_event_stream_of_an_unknown_conversation_is_404() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (status, _) = server
        .page(&format!("/api/conversations/{}/events", Uuid::now_v7()))
        .await;
    assert_eq!(status, 404);
    let (status, _) = server.page("/api/conversations/nope/events").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn malformed_or_missing_arguments_are_400() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, before) = seeded(&server).await;
    let missing = server
        .call::<serde_json::Value>("send_message", json!({ "conversation_id": conversation }))
        .await
        .expect_err("missing fields");
    assert_eq!(missing.status, 400, "{}", message_of(&missing));
    let wrong_type = server
        .call::<serde_json::Value>(
            "send_message",
            json!({ "conversation_id": conversation, "parent_id": null, "client_id": "c", "text": 42 }),
        )
        .await
        .expect_err("wrong type");
    assert_eq!(wrong_type.status, 400, "{}", message_of(&wrong_type));
    assert_unchanged(&server, conversation, &before).await;
}

#[tokio::test]
async fn a_deleted_conversation_is_gone_everywhere() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "50")]).await;
    let conversation = server.create_conversation().await.id;
    let streaming = server.send(conversation, None, "delete me mid-reply").await;
    let () = server
        .call("delete_conversation", json!({ "id": conversation }))
        .await
        .expect("delete");
    assert!(stored_rows(&server.database, conversation).await.is_empty());
    let again = server
        .call::<serde_json::Value>("delete_conversation", json!({ "id": conversation }))
        .await
        .expect_err("already deleted");
    assert_eq!(again.status, 404);
    let send = server
        .try_send(
            conversation,
            Some(streaming.assistant.id),
            &client_id(),
            "hello?",
        )
        .await
        .expect_err("gone");
    assert_eq!(send.status, 404);
    let (status, _) = server
        .page(&format!("/api/conversations/{conversation}/events"))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_over_long_system_prompt_or_a_foreign_conversation_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, before) = seeded(&server).await;
    let long = "x".repeat(app::domain::model::MAX_SYSTEM_PROMPT_CHARS + 1);
    let refused = server
        .call::<serde_json::Value>(
            "set_system_prompt",
            json!({ "id": conversation, "text": long }),
        )
        .await
        .expect_err("too long");
    assert_eq!(refused.status, 400);
    assert!(message_of(&refused).contains("system prompt is too long"));
    let unknown = server
        .call::<serde_json::Value>(
            "set_system_prompt",
            json!({ "id": Uuid::now_v7(), "text": "hi" }),
        )
        .await
        .expect_err("unknown");
    assert_eq!(unknown.status, 404);
    assert_eq!(server.conversation(conversation).await.system_prompt, "");
    assert_unchanged(&server, conversation, &before).await;
}
