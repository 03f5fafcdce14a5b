//! Conversation actors through the programmatic API, in process, on a real
//! database (SQLite, or PostgreSQL: see `common::database`) and the offline
//! model: idle eviction and restart, panic
//! isolation, busy refusal, parallel sibling generations, a broadcast to
//! 1,000 conversations, and closing.

mod common;

use app::domain::errors::AppError;
use app::domain::model::{
    BranchLabel, ConversationSettings, ConversationSummary, MessageNode, MessageStatus, Role,
};
use app::domain::search::SearchResults;
use server::api::Arbor;
use server::chat::actor::{Parent, CRASHED_NOTE};
use server::config::Config;
use server::storage::{
    BranchStore, ConversationRecord, ConversationStore, ImportStore, MessageStore, NewFork,
    SearchStore, ShownNodes, StorageResult, Store, StoredMessage,
};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

async fn config(dir: &Path, settings: &[(&str, &str)]) -> Config {
    let database = common::database::TestDatabase::for_folder(dir).await.url();
    let settings: HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([("ARBOR_DATABASE_URL".to_string(), database)])
        .collect();
    Config::from_lookup(|name| settings.get(name).cloned()).expect("valid test configuration")
}

/// Polls `check` every 20 ms until it holds; fails after 20 s.
async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn node(arbor: &Arbor, conversation: Uuid, id: Uuid) -> MessageNode {
    arbor
        .history(conversation, Some(id))
        .await
        .expect("history")
        .pop()
        .expect("the message is in its own branch")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_actor_is_evicted_and_its_conversation_restarts_from_the_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let arbor = Arbor::open(&config(dir.path(), &[("ARBOR_ACTOR_IDLE_SECS", "1")]).await)
        .await
        .expect("open");
    let conversation = arbor.start_conversation().await.expect("start");
    let reply = arbor.ask(conversation, "Remember me").await.expect("ask");
    assert_eq!(reply.status, MessageStatus::Complete);
    assert_eq!(arbor.active_count(), 1);

    wait_until("the idle actor to stop", || async {
        arbor.active_count() == 0
    })
    .await;

    let branch = arbor.history(conversation, None).await.expect("history");
    assert_eq!(arbor.active_count(), 1, "reading it started a fresh actor");
    assert_eq!(branch.len(), 2);
    assert_eq!(branch[0].content, "Remember me");
    assert_eq!(branch[1].content, reply.content);
    let stats = arbor.stats(conversation).await.expect("stats");
    assert_eq!((stats.messages, stats.branches, stats.running), (2, 1, 0));
    assert!(stats.completion_tokens > 0);
}

/// A store that panics once, in `set_active_leaf` of an armed conversation.
struct PanickingStore {
    inner: Arc<dyn Store>,
    armed: AtomicBool,
}

#[async_trait::async_trait]
impl ConversationStore for PanickingStore {
    async fn local_user(&self) -> StorageResult<Uuid> {
        self.inner.local_user().await
    }
    async fn list_conversations(&self, owner: Uuid) -> StorageResult<Vec<ConversationSummary>> {
        self.inner.list_conversations(owner).await
    }
    async fn create_conversation(
        &self,
        owner: Uuid,
        now: i64,
    ) -> StorageResult<ConversationSummary> {
        self.inner.create_conversation(owner, now).await
    }
    async fn conversation(&self, id: Uuid) -> StorageResult<Option<ConversationRecord>> {
        self.inner.conversation(id).await
    }
    async fn rename_conversation(
        &self,
        owner: Uuid,
        id: Uuid,
        title: &str,
    ) -> StorageResult<Option<ConversationSummary>> {
        self.inner.rename_conversation(owner, id, title).await
    }
    async fn set_system_prompt(&self, id: Uuid, text: &str) -> StorageResult<()> {
        self.inner.set_system_prompt(id, text).await
    }
    async fn set_generation_settings(
        &self,
        id: Uuid,
        settings: &ConversationSettings,
    ) -> StorageResult<()> {
        self.inner.set_generation_settings(id, settings).await
    }
    async fn set_title_if_untitled(&self, id: Uuid, title: &str) -> StorageResult<bool> {
        self.inner.set_title_if_untitled(id, title).await
    }
    async fn delete_conversation(&self, owner: Uuid, id: Uuid) -> StorageResult<bool> {
        self.inner.delete_conversation(owner, id).await
    }
    async fn message_counts(&self, owner: Uuid) -> StorageResult<HashMap<Uuid, u64>> {
        self.inner.message_counts(owner).await
    }
    async fn users(&self) -> StorageResult<Vec<(Uuid, String)>> {
        self.inner.users().await
    }
}

