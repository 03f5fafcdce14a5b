//! Open WebUI's chat export: a list of chat rows (or one), each holding
//! `chat.history.messages`, a map of messages linked by `parentId` (and
//! `childrenIds`), and `currentId`, the message shown. Every branch is kept.

use super::archive::ArchivedConversation;
use super::foreign_tree::{self, seconds_to_ms, ForeignNode};
use super::readable::text_at;
use app::domain::model::{MessageNode, MessageStatus, Role};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// Whether `value` is one Open WebUI chat (a row, or the chat inside it).
pub fn recognises(value: &Value) -> bool {
    history(value).is_some()
}

fn history(value: &Value) -> Option<&Value> {
    value
        .get("chat")
        .and_then(|chat| chat.get("history"))
        .or_else(|| value.get("history"))
        .filter(|h| h.get("messages").is_some_and(Value::is_object))
}

#[derive(Deserialize)]
struct History {
    messages: HashMap<String, Message>,
    #[serde(default, rename = "currentId")]
    current_id: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default, rename = "parentId")]
    parent_id: Option<String>,
    role: String,
    #[serde(default)]
    content: Value,
    #[serde(default)]
    timestamp: Option<f64>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    done: Option<bool>,
    #[serde(default)]
    error: Option<Value>,
}

/// The note on a reply Open WebUI recorded as unfinished.
const UNFINISHED: &str = "Interrupted: this reply was not finished in Open WebUI.";

/// Seconds or milliseconds since the epoch (Open WebUI writes both) as milliseconds.
fn epoch_ms(value: f64) -> Option<i64> {
    if value > 1e11 {
        (value.is_finite() && value < 1e15).then_some(value as i64)
    } else {
        seconds_to_ms(value)
    }
}

/// One chat of the export.
pub fn import(value: &Value, now: i64) -> Result<ArchivedConversation, String> {
    let history_value = history(value).ok_or("chat.history.messages: missing")?;
    let history: History = super::json::typed_at("chat.history", history_value)?;
    let number = |key: &str| value.get(key).and_then(Value::as_f64).and_then(epoch_ms);
    let created_at = number("created_at").unwrap_or(now);
    let updated_at = number("updated_at").unwrap_or(created_at);
    let title = text_at(value, "title")
        .or_else(|| value.get("chat").and_then(|c| text_at(c, "title")))
        .unwrap_or("")
        .to_string();
    let mut entries: Vec<(&String, &Message)> = history.messages.iter().collect();
    entries.sort_by(|a, b| {
        let time = |m: &Message| m.timestamp.unwrap_or(0.0);
        time(a.1).total_cmp(&time(b.1)).then_with(|| a.0.cmp(b.0))
    });
    let nodes = entries
        .into_iter()
        .map(|(id, message)| ForeignNode {
            source_id: id.clone(),
            parent: message.parent_id.clone(),
            node: arbor_node(message, created_at),
        })
        .collect();
    let tree = foreign_tree::build(nodes, history.current_id.as_deref())?;
    Ok(ArchivedConversation::imported(
        title,
        (created_at, updated_at),
        tree.messages,
        tree.active_leaf,
    ))
}

fn arbor_node(message: &Message, default_time: i64) -> Option<MessageNode> {
    let role = match message.role.as_str() {
        "user" => Role::User,
        "system" => Role::System,
        "tool" => Role::Tool,
        _ => Role::Assistant,
    };
    let content = match &message.content {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => super::readable::unknown("content", other),
    };
    let error = message
        .error
        .as_ref()
        .filter(|e| !matches!(e, Value::Null | Value::Bool(false)));
    let (status, note) = match (error, message.done) {
        (Some(error), _) => (
            MessageStatus::Error,
            Some(
                text_at(error, "content")
                    .unwrap_or("The model failed to answer in Open WebUI.")
                    .to_string(),
            ),
        ),
        (None, Some(false)) if role == Role::Assistant => {
            (MessageStatus::Interrupted, Some(UNFINISHED.to_string()))
        }
        _ => (MessageStatus::Complete, None),
    };
    if content.trim().is_empty() && status == MessageStatus::Complete && role != Role::User {
        return None;
    }
    let created_at = message.timestamp.and_then(epoch_ms).unwrap_or(default_time);
    let mut node = MessageNode::new(Uuid::nil(), None, role, content, status, created_at);
    node.note = note;
    if role == Role::Assistant {
        node.model = message.model.as_ref().map(|m| format!("open-webui/{m}"));
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn siblings_errors_and_the_current_message_are_kept() {
        let value = json!({"title": "T", "created_at": 1_700_000_000, "chat": {"history": {"currentId": "a1", "messages": {
            "u": {"id": "u", "parentId": null, "childrenIds": ["a1", "a2"], "role": "user", "content": "hi", "timestamp": 1_700_000_001},
            "a1": {"id": "a1", "parentId": "u", "childrenIds": [], "role": "assistant", "content": "hello", "model": "llama3:8b", "timestamp": 1_700_000_002, "done": true},
            "a2": {"id": "a2", "parentId": "u", "childrenIds": [], "role": "assistant", "content": "", "model": "gpt-4o", "timestamp": 1_700_000_003, "error": {"content": "401 Unauthorized"}}
        }}}});
        assert!(recognises(&value));
        let conversation = import(&value, 0).expect("imports");
        assert_eq!(conversation.messages.len(), 3);
        assert_eq!(conversation.created_at, 1_700_000_000_000);
        let shown = conversation
            .messages
            .iter()
            .find(|m| Some(m.id) == conversation.active_leaf_id)
            .expect("shown");
        assert_eq!(shown.content, "hello");
        assert_eq!(shown.model.as_deref(), Some("open-webui/llama3:8b"));
        let failed = conversation
            .messages
            .iter()
            .find(|m| m.status == MessageStatus::Error)
            .expect("error kept");
        assert_eq!(failed.note.as_deref(), Some("401 Unauthorized"));
    }

    #[test]
    fn a_message_without_a_role_names_its_field() {
        let value = json!({"history": {"messages": {"m1": {"content": "x"}}}});
        let error = import(&value, 0).unwrap_err();
        assert!(error.starts_with("chat.history.messages.m1"), "{error}");
    }

    #[test]
    fn milliseconds_and_seconds_are_both_understood() {
        assert_eq!(epoch_ms(1_700_000_000.0), Some(1_700_000_000_000));
        assert_eq!(epoch_ms(1_700_000_000_123.0), Some(1_700_000_000_123));
    }
}
