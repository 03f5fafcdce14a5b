//! Branches as first-class things over the API: names and the main branch
//! (surviving a restart), forks, pruning with undo, and the word diffs of
//! the compare view, against the real server binary and its SQLite file.

mod common;

use app::domain::model::{ConversationSummary, MessageStatus, PruneReceipt};
use app::text::word_diff::{DiffRun, DiffSide};
use common::{find, TestServer};
use serde_json::json;
use uuid::Uuid;

/// A conversation with two branches: `q ─ a1 ─ follow ─ a2` and `q ─ a1'`
/// (a regeneration). Answers (conversation, [q, a1, follow, a2, a1']).
async fn two_branches(server: &TestServer) -> (Uuid, [Uuid; 5]) {
    let conversation = server.create_conversation().await.id;
    let first = server.send(conversation, None, "first question").await;
    let q = first.user.expect("user").id;
    let a1 = first.assistant.id;
    server.wait_until_finished(conversation, a1).await;
    let next = server.send(conversation, Some(a1), "follow-up").await;
    let follow = next.user.expect("user").id;
    let a2 = next.assistant.id;
    server.wait_until_finished(conversation, a2).await;
    let again = server
        .regenerate(conversation, a1)
        .await
        .expect("regenerate");
    server
        .wait_until_finished(conversation, again.assistant.id)
        .await;
    (conversation, [q, a1, follow, a2, again.assistant.id])
}

async fn name(server: &TestServer, conversation: Uuid, node: Uuid, name: &str) -> Result<(), u16> {
    server
        .call::<()>(
            "name_branch",
            json!({ "conversation_id": conversation, "node_id": node, "name": name }),
        )
        .await
        .map_err(|f| f.status)
}

async fn set_main(server: &TestServer, conversation: Uuid, node: Uuid) -> Result<(), u16> {
    server
        .call::<()>(
            "set_main_branch",
            json!({ "conversation_id": conversation, "node_id": node }),
        )
        .await
        .map_err(|f| f.status)
}

#[tokio::test]
async fn names_and_the_main_branch_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, [_, _, _, a2, regenerated]) = two_branches(&server).await;

    name(&server, conversation, a2, "  long   answer ")
        .await
        .expect("named");
    name(&server, conversation, regenerated, "short answer")
        .await
        .expect("named");
    set_main(&server, conversation, a2).await.expect("main set");

    server.kill().await;
    let server = TestServer::start(dir.path(), &[]).await;
    let view = server.conversation(conversation).await;
    let names: Vec<(Uuid, &str)> = view
        .labels
        .iter()
        .map(|l| (l.node_id, l.name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![(a2, "long answer"), (regenerated, "short answer")]
    );
    assert_eq!(view.main_node_id, Some(a2));

    // Renaming replaces; an empty name removes.
    name(&server, conversation, a2, "the long one")
        .await
        .expect("renamed");
    name(&server, conversation, regenerated, "")
        .await
        .expect("removed");
    let view = server.conversation(conversation).await;
    let names: Vec<&str> = view.labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, vec!["the long one"]);
}

#[tokio::test]
async fn bad_names_and_unknown_nodes_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, [q, _, _, a2, regenerated]) = two_branches(&server).await;
    name(&server, conversation, a2, "kept")
        .await
        .expect("named");

    assert_eq!(
        name(&server, conversation, regenerated, "kept").await,
        Err(400),
        "duplicate"
    );
    assert_eq!(
        name(&server, conversation, q, &"x".repeat(81)).await,
        Err(400),
        "too long"
    );
    assert_eq!(
        name(&server, conversation, Uuid::now_v7(), "x").await,
        Err(404),
        "unknown node"
    );
    assert_eq!(
        name(&server, Uuid::now_v7(), a2, "x").await,
        Err(404),
        "unknown conversation"
    );
    let other = server.create_conversation().await.id;
    assert_eq!(
        name(&server, other, a2, "x").await,
        Err(404),
        "a node of another conversation"
    );
    let malformed = server
        .call::<()>(
            "name_branch",
            json!({ "conversation_id": conversation, "node_id": "not-an-id", "name": "x" }),
        )
        .await
        .expect_err("malformed id");
    assert_eq!(malformed.status, 400);
    assert_eq!(
        set_main(&server, conversation, Uuid::now_v7()).await,
        Err(404),
        "unknown main"
    );
    let view = server.conversation(conversation).await;
    assert_eq!(view.labels.len(), 1, "nothing changed: {:?}", view.labels);
    assert_eq!(view.main_node_id, None);
}

