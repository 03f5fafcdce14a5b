//! Export and import over HTTP against the real server: a tree with
//! branches, names, a main branch, an error and an interrupted reply goes
//! out and comes back node for node; downloads are the owner's only; bad
//! or oversized files get a clear error and change nothing; an import is
//! never seen half done.

mod common;

use app::domain::model::{MessageNode, MessageStatus};
use app::domain::transfer::ImportSummary;
use common::{fake_openai, fake_server::FakeServer, Session, TestServer};
use flate2::read::GzDecoder;
use serde_json::{json, Value};
use server::transfer::archive::{Archive, ArchivedConversation};
use std::collections::HashMap;
use std::io::Read;
use uuid::Uuid;

async fn arbor(dir: &std::path::Path, fake: &FakeServer, extra: &[(&str, &str)]) -> TestServer {
    let base_url = format!("{}/v1", fake.origin);
    let mut env = vec![
        ("OPENAI_BASE_URL", base_url.as_str()),
        ("OPENAI_API_KEY", "test-key"),
        ("ARBOR_MODEL", "fake-echo"),
    ];
    env.extend_from_slice(extra);
    TestServer::start(dir, &env).await
}

async fn use_model(server: &TestServer, conversation: Uuid, model: &str) {
    let _: Value = server
        .call(
            "set_generation_settings",
            json!({ "id": conversation, "settings": {"model": format!("openai/{model}"), "persona": null, "params": {}, "tools": true} }),
        )
        .await
        .expect("set_generation_settings");
}

async fn finished(server: &TestServer, conversation: Uuid, reply: Uuid) -> MessageNode {
    server.wait_until_finished(conversation, reply).await
}

/// A conversation with two roots (an edit), a regenerated reply, an error,
/// an interrupted reply, two branch names, a main branch, a system prompt
/// and an older branch shown.
async fn branchy_conversation(server: &TestServer) -> Uuid {
    let c = server.create_conversation().await.id;
    let _: () = server
        .call("set_system_prompt", json!({ "id": c, "text": "Be brief." }))
        .await
        .expect("set_system_prompt");
    let first = server.send(c, None, "first question").await;
    finished(server, c, first.assistant.id).await;
    let again = server
        .regenerate(c, first.assistant.id)
        .await
        .expect("regenerate");
    finished(server, c, again.assistant.id).await;
    let follow = server.send(c, Some(again.assistant.id), "follow up").await;
    finished(server, c, follow.assistant.id).await;
    let edited = server.send(c, None, "edited question").await;
    finished(server, c, edited.assistant.id).await;
    use_model(server, c, "fake-500").await;
    let failed = server
        .send(c, Some(edited.assistant.id), "this fails")
        .await;
    assert_eq!(
        finished(server, c, failed.assistant.id).await.status,
        MessageStatus::Error
    );
    use_model(server, c, "fake-slow").await;
    let slow = server
        .send(c, Some(edited.assistant.id), "count slowly")
        .await;
    server.stop(c, slow.assistant.id).await.expect("stop");
    assert_eq!(
        finished(server, c, slow.assistant.id).await.status,
        MessageStatus::Interrupted
    );
    for (node, name) in [
        (follow.assistant.id, "Follow-up"),
        (slow.assistant.id, "Slow one"),
    ] {
        let _: () = server
            .call(
                "name_branch",
                json!({ "conversation_id": c, "node_id": node, "name": name }),
            )
            .await
            .expect("name_branch");
    }
    let _: () = server
        .call(
            "set_main_branch",
            json!({ "conversation_id": c, "node_id": follow.assistant.id }),
        )
        .await
        .expect("set_main_branch");
    let _: () = server
        .call(
            "set_active_leaf",
            json!({ "conversation_id": c, "leaf_id": first.assistant.id }),
        )
        .await
        .expect("set_active_leaf");
    let _: Value = server
        .call(
            "rename_conversation",
            json!({ "id": c, "title": "Tree \"test\"" }),
        )
        .await
        .expect("rename");
    c
}

async fn download(session: &Session, path: &str) -> (u16, HashMap<String, String>, Vec<u8>) {
    let response = session.get(path).await;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    (
        status,
        headers,
        response.bytes().await.expect("a body").to_vec(),
    )
}

fn unzip(bytes: &[u8]) -> Archive {
    let mut json = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut json).expect("gzip");
    serde_json::from_slice(&json).expect("an Arbor archive")
}

