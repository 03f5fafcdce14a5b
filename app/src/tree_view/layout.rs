//! Grid positions for drawing a conversation tree: depth goes down, branches
//! go right. Each visible leaf gets its own column; a parent sits above its
//! oldest child, so a linear conversation is one straight vertical line.
//! Collapsed nodes hide everything below them.

use crate::domain::tree::Tree;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Where one node is drawn, in grid cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub column: usize,
    pub row: usize,
    /// How many nodes below this one are hidden because it is collapsed.
    pub hidden: usize,
}

/// The placed nodes of a tree plus the size of the grid they occupy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Parents come before their children.
    pub nodes: Vec<Placement>,
    pub columns: usize,
    pub rows: usize,
    /// Position in `nodes` of each placed id.
    index: HashMap<Uuid, usize>,
    /// Position in `nodes` of the node in each (column, row) cell.
    cells: HashMap<(usize, usize), usize>,
}

impl Layout {
    /// Lays out every node of `tree`, nothing hidden.
    #[cfg(test)]
    pub fn of(tree: &Tree) -> Layout {
        Layout::with_collapsed(tree, &HashSet::new())
    }

    /// Lays out the nodes of `tree` that no collapsed node hides.
    pub fn with_collapsed(tree: &Tree, collapsed: &HashSet<Uuid>) -> Layout {
        let mut layout = Layout::default();
        let mut next_column = 0;
        // Iterative depth-first walk: (node, row); a node's column is the
        // next free column when it is reached, and every new child after the
        // first opens a new column.
        let mut stack: Vec<(Uuid, usize)> = tree
            .children(None)
            .iter()
            .rev()
            .map(|id| (*id, 0))
            .collect();
        let mut last_row_placed: Option<usize> = None;
        while let Some((id, row)) = stack.pop() {
            // A node that does not continue the previous node's line starts a new column.
            if last_row_placed.is_some_and(|last| row <= last) {
                next_column += 1;
            }
            let children = tree.children(Some(id));
            let folded = collapsed.contains(&id) && !children.is_empty();
            let hidden = if folded {
                tree.subtree(id).len() - 1
            } else {
                0
            };
            layout.index.insert(id, layout.nodes.len());
            layout.cells.insert((next_column, row), layout.nodes.len());
            layout.nodes.push(Placement {
                id,
                parent_id: tree.parent(id),
                column: next_column,
                row,
                hidden,
            });
            layout.rows = layout.rows.max(row + 1);
            last_row_placed = Some(row);
            if !folded {
                stack.extend(children.iter().rev().map(|c| (*c, row + 1)));
            }
        }
        layout.columns = if layout.nodes.is_empty() {
            0
        } else {
            next_column + 1
        };
        layout
    }

    /// Where `id` is drawn; `None` when it is hidden or unknown.
    pub fn placement(&self, id: Uuid) -> Option<&Placement> {
        self.index.get(&id).map(|i| &self.nodes[*i])
    }

    /// The node drawn in a cell.
    pub fn at(&self, column: usize, row: usize) -> Option<&Placement> {
        self.cells.get(&(column, row)).map(|i| &self.nodes[*i])
    }

    /// `id` if it is drawn, else its nearest drawn ancestor.
    pub fn nearest_shown(&self, tree: &Tree, id: Uuid) -> Option<Uuid> {
        let mut cursor = Some(id);
        while let Some(node) = cursor {
            if self.index.contains_key(&node) {
                return Some(node);
            }
            cursor = tree.parent(node);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tree::NodeLink;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn tree(links: &[(u128, Option<u128>)]) -> Tree {
        Tree::from_links(links.iter().enumerate().map(|(i, (n, p))| NodeLink {
            id: id(*n),
            parent_id: p.map(id),
            created_at: i as i64,
            last_active_at: None,
        }))
    }

    fn cell(layout: &Layout, n: u128) -> (usize, usize) {
        let p = layout.nodes.iter().find(|p| p.id == id(n)).expect("placed");
        (p.column, p.row)
    }

    #[test]
    fn a_linear_conversation_is_one_column() {
        let layout = Layout::of(&tree(&[(1, None), (2, Some(1)), (3, Some(2))]));
        assert_eq!(layout.columns, 1);
        assert_eq!(layout.rows, 3);
        assert_eq!(cell(&layout, 3), (0, 2));
    }

    #[test]
    fn each_branch_opens_a_column_to_the_right() {
        // 1 ┬ 2 ─ 3
        //   ├ 4
        //   └ 5 ─ 6
        let layout = Layout::of(&tree(&[
            (1, None),
            (2, Some(1)),
            (3, Some(2)),
            (4, Some(1)),
            (5, Some(1)),
            (6, Some(5)),
        ]));
        assert_eq!(cell(&layout, 1), (0, 0));
        assert_eq!(cell(&layout, 3), (0, 2));
        assert_eq!(cell(&layout, 4), (1, 1));
        assert_eq!(cell(&layout, 5), (2, 1));
        assert_eq!(cell(&layout, 6), (2, 2));
        assert_eq!((layout.columns, layout.rows), (3, 3));
    }

    #[test]
    fn no_two_nodes_share_a_cell_in_a_bushy_tree() {
        let mut links = vec![(1, None)];
        for n in 2..200u128 {
            links.push((n, Some(n / 3 + 1)));
        }
        let layout = Layout::of(&tree(&links));
        let mut cells: Vec<(usize, usize)> =
            layout.nodes.iter().map(|p| (p.column, p.row)).collect();
        cells.sort();
        cells.dedup();
        assert_eq!(cells.len(), 199);
    }

    #[test]
    fn a_collapsed_node_hides_its_subtree_and_counts_it() {
        // 1 ┬ 2 ─ 3
        //   └ 4
        let t = tree(&[(1, None), (2, Some(1)), (3, Some(2)), (4, Some(1))]);
        let layout = Layout::with_collapsed(&t, &[id(2)].into_iter().collect());
        assert_eq!(layout.nodes.len(), 3);
        assert_eq!(layout.placement(id(2)).map(|p| p.hidden), Some(1));
        assert!(layout.placement(id(3)).is_none());
        assert_eq!(layout.nearest_shown(&t, id(3)), Some(id(2)));
        assert_eq!(cell(&layout, 4), (1, 1));
        assert_eq!(layout.at(1, 1).map(|p| p.id), Some(id(4)));
        assert!(layout.at(0, 2).is_none());
    }

    #[test]
    fn collapsing_a_leaf_hides_nothing() {
        let t = tree(&[(1, None), (2, Some(1))]);
        let layout = Layout::with_collapsed(&t, &[id(2)].into_iter().collect());
        assert_eq!(layout.placement(id(2)).map(|p| p.hidden), Some(0));
    }

    #[test]
    fn several_roots_sit_side_by_side() {
        let layout = Layout::of(&tree(&[(1, None), (2, None)]));
        assert_eq!(cell(&layout, 2), (1, 0));
    }
}
