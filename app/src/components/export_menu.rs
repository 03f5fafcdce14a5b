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
    view! {
        <details class="export-menu">
            <summary title="Download this conversation">"Export"</summary>
            <ul class="export-options" role="menu">
                <li role="none">
                    <a role="menuitem" class="export-arbor" download=""
                        href=conversation_export_url(id, ExportFormat::Arbor, None)>
                        "Whole tree (Arbor archive)"
                    </a>
                </li>
                <li role="none">
                    <a role="menuitem" class="export-markdown" download=""
                        href=move || branch_url(ExportFormat::Markdown)>
                        "This branch as Markdown"
                    </a>
                </li>
                <li role="none">
                    <a role="menuitem" class="export-openai" download=""
                        href=move || branch_url(ExportFormat::OpenAi)>
                        "This branch as OpenAI messages"
                    </a>
                </li>
            </ul>
        </details>
    }
    .into_any()
}
