//! Replies from an OpenAI-compatible server, run end to end against a fake
//! that speaks the real HTTP + SSE wire format: streaming, the thread sent
//! upstream, upstream failures, Stop closing the upstream request, and the
//! idle-stream timeout.

mod common;

use app::domain::model::{MessageNode, MessageStatus};
use common::fake_openai;
use common::fake_server::FakeServer;
use common::{delta_text, TestServer};
use serde_json::json;

const KEY: &str = "sk-test-secret-key";

/// The finished reply to "hi" from `model` on a fresh fake and server.
async fn one_reply(model: &str, extra: &[(&str, &str)]) -> MessageNode {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, model, extra).await;
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "hi").await;
    server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await
}

async fn arbor(
    dir: &std::path::Path,
    fake: &FakeServer,
    model: &str,
    extra: &[(&str, &str)],
) -> TestServer {
    let base_url = format!("{}/v1", fake.origin);
    let mut env = vec![
        ("OPENAI_BASE_URL", base_url.as_str()),
        ("OPENAI_API_KEY", KEY),
        ("ARBOR_MODEL", model),
    ];
    env.extend_from_slice(extra);
    TestServer::start(dir, &env).await
}

#[tokio::test]
async fn replies_stream_from_an_openai_compatible_server_with_the_whole_thread() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    // Without a frame to wait for, each word the fake streams is a delta.
    let no_frame = [("ARBOR_STREAM_FRAME_MS", "0")];
    let server = arbor(dir.path(), &fake, "fake-echo", &no_frame).await;
    let (conversation, mut events) = server.watched_conversation().await;
    let view = server.conversation(conversation).await;
    assert_eq!(view.model.key, "openai/fake-echo");
    assert!(!view.model.offline);

    let first = server.send(conversation, None, "hello there").await;
    let received = events.until_done(first.assistant.id).await;
    let reply = server
        .wait_until_finished(conversation, first.assistant.id)
        .await;
    assert_eq!(reply.status, MessageStatus::Complete);
    assert_eq!(reply.content, "You said: hello there");
    assert_eq!(reply.model.as_deref(), Some("openai/fake-echo"));
    assert_eq!(delta_text(&received, first.assistant.id), reply.content);
    let usage = reply.usage.expect("a finished reply has usage");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (7, 4));
    assert!(!usage.estimated, "the provider's own counts");
    assert!(usage.time_to_first_token_ms.expect("text came") <= usage.total_ms);
    let deltas = received.iter().filter(|e| common::is_delta(e)).count();
    assert_eq!(
        deltas, 4,
        "one delta per streamed word, events split across writes reassembled"
    );

    let second = server
        .send(conversation, Some(first.assistant.id), "and again")
        .await;
    server
        .wait_until_finished(conversation, second.assistant.id)
        .await;

    let requests: Vec<_> = fake.chat_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0]
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(requests[1].body["model"], "fake-echo");
    assert_eq!(requests[1].body["stream"], true);
    assert_eq!(requests[1].body["stream_options"]["include_usage"], true);
    assert_eq!(
        requests[1].body["messages"],
        json!([
            { "role": "user", "content": "hello there" },
            { "role": "assistant", "content": "You said: hello there" },
            { "role": "user", "content": "and again" },
        ])
    );
    assert!(
        requests[1].body.get("seed").is_none(),
        "no sampler field is sent unless chosen"
    );
}

#[tokio::test]
async fn upstream_errors_end_the_reply_with_a_readable_note_and_no_secret() {
    let fake = fake_openai::start().await;
    for (model, expected) in [
        ("fake-401", "the provider rejected the API key (401)"),
        ("fake-429", "the provider is rate limiting requests (429)"),
        ("fake-500", "the provider failed (500)"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = arbor(dir.path(), &fake, model, &[]).await;
        let conversation = server.create_conversation().await.id;
        let receipt = server.send(conversation, None, "hi").await;
        let reply = server
            .wait_until_finished(conversation, receipt.assistant.id)
            .await;
        assert_eq!(reply.status, MessageStatus::Error, "{model}");
        let note = reply.note.unwrap_or_default();
        assert!(note.contains(expected), "{model}: {note}");
        assert!(!note.contains(KEY), "{model}: the key leaked into {note}");
        // The failed reply can be retried.
        server
            .regenerate(conversation, receipt.assistant.id)
            .await
            .expect("retry");
    }
}

#[tokio::test]
async fn the_api_key_never_reaches_the_browser_or_the_log() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-echo", &[("RUST_LOG", "debug")]).await;
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "hello").await;
    server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    let used = fake.requests();
    assert!(
        used.iter().any(|r| r
            .headers
            .get("authorization")
            .is_some_and(|v| v.to_str().unwrap_or_default() == format!("Bearer {KEY}"))),
        "the key is sent to the provider"
    );
    let choices: serde_json::Value = server
        .call("model_choices", serde_json::json!({}))
        .await
        .expect("choices");
    let view: serde_json::Value = server
        .call(
            "get_conversation",
            serde_json::json!({ "id": conversation }),
        )
        .await
        .expect("the conversation");
    let (_, home) = server.page("/").await;
    let (_, chat) = server.page(&format!("/c/{conversation}")).await;
    for (what, text) in [
        ("model choices", choices.to_string()),
        ("the conversation", view.to_string()),
        ("the home page", home),
        ("the chat page", chat),
        ("the log", server.log()),
    ] {
        assert!(!text.contains(KEY), "the key reached {what}");
    }
    assert!(
        server.log().contains("DEBUG"),
        "the log was captured at debug level"
    );
}

