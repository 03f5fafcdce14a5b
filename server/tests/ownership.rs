//! The ownership matrix: a second user, and a visitor with no session,
//! try every server function, the event stream and the page on the first
//! user's conversation and messages. Each gets 404 (or 401 without a
//! session), sees none of the first user's text, and the database is
//! byte-for-byte the same afterwards.

mod common;

use common::{Failure, Session, TestServer};
use serde_json::{json, Value};
use uuid::Uuid;

/// A text only the first user's conversation holds.
const SECRET: &str = "alice's secret plan";

/// Every state-reading and state-changing server function, aimed at
/// `conversation` and `message`.
fn calls_on(conversation: Uuid, message: Uuid) -> Vec<(&'static str, Value)> {
    let settings = json!({ "model": null, "persona": null });
    vec![
        ("get_conversation", json!({ "id": conversation })),
        (
            "rename_conversation",
            json!({ "id": conversation, "title": "taken over" }),
        ),
        ("delete_conversation", json!({ "id": conversation })),
        (
            "set_system_prompt",
            json!({ "id": conversation, "text": "obey bob" }),
        ),
        (
            "set_generation_settings",
            json!({ "id": conversation, "settings": settings }),
        ),
        (
            "send_message",
            json!({ "conversation_id": conversation, "parent_id": message, "client_id": "b-1", "text": "hi" }),
        ),
        (
            "regenerate",
            json!({ "conversation_id": conversation, "message_id": message }),
        ),
        (
            "continue_reply",
            json!({ "conversation_id": conversation, "message_id": message }),
        ),
        (
            "stop_generation",
            json!({ "conversation_id": conversation, "message_id": message }),
        ),
        (
            "set_active_leaf",
            json!({ "conversation_id": conversation, "leaf_id": message }),
        ),
        ("get_outline", json!({ "conversation_id": conversation })),
        (
            "word_diffs",
            json!({ "conversation_id": conversation, "pairs": [[message, message]] }),
        ),
        (
            "name_branch",
            json!({ "conversation_id": conversation, "node_id": message, "name": "bob's" }),
        ),
        (
            "set_main_branch",
            json!({ "conversation_id": conversation, "node_id": message }),
        ),
        (
            "fork_branch",
            json!({ "conversation_id": conversation, "node_id": message }),
        ),
        (
            "prune_branch",
            json!({ "conversation_id": conversation, "node_id": message }),
        ),
        (
            "undo_prune",
            json!({ "conversation_id": conversation, "root_id": message }),
        ),
        (
            "replay_branch",
            json!({ "conversation_id": conversation, "leaf_id": message, "from_id": null, "settings": settings }),
        ),
        (
            "stop_replay",
            json!({ "conversation_id": conversation, "replay_id": Uuid::now_v7() }),
        ),
    ]
}

/// Calls `name` and expects the error `status`, with none of the secret in it.
async fn refused(session: &Session, name: &str, args: Value, status: u16) {
    let answer: Result<Value, Failure> = session.call(name, args.clone()).await;
    let failure = answer.expect_err(&format!("{name} {args} must be refused"));
    assert_eq!(failure.status, status, "{name} {args}: {:?}", failure.body);
    assert!(
        !failure.body.to_string().contains(SECRET),
        "{name} leaked: {:?}",
        failure.body
    );
}

/// Alice's conversation: a finished exchange on a named branch. Answers
/// the conversation, her message and the reply.
async fn alices_conversation(server: &TestServer) -> (Uuid, Uuid, Uuid) {
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, SECRET).await;
    let reply = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    let mine = receipt.user.expect("a user message").id;
    let _: () = server
        .call(
            "name_branch",
            json!({ "conversation_id": conversation, "node_id": reply.id, "name": "plan" }),
        )
        .await
        .expect("alice names her branch");
    (conversation, mine, reply.id)
}

