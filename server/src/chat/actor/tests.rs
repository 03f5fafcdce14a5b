//! The actor's command dispatch against a real, temporary SQLite store and
//! the offline model: every operation reaches its method for the owner,
//! and every operation is refused, changing nothing, for anyone else.

use super::{ActorContext, Parent};
use crate::catalog::Catalog;
use crate::chat::event_log::Replay;
use crate::chat::generation::StreamPace;
use crate::chat::registry::Registry;
use crate::clock::now_ms;
use crate::config::Config;
use crate::storage::{self, ConversationRecord, Store, StoredMessage};
use app::domain::errors::AppError;
use app::domain::model::{BranchLabel, ChatEvent, ConversationSettings, MessageStatus};
use app::domain::sampling::SamplerParams;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// A registry over a fresh database in `dir`, the store beneath it, the
/// owner and a conversation.
async fn registry(dir: &std::path::Path) -> (Registry, Arc<dyn Store>, Uuid, Uuid) {
    let path = dir.join("arbor.db");
    let database = storage::connect(&path.to_string_lossy())
        .await
        .expect("the database opens");
    let config = Config::from_lookup(|name| match name {
        "ARBOR_OFFLINE_TOKEN_MS" => Some("0".into()),
        _ => None,
    })
    .expect("the configuration reads");
    let catalog = Catalog::build(&config, None, |_| None).expect("the catalog builds");
    let store = database.store;
    let owner = store.local_user().await.expect("the local user exists");
    let conversation = store
        .create_conversation(owner, now_ms())
        .await
        .expect("a conversation is created")
        .id;
    let context = ActorContext {
        store: store.clone(),
        catalog: Arc::new(catalog),
        idle_timeout: Duration::from_secs(60),
        checkpoint_every: Duration::from_secs(1),
        replay_capacity: 64,
        stream_pace: StreamPace {
            idle_timeout: Duration::from_secs(30),
            frame: Duration::ZERO,
        },
        relay: None,
        watch_lapse: Duration::from_secs(15),
    };
    (Registry::new(context, None), store, owner, conversation)
}

fn not_found<T: std::fmt::Debug>(result: Result<T, AppError>, op: &str) {
    match result {
        Err(AppError::NotFound(what)) => assert_eq!(what, "conversation", "{op}"),
        other => panic!("{op}: expected NotFound(conversation), got {other:?}"),
    }
}

#[tokio::test]
async fn the_owner_reaches_every_operation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (registry, _, owner, id) = registry(dir.path()).await;
    let mine = registry.conversation(id, owner);

    let receipt = mine
        .send(Parent::ShownBranch, "client-1", "hello there")
        .await
        .expect("send");
    let reply = mine.await_reply(receipt.assistant.id).await.expect("await");
    assert_eq!(reply.status, MessageStatus::Complete);
    assert!(!reply.content.is_empty());
    let again = mine
        .send(Parent::ShownBranch, "client-1", "hello there")
        .await
        .expect("the same client id");
    assert_eq!(
        again.assistant.id, receipt.assistant.id,
        "sends are idempotent"
    );

    let snapshot = mine.snapshot().await.expect("snapshot");
    assert_eq!(snapshot.window.len(), 2);
    assert_eq!(snapshot.active_leaf_id, Some(reply.id));
    assert_eq!(mine.outline().await.expect("outline").len(), 2);
    assert_eq!(mine.branch(None).await.expect("branch").len(), 2);
    let texts = mine.messages(&[reply.id]).await.expect("messages");
    assert_eq!(texts[0].content, reply.content);
    assert_eq!(mine.stats().await.expect("stats").messages, 2);

    let second = mine.regenerate(reply.id).await.expect("regenerate");
    mine.await_reply(second.assistant.id).await.expect("await");
    mine.set_active_leaf(reply.id)
        .await
        .expect("set_active_leaf");
    assert_eq!(
        mine.snapshot().await.expect("snapshot").active_leaf_id,
        Some(reply.id)
    );
    mine.set_system_prompt("Be brief.").await.expect("prompt");
    let settings = ConversationSettings {
        tools: false,
        params: SamplerParams {
            temperature: Some(0.5),
            ..SamplerParams::default()
        },
        ..ConversationSettings::default()
    };
    mine.set_settings(&settings).await.expect("settings");
    mine.name_branch(reply.id, Some("first"))
        .await
        .expect("name");
    mine.set_main_branch(Some(reply.id)).await.expect("main");
    let snapshot = mine.snapshot().await.expect("snapshot");
    assert_eq!(snapshot.system_prompt, "Be brief.");
    assert_eq!(snapshot.settings, settings);
    assert_eq!(snapshot.main_node_id, Some(reply.id));
    assert_eq!(snapshot.labels.len(), 1);
    let pruned = mine.prune(second.assistant.id).await.expect("prune");
    mine.undo_prune(pruned.root).await.expect("undo");
    assert_eq!(mine.stats().await.expect("stats").messages, 3);
    assert!(
        mine.stop(reply.id).await.is_ok(),
        "stopping a finished reply is harmless"
    );
    match mine.continue_reply(reply.id).await {
        Err(AppError::BadRequest(why)) => assert!(why.contains("complete"), "{why}"),
        other => panic!("continue reaches its own check of the reply: {other:?}"),
    }
    let replay = mine
        .replay(reply.id, None, &ConversationSettings::default())
        .await
        .expect("replay");
    assert_eq!(replay.progress.total, 1);
    match mine.stop_replay(replay.progress.id).await {
        Ok(()) => {}
        // The offline model may have finished the replay already.
        Err(AppError::NotFound(what)) => assert!(what.starts_with("replay"), "{what}"),
        Err(other) => panic!("stop_replay: {other}"),
    }
    mine.await_reply(replay.receipt.assistant.id)
        .await
        .expect("the replayed reply ends");
    assert_eq!(mine.stats().await.expect("stats").messages, 4);

    let cursor = mine.snapshot().await.expect("snapshot").cursor;
    mine.name_branch(second.assistant.id, Some("second"))
        .await
        .expect("name");
    let subscription = mine.subscribe(Some(cursor)).await.expect("subscribe");
    match subscription.replay {
        Replay::Events(events) => assert!(
            matches!(
                events.as_slice(),
                [only] if matches!(only.event, ChatEvent::Labels { .. })
            ),
            "the one event after the cursor comes back: {events:?}"
        ),
        Replay::Reset => panic!("a fresh cursor resumes"),
    }
    assert_eq!(mine.close_if_running().await.map(|r| r.is_ok()), Some(true));
    mine.delete().await.expect("delete");
    not_found(mine.snapshot().await.map(|_| ()), "snapshot after delete");
}

