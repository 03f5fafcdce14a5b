//! ChatGPT's data export: `conversations.json`, an array of conversations,
//! each a `mapping` from node id to `{message, parent, children}`. Every
//! branch is kept; `current_node` becomes the shown leaf. Hidden nodes
//! (the empty root, hidden system messages, custom instructions, empty
//! placeholders) are left out; content other than text becomes readable
//! text.

use super::archive::ArchivedConversation;
use super::foreign_tree::{self, seconds_to_ms, ForeignNode};
use super::readable::{self, text_at};
use app::domain::model::{MessageNode, MessageStatus, Role};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// Whether `value` is one ChatGPT conversation.
pub fn recognises(value: &Value) -> bool {
    value.get("mapping").is_some_and(Value::is_object)
}

#[derive(Deserialize)]
struct Conversation {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    create_time: Option<f64>,
    #[serde(default)]
    update_time: Option<f64>,
    mapping: HashMap<String, Node>,
    #[serde(default)]
    current_node: Option<String>,
}

#[derive(Deserialize)]
struct Node {
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    parent: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    author: Author,
    #[serde(default)]
    create_time: Option<f64>,
    content: Value,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    metadata: Value,
    #[serde(default)]
    recipient: Option<String>,
}

#[derive(Deserialize)]
struct Author {
    role: String,
    #[serde(default)]
    name: Option<String>,
}

/// The note on a reply ChatGPT had not finished.
const UNFINISHED: &str = "Interrupted: this reply was not finished in ChatGPT.";

/// One conversation of the export.
pub fn import(value: &Value, now: i64) -> Result<ArchivedConversation, String> {
    let conversation: Conversation = super::json::typed_at("", value)?;
    let created_at = conversation
        .create_time
        .and_then(seconds_to_ms)
        .unwrap_or(now);
    let mut entries: Vec<(&String, &Node)> = conversation.mapping.iter().collect();
    entries.sort_by(|a, b| {
        let time = |n: &Node| {
            n.message
                .as_ref()
                .and_then(|m| m.create_time)
                .unwrap_or(0.0)
        };
        time(a.1).total_cmp(&time(b.1)).then_with(|| a.0.cmp(b.0))
    });
    let nodes = entries
        .into_iter()
        .map(|(id, node)| ForeignNode {
            source_id: id.clone(),
            parent: node.parent.clone(),
            node: node
                .message
                .as_ref()
                .and_then(|message| arbor_node(message, created_at)),
        })
        .collect();
    let tree = foreign_tree::build(nodes, conversation.current_node.as_deref())?;
    let updated_at = conversation
        .update_time
        .and_then(seconds_to_ms)
        .unwrap_or(created_at);
    Ok(ArchivedConversation::imported(
        conversation.title.unwrap_or_default(),
        (created_at, updated_at),
        tree.messages,
        tree.active_leaf,
    ))
}

/// The node a message becomes, or `None` when it is hidden or empty.
fn arbor_node(message: &Message, default_time: i64) -> Option<MessageNode> {
    let hidden = message
        .metadata
        .get("is_visually_hidden_from_conversation")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let kind = text_at(&message.content, "content_type").unwrap_or("text");
    if hidden || matches!(kind, "user_editable_context" | "model_editable_context") {
        return None;
    }
    let role = match message.author.role.as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" => Role::System,
        _ => Role::Tool,
    };
    let mut content = content_text(kind, &message.content);
    if content.trim().is_empty() {
        return None;
    }
    let recipient = message.recipient.as_deref().unwrap_or("all");
    if role == Role::Assistant && recipient != "all" {
        content = format!("**To {recipient}:**\n\n{content}");
    }
    let (status, note) = match message.status.as_deref() {
        Some("in_progress") | Some("finished_partial_completion") => {
            (MessageStatus::Interrupted, Some(UNFINISHED.to_string()))
        }
        _ => (MessageStatus::Complete, None),
    };
    let created_at = message
        .create_time
        .and_then(seconds_to_ms)
        .unwrap_or(default_time);
    let mut node = MessageNode::new(Uuid::nil(), None, role, content, status, created_at);
    node.note = note;
    node.model = match role {
        Role::Assistant => text_at(&message.metadata, "model_slug").map(|m| format!("chatgpt/{m}")),
        Role::Tool => message.author.name.clone(),
        _ => None,
    };
    Some(node)
}