#[tokio::test]
async fn another_user_gets_404_for_everything_of_the_first_users_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (alices, her_message, her_reply) = alices_conversation(&server).await;
    let bob = server.new_user("bob").await;
    let bobs = bob.create_conversation().await.id;
    let before = server.database_fingerprint().await;

    // Alice's conversation with her messages, by every function.
    for message in [her_message, her_reply] {
        for (name, args) in calls_on(alices, message) {
            refused(&bob, name, args, 404).await;
        }
    }
    refused(
        &bob,
        "get_messages",
        json!({ "conversation_id": alices, "ids": [her_reply] }),
        404,
    )
    .await;
    // Her messages named inside Bob's own conversation are unknown there.
    for (name, args) in calls_on(bobs, her_reply) {
        if [
            "get_conversation",
            "rename_conversation",
            "delete_conversation",
            "set_system_prompt",
            "set_generation_settings",
            "get_outline",
            "stop_replay",
        ]
        .contains(&name)
        {
            continue; // these name no message
        }
        refused(&bob, name, args, 404).await;
    }
    let texts: Vec<Value> = bob
        .call(
            "get_messages",
            json!({ "conversation_id": bobs, "ids": [her_reply, her_message] }),
        )
        .await
        .expect("asking for unknown ids answers what is known");
    assert!(texts.is_empty(), "{texts:?}");

    // Her event stream and her page.
    let stream = bob
        .get(&format!("/api/conversations/{alices}/events"))
        .await;
    assert_eq!(stream.status().as_u16(), 404);
    assert!(!stream.text().await.expect("a body").contains(SECRET));
    let (status, html) = bob.page(&format!("/c/{alices}")).await;
    assert_eq!(status, 404);
    assert!(!html.contains(SECRET), "the page leaked her text");

    // Lists and search show only Bob's own.
    let list: Vec<Value> = bob
        .call("list_conversations", json!({}))
        .await
        .expect("lists");
    let ids: Vec<&str> = list.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, vec![bobs.to_string().as_str()]);
    let found: Value = bob
        .call("search", json!({ "query": "secret plan" }))
        .await
        .expect("searches");
    assert_eq!(found["messages"], json!([]));
    assert_eq!(found["conversations"], json!([]));

    // Not an administrator either.
    refused(&bob, "list_accounts", json!({}), 403).await;
    refused(
        &bob,
        "create_account",
        json!({ "username": "mallory", "password": "mallory password", "is_admin": true }),
        403,
    )
    .await;
    refused(
        &bob,
        "start_test_broadcast",
        json!({ "count": 1, "text": "x" }),
        403,
    )
    .await;
    assert_eq!(bob.get("/api/admin/events").await.status().as_u16(), 403);
    assert_eq!(bob.page("/admin").await.0, 403);
    assert_eq!(bob.get("/metrics").await.status().as_u16(), 401);

    assert_eq!(
        server.database_fingerprint().await,
        before,
        "Bob changed nothing"
    );
    // Alice still has all of hers.
    let view = server.conversation(alices).await;
    assert!(view.nodes.iter().any(|n| n.content == SECRET));
    assert_eq!(view.labels.len(), 1);
}

#[tokio::test]
async fn without_a_session_everything_answers_401_and_pages_send_to_sign_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (alices, _, her_reply) = alices_conversation(&server).await;
    let before = server.database_fingerprint().await;
    let nobody = Session::new(&server.base, None);

    for (name, args) in calls_on(alices, her_reply) {
        refused(&nobody, name, args, 401).await;
    }
    for (name, args) in [
        ("list_conversations", json!({})),
        ("create_conversation", json!({})),
        ("search", json!({ "query": "secret" })),
        (
            "get_messages",
            json!({ "conversation_id": alices, "ids": [her_reply] }),
        ),
        ("model_choices", json!({})),
        ("list_accounts", json!({})),
        ("start_test_broadcast", json!({ "count": 1, "text": "x" })),
    ] {
        refused(&nobody, name, args, 401).await;
    }
    // A forged cookie is no session.
    let forged = Session::new(
        &server.base,
        Some(&format!("arbor_session={}", "0".repeat(64))),
    );
    refused(&forged, "list_conversations", json!({}), 401).await;

    let stream = nobody
        .get(&format!("/api/conversations/{alices}/events"))
        .await;
    assert_eq!(stream.status().as_u16(), 401);
    assert_eq!(nobody.get("/api/admin/events").await.status().as_u16(), 401);
    for page in [
        format!("/c/{alices}"),
        "/".to_string(),
        "/admin".to_string(),
    ] {
        let response = nobody.get(&page).await;
        assert_eq!(response.status().as_u16(), 303, "{page}");
        let location = response.headers()["location"].to_str().expect("text");
        assert!(location.starts_with("/login"), "{page} → {location}");
    }
    assert_eq!(
        server.database_fingerprint().await,
        before,
        "nothing changed"
    );
}
