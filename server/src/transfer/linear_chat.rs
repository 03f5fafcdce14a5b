//! A linear branch given as a chat API's messages: an OpenAI `messages`
//! array (or a request body holding one) and an Anthropic Messages API
//! transcript (`system` plus `messages` whose content may be blocks).

use super::archive::ArchivedConversation;
use super::readable;
use app::domain::model::{MessageNode, MessageStatus, Role, ToolCall};
use serde_json::Value;
use uuid::Uuid;

/// Which API's messages these are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
}

/// Whether `value` looks like a chat API's messages (an array of objects
/// with a `role`, or an object holding one as `messages`).
pub fn recognises(value: &Value) -> bool {
    messages_of(value).is_some_and(|messages| {
        !messages.is_empty() && messages.iter().all(|m| m.get("role").is_some())
    })
}

fn messages_of(value: &Value) -> Option<&Vec<Value>> {
    match value {
        Value::Array(items) => Some(items),
        Value::Object(fields) => fields.get("messages").and_then(Value::as_array),
        _ => None,
    }
}

/// Which API wrote `value`: Anthropic's when it has a top-level `system`
/// or any content block only Anthropic uses.
pub fn dialect(value: &Value) -> Dialect {
    let anthropic_block = |block: &Value| {
        matches!(
            readable::text_at(block, "type"),
            Some(
                "tool_use"
                    | "tool_result"
                    | "thinking"
                    | "redacted_thinking"
                    | "image"
                    | "document"
            )
        )
    };
    let top_level_system = value.get("system").is_some();
    let blocks = messages_of(value)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("content").and_then(Value::as_array))
        .flatten()
        .any(anthropic_block);
    if top_level_system || blocks {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    }
}

/// The messages as one linear conversation. Leading system messages (and
/// Anthropic's `system`) become its system prompt.
pub fn import(value: &Value, now: i64) -> Result<ArchivedConversation, String> {
    let dialect = dialect(value);
    let messages = messages_of(value).ok_or("expected a `messages` array")?;
    let provider = match dialect {
        Dialect::OpenAi => "openai",
        Dialect::Anthropic => "anthropic",
    };
    let model = readable::text_at(value, "model").map(|m| format!("{provider}/{m}"));
    let mut system_prompt = match value.get("system") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks_text(blocks, "system", &mut Vec::new())?,
        _ => String::new(),
    };
    let mut nodes: Vec<MessageNode> = Vec::new();
    let push = |mut node: MessageNode, nodes: &mut Vec<MessageNode>| {
        node.id = Uuid::now_v7();
        node.parent_id = nodes.last().map(|n| n.id);
        node.created_at = now + nodes.len() as i64;
        nodes.push(node);
    };
    for (i, message) in messages.iter().enumerate() {
        let field = format!("messages[{i}]");
        let role = readable::text_at(message, "role")
            .ok_or_else(|| format!("{field}.role: expected a string"))?;
        let mut tool_results = Vec::new();
        let content = match message.get("content") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(blocks)) => {
                blocks_text(blocks, &format!("{field}.content"), &mut tool_results)?
            }
            Some(_) => {
                return Err(format!(
                    "{field}.content: expected text or a list of blocks"
                ))
            }
        };
        for (call, text) in tool_results {
            let mut node = MessageNode::new(
                Uuid::nil(),
                None,
                Role::Tool,
                text,
                MessageStatus::Complete,
                0,
            );
            node.model = tool_name(&nodes, &call);
            node.tool_call_id = Some(call);
            push(node, &mut nodes);
        }
        let role = match role {
            "system" | "developer" if nodes.is_empty() => {
                if !system_prompt.is_empty() {
                    system_prompt.push_str("\n\n");
                }
                system_prompt.push_str(&content);
                continue;
            }
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" | "model" => Role::Assistant,
            "tool" | "function" => Role::Tool,
            other => return Err(format!("{field}.role: unknown role `{other}`")),
        };
        let mut calls = openai_tool_calls(message, &field)?;
        calls.extend(anthropic_tool_calls(message));
        if role == Role::User
            && content.is_empty()
            && calls.is_empty()
            && message.get("content").is_some_and(Value::is_array)
        {
            continue; // only tool results, already added
        }
        let mut node =
            MessageNode::new(Uuid::nil(), None, role, content, MessageStatus::Complete, 0);
        node.tool_calls = calls;
        if role == Role::Assistant {
            node.model = model.clone();
        }
        if role == Role::Tool {
            let call = readable::text_at(message, "tool_call_id").map(str::to_string);
            node.model = readable::text_at(message, "name")
                .map(str::to_string)
                .or_else(|| call.as_ref().and_then(|c| tool_name(&nodes, c)));
            node.tool_call_id = call;
        }
        push(node, &mut nodes);
    }
    if nodes.is_empty() {
        return Err("messages: there is no message to import".into());
    }
    let title = nodes
        .iter()
        .find(|n| n.role == Role::User)
        .map(|n| {
            n.content
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect()
        })
        .unwrap_or_default();
    let shown = nodes.last().map(|n| n.id);
    Ok(ArchivedConversation {
        system_prompt,
        ..ArchivedConversation::imported(title, (now, now), nodes, shown)
    })
}

