//! Replaying a branch: the dialog that picks the model, persona and
//! sampler values for the replay, and the notices that show each replay's
//! progress (with Stop) and how it ended.

use crate::components::generation_settings::{
    parse_sampler_inputs, sampler_inputs, use_model_choices, ModelSelect, PersonaSelect,
    SamplerFields,
};
use crate::components::modal::Modal;
use crate::domain::model::ConversationSettings;
use crate::domain::model::ReplayState;
use crate::domain::replay::replay_plan;
use crate::state::chat::use_chat;
use leptos::prelude::*;
use uuid::Uuid;

/// Choices for replaying the branch ending at `leaf`; starts from the
/// conversation's own.
#[component]
pub fn ReplayDialog(leaf: Uuid) -> impl IntoView {
    let state = use_chat();
    let choices = use_model_choices();
    let start = state.settings.get_untracked();
    let turns = {
        let path: Vec<_> = state
            .tree
            .with_untracked(|t| t.path_to(leaf))
            .into_iter()
            .filter_map(|id| state.look(id).map(|(role, _)| (id, role)))
            .collect();
        replay_plan(&path, None).map(|plan| plan.turns())
    };
    let model = RwSignal::new(start.model.clone());
    let persona = RwSignal::new(start.persona.clone());
    // Shown in the picker: the chosen model, else the persona's, else the default.
    let shown_model = Signal::derive(move || {
        model.get().unwrap_or_else(|| {
            let chosen = persona.get();
            choices
                .get()
                .map(|c| {
                    chosen
                        .and_then(|name| c.personas.into_iter().find(|p| p.name == name))
                        .and_then(|p| p.model)
                        .unwrap_or(c.default_model)
                })
                .unwrap_or_else(|| state.model.get_untracked().key)
        })
    });
    let pick_persona = move |name: Option<String>| {
        persona.set(name);
        // The persona's own model applies unless another is picked.
        model.set(None);
    };
    let inputs = sampler_inputs(&start.params);
    let fields = inputs.clone();
    let hint = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let close = move || state.dialog.set(None);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let params = match parse_sampler_inputs(&fields) {
            Ok(params) => params,
            Err(err) => {
                hint.set(Some(err.to_string()));
                return;
            }
        };
        let settings = ConversationSettings {
            model: model.get_untracked(),
            persona: persona.get_untracked(),
            params,
            tools: start.tools,
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = state.replay(leaf, settings).await;
            _ = busy.try_set(false);
            match result {
                Ok(()) => close(),
                Err(err) => _ = hint.try_set(Some(err.to_string())),
            }
        });
    };
    let summary = match &turns {
        Ok(1) => "Asks your message on this branch again and writes a new reply.".to_string(),
        Ok(n) => format!(
            "Asks your {n} messages on this branch again, one after the other, each answered \
             before the next is sent."
        ),
        Err(why) => format!("This branch cannot be replayed: {why}."),
    };
    let can_start = turns.is_ok();
    view! {
        <Modal title="Replay this branch" class="replay-dialog" on_close=move |()| close()>
            <form class="replay-form" on:submit=submit>
                <p>{summary}</p>
                <p class="muted">
                    "The new replies form a new branch beside this one; this branch is kept. "
                    "The conversation's own settings do not change."
                </p>
                <div class="replay-choices">
                    <label>
                        <span>"Model"</span>
                        <ModelSelect
                            choices
                            current=shown_model
                            on_pick=move |key: String| model.set(Some(key))
                        />
                    </label>
                    <label>
                        <span>"Persona"</span>
                        <PersonaSelect choices current=persona on_pick=pick_persona/>
                    </label>
                </div>
                <SamplerFields inputs/>
                <p class="hint" role="status">{move || hint.get()}</p>
                <div class="modal-actions">
                    <button
                        type="submit"
                        class="start-replay"
                        disabled=move || busy.get() || !can_start
                    >
                        "Start replay"
                    </button>
                    <button type="button" class="cancel" on:click=move |_| close()>
                        "Cancel"
                    </button>
                </div>
            </form>
        </Modal>
    }
    .into_any()
}

/// One line per replay: progress and Stop while it runs; how it ended,
/// a way to its branch and Dismiss afterwards.
#[component]
pub fn ReplayNotices() -> impl IntoView {
    let state = use_chat();
    move || {
        state
            .replays
            .get()
            .into_iter()
            .map(|replay| {
                let id = replay.id;
                let leaf = replay.leaf;
                let running = replay.state == ReplayState::Running;
                let actions = if running {
                    view! {
                        <button
                            class="stop-replay"
                            on:click=move |_| state.spawn(async move { state.stop_replay(id).await })
                        >
                            "Stop replay"
                        </button>
                    }
                    .into_any()
                } else {
                    view! {
                        <button class="show-replay" on:click=move |_| state.show_branch_of(leaf)>
                            "Show its branch"
                        </button>
                        <button aria-label="Dismiss" on:click=move |_| state.dismiss_replay(id)>
                            "×"
                        </button>
                    }
                    .into_any()
                };
                view! {
                    <div
                        class="replay-status"
                        class:running=running
                        data-state=format!("{:?}", replay.state).to_lowercase()
                        role="status"
                    >
                        <span>{replay.describe()}</span>
                        {running
                            .then(|| {
                                view! {
                                    <progress
                                        max=replay.total.to_string()
                                        value=replay.done.to_string()
                                        aria-label="Replay progress"
                                    ></progress>
                                }
                            })}
                        {actions}
                    </div>
                }
            })
            .collect_view()
            .into_any()
    }
}
