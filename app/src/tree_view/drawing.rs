//! The tree as a handful of SVG paths: one path for all edges, one per
//! role for the dots, one per unfinished status for rings. Thousands of
//! nodes cost a few DOM elements, and a point of the drawing maps back to
//! its node by arithmetic, so clicks and hovers need no element per node.

use crate::domain::model::{MessageStatus, Role};
use crate::tree_view::layout::{Layout, Placement};
use std::collections::HashSet;
use std::fmt::Write;
use uuid::Uuid;

pub const COLUMN_WIDTH: f64 = 26.0;
pub const ROW_HEIGHT: f64 = 30.0;
pub const MARGIN: f64 = 14.0;
pub const RADIUS: f64 = 7.0;

/// The roles and statuses drawn with their own path (and CSS class).
pub const ROLES: [Role; 4] = [Role::System, Role::User, Role::Assistant, Role::Tool];
pub const MARKED_STATUSES: [MessageStatus; 3] = [
    MessageStatus::Streaming,
    MessageStatus::Interrupted,
    MessageStatus::Error,
];

/// The centre of a node's dot.
pub fn centre(p: &Placement) -> (f64, f64) {
    (
        MARGIN + p.column as f64 * COLUMN_WIDTH,
        MARGIN + p.row as f64 * ROW_HEIGHT,
    )
}

/// Width and height of the whole drawing.
pub fn size(layout: &Layout) -> (f64, f64) {
    (
        2.0 * MARGIN + layout.columns.saturating_sub(1) as f64 * COLUMN_WIDTH,
        2.0 * MARGIN + layout.rows.saturating_sub(1) as f64 * ROW_HEIGHT,
    )
}

/// The node whose dot is within `reach` of a drawing point.
pub fn node_at(layout: &Layout, point: (f64, f64), reach: f64) -> Option<Uuid> {
    let column = ((point.0 - MARGIN) / COLUMN_WIDTH).round();
    let row = ((point.1 - MARGIN) / ROW_HEIGHT).round();
    if column < 0.0 || row < 0.0 {
        return None;
    }
    let placement = layout.at(column as usize, row as usize)?;
    let (x, y) = centre(placement);
    let reach = reach.min(COLUMN_WIDTH / 2.0);
    ((point.0 - x).hypot(point.1 - y) <= reach).then_some(placement.id)
}

/// Edges from each drawn node in `nodes` up to its parent.
pub fn edges_path<'a>(layout: &Layout, nodes: impl Iterator<Item = &'a Placement>) -> String {
    let mut d = String::new();
    for p in nodes {
        let Some(parent) = p.parent_id.and_then(|id| layout.placement(id)) else {
            continue;
        };
        let (px, py) = centre(parent);
        let (x, y) = centre(p);
        let mid = y - ROW_HEIGHT / 2.0;
        _ = write!(d, "M{px} {py}V{mid}H{x}V{y}");
    }
    d
}

/// Circles of `radius` around each node in `nodes`, as one path.
pub fn circles_path<'a>(nodes: impl Iterator<Item = &'a Placement>, radius: f64) -> String {
    let mut d = String::new();
    for p in nodes {
        let (x, y) = centre(p);
        _ = write!(
            d,
            "M{} {y}a{radius} {radius} 0 1 0 {} 0a{radius} {radius} 0 1 0 {} 0",
            x - radius,
            2.0 * radius,
            -2.0 * radius
        );
    }
    d
}

/// The paths that depend on the tree's shape and each node's role and
/// status (not on the displayed branch, which is drawn over them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drawing {
    pub edges: String,
    /// Dots, by role, in the order of [`ROLES`].
    pub dots: Vec<String>,
    /// Rings around unfinished replies, in the order of [`MARKED_STATUSES`].
    pub status_rings: Vec<String>,
}