/// The name of the tool whose call `call_id` an earlier reply made.
fn tool_name(nodes: &[MessageNode], call_id: &str) -> Option<String> {
    nodes
        .iter()
        .rev()
        .flat_map(|n| &n.tool_calls)
        .find(|c| c.id == call_id)
        .map(|c| c.name.clone())
}

/// The text of content blocks; `tool_result` blocks go to `tool_results`
/// as (call id, text) instead.
fn blocks_text(
    blocks: &[Value],
    field: &str,
    tool_results: &mut Vec<(String, String)>,
) -> Result<String, String> {
    let mut parts = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let kind = match block {
            Value::String(text) => {
                parts.push(text.clone());
                continue;
            }
            Value::Object(_) => readable::text_at(block, "type").unwrap_or("unknown"),
            _ => return Err(format!("{field}[{i}]: expected a content block")),
        };
        match kind {
            "text" | "input_text" | "output_text" => {
                parts.push(
                    readable::text_at(block, "text")
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            "image_url" => {
                let url = block
                    .get("image_url")
                    .and_then(|u| readable::text_at(u, "url").or(u.as_str()))
                    .unwrap_or("");
                parts.push(readable::image(url));
            }
            "image" => {
                let source = block.get("source");
                let url = source.and_then(|s| readable::text_at(s, "url"));
                let kind = source.and_then(|s| readable::text_at(s, "media_type"));
                parts.push(match (url, kind) {
                    (Some(url), _) => readable::image(url),
                    (None, kind) => readable::embedded_image(kind.unwrap_or("image")),
                });
            }
            "thinking" => {
                parts.push(readable::thinking(
                    readable::text_at(block, "thinking").unwrap_or(""),
                ));
            }
            "redacted_thinking" => parts.push("> **Thinking** (redacted by the provider)".into()),
            "tool_use" => {} // read by `anthropic_tool_calls`
            "tool_result" => {
                let call = readable::text_at(block, "tool_use_id")
                    .unwrap_or("")
                    .to_string();
                let text = match block.get("content") {
                    Some(Value::String(text)) => text.clone(),
                    Some(Value::Array(inner)) => {
                        blocks_text(inner, &format!("{field}[{i}].content"), &mut Vec::new())?
                    }
                    _ => String::new(),
                };
                tool_results.push((call, text));
            }
            other => parts.push(readable::unknown(other, block)),
        }
    }
    Ok(parts.join("\n\n"))
}

/// OpenAI's `tool_calls` of an assistant message.
fn openai_tool_calls(message: &Value, field: &str) -> Result<Vec<ToolCall>, String> {
    let Some(calls) = message.get("tool_calls").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let function = call
                .get("function")
                .ok_or_else(|| format!("{field}.tool_calls[{i}].function: missing"))?;
            Ok(ToolCall {
                id: readable::text_at(call, "id")
                    .unwrap_or_default()
                    .to_string(),
                name: readable::text_at(function, "name")
                    .unwrap_or_default()
                    .to_string(),
                arguments: match function.get("arguments") {
                    Some(Value::String(text)) => text.clone(),
                    Some(other) => other.to_string(),
                    None => "{}".into(),
                },
            })
        })
        .collect()
}