#[tokio::test]
async fn anyone_else_is_refused_every_operation_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (registry, store, owner, id) = registry(dir.path()).await;
    let mine = registry.conversation(id, owner);
    let receipt = mine
        .send(Parent::ShownBranch, "client-1", "mine")
        .await
        .expect("send");
    let reply = mine.await_reply(receipt.assistant.id).await.expect("await");
    let before = mine.snapshot().await.expect("snapshot");
    let rows_before = stored(&store, id).await;

    let theirs = registry.conversation(id, Uuid::now_v7());
    let node = reply.id;
    let settings = ConversationSettings::default();
    not_found(theirs.snapshot().await.map(|_| ()), "snapshot");
    not_found(theirs.subscribe(None).await.map(|_| ()), "subscribe");
    not_found(theirs.send(Parent::ShownBranch, "c2", "hi").await, "send");
    not_found(theirs.regenerate(node).await, "regenerate");
    not_found(theirs.continue_reply(node).await, "continue");
    not_found(theirs.stop(node).await, "stop");
    not_found(theirs.set_active_leaf(node).await, "set_active_leaf");
    not_found(theirs.set_system_prompt("x").await, "set_system_prompt");
    not_found(theirs.set_settings(&settings).await, "set_settings");
    not_found(theirs.await_reply(node).await, "await_reply");
    not_found(theirs.outline().await, "outline");
    not_found(theirs.messages(&[node]).await, "messages");
    not_found(theirs.branch(None).await, "branch");
    not_found(theirs.stats().await, "stats");
    not_found(theirs.name_branch(node, Some("x")).await, "name_branch");
    not_found(theirs.set_main_branch(Some(node)).await, "set_main_branch");
    not_found(theirs.prune(node).await, "prune");
    not_found(theirs.undo_prune(node).await, "undo_prune");
    not_found(theirs.replay(node, None, &settings).await, "replay");
    not_found(theirs.stop_replay(node).await, "stop_replay");
    match theirs.close_if_running().await {
        Some(result) => not_found(result, "close"),
        None => panic!("the actor is running"),
    }
    not_found(theirs.delete().await, "delete");

    let after = mine.snapshot().await.expect("the owner still reads it");
    assert_eq!(after.window, before.window);
    assert_eq!(after.active_leaf_id, before.active_leaf_id);
    assert_eq!(after.system_prompt, before.system_prompt);
    assert_eq!(after.settings, before.settings);
    assert_eq!(after.labels, before.labels);
    assert_eq!(mine.stats().await.expect("stats").messages, 2);
    assert_eq!(
        stored(&store, id).await,
        rows_before,
        "the database is unchanged"
    );
}

/// Everything the database holds about a conversation.
async fn stored(
    store: &Arc<dyn Store>,
    id: Uuid,
) -> (
    Option<ConversationRecord>,
    Vec<StoredMessage>,
    Vec<BranchLabel>,
) {
    (
        store.conversation(id).await.expect("conversation row"),
        store.messages(id).await.expect("message rows"),
        store.branch_labels(id).await.expect("label rows"),
    )
}
