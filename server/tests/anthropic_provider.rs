//! Replies from Anthropic's Messages API, run end to end against a fake
//! that speaks its real HTTP + SSE wire format: streaming, headers and the
//! body sent upstream, HTTP errors, an `error` event mid-stream, and Stop
//! closing the upstream request.

mod common;

use app::domain::model::MessageStatus;
use common::fake_anthropic;
use common::fake_server::FakeServer;
use common::{delta_text, TestServer};
use serde_json::json;

const KEY: &str = "sk-ant-test-secret";

async fn arbor(dir: &std::path::Path, fake: &FakeServer, model: &str) -> TestServer {
    TestServer::start(
        dir,
        &[
            ("ANTHROPIC_BASE_URL", fake.origin.as_str()),
            ("ANTHROPIC_API_KEY", KEY),
            ("ANTHROPIC_BETA", "beta-one,beta-two"),
            ("ARBOR_MODEL", model),
            ("ARBOR_MAX_TOKENS", "512"),
        ],
    )
    .await
}

#[tokio::test]
async fn replies_stream_from_anthropic_with_its_headers_and_body() {
    let fake = fake_anthropic::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-echo").await;
    let (conversation, mut events) = server.watched_conversation().await;
    let first = server.send(conversation, None, "hello claude").await;
    let received = events.until_done(first.assistant.id).await;
    let reply = server
        .wait_until_finished(conversation, first.assistant.id)
        .await;
    assert_eq!(reply.status, MessageStatus::Complete);
    assert_eq!(reply.content, "You said: hello claude");
    assert_eq!(reply.model.as_deref(), Some("anthropic/fake-echo"));
    assert_eq!(delta_text(&received, first.assistant.id), reply.content);
    let usage = reply.usage.expect("a finished reply has usage");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (12, 9));
    assert!(!usage.estimated);

    let second = server
        .send(conversation, Some(first.assistant.id), "more")
        .await;
    server
        .wait_until_finished(conversation, second.assistant.id)
        .await;

    let requests: Vec<_> = fake.chat_requests();
    assert_eq!(requests.len(), 2);
    let header = |name: &str| {
        requests[1]
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("x-api-key").as_deref(), Some(KEY));
    assert_eq!(header("anthropic-version").as_deref(), Some("2023-06-01"));
    assert_eq!(
        header("anthropic-beta").as_deref(),
        Some("beta-one,beta-two")
    );
    let body = &requests[1].body;
    assert_eq!(body["model"], "fake-echo");
    assert_eq!(body["max_tokens"], 512);
    assert_eq!(body["stream"], true);
    assert!(
        body.get("system").is_none(),
        "no system prompt in this thread"
    );
    assert_eq!(
        body["messages"],
        json!([
            { "role": "user", "content": "hello claude" },
            { "role": "assistant", "content": "You said: hello claude" },
            { "role": "user", "content": "more" },
        ])
    );
}

#[tokio::test]
async fn anthropic_refusals_end_the_reply_with_a_readable_note() {
    let fake = fake_anthropic::start().await;
    for (model, expected) in [
        (
            "fake-401",
            "the provider rejected the API key (401): authentication_error",
        ),
        (
            "fake-overloaded",
            "the provider is overloaded (529): overloaded_error",
        ),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = arbor(dir.path(), &fake, model).await;
        let conversation = server.create_conversation().await.id;
        let receipt = server.send(conversation, None, "hi").await;
        let reply = server
            .wait_until_finished(conversation, receipt.assistant.id)
            .await;
        assert_eq!(reply.status, MessageStatus::Error, "{model}");
        let note = reply.note.unwrap_or_default();
        assert!(note.contains(expected), "{model}: {note}");
        assert!(!note.contains(KEY));
    }
}

#[tokio::test]
async fn an_error_event_mid_stream_keeps_the_text_received() {
    let fake = fake_anthropic::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-error-event").await;
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "hi").await;
    let reply = server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    assert_eq!(reply.status, MessageStatus::Error);
    assert_eq!(reply.content, "half an ");
    assert!(reply
        .note
        .unwrap_or_default()
        .contains("failed mid-reply: overloaded_error: Overloaded"));
}

#[tokio::test]
async fn stop_closes_the_anthropic_request() {
    let fake = fake_anthropic::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-slow").await;
    server.stop_mid_reply(&fake).await;
}

#[tokio::test]
async fn the_system_prompt_is_sent_as_the_top_level_system_field() {
    let fake = fake_anthropic::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-echo").await;
    let conversation = server.create_conversation().await.id;
    let () = server
        .call(
            "set_system_prompt",
            json!({ "id": conversation, "text": "You are a botanist." }),
        )
        .await
        .expect("set_system_prompt");
    let receipt = server.send(conversation, None, "oak?").await;
    server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    let chat = fake
        .chat_requests()
        .into_iter()
        .next()
        .expect("a chat request");
    assert_eq!(chat.body["system"], "You are a botanist.");
    assert_eq!(
        chat.body["messages"],
        json!([{ "role": "user", "content": "oak?" }])
    );
}

#[tokio::test]
async fn tool_use_blocks_are_run_and_the_result_goes_back_as_a_tool_result() {
    let fake = fake_anthropic::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-tools").await;
    let conversation = server.create_conversation().await.id;
    server.send(conversation, None, "what did I say?").await;
    let view = server.wait_for_final_answer(conversation).await;
    let branch = common::shown_branch(&view);
    assert_eq!(branch.len(), 4, "user, tool call, tool result, answer");
    let call = &branch[1].tool_calls[0];
    assert_eq!(
        (
            call.id.as_str(),
            call.name.as_str(),
            call.arguments.as_str()
        ),
        ("toolu_fake", "message_history", "{\"limit\": 2}")
    );
    let result = branch[2];
    assert_eq!(result.tool_call_id.as_deref(), Some("toolu_fake"));
    assert!(result.content.contains("what did I say?"));
    assert_eq!(
        branch[3].content,
        format!("Tool answered: {}", result.content)
    );

    let requests = fake.chat_requests();
    let second = &requests.last().expect("a second request").body;
    let turns = second["messages"].as_array().expect("turns");
    assert_eq!(
        turns[turns.len() - 2]["content"][0],
        json!({ "type": "tool_use", "id": "toolu_fake", "name": "message_history", "input": { "limit": 2 } })
    );
    assert_eq!(turns[turns.len() - 1]["role"], "user");
    assert_eq!(
        turns[turns.len() - 1]["content"][0]["tool_use_id"],
        "toolu_fake"
    );
    assert_eq!(second["tools"].as_array().map(Vec::len), Some(3));
}
