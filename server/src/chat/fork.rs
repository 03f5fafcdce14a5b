//! Copying a branch into a new conversation: the path keeps its text,
//! roles, models, parameters and usage, every node gets a new id, and a
//! reply still being written is copied as interrupted with the text it had.

use crate::storage::StoredMessage;
use app::domain::model::{MessageNode, MessageStatus};
use std::collections::HashMap;
use uuid::Uuid;

/// Note on a copied reply that was still being written when forked.
pub const FORKED_WHILE_STREAMING_NOTE: &str =
    "Copied while it was still being written: this is the text it had then.";

/// The rows of a fork of `path` (root first): new ids, parents remapped,
/// the last one shown.
pub fn copy_path(path: &[MessageNode]) -> Vec<StoredMessage> {
    let mut new_ids: HashMap<Uuid, Uuid> = HashMap::with_capacity(path.len());
    path.iter()
        .map(|node| {
            let id = Uuid::now_v7();
            new_ids.insert(node.id, id);
            let mut copy = node.clone();
            copy.id = id;
            copy.parent_id = node.parent_id.and_then(|p| new_ids.get(&p).copied());
            copy.last_active_at = None;
            if copy.status == MessageStatus::Streaming {
                copy.status = MessageStatus::Interrupted;
                copy.note = Some(FORKED_WHILE_STREAMING_NOTE.into());
            }
            StoredMessage {
                node: copy,
                client_id: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::model::Role;

    #[test]
    fn a_copy_keeps_the_text_and_shape_with_new_ids() {
        let root = MessageNode::new(
            Uuid::now_v7(),
            None,
            Role::User,
            "q",
            MessageStatus::Complete,
            1,
        );
        let reply = MessageNode::new(
            Uuid::now_v7(),
            Some(root.id),
            Role::Assistant,
            "half an ans",
            MessageStatus::Streaming,
            2,
        );
        let copy = copy_path(&[root.clone(), reply.clone()]);
        assert_eq!(copy.len(), 2);
        assert_ne!(copy[0].node.id, root.id);
        assert_eq!(copy[0].node.parent_id, None);
        assert_eq!(copy[1].node.parent_id, Some(copy[0].node.id));
        assert_eq!(copy[1].node.content, "half an ans");
        assert_eq!(copy[1].node.status, MessageStatus::Interrupted);
        assert_eq!(
            copy[1].node.note.as_deref(),
            Some(FORKED_WHILE_STREAMING_NOTE)
        );
        assert_eq!(copy[0].node.created_at, 1);
    }
}
