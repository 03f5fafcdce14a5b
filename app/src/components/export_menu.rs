//! The conversation's Export menu: the whole tree as an Arbor archive, or
//! the shown branch as Markdown or as OpenAI messages. Plain download
//! links, so they work before the page is interactive.

use crate::state::chat::use_chat;
use crate::transfer::{conversation_export_url, ExportFormat};
use leptos::prelude::*;

/// The menu in the chat header.
#[component]
pub fn ExportMenu() -> impl IntoView {
    let state = use_chat();
    let id = state.conversation_id;
    let branch_url = move |format| conversation_export_url(id, format, state.active_leaf.get());
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
                <li role="none">
                    <a role="menuitem" class="export-arbor" download="" on:click=close
                        href=conversation_export_url(id, ExportFormat::Arbor, None)>
                        "Whole tree (Arbor archive)"
                    </a>
                </li>
                <li role="none">
                    <a role="menuitem" class="export-markdown" download="" on:click=close
                        href=move || branch_url(ExportFormat::Markdown)>
                        "This branch as Markdown"
                    </a>
                </li>
                <li role="none">
                    <a role="menuitem" class="export-openai" download="" on:click=close
                        href=move || branch_url(ExportFormat::OpenAi)>
                        "This branch as OpenAI messages"
                    </a>
                </li>
            </ul>
        </details>
    }
    .into_any()
}