#[tokio::test]
async fn a_fork_copies_the_path_and_records_its_origin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, [q, a1, follow, a2, _]) = two_branches(&server).await;
    let source = server.conversation(conversation).await;

    let fork: ConversationSummary = server
        .call(
            "fork_branch",
            json!({ "conversation_id": conversation, "node_id": a2 }),
        )
        .await
        .expect("forked");
    assert_ne!(fork.id, conversation);
    let view = server.conversation(fork.id).await;
    let texts: Vec<&str> = view.nodes.iter().map(|n| n.content.as_str()).collect();
    let expected: Vec<&str> = [q, a1, follow, a2]
        .iter()
        .map(|id| find(&source, *id).content.as_str())
        .collect();
    assert_eq!(texts, expected, "the path, in order, and nothing else");
    assert!(
        view.nodes
            .iter()
            .all(|n| ![q, a1, follow, a2].contains(&n.id)),
        "new ids"
    );
    for pair in view.nodes.windows(2) {
        assert_eq!(pair[1].parent_id, Some(pair[0].id));
    }
    assert_eq!(view.active_leaf_id, view.nodes.last().map(|n| n.id));
    let origin = view.forked_from.expect("the fork knows its origin");
    assert_eq!(origin.conversation_id, conversation);
    assert_eq!(origin.message_id, a2);
    assert_eq!(
        origin.title.as_deref(),
        Some(source.summary.display_title())
    );
    assert!(fork.title.ends_with("(fork)"), "{}", fork.title);

    // The fork is a conversation of its own: it can go on.
    let reply = server
        .send(fork.id, view.active_leaf_id, "continuing the fork")
        .await;
    server
        .wait_until_finished(fork.id, reply.assistant.id)
        .await;
    assert_eq!(
        server.conversation(conversation).await.nodes.len(),
        5,
        "source untouched"
    );

    let missing = server
        .call::<ConversationSummary>(
            "fork_branch",
            json!({ "conversation_id": conversation, "node_id": Uuid::now_v7() }),
        )
        .await
        .expect_err("unknown node");
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn a_fork_of_a_streaming_reply_keeps_its_text_so_far_as_interrupted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "40")]).await;
    let (conversation, mut events) = server.watched_conversation().await;
    let receipt = server.send(conversation, None, "a slow reply please").await;
    events.until_deltas(2).await;
    let fork: ConversationSummary = server
        .call(
            "fork_branch",
            json!({ "conversation_id": conversation, "node_id": receipt.assistant.id }),
        )
        .await
        .expect("forked while streaming");
    let view = server.conversation(fork.id).await;
    let copy = view.nodes.last().expect("the reply was copied");
    assert_eq!(copy.status, MessageStatus::Interrupted);
    assert!(!copy.content.is_empty());
    assert!(copy
        .note
        .as_deref()
        .is_some_and(|n| n.contains("still being written")));
    server
        .stop(conversation, receipt.assistant.id)
        .await
        .expect("stopped");
}

async fn prune(server: &TestServer, conversation: Uuid, node: Uuid) -> Result<PruneReceipt, u16> {
    server
        .call(
            "prune_branch",
            json!({ "conversation_id": conversation, "node_id": node }),
        )
        .await
        .map_err(|f| f.status)
}

async fn undo(server: &TestServer, conversation: Uuid, root: Uuid) -> Result<(), u16> {
    server
        .call::<()>(
            "undo_prune",
            json!({ "conversation_id": conversation, "root_id": root }),
        )
        .await
        .map_err(|f| f.status)
}

