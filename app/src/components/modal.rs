//! A modal dialog over the page: a labelled box that takes focus when it
//! opens and closes with Escape, the × button or a click outside it.

use leptos::prelude::*;

/// The dialog; `class` names it for styling and tests.
#[component]
pub fn Modal(
    #[prop(into)] title: String,
    #[prop(into)] class: String,
    #[prop(into)] on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(element) = dialog.get() {
            _ = element.focus();
        }
    });
    let label = title.clone();
    view! {
        <div class="modal-backdrop" on:click=move |_| on_close.run(())>
            <div
                class=format!("modal {class}")
                role="dialog"
                aria-modal="true"
                aria-label=label
                tabindex="-1"
                node_ref=dialog
                on:click=|ev| ev.stop_propagation()
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        ev.prevent_default();
                        on_close.run(());
                    }
                }
            >
                <header class="modal-header">
                    <h2>{title}</h2>
                    <button class="modal-close" aria-label="Close" on:click=move |_| on_close.run(())>
                        "×"
                    </button>
                </header>
                <div class="modal-body">{children()}</div>
            </div>
        </div>
    }
    .into_any()
}
