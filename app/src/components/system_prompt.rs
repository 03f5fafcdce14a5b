//! The conversation's system prompt: a header button that opens an editor.
//! Saving applies to replies started afterwards; earlier ones keep theirs.

use crate::components::composer::draft_problem;
use crate::domain::model::MAX_SYSTEM_PROMPT_CHARS;
use crate::functions::conversations::set_system_prompt;
use crate::state::chat::use_chat;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The button and its editor.
#[component]
pub fn SystemPromptEditor() -> impl IntoView {
    let state = use_chat();
    let open = RwSignal::new(false);
    let draft = RwSignal::new(String::new());
    let hint = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let is_set = move || !state.system_prompt.get().is_empty();
    let toggle = move |_| {
        if !open.get_untracked() {
            draft.set(state.system_prompt.get_untracked());
            hint.set(None);
        }
        open.update(|o| *o = !*o);
    };
    let save = move |_| {
        let text = draft.get_untracked();
        // An empty prompt is allowed: it clears the system prompt.
        if let Some(problem) =
            draft_problem(&text, MAX_SYSTEM_PROMPT_CHARS).filter(|_| !text.trim().is_empty())
        {
            hint.set(Some(problem));
            return;
        }
        saving.set(true);
        spawn_local(async move {
            match set_system_prompt(state.conversation_id.to_string(), text.clone()).await {
                Ok(()) => {
                    state.system_prompt.set(text.trim().to_string());
                    open.set(false);
                }
                Err(err) => hint.set(Some(err.to_string())),
            }
            saving.set(false);
        });
    };
    view! {
        <button
            class="system-prompt-toggle"
            class:on=is_set
            aria-expanded=move || open.get().to_string()
            on:click=toggle
        >
            {move || if is_set() { "System prompt · on" } else { "System prompt" }}
        </button>
        <Show when=move || open.get()>
            <div class="system-prompt-editor" role="group" aria-label="System prompt editor">
                <textarea
                    aria-label="System prompt"
                    rows="5"
                    placeholder="For example: You are a concise assistant. Answer in plain English."
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        draft.set(event_target_value(&ev));
                        hint.set(None);
                    }
                ></textarea>
                <p class="muted">
                    "Sent before every message of this conversation. Changes apply to replies started afterwards."
                </p>
                <p class="hint" role="status">{move || hint.get()}</p>
                <div class="message-actions">
                    <button class="save" disabled=move || saving.get() on:click=save>"Save"</button>
                    <button class="cancel" on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </div>
        </Show>
    }
    .into_any()
}
