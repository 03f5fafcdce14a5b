//! `< n/m >`: switches between a message and its siblings (its edits or
//! regenerations).

use crate::state::chat::use_chat;
use leptos::prelude::*;
use uuid::Uuid;

/// Sibling navigation for one message; renders nothing for an only child.
#[component]
pub fn SiblingNav(id: Uuid) -> impl IntoView {
    let state = use_chat();
    let position = Memo::new(move |_| state.tree.with(|t| t.sibling_position(id)));
    move || {
        position
            .get()
            .filter(|(_, total)| *total > 1)
            .map(|(index, total)| {
                view! {
                    <nav class="siblings" aria-label="Versions of this message">
                        <button
                            class="sibling-prev"
                            aria-label="Previous version"
                            disabled=move || index == 1 || !state.outline_complete.get()
                            on:click=move |_| state.show_sibling(id, -1)
                        >
                            "<"
                        </button>
                        <span class="sibling-pos">{format!("{index}/{total}")}</span>
                        <button
                            class="sibling-next"
                            aria-label="Next version"
                            disabled=move || index == total || !state.outline_complete.get()
                            on:click=move |_| state.show_sibling(id, 1)
                        >
                            ">"
                        </button>
                    </nav>
                }
            })
    }
}
