//! The in-process model, for real: SmolLM2-135M-Instruct (the GGUF that
//! `scripts/fetch-model.sh` puts in the cache folder) run by llama.cpp
//! inside the server binary. Streaming, Stop, seeds, two conversations at
//! once, the queue, trimming a long branch, and files that are not models.

mod common;

use app::domain::model::{EffectiveModel, MessageStatus, ModelChoices};
use common::{delta_text, TestServer, PATIENCE};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The fetched model file (the same place the server looks).
fn model_file() -> PathBuf {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let cache = var("ARBOR_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("arbor")))
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache/arbor")))
        .expect("HOME is set");
    let file = cache.join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        file.exists(),
        "{} is missing: scripts/setup.sh fetches it (scripts/fetch-model.sh)",
        file.display()
    );
    file
}

async fn start(dir: &Path, extra: &[(&str, &str)]) -> TestServer {
    let model = model_file();
    // One thread each: the tests run side by side, and llama.cpp's threads
    // wait for each other by spinning, which CPUs shared by several servers
    // turn into a crawl.
    let mut env = vec![
        ("ARBOR_LOCAL_MODEL", model.to_str().expect("a UTF-8 path")),
        ("ARBOR_LOCAL_THREADS", "1"),
    ];
    env.extend_from_slice(extra);
    TestServer::start(dir, &env).await
}

async fn set_sampler(server: &TestServer, conversation: Uuid, params: Value) -> EffectiveModel {
    server
        .call(
            "set_generation_settings",
            json!({ "id": conversation, "settings": { "params": params, "tools": false } }),
        )
        .await
        .expect("the settings are accepted")
}

/// A finished reply's text, asked in a new conversation with `params`.
async fn reply_to(server: &TestServer, text: &str, params: Value) -> String {
    let conversation = server.create_conversation().await.id;
    set_sampler(server, conversation, params).await;
    let receipt = server.send(conversation, None, text).await;
    let reply = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(reply.status, MessageStatus::Complete, "{reply:?}");
    reply.content
}

#[tokio::test]
async fn the_local_model_is_the_default_and_streams_a_real_reply() {
    let dir = tempfile::tempdir().expect("temp dir");
    // No frame to wait for: each token the model writes is a delta.
    let server = start(dir.path(), &[("ARBOR_STREAM_FRAME_MS", "0")]).await;
    let choices: ModelChoices = server
        .call("model_choices", json!({}))
        .await
        .expect("choices");
    let key = "local/SmolLM2-135M-Instruct.Q4_1";
    assert_eq!(choices.default_model, key);
    let local = choices
        .models
        .iter()
        .find(|m| m.key == key)
        .expect("offered");
    assert!(local.runs_here && local.offline, "{local:?}");
    assert!(local.label.contains("on this machine"), "{}", local.label);
    assert!(
        choices
            .models
            .iter()
            .any(|m| m.key == "offline/arbor-offline"),
        "the offline model stays selectable"
    );

    let (conversation, mut events) = server.watched_conversation().await;
    let receipt = server
        .send(conversation, None, "What is the capital of France?")
        .await;
    assert_eq!(receipt.assistant.model.as_deref(), Some(key));
    let seen = events.until_done(receipt.assistant.id).await;
    let deltas = seen.iter().filter(|e| common::is_delta(e)).count();
    assert!(deltas >= 3, "token by token: {deltas} deltas");
    let streamed = delta_text(&seen, receipt.assistant.id);
    let reply = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(reply.status, MessageStatus::Complete);
    assert_eq!(reply.content, streamed);
    assert!(
        reply.content.split_whitespace().count() >= 3,
        "words: {:?}",
        reply.content
    );
    let usage = reply.usage.expect("usage is recorded");
    assert!(
        usage.prompt_tokens > 10,
        "the chat template was applied: {usage:?}"
    );
    assert!(usage.completion_tokens > 0, "{usage:?}");
    assert!(usage.tokens_per_second().is_some(), "{usage:?}");
}

