//! Tool calls end to end: a fake OpenAI-compatible model streams a tool
//! call in fragments; Arbor runs the built-in tool, stores the call and
//! its result as nodes of the tree, and the model answers from the result.

mod common;

use app::domain::model::{MessageStatus, Role};
use common::{fake_openai, fake_server::FakeServer, TestServer};
use serde_json::{json, Value};

async fn arbor(dir: &std::path::Path, fake: &FakeServer, model: &str) -> TestServer {
    let base_url = format!("{}/v1", fake.origin);
    TestServer::start(
        dir,
        &[("OPENAI_BASE_URL", &base_url), ("ARBOR_MODEL", model)],
    )
    .await
}

#[tokio::test]
async fn a_tool_call_is_run_stored_in_the_tree_and_answered() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-tools").await;
    let conversation = server.create_conversation().await.id;
    server
        .send(conversation, None, "please use message_history")
        .await;
    let view = server.wait_for_final_answer(conversation).await;
    let branch = common::shown_branch(&view);
    let roles: Vec<Role> = branch.iter().map(|n| n.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::Tool, Role::Assistant]
    );
    let (asking, result, answer) = (branch[1], branch[2], branch[3]);
    assert_eq!(asking.status, MessageStatus::Complete);
    assert_eq!(asking.tool_calls.len(), 1);
    let call = &asking.tool_calls[0];
    assert_eq!(call.name, "message_history");
    assert_eq!(call.arguments, "{\"limit\": 2}", "fragments reassembled");
    assert_eq!(result.tool_call_id.as_deref(), Some(call.id.as_str()));
    assert_eq!(result.model.as_deref(), Some("message_history"));
    let output: Value = serde_json::from_str(&result.content).expect("the result is JSON");
    assert_eq!(
        output["messages"][0],
        json!({ "role": "user", "content": "please use message_history" })
    );
    assert_eq!(answer.status, MessageStatus::Complete);
    assert_eq!(answer.content, format!("Tool answered: {}", result.content));

    // The second request carried the call and its result, and the tools.
    let requests = fake.chat_requests();
    let second = &requests.last().expect("two requests").body;
    let messages = second["messages"].as_array().expect("messages");
    let assistant = &messages[messages.len() - 2];
    assert_eq!(assistant["tool_calls"][0]["id"], call.id.as_str());
    assert_eq!(
        assistant["tool_calls"][0]["function"]["name"],
        "message_history"
    );
    let tool = &messages[messages.len() - 1];
    assert_eq!(tool["role"], "tool");
    assert_eq!(tool["tool_call_id"], call.id.as_str());
    let offered: Vec<&str> = second["tools"]
        .as_array()
        .expect("tools offered")
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert_eq!(
        offered,
        ["list_conversations", "message_history", "current_time"]
    );

    // Everything is in the database file too.
    let rows = common::stored_rows(&server.database, conversation).await;
    assert_eq!(rows.len(), 4);
    let stored_result = rows.iter().find(|r| r.role == "tool").expect("tool row");
    assert_eq!(stored_result.content, result.content);
}

#[tokio::test]
async fn list_conversations_returns_the_users_conversations() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-tools").await;
    let other = server.create_conversation().await.id;
    let _: app::domain::model::ConversationSummary = server
        .call(
            "rename_conversation",
            json!({ "id": other, "title": "Notes about oaks" }),
        )
        .await
        .expect("renamed");
    let conversation = server.create_conversation().await.id;
    server
        .send(conversation, None, "use list_conversations")
        .await;
    let view = server.wait_for_final_answer(conversation).await;
    let result = common::shown_branch(&view)[2].content.clone();
    let output: Value = serde_json::from_str(&result).expect("JSON");
    let titles: Vec<&str> = output["conversations"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|c| c["title"].as_str())
        .collect();
    assert!(titles.contains(&"Notes about oaks"), "{titles:?}");
    assert_eq!(titles.len(), 2);
}

#[tokio::test]
async fn the_tool_loop_ends_after_its_maximum_rounds() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-tools-loop").await;
    let conversation = server.create_conversation().await.id;
    server.send(conversation, None, "what time is it").await;
    let view = server.wait_for_final_answer(conversation).await;
    let branch = common::shown_branch(&view);
    let tools = branch.iter().filter(|n| n.role == Role::Tool).count();
    assert_eq!(tools, 3, "three rounds of tools, then an answer");
    let answer = branch.last().expect("an answer");
    assert_eq!(answer.content, "No more tools.");
    let time: Value = serde_json::from_str(&branch[2].content).expect("JSON");
    assert!(time["unix_ms"].as_i64().is_some());
    assert!(time["utc"].as_str().is_some_and(|t| t.ends_with("GMT")));
}

#[tokio::test]
async fn tools_switched_off_are_not_offered() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, "fake-tools").await;
    let conversation = server.create_conversation().await.id;
    let _: app::domain::model::EffectiveModel = server
        .call(
            "set_generation_settings",
            json!({ "id": conversation, "settings": { "model": null, "persona": null, "params": {}, "tools": false } }),
        )
        .await
        .expect("saved");
    let sent = server
        .send(conversation, None, "use list_conversations")
        .await;
    let reply = server
        .wait_until_finished(conversation, sent.assistant.id)
        .await;
    assert_eq!(reply.content, "No more tools.");
    assert!(reply.tool_calls.is_empty());
    let request = fake.chat_requests().last().expect("a request").body.clone();
    assert!(request.get("tools").is_none(), "no tools sent");
    assert!(!server.conversation(conversation).await.settings.tools);
}
