//! Arbor's built-in tools, offered to models that can call functions:
//! `list_conversations` and `message_history` (both limited to the
//! conversation owner's own conversations) and `current_time`. A tool
//! never fails the reply: a problem becomes an `{"error": ...}` result the
//! model can read.

use crate::clock::now_ms;
use crate::providers::ToolSpec;
use crate::storage::Store;
use app::domain::model::{MessageNode, ToolCall};
use app::domain::tree::{NodeLink, Tree};
use serde_json::{json, Value};
use std::sync::Arc;
use uuid::Uuid;

/// Most model turns in one tool loop; the last one is offered no tools, so
/// it has to answer in words.
pub const MAX_TOOL_ROUNDS: usize = 4;
/// Most conversations `list_conversations` returns.
const MAX_LISTED: usize = 50;
/// Most messages `message_history` returns, and its default.
const MAX_HISTORY: usize = 50;
const DEFAULT_HISTORY: usize = 20;
/// Longest message text `message_history` returns, in characters.
const MAX_HISTORY_CHARS: usize = 2000;

/// The tools and their argument schemas.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "list_conversations",
            description: "Lists the user's conversations in Arbor (id, title, last activity), most recent first.",
            parameters: json!({ "type": "object", "properties": {}, "additionalProperties": false }),
        },
        ToolSpec {
            name: "message_history",
            description: "Returns the most recent messages of the displayed branch of one of the user's conversations (this one when no id is given).",
            parameters: json!({
                "type": "object",
                "properties": {
                    "conversation_id": { "type": "string", "description": "A conversation id from list_conversations; omit for this conversation." },
                    "limit": { "type": "integer", "minimum": 1, "maximum": MAX_HISTORY, "description": "How many messages, newest last (default 20)." }
                },
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "current_time",
            description: "Returns the current date and time (UTC).",
            parameters: json!({ "type": "object", "properties": {}, "additionalProperties": false }),
        },
    ]
}

/// What a tool may see: the store, whose conversations it may read, and
/// the branch of the conversation that called it.
pub struct ToolScope<'a> {
    pub store: &'a Arc<dyn Store>,
    pub owner: Uuid,
    pub conversation: Uuid,
    /// The calling conversation's branch, root first, up to the call.
    pub branch: Vec<&'a MessageNode>,
}

/// Runs one call; the result is JSON text for the model.
pub async fn run(call: &ToolCall, scope: &ToolScope<'_>) -> String {
    let result = match serde_json::from_str::<Value>(&call.arguments) {
        Err(error) => Err(format!("the arguments are not valid JSON: {error}")),
        Ok(arguments) => match call.name.as_str() {
            "list_conversations" => list_conversations(scope).await,
            "message_history" => message_history(&arguments, scope).await,
            "current_time" => Ok(current_time()),
            other => Err(format!("there is no tool named `{other}`")),
        },
    };
    result
        .unwrap_or_else(|error| json!({ "error": error }))
        .to_string()
}

async fn list_conversations(scope: &ToolScope<'_>) -> Result<Value, String> {
    let conversations = scope
        .store
        .list_conversations(scope.owner)
        .await
        .map_err(|_| "the conversations could not be read".to_string())?;
    let listed: Vec<Value> = conversations
        .iter()
        .take(MAX_LISTED)
        .map(|c| json!({ "id": c.id, "title": c.display_title(), "updated_at_ms": c.updated_at }))
        .collect();
    Ok(json!({ "conversations": listed }))
}

async fn message_history(arguments: &Value, scope: &ToolScope<'_>) -> Result<Value, String> {
    let limit = arguments["limit"]
        .as_u64()
        .map_or(DEFAULT_HISTORY, |n| {
            usize::try_from(n).unwrap_or(MAX_HISTORY)
        })
        .clamp(1, MAX_HISTORY);
    let requested = match arguments["conversation_id"].as_str() {
        None => None,
        Some(text) => Some(
            Uuid::parse_str(text.trim())
                .map_err(|_| format!("`{text}` is not a conversation id"))?,
        ),
    };
    let shown: Vec<(String, String)> = match requested {
        None => branch_entries(&scope.branch),
        Some(id) if id == scope.conversation => branch_entries(&scope.branch),
        Some(id) => {
            let not_found = || format!("there is no conversation {id}");
            let record = scope
                .store
                .conversation(id)
                .await
                .map_err(|_| not_found())?
                .filter(|r| r.owner_id == scope.owner)
                .ok_or_else(not_found)?;
            let stored = scope.store.messages(id).await.map_err(|_| not_found())?;
            let tree = Tree::from_links(stored.iter().map(|m| NodeLink::from(&m.node)));
            let leaf = tree.initial_leaf(record.active_leaf_id);
            let path = leaf.map(|leaf| tree.path_to(leaf)).unwrap_or_default();
            let nodes: Vec<&MessageNode> = path
                .iter()
                .filter_map(|id| stored.iter().find(|m| m.node.id == *id).map(|m| &m.node))
                .collect();
            branch_entries(&nodes)
        }
    };
    let start = shown.len().saturating_sub(limit);
    let messages: Vec<Value> = shown[start..]
        .iter()
        .map(|(role, content)| json!({ "role": role, "content": content }))
        .collect();
    Ok(json!({ "messages": messages }))
}

/// The user and assistant messages of a branch, each cut to a readable length.
fn branch_entries(branch: &[&MessageNode]) -> Vec<(String, String)> {
    branch
        .iter()
        .filter(|m| !m.content.trim().is_empty())
        .map(|m| {
            let content: String = m.content.chars().take(MAX_HISTORY_CHARS).collect();
            (m.role.as_str().to_string(), content)
        })
        .collect()
}

fn current_time() -> Value {
    let now = std::time::SystemTime::now();
    json!({ "utc": httpdate::fmt_http_date(now), "unix_ms": now_ms() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_and_a_unique_name() {
        let specs = specs();
        let mut names: Vec<&str> = specs.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 3);
        assert!(specs.iter().all(|s| s.parameters["type"] == "object"));
    }

    #[test]
    fn branch_entries_skip_empty_nodes_and_cut_long_text() {
        let node = |role, content: &str| {
            MessageNode::new(
                Uuid::now_v7(),
                None,
                role,
                content,
                app::domain::model::MessageStatus::Complete,
                0,
            )
        };
        let long = "x".repeat(MAX_HISTORY_CHARS + 10);
        let nodes = [
            node(app::domain::model::Role::User, "hi"),
            node(app::domain::model::Role::Assistant, ""),
            node(app::domain::model::Role::Assistant, &long),
        ];
        let entries = branch_entries(&nodes.iter().collect::<Vec<_>>());
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].1.chars().count(), MAX_HISTORY_CHARS);
    }
}
