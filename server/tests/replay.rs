//! Replaying a branch through the server functions: a real Arbor on a
//! SQLite file, a branch written by the offline model, and its replay by a
//! fake OpenAI-compatible server's models (echo, slow, failing).

mod common;

use app::domain::model::{ConversationView, MessageNode, MessageStatus, ReplayStarted, Role};
use app::domain::model::{ReplayProgress, ReplayState};
use common::fake_server::FakeServer;
use common::{fake_openai, shown_branch, EventStream, TestServer};
use serde_json::{json, Value};
use uuid::Uuid;

async fn arbor_with_fake(dir: &std::path::Path, fake: &FakeServer) -> TestServer {
    let config = format!(
        r#"
default_model = "offline/arbor-offline"

[[providers]]
name = "local"
kind = "openai"
base_url = "{origin}/v1"

[[personas]]
name = "Pirate"
system_prompt = "Talk like a pirate."
model = "local/fake-echo"
"#,
        origin = fake.origin
    );
    let path = dir.join("arbor.toml");
    std::fs::write(&path, config).expect("config written");
    let path = path.to_string_lossy().into_owned();
    TestServer::start(dir, &[("ARBOR_CONFIG", &path)]).await
}

/// A conversation whose shown branch is three exchanges on the offline
/// model; answers its id, the branch, and an event stream opened after it.
async fn three_turns(server: &TestServer) -> (Uuid, Vec<MessageNode>, EventStream) {
    let conversation = server.create_conversation().await.id;
    let mut parent = None;
    for text in ["one", "two", "three"] {
        let receipt = server.send(conversation, parent, text).await;
        server
            .wait_until_finished(conversation, receipt.assistant.id)
            .await;
        parent = Some(receipt.assistant.id);
    }
    let view = server.conversation(conversation).await;
    let branch = shown_branch(&view).into_iter().cloned().collect();
    let events = server
        .events(conversation, Some(&view.cursor.to_string()), false)
        .await;
    (conversation, branch, events)
}

async fn replay(
    server: &TestServer,
    conversation: Uuid,
    leaf: Uuid,
    from: Option<Uuid>,
    settings: Value,
) -> Result<ReplayStarted, common::Failure> {
    server
        .call(
            "replay_branch",
            json!({
                "conversation_id": conversation,
                "leaf_id": leaf,
                "from_id": from,
                "settings": settings,
            }),
        )
        .await
}

/// Reads events until the replay `id` ends; answers every progress seen.
async fn until_replay_ends(events: &mut EventStream, id: Uuid) -> Vec<ReplayProgress> {
    let mut seen = Vec::new();
    loop {
        let event = events.next().await;
        if event.event != "replay" {
            continue;
        }
        let data: Value = serde_json::from_str(&event.data).expect("JSON event");
        let progress: ReplayProgress =
            serde_json::from_value(data["progress"].clone()).expect("replay progress");
        if progress.id != id {
            continue;
        }
        let ended = progress.state != ReplayState::Running;
        seen.push(progress);
        if ended {
            return seen;
        }
    }
}

fn texts(branch: &[&MessageNode]) -> Vec<(Role, String)> {
    branch.iter().map(|m| (m.role, m.content.clone())).collect()
}