#[async_trait::async_trait]
impl MessageStore for PanickingStore {
    async fn messages(&self, conversation: Uuid) -> StorageResult<Vec<StoredMessage>> {
        self.inner.messages(conversation).await
    }
    async fn insert_messages(
        &self,
        conversation: Uuid,
        messages: &[StoredMessage],
        active_leaf: Uuid,
    ) -> StorageResult<()> {
        self.inner
            .insert_messages(conversation, messages, active_leaf)
            .await
    }
    async fn checkpoint_message(&self, id: Uuid, content: &str, now: i64) -> StorageResult<()> {
        self.inner.checkpoint_message(id, content, now).await
    }
    async fn finish_message(&self, node: &MessageNode, now: i64) -> StorageResult<()> {
        self.inner.finish_message(node, now).await
    }
    async fn set_active_leaf(&self, conversation: Uuid, leaf: Uuid, at: i64) -> StorageResult<()> {
        if self.armed.swap(false, Ordering::SeqCst) {
            panic!("injected failure in conversation {conversation}");
        }
        self.inner.set_active_leaf(conversation, leaf, at).await
    }
    async fn interrupt_streaming(&self, note: &str, now: i64) -> StorageResult<u64> {
        self.inner.interrupt_streaming(note, now).await
    }
}

#[async_trait::async_trait]
impl BranchStore for PanickingStore {
    async fn branch_labels(&self, conversation: Uuid) -> StorageResult<Vec<BranchLabel>> {
        self.inner.branch_labels(conversation).await
    }
    async fn set_branch_label(
        &self,
        conversation: Uuid,
        node: Uuid,
        name: Option<&str>,
        now: i64,
    ) -> StorageResult<()> {
        self.inner
            .set_branch_label(conversation, node, name, now)
            .await
    }
    async fn set_main_node(&self, conversation: Uuid, node: Option<Uuid>) -> StorageResult<()> {
        self.inner.set_main_node(conversation, node).await
    }
    async fn set_pruned(
        &self,
        conversation: Uuid,
        ids: &[Uuid],
        at: Option<i64>,
        shown: ShownNodes,
    ) -> StorageResult<()> {
        self.inner.set_pruned(conversation, ids, at, shown).await
    }
    async fn pruned_messages(
        &self,
        conversation: Uuid,
    ) -> StorageResult<Vec<(StoredMessage, i64)>> {
        self.inner.pruned_messages(conversation).await
    }
    async fn purge_pruned(&self, before: i64) -> StorageResult<u64> {
        self.inner.purge_pruned(before).await
    }
    async fn create_fork(&self, fork: NewFork) -> StorageResult<ConversationSummary> {
        self.inner.create_fork(fork).await
    }
}

#[async_trait::async_trait]
impl SearchStore for PanickingStore {
    async fn search(&self, owner: Uuid, query: &str, limit: u32) -> StorageResult<SearchResults> {
        self.inner.search(owner, query, limit).await
    }
}