#[tokio::test]
async fn pruning_hides_a_subtree_until_undone_even_across_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, [q, a1, follow, a2, regenerated]) = two_branches(&server).await;
    name(&server, conversation, a2, "deep")
        .await
        .expect("named");
    set_main(&server, conversation, a2).await.expect("main set");
    server
        .call::<()>(
            "set_active_leaf",
            json!({ "conversation_id": conversation, "leaf_id": a2 }),
        )
        .await
        .expect("shown");

    let mut events = server.events(conversation, None, false).await;
    let receipt = prune(&server, conversation, a1).await.expect("pruned");
    assert_eq!(receipt.root, a1);
    assert_eq!(receipt.removed, 3, "a1, the follow-up and its reply");
    let pruned = events.next().await;
    assert_eq!(pruned.event, "pruned");
    assert!(pruned.data.contains(&follow.to_string()));

    let view = server.conversation(conversation).await;
    let ids: Vec<Uuid> = view.nodes.iter().map(|n| n.id).collect();
    assert_eq!(ids, vec![q, regenerated]);
    assert_eq!(
        view.active_leaf_id,
        Some(regenerated),
        "the shown branch moved to what is left"
    );
    assert!(view.labels.is_empty(), "the pruned branch's name is hidden");
    assert_eq!(view.main_node_id, None);
    // Still in the file until the undo time passes, marked as pruned.
    let rows: i64 = server
        .sql_count(&format!(
            "SELECT COUNT(*) FROM messages WHERE pruned_at IS NOT NULL AND conversation_id = '{conversation}'"
        ))
        .await;
    assert_eq!(rows, 3);

    server.kill().await;
    let server = TestServer::start(dir.path(), &[]).await;
    undo(&server, conversation, a1)
        .await
        .expect("undone after a restart");
    let view = server.conversation(conversation).await;
    assert_eq!(view.nodes.len(), 5);
    assert_eq!(find(&view, follow).parent_id, Some(a1));
    assert_eq!(view.labels.len(), 1, "the name came back");
    assert_eq!(
        undo(&server, conversation, a1).await,
        Err(404),
        "nothing left to undo"
    );
}

#[tokio::test]
async fn pruning_is_refused_while_a_reply_in_the_subtree_streams() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "40")]).await;
    let (conversation, mut events) = server.watched_conversation().await;
    let receipt = server.send(conversation, None, "keep talking").await;
    let root = receipt.user.expect("user").id;
    events.until_deltas(1).await;

    assert_eq!(prune(&server, conversation, root).await, Err(409));
    assert_eq!(prune(&server, conversation, Uuid::now_v7()).await, Err(404));
    assert_eq!(undo(&server, conversation, Uuid::now_v7()).await, Err(404));
    server
        .stop(conversation, receipt.assistant.id)
        .await
        .expect("stopped");
    let receipt = prune(&server, conversation, root)
        .await
        .expect("pruned once stopped");
    assert_eq!(receipt.removed, 2);
    assert!(server.conversation(conversation).await.nodes.is_empty());
}

async fn word_diffs(
    server: &TestServer,
    conversation: Uuid,
    pairs: serde_json::Value,
) -> Result<Vec<Vec<DiffRun>>, u16> {
    server
        .call(
            "word_diffs",
            json!({ "conversation_id": conversation, "pairs": pairs }),
        )
        .await
        .map_err(|f| f.status)
}

#[tokio::test]
async fn the_server_diffs_the_words_of_two_branches_and_refuses_bad_pairs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, [q, a1, follow, _a2, other]) = two_branches(&server).await;
    let view = server.conversation(conversation).await;
    let (left, right) = (&find(&view, a1).content, &find(&view, other).content);

    let diffs = word_diffs(&server, conversation, json!([[a1, other], [q, q]]))
        .await
        .expect("diffs");
    assert_eq!(diffs.len(), 2, "one answer a pair, in order");
    let side = |runs: &[DiffRun], keep: DiffSide| -> String {
        runs.iter()
            .filter(|run| run.side == DiffSide::Both || run.side == keep)
            .map(|run| run.text.as_str())
            .collect()
    };
    assert_eq!(&side(&diffs[0], DiffSide::Removed), left);
    assert_eq!(&side(&diffs[0], DiffSide::Added), right);
    assert_eq!(
        diffs[1],
        vec![DiffRun {
            side: DiffSide::Both,
            text: "first question".into()
        }],
        "a message compared with itself differs nowhere"
    );

    let unknown = Uuid::now_v7();
    assert_eq!(
        word_diffs(&server, conversation, json!([[follow, unknown]])).await,
        Err(404)
    );
    assert_eq!(
        word_diffs(&server, conversation, json!([["not-an-id", follow]])).await,
        Err(400)
    );
    let too_many: Vec<[Uuid; 2]> = vec![[q, follow]; app::functions::branches::MAX_DIFF_PAIRS + 1];
    assert_eq!(
        word_diffs(&server, conversation, json!(too_many)).await,
        Err(400)
    );
    assert_eq!(
        word_diffs(&server, Uuid::now_v7(), json!([[q, q]])).await,
        Err(404),
        "another conversation's id"
    );
}
