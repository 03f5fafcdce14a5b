//! Holds back its children until the page has the texts of some messages,
//! fetching those it has not got (the page starts with only the newest
//! messages of the shown branch).

use crate::state::chat::use_chat;
use leptos::prelude::*;
use uuid::Uuid;

/// Shows `children` once every message in `ids` is loaded, "Loading…" before.
#[component]
pub fn WhenLoaded(ids: Vec<Uuid>, children: ChildrenFn) -> impl IntoView {
    let state = use_chat();
    let wanted = ids.clone();
    Effect::new(move |_| {
        let ids = wanted.clone();
        state.spawn(async move { state.load(&ids).await });
    });
    let ready = move || ids.iter().all(|id| state.is_loaded(*id));
    view! {
        <Show when=ready fallback=|| view! { <p class="loading muted">"Loading…"</p> }>
            {children()}
        </Show>
    }
    .into_any()
}