#[async_trait::async_trait]
impl ImportStore for PanickingStore {
    async fn import_conversation(
        &self,
        owner: Uuid,
        conversation: server::transfer::archive::ArchivedConversation,
    ) -> StorageResult<(ConversationSummary, bool)> {
        self.inner.import_conversation(owner, conversation).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_one_conversation_ends_only_its_replies_keeping_their_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Slow tokens, and no checkpoint during the test: whatever text the
    // crashed reply keeps was saved by the recovery, not by a checkpoint.
    let config = config(
        dir.path(),
        &[
            ("ARBOR_OFFLINE_TOKEN_MS", "30"),
            ("ARBOR_CHECKPOINT_MS", "600000"),
        ],
    )
    .await;
    let database = server::storage::connect(&config.database_url)
        .await
        .expect("open");
    let store = Arc::new(PanickingStore {
        inner: database.store.clone(),
        armed: AtomicBool::new(false),
    });
    let arbor = Arbor::open_with_store(&config, store.clone())
        .await
        .expect("open");
    let crashing = arbor.start_conversation().await.expect("start");
    let healthy = arbor.start_conversation().await.expect("start");
    let doomed = arbor
        .send(crashing, "Tell me a long story")
        .await
        .expect("send");
    let survivor = arbor.send(healthy, "Tell me another").await.expect("send");
    let doomed_id = doomed.assistant.id;
    wait_until("the doomed reply to have text", || async {
        !node(&arbor, crashing, doomed_id).await.content.is_empty()
    })
    .await;
    let seen = node(&arbor, crashing, doomed_id).await.content;

    store.armed.store(true, Ordering::SeqCst);
    // The actor panics on this command. It is not run again (it may be the
    // cause, or half done): the caller gets an internal error.
    match arbor.show(crashing, doomed_id).await {
        Err(AppError::Internal(message)) => assert!(message.contains("try again")),
        other => panic!("expected an internal error, got {other:?}"),
    }
    assert!(
        !store.armed.load(Ordering::SeqCst),
        "the panic was injected"
    );
    // The next use starts a fresh actor from the database.
    arbor
        .show(crashing, doomed_id)
        .await
        .expect("the restarted actor takes the command");

    let crashed = node(&arbor, crashing, doomed_id).await;
    assert_eq!(crashed.status, MessageStatus::Interrupted);
    assert_eq!(crashed.note.as_deref(), Some(CRASHED_NOTE));
    assert!(
        crashed.content.starts_with(&seen),
        "the text streamed before the panic is kept: {:?} vs {seen:?}",
        crashed.content
    );
    let stored = database.store.messages(crashing).await.expect("read");
    let stored_reply = stored
        .iter()
        .find(|m| m.node.id == doomed_id)
        .expect("stored");
    assert_eq!(stored_reply.node.content, crashed.content);
    assert_eq!(stored_reply.node.status, MessageStatus::Interrupted);

    let other = arbor
        .wait_for_reply(healthy, survivor.assistant.id)
        .await
        .expect("the other conversation's reply");
    assert_eq!(other.status, MessageStatus::Complete);
    assert!(!other.content.is_empty());

    let again = arbor
        .ask(crashing, "Are you back?")
        .await
        .expect("ask again");
    assert_eq!(again.status, MessageStatus::Complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appending_under_a_streaming_reply_is_busy_while_other_branches_go_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let arbor = Arbor::open(&config(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "20")]).await)
        .await
        .expect("open");
    let conversation = arbor.start_conversation().await.expect("start");
    let first = arbor.send(conversation, "First").await.expect("send");

    let refused = arbor.send(conversation, "Too soon").await;
    match refused {
        Err(AppError::Busy(message)) => assert!(message.contains("still being written")),
        other => panic!("expected a busy refusal, got {other:?}"),
    }
    let elsewhere = arbor
        .send_under(conversation, Parent::Root, "Another thread")
        .await
        .expect("a new branch is not blocked");
    assert_eq!(arbor.stats(conversation).await.expect("stats").running, 2);

