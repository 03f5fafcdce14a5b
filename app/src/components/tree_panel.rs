//! The tree panel beside the chat: the named branches, a toolbar (zoom,
//! fit, collapse, full screen), the interactive drawing and a line that
//! lists its keys.

use crate::components::branch_list::BranchList;
use crate::components::tree_canvas::{TreeCanvas, TreeView};
use crate::state::chat::use_chat;
use leptos::prelude::*;

/// The panel beside the chat.
#[component]
pub fn TreePanel() -> impl IntoView {
    let state = use_chat();
    let view = TreeView::new(state);
    let count = move || state.tree.with(|t| t.len());
    let folded = move || {
        view.current
            .get()
            .is_some_and(|id| view.collapsed.with(|c| c.contains(&id)))
    };
    let full = view.full_screen;
    view! {
        <aside
            id="tree-panel"
            class="tree-panel"
            class:full-screen=move || full.get()
            aria-label="Conversation tree"
        >
            <h2>"Tree " <span class="node-count">{move || format!("({} messages)", count())}</span></h2>
            <BranchList/>
            <div class="tree-toolbar" role="toolbar" aria-label="Tree view">
                <button aria-label="Zoom out" on:click=move |_| view.zoom(0.8)>"−"</button>
                <span class="zoom-level" aria-live="polite">
                    {move || format!("{:.0}%", view.viewport.get().scale * 100.0)}
                </span>
                <button aria-label="Zoom in" on:click=move |_| view.zoom(1.25)>"+"</button>
                <button on:click=move |_| view.fit()>"Fit"</button>
                <button
                    disabled=move || view.current.get().is_none()
                    on:click=move |_| {
                        if let Some(id) = view.current.get_untracked() {
                            view.toggle_collapsed(id);
                        }
                    }
                >
                    {move || if folded() { "Expand" } else { "Collapse" }}
                </button>
                <button
                    class="full-screen-toggle"
                    aria-pressed=move || full.get().to_string()
                    on:click=move |_| view.toggle_full_screen()
                >
                    {move || if full.get() { "Exit full screen" } else { "Full screen" }}
                </button>
            </div>
            <TreeCanvas view/>
            <p id="tree-keys" class="tree-keys">
                "Keys: ↑ parent · ↓ child · ← → siblings · Home/End branch start/end · "
                "Enter show branch · Space collapse/expand · + − zoom · 0 fit · F full screen"
            </p>
        </aside>
    }
    .into_any()
}
