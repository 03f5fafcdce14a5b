//! Two Arbor nodes (two server processes on loopback ports) sharing one
//! throwaway PostgreSQL database: a conversation runs on the node holding
//! its lease, the other forwards to it and relays its events to its own
//! clients, and takes the conversation over when the owner is killed.

mod common;

use app::domain::model::{MessageStatus, Role, RESET_EVENT};
use common::database::TestDatabase;
use common::postgres::Postgres;
use common::{client_id, delta_text, Session, TestServer, PATIENCE};
use futures::stream::{self, StreamExt};
use std::path::Path;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Short leases, so a killed node's conversations move within seconds.
const NODE_ENV: &[(&str, &str)] = &[("ARBOR_LEASE_SECS", "2"), ("ARBOR_CHECKPOINT_MS", "100")];

/// Two nodes on one new database; the second shares the first's session
/// (sessions are rows in the shared database).
async fn two_nodes(
    postgres: &Postgres,
    dir: &Path,
    env: &[(&str, &str)],
) -> (TestServer, TestServer) {
    let database = TestDatabase::new_postgres(&postgres.url).await;
    let env: Vec<(&str, &str)> = NODE_ENV.iter().chain(env).copied().collect();
    let mut a = TestServer::start_on(dir, database.clone(), &env).await;
    a.session = a
        .signed_in("sign_up", common::ADMIN, common::ADMIN_PASSWORD)
        .await
        .expect("the administrator signs up on node A");
    let mut b = TestServer::start_on(dir, database, &env).await;
    b.session = Session::new(&b.base, a.cookie().as_deref());
    (a, b)
}

/// The base URL of the node holding the conversation's lease.
async fn owner_of(server: &TestServer, conversation: Uuid) -> String {
    let sql = format!(
        "SELECT COUNT(*) FROM conversation_leases l JOIN nodes n ON n.id = l.node_id \
         WHERE l.conversation_id = '{conversation}' AND n.address = '{}'",
        server.base
    );
    if server.sql_count(&sql).await == 1 {
        server.base.clone()
    } else {
        "another node".into()
    }
}

#[tokio::test]
async fn a_client_on_one_node_follows_a_reply_written_on_the_other() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = two_nodes(&postgres, dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "5")]).await;
    assert_eq!(
        a.sql_count("SELECT COUNT(*) FROM nodes").await,
        2,
        "both nodes joined"
    );

    let conversation = a.create_conversation().await.id;
    let opened = a.conversation_page(conversation).await; // node A starts it
    assert_eq!(owner_of(&a, conversation).await, a.base);
    let mut on_b = b
        .events(conversation, Some(&opened.cursor.to_string()), true)
        .await;
    // A question too long for one notification goes by reference to a row.
    let question = "Tell me about trees. ".repeat(500);
    let receipt = a.send(conversation, None, &question).await;
    let events = on_b.until_done(receipt.assistant.id).await;
    assert!(
        events.iter().any(|e| e.event == "message"
            && !common::is_delta(e)
            && e.data.contains(question.trim_end())),
        "node B's client got the long question"
    );
    assert!(
        a.sql_count("SELECT COUNT(*) FROM relayed_events").await >= 1,
        "it went by reference"
    );

    let reply = a
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(reply.status, MessageStatus::Complete);
    assert!(!reply.content.is_empty());
    assert_eq!(
        delta_text(&events, reply.id),
        reply.content,
        "node B's client saw every delta once, in order"
    );
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "no event twice");
    assert_eq!(owner_of(&a, conversation).await, a.base, "it stayed on A");

    // Resuming on B after any event it saw gives exactly the rest (a
    // live stream may merge queued deltas into one event, so the texts
    // are compared, not the ids).
    let middle = events.len() / 2;
    let mut resumed = b.events(conversation, Some(&events[middle].id), true).await;
    let rest = resumed.until_done(reply.id).await;
    assert_eq!(
        delta_text(&events[..=middle], reply.id) + &delta_text(&rest, reply.id),
        reply.content,
        "a resume on B has no gap and no repeat"
    );
}

#[tokio::test]
async fn a_send_on_one_node_reaches_the_conversation_the_other_runs() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = two_nodes(&postgres, dir.path(), &[]).await;
    let conversation = a.create_conversation().await.id;
    let opened = a.conversation_page(conversation).await;
    let mut on_a = a
        .events(conversation, Some(&opened.cursor.to_string()), true)
        .await;

    let key = client_id();
    let receipt = b
        .try_send(conversation, None, &key, "Sent through node B")
        .await
        .expect("node B forwards the send");
    let again = a
        .try_send(conversation, None, &key, "Sent through node B")
        .await
        .expect("the same send, retried on node A");
    assert_eq!(
        (again.assistant.id, again.user.map(|u| u.id)),
        (receipt.assistant.id, receipt.user.as_ref().map(|u| u.id)),
        "a retried send is one message, whichever node takes it"
    );
    on_a.until_done(receipt.assistant.id).await;
    let reply = a
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(reply.status, MessageStatus::Complete);
    assert_eq!(
        owner_of(&a, conversation).await,
        a.base,
        "node A still runs it"
    );

    let seen_on_b = b.conversation(conversation).await;
    assert_eq!(seen_on_b.nodes.len(), 2, "node B reads it through node A");
    assert_eq!(seen_on_b.nodes[1].content, reply.content);
    assert_eq!(
        a.sql_count(&format!(
            "SELECT COUNT(*) FROM messages WHERE conversation_id = '{conversation}'"
        ))
        .await,
        2
    );
    // A conversation nobody runs is started by the node asked.
    let other = b.create_conversation().await.id;
    b.conversation_page(other).await;
    assert_eq!(owner_of(&b, other).await, b.base);
}

