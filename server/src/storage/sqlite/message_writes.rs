//! The writes every streaming reply makes (insert the messages, checkpoint
//! the text, store the end), as data the [`Writer`](super::writer)
//! can group: a run of them becomes a few multi-row statements instead of
//! one statement each. With sqlx each statement costs a round trip to the
//! connection's thread (about 50 µs here), a grouped row about 0.5 µs.

use crate::storage::json_columns::tool_calls_text;
use crate::storage::{StorageResult, StoredMessage};
use app::domain::model::MessageNode;
use sqlx::SqliteConnection;
use std::collections::HashMap;
use uuid::Uuid;

/// Rows per statement, well under SQLite's 32,766 bound parameters.
const ROWS_PER_STATEMENT: usize = 1000;

/// One write of a message's life.
#[derive(Debug, Clone)]
pub enum MessageWrite {
    /// New messages, and the conversation's shown leaf and update time.
    Insert {
        conversation: Uuid,
        messages: Vec<StoredMessage>,
        active_leaf: Uuid,
    },
    /// The text a streaming reply has so far (ignored once it has ended).
    Checkpoint { id: Uuid, content: String, now: i64 },
    /// A reply's final text, status, note, usage and tool calls.
    Finish { node: Box<MessageNode>, now: i64 },
}

impl MessageWrite {
    /// How many messages this write inserts.
    pub fn inserted(&self) -> usize {
        match self {
            MessageWrite::Insert { messages, .. } => messages.len(),
            _ => 0,
        }
    }
}

/// Applies `writes` in order, as if one after the other, with as few
/// statements as possible: every insert first (a message is always
/// inserted before it is checkpointed or finished), then the newest
/// checkpoint of each message, then each finish. Fails as a whole; the
/// caller rolls back and retries the writes one at a time.
pub async fn apply(db: &mut SqliteConnection, writes: &[&MessageWrite]) -> StorageResult<()> {
    let mut messages: Vec<(Uuid, &StoredMessage)> = Vec::new();
    // Conversation -> (shown leaf, latest message time); the last write wins.
    let mut leaves: HashMap<Uuid, (Uuid, i64)> = HashMap::new();
    let mut checkpoints: HashMap<Uuid, (&str, i64)> = HashMap::new();
    let mut finishes: HashMap<Uuid, (&MessageNode, i64)> = HashMap::new();
    for write in writes {
        match write {
            MessageWrite::Insert {
                conversation,
                messages: rows,
                active_leaf,
            } => {
                let latest = rows.iter().map(|m| m.node.created_at).max().unwrap_or(0);
                messages.extend(rows.iter().map(|m| (*conversation, m)));
                leaves.insert(*conversation, (*active_leaf, latest));
            }
            MessageWrite::Checkpoint { id, content, now } => {
                checkpoints.insert(*id, (content.as_str(), *now));
            }
            MessageWrite::Finish { node, now } => {
                finishes.insert(node.id, (node.as_ref(), *now));
            }
        }
    }
    insert_message_rows(db, &messages).await?;
    let leaves: Vec<_> = leaves.into_iter().collect();
    for chunk in leaves.chunks(ROWS_PER_STATEMENT) {
        update_conversations(db, chunk).await?;
    }
    let checkpoints: Vec<_> = checkpoints.into_iter().collect();
    for chunk in checkpoints.chunks(ROWS_PER_STATEMENT) {
        checkpoint_messages(db, chunk).await?;
    }
    let finishes: Vec<_> = finishes.into_values().collect();
    for chunk in finishes.chunks(ROWS_PER_STATEMENT) {
        finish_messages(db, chunk).await?;
    }
    Ok(())
}

/// `(?, ?, …), (?, ?, …)…`: `rows` groups of `columns` placeholders.
fn placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// Inserts message rows (conversation, message), parents before children,
/// a statement per [`ROWS_PER_STATEMENT`] rows.
pub async fn insert_message_rows(
    db: &mut SqliteConnection,
    rows: &[(Uuid, &StoredMessage)],
) -> StorageResult<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        insert_messages(db, chunk).await?;
    }
    Ok(())
}

async fn insert_messages(
    db: &mut SqliteConnection,
    rows: &[(Uuid, &StoredMessage)],
) -> StorageResult<()> {
    let sql = format!(
        "INSERT INTO messages (id, conversation_id, parent_id, role, content, status, model, \
         params, error, client_id, last_active_at, created_at, updated_at, tool_calls, \
         tool_call_id, usage) VALUES {}",
        placeholders(rows.len(), 16)
    );
    let mut query = sqlx::query(&sql);
    for (conversation, message) in rows {
        let node = &message.node;
        query = query
            .bind(node.id.to_string())
            .bind(conversation.to_string())
            .bind(node.parent_id.map(|p| p.to_string()))
            .bind(node.role.as_str())
            .bind(node.content.as_str())
            .bind(node.status.as_str())
            .bind(node.model.as_deref())
            .bind(
                node.params
                    .as_ref()
                    .and_then(|p| serde_json::to_string(p).ok()),
            )
            .bind(node.note.as_deref())
            .bind(message.client_id.as_deref())
            .bind(node.last_active_at)
            .bind(node.created_at)
            .bind(node.created_at)
            .bind(tool_calls_text(&node.tool_calls))
            .bind(node.tool_call_id.as_deref())
            .bind(node.usage.and_then(|u| serde_json::to_string(&u).ok()));
    }
    query.execute(&mut *db).await?;
    Ok(())
}