#[tokio::test]
async fn a_replay_asks_each_message_again_with_another_model_into_a_sibling_branch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = fake_openai::start().await;
    let server = arbor_with_fake(dir.path(), &fake).await;
    let (conversation, source, mut events) = three_turns(&server).await;
    let leaf = source.last().expect("a branch").id;

    let started = replay(
        &server,
        conversation,
        leaf,
        None,
        json!({ "model": "local/fake-echo" }),
    )
    .await
    .expect("the replay starts");
    assert_eq!(started.progress.total, 3);
    assert_eq!(started.progress.done, 0);
    assert_eq!(started.progress.model, "local/fake-echo");
    assert_eq!(
        started.receipt.assistant.parent_id,
        Some(source[0].id),
        "the first new reply is a sibling of the first old one"
    );
    assert!(started.receipt.user.is_none());

    let progress = until_replay_ends(&mut events, started.progress.id).await;
    let steps: Vec<(usize, ReplayState)> = progress.iter().map(|p| (p.done, p.state)).collect();
    assert_eq!(
        steps,
        vec![
            (0, ReplayState::Running),
            (1, ReplayState::Running),
            (2, ReplayState::Running),
            (3, ReplayState::Finished)
        ],
        "progress is announced at the start and after each reply"
    );

    let view = server.conversation(conversation).await;
    assert!(view.replays.is_empty(), "no replay runs any more");
    let new_leaf = progress.last().expect("an end").leaf;
    assert_eq!(
        view.active_leaf_id,
        Some(new_leaf),
        "the new branch is shown"
    );
    let replayed = shown_branch(&view);
    assert_eq!(
        texts(&replayed),
        vec![
            (Role::User, "one".to_string()),
            (Role::Assistant, "You said: one".to_string()),
            (Role::User, "two".to_string()),
            (Role::Assistant, "You said: two".to_string()),
            (Role::User, "three".to_string()),
            (Role::Assistant, "You said: three".to_string()),
        ]
    );
    assert_eq!(replayed[0].id, source[0].id, "the first message is shared");
    for reply in replayed.iter().filter(|m| m.role == Role::Assistant) {
        assert_eq!(reply.model.as_deref(), Some("local/fake-echo"));
        assert_eq!(reply.status, MessageStatus::Complete);
    }
    // Each turn saw the replay's own earlier replies, not the old branch's.
    let last_request = fake.chat_requests().last().expect("requests").body.clone();
    let sent: Vec<&str> = last_request["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        sent,
        vec!["one", "You said: one", "two", "You said: two", "three"]
    );

    // The old branch is untouched and the conversation keeps its settings.
    let old: Vec<&MessageNode> = source.iter().map(|m| common::find(&view, m.id)).collect();
    assert_eq!(
        old.iter().map(|m| &m.content).collect::<Vec<_>>(),
        source.iter().map(|m| &m.content).collect::<Vec<_>>()
    );
    assert_eq!(view.settings.model, None);
    assert_eq!(view.model.key, "offline/arbor-offline");
    assert_eq!(view.nodes.len(), 11, "six old messages, five new ones");
    let stored = server
        .sql_count(&format!(
            "SELECT COUNT(*) FROM messages WHERE conversation_id = '{conversation}'"
        ))
        .await;
    assert_eq!(stored, 11, "every new message is stored");
}

#[tokio::test]
async fn a_replay_from_a_later_reply_starts_there_and_keeps_the_persona() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = fake_openai::start().await;
    let server = arbor_with_fake(dir.path(), &fake).await;
    let (conversation, source, mut events) = three_turns(&server).await;

    let started = replay(
        &server,
        conversation,
        source[5].id,
        Some(source[3].id),
        json!({ "persona": "Pirate" }),
    )
    .await
    .expect("the replay starts");
    assert_eq!(started.progress.total, 2, "turns two and three");
    assert_eq!(started.receipt.assistant.parent_id, Some(source[2].id));
    until_replay_ends(&mut events, started.progress.id).await;

    let view = server.conversation(conversation).await;
    let replayed = shown_branch(&view);
    assert_eq!(
        replayed[..3].iter().map(|m| m.id).collect::<Vec<_>>(),
        [0, 1, 2].map(|i| source[i].id)
    );
    let replies: Vec<&&MessageNode> = replayed[3..]
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .collect();
    assert_eq!(replies.len(), 2);
    for reply in replies {
        let params = reply.params.as_ref().expect("reply params");
        assert_eq!(params.persona.as_deref(), Some("Pirate"));
        assert_eq!(params.system_prompt.as_deref(), Some("Talk like a pirate."));
        assert_eq!(reply.model.as_deref(), Some("local/fake-echo"));
    }
}