async fn export(session: &Session, conversation: Uuid) -> Vec<u8> {
    let (status, headers, bytes) = download(
        session,
        &format!("/api/conversations/{conversation}/export?format=arbor"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/gzip");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"Tree-test.arbor.json.gz\""
    );
    bytes
}

async fn import(session: &Session, file: &str, bytes: Vec<u8>) -> (u16, Value) {
    let response = session
        .post_bytes(&format!("/api/import?file={file}"), bytes)
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

async fn imported(session: &Session, file: &str, bytes: Vec<u8>) -> ImportSummary {
    let (status, body) = import(session, file, bytes).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("an import summary")
}

/// A conversation's tree with ids replaced by structure: each node with
/// its fields, its name, whether it is main or shown, and its children.
fn canonical(conversation: &ArchivedConversation) -> Value {
    let mut children: HashMap<Option<Uuid>, Vec<&MessageNode>> = HashMap::new();
    for m in &conversation.messages {
        children.entry(m.parent_id).or_default().push(m);
    }
    fn render(
        parent: Option<Uuid>,
        children: &HashMap<Option<Uuid>, Vec<&MessageNode>>,
        conversation: &ArchivedConversation,
    ) -> Value {
        let mut nodes: Vec<&&MessageNode> = children
            .get(&parent)
            .map(|c| c.iter().collect())
            .unwrap_or_default();
        nodes.sort_by_key(|m| (m.created_at, m.content.clone()));
        Value::Array(
            nodes
                .into_iter()
                .map(|m| {
                    let mut fields = serde_json::to_value(m).expect("serializes");
                    fields["id"] = Value::Null;
                    fields["parent_id"] = Value::Null;
                    json!({
                        "node": fields,
                        "name": conversation.labels.iter().find(|l| l.node_id == m.id).map(|l| l.name.clone()),
                        "main": conversation.main_node_id == Some(m.id),
                        "shown": conversation.active_leaf_id == Some(m.id),
                        "children": render(Some(m.id), children, conversation),
                    })
                })
                .collect(),
        )
    }
    json!({
        "title": conversation.title,
        "system_prompt": conversation.system_prompt,
        "settings": conversation.settings,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "tree": render(None, &children, conversation),
    })
}

#[tokio::test]
async fn an_exported_tree_imports_back_node_by_node() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, &[]).await;
    let c = branchy_conversation(&server).await;
    let original = unzip(&export(&server, c).await);
    assert_eq!((original.format.as_str(), original.version), ("arbor", 1));
    let [tree] = original.conversations.as_slice() else {
        panic!("one conversation")
    };
    assert_eq!(tree.messages.len(), 11);
    assert_eq!(tree.leaf_count(), 4);
    assert_eq!(tree.labels.len(), 2);
    assert!(tree
        .messages
        .iter()
        .any(|m| m.status == MessageStatus::Error && m.note.is_some()));
    assert!(tree
        .messages
        .iter()
        .any(|m| m.status == MessageStatus::Interrupted));
    assert!(
        tree.messages.iter().any(|m| m.usage.is_some()),
        "usage is exported"
    );
    assert!(
        tree.messages.iter().any(|m| m.params.is_some()),
        "parameters are exported"
    );

    // On another Arbor, the ids are free: the very same tree comes back.
    let other_dir = tempfile::tempdir().expect("temp dir");
    let other = arbor(other_dir.path(), &fake, &[]).await;
    let summary = imported(&other, "Tree-test.arbor.json.gz", export(&server, c).await).await;
    assert_eq!(summary.format, "Arbor archive");
    assert_eq!(summary.imported.len(), 1);
    assert_eq!(
        (summary.imported[0].id, summary.imported[0].new_ids),
        (c, false)
    );
    assert_eq!((summary.messages(), summary.branches()), (11, 4));
    let restored = unzip(&export(&other, c).await);
    assert_eq!(restored.conversations, original.conversations);
    let view = other.conversation(c).await;
    assert_eq!(
        view.active_leaf_id, tree.active_leaf_id,
        "the shown branch is restored"
    );
    assert_eq!(
        (view.labels.len(), view.main_node_id),
        (2, tree.main_node_id)
    );

    // On the same Arbor the ids are taken: new ids, the same tree.
    let summary = imported(&server, "again.json.gz", export(&server, c).await).await;
    let copy = summary.imported[0].clone();
    assert!(copy.new_ids);
    assert_ne!(copy.id, c);
    let copied = unzip(&export(&server, copy.id).await);
    assert_eq!(canonical(&copied.conversations[0]), canonical(tree));
    assert!(copied.conversations[0]
        .messages
        .iter()
        .all(|m| !tree.messages.iter().any(|o| o.id == m.id)));
    // The copy is a live conversation: it can be continued.
    let reply = server
        .send(copy.id, copied.conversations[0].active_leaf_id, "one more")
        .await;
    assert_eq!(
        finished(&server, copy.id, reply.assistant.id).await.status,
        MessageStatus::Complete
    );
}

