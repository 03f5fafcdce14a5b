//! Turning another app's messages (with its own ids and parent links) into
//! Arbor nodes: fresh ids, parents kept, and the nodes Arbor does not show
//! (hidden system nodes, empty placeholders) left out with their children
//! moved up to the nearest kept ancestor.

use app::domain::model::MessageNode;
use std::collections::HashMap;
use uuid::Uuid;

/// One message as a foreign format gives it.
#[derive(Debug, Clone)]
pub struct ForeignNode {
    /// The format's id for it.
    pub source_id: String,
    /// The format's id for its parent (`None`, or an id not in the file: a root).
    pub parent: Option<String>,
    /// The Arbor node (its `id` and `parent_id` are filled in here), or
    /// `None` when the message is left out.
    pub node: Option<MessageNode>,
}

/// The kept nodes with Arbor ids, and the node standing for `active`.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltTree {
    pub messages: Vec<MessageNode>,
    pub active_leaf: Option<Uuid>,
}

/// Gives the kept nodes fresh ids and their nearest kept ancestor as
/// parent; `active` (a source id) becomes its nearest kept node. Fails on
/// an id used twice or parent links that loop.
pub fn build(nodes: Vec<ForeignNode>, active: Option<&str>) -> Result<BuiltTree, String> {
    let mut index: HashMap<String, usize> = HashMap::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        if index.insert(node.source_id.clone(), i).is_some() {
            return Err(format!("the message id `{}` is used twice", node.source_id));
        }
    }
    let fresh: Vec<Option<Uuid>> = nodes
        .iter()
        .map(|n| n.node.as_ref().map(|_| Uuid::now_v7()))
        .collect();
    // The nearest kept node at or above `start`, walking parent links.
    let kept_at_or_above = |start: Option<usize>| -> Result<Option<Uuid>, String> {
        let mut current = start;
        for _ in 0..=nodes.len() {
            let Some(i) = current else { return Ok(None) };
            if let Some(id) = fresh[i] {
                return Ok(Some(id));
            }
            current = nodes[i].parent.as_ref().and_then(|p| index.get(p).copied());
        }
        Err("the messages' parent links form a loop".into())
    };
    let mut messages = Vec::new();
    for (i, foreign) in nodes.iter().enumerate() {
        let (Some(node), Some(id)) = (&foreign.node, fresh[i]) else {
            continue;
        };
        let parent_index = foreign.parent.as_ref().and_then(|p| index.get(p).copied());
        let parent = kept_at_or_above(parent_index)?;
        if parent == Some(id) {
            return Err(format!(
                "the message `{}` is its own ancestor: the parent links form a loop",
                foreign.source_id
            ));
        }
        let mut node = node.clone();
        node.id = id;
        node.parent_id = parent;
        messages.push(node);
    }
    let active_leaf = match active.and_then(|a| index.get(a).copied()) {
        Some(i) => kept_at_or_above(Some(i))?,
        None => None,
    };
    Ok(BuiltTree {
        messages,
        active_leaf,
    })
}

/// Milliseconds for a time given in (fractional) seconds since the epoch.
pub fn seconds_to_ms(seconds: f64) -> Option<i64> {
    (0.0..1e12)
        .contains(&seconds)
        .then(|| (seconds * 1000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::model::{MessageStatus, Role};

    fn foreign(id: &str, parent: Option<&str>, text: Option<&str>) -> ForeignNode {
        ForeignNode {
            source_id: id.into(),
            parent: parent.map(str::to_string),
            node: text.map(|t| {
                MessageNode::new(Uuid::nil(), None, Role::User, t, MessageStatus::Complete, 1)
            }),
        }
    }

    fn text_of(tree: &BuiltTree, id: Option<Uuid>) -> Option<String> {
        let id = id?;
        tree.messages
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.content.clone())
    }

    #[test]
    fn left_out_nodes_hand_their_children_to_the_nearest_kept_ancestor() {
        let tree = build(
            vec![
                foreign("root", None, None),
                foreign("a", Some("root"), Some("a")),
                foreign("hidden", Some("a"), None),
                foreign("b", Some("hidden"), Some("b")),
                foreign("c", Some("missing"), Some("c")),
            ],
            Some("b"),
        )
        .expect("builds");
        assert_eq!(tree.messages.len(), 3);
        assert_eq!(tree.messages[0].parent_id, None);
        assert_eq!(tree.messages[1].parent_id, Some(tree.messages[0].id));
        assert_eq!(
            tree.messages[2].parent_id, None,
            "an unknown parent makes a root"
        );
        assert_eq!(text_of(&tree, tree.active_leaf).as_deref(), Some("b"));
    }

    #[test]
    fn an_active_node_left_out_becomes_its_kept_ancestor() {
        let tree = build(
            vec![foreign("a", None, Some("a")), foreign("x", Some("a"), None)],
            Some("x"),
        )
        .expect("builds");
        assert_eq!(text_of(&tree, tree.active_leaf).as_deref(), Some("a"));
    }

    #[test]
    fn loops_and_reused_ids_are_refused() {
        let looped = build(
            vec![
                foreign("a", Some("b"), None),
                foreign("b", Some("a"), Some("b")),
            ],
            None,
        );
        assert!(looped.unwrap_err().contains("loop"));
        let twice = build(
            vec![foreign("a", None, Some("1")), foreign("a", None, Some("2"))],
            None,
        );
        assert!(twice.unwrap_err().contains("used twice"));
        let own = build(vec![foreign("a", Some("a"), Some("1"))], None);
        assert!(own.unwrap_err().contains("its own ancestor"));
    }

    #[test]
    fn seconds_become_milliseconds_when_sane() {
        assert_eq!(seconds_to_ms(1_700_000_000.123_4), Some(1_700_000_000_123));
        assert_eq!(seconds_to_ms(f64::NAN), None);
        assert_eq!(seconds_to_ms(-1.0), None);
    }
}
