//! The context view: for one reply, the exact thread its model was sent
//! (system prompt, each message in order, with tool calls) and the model,
//! persona and sampler values it ran with.

use crate::components::modal::Modal;
use crate::state::chat::use_chat;
use crate::text::model_context::ModelContext;
use leptos::prelude::*;
use uuid::Uuid;

/// The dialog for reply `reply`.
#[component]
pub fn ContextView(reply: Uuid) -> impl IntoView {
    let state = use_chat();
    let context = state.tree.with_untracked(|tree| {
        ModelContext::of(tree, reply, |id| state.message(id).map(|m| m.snapshot()))
    });
    let close = move |()| state.dialog.set(None);
    let body = match context {
        None => view! { <p>"Only a model's reply has a context."</p> }.into_any(),
        Some(context) => {
            let count = context.messages.len();
            let settings = [
                ("Model", context.model.unwrap_or_else(|| "unknown".into())),
                ("Persona", context.persona.unwrap_or_else(|| "none".into())),
            ]
            .into_iter()
            .chain(
                context
                    .parameters
                    .into_iter()
                    .map(|(field, value)| (field.name(), value)),
            )
            .map(|(name, value)| view! { <dt>{name}</dt><dd>{value}</dd> })
            .collect_view();
            let system = match context.system_prompt {
                Some(prompt) => view! {
                    <li class="context-message system">
                        <span class="role">"system"</span>
                        <pre>{prompt}</pre>
                    </li>
                }
                .into_any(),
                None => view! { <li class="muted">"No system prompt."</li> }.into_any(),
            };
            let messages = context
                .messages
                .into_iter()
                .map(|m| {
                    let calls = m
                        .tool_calls
                        .into_iter()
                        .map(|c| view! { <pre class="tool-call">{format!("{}({})", c.name, c.arguments)}</pre> })
                        .collect_view();
                    view! {
                        <li class=format!("context-message {}", m.role.as_str())>
                            <span class="role">{m.role.as_str()}</span>
                            <pre>{m.content}</pre>
                            {calls}
                        </li>
                    }
                })
                .collect_view();
            let left_out = (context.left_out > 0).then(|| {
                let n = context.left_out;
                view! {
                    <p class="context-left-out">
                        {format!(
                            "{n} older message{} of this branch {} not sent: the model's context window had no room for {}.",
                            if n == 1 { "" } else { "s" },
                            if n == 1 { "was" } else { "were" },
                            if n == 1 { "it" } else { "them" },
                        )}
                    </p>
                }
            });
            view! {
                <dl class="context-settings">{settings}</dl>
                {left_out}
                <p class="muted">
                    {format!("{count} message{} sent, oldest first:", if count == 1 { "" } else { "s" })}
                </p>
                <ol class="context-thread">{system}{messages}</ol>
            }
            .into_any()
        }
    };
    view! {
        <Modal title="What the model was sent" class="context-dialog" on_close=close>
            {body}
        </Modal>
    }
    .into_any()
}