/// Anthropic's `tool_use` blocks of an assistant message.
fn anthropic_tool_calls(message: &Value) -> Vec<ToolCall> {
    message
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|b| readable::text_at(b, "type") == Some("tool_use"))
        .map(|b| ToolCall {
            id: readable::text_at(b, "id").unwrap_or_default().to_string(),
            name: readable::text_at(b, "name").unwrap_or_default().to_string(),
            arguments: b
                .get("input")
                .map(Value::to_string)
                .unwrap_or_else(|| "{}".into()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openai_messages_become_one_branch_with_the_system_prompt_apart() {
        let value = json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}, {"type": "image_url", "image_url": {"url": "https://x.test/sky.png"}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "rain"},
            {"role": "assistant", "content": "Rain."}
        ]);
        assert_eq!(dialect(&value), Dialect::OpenAi);
        let conversation = import(&value, 1000).expect("imports");
        assert_eq!(conversation.system_prompt, "Be brief.");
        let roles: Vec<Role> = conversation.messages.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            vec![Role::User, Role::Assistant, Role::Tool, Role::Assistant]
        );
        assert_eq!(
            conversation.messages[0].content,
            "Weather?\n\n[image: https://x.test/sky.png]"
        );
        assert_eq!(conversation.messages[1].tool_calls[0].name, "weather");
        assert_eq!(
            conversation.messages[2].tool_call_id.as_deref(),
            Some("call_1")
        );
        assert_eq!(conversation.messages[2].model.as_deref(), Some("weather"));
        for pair in conversation.messages.windows(2) {
            assert_eq!(pair[1].parent_id, Some(pair[0].id));
            assert!(pair[1].created_at > pair[0].created_at);
        }
        assert_eq!(
            conversation.active_leaf_id,
            Some(conversation.messages[3].id)
        );
        assert_eq!(conversation.title, "Weather?");
    }

    #[test]
    fn anthropic_blocks_become_tool_calls_results_and_readable_text() {
        let value = json!({
            "model": "claude-sonnet-4-5",
            "system": "You are terse.",
            "messages": [
                {"role": "user", "content": "Time?"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Use the clock."},
                    {"type": "tool_use", "id": "toolu_1", "name": "clock", "input": {}}
                ]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "12:00"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "Noon."}]}
            ]
        });
        assert_eq!(dialect(&value), Dialect::Anthropic);
        let conversation = import(&value, 0).expect("imports");
        assert_eq!(conversation.system_prompt, "You are terse.");
        let roles: Vec<Role> = conversation.messages.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            vec![Role::User, Role::Assistant, Role::Tool, Role::Assistant]
        );
        assert!(conversation.messages[1].content.contains("Use the clock."));
        assert_eq!(conversation.messages[1].tool_calls[0].arguments, "{}");
        assert_eq!(conversation.messages[2].content, "12:00");
        assert_eq!(conversation.messages[2].model.as_deref(), Some("clock"));
        assert_eq!(
            conversation.messages[3].model.as_deref(),
            Some("anthropic/claude-sonnet-4-5")
        );
    }

    #[test]
    fn bad_messages_name_their_field() {
        let error = import(
            &json!([{"role": "user", "content": "a"}, {"content": "b"}]),
            0,
        )
        .unwrap_err();
        assert_eq!(error, "messages[1].role: expected a string");
        let error = import(&json!([{"role": "wizard", "content": "a"}]), 0).unwrap_err();
        assert!(error.contains("unknown role `wizard`"));
        let error = import(&json!([{"role": "user", "content": 5}]), 0).unwrap_err();
        assert!(error.starts_with("messages[0].content"));
    }
}
