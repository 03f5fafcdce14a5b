//! The message box: Enter sends, Shift+Enter breaks the line, empty or
//! over-long text gets a hint instead of a request, and while a reply
//! streams the Send button becomes Stop.
//!
//! It is also a plain HTML form: before the page's code has arrived, or
//! with scripts off, Send posts it to `action` (see [`crate::domain::forms`]), which stores the message, starts the reply and shows
//! the conversation again. Text typed before the app takes over is kept.

use crate::components::typed_text::keep_typed_text;
use crate::domain::forms::field;
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use uuid::Uuid;

/// Why a draft cannot be sent yet, in words for the user.
pub fn draft_problem(text: &str, max_chars: usize) -> Option<String> {
    if text.trim().is_empty() {
        Some("Type a message first.".to_string())
    } else if text.chars().count() > max_chars {
        Some(format!(
            "This message is too long: {} characters, the limit is {max_chars}.",
            text.chars().count()
        ))
    } else {
        None
    }
}

/// The composer. `draft` is owned by the caller, which clears it once the
/// message is stored, so a failed send loses nothing.
#[component]
pub fn Composer(
    draft: RwSignal<String>,
    #[prop(into)] on_send: Callback<String>,
    /// A reply on the displayed branch is streaming: show Stop instead of Send.
    #[prop(into)]
    streaming: Signal<bool>,
    #[prop(into)] on_stop: Callback<()>,
    /// A send is in flight.
    #[prop(into)]
    sending: Signal<bool>,
    max_chars: usize,
    #[prop(optional)] autofocus: bool,
    /// Where the form posts without the app.
    #[prop(into)]
    action: String,
    /// The message a plain post answers: the shown branch's last one.
    #[prop(optional, into)]
    parent: Option<Signal<Option<Uuid>>>,
) -> impl IntoView {
    let hint = RwSignal::new(None::<String>);
    let field_ref = NodeRef::<leptos::html::Textarea>::new();
    keep_typed_text(field_ref, draft, |_| {});
    let submit = move || {
        if sending.get_untracked() {
            return;
        }
        if streaming.get_untracked() {
            hint.set(Some(
                "A reply is still being written: wait for it, or press Stop.".into(),
            ));
            return;
        }
        let text = draft.get_untracked();
        match draft_problem(&text, max_chars) {
            Some(problem) => hint.set(Some(problem)),
            None => {
                hint.set(None);
                on_send.run(text);
            }
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    view! {
        <form
            class="composer"
            method="post"
            action=action
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            {parent.map(|parent| {
                let value = move || parent.get().map(|id| id.to_string()).unwrap_or_default();
                view! { <input type="hidden" name=field::PARENT value=value/> }
            })}
            <textarea
                class="composer-input"
                name=field::TEXT
                aria-label="Message"
                placeholder="Message Arbor (Enter to send, Shift+Enter for a new line)"
                rows="3"
                autofocus=autofocus
                node_ref=field_ref
                on:input=move |ev| {
                    draft.set(event_target_value(&ev));
                    hint.set(None);
                }
                on:keydown=on_keydown
            ></textarea>
            <div class="composer-actions">
                <p class="hint" role="status" aria-live="polite">
                    {move || hint.get()}
                </p>
                <Show
                    when=move || streaming.get()
                    fallback=move || {
                        view! {
                            <button type="submit" class="send" disabled=move || sending.get()>
                                "Send"
                            </button>
                        }
                    }
                >
                    <button type="button" class="stop" on:click=move |_| on_stop.run(())>
                        "Stop"
                    </button>
                </Show>
            </div>
        </form>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_blank_drafts_are_refused_with_a_hint() {
        assert!(draft_problem("", 10).is_some());
        assert!(draft_problem("  \n\t", 10).is_some());
    }

    #[test]
    fn drafts_over_the_limit_are_refused_counting_characters_not_bytes() {
        assert!(draft_problem("ééééé", 5).is_none());
        let problem = draft_problem("ééééé!", 5).expect("too long");
        assert!(problem.contains("limit is 5"), "{problem}");
    }
}
