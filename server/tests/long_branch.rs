//! Opening a long branch: `get_conversation` answers every message's place
//! in the tree but the text of only the newest messages of the shown
//! branch; `get_messages` answers the others' on demand.

mod common;

use app::domain::model::{MessageNode, Role};
use app::domain::reading_window::{FIRST_WINDOW, MAX_FETCH};
use common::TestServer;
use serde_json::{json, Value};
use uuid::Uuid;

#[tokio::test]
async fn the_page_gets_the_outline_and_only_the_newest_texts_of_its_branch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let mut parent = None;
    let mut first_reply = None;
    for i in 0..25 {
        let receipt = server
            .send(conversation, parent, &format!("question {i}"))
            .await;
        server
            .wait_until_finished(conversation, receipt.assistant.id)
            .await;
        first_reply.get_or_insert(receipt.assistant.id);
        parent = Some(receipt.assistant.id);
    }
    // A side branch near the root, then back to the long one.
    let first_reply = first_reply.expect("a first reply");
    let side = server
        .regenerate(conversation, first_reply)
        .await
        .expect("regenerated");
    server
        .wait_until_finished(conversation, side.assistant.id)
        .await;
    let leaf = parent.expect("a leaf");
    let shown: Result<(), _> = server
        .call(
            "set_active_leaf",
            json!({ "conversation_id": conversation, "leaf_id": leaf }),
        )
        .await;
    shown.expect("the long branch is shown");

    let page = server.conversation_page(conversation).await;
    assert_eq!(page.outline.len(), 51, "every message is outlined");
    assert!(page.outline_complete);
    let outline: Vec<app::domain::model::NodeOutline> = server
        .call("get_outline", json!({ "conversation_id": conversation }))
        .await
        .expect("get_outline succeeds");
    assert_eq!(
        outline, page.outline,
        "get_outline answers the same outline"
    );
    let full = server.conversation(conversation).await;
    let branch: Vec<&MessageNode> = common::shown_branch(&full);
    assert_eq!(branch.len(), 50);
    assert_eq!(
        page.nodes.iter().map(|n| n.id).collect::<Vec<_>>(),
        branch[50 - FIRST_WINDOW..]
            .iter()
            .map(|n| n.id)
            .collect::<Vec<_>>(),
        "the texts sent are the newest of the shown branch, in order"
    );
    assert_eq!(page.nodes.last().map(|n| n.id), Some(leaf));
    assert_eq!(page.nodes[0].content, "question 5");
    assert!(page.nodes.iter().all(|n| n.id != side.assistant.id));
    let outlined_reply = page
        .outline
        .iter()
        .find(|o| o.id == first_reply)
        .expect("the first reply is outlined");
    assert_eq!(outlined_reply.role, Role::Assistant);
    assert!(
        outlined_reply.usage.is_some(),
        "totals can be counted without texts"
    );

    // The older texts come on demand; what is not there is left out.
    let older: Vec<Uuid> = branch[..3].iter().map(|n| n.id).collect();
    let asked = [older.clone(), vec![Uuid::now_v7(), side.assistant.id]].concat();
    let fetched: Vec<MessageNode> = server
        .call(
            "get_messages",
            json!({ "conversation_id": conversation, "ids": asked }),
        )
        .await
        .expect("get_messages succeeds");
    let texts: Vec<(Uuid, &str)> = fetched.iter().map(|n| (n.id, n.content.as_str())).collect();
    assert_eq!(texts.len(), 4);
    assert_eq!(texts[0], (older[0], "question 0"));
    assert_eq!(texts[2], (older[2], "question 1"));
    assert_eq!(texts[3].0, side.assistant.id);
    assert_eq!(texts[1].1, branch[1].content);
}

#[tokio::test]
async fn asking_for_texts_wrongly_gets_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let conversation = server.create_conversation().await.id;
    let receipt = server.send(conversation, None, "hello").await;
    server
        .wait_until_finished(conversation, receipt.assistant.id)
        .await;
    let other = server.create_conversation().await.id;

    let ask = |conversation: Value, ids: Value| {
        let server = &server;
        async move {
            server
                .call::<Vec<MessageNode>>(
                    "get_messages",
                    json!({ "conversation_id": conversation, "ids": ids }),
                )
                .await
        }
    };
    let too_many: Vec<Uuid> = (0..=MAX_FETCH).map(|_| Uuid::now_v7()).collect();
    let failure = ask(json!(conversation), json!(too_many))
        .await
        .expect_err("too many");
    assert_eq!(failure.status, 400);
    assert!(failure.body.to_string().contains("at most 200"));
    let failure = ask(json!(conversation), json!(["not-an-id"]))
        .await
        .expect_err("malformed");
    assert_eq!(failure.status, 400);
    let failure = ask(
        json!(Uuid::now_v7()),
        json!([receipt.user.as_ref().map(|u| u.id)]),
    )
    .await
    .expect_err("no such conversation");
    assert_eq!(failure.status, 404);
    // Another conversation's messages are not found through this one.
    let foreign = ask(json!(other), json!([receipt.assistant.id]))
        .await
        .expect("answers");
    assert!(foreign.is_empty());
    let none = ask(json!(conversation), json!([])).await.expect("answers");
    assert!(none.is_empty());
}
