//! Search across conversations and branches over the API, against the real
//! server binary and its database (SQLite's FTS5 or PostgreSQL's GIN index): titles and message text, every
//! branch, only finished and unpruned messages, query syntax kept plain.

mod common;

use app::domain::model::{PruneReceipt, Role};
use app::domain::search::{SearchResults, MATCH_END, MATCH_START};
use common::TestServer;
use serde_json::json;
use uuid::Uuid;

async fn search(server: &TestServer, query: &str) -> Result<SearchResults, u16> {
    server
        .call("search", json!({ "query": query }))
        .await
        .map_err(|f| f.status)
}

/// The user messages among the hits (the offline model's replies repeat
/// words of the question, so they match too).
fn hit_ids(results: &SearchResults) -> Vec<Uuid> {
    results
        .messages
        .iter()
        .filter(|h| h.role == Role::User)
        .map(|h| h.message_id)
        .collect()
}

#[tokio::test]
async fn finds_words_on_every_branch_and_titles_across_conversations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let first = server.create_conversation().await.id;
    let opening = server.send(first, None, "The quick brown fox").await;
    server
        .wait_until_finished(first, opening.assistant.id)
        .await;
    // An edit of the first message: another branch of the same conversation.
    let edit = server.send(first, None, "A purple elephant walks by").await;
    server.wait_until_finished(first, edit.assistant.id).await;
    let second = server.create_conversation().await.id;
    let note = server.send(second, None, "Tomatoes need sun").await;
    server.wait_until_finished(second, note.assistant.id).await;
    server
        .call::<serde_json::Value>(
            "rename_conversation",
            json!({ "id": second, "title": "Gardening notes" }),
        )
        .await
        .expect("renamed");

    // A word on the older branch, found by its start, with the match marked.
    let found = search(&server, "purpl").await.expect("search");
    let elephant = edit.user.as_ref().expect("user").id;
    assert_eq!(hit_ids(&found), vec![elephant]);
    let hit = found
        .messages
        .iter()
        .find(|h| h.message_id == elephant)
        .expect("the edit");
    assert_eq!(hit.conversation_id, first);
    assert_eq!(hit.role, Role::User);
    assert!(
        hit.snippet
            .contains(&format!("{MATCH_START}purple{MATCH_END}")),
        "{}",
        hit.snippet
    );

    // Every word must appear, in any order.
    let fox = opening.user.as_ref().expect("user").id;
    assert_eq!(
        hit_ids(&search(&server, "fox QUICK").await.expect("search")),
        vec![fox]
    );
    assert!(search(&server, "fox elephant")
        .await
        .expect("search")
        .messages
        .is_empty());

    // Titles match anywhere in the title.
    let titles = search(&server, "garden")
        .await
        .expect("search")
        .conversations;
    assert_eq!(
        titles.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![second]
    );

    // Replies are searchable once finished.
    let reply = server.wait_until_finished(second, note.assistant.id).await;
    let word = reply
        .content
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| w.chars().count() >= 5)
        .expect("a word in the reply")
        .to_string();
    let found = search(&server, &word).await.expect("search");
    assert!(
        found
            .messages
            .iter()
            .any(|h| h.message_id == note.assistant.id),
        "{word}: {found:?}"
    );
}

#[tokio::test]
async fn pruned_and_deleted_messages_leave_the_results_and_undo_brings_them_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let keep = server.send(conversation, None, "keep this zebra").await;
    server
        .wait_until_finished(conversation, keep.assistant.id)
        .await;
    let doomed = server.send(conversation, None, "prune this zebra").await;
    server
        .wait_until_finished(conversation, doomed.assistant.id)
        .await;
    let doomed_id = doomed.user.as_ref().expect("user").id;
    assert_eq!(
        hit_ids(&search(&server, "zebra").await.expect("search")).len(),
        2
    );

    let receipt: PruneReceipt = server
        .call(
            "prune_branch",
            json!({ "conversation_id": conversation, "node_id": doomed_id }),
        )
        .await
        .expect("pruned");
    let left = search(&server, "zebra").await.expect("search");
    assert_eq!(hit_ids(&left), vec![keep.user.as_ref().expect("user").id]);

    server
        .call::<()>(
            "undo_prune",
            json!({ "conversation_id": conversation, "root_id": receipt.root }),
        )
        .await
        .expect("undone");
    assert_eq!(
        hit_ids(&search(&server, "zebra").await.expect("search")).len(),
        2
    );

    server
        .call::<()>("delete_conversation", json!({ "id": conversation }))
        .await
        .expect("deleted");
    assert!(search(&server, "zebra")
        .await
        .expect("search")
        .messages
        .is_empty());
    // SQLite keeps its own index table; PostgreSQL's index is on the
    // messages table itself.
    let index_rows = if common::database::on_postgres() {
        "SELECT COUNT(*) FROM messages"
    } else {
        "SELECT COUNT(*) FROM message_search_keys"
    };
    assert_eq!(
        server.sql_count(index_rows).await,
        0,
        "the index forgets deleted messages"
    );
}

#[tokio::test]
async fn query_syntax_is_plain_text_and_bad_queries_get_clear_answers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let sent = server
        .send(conversation, None, "50% off: NEAR(the \"sale\")")
        .await;
    server
        .wait_until_finished(conversation, sent.assistant.id)
        .await;

    for query in ["NEAR(the", "\"sale", "off: OR", "*", "50%"] {
        let found = search(&server, query).await;
        assert!(found.is_ok(), "{query}: {found:?}");
    }
    assert_eq!(
        hit_ids(&search(&server, "NEAR(the \"sale").await.expect("search")),
        vec![sent.user.as_ref().expect("user").id]
    );
    assert_eq!(search(&server, "   ").await, Ok(SearchResults::default()));
    assert_eq!(search(&server, &"x".repeat(201)).await, Err(400));
}
