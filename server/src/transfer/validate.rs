//! What a conversation must satisfy before it is stored, whatever format it
//! came from: unique ids, parents inside the conversation and no loops,
//! names and marks on its own messages. A valid conversation comes back
//! with its messages parents-first and nothing left `streaming`.

use super::archive::ArchivedConversation;
use app::domain::branches::clean_branch_name;
use app::domain::model::{MessageStatus, MAX_TITLE_CHARS};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The note on a reply that was still being written when it was exported.
pub const INTERRUPTED_BY_EXPORT: &str =
    "Interrupted: the export was taken while this reply was being written.";

/// Checks `conversation` and puts it in storable order, or says which
/// field is wrong.
pub fn validated(mut conversation: ArchivedConversation) -> Result<ArchivedConversation, String> {
    let mut position: HashMap<Uuid, usize> = HashMap::with_capacity(conversation.messages.len());
    for (i, message) in conversation.messages.iter().enumerate() {
        if position.insert(message.id, i).is_some() {
            return Err(format!(
                "messages[{i}].id: the id {} is used twice",
                message.id
            ));
        }
    }
    let mut children: HashMap<Option<Uuid>, Vec<usize>> = HashMap::new();
    for (i, message) in conversation.messages.iter().enumerate() {
        if let Some(parent) = message.parent_id {
            if !position.contains_key(&parent) {
                return Err(format!(
                    "messages[{i}].parent_id: no message {parent} in this conversation"
                ));
            }
        }
        children.entry(message.parent_id).or_default().push(i);
    }
    // Parents first: a walk down from the roots reaches every message
    // unless some parent links loop.
    let mut order = Vec::with_capacity(conversation.messages.len());
    let mut pending: Vec<usize> = children.get(&None).cloned().unwrap_or_default();
    pending.reverse();
    while let Some(i) = pending.pop() {
        order.push(i);
        if let Some(below) = children.get(&Some(conversation.messages[i].id)) {
            pending.extend(below.iter().rev());
        }
    }
    if order.len() != conversation.messages.len() {
        let reached: HashSet<usize> = order.iter().copied().collect();
        let first = (0..conversation.messages.len())
            .find(|i| !reached.contains(i))
            .unwrap_or(0);
        return Err(format!(
            "messages[{first}].parent_id: the parent links form a loop"
        ));
    }
    let mut slots: Vec<Option<_>> = std::mem::take(&mut conversation.messages)
        .into_iter()
        .map(Some)
        .collect();
    conversation.messages = order.iter().filter_map(|&i| slots[i].take()).collect();
    for message in &mut conversation.messages {
        if message.status == MessageStatus::Streaming {
            message.status = MessageStatus::Interrupted;
            message
                .note
                .get_or_insert_with(|| INTERRUPTED_BY_EXPORT.into());
        }
    }
    check_marks(&mut conversation, &position)?;
    drop_nul_characters(&mut conversation);
    if conversation.active_leaf_id.is_none() {
        conversation.active_leaf_id = newest_leaf(&conversation);
    }
    conversation.title = conversation
        .title
        .trim()
        .chars()
        .take(MAX_TITLE_CHARS)
        .collect();
    Ok(conversation)
}

/// Removes U+0000 from every text: no database column holds it
/// (PostgreSQL refuses it), and no person typed it.
fn drop_nul_characters(conversation: &mut ArchivedConversation) {
    fn clean(text: &mut String) {
        if text.contains('\0') {
            text.retain(|c| c != '\0');
        }
    }
    clean(&mut conversation.title);
    clean(&mut conversation.system_prompt);
    let settings = &mut conversation.settings;
    settings
        .model
        .iter_mut()
        .chain(&mut settings.persona)
        .for_each(clean);
    for message in &mut conversation.messages {
        clean(&mut message.content);
        message
            .note
            .iter_mut()
            .chain(&mut message.model)
            .chain(&mut message.tool_call_id)
            .for_each(clean);
        for call in &mut message.tool_calls {
            clean(&mut call.id);
            clean(&mut call.name);
            clean(&mut call.arguments);
        }
    }
}

/// The shown leaf, the main branch and the names must be on this
/// conversation's messages, and names must follow the naming rules (they
/// are stored cleaned) and be unique.
fn check_marks(
    conversation: &mut ArchivedConversation,
    position: &HashMap<Uuid, usize>,
) -> Result<(), String> {
    let known = |id: &Uuid| position.contains_key(id);
    if let Some(leaf) = conversation.active_leaf_id.filter(|id| !known(id)) {
        return Err(format!(
            "active_leaf_id: no message {leaf} in this conversation"
        ));
    }
    if let Some(main) = conversation.main_node_id.filter(|id| !known(id)) {
        return Err(format!(
            "main_node_id: no message {main} in this conversation"
        ));
    }
    let mut names = HashSet::new();
    let mut labelled = HashSet::new();
    for (i, label) in conversation.labels.iter_mut().enumerate() {
        if !known(&label.node_id) {
            return Err(format!(
                "labels[{i}].node_id: no message {} in this conversation",
                label.node_id
            ));
        }
        label.name =
            clean_branch_name(&label.name).map_err(|e| format!("labels[{i}].name: {e}"))?;
        if !names.insert(label.name.clone()) {
            return Err(format!(
                "labels[{i}].name: the name `{}` is used twice",
                label.name
            ));
        }
        if !labelled.insert(label.node_id) {
            return Err(format!(
                "labels[{i}].node_id: that message already has a name"
            ));
        }
    }
    Ok(())
}