    for reply in [first.assistant.id, elsewhere.assistant.id] {
        let done = arbor
            .wait_for_reply(conversation, reply)
            .await
            .expect("wait");
        assert_eq!(done.status, MessageStatus::Complete);
    }
    let after = arbor
        .send_under(conversation, Parent::Message(first.assistant.id), "Now")
        .await
        .expect("once the reply is complete, it can be answered");
    arbor
        .wait_for_reply(conversation, after.assistant.id)
        .await
        .expect("wait");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sibling_regenerations_stream_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let arbor = Arbor::open(&config(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "20")]).await)
        .await
        .expect("open");
    let conversation = arbor.start_conversation().await.expect("start");
    let original = arbor.ask(conversation, "Pick a colour").await.expect("ask");

    let mut siblings = Vec::new();
    for _ in 0..3 {
        let receipt = arbor
            .regenerate(conversation, original.id)
            .await
            .expect("regenerate");
        siblings.push(receipt.assistant.id);
    }
    let stats = arbor.stats(conversation).await.expect("stats");
    assert_eq!(stats.running, 3, "all three generate at the same time");

    let mut texts = Vec::new();
    for id in siblings {
        let reply = arbor.wait_for_reply(conversation, id).await.expect("wait");
        assert_eq!(reply.status, MessageStatus::Complete);
        assert_eq!(
            reply.parent_id, original.parent_id,
            "a sibling of the original"
        );
        texts.push(reply.content);
    }
    texts.push(original.content);
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 4, "each regeneration differs");
    let stats = arbor.stats(conversation).await.expect("stats");
    assert_eq!((stats.messages, stats.branches, stats.running), (5, 4, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_a_thousand_conversations_persists_every_reply() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path(), &[]).await;
    let arbor = Arbor::open(&config).await.expect("open");
    let conversations = arbor.start_conversations(1000).await.expect("start");
    assert_eq!(conversations.len(), 1000);

    let results = arbor.broadcast(&conversations, "Hello, everyone").await;
    assert_eq!(results.len(), 1000);
    for result in &results {
        let reply = result.reply.as_ref().expect("every reply");
        assert_eq!(reply.status, MessageStatus::Complete);
        assert!(!reply.content.is_empty());
    }

    // Read back through a second, independent connection.
    let check = server::storage::connect(&config.database_url)
        .await
        .expect("open")
        .store;
    for result in &results {
        let stored = check.messages(result.conversation).await.expect("read");
        assert_eq!(stored.len(), 2, "the message and its reply");
        assert_eq!(stored[0].node.role, Role::User);
        assert_eq!(stored[0].node.content, "Hello, everyone");
        let reply = result.reply.as_ref().expect("reply");
        assert_eq!(stored[1].node.id, reply.id);
        assert_eq!(stored[1].node.status, MessageStatus::Complete);
        assert_eq!(stored[1].node.content, reply.content);
    }
    let listed = arbor.list().await.expect("list");
    assert_eq!(listed.len(), 1000);
    assert!(listed.iter().all(|c| c.messages == 2 && !c.is_busy()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_busy_conversation_is_refused_until_its_reply_is_interrupted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let arbor = Arbor::open(&config(dir.path(), &[("ARBOR_OFFLINE_TOKEN_MS", "50")]).await)
        .await
        .expect("open");
    let conversation = arbor.start_conversation().await.expect("start");
    let receipt = arbor
        .send(conversation, "Take your time")
        .await
        .expect("send");

    match arbor.close(conversation).await {
        Err(AppError::Busy(message)) => assert!(message.contains("generating 1 reply")),
        other => panic!("expected a busy refusal, got {other:?}"),
    }
    let listed = arbor.list().await.expect("list");
    assert!(listed[0].is_busy() && listed[0].active);

    arbor
        .interrupt(conversation, receipt.assistant.id)
        .await
        .expect("interrupt");
    arbor.close(conversation).await.expect("close once idle");
    assert_eq!(arbor.active_count(), 0);
    let stopped = node(&arbor, conversation, receipt.assistant.id).await;
    assert_eq!(stopped.status, MessageStatus::Interrupted);

    assert!(matches!(
        arbor.close(Uuid::now_v7()).await,
        Err(AppError::NotFound(_))
    ));
}
