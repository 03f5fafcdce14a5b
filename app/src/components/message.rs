//! One message of the displayed branch: its text (markdown for replies),
//! its status, `< n/m >`, and the actions on it (edit a user message,
//! regenerate a reply).

use crate::components::sibling_nav::SiblingNav;
use crate::domain::model::{MessageStatus, Role};
use crate::state::chat::{use_chat, ChatDialog, LiveMessage};
use crate::text::markdown::render_markdown;
use leptos::prelude::*;
use uuid::Uuid;

/// What to say under a reply that did not complete, when the server gave no reason.
fn default_note(status: MessageStatus) -> Option<&'static str> {
    match status {
        MessageStatus::Interrupted => Some("Stopped before the end."),
        MessageStatus::Error => Some("The model failed before finishing this reply."),
        MessageStatus::Complete | MessageStatus::Streaming => None,
    }
}

/// The element id of a message on the page: a link ending `#<anchor>`
/// opens the page scrolled to it before any script runs.
pub fn anchor(id: Uuid) -> String {
    format!("m-{id}")
}

/// Scrolls the chat so the message `id` is in view, once it is drawn with
/// its text (for up to about two seconds of frames).
#[cfg(feature = "hydrate")]
pub fn scroll_message_into_view(id: Uuid) {
    scroll_when_drawn(id, 120);
}

#[cfg(feature = "hydrate")]
fn scroll_when_drawn(id: Uuid, frames_left: u32) {
    request_animation_frame(move || {
        let selector = format!("article[data-id=\"{id}\"]");
        match document().query_selector(&selector).ok().flatten() {
            Some(element) if element.get_attribute("aria-busy").is_none() => {
                element.scroll_into_view();
            }
            _ if frames_left > 0 => scroll_when_drawn(id, frames_left - 1),
            _ => {}
        }
    });
}

#[cfg(not(feature = "hydrate"))]
pub fn scroll_message_into_view(_id: Uuid) {}

/// A message in the chat column; a placeholder while its text loads.
#[component]
pub fn MessageItem(id: Uuid) -> impl IntoView {
    let state = use_chat();
    let Some(loaded) = state.message(id).map(|m| m.loaded) else {
        return ().into_any();
    };
    let role = state.look(id).map(|(role, _)| role.as_str()).unwrap_or("");
    (move || {
        if loaded.get() {
            view! { <LoadedMessage id/> }.into_any()
        } else {
            view! {
                <article class="message loading" data-id=id.to_string() data-role=role aria-busy="true">
                    <p class="muted">"Loading…"</p>
                </article>
            }
            .into_any()
        }
    })
    .into_any()
}

/// A message whose text is here.
#[component]
fn LoadedMessage(id: Uuid) -> impl IntoView {
    let state = use_chat();
    let Some(message) = state.message(id) else {
        return ().into_any();
    };
    let role = message.role;
    let status = message.status.clone();
    let class = move || format!("message {} {}", role.as_str(), status.get().as_str());
    let is_selected = move || state.selected.get() == Some(id);
    let author = match role {
        Role::User => "You".to_string(),
        Role::Assistant => message.model.clone().unwrap_or_else(|| "Assistant".into()),
        Role::System => "System".to_string(),
        Role::Tool => format!(
            "Tool · {}",
            message.model.clone().unwrap_or_else(|| "result".into())
        ),
    };
    view! {
        <article
            class=class
            class:selected=is_selected
            id=anchor(id)
            data-id=id.to_string()
            data-role=role.as_str()
            aria-label=format!("{} message", role.as_str())
        >
            <header class="message-header">
                <span class="author">{author}</span>
                <SiblingNav id/>
            </header>
            {match role {
                Role::User => view! { <UserBody message=message.clone()/> }.into_any(),
                Role::Tool => view! { <ToolResult message=message.clone()/> }.into_any(),
                _ => view! { <ReplyBody message=message.clone()/> }.into_any(),
            }}
        </article>
    }
    .into_any()
}

/// Asks to prune message `id` and everything below it.
#[component]
fn PruneButton(id: Uuid, title: &'static str) -> impl IntoView {
    let state = use_chat();
    view! {
        <button
            class="prune"
            title=title
            on:click=move |_| state.dialog.set(Some(ChatDialog::ConfirmPrune(id)))
        >
            "Prune"
        </button>
    }
}

/// A user message: plain text, or the inline editor while editing.
#[component]
fn UserBody(message: LiveMessage) -> impl IntoView {
    let state = use_chat();
    let id = message.id;
    let content = message.content.clone();
    let editing = move || state.editing.get() == Some(id);
    view! {
        <Show
            when=editing
            fallback=move || {
                let content = content.clone();
                view! {
                    <div class="content plain">{move || content.get()}</div>
                    <div class="message-actions">
                        <button class="edit" on:click=move |_| state.editing.set(Some(id))>
                            "Edit"
                        </button>
                        <PruneButton id title="Remove this message and everything below it"/>
                    </div>
                }
            }
        >
            <EditBox message=message.clone()/>
        </Show>
    }
}