impl Drawing {
    /// Draws `layout`; `look` gives a node's role and status.
    pub fn of(layout: &Layout, look: impl Fn(Uuid) -> Option<(Role, MessageStatus)>) -> Drawing {
        let looks: Vec<(Role, MessageStatus)> = layout
            .nodes
            .iter()
            .map(|p| look(p.id).unwrap_or((Role::User, MessageStatus::Complete)))
            .collect();
        let with = |keep: &dyn Fn(&(Role, MessageStatus)) -> bool, radius: f64| {
            circles_path(
                layout
                    .nodes
                    .iter()
                    .zip(&looks)
                    .filter(|(_, l)| keep(l))
                    .map(|(p, _)| p),
                radius,
            )
        };
        Drawing {
            edges: edges_path(layout, layout.nodes.iter()),
            dots: ROLES
                .iter()
                .map(|role| with(&|l| l.0 == *role, RADIUS))
                .collect(),
            status_rings: MARKED_STATUSES
                .iter()
                .map(|status| with(&|l| l.1 == *status, RADIUS + 3.0))
                .collect(),
        }
    }
}

/// The displayed branch drawn over the tree: its edges and rings.
pub fn branch_paths(layout: &Layout, on_branch: &HashSet<Uuid>) -> (String, String) {
    let nodes = || layout.nodes.iter().filter(|p| on_branch.contains(&p.id));
    (
        edges_path(layout, nodes()),
        circles_path(nodes(), RADIUS + 1.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tree::{NodeLink, Tree};

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// 1 ┬ 2
    ///   └ 3
    fn fork() -> Layout {
        let links = [(1, None), (2, Some(1)), (3, Some(1))];
        Layout::of(&Tree::from_links(links.iter().enumerate().map(
            |(i, (n, p))| NodeLink {
                id: id(*n),
                parent_id: p.map(id),
                created_at: i as i64,
                last_active_at: None,
            },
        )))
    }

    #[test]
    fn a_point_maps_back_to_the_node_drawn_there() {
        let layout = fork();
        let third = *layout.placement(id(3)).expect("placed");
        let (x, y) = centre(&third);
        assert_eq!(node_at(&layout, (x + 3.0, y - 3.0), RADIUS), Some(id(3)));
        assert_eq!(node_at(&layout, (x + 9.0, y), RADIUS), None);
        // An empty cell and a point left of the drawing hit nothing.
        assert_eq!(node_at(&layout, (x, MARGIN), RADIUS), None);
        assert_eq!(node_at(&layout, (-40.0, -40.0), RADIUS), None);
    }

    #[test]
    fn each_role_and_unfinished_status_gets_its_own_path() {
        let layout = fork();
        let drawing = Drawing::of(&layout, |node| {
            Some(match node.as_u128() {
                1 => (Role::User, MessageStatus::Complete),
                2 => (Role::Assistant, MessageStatus::Streaming),
                _ => (Role::Assistant, MessageStatus::Error),
            })
        });
        let circles = |d: &str| d.matches('M').count();
        assert_eq!(circles(&drawing.dots[1]), 1, "user");
        assert_eq!(circles(&drawing.dots[2]), 2, "assistant");
        assert!(drawing.dots[0].is_empty() && drawing.dots[3].is_empty());
        assert_eq!(circles(&drawing.status_rings[0]), 1, "streaming");
        assert!(drawing.status_rings[1].is_empty(), "interrupted");
        assert_eq!(circles(&drawing.status_rings[2]), 1, "error");
        // Two edges, from each child up to the root.
        assert_eq!(drawing.edges.matches('M').count(), 2);
        assert_eq!(size(&layout), (54.0, 58.0));
    }

    #[test]
    fn the_branch_overlay_covers_only_its_nodes() {
        let layout = fork();
        let branch: HashSet<Uuid> = [id(1), id(3)].into_iter().collect();
        let (edges, rings) = branch_paths(&layout, &branch);
        assert_eq!(edges.matches('M').count(), 1);
        assert_eq!(rings.matches('M').count(), 2);
    }
}
