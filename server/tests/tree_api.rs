//! Sending, editing and regenerating build the right tree; the active leaf
//! and conversation metadata persist.

mod common;

use app::domain::model::{ConversationSummary, MessageStatus, Role};
use common::{client_id, find, TestServer};
use serde_json::json;

#[tokio::test]
async fn send_stores_the_user_message_and_a_reply_that_completes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;

    let receipt = server.send(conversation, None, "Hello, tree").await;
    let user = receipt.user.expect("a new user message");
    assert_eq!(user.role, Role::User);
    assert_eq!(user.parent_id, None);
    assert_eq!(user.content, "Hello, tree");
    assert_eq!(receipt.assistant.parent_id, Some(user.id));
    assert_eq!(receipt.assistant.status, MessageStatus::Streaming);

    let reply = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(reply.status, MessageStatus::Complete);
    assert!(reply.content.contains("Hello, tree"), "{}", reply.content);
    assert!(reply.content.contains("```rust"), "{}", reply.content);
    assert_eq!(reply.model.as_deref(), Some("offline/arbor-offline"));
    let usage = reply.usage.expect("a finished reply has usage");
    assert!(!usage.estimated, "the offline model counts its own tokens");
    assert_eq!(usage.prompt_tokens, 2, "two words in the thread");
    assert_eq!(
        usage.completion_tokens as usize,
        reply.content.split_whitespace().count()
    );

    let view = server.conversation(conversation).await;
    assert_eq!(view.nodes.len(), 2);
    assert_eq!(view.active_leaf_id, Some(receipt.assistant.id));
}

#[tokio::test]
async fn edit_creates_a_sibling_with_its_own_reply_and_keeps_the_original() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;

    let first = server.send(conversation, None, "first question").await;
    let first_user = first.user.expect("user").id;
    server
        .wait_until_finished(conversation, first.assistant.id)
        .await;
    let follow = server
        .send(conversation, Some(first.assistant.id), "follow-up")
        .await;
    let follow_user = follow.user.expect("user");
    server
        .wait_until_finished(conversation, follow.assistant.id)
        .await;

    // Edit the follow-up: same parent as the original follow-up.
    let edit = server
        .send(conversation, follow_user.parent_id, "follow-up, edited")
        .await;
    let edited = edit.user.expect("user");
    server
        .wait_until_finished(conversation, edit.assistant.id)
        .await;
    assert_eq!(edited.parent_id, Some(first.assistant.id));
    assert_ne!(edited.id, follow_user.id);

    let view = server.conversation(conversation).await;
    assert_eq!(view.nodes.len(), 6);
    // The original branch is intact.
    assert_eq!(find(&view, follow_user.id).content, "follow-up");
    assert_eq!(
        find(&view, follow.assistant.id).parent_id,
        Some(follow_user.id)
    );
    assert_eq!(find(&view, first_user).content, "first question");
    // The edit is what is shown now.
    assert_eq!(view.active_leaf_id, Some(edit.assistant.id));
}

#[tokio::test]
async fn regenerate_adds_a_different_reply_under_the_same_parent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let first = server.send(conversation, None, "tell me something").await;
    let original = server
        .wait_until_finished(conversation, first.assistant.id)
        .await;

    let again = server
        .regenerate(conversation, first.assistant.id)
        .await
        .expect("regenerate succeeds");
    assert!(again.user.is_none());
    assert_eq!(again.assistant.parent_id, original.parent_id);
    let regenerated = server
        .wait_until_finished(conversation, again.assistant.id)
        .await;
    assert_ne!(
        regenerated.content, original.content,
        "each regeneration differs"
    );

    let view = server.conversation(conversation).await;
    assert_eq!(view.nodes.len(), 3);
    assert_eq!(find(&view, original.id).content, original.content);
}

#[tokio::test]
async fn the_same_client_id_twice_stores_one_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let key = client_id();
    let once = server
        .try_send(conversation, None, &key, "only once")
        .await
        .expect("first send");
    let twice = server
        .try_send(conversation, None, &key, "only once")
        .await
        .expect("retry");
    assert_eq!(once.user.map(|u| u.id), twice.user.map(|u| u.id));
    assert_eq!(once.assistant.id, twice.assistant.id);
    assert_eq!(server.conversation(conversation).await.nodes.len(), 2);
}

#[tokio::test]
async fn the_active_leaf_is_stored_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let first = server.send(conversation, None, "one").await;
    server
        .wait_until_finished(conversation, first.assistant.id)
        .await;
    let second = server
        .regenerate(conversation, first.assistant.id)
        .await
        .expect("regenerate");
    server
        .wait_until_finished(conversation, second.assistant.id)
        .await;
    assert_eq!(
        server.conversation(conversation).await.active_leaf_id,
        Some(second.assistant.id)
    );

    // The user goes back to the first reply.
    let () = server
        .call(
            "set_active_leaf",
            json!({ "conversation_id": conversation, "leaf_id": first.assistant.id }),
        )
        .await
        .expect("set_active_leaf succeeds");
    server.kill().await;

    let server = TestServer::start(dir.path(), &[]).await;
    let view = server.conversation(conversation).await;
    assert_eq!(view.active_leaf_id, Some(first.assistant.id));
    let chosen = find(&view, first.assistant.id)
        .last_active_at
        .expect("marked");
    let other = find(&view, second.assistant.id)
        .last_active_at
        .expect("marked");
    assert!(chosen > other, "the latest choice carries the latest mark");
}

#[tokio::test]
async fn conversations_are_listed_newest_first_renamed_and_deleted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let older = server.create_conversation().await.id;
    let newer = server.create_conversation().await.id;
    let reply = server.send(older, None, "bump the older one").await;
    server.wait_until_finished(older, reply.assistant.id).await;

    let list: Vec<ConversationSummary> = server
        .call("list_conversations", json!({}))
        .await
        .expect("list");
    assert_eq!(
        list.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![older, newer]
    );

    let renamed: ConversationSummary = server
        .call(
            "rename_conversation",
            json!({ "id": newer, "title": "  Trees  " }),
        )
        .await
        .expect("rename");
    assert_eq!(renamed.title, "Trees");

    let () = server
        .call("delete_conversation", json!({ "id": older }))
        .await
        .expect("delete");
    let list: Vec<ConversationSummary> = server
        .call("list_conversations", json!({}))
        .await
        .expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].title, "Trees");
    let gone = server
        .call::<serde_json::Value>("get_conversation", json!({ "id": older }))
        .await
        .expect_err("deleted");
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn an_untitled_conversation_is_named_after_its_first_reply() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let receipt = server
        .send(
            conversation,
            None,
            "## tell me about the tallest trees on earth, please",
        )
        .await;
    server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(
        server.wait_for_title(conversation).await,
        "Tell me about the tallest trees on earth"
    );
}

#[tokio::test]
async fn a_title_set_by_the_user_is_never_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "20")]).await;
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "some question").await;
    // The user names it while the first reply is still being written.
    let _: ConversationSummary = server
        .call(
            "rename_conversation",
            json!({ "id": conversation, "title": "Mine" }),
        )
        .await
        .expect("rename");
    server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    let second = server
        .send(conversation, Some(receipt.assistant.id), "more")
        .await;
    server
        .wait_until_finished(conversation, second.assistant.id)
        .await;
    assert_eq!(server.wait_for_title(conversation).await, "Mine");
}
