//! The composer's plain form posts (before hydration and with scripts
//! off), and pages opened at a message (`?node=`).

mod common;

use app::domain::model::{ConversationSummary, ConversationView, MessageNode, Role};
use common::{shown_branch, Session, TestServer};
use serde_json::json;
use uuid::Uuid;

/// The user message and reply a plain post under `parent` stored.
fn answer_to(view: &ConversationView, parent: Uuid, text: &str) -> (Uuid, Uuid) {
    let question = view
        .nodes
        .iter()
        .find(|n| n.parent_id == Some(parent) && n.role == Role::User && n.content == text)
        .unwrap_or_else(|| panic!("the message {text:?} is stored under {parent}"));
    let reply = view
        .outline
        .iter()
        .find(|n| n.parent_id == Some(question.id))
        .expect("its reply was started");
    (question.id, reply.id)
}

/// A conversation with one finished exchange; answers it and the reply.
async fn answered(server: &TestServer) -> (Uuid, MessageNode) {
    let conversation = server.create_conversation().await.id;
    let sent = server.send(conversation, None, "first").await;
    let reply = server
        .wait_until_finished(conversation, sent.assistant.id)
        .await;
    (conversation, reply)
}

#[tokio::test]
async fn a_composer_post_stores_the_message_answers_it_and_shows_the_conversation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, reply) = answered(&server).await;
    let path = format!("/c/{conversation}/send");
    let parent = reply.id.to_string();

    let fields = [("text", "posted without scripts"), ("parent", &parent)];
    let (status, location, _) = server.post_page(&path, &fields).await;
    assert_eq!(status, 303);
    assert_eq!(location, Some(format!("/c/{conversation}")));
    let view = server.conversation(conversation).await;
    let (question, answer) = answer_to(&view, reply.id, "posted without scripts");
    let answer = server.wait_until_finished(conversation, answer).await;
    assert!(!answer.content.is_empty(), "the reply is written");
    let view = server.conversation(conversation).await;
    let branch: Vec<Uuid> = shown_branch(&view).iter().map(|n| n.id).collect();
    assert_eq!(
        branch[2..],
        [question, answer.id],
        "the new exchange is shown"
    );

    // Send clicked twice before the page answered: one message.
    let before = server.database_fingerprint().await;
    let (status, _, _) = server.post_page(&path, &fields).await;
    assert_eq!(status, 303);
    assert_eq!(server.database_fingerprint().await, before);

    // Other text under the same parent (a page from before, say) is a
    // message of its own, beside the first.
    let (status, _, _) = server
        .post_page(&path, &[("text", "another thought"), ("parent", &parent)])
        .await;
    assert_eq!(status, 303);
    let view = server.conversation(conversation).await;
    let (_, second) = answer_to(&view, reply.id, "another thought");
    server.wait_until_finished(conversation, second).await;
    assert_eq!(server.conversation(conversation).await.outline.len(), 6);
}

#[tokio::test]
async fn a_start_page_post_opens_a_new_conversation_with_the_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (status, location, _) = server
        .post_page("/new", &[("text", "a conversation\r\nwithout scripts")])
        .await;
    assert_eq!(status, 303);
    let location = location.expect("a redirect");
    let id: Uuid = location
        .strip_prefix("/c/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{location} names a conversation"));
    let view = server.conversation(id).await;
    let question = view.nodes.first().expect("the first message");
    // Text areas post line breaks as CRLF; they are stored as typed.
    assert_eq!(question.content, "a conversation\nwithout scripts");
    let reply = view.outline.last().expect("its reply").id;
    server.wait_until_finished(id, reply).await;
}

#[tokio::test]
async fn refused_posts_say_why_keep_the_text_and_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, reply) = answered(&server).await;
    let bob = server.new_user("bob").await;
    let parent = reply.id.to_string();
    let path = format!("/c/{conversation}/send");
    let too_long = "é".repeat(32_001);
    let unknown_parent = Uuid::nil().to_string();
    let before = server.database_fingerprint().await;
    let conversations_before: Vec<ConversationSummary> = server
        .call("list_conversations", json!({}))
        .await
        .expect("the list");

    let cases: [Refusal; 7] = [
        (
            "empty",
            &server.session,
            path.as_str(),
            vec![("text", "  "), ("parent", &parent)],
            400,
            "empty",
        ),
        (
            "too long",
            &server.session,
            path.as_str(),
            vec![("text", &too_long), ("parent", &parent)],
            400,
            "the limit is 32000",
        ),
        (
            "a bad parent id",
            &server.session,
            path.as_str(),
            vec![("text", "hi"), ("parent", "nope")],
            400,
            "parent",
        ),
        (
            "an unknown parent",
            &server.session,
            path.as_str(),
            vec![("text", "hi"), ("parent", &unknown_parent)],
            404,
            "parent",
        ),
        (
            "someone else's conversation",
            &bob,
            path.as_str(),
            vec![("text", "hi"), ("parent", &parent)],
            404,
            "conversation",
        ),
        (
            "an unknown conversation",
            &server.session,
            "/c/00000000-0000-0000-0000-000000000000/send",
            vec![("text", "hi")],
            404,
            "conversation",
        ),
        (
            "an empty first message",
            &server.session,
            "/new",
            vec![("text", "")],
            400,
            "empty",
        ),
    ];
    for (case, session, path, fields, status, reason) in cases {
        let (got, _, page) = session.post_page(path, &fields).await;
        assert_eq!(got, status, "{case}: {page}");
        assert!(page.contains("Your message was not sent"), "{case}: {page}");
        assert!(
            alert_of(&page).contains(&as_written(reason)),
            "{case}: the reason names {reason:?}: {page}"
        );
        let text = fields.iter().find(|(k, _)| *k == "text").map(|f| f.1);
        if let Some(text) = text.filter(|t| t.len() < 100) {
            assert!(
                page.contains(&format!(">{}</textarea>", as_written(text))),
                "{case}: the text is kept: {page}"
            );
        }
    }
    assert_eq!(server.database_fingerprint().await, before);
    let conversations_after: Vec<ConversationSummary> = server
        .call("list_conversations", json!({}))
        .await
        .expect("the list");
    assert_eq!(conversations_after, conversations_before);

    // Without a session (it expired, say): the text is kept and a link
    // signs in, and nothing is stored.
    let stranger = Session::new(&server.base, None);
    for path in [path.as_str(), "/new"] {
        let (status, _, page) = stranger
            .post_page(path, &[("text", "kept for later")])
            .await;
        assert_eq!(status, 401, "{path}: {page}");
        let kept = format!(">{}</textarea>", as_written("kept for later"));
        assert!(page.contains(&kept), "{path}: {page}");
        assert!(page.contains("href=\"/login?next="), "{page}");
    }
    assert_eq!(server.database_fingerprint().await, before);
}

