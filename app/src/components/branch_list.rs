//! The named branches of the conversation, main first: each one a button
//! that shows it.

use crate::state::chat::use_chat;
use leptos::prelude::*;

/// The list, in the tree panel; nothing when no branch has a name.
#[component]
pub fn BranchList() -> impl IntoView {
    let state = use_chat();
    let entries = Memo::new(move |_| {
        let main = state.main_node.get();
        let mut entries: Vec<(uuid::Uuid, String, bool)> = state
            .labels
            .get()
            .into_iter()
            .map(|l| (l.node_id, l.name, Some(l.node_id) == main))
            .collect();
        if let Some(main) = main.filter(|m| !entries.iter().any(|(n, _, _)| n == m)) {
            entries.push((main, "main".into(), true));
        }
        entries.sort_by_key(|(_, _, is_main)| !is_main);
        entries
    });
    view! {
        <Show when=move || !entries.with(Vec::is_empty)>
            <nav class="branch-list" aria-label="Named branches">
                <h3>"Branches"</h3>
                <ul>
                    <For each=move || entries.get() key=|entry| entry.clone() let:entry>
                        {
                            let (node, name, is_main) = entry;
                            view! {
                                <li>
                                    <button
                                        class="jump-to-branch"
                                        class:main=is_main
                                        on:click=move |_| {
                                            state.selected.set(Some(node));
                                            state.show_branch_of(node);
                                        }
                                    >
                                        {if is_main { format!("★ {name}") } else { name }}
                                    </button>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </nav>
        </Show>
    }
    .into_any()
}
