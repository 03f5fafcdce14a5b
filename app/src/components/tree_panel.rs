//! The tree panel: every node of the conversation drawn as a small SVG
//! graph, the displayed branch highlighted and the selected node ringed;
//! clicking (or Enter on) a node shows its branch.

use crate::components::branch_list::BranchList;
use crate::model::Role;
use crate::state::chat::{use_chat, ChatState};
use crate::tree_layout::{Layout, Placement};
use leptos::prelude::*;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

const COLUMN_WIDTH: f64 = 26.0;
const ROW_HEIGHT: f64 = 30.0;
const MARGIN: f64 = 14.0;
const RADIUS: f64 = 7.0;

fn centre(p: &Placement) -> (f64, f64) {
    (
        MARGIN + p.column as f64 * COLUMN_WIDTH,
        MARGIN + p.row as f64 * ROW_HEIGHT,
    )
}

/// Shortens text for a tooltip or label.
pub fn preview(text: &str, max_chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max_chars {
        flat
    } else {
        let cut: String = flat.chars().take(max_chars).collect();
        format!("{cut}…")
    }
}

/// The panel beside the chat.
#[component]
pub fn TreePanel() -> impl IntoView {
    let state = use_chat();
    let layout = Memo::new(move |_| state.tree.with(Layout::of));
    let on_path = Memo::new(move |_| state.path().into_iter().collect::<HashSet<Uuid>>());
    let count = move || layout.with(|l| l.nodes.len());
    view! {
        <aside id="tree-panel" class="tree-panel" aria-label="Conversation tree">
            <h2>"Tree " <span class="node-count">{move || format!("({} messages)", count())}</span></h2>
            <BranchList/>
            <div class="tree-scroll">
                {move || {
                    let layout = layout.get();
                    let width = 2.0 * MARGIN + layout.columns.saturating_sub(1) as f64 * COLUMN_WIDTH;
                    let height = 2.0 * MARGIN + layout.rows.saturating_sub(1) as f64 * ROW_HEIGHT;
                    let cells: HashMap<Uuid, Placement> =
                        layout.nodes.iter().map(|p| (p.id, *p)).collect();
                    let edges = layout
                        .nodes
                        .iter()
                        .filter_map(|p| {
                            let parent = cells.get(&p.parent_id?)?;
                            let (px, py) = centre(parent);
                            let (x, y) = centre(p);
                            let id = p.id;
                            let mid = y - ROW_HEIGHT / 2.0;
                            Some(view! {
                                <path
                                    class="edge"
                                    class:on-path=move || on_path.with(|s| s.contains(&id))
                                    d=format!("M{px} {py} V{mid} H{x} V{y}")
                                ></path>
                            })
                        })
                        .collect_view();
                    let nodes = layout
                        .nodes
                        .iter()
                        .map(|p| view! { <TreeNode placement=*p state on_path/> })
                        .collect_view();
                    view! {
                        <svg
                            class="tree"
                            width=width
                            height=height
                            viewBox=format!("0 0 {width} {height}")
                            role="group"
                            aria-label="Messages as a tree"
                        >
                            {edges}
                            {nodes}
                        </svg>
                    }
                }}
            </div>
        </aside>
    }
    .into_any()
}

/// One node of the drawing.
#[component]
fn TreeNode(placement: Placement, state: ChatState, on_path: Memo<HashSet<Uuid>>) -> impl IntoView {
    let id = placement.id;
    let (x, y) = centre(&placement);
    let message = state.message(id);
    let role = message.as_ref().map_or(Role::User, |m| m.role);
    let content = message.map(|m| m.content);
    let label = move || {
        let text = content.as_ref().map(|c| c.get()).unwrap_or_default();
        format!("{}: {}", role.as_str(), preview(&text, 80))
    };
    let tooltip = label.clone();
    let is_selected = move || state.selected.get().or(state.active_leaf.get()) == Some(id);
    let pick = move || {
        state.selected.set(Some(id));
        state.show_branch_of(id);
        scroll_message_into_view(id);
    };
    view! {
        <g
            class=format!("tree-node {}", role.as_str())
            class:on-path=move || on_path.with(|s| s.contains(&id))
            class:selected=is_selected
            data-node-id=id.to_string()
            transform=format!("translate({x} {y})")
            tabindex="0"
            role="button"
            aria-label=label
            on:click=move |_| pick()
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Enter" || ev.key() == " " {
                    ev.prevent_default();
                    pick();
                }
            }
        >
            <circle class="ring" r=RADIUS + 3.5></circle>
            <circle class="dot" r=RADIUS></circle>
            <title>{tooltip}</title>
        </g>
    }
}

#[cfg(feature = "hydrate")]
fn scroll_message_into_view(id: Uuid) {
    request_animation_frame(move || {
        let selector = format!("article[data-id=\"{id}\"]");
        if let Some(element) = document().query_selector(&selector).ok().flatten() {
            element.scroll_into_view();
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn scroll_message_into_view(_id: Uuid) {}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn previews_flatten_whitespace_and_cut_long_text() {
        assert_eq!(preview("a\n\n b", 10), "a b");
        assert_eq!(preview("abcdefghij", 4), "abcd…");
    }
}