/// The text of the refusal page's alert.
fn alert_of(page: &str) -> &str {
    let start = page.find("role=\"alert\">").expect("an alert") + "role=\"alert\">".len();
    let end = page[start..].find("</p>").expect("the alert ends") + start;
    &page[start..end]
}

/// One refused post: what it is, who posts what where, and the status and
/// words of the answer.
type Refusal<'a> = (
    &'a str,
    &'a Session,
    &'a str,
    Vec<(&'a str, &'a str)>,
    u16,
    &'a str,
);

/// `text` as the refusal page writes it (whitespace escaped, as
/// `ammonia::clean_text` does).
fn as_written(text: &str) -> String {
    text.replace(' ', "&#32;").replace('/', "&#47;")
}

#[tokio::test]
async fn a_page_opened_at_a_message_shows_that_messages_branch_around_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let (conversation, first) = answered(&server).await;
    let second = server
        .regenerate(conversation, first.id)
        .await
        .expect("regenerate");
    server
        .wait_until_finished(conversation, second.assistant.id)
        .await;
    let shown = server.conversation_page(conversation).await;
    assert_eq!(shown.active_leaf_id, Some(second.assistant.id));
    assert_eq!(shown.focus, None);

    let opened: ConversationView = server
        .call(
            "get_conversation",
            json!({ "id": conversation, "node": first.id }),
        )
        .await
        .expect("the page opened at a message");
    assert_eq!(opened.focus, Some(first.id));
    assert_eq!(opened.active_leaf_id, Some(first.id));
    assert!(opened.nodes.iter().any(|n| n.id == first.id));
    assert!(!opened.nodes.iter().any(|n| n.id == second.assistant.id));
    // Opening it changes nothing stored: the shown branch stays.
    let again = server.conversation_page(conversation).await;
    assert_eq!(again.active_leaf_id, Some(second.assistant.id));

    // The server-rendered page carries the message and its anchor.
    let (status, page) = server
        .page(&format!("/c/{conversation}?node={}", first.id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("id=\"m-{}\"", first.id)), "{page}");
    assert!(!page.contains(&format!("id=\"m-{}\"", second.assistant.id)));

    // An unknown message opens the shown branch; a malformed one is refused.
    let unknown: ConversationView = server
        .call(
            "get_conversation",
            json!({ "id": conversation, "node": Uuid::nil() }),
        )
        .await
        .expect("the page");
    assert_eq!(unknown.focus, None);
    assert_eq!(unknown.active_leaf_id, Some(second.assistant.id));
    let malformed = server
        .call::<ConversationView>(
            "get_conversation",
            json!({ "id": conversation, "node": "nope" }),
        )
        .await
        .expect_err("a malformed id");
    assert_eq!(malformed.status, 400);
}

#[tokio::test]
async fn form_posts_from_another_site_or_over_the_rate_limit_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_SENDS_PER_MINUTE", "1")]).await;
    let conversation = server.create_conversation().await.id;
    let path = format!("/c/{conversation}/send");
    let before = server.database_fingerprint().await;

    // Another site's page cannot post into the conversation (CSRF).
    let cookie = server.cookie().expect("signed in");
    for target in [path.as_str(), "/new"] {
        let response = reqwest::Client::new()
            .post(format!("{}{target}", server.base))
            .header("cookie", &cookie)
            .header("sec-fetch-site", "cross-site")
            .form(&[("text", "forged")])
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), 403, "{target}");
    }
    assert_eq!(server.database_fingerprint().await, before);

    // One send a minute: the second post is refused, its text kept.
    let (status, _, _) = server.post_page(&path, &[("text", "the one")]).await;
    assert_eq!(status, 303);
    let (status, _, page) = server.post_page(&path, &[("text", "one too many")]).await;
    assert_eq!(status, 429, "{page}");
    let kept = format!(">{}</textarea>", as_written("one too many"));
    assert!(page.contains(&kept), "{page}");
}