#[tokio::test]
async fn stopping_a_replay_keeps_its_reply_so_far_and_asks_nothing_more() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = fake_openai::start().await;
    let server = arbor_with_fake(dir.path(), &fake).await;
    let (conversation, source, mut events) = three_turns(&server).await;

    let started = replay(
        &server,
        conversation,
        source[5].id,
        None,
        json!({ "model": "local/fake-slow" }),
    )
    .await
    .expect("the replay starts");
    let reply = started.receipt.assistant.id;
    let running: ConversationView = server.conversation(conversation).await;
    assert_eq!(
        running.replays,
        vec![started.progress.clone()],
        "a reload sees it running"
    );
    events.until_deltas(2).await;

    let stopped: Result<(), _> = server
        .call(
            "stop_replay",
            json!({ "conversation_id": conversation, "replay_id": started.progress.id }),
        )
        .await;
    stopped.expect("stop_replay succeeds");
    let progress = until_replay_ends(&mut events, started.progress.id).await;
    let end = progress.last().expect("an end");
    assert_eq!((end.state, end.done), (ReplayState::Stopped, 0));

    let node = server.wait_until_finished(conversation, reply).await;
    assert_eq!(node.status, MessageStatus::Interrupted);
    assert!(!node.content.is_empty(), "the text so far is kept");
    let view = server.conversation(conversation).await;
    assert_eq!(view.nodes.len(), 7, "no further message was sent");
    assert!(view.replays.is_empty());

    let again: Result<(), common::Failure> = server
        .call(
            "stop_replay",
            json!({ "conversation_id": conversation, "replay_id": started.progress.id }),
        )
        .await;
    assert_eq!(again.expect_err("it has ended").status, 404);
}

#[tokio::test]
async fn a_failing_model_ends_the_replay_with_its_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = fake_openai::start().await;
    let server = arbor_with_fake(dir.path(), &fake).await;
    let (conversation, source, mut events) = three_turns(&server).await;

    let started = replay(
        &server,
        conversation,
        source[5].id,
        None,
        json!({ "model": "local/fake-429" }),
    )
    .await
    .expect("the replay starts");
    let progress = until_replay_ends(&mut events, started.progress.id).await;
    let end = progress.last().expect("an end");
    assert_eq!((end.state, end.done), (ReplayState::Failed, 0));
    let note = end.note.clone().expect("a reason");
    assert!(note.to_lowercase().contains("rate"), "{note}");
    let view = server.conversation(conversation).await;
    assert_eq!(view.nodes.len(), 7, "one failed reply, nothing after it");
}

#[tokio::test]
async fn bad_replays_are_refused_with_clear_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = fake_openai::start().await;
    let server = arbor_with_fake(dir.path(), &fake).await;
    let (conversation, source, _events) = three_turns(&server).await;
    let leaf = source[5].id;

    let cases = [
        (
            json!({ "model": "nowhere/none" }),
            leaf,
            None,
            400,
            "no model",
        ),
        (
            json!({ "persona": "Nobody" }),
            leaf,
            None,
            400,
            "no persona",
        ),
        (
            json!({ "params": { "temperature": 9.0 } }),
            leaf,
            None,
            400,
            "temperature",
        ),
        (json!({}), Uuid::now_v7(), None, 404, "message"),
        (
            json!({}),
            leaf,
            Some(Uuid::now_v7()),
            400,
            "not on this branch",
        ),
    ];
    for (settings, leaf, from, status, says) in cases {
        let failure = replay(&server, conversation, leaf, from, settings.clone())
            .await
            .expect_err("refused");
        assert_eq!(failure.status, status, "{settings}");
        assert!(
            failure.body.to_string().contains(says),
            "{settings}: {}",
            failure.body
        );
    }
    let other = server.create_conversation().await.id;
    let foreign = replay(&server, other, leaf, None, json!({}))
        .await
        .expect_err("a message of another conversation");
    assert_eq!(foreign.status, 404);
    let malformed: Result<(), common::Failure> = server
        .call(
            "stop_replay",
            json!({ "conversation_id": conversation, "replay_id": "nope" }),
        )
        .await;
    assert_eq!(malformed.expect_err("malformed").status, 400);
    assert_eq!(server.conversation(conversation).await.nodes.len(), 6);
}