#[tokio::test]
async fn the_same_seed_writes_the_same_reply_and_another_seed_another() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &[]).await;
    let question = "Tell me something about the sea.";
    let params = |seed: u64| json!({ "seed": seed, "temperature": 1.0, "max_tokens": 40 });
    let first = reply_to(&server, question, params(7)).await;
    let again = reply_to(&server, question, params(7)).await;
    let other = reply_to(&server, question, params(8)).await;
    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[tokio::test]
async fn sampler_fields_are_honoured() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &[]).await;
    let counting = "Count from 1 to 50, separated by commas.";
    let greedy = json!({ "temperature": 0.0, "max_tokens": 12 });
    let short = reply_to(&server, counting, greedy.clone()).await;
    assert_eq!(
        short,
        reply_to(&server, counting, greedy).await,
        "greedy repeats"
    );
    let conversation = server.create_conversation().await.id;
    set_sampler(
        &server,
        conversation,
        json!({ "temperature": 0.0, "max_tokens": 12 }),
    )
    .await;
    let receipt = server.send(conversation, None, counting).await;
    let reply = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(
        reply.usage.expect("usage").completion_tokens,
        12,
        "max_tokens"
    );

    // A stop sequence ends the reply before it, and is not shown.
    let stopped = reply_to(
        &server,
        counting,
        json!({ "temperature": 0.0, "max_tokens": 60, "stop": ["5"] }),
    )
    .await;
    assert!(!stopped.contains('5'), "{stopped:?}");
    assert!(
        short.starts_with(&stopped) || stopped.len() < 40,
        "{stopped:?} / {short:?}"
    );
}

/// The `/metrics` value of a gauge or counter now (0 when absent).
async fn metric_now(server: &TestServer, name: &str) -> f64 {
    let text = server.get("/metrics").await.text().await.expect("body");
    common::metric(&text, name).unwrap_or(0.0)
}

#[tokio::test]
async fn stop_ends_the_generation_and_frees_the_model_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &[]).await;
    let (conversation, mut events) = server.watched_conversation().await;
    set_sampler(
        &server,
        conversation,
        json!({ "max_tokens": 4000, "temperature": 1.0 }),
    )
    .await;
    let receipt = server
        .send(
            conversation,
            None,
            "Write a very long story about a lighthouse keeper.",
        )
        .await;
    events.until_deltas(5).await;
    assert_eq!(
        metric_now(&server, "arbor_local_generations_running").await,
        1.0
    );
    server
        .stop(conversation, receipt.assistant.id)
        .await
        .expect("stopped");
    let reply = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(reply.status, MessageStatus::Interrupted);
    // The worker drops the generation before its next step: the count of
    // running generations falls to zero and the tokens stop.
    let freed = tokio::time::timeout(PATIENCE, async {
        while metric_now(&server, "arbor_local_generations_running").await != 0.0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(freed.is_ok(), "the slot is freed");
    let tokens = metric_now(&server, "arbor_local_tokens_total").await;
    // A later reply is served at once, with the whole model to itself.
    let next = reply_to(&server, "Hi", json!({ "max_tokens": 5 })).await;
    assert!(!next.is_empty());
    let after = metric_now(&server, "arbor_local_tokens_total").await;
    assert!(
        after - tokens <= 5.0,
        "only the new reply wrote tokens: {tokens} then {after}"
    );
}

/// When each conversation's first and last `delta` arrived.
async fn delta_times(
    server: &TestServer,
    conversation: Uuid,
    events: &mut common::EventStream,
    reply: Uuid,
) -> (Instant, Instant) {
    let mut first = None;
    loop {
        let event = events.next().await;
        if common::is_delta(&event) {
            first.get_or_insert_with(Instant::now);
        }
        if event.event == "done" && event.data.contains(&reply.to_string()) {
            let last = Instant::now();
            let node = server.wait_until_finished(conversation, reply).await;
            assert_eq!(node.status, MessageStatus::Complete, "{node:?}");
            return (first.expect("deltas came"), last);
        }
    }
}

/// Sends the same counting request in two conversations at once and
/// returns when each one's deltas came.
async fn two_at_once(server: &TestServer) -> [(Instant, Instant); 2] {
    let params = json!({ "temperature": 0.0, "max_tokens": 48 });
    let (a, mut a_events) = server.watched_conversation().await;
    let (b, mut b_events) = server.watched_conversation().await;
    set_sampler(server, a, params.clone()).await;
    set_sampler(server, b, params).await;
    let text = "Count from 1 to 100, separated by commas.";
    let (a_sent, b_sent) = tokio::join!(server.send(a, None, text), server.send(b, None, text));
    let (a_times, b_times) = tokio::join!(
        delta_times(server, a, &mut a_events, a_sent.assistant.id),
        delta_times(server, b, &mut b_events, b_sent.assistant.id)
    );
    [a_times, b_times]
}

#[tokio::test]
async fn two_conversations_are_answered_together() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &[]).await;
    let [(a_first, a_last), (b_first, b_last)] = two_at_once(&server).await;
    assert!(b_first < a_last, "b began before a ended");
    assert!(a_first < b_last, "a began before b ended");
}

