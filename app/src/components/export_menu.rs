//! The conversation's Export menu: the whole tree as an Arbor archive, or
//! the shown branch as Markdown or as OpenAI messages. Plain download
//! links, so they work before the page is interactive.

use crate::domain::transfer::{conversation_export_url, ExportFormat};
use crate::state::chat::use_chat;
use leptos::prelude::*;

/// The menu's downloads, in order.
const OPTIONS: [(ExportFormat, &str); 3] = [
    (ExportFormat::Arbor, "Whole tree (Arbor archive)"),
    (ExportFormat::Markdown, "This branch as Markdown"),
    (ExportFormat::OpenAi, "This branch as OpenAI messages"),
];

/// The menu in the chat header.
#[component]
pub fn ExportMenu() -> impl IntoView {
    let state = use_chat();
    let id = state.conversation_id;
    // The whole tree needs no leaf; a branch is the one shown.
    let download_url = move |format| {
        let leaf = (format != ExportFormat::Arbor)
            .then(|| state.active_leaf.get())
            .flatten();
        conversation_export_url(id, format, leaf)
    };
    let menu = NodeRef::<leptos::html::Details>::new();
    // A download leaves the page where it is: close the menu.
    let close = move |_: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        if let Some(menu) = menu.get_untracked() {
            menu.set_open(false);
        }
    };
    view! {
        <details class="export-menu" node_ref=menu>
            <summary title="Download this conversation">"Export"</summary>
            <ul class="export-options" role="menu">
                {OPTIONS
                    .into_iter()
                    .map(|(format, label)| view! {
                        <li role="none">
                            <a role="menuitem" download="" on:click=close href=move || download_url(format)>
                                {label}
                            </a>
                        </li>
                    })
                    .collect_view()}
            </ul>
        </details>
    }
    .into_any()
}
