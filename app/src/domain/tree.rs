//! The shape of a conversation tree, free of any framework: parents,
//! children in creation order, the path from a root to a node, sibling
//! positions, and the rule that picks which branch to show.

use std::collections::HashMap;
use uuid::Uuid;

/// What the tree needs to know about one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLink {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub created_at: i64,
    /// When the node was last the end of the displayed branch.
    pub last_active_at: Option<i64>,
}

impl From<&crate::domain::model::NodeOutline> for NodeLink {
    fn from(node: &crate::domain::model::NodeOutline) -> Self {
        NodeLink {
            id: node.id,
            parent_id: node.parent_id,
            created_at: node.created_at,
            last_active_at: node.last_active_at,
        }
    }
}

impl From<&crate::domain::model::MessageNode> for NodeLink {
    fn from(node: &crate::domain::model::MessageNode) -> Self {
        NodeLink {
            id: node.id,
            parent_id: node.parent_id,
            created_at: node.created_at,
            last_active_at: node.last_active_at,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    link: NodeLink,
    children: Vec<Uuid>,
}

/// A conversation's structure. Roots (messages without a parent) are the
/// children of an implicit, invisible root.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    entries: HashMap<Uuid, Entry>,
    roots: Vec<Uuid>,
    /// The greatest `last_active_at` seen, so new marks always sort last.
    latest_activity: i64,
}

impl Tree {
    /// Builds a tree from nodes in any order. Nodes whose parent is missing
    /// are kept as roots so nothing stored ever becomes unreachable.
    pub fn from_links(links: impl IntoIterator<Item = NodeLink>) -> Self {
        let mut links: Vec<NodeLink> = links.into_iter().collect();
        links.sort_by_key(|l| (l.created_at, l.id));
        // Insert parents before children whatever the timestamps say.
        let by_id: HashMap<Uuid, NodeLink> = links.iter().map(|l| (l.id, *l)).collect();
        let mut tree = Tree::default();
        for link in &links {
            let mut chain = vec![*link];
            let mut parent = link.parent_id;
            while let Some(p) = parent.filter(|p| !tree.contains(*p)) {
                match by_id.get(&p) {
                    Some(l) if chain.len() <= by_id.len() => {
                        chain.push(*l);
                        parent = l.parent_id;
                    }
                    _ => break,
                }
            }
            for l in chain.into_iter().rev() {
                tree.insert(l);
            }
        }
        tree
    }

