//! LibreChat's conversation export (JSON): `messages` linked by
//! `parentMessageId`, either flat or nested in `children` (the "recursive"
//! option). Every branch is kept; LibreChat does not record which branch
//! was shown, so the newest leaf is.

use super::archive::ArchivedConversation;
use super::foreign_tree::{self, ForeignNode};
use super::readable::{self, text_at};
use app::domain::model::{MessageNode, MessageStatus, Role};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

/// Whether `value` is a LibreChat conversation.
pub fn recognises(value: &Value) -> bool {
    top_messages(value)
        .first()
        .is_some_and(|first| first.get("messageId").is_some())
}

/// The top-level messages (`messagesTree` in some versions' tree exports).
fn top_messages(value: &Value) -> &[Value] {
    value
        .get("messages")
        .or_else(|| value.get("messagesTree"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[derive(Deserialize)]
struct Message {
    #[serde(rename = "messageId")]
    message_id: String,
    #[serde(default, rename = "parentMessageId")]
    parent_message_id: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    content: Option<Vec<Value>>,
    #[serde(default, rename = "isCreatedByUser")]
    is_created_by_user: bool,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    error: bool,
    #[serde(default)]
    unfinished: bool,
    #[serde(default, rename = "createdAt")]
    created_at: Option<String>,
}

/// The note on a reply LibreChat recorded as unfinished.
const UNFINISHED: &str = "Interrupted: this reply was not finished in LibreChat.";

/// Every message, nested ones included, each with its field path.
fn flattened(value: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    let mut pending: Vec<(String, &Value)> = top_messages(value)
        .iter()
        .enumerate()
        .map(|(i, m)| (format!("messages[{i}]"), m))
        .rev()
        .collect();
    while let Some((path, message)) = pending.pop() {
        if let Some(children) = message.get("children").and_then(Value::as_array) {
            pending.extend(
                children
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("{path}.children[{i}]"), c))
                    .rev(),
            );
        }
        out.push((path, message));
    }
    out
}

/// One exported conversation.
pub fn import(value: &Value, now: i64) -> Result<ArchivedConversation, String> {
    let mut nodes = Vec::new();
    for (path, raw) in flattened(value) {
        let message: Message = super::json::typed_at(&path, raw)?;
        nodes.push(ForeignNode {
            source_id: message.message_id.clone(),
            parent: message.parent_message_id.clone(),
            node: Some(arbor_node(&message, now)),
        });
    }
    nodes.sort_by_key(|n| n.node.as_ref().map(|m| m.created_at));
    let tree = foreign_tree::build(nodes, None)?;
    let times = tree.messages.iter().map(|m| m.created_at);
    let created_at = times.clone().min().unwrap_or(now);
    let updated_at = times.max().unwrap_or(now);
    Ok(ArchivedConversation::imported(
        text_at(value, "title").unwrap_or("").to_string(),
        (created_at, updated_at),
        tree.messages,
        None,
    ))
}

fn arbor_node(message: &Message, default_time: i64) -> MessageNode {
    let role = if message.is_created_by_user {
        Role::User
    } else {
        Role::Assistant
    };
    let text = message.text.clone().unwrap_or_default();
    let text = if text.trim().is_empty() {
        message
            .content
            .as_deref()
            .map(parts_text)
            .unwrap_or_default()
    } else {
        text
    };
    let created_at = message
        .created_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis())
        .unwrap_or(default_time);
    let (content, status, note) = if message.error {
        (String::new(), MessageStatus::Error, Some(text))
    } else if message.unfinished && role == Role::Assistant {
        (
            text,
            MessageStatus::Interrupted,
            Some(UNFINISHED.to_string()),
        )
    } else {
        (text, MessageStatus::Complete, None)
    };
    let mut node = MessageNode::new(Uuid::nil(), None, role, content, status, created_at);
    node.note = note;
    if role == Role::Assistant {
        node.model = message.model.as_ref().map(|m| format!("librechat/{m}"));
    }
    node
}

/// A part's text, whether LibreChat wrote it as a string or `{value}`.
fn part_field<'a>(part: &'a Value, key: &str) -> &'a str {
    match part.get(key) {
        Some(Value::String(text)) => text,
        Some(inner) => text_at(inner, "value").unwrap_or(""),
        None => "",
    }
}

/// The readable text of the content parts newer LibreChat versions write.
fn parts_text(parts: &[Value]) -> String {
    parts
        .iter()
        .map(|part| match text_at(part, "type").unwrap_or("unknown") {
            "text" => part_field(part, "text").to_string(),
            "think" => readable::thinking(part_field(part, "think")),
            "tool_call" => {
                let call = part.get("tool_call").cloned().unwrap_or(Value::Null);
                let name = text_at(&call, "name").unwrap_or("tool");
                let mut text = format!("**Tool call: {name}**");
                if let Some(args) = call.get("args") {
                    let args = args
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| args.to_string());
                    text.push_str(&format!("\n\n{}", readable::code_block("json", &args)));
                }
                if let Some(output) = text_at(&call, "output") {
                    text.push_str(&format!("\n\n{}", readable::code_block("", output)));
                }
                text
            }
            "image_url" => readable::image(
                part.get("image_url")
                    .and_then(|u| text_at(u, "url").or(u.as_str()))
                    .unwrap_or(""),
            ),
            "image_file" => readable::image(
                part.get("image_file")
                    .and_then(|f| text_at(f, "filepath").or(text_at(f, "file_id")))
                    .unwrap_or(""),
            ),
            other => readable::unknown(other, part),
        })
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROOT: &str = "00000000-0000-0000-0000-000000000000";

    #[test]
    fn nested_children_keep_their_branches_and_the_newest_leaf_is_shown() {
        let value = json!({"title": "T", "recursive": true, "messages": [
            {"messageId": "u", "parentMessageId": ROOT, "text": "hi", "isCreatedByUser": true, "createdAt": "2024-05-01T10:00:00.000Z", "children": [
                {"messageId": "a1", "parentMessageId": "u", "text": "one", "isCreatedByUser": false, "model": "gpt-4o", "createdAt": "2024-05-01T10:00:01.000Z", "children": []},
                {"messageId": "a2", "parentMessageId": "u", "text": "", "content": [{"type": "think", "think": "hmm"}, {"type": "text", "text": {"value": "two"}}], "isCreatedByUser": false, "unfinished": true, "createdAt": "2024-05-01T10:00:02.000Z", "children": []}
            ]}
        ]});
        assert!(recognises(&value));
        let conversation = import(&value, 0).expect("imports");
        assert_eq!(conversation.messages.len(), 3);
        assert_eq!(conversation.leaf_count(), 2);
        assert_eq!(conversation.created_at, 1_714_557_600_000);
        let second = &conversation.messages[2];
        assert_eq!(second.content, "> **Thinking**\n>\n> hmm\n\ntwo");
        assert_eq!(second.status, MessageStatus::Interrupted);
        assert_eq!(
            conversation.messages[1].model.as_deref(),
            Some("librechat/gpt-4o")
        );
    }

    #[test]
    fn a_message_without_an_id_names_its_path() {
        let value = json!({"messages": [{"messageId": "u", "children": [{"text": "x"}]}]});
        let error = import(&value, 0).unwrap_err();
        assert!(error.starts_with("messages[0].children[0]"), "{error}");
        assert!(error.contains("messageId"), "{error}");
    }
}
