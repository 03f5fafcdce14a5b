//! One branch (root to a leaf) as a Markdown document to read, or as an
//! OpenAI `messages` array to send to a chat API.

use super::readable;
use app::domain::model::{MessageNode, MessageStatus, Role};
use app::domain::tree::{NodeLink, Tree};
use serde_json::{json, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// The branch the chat page shows through `through` (a node, or the
/// stored active leaf), root first: down from it as the page descends,
/// up to the root.
pub fn branch(messages: &[MessageNode], through: Option<Uuid>) -> Vec<&MessageNode> {
    let tree = Tree::from_links(messages.iter().map(NodeLink::from));
    let by_id: HashMap<Uuid, &MessageNode> = messages.iter().map(|m| (m.id, m)).collect();
    tree.initial_leaf(through)
        .map(|leaf| tree.path_to(leaf))
        .unwrap_or_default()
        .iter()
        .filter_map(|id| by_id.get(id).copied())
        .collect()
}

fn heading(node: &MessageNode) -> String {
    let role = match node.role {
        Role::System => "System",
        Role::User => "User",
        Role::Assistant => "Assistant",
        Role::Tool => "Tool",
    };
    match &node.model {
        Some(model) => format!("## {role} · {model}"),
        None => format!("## {role}"),
    }
}

/// The branch as Markdown: the title, the system prompt, then each
/// message under a heading naming its role (and model).
pub fn markdown(title: &str, system_prompt: &str, path: &[&MessageNode]) -> String {
    let mut out = format!("# {}\n", app::domain::model::display_title(title));
    if !system_prompt.trim().is_empty() {
        let quoted: Vec<String> = system_prompt.lines().map(|l| format!("> {l}")).collect();
        out.push_str(&format!("\n**System prompt**\n\n{}\n", quoted.join("\n")));
    }
    for node in path {
        out.push_str(&format!("\n{}\n\n", heading(node)));
        if node.role == Role::Tool {
            out.push_str(&readable::code_block("", &node.content));
            out.push('\n');
        } else if !node.content.is_empty() {
            out.push_str(node.content.trim_end());
            out.push('\n');
        }
        for call in &node.tool_calls {
            out.push_str(&format!(
                "\nCalled `{}` with:\n\n{}\n",
                call.name,
                readable::code_block("json", &call.arguments)
            ));
        }
        if node.status != MessageStatus::Complete {
            let note = node.note.as_deref().unwrap_or(node.status.as_str());
            out.push_str(&format!("\n*{note}*\n"));
        }
    }
    out
}

/// The branch as the `messages` of an OpenAI chat request: the system
/// prompt first, and only what the API accepts (empty replies and tool
/// results without their call are left out, as when Arbor sends them).
pub fn openai_messages(system_prompt: &str, path: &[&MessageNode]) -> Value {
    let mut messages = Vec::new();
    if !system_prompt.trim().is_empty() {
        messages.push(json!({"role": "system", "content": system_prompt}));
    }
    for node in path {
        let message = match node.role {
            Role::System => json!({"role": "system", "content": node.content}),
            Role::User => json!({"role": "user", "content": node.content}),
            Role::Assistant if node.tool_calls.is_empty() => {
                if node.content.is_empty() {
                    continue;
                }
                json!({"role": "assistant", "content": node.content})
            }
            Role::Assistant => {
                let calls: Vec<Value> = node
                    .tool_calls
                    .iter()
                    .map(|c| {
                        json!({"id": c.id, "type": "function",
                               "function": {"name": c.name, "arguments": c.arguments}})
                    })
                    .collect();
                let content = (!node.content.is_empty()).then_some(node.content.as_str());
                json!({"role": "assistant", "content": content, "tool_calls": calls})
            }
            Role::Tool => match &node.tool_call_id {
                Some(id) => json!({"role": "tool", "tool_call_id": id, "content": node.content}),
                None => continue,
            },
        };
        messages.push(message);
    }
    Value::Array(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::model::ToolCall;

    fn node(id: u128, parent: Option<u128>, role: Role, text: &str) -> MessageNode {
        MessageNode::new(
            Uuid::from_u128(id),
            parent.map(Uuid::from_u128),
            role,
            text,
            MessageStatus::Complete,
            id as i64,
        )
    }

    fn tree() -> Vec<MessageNode> {
        let mut call = node(2, Some(1), Role::Assistant, "");
        call.tool_calls = vec![ToolCall {
            id: "c1".into(),
            name: "clock".into(),
            arguments: "{}".into(),
        }];
        let mut result = node(3, Some(2), Role::Tool, "12:00");
        result.tool_call_id = Some("c1".into());
        result.model = Some("clock".into());
        let mut reply = node(4, Some(3), Role::Assistant, "Noon.");
        reply.model = Some("openai/gpt-4o".into());
        let mut stopped = node(5, Some(1), Role::Assistant, "Let me");
        stopped.status = MessageStatus::Interrupted;
        stopped.note = Some("Stopped.".into());
        vec![
            node(1, None, Role::User, "Time?"),
            call,
            result,
            reply,
            stopped,
        ]
    }

    #[test]
    fn a_branch_is_its_path_from_the_root() {
        let messages = tree();
        let ids = |through: Option<u128>| -> Vec<u128> {
            branch(&messages, through.map(Uuid::from_u128))
                .iter()
                .map(|m| m.id.as_u128())
                .collect()
        };
        assert_eq!(ids(Some(4)), vec![1, 2, 3, 4]);
        assert_eq!(ids(Some(2)), vec![1, 2, 3, 4], "down from an inner node");
        assert_eq!(ids(None), vec![1, 5], "the newest branch by default");
    }

    #[test]
    fn markdown_names_roles_models_calls_and_notes() {
        let messages = tree();
        let text = markdown(
            "Clock",
            "Be brief.",
            &branch(&messages, Some(Uuid::from_u128(4))),
        );
        assert!(
            text.starts_with("# Clock\n\n**System prompt**\n\n> Be brief.\n"),
            "{text}"
        );
        assert!(text.contains("## User\n\nTime?\n"));
        assert!(text.contains("Called `clock` with:\n\n```json\n{}\n```"));
        assert!(text.contains("## Tool · clock\n\n```\n12:00\n```"));
        assert!(text.contains("## Assistant · openai/gpt-4o\n\nNoon.\n"));
        let other = markdown("", "", &branch(&messages, Some(Uuid::from_u128(5))));
        assert!(other.starts_with("# New conversation\n"));
        assert!(other.ends_with("Let me\n\n*Stopped.*\n"), "{other}");
    }

    #[test]
    fn openai_messages_are_what_the_api_accepts() {
        let messages = tree();
        let value = openai_messages("Be brief.", &branch(&messages, Some(Uuid::from_u128(4))));
        assert_eq!(
            value,
            json!([
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Time?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "clock", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "12:00"},
                {"role": "assistant", "content": "Noon."}
            ])
        );
    }
}
