//! The PostgreSQL storage itself, on a throwaway server of its own: nodes
//! opening one database at once, the first sign-up race across nodes, a
//! 10,000-message tree in one write, every field read back as written,
//! and search without diacritics, by prefix, of finished messages only.
//! (Everything else runs through the server in the other integration
//! tests, which `scripts/test.sh` runs again on PostgreSQL.)

mod common;

use app::domain::model::{MessageNode, MessageStatus, ReplyUsage, Role, ToolCall};
use common::postgres::Postgres;
use server::storage::accounts::{Enrolment, NewAccount, Refusal};
use server::storage::{connect, Database, StoredMessage};
use uuid::Uuid;

async fn open_twice(url: &str) -> (Database, Database) {
    let (first, second) = tokio::join!(connect(url), connect(url));
    (
        first.expect("the first node opens the database"),
        second.expect("the second node opens the database"),
    )
}

fn message(parent: Option<Uuid>, role: Role, text: &str, at: i64) -> StoredMessage {
    StoredMessage {
        node: MessageNode::new(
            Uuid::now_v7(),
            parent,
            role,
            text,
            MessageStatus::Complete,
            at,
        ),
        client_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_migrate_together_and_only_one_first_sign_up_becomes_admin() {
    let postgres = Postgres::start();
    let (a, b) = open_twice(&postgres.url).await;
    let attempts = (0..20).map(|i| {
        let accounts = if i % 2 == 0 { &a.accounts } else { &b.accounts };
        accounts.create_account(NewAccount {
            id: Uuid::now_v7(),
            username: format!("user{i}"),
            password_hash: "hash".into(),
            enrolment: Enrolment::SelfService {
                sign_up_open: false,
            },
            now: i,
        })
    });
    let results = futures::future::join_all(attempts).await;
    let created: Vec<_> = results
        .into_iter()
        .map(|r| r.expect("no database error"))
        .collect();
    assert_eq!(
        created.iter().filter(|r| r.is_ok()).count(),
        1,
        "sign-up closes after the first account: {created:?}"
    );
    assert_eq!(
        created
            .iter()
            .filter(|r| matches!(r, Err(Refusal::SignUpClosed)))
            .count(),
        19
    );
    let accounts = b.accounts.accounts().await.expect("listed");
    assert_eq!(accounts.len(), 1);
    assert!(accounts[0].is_admin);
}

#[tokio::test]
async fn a_large_tree_goes_in_one_write_and_reads_back_whole() {
    let postgres = Postgres::start();
    let database = connect(&postgres.url).await.expect("opens");
    let store = &database.store;
    let owner = store.local_user().await.expect("the local user");
    assert_eq!(store.local_user().await.expect("again"), owner, "made once");
    let conversation = store.create_conversation(owner, 1).await.expect("made").id;

    let mut messages = vec![message(None, Role::User, "root", 1)];
    for i in 1..10_000 {
        let parent = messages[i - 1].node.id;
        let role = if i % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        messages.push(message(
            Some(parent),
            role,
            &format!("message {i}"),
            i as i64 + 1,
        ));
    }
    let last = &mut messages[9_999];
    last.node.usage = Some(ReplyUsage {
        prompt_tokens: 12,
        completion_tokens: 34,
        estimated: false,
        time_to_first_token_ms: Some(56),
        total_ms: 78,
    });
    last.node.tool_calls = vec![ToolCall {
        id: "call-1".into(),
        name: "calculator".into(),
        arguments: "{\"expression\":\"1+1\"}".into(),
    }];
    last.node.note = Some("a note".into());
    last.node.model = Some("offline/echo".into());
    last.node.last_active_at = Some(10_001);
    last.client_id = Some("client-key".into());
    let leaf = last.node.id;
    store
        .insert_messages(conversation, &messages, leaf)
        .await
        .expect("inserted in one write");

    let read = store.messages(conversation).await.expect("read back");
    assert_eq!(read, messages, "every field as written, oldest first");
    let record = store
        .conversation(conversation)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(record.active_leaf_id, Some(leaf));
    assert_eq!(record.summary.updated_at, 10_000);
    let counts = store.message_counts(owner).await.expect("counted");
    assert_eq!(counts.get(&conversation), Some(&10_000));

    // A duplicate id fails the whole write and leaves what was there.
    let again = vec![messages[5].clone()];
    assert!(store
        .insert_messages(conversation, &again, again[0].node.id)
        .await
        .is_err());
    assert_eq!(
        store.messages(conversation).await.expect("read").len(),
        10_000
    );
}

#[tokio::test]
async fn search_ignores_case_and_accents_matches_prefixes_and_skips_streaming_replies() {
    let postgres = Postgres::start();
    let database = connect(&postgres.url).await.expect("opens");
    let store = &database.store;
    let owner = store.local_user().await.expect("the local user");
    let conversation = store.create_conversation(owner, 1).await.expect("made").id;
    let question = message(None, Role::User, "Où est le Café Crème?", 1);
    let mut reply = message(
        Some(question.node.id),
        Role::Assistant,
        "Branching elephants",
        2,
    );
    reply.node.status = MessageStatus::Streaming;
    store
        .insert_messages(
            conversation,
            &[question.clone(), reply.clone()],
            reply.node.id,
        )
        .await
        .expect("inserted");

    let found = store
        .search(owner, "cafe CREM", 10)
        .await
        .expect("searched");
    assert_eq!(
        found
            .messages
            .iter()
            .map(|h| h.message_id)
            .collect::<Vec<_>>(),
        vec![question.node.id]
    );
    assert!(
        found.messages[0].snippet.contains('\u{E000}'),
        "the match is marked: {}",
        found.messages[0].snippet
    );
    assert!(store
        .search(owner, "elephant", 10)
        .await
        .expect("searched")
        .messages
        .is_empty());

    reply.node.status = MessageStatus::Complete;
    store
        .finish_message(&reply.node, 3)
        .await
        .expect("finished");
    let found = store.search(owner, "elephant", 10).await.expect("searched");
    assert_eq!(
        found
            .messages
            .iter()
            .map(|h| h.message_id)
            .collect::<Vec<_>>(),
        vec![reply.node.id]
    );
    let stranger = Uuid::now_v7();
    assert!(store
        .search(stranger, "elephant", 10)
        .await
        .expect("searched")
        .messages
        .is_empty());
    assert!(store.search(owner, "' & | ! :*", 10).await.is_ok());
}