/// The most recently created leaf.
fn newest_leaf(conversation: &ArchivedConversation) -> Option<Uuid> {
    let parents: HashSet<Uuid> = conversation
        .messages
        .iter()
        .filter_map(|m| m.parent_id)
        .collect();
    conversation
        .messages
        .iter()
        .filter(|m| !parents.contains(&m.id))
        .max_by_key(|m| (m.created_at, m.id))
        .map(|m| m.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::model::{BranchLabel, MessageNode, Role};

    fn node(id: u128, parent: Option<u128>, at: i64) -> MessageNode {
        MessageNode::new(
            Uuid::from_u128(id),
            parent.map(Uuid::from_u128),
            Role::User,
            format!("m{id}"),
            MessageStatus::Complete,
            at,
        )
    }

    fn conversation(messages: Vec<MessageNode>) -> ArchivedConversation {
        ArchivedConversation::imported("  t  ".into(), (0, 0), messages, None)
    }

    #[test]
    fn children_listed_before_parents_are_put_after_them() {
        let valid = validated(conversation(vec![
            node(3, Some(2), 3),
            node(2, Some(1), 2),
            node(1, None, 1),
        ]))
        .expect("valid");
        let ids: Vec<u128> = valid.messages.iter().map(|m| m.id.as_u128()).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert_eq!(valid.active_leaf_id, Some(Uuid::from_u128(3)));
        assert_eq!(valid.title, "t");
    }

    #[test]
    fn the_newest_leaf_is_shown_when_none_is_named() {
        let valid = validated(conversation(vec![
            node(1, None, 1),
            node(2, Some(1), 5),
            node(3, Some(1), 9),
        ]))
        .expect("valid");
        assert_eq!(valid.active_leaf_id, Some(Uuid::from_u128(3)));
    }

    #[test]
    fn broken_links_name_their_field() {
        let missing = validated(conversation(vec![node(1, Some(7), 1)])).unwrap_err();
        assert!(
            missing.starts_with("messages[0].parent_id: no message"),
            "{missing}"
        );
        let twice = validated(conversation(vec![node(1, None, 1), node(1, None, 2)])).unwrap_err();
        assert!(twice.starts_with("messages[1].id"), "{twice}");
        let looped = validated(conversation(vec![
            node(1, None, 1),
            node(2, Some(3), 1),
            node(3, Some(2), 1),
        ]))
        .unwrap_err();
        assert!(looped.contains("loop"), "{looped}");
    }

    #[test]
    fn marks_must_be_on_the_conversations_messages() {
        let mut c = conversation(vec![node(1, None, 1)]);
        c.main_node_id = Some(Uuid::from_u128(5));
        assert!(validated(c).unwrap_err().starts_with("main_node_id"));
        let mut c = conversation(vec![node(1, None, 1)]);
        c.active_leaf_id = Some(Uuid::from_u128(5));
        assert!(validated(c).unwrap_err().starts_with("active_leaf_id"));
        let mut c = conversation(vec![node(1, None, 1), node(2, Some(1), 2)]);
        c.labels = vec![
            BranchLabel {
                node_id: Uuid::from_u128(1),
                name: "Plan".into(),
            },
            BranchLabel {
                node_id: Uuid::from_u128(2),
                name: " Plan ".into(),
            },
        ];
        assert!(validated(c).unwrap_err().contains("used twice"));
        let mut c = conversation(vec![node(1, None, 1)]);
        c.labels = vec![BranchLabel {
            node_id: Uuid::from_u128(1),
            name: "  ".into(),
        }];
        assert_eq!(
            validated(c).unwrap_err(),
            "labels[0].name: a branch name cannot be empty"
        );
    }

    #[test]
    fn nul_characters_are_dropped_from_every_text() {
        let mut message = node(1, None, 1);
        message.content = "a\0b".into();
        message.note = Some("\0note".into());
        let mut archived = conversation(vec![message]);
        archived.title = "ti\0tle".into();
        archived.system_prompt = "\0".into();
        let valid = validated(archived).expect("valid");
        assert_eq!(valid.title, "title");
        assert_eq!(valid.system_prompt, "");
        assert_eq!(valid.messages[0].content, "ab");
        assert_eq!(valid.messages[0].note.as_deref(), Some("note"));
    }

    #[test]
    fn a_reply_exported_mid_stream_is_imported_interrupted() {
        let mut streaming = node(1, None, 1);
        streaming.status = MessageStatus::Streaming;
        let valid = validated(conversation(vec![streaming])).expect("valid");
        assert_eq!(valid.messages[0].status, MessageStatus::Interrupted);
        assert_eq!(
            valid.messages[0].note.as_deref(),
            Some(INTERRUPTED_BY_EXPORT)
        );
    }
}