#[tokio::test]
async fn killing_the_node_that_writes_a_reply_hands_the_conversation_over() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = two_nodes(
        &postgres,
        dir.path(),
        &[
            ("ARBOR_OFFLINE_TOKEN_MS", "40"),
            ("ARBOR_OFFLINE_MIN_TOKENS", "2000"),
        ],
    )
    .await;
    let conversation = a.create_conversation().await.id;
    let opened = a.conversation_page(conversation).await;
    let mut on_b = b
        .events(conversation, Some(&opened.cursor.to_string()), true)
        .await;
    let receipt = a.send(conversation, None, "A long answer, please").await;
    let reply_id = receipt.assistant.id;
    let mut seen = on_b.until_deltas(10).await;
    // Wait for a checkpoint of the text so far.
    tokio::time::timeout(PATIENCE, async {
        let sql =
            format!("SELECT COUNT(*) FROM messages WHERE id = '{reply_id}' AND content <> ''");
        while b.sql_count(&sql).await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the reply's text is checkpointed");

    a.kill().await;
    let killed = Instant::now();
    // B's client stream ends (its owner stopped answering), with no event
    // it had not seen and nothing out of order.
    while let Some(event) = on_b.next_or_end().await {
        seen.push(event);
    }
    let streamed = delta_text(&seen, reply_id);

    // Node B takes the conversation once A's lease has lapsed.
    let view = b.conversation(conversation).await;
    println!(
        "node B served the conversation {:?} after the kill",
        killed.elapsed()
    );
    let reply = common::find(&view, reply_id);
    assert_eq!(reply.role, Role::Assistant);
    assert_eq!(reply.status, MessageStatus::Interrupted, "{reply:?}");
    assert!(!reply.content.is_empty(), "its saved text is kept");
    assert!(
        streamed.starts_with(&reply.content) || reply.content.starts_with(&streamed),
        "what was saved and what was seen are the same text:\n{}\n---\n{streamed}",
        reply.content
    );
    assert_eq!(owner_of(&b, conversation).await, b.base);

    // A client reconnecting to B with its last event id is told to reload.
    let last = seen.last().expect("events were seen").id.clone();
    let mut again = b.events(conversation, Some(&last), true).await;
    assert_eq!(again.next().await.event, RESET_EVENT);
    // And the conversation goes on, on B.
    let next = b
        .send(conversation, Some(reply_id), "Are you still there?")
        .await;
    let question = next.user.expect("a user message");
    assert_eq!(question.parent_id, Some(reply_id));
}

#[tokio::test]
async fn a_thousand_conversations_broadcast_across_both_nodes_store_every_reply_once() {
    const CONVERSATIONS: usize = 1000;
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = two_nodes(&postgres, dir.path(), &[]).await;
    let nodes = [&a, &b];
    let ids: Vec<Uuid> = stream::iter(0..CONVERSATIONS)
        .map(|i| async move { nodes[i % 2].create_conversation().await.id })
        .buffer_unordered(32)
        .collect()
        .await;
    // Each message is sent through one node and retried through the other
    // with the same key, as a client would after a lost answer.
    let receipts: Vec<_> = stream::iter(ids.iter().enumerate())
        .map(|(i, &id)| async move {
            let key = client_id();
            let first = nodes[i % 2]
                .try_send(id, None, &key, "The same question to all")
                .await
                .expect("sent");
            let retried = nodes[(i + 1) % 2]
                .try_send(id, None, &key, "The same question to all")
                .await
                .expect("retried");
            assert_eq!(
                first.assistant.id, retried.assistant.id,
                "one message per key"
            );
            first
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert_eq!(receipts.len(), CONVERSATIONS);

    tokio::time::timeout(PATIENCE * 4, async {
        let done =
            "SELECT COUNT(*) FROM messages WHERE role = 'assistant' AND status <> 'streaming'";
        while a.sql_count(done).await < CONVERSATIONS as i64 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("every reply finishes");
    let count = |sql: &'static str| a.sql_count(sql);
    assert_eq!(
        count("SELECT COUNT(*) FROM messages WHERE role = 'user'").await,
        CONVERSATIONS as i64
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM messages WHERE role = 'assistant' AND status = 'complete'")
            .await,
        CONVERSATIONS as i64,
        "every reply complete, none twice"
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM (SELECT conversation_id FROM messages GROUP BY conversation_id \
             HAVING COUNT(*) <> 2) odd"
        )
        .await,
        0,
        "each conversation holds its question and one answer"
    );
    let held_by = |server: &TestServer| {
        format!(
            "SELECT COUNT(*) FROM conversation_leases l JOIN nodes n ON n.id = l.node_id \
             WHERE n.address = '{}'",
            server.base
        )
    };
    let (on_a, on_b) = (
        a.sql_count(&held_by(&a)).await,
        a.sql_count(&held_by(&b)).await,
    );
    assert!(
        on_a > 0 && on_b > 0,
        "both nodes ran conversations: {on_a} and {on_b}"
    );
}