#[tokio::test]
async fn a_connection_cut_mid_stream_keeps_the_text_received() {
    let reply = one_reply("fake-cut", &[]).await;
    assert_eq!(reply.status, MessageStatus::Error);
    assert_eq!(reply.content, "one two three ");
    assert!(reply.note.unwrap_or_default().contains("broke mid-reply"));
}

#[tokio::test]
async fn a_malformed_chunk_ends_the_reply_in_error_with_its_text_kept() {
    let reply = one_reply("fake-malformed", &[]).await;
    assert_eq!(reply.status, MessageStatus::Error);
    assert_eq!(reply.content, "first ");
    assert!(reply.note.unwrap_or_default().contains("malformed"));
}

#[tokio::test]
async fn stop_closes_the_upstream_request() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-slow", &[]).await;
    let reply = server.stop_mid_reply(&fake).await;
    let usage = reply.usage.expect("a stopped reply has usage");
    assert!(
        usage.estimated,
        "no usage chunk came, so the counts are estimates"
    );
    assert_eq!(
        usage.completion_tokens,
        reply.content.len().div_ceil(4) as u32
    );
}

#[tokio::test]
async fn a_stalled_stream_fails_after_the_idle_timeout() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(
        dir.path(),
        &fake,
        "fake-stall",
        &[("ARBOR_STREAM_IDLE_SECS", "1")],
    )
    .await;
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "hi").await;
    let reply = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(reply.status, MessageStatus::Error);
    assert_eq!(reply.content, "first ");
    assert!(reply
        .note
        .unwrap_or_default()
        .contains("sent nothing for 1 s"));
    fake.wait_for_early_close().await;
}

#[tokio::test]
async fn an_unreachable_provider_is_a_readable_error() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.local_addr().expect("address").port()
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let base_url = format!("http://127.0.0.1:{closed_port}/v1");
    let server = TestServer::start(
        dir.path(),
        &[("OPENAI_BASE_URL", &base_url), ("ARBOR_MODEL", "anything")],
    )
    .await;
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "hi").await;
    let reply = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(reply.status, MessageStatus::Error);
    assert!(reply
        .note
        .unwrap_or_default()
        .contains("cannot connect to the provider"));
}

#[tokio::test]
async fn the_model_names_the_conversation_after_its_first_reply() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-echo", &[]).await;
    let (conversation, mut events) = server.watched_conversation().await;
    let receipt = server.send(conversation, None, "how do oaks grow").await;
    events.until_done(receipt.assistant.id).await;
    let title_event = loop {
        let event = events.next().await;
        if event.event == "title" {
            break event;
        }
    };
    assert!(
        title_event.data.contains("Fake Model Title"),
        "{}",
        title_event.data
    );
    assert_eq!(
        server.wait_for_title(conversation).await,
        "Fake Model Title"
    );
    let asked = fake
        .requests()
        .into_iter()
        .find(|r| r.is_title_request())
        .expect("the model was asked for a title");
    assert!(asked.body.to_string().contains("how do oaks grow"));
}

#[tokio::test]
async fn the_system_prompt_goes_first_and_applies_to_new_replies_only() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-echo", &[]).await;
    let conversation = server.create_conversation().await.id;
    let before = server.send(conversation, None, "first").await;
    server
        .wait_until_finished(conversation, before.assistant.id)
        .await;

    let () = server
        .call(
            "set_system_prompt",
            json!({ "id": conversation, "text": "  Be terse.  " }),
        )
        .await
        .expect("set_system_prompt");
    assert_eq!(
        server.conversation(conversation).await.system_prompt,
        "Be terse."
    );
    let after = server
        .regenerate(conversation, before.assistant.id)
        .await
        .expect("regenerate");
    server
        .wait_until_finished(conversation, after.assistant.id)
        .await;

    let chats: Vec<_> = fake.chat_requests();
    assert_eq!(chats.len(), 2);
    assert_eq!(
        chats[0].body["messages"][0]["role"], "user",
        "no prompt before it was set"
    );
    assert_eq!(
        chats[1].body["messages"],
        json!([
            { "role": "system", "content": "Be terse." },
            { "role": "user", "content": "first" },
        ])
    );
}
