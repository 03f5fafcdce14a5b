//! Moving through the drawn tree with the keyboard: up to the parent, down
//! to a child, sideways to siblings. Moves follow what the layout shows, so
//! a collapsed node has no child to move to.

use crate::domain::tree::Tree;
use crate::tree_view::layout::Layout;
use uuid::Uuid;

/// One keyboard move in the tree drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeMove {
    Parent,
    /// The child on the way to the branch that node would show.
    Child,
    PreviousSibling,
    NextSibling,
    /// The first message of the node's branch.
    Root,
    /// The last shown message of the node's branch.
    BranchEnd,
}

impl TreeMove {
    /// The move a key stands for (drawing: depth goes down, branches right).
    pub fn from_key(key: &str) -> Option<TreeMove> {
        Some(match key {
            "ArrowUp" => TreeMove::Parent,
            "ArrowDown" => TreeMove::Child,
            "ArrowLeft" => TreeMove::PreviousSibling,
            "ArrowRight" => TreeMove::NextSibling,
            "Home" => TreeMove::Root,
            "End" => TreeMove::BranchEnd,
            _ => return None,
        })
    }
}

/// Where `movement` goes from `from`; `None` when there is nowhere to go.
pub fn step(tree: &Tree, layout: &Layout, from: Uuid, movement: TreeMove) -> Option<Uuid> {
    layout.placement(from)?;
    match movement {
        TreeMove::Parent => tree.parent(from),
        TreeMove::Child => child_toward_branch(tree, layout, from),
        TreeMove::PreviousSibling | TreeMove::NextSibling => {
            let siblings = tree.siblings(from);
            let index = siblings.iter().position(|s| *s == from)?;
            let next = match movement {
                TreeMove::PreviousSibling => index.checked_sub(1)?,
                _ => index + 1,
            };
            siblings.get(next).copied()
        }
        TreeMove::Root => tree.path_to(from).first().copied().filter(|r| *r != from),
        TreeMove::BranchEnd => {
            let mut end = from;
            while let Some(child) = child_toward_branch(tree, layout, end) {
                end = child;
            }
            Some(end).filter(|e| *e != from)
        }
    }
}

fn child_toward_branch(tree: &Tree, layout: &Layout, from: Uuid) -> Option<Uuid> {
    if layout.placement(from)?.hidden > 0 {
        return None;
    }
    let leaf = tree.descend(Some(from))?;
    let path = tree.path_to(leaf);
    let at = path.iter().position(|n| *n == from)?;
    path.get(at + 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tree::NodeLink;
    use std::collections::HashSet;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// 1 ┬ 2 ─ 3
    ///   └ 4 ─ 5 (4's branch was shown last)
    fn sample() -> Tree {
        let links = [
            (1, None),
            (2, Some(1)),
            (3, Some(2)),
            (4, Some(1)),
            (5, Some(4)),
        ];
        let mut tree = Tree::from_links(links.iter().enumerate().map(|(i, (n, p))| NodeLink {
            id: id(*n),
            parent_id: p.map(id),
            created_at: i as i64,
            last_active_at: None,
        }));
        tree.mark_active(id(3), 10);
        tree.mark_active(id(5), 20);
        tree
    }

    fn go(tree: &Tree, from: u128, movement: TreeMove) -> Option<u128> {
        step(tree, &Layout::of(tree), id(from), movement).map(|u| u.as_u128())
    }

    #[test]
    fn up_and_sideways_follow_parents_and_siblings() {
        let tree = sample();
        assert_eq!(go(&tree, 3, TreeMove::Parent), Some(2));
        assert_eq!(go(&tree, 1, TreeMove::Parent), None);
        assert_eq!(go(&tree, 2, TreeMove::NextSibling), Some(4));
        assert_eq!(go(&tree, 4, TreeMove::NextSibling), None);
        assert_eq!(go(&tree, 4, TreeMove::PreviousSibling), Some(2));
        assert_eq!(go(&tree, 2, TreeMove::PreviousSibling), None);
        assert_eq!(go(&tree, 5, TreeMove::Root), Some(1));
        assert_eq!(go(&tree, 1, TreeMove::Root), None);
    }

    #[test]
    fn down_goes_toward_the_branch_shown_last() {
        let tree = sample();
        assert_eq!(go(&tree, 1, TreeMove::Child), Some(4));
        assert_eq!(go(&tree, 2, TreeMove::Child), Some(3));
        assert_eq!(go(&tree, 3, TreeMove::Child), None);
        assert_eq!(go(&tree, 1, TreeMove::BranchEnd), Some(5));
    }

    #[test]
    fn a_collapsed_node_has_no_child_to_move_to() {
        let tree = sample();
        let collapsed: HashSet<Uuid> = [id(4)].into_iter().collect();
        let layout = Layout::with_collapsed(&tree, &collapsed);
        assert_eq!(step(&tree, &layout, id(4), TreeMove::Child), None);
        assert_eq!(
            step(&tree, &layout, id(1), TreeMove::BranchEnd),
            Some(id(4))
        );
        // A hidden node cannot be moved from.
        assert_eq!(step(&tree, &layout, id(5), TreeMove::Parent), None);
    }

    #[test]
    fn keys_map_to_moves() {
        assert_eq!(TreeMove::from_key("ArrowUp"), Some(TreeMove::Parent));
        assert_eq!(TreeMove::from_key("End"), Some(TreeMove::BranchEnd));
        assert_eq!(TreeMove::from_key("x"), None);
    }
}