#[tokio::test]
async fn a_branch_downloads_as_markdown_and_as_openai_messages() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, &[]).await;
    let c = branchy_conversation(&server).await;
    let (status, headers, body) = download(
        &server,
        &format!("/api/conversations/{c}/export?format=markdown"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/markdown; charset=utf-8");
    let text = String::from_utf8(body).expect("utf-8");
    assert!(
        text.starts_with("# Tree \"test\"\n\n**System prompt**\n\n> Be brief.\n"),
        "{text}"
    );
    assert!(
        text.contains("## User\n\nfirst question\n"),
        "the shown branch: {text}"
    );
    assert!(!text.contains("edited question"), "only one branch: {text}");

    let view = server.conversation(c).await;
    let leaf = view
        .labels
        .iter()
        .find(|l| l.name == "Follow-up")
        .expect("named")
        .node_id;
    let (status, headers, body) = download(
        &server,
        &format!("/api/conversations/{c}/export?format=openai&leaf={leaf}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"Tree-test.openai.json\""
    );
    let messages: Value = serde_json::from_slice(&body).expect("JSON");
    let roles: Vec<&str> = messages
        .as_array()
        .expect("an array")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        roles,
        vec!["system", "user", "assistant", "user", "assistant"]
    );
    assert_eq!(messages[3]["content"], "follow up");
    // The branch reads back as OpenAI messages: one linear conversation.
    let summary = imported(&server, "branch.json", body).await;
    assert_eq!(
        (
            summary.format.as_str(),
            summary.messages(),
            summary.branches()
        ),
        ("OpenAI messages", 4, 1)
    );

    for (query, status) in [
        ("format=pdf", 400),
        (&format!("leaf={}", Uuid::now_v7()), 404),
        ("leaf=nope", 400),
    ] {
        let (got, _, _) =
            download(&server, &format!("/api/conversations/{c}/export?{query}")).await;
        assert_eq!(got, status, "{query}");
    }
}

#[tokio::test]
async fn downloads_are_the_owners_and_the_instance_backup_the_admins() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, &[]).await;
    let alice_conversation = server.create_conversation().await.id;
    let said = server
        .send(alice_conversation, None, "alice's secret")
        .await;
    finished(&server, alice_conversation, said.assistant.id).await;
    let bob = server.new_user("bob").await;
    let bobs = bob.create_conversation().await.id;
    bob.send(bobs, None, "bob's note").await;

    let (status, _, body) = download(
        &bob,
        &format!("/api/conversations/{alice_conversation}/export"),
    )
    .await;
    assert_eq!(status, 404);
    assert!(!String::from_utf8_lossy(&body).contains("secret"));
    let anonymous = Session::new(&server.base, None);
    for path in [
        format!("/api/conversations/{bobs}/export"),
        "/api/backup".into(),
        "/api/admin/backup".into(),
    ] {
        assert_eq!(download(&anonymous, &path).await.0, 401, "{path}");
    }
    assert_eq!(import(&anonymous, "x.json", b"[]".to_vec()).await.0, 401);

    let (status, headers, body) = download(&bob, "/api/backup").await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"arbor-backup-bob.arbor.json.gz\""
    );
    let backup = unzip(&body);
    let ids: Vec<Uuid> = backup.conversations.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![bobs], "only bob's conversations");
    assert_eq!(download(&bob, "/api/admin/backup").await.0, 403);

    let (status, _, body) = download(&server, "/api/admin/backup").await;
    assert_eq!(status, 200);
    let instance = unzip(&body);
    let mut owners: Vec<(Uuid, Option<String>)> = instance
        .conversations
        .iter()
        .map(|c| (c.id, c.owner.clone()))
        .collect();
    owners.sort();
    let mut expected = vec![
        (alice_conversation, Some("admin".to_string())),
        (bobs, Some("bob".to_string())),
    ];
    expected.sort();
    assert_eq!(owners, expected);
    // Bob restores his backup: the ids are taken, so he gets a copy.
    let summary = imported(
        &bob,
        "arbor-backup-bob.arbor.json.gz",
        body_of_backup(&bob).await,
    )
    .await;
    assert_eq!(
        (summary.imported.len(), summary.imported[0].new_ids),
        (1, true)
    );
}

async fn body_of_backup(session: &Session) -> Vec<u8> {
    download(session, "/api/backup").await.2
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("compresses");
    encoder.finish().expect("compresses")
}

