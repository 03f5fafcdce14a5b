//! Server rendering of the chat page: every load renders the whole page.

mod common;

use common::TestServer;

/// A race between server rendering and a resource fetched for the model
/// picker once made about one chat-page load in twenty panic mid-render.
#[tokio::test]
async fn the_chat_page_renders_completely_on_every_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let sent = server.send(conversation, None, "render me").await;
    server
        .wait_until_finished(conversation, sent.assistant.id)
        .await;
    for load in 0..60 {
        let (status, body) = server.page(&format!("/c/{conversation}")).await;
        assert_eq!(status, 200, "load {load}");
        let whole = body.contains("render me")
            && body.contains("class=\"chat-title\"")
            && body.contains("class=\"composer\"");
        assert!(whole, "load {load} is incomplete ({} bytes)", body.len());
    }
}