async fn update_conversations(
    db: &mut SqliteConnection,
    rows: &[(Uuid, (Uuid, i64))],
) -> StorageResult<()> {
    let sql = format!(
        "UPDATE conversations SET active_leaf_id = v.column2, updated_at = v.column3 \
         FROM (VALUES {}) AS v WHERE conversations.id = v.column1",
        placeholders(rows.len(), 3)
    );
    let mut query = sqlx::query(&sql);
    for (conversation, (leaf, at)) in rows {
        query = query
            .bind(conversation.to_string())
            .bind(leaf.to_string())
            .bind(*at);
    }
    query.execute(&mut *db).await?;
    Ok(())
}

async fn checkpoint_messages(
    db: &mut SqliteConnection,
    rows: &[(Uuid, (&str, i64))],
) -> StorageResult<()> {
    let sql = format!(
        "UPDATE messages SET content = v.column2, updated_at = v.column3 \
         FROM (VALUES {}) AS v WHERE messages.id = v.column1 AND messages.status = 'streaming'",
        placeholders(rows.len(), 3)
    );
    let mut query = sqlx::query(&sql);
    for (id, (content, now)) in rows {
        query = query.bind(id.to_string()).bind(*content).bind(*now);
    }
    query.execute(&mut *db).await?;
    Ok(())
}

async fn finish_messages(
    db: &mut SqliteConnection,
    rows: &[(&MessageNode, i64)],
) -> StorageResult<()> {
    let sql = format!(
        "UPDATE messages SET content = v.column2, status = v.column3, error = v.column4, \
         usage = v.column5, tool_calls = v.column6, updated_at = v.column7 \
         FROM (VALUES {}) AS v WHERE messages.id = v.column1",
        placeholders(rows.len(), 7)
    );
    let mut query = sqlx::query(&sql);
    for (node, now) in rows {
        query = query
            .bind(node.id.to_string())
            .bind(node.content.as_str())
            .bind(node.status.as_str())
            .bind(node.note.as_deref())
            .bind(node.usage.and_then(|u| serde_json::to_string(&u).ok()))
            .bind(tool_calls_text(&node.tool_calls))
            .bind(*now);
    }
    query.execute(&mut *db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{ConversationStore, MessageStore, SqliteStore};
    use app::domain::model::{MessageStatus, Role};
    use sqlx::Connection;

    fn node(role: Role, parent: Option<Uuid>, status: MessageStatus) -> MessageNode {
        MessageNode::new(Uuid::now_v7(), parent, role, "", status, 5)
    }

    fn stored(node: &MessageNode) -> StoredMessage {
        StoredMessage {
            node: node.clone(),
            client_id: None,
        }
    }

    #[tokio::test]
    async fn a_grouped_run_ends_as_if_its_writes_ran_one_after_another() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("arbor.db");
        let path = path.to_str().expect("utf-8 path");
        let store = SqliteStore::open(path).await.expect("open");
        let owner = store.local_user().await.expect("user");
        let conversation = store
            .create_conversation(owner, 1)
            .await
            .expect("create")
            .id;
        let question = node(Role::User, None, MessageStatus::Complete);
        let mut reply = node(Role::Assistant, Some(question.id), MessageStatus::Streaming);
        let mut sibling = node(Role::Assistant, Some(question.id), MessageStatus::Streaming);
        let checkpoint = |id, text: &str| MessageWrite::Checkpoint {
            id,
            content: text.into(),
            now: 9,
        };
        let first = MessageWrite::Insert {
            conversation,
            messages: vec![stored(&question), stored(&reply)],
            active_leaf: reply.id,
        };
        let second = MessageWrite::Insert {
            conversation,
            messages: vec![stored(&sibling)],
            active_leaf: sibling.id,
        };
        reply.content = "final words".into();
        reply.status = MessageStatus::Complete;
        sibling.content = "later".into();
        let writes = [
            first,
            checkpoint(reply.id, "early"),
            second,
            checkpoint(sibling.id, "sooner"),
            checkpoint(sibling.id, "later"),
            MessageWrite::Finish {
                node: Box::new(reply.clone()),
                now: 10,
            },
        ];
        let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
            .await
            .expect("connect");
        apply(&mut db, &writes.iter().collect::<Vec<_>>())
            .await
            .expect("apply");
        db.close().await.expect("close");

        let messages = store.messages(conversation).await.expect("read");
        let by_id: HashMap<Uuid, &MessageNode> =
            messages.iter().map(|m| (m.node.id, &m.node)).collect();
        assert_eq!(by_id.len(), 3);
        assert_eq!(by_id[&reply.id].content, "final words");
        assert_eq!(by_id[&reply.id].status, MessageStatus::Complete);
        assert_eq!(
            by_id[&sibling.id].content, "later",
            "the newest checkpoint wins"
        );
        assert_eq!(by_id[&sibling.id].status, MessageStatus::Streaming);
        let record = store.conversation(conversation).await.expect("read");
        assert_eq!(
            record.expect("exists").active_leaf_id,
            Some(sibling.id),
            "the last insert chose the shown leaf"
        );
    }
}
