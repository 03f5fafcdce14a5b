//! The context view: for one assistant reply, the exact thread that was
//! sent to the model (system prompt, every message of the path before it,
//! in order) and the parameters it ran with, rebuilt from the stored tree
//! the same way the server builds the thread.

use crate::domain::model::{MessageNode, Role, ToolCall};
use crate::domain::sampling::SamplerField;
use crate::domain::tree::Tree;
use uuid::Uuid;

/// One message of the thread as the model received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextMessage {
    pub id: Uuid,
    pub role: Role,
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
}

/// What a reply's model was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelContext {
    /// `provider/model`.
    pub model: Option<String>,
    pub persona: Option<String>,
    pub system_prompt: Option<String>,
    /// The thread, oldest first, without the system prompt.
    pub messages: Vec<ContextMessage>,
    /// How many older messages of the branch were not sent, so that the
    /// rest fit the model's context window.
    pub left_out: usize,
    /// The sampler values sent, as `(name, value)`.
    pub parameters: Vec<(SamplerField, String)>,
}

impl ModelContext {
    /// The context of `reply`, or `None` if it is not an assistant reply of
    /// `tree`; `message` finds a node's current state.
    pub fn of(
        tree: &Tree,
        reply: Uuid,
        message: impl Fn(Uuid) -> Option<MessageNode>,
    ) -> Option<ModelContext> {
        let node = message(reply).filter(|m| m.role == Role::Assistant)?;
        let params = node.params.clone().unwrap_or_default();
        let before = node.parent_id.map(|p| tree.path_to(p)).unwrap_or_default();
        let left_out = params.left_out.map_or(0, |n| n as usize);
        let mut skipped = 0;
        let thread = before
            .iter()
            .filter_map(|id| message(*id))
            // The server leaves out messages with nothing to say (a reply
            // that failed before any text), exactly like this.
            .filter(|m| !m.content.is_empty() || !m.tool_calls.is_empty() || m.role == Role::Tool)
            // Then the oldest ones a small context had no room for (system
            // messages always stay).
            .filter(|m| {
                let keep = m.role == Role::System || skipped >= left_out;
                if !keep {
                    skipped += 1;
                }
                keep
            })
            .map(|m| ContextMessage {
                id: m.id,
                role: m.role,
                content: m.content,
                tool_calls: m.tool_calls,
            })
            .collect();
        Some(ModelContext {
            model: node.model,
            persona: params.persona.clone(),
            system_prompt: params.system_prompt.clone(),
            messages: thread,
            left_out: skipped,
            parameters: params.sampler.entries(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{MessageStatus, ReplyParams};
    use crate::domain::sampling::SamplerParams;
    use crate::domain::tree::NodeLink;
    use std::collections::HashMap;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn node(n: u128, parent: Option<u128>, role: Role, text: &str) -> MessageNode {
        MessageNode::new(
            id(n),
            parent.map(id),
            role,
            text,
            MessageStatus::Complete,
            n as i64,
        )
    }

    /// The context of reply `reply` in a tree of `nodes`.
    fn context_of(nodes: Vec<MessageNode>, reply: u128) -> ModelContext {
        let tree = Tree::from_links(nodes.iter().map(NodeLink::from));
        let messages: HashMap<Uuid, MessageNode> = nodes.into_iter().map(|n| (n.id, n)).collect();
        ModelContext::of(&tree, id(reply), |id| messages.get(&id).cloned()).expect("a reply")
    }

    #[test]
    fn the_context_is_the_path_before_the_reply_with_its_prompt_and_parameters() {
        let mut reply = node(5, Some(4), Role::Assistant, "answer two");
        reply.model = Some("openai/gpt-test".into());
        reply.params = Some(ReplyParams {
            sampler: SamplerParams {
                temperature: Some(0.5),
                ..SamplerParams::default()
            },
            persona: Some("Pirate".into()),
            system_prompt: Some("Talk like a pirate.".into()),
            left_out: None,
        });
        let nodes = vec![
            node(1, None, Role::User, "question one"),
            node(2, Some(1), Role::Assistant, "answer one"),
            // A sibling branch: not part of the context.
            node(3, Some(1), Role::Assistant, "other answer"),
            node(4, Some(2), Role::User, "question two"),
            reply,
        ];
        let context = context_of(nodes, 5);
        assert_eq!(
            context.system_prompt.as_deref(),
            Some("Talk like a pirate.")
        );
        assert_eq!(context.persona.as_deref(), Some("Pirate"));
        assert_eq!(context.model.as_deref(), Some("openai/gpt-test"));
        let texts: Vec<&str> = context
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        assert_eq!(texts, vec!["question one", "answer one", "question two"]);
        assert_eq!(
            context.parameters,
            vec![(SamplerField::Temperature, "0.5".to_string())]
        );
    }

    #[test]
    fn empty_failed_replies_are_left_out_and_user_messages_have_no_context() {
        let nodes = vec![
            node(1, None, Role::User, "q"),
            node(2, Some(1), Role::Assistant, ""),
            node(3, Some(2), Role::User, "again"),
            node(4, Some(3), Role::Assistant, "a"),
        ];
        let tree = Tree::from_links(nodes.iter().map(NodeLink::from));
        let messages: HashMap<Uuid, MessageNode> = nodes.into_iter().map(|n| (n.id, n)).collect();
        let lookup = |id: Uuid| messages.get(&id).cloned();
        let context = ModelContext::of(&tree, id(4), lookup).expect("a reply");
        assert_eq!(context.messages.len(), 2);
        assert!(ModelContext::of(&tree, id(3), lookup).is_none());
        assert!(ModelContext::of(&tree, id(99), lookup).is_none());
    }

    #[test]
    fn messages_a_small_context_had_no_room_for_are_counted_not_shown() {
        let mut reply = node(5, Some(4), Role::Assistant, "answer two");
        reply.params = Some(ReplyParams {
            left_out: Some(2),
            ..ReplyParams::default()
        });
        let nodes = vec![
            node(1, None, Role::User, "question one"),
            node(2, Some(1), Role::Assistant, "answer one"),
            node(4, Some(2), Role::User, "question two"),
            reply,
        ];
        let context = context_of(nodes, 5);
        let texts: Vec<&str> = context
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        assert_eq!(texts, vec!["question two"]);
        assert_eq!(context.left_out, 2);
    }
}