/// The readable text of a message's `content`.
fn content_text(kind: &str, content: &Value) -> String {
    let text = |key: &str| text_at(content, key).unwrap_or("").to_string();
    match kind {
        "text" | "multimodal_text" => content
            .get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(part_text)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n"),
        "code" => {
            let language = text_at(content, "language")
                .filter(|l| *l != "unknown")
                .unwrap_or("");
            readable::code_block(language, &text("text"))
        }
        "execution_output" => readable::code_block("", &text("text")),
        "thoughts" => {
            let thoughts: Vec<String> = content
                .get("thoughts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|t| {
                    let summary = text_at(t, "summary").unwrap_or("");
                    let body = text_at(t, "content").unwrap_or("");
                    format!("{summary}\n{body}").trim().to_string()
                })
                .collect();
            readable::thinking(&thoughts.join("\n\n"))
        }
        "reasoning_recap" => format!("*{}*", text("content")),
        "tether_quote" => format!(
            "> {}\n\n— [{}]({})",
            text("text").replace('\n', "\n> "),
            text("title"),
            text("url")
        ),
        "tether_browsing_display" => [text("summary"), text("result")]
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n"),
        "system_error" => format!("Error ({}): {}", text("name"), text("text")),
        other => {
            let mut fields = content.clone();
            if let Some(map) = fields.as_object_mut() {
                map.remove("content_type");
            }
            readable::unknown(other, &fields)
        }
    }
}

/// One part of a `parts` list: text, or a readable stand-in for an asset.
fn part_text(part: &Value) -> String {
    match part {
        Value::String(text) => text.clone(),
        Value::Object(_) => match text_at(part, "content_type").unwrap_or("unknown") {
            "image_asset_pointer" => {
                let pointer = text_at(part, "asset_pointer").unwrap_or("");
                match (part.get("width"), part.get("height")) {
                    (Some(w), Some(h)) => format!("[image: {pointer} ({w}×{h})]"),
                    _ => format!("[image: {pointer}]"),
                }
            }
            "audio_transcription" => text_at(part, "text").unwrap_or("").to_string(),
            other => readable::unknown(other, part),
        },
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(id: &str, parent: &str, role: &str, time: f64, content: Value) -> (String, Value) {
        (
            id.to_string(),
            json!({"id": id, "parent": parent, "children": [], "message": {
                "id": id, "author": {"role": role, "name": null, "metadata": {}},
                "create_time": time, "content": content, "status": "finished_successfully",
                "metadata": {"model_slug": "gpt-4o"}, "recipient": "all"
            }}),
        )
    }

    #[test]
    fn both_branches_are_kept_and_the_current_node_is_shown() {
        let mut mapping = serde_json::Map::new();
        mapping.insert(
            "root".into(),
            json!({"id": "root", "message": null, "parent": null, "children": ["u1", "u2"]}),
        );
        for (id, node) in [
            message(
                "u1",
                "root",
                "user",
                1.0,
                json!({"content_type": "text", "parts": ["first"]}),
            ),
            message(
                "u2",
                "root",
                "user",
                2.0,
                json!({"content_type": "text", "parts": ["edited"]}),
            ),
            message(
                "a1",
                "u1",
                "assistant",
                3.0,
                json!({"content_type": "text", "parts": ["reply"]}),
            ),
            message(
                "a2",
                "u2",
                "assistant",
                4.0,
                json!({"content_type": "code", "language": "python", "text": "1+1"}),
            ),
        ] {
            mapping.insert(id, node);
        }
        let value = json!({"title": "T", "create_time": 1.0, "update_time": 4.0, "mapping": mapping, "current_node": "a1"});
        let conversation = import(&value, 0).expect("imports");
        assert_eq!(conversation.messages.len(), 4);
        assert_eq!(conversation.leaf_count(), 2);
        let shown = conversation
            .messages
            .iter()
            .find(|m| Some(m.id) == conversation.active_leaf_id)
            .expect("shown");
        assert_eq!(shown.content, "reply");
        assert_eq!(shown.model.as_deref(), Some("chatgpt/gpt-4o"));
        assert_eq!(shown.created_at, 3000);
        let code = conversation
            .messages
            .iter()
            .find(|m| m.content.contains("1+1"))
            .expect("code");
        assert_eq!(code.content, "```python\n1+1\n```");
    }

    #[test]
    fn a_missing_author_names_its_field() {
        let value = json!({"mapping": {"x": {"message": {"content": {"content_type": "text", "parts": []}}}}});
        let error = import(&value, 0).unwrap_err();
        assert!(error.starts_with("mapping.x.message"), "{error}");
        assert!(error.contains("author"), "{error}");
    }

    #[test]
    fn unknown_content_and_assets_stay_readable() {
        assert_eq!(
            part_text(
                &json!({"content_type": "image_asset_pointer", "asset_pointer": "file-service://f1", "width": 2, "height": 3})
            ),
            "[image: file-service://f1 (2×3)]"
        );
        let text = content_text(
            "sonic_webpage",
            &json!({"content_type": "sonic_webpage", "url": "https://x.test"}),
        );
        assert!(
            text.starts_with("[sonic_webpage]") && text.contains("https://x.test"),
            "{text}"
        );
    }
}