#[tokio::test]
async fn beyond_the_parallel_limit_replies_wait_their_turn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &[("ARBOR_LOCAL_PARALLEL", "1")]).await;
    let [(a_first, a_last), (b_first, b_last)] = two_at_once(&server).await;
    // One after the other, in either order, both complete.
    assert!(a_last <= b_first || b_last <= a_first, "one at a time");
}

#[tokio::test]
async fn a_branch_longer_than_the_context_sends_its_newest_messages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &[("ARBOR_LOCAL_CONTEXT", "256")]).await;
    let conversation = server.create_conversation().await.id;
    set_sampler(
        &server,
        conversation,
        json!({ "max_tokens": 8, "temperature": 0.0 }),
    )
    .await;
    let paragraph = "The quick brown fox jumps over the lazy dog near the river bank. ".repeat(4);
    let mut parent = None;
    let mut last = None;
    for round in 0..4 {
        let receipt = server
            .send(conversation, parent, &format!("Round {round}. {paragraph}"))
            .await;
        let reply = server
            .wait_until_finished(conversation, receipt.assistant.id)
            .await;
        assert_eq!(reply.status, MessageStatus::Complete, "{reply:?}");
        parent = Some(reply.id);
        last = Some(reply);
    }
    let last = last.expect("replies");
    let params = last.params.expect("params are recorded");
    let left_out = params.left_out.expect("older messages were left out");
    assert!(left_out >= 2, "{left_out}");
    assert_eq!(left_out % 2, 0, "what is sent starts with a user message");
    let usage = last.usage.expect("usage");
    assert!(usage.prompt_tokens <= 256, "{usage:?}");

    // A single message longer than the whole context is refused, clearly,
    // and nothing is stored.
    let huge = "word ".repeat(400);
    let before = server.conversation(conversation).await.nodes.len();
    let refused = server
        .try_send(conversation, parent, &common::client_id(), &huge)
        .await
        .expect_err("too long");
    let message = refused.body.to_string();
    assert!(
        message.contains("too long for the local model"),
        "{message}"
    );
    assert_eq!(server.conversation(conversation).await.nodes.len(), before);
}

#[tokio::test]
async fn a_missing_or_broken_model_file_stops_start_up_and_names_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nowhere.gguf");
    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, "not a model").expect("written");
    let truncated = dir.path().join("truncated.gguf");
    let bytes = std::fs::read(model_file()).expect("the model reads");
    std::fs::write(&truncated, &bytes[..1_000_000]).expect("written");
    for (file, why) in [
        (&missing, "does not exist"),
        (&text, "not a GGUF file"),
        (&truncated, "truncated or corrupt"),
    ] {
        let path = file.to_str().expect("UTF-8");
        let stderr =
            TestServer::fails_to_start(dir.path(), &[], &[("ARBOR_LOCAL_MODEL", path)]).await;
        assert!(stderr.contains(path), "names the file: {stderr}");
        assert!(stderr.contains(why), "says why ({why}): {stderr}");
    }
}