    /// Adds a node; a node already present is left as it is. A node whose
    /// parent is unknown becomes a root.
    pub fn insert(&mut self, mut link: NodeLink) {
        if self.entries.contains_key(&link.id) {
            return;
        }
        if link
            .parent_id
            .is_some_and(|p| !self.entries.contains_key(&p))
        {
            link.parent_id = None;
        }
        if let Some(at) = link.last_active_at {
            self.latest_activity = self.latest_activity.max(at);
        }
        let key = (link.created_at, link.id);
        let position = self.children(link.parent_id).partition_point(|s| {
            let e = &self.entries[s];
            (e.link.created_at, e.link.id) < key
        });
        let siblings = match link.parent_id.and_then(|p| self.entries.get_mut(&p)) {
            Some(parent) => &mut parent.children,
            None => &mut self.roots,
        };
        siblings.insert(position, link.id);
        self.entries.insert(
            link.id,
            Entry {
                link,
                children: Vec::new(),
            },
        );
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the tree has no nodes.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `id` is a node of this tree.
    pub fn contains(&self, id: Uuid) -> bool {
        self.entries.contains_key(&id)
    }

    /// The node's parent, `None` for roots and unknown ids.
    pub fn parent(&self, id: Uuid) -> Option<Uuid> {
        self.entries.get(&id).and_then(|e| e.link.parent_id)
    }

    /// Children of `id` (or the roots, for `None`), oldest first.
    pub fn children(&self, id: Option<Uuid>) -> &[Uuid] {
        match id {
            None => &self.roots,
            Some(id) => self.entries.get(&id).map_or(&[], |e| &e.children),
        }
    }

    /// The node and its siblings (children of the same parent), oldest first.
    pub fn siblings(&self, id: Uuid) -> &[Uuid] {
        match self.entries.get(&id) {
            Some(e) => self.children(e.link.parent_id),
            None => &[],
        }
    }

    /// 1-based position of `id` among its siblings, and how many there are.
    pub fn sibling_position(&self, id: Uuid) -> Option<(usize, usize)> {
        let siblings = self.siblings(id);
        let index = siblings.iter().position(|s| *s == id)?;
        Some((index + 1, siblings.len()))
    }

    /// The path from a root down to `id`, both included; empty for unknown ids.
    pub fn path_to(&self, id: Uuid) -> Vec<Uuid> {
        let mut path = Vec::new();
        let mut cursor = Some(id).filter(|id| self.contains(*id));
        while let Some(node) = cursor {
            path.push(node);
            cursor = self.parent(node);
            if path.len() > self.entries.len() {
                break; // a cycle can only come from corrupt data; stop rather than spin
            }
        }
        path.reverse();
        path
    }

    /// The leaf to show when the user picks `from` (or the whole tree, for
    /// `None`): go to the most recently active node below it, then keep
    /// descending through the newest child.
    pub fn descend(&self, from: Option<Uuid>) -> Option<Uuid> {
        let mut current = from;
        loop {
            if let Some(target) = self.most_recently_active_below(current) {
                current = Some(target);
                continue;
            }
            match self.children(current).last() {
                Some(newest) => current = Some(*newest),
                None => return current,
            }
        }
    }

    /// The branch to show on opening: the stored active leaf when it still
    /// exists (descending if replies were added below it), else the default.
    pub fn initial_leaf(&self, stored: Option<Uuid>) -> Option<Uuid> {
        match stored.filter(|id| self.contains(*id)) {
            Some(id) => self.descend(Some(id)),
            None => self.descend(None),
        }
    }

    /// The leaf of the branch through `node`: `shown` if its branch already
    /// passes through `node`, else the leaf a click on `node` would show.
    pub fn leaf_through(&self, shown: Option<Uuid>, node: Uuid) -> Option<Uuid> {
        match shown {
            Some(leaf) if self.path_to(leaf).contains(&node) => Some(leaf),
            _ => self.descend(Some(node)),
        }
    }

    /// Records that `leaf` became the end of the displayed branch at `at`
    /// (ms). Returns the timestamp stored, which is always later than any
    /// earlier mark so the newest choice wins even if clocks disagree.
    pub fn mark_active(&mut self, leaf: Uuid, at: i64) -> Option<i64> {
        let stamp = self.activity_stamp(at);
        let entry = self.entries.get_mut(&leaf)?;
        entry.link.last_active_at = Some(stamp);
        self.latest_activity = stamp;
        Some(stamp)
    }

    /// The mark `mark_active` would store for a choice made at `at`: never
    /// earlier than a previous mark.
    pub fn activity_stamp(&self, at: i64) -> i64 {
        at.max(self.latest_activity + 1)
    }

    /// `id` and every node below it, parents before children; empty for
    /// unknown ids.
    pub fn subtree(&self, id: Uuid) -> Vec<Uuid> {
        let mut nodes = Vec::new();
        let mut stack: Vec<Uuid> = vec![id].into_iter().filter(|i| self.contains(*i)).collect();
        while let Some(node) = stack.pop() {
            nodes.push(node);
            stack.extend(self.children(Some(node)).iter().rev().copied());
        }
        nodes
    }

    /// Takes `id` and everything below it out of the tree; answers their
    /// links, parents before children (so `insert`ing them in order puts
    /// the subtree back).
    pub fn remove_subtree(&mut self, id: Uuid) -> Vec<NodeLink> {
        let removed = self.subtree(id);
        if removed.is_empty() {
            return Vec::new();
        }
        let parent = self.parent(id);
        let siblings = match parent.and_then(|p| self.entries.get_mut(&p)) {
            Some(entry) => &mut entry.children,
            None => &mut self.roots,
        };
        siblings.retain(|s| *s != id);
        removed
            .iter()
            .filter_map(|node| self.entries.remove(node).map(|e| e.link))
            .collect()
    }

    /// The ends of every branch, in tree order (oldest branch first).
    pub fn leaves(&self) -> Vec<Uuid> {
        let mut leaves = Vec::new();
        let mut stack: Vec<Uuid> = self.roots.iter().rev().copied().collect();
        while let Some(id) = stack.pop() {
            let children = self.children(Some(id));
            if children.is_empty() {
                leaves.push(id);
            }
            stack.extend(children.iter().rev().copied());
        }
        leaves
    }

    /// Nodes without children: each is the end of one branch.
    pub fn leaf_count(&self) -> usize {
        self.entries
            .values()
            .filter(|e| e.children.is_empty())
            .count()
    }

    /// The strict descendant of `from` with the latest activity mark, if any.
    fn most_recently_active_below(&self, from: Option<Uuid>) -> Option<Uuid> {
        let mut best: Option<(i64, Uuid)> = None;
        let mut stack: Vec<Uuid> = self.children(from).to_vec();
        while let Some(id) = stack.pop() {
            let entry = &self.entries[&id];
            if let Some(at) = entry.link.last_active_at {
                if best.is_none_or(|(best_at, _)| at > best_at) {
                    best = Some((at, id));
                }
            }
            stack.extend(entry.children.iter().copied());
        }
        best.map(|(_, id)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn link(n: u128, parent: Option<u128>, created_at: i64) -> NodeLink {
        NodeLink {
            id: id(n),
            parent_id: parent.map(id),
            created_at,
            last_active_at: None,
        }
    }

    /// 1 ┬ 2 ─ 3
    ///   └ 4 ┬ 5
    ///       └ 6
    fn forked() -> Tree {
        Tree::from_links([
            link(1, None, 1),
            link(2, Some(1), 2),
            link(3, Some(2), 3),
            link(4, Some(1), 4),
            link(5, Some(4), 5),
            link(6, Some(4), 6),
        ])
    }

    #[test]
    fn a_subtree_lists_its_root_then_descendants_in_order() {
        assert_eq!(forked().subtree(id(4)), vec![id(4), id(5), id(6)]);
        assert_eq!(forked().subtree(id(1)).len(), 6);
        assert!(forked().subtree(id(99)).is_empty());
    }

    #[test]
    fn removing_a_subtree_detaches_it_and_reinserting_restores_it() {
        let mut tree = forked();
        let removed = tree.remove_subtree(id(4));
        assert_eq!(removed.len(), 3);
        assert_eq!(tree.len(), 3);
        assert_eq!(tree.children(Some(id(1))), &[id(2)]);
        assert!(!tree.contains(id(5)));
        assert_eq!(tree.descend(None), Some(id(3)));
        for link in removed {
            tree.insert(link);
        }
        assert_eq!(tree.children(Some(id(1))), &[id(2), id(4)]);
        assert_eq!(tree.children(Some(id(4))), &[id(5), id(6)]);
    }

    #[test]
    fn removing_a_root_leaves_the_other_roots() {
        let mut tree = forked();
        tree.insert(link(7, None, 7));
        tree.remove_subtree(id(1));
        assert_eq!(tree.children(None), &[id(7)]);
        assert_eq!(tree.len(), 1);
    }

    #[test]
    fn leaves_are_the_ends_of_branches_in_tree_order() {
        let tree = forked();
        assert_eq!(tree.leaf_count(), 3);
        assert_eq!(tree.leaves(), vec![id(3), id(5), id(6)]);
    }

    /// User 1, reply 2, user 3, reply 4; then reply 2 regenerated as 5 and
    /// user 6 sent under it:
    /// 1 ┬ 2 ─ 3 ─ 4
    ///   └ 5 ─ 6
    fn sample() -> Tree {
        Tree::from_links([
            link(1, None, 10),
            link(2, Some(1), 20),
            link(3, Some(2), 30),
            link(4, Some(3), 40),
            link(5, Some(1), 50),
            link(6, Some(5), 60),
        ])
    }

    #[test]
    fn path_of_a_leaf_runs_from_the_root_down() {
        let tree = sample();
        assert_eq!(tree.path_to(id(4)), vec![id(1), id(2), id(3), id(4)]);
        assert_eq!(tree.path_to(id(6)), vec![id(1), id(5), id(6)]);
        assert!(tree.path_to(id(99)).is_empty());
    }

    #[test]
    fn siblings_are_ordered_oldest_first_whatever_the_input_order() {
        let tree = Tree::from_links([
            link(5, Some(1), 50),
            link(2, Some(1), 20),
            link(1, None, 10),
            link(7, Some(1), 70),
        ]);
        assert_eq!(tree.children(Some(id(1))), &[id(2), id(5), id(7)]);
        assert_eq!(tree.sibling_position(id(5)), Some((2, 3)));
        assert_eq!(tree.sibling_position(id(1)), Some((1, 1)));
    }

    #[test]
    fn roots_are_siblings_of_each_other() {
        let tree = Tree::from_links([link(1, None, 10), link(2, None, 20)]);
        assert_eq!(tree.sibling_position(id(2)), Some((2, 2)));
        assert_eq!(tree.path_to(id(2)), vec![id(2)]);
    }

    #[test]
    fn descent_without_history_follows_the_newest_child() {
        let tree = sample();
        assert_eq!(tree.descend(Some(id(1))), Some(id(6)));
        assert_eq!(tree.descend(Some(id(2))), Some(id(4)));
        assert_eq!(tree.descend(None), Some(id(6)));
        assert_eq!(tree.descend(Some(id(4))), Some(id(4)));
    }

    #[test]
    fn descent_prefers_the_most_recently_selected_branch() {
        let mut tree = sample();
        tree.mark_active(id(4), 100);
        assert_eq!(tree.descend(Some(id(1))), Some(id(4)));
        tree.mark_active(id(6), 200);
        assert_eq!(tree.descend(Some(id(1))), Some(id(6)));
        // Going back into the older branch from its own root still finds its leaf.
        assert_eq!(tree.descend(Some(id(2))), Some(id(4)));
    }

    #[test]
    fn descent_continues_below_a_selected_node_that_gained_children() {
        let mut tree = sample();
        tree.mark_active(id(3), 100);
        assert_eq!(tree.descend(Some(id(1))), Some(id(4)));
    }

    #[test]
    fn a_new_mark_wins_even_with_an_earlier_clock() {
        let mut tree = sample();
        tree.mark_active(id(4), 500);
        let stamp = tree.mark_active(id(6), 100).expect("node exists");
        assert!(stamp > 500);
        assert_eq!(tree.descend(None), Some(id(6)));
    }

    #[test]
    fn initial_leaf_uses_the_stored_leaf_and_falls_back_when_it_is_gone() {
        let tree = sample();
        assert_eq!(tree.initial_leaf(Some(id(4))), Some(id(4)));
        assert_eq!(tree.initial_leaf(Some(id(3))), Some(id(4)));
        assert_eq!(tree.initial_leaf(Some(id(99))), Some(id(6)));
        assert_eq!(tree.initial_leaf(None), Some(id(6)));
        assert_eq!(Tree::default().initial_leaf(None), None);
    }

    #[test]
    fn the_branch_through_a_node_keeps_the_shown_leaf_when_it_passes_there() {
        let tree = sample();
        let shown = tree.initial_leaf(None);
        let on_it = tree.path_to(shown.expect("a leaf"))[0];
        assert_eq!(tree.leaf_through(shown, on_it), shown);
        assert_eq!(tree.leaf_through(Some(id(6)), id(2)), Some(id(4)));
        for node in [id(3), id(4), id(5), id(6)] {
            let leaf = tree.leaf_through(shown, node).expect("a leaf");
            assert!(tree.path_to(leaf).contains(&node), "{node}");
            assert!(tree.children(Some(leaf)).is_empty(), "{leaf} is a leaf");
        }
    }

    #[test]
    fn nodes_with_a_missing_parent_become_roots_instead_of_vanishing() {
        let tree = Tree::from_links([link(1, None, 10), link(3, Some(2), 30)]);
        assert_eq!(tree.children(None), &[id(1), id(3)]);
        assert_eq!(tree.path_to(id(3)), vec![id(3)]);
    }

    #[test]
    fn inserting_keeps_children_sorted_and_ignores_duplicates() {
        let mut tree = sample();
        tree.insert(link(8, Some(1), 5)); // an out-of-order timestamp sorts first
        tree.insert(link(8, Some(3), 90)); // same id again: ignored
        assert_eq!(tree.children(Some(id(1))), &[id(8), id(2), id(5)]);
        assert_eq!(tree.len(), 7);
    }
}