#[tokio::test]
async fn bad_or_oversized_files_get_a_clear_error_and_change_nothing() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(
        dir.path(),
        &fake,
        &[
            ("ARBOR_MAX_IMPORT_BYTES", "4096"),
            ("ARBOR_MAX_IMPORT_UNPACKED_BYTES", "65536"),
        ],
    )
    .await;
    let c = server.create_conversation().await.id;
    let said = server.send(c, None, "keep me").await;
    finished(&server, c, said.assistant.id).await;
    let before = server.database_fingerprint().await;
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("empty.json", Vec::new(), 400, "empty.json: the file is empty"),
        ("notes.txt", b"just some notes".to_vec(), 400, "notes.txt: it is not JSON: expected value at line 1 column 1"),
        ("other.json", br#"{"hello": "world"}"#.to_vec(), 400, "other.json: it is JSON, but in no format Arbor imports"),
        ("broken.gz", vec![0x1f, 0x8b, 8, 0, 1, 2, 3], 400, "broken.gz: it is not a readable gzip file"),
        ("broken.zip", b"PK\x03\x04 not really a zip".to_vec(), 400, "broken.zip: it is not a readable zip file"),
        ("future.json", br#"{"format": "arbor", "version": 2, "conversations": []}"#.to_vec(), 400, "future.json: it is an Arbor archive of version 2"),
        ("big.json", vec![b' '; 5000], 413, "big.json: the file is larger than 4 KiB, the largest import this Arbor accepts (ARBOR_MAX_IMPORT_BYTES)"),
        ("bomb.json.gz", gzip(&vec![b' '; 100_000]), 413, "bomb.json.gz: it unpacks to more than 65536 bytes"),
    ];
    for (file, bytes, status, message) in cases {
        let (got, body) = import(&server, file, bytes).await;
        assert_eq!(got, status, "{file}: {body}");
        let text = body
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or("");
        assert!(text.starts_with(message), "{file}: {text}");
    }
    assert_eq!(
        server.database_fingerprint().await,
        before,
        "nothing changed"
    );

    // One bad conversation in a file is skipped, named, and leaves nothing.
    let file = json!([
        {"title": "Good", "mapping": {"a": {"message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["hello"]}, "create_time": 1.0}}}, "current_node": "a"},
        {"title": "Bad", "mapping": {"a": {"message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["x"]}}, "parent": "b"}, "b": {"message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["y"]}}, "parent": "a"}}}
    ]);
    let summary = imported(&server, "conversations.json", file.to_string().into_bytes()).await;
    assert_eq!(summary.imported.len(), 1);
    assert_eq!(summary.skipped.len(), 1);
    assert_eq!(summary.skipped[0].conversation, "conversation 2 (“Bad”)");
    assert!(
        summary.skipped[0].reason.contains("loop"),
        "{}",
        summary.skipped[0].reason
    );
    assert_eq!(
        server.sql_count("SELECT COUNT(*) FROM conversations").await,
        2
    );
    assert_eq!(server.sql_count("SELECT COUNT(*) FROM messages").await, 3);
}

#[tokio::test]
async fn an_observer_never_sees_half_an_imported_conversation() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor(dir.path(), &fake, &[]).await;
    const MESSAGES: usize = 20_000;
    let id = Uuid::now_v7();
    let mut parent = None;
    let messages: Vec<Value> = (0..MESSAGES)
        .map(|i| {
            let node = Uuid::now_v7();
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            let message = json!({"id": node, "parent_id": parent, "role": role, "content": format!("message {i}"),
                "status": "complete", "model": null, "note": null, "last_active_at": null, "usage": null, "created_at": i});
            parent = Some(node);
            message
        })
        .collect();
    let archive = json!({"format": "arbor", "version": 1, "kind": "conversation", "exported_at": 0,
        "conversations": [{"id": id, "title": "Big", "created_at": 0, "updated_at": 0, "messages": messages}]});
    let upload = {
        let session = Session::new(&server.base, server.cookie().as_deref());
        tokio::spawn(async move {
            imported(&session, "big.json", archive.to_string().into_bytes()).await
        })
    };
    let count = format!("SELECT COUNT(*) FROM messages WHERE conversation_id = '{id}'");
    let mut observations = 0;
    while !upload.is_finished() {
        let seen = server.sql_count(&count).await;
        assert!(
            seen == 0 || seen == MESSAGES as i64,
            "saw {seen} of {MESSAGES} messages"
        );
        observations += 1;
    }
    let summary = upload.await.expect("the upload task");
    assert_eq!(summary.messages(), MESSAGES);
    assert_eq!(server.sql_count(&count).await, MESSAGES as i64);
    assert!(observations > 0);
}