/// The inline editor: Save sends the new text as a sibling; the original stays.
#[component]
fn EditBox(message: LiveMessage) -> impl IntoView {
    let state = use_chat();
    let draft = RwSignal::new(message.content.get_untracked());
    let saving = RwSignal::new(false);
    let hint = RwSignal::new(None::<String>);
    let parent = message.parent_id;
    let max_chars = state.facts.with_value(|f| f.max_message_chars);
    let save = move || {
        let text = draft.get_untracked();
        if let Some(problem) = crate::components::composer::draft_problem(&text, max_chars) {
            hint.set(Some(problem));
            return;
        }
        saving.set(true);
        leptos::task::spawn_local(async move {
            match state.send(parent, text).await {
                Ok(()) => state.editing.set(None),
                Err(err) => hint.set(Some(err.to_string())),
            }
            saving.set(false);
        });
    };
    view! {
        <div class="edit-box">
            <textarea
                class="edit-input"
                aria-label="Edit message"
                rows="3"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        state.editing.set(None);
                    }
                }
            ></textarea>
            <p class="hint" role="status">{move || hint.get()}</p>
            <div class="message-actions">
                <button class="save" disabled=move || saving.get() on:click=move |_| save()>
                    "Save"
                </button>
                <button class="cancel" on:click=move |_| state.editing.set(None)>
                    "Cancel"
                </button>
            </div>
        </div>
    }
}

/// An assistant reply: rendered markdown, a cursor while it streams, the
/// reason it ended early, and Regenerate.
#[component]
fn ReplyBody(message: LiveMessage) -> impl IntoView {
    let state = use_chat();
    let id = message.id;
    let content = message.content.clone();
    let highlighted_code = message.highlighted_code.clone();
    let status = message.status.clone();
    let note = message.note.clone();
    let usage = message.usage.clone();
    let tool_calls = message.tool_calls.clone();
    let params_line = message.params.clone().map(|params| {
        let mut parts = Vec::new();
        if let Some(persona) = &params.persona {
            parts.push(format!("persona {persona}"));
        }
        parts.push(params.sampler.to_string());
        let title = params
            .system_prompt
            .map(|prompt| format!("System prompt: {prompt}"))
            .unwrap_or_else(|| "No system prompt".into());
        view! { <p class="params" title=title>{parts.join(" · ")}</p> }
    });
    let failed = {
        let status = status.clone();
        move || status.get() == MessageStatus::Error
    };
    let can_continue = {
        let status = status.clone();
        let content = content.clone();
        move || {
            matches!(
                status.get(),
                MessageStatus::Interrupted | MessageStatus::Error
            ) && content.with(|text| !text.trim().is_empty())
        }
    };
    let continue_reply = move |_| state.spawn(async move { state.continue_reply(id).await });
    let streaming = {
        let status = status.clone();
        move || status.get() == MessageStatus::Streaming
    };
    let note_text = move || {
        let status = status.get();
        note.get()
            .or_else(|| default_note(status).map(str::to_string))
            .map(|text| view! { <p class=format!("note {}", status.as_str())>{text}</p> })
    };
    let regenerate = move |_| state.spawn(async move { state.regenerate(id).await });
    view! {
        <div class="content markdown" inner_html=move || {
            highlighted_code.with(|colours| content.with(|text| render_markdown(text, colours)))
        }></div>
        <Show when=streaming.clone()>
            <span class="typing" aria-label="The reply is being written">"▍"</span>
        </Show>
        {note_text}
        {move || {
            tool_calls
                .get()
                .into_iter()
                .map(|call| {
                    view! {
                        <details class="tool-badge call">
                            <summary>{format!("Called {}", call.name)}</summary>
                            <pre>{call.arguments}</pre>
                        </details>
                    }
                })
                .collect_view()
        }}
        {params_line}
        {move || {
            usage
                .get()
                .map(|usage| {
                    let title = if usage.estimated {
                        "Token counts estimated: the model reported none"
                    } else {
                        "Token counts reported by the model"
                    };
                    view! { <p class="usage" title=title>{usage.summary()}</p> }
                })
        }}
        <div class="message-actions">
            <button class="regenerate" disabled=streaming on:click=regenerate>
                {move || if failed() { "Retry" } else { "Regenerate" }}
            </button>
            <Show when=can_continue>
                <button
                    class="continue"
                    title="Go on from where this reply ended, in a new branch"
                    on:click=continue_reply
                >
                    "Continue"
                </button>
            </Show>
            <button
                class="show-context"
                title="The exact thread and parameters the model was sent"
                on:click=move |_| state.dialog.set(Some(ChatDialog::Context(id)))
            >
                "Context"
            </button>
            <PruneButton id title="Remove this reply and everything below it"/>
        </div>
    }
}

/// A tool's result: a compact badge that expands to the output.
#[component]
fn ToolResult(message: LiveMessage) -> impl IntoView {
    let name = message.model.clone().unwrap_or_else(|| "tool".into());
    let content = message.content.clone();
    view! {
        <details class="tool-badge result">
            <summary>{format!("{name} result")}</summary>
            <pre>{move || content.get()}</pre>
        </details>
    }
}
