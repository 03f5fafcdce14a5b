//! Pruning: the dialog that asks before removing a message and everything
//! below it, and the notice that offers to undo it while the server still
//! can.

use crate::components::modal::Modal;
use crate::state::chat::use_chat;
use crate::text::preview::preview;
use leptos::prelude::*;
use uuid::Uuid;

/// Asks before pruning `node`, saying how much goes with it.
#[component]
pub fn ConfirmPrune(node: Uuid) -> impl IntoView {
    let state = use_chat();
    let count = state.tree.with_untracked(|t| t.subtree(node).len());
    let text = state
        .message(node)
        .map(|m| preview(&m.content.get_untracked(), 80))
        .unwrap_or_default();
    let busy = RwSignal::new(false);
    let close = move || state.dialog.set(None);
    let prune = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = state.prune(node).await;
            busy.set(false);
            match result {
                Ok(()) => state.dialog.set(None),
                Err(err) => {
                    state.dialog.set(None);
                    state.error.set(Some(err.to_string()));
                }
            }
        });
    };
    let what = if count == 1 {
        "this message".to_string()
    } else {
        format!("this message and the {} below it", count - 1)
    };
    view! {
        <Modal title="Prune branch" class="prune-dialog" on_close=move |()| close()>
            <p>{format!("Remove {what} from the tree?")}</p>
            <blockquote class="muted">{text}</blockquote>
            <p class="muted">"You can undo this for a minute."</p>
            <div class="modal-actions">
                <button class="danger confirm-prune" disabled=move || busy.get() on:click=prune>
                    {format!("Prune {count} message{}", if count == 1 { "" } else { "s" })}
                </button>
                <button class="cancel" on:click=move |_| close()>"Cancel"</button>
            </div>
        </Modal>
    }
    .into_any()
}

/// "Pruned N messages · Undo", shown until the undo time passes.
#[component]
pub fn UndoPruneNotice() -> impl IntoView {
    let state = use_chat();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        // Hide the notice when the server stops offering the undo.
        if let Some(receipt) = state.last_prune.get() {
            let left = (receipt.undo_until - js_sys::Date::now() as i64).max(0);
            set_timeout(
                move || {
                    if state.last_prune.try_get_untracked().flatten() == Some(receipt) {
                        state.last_prune.set(None);
                    }
                },
                std::time::Duration::from_millis(left as u64),
            );
        }
    });
    let undo = move |_| state.spawn(async move { state.undo_prune().await });
    move || {
        {
            state.last_prune.get().map(|receipt| {
                view! {
                    <div class="undo-notice" role="status">
                        <span>
                            {format!(
                                "Pruned {} message{}.",
                                receipt.removed,
                                if receipt.removed == 1 { "" } else { "s" },
                            )}
                        </span>
                        <button class="undo-prune" on:click=undo>"Undo"</button>
                        <button aria-label="Dismiss" on:click=move |_| state.last_prune.set(None)>
                            "×"
                        </button>
                    </div>
                }
            })
        }
        .into_any()
    }
}
