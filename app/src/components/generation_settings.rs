//! The chat header's generation controls: the model picker, the persona
//! picker and the sampler panel. Every change is saved on the conversation
//! at once and applies to replies started afterwards.

use crate::domain::model::{ConversationSettings, ModelChoices};
use crate::domain::sampling::{InvalidSampler, SamplerField, SamplerParams};
use crate::functions::conversations::{list_model_choices, set_generation_settings};
use crate::state::chat::{use_chat, ChatState};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The models and personas on offer, fetched by the browser once the page
/// is live (listing a remote server's models must not hold up the page, and
/// nothing about it runs during server rendering).
pub fn use_model_choices() -> ReadSignal<Option<ModelChoices>> {
    let choices = RwSignal::new(None);
    Effect::new(move |_| {
        spawn_local(async move {
            let listed = list_model_choices().await.ok();
            _ = choices.try_set(listed);
        });
    });
    choices.read_only()
}

/// A `<select>` of the models on offer; `current` is shown even before the
/// list arrives.
#[component]
pub fn ModelSelect(
    choices: ReadSignal<Option<ModelChoices>>,
    #[prop(into)] current: Signal<String>,
    #[prop(into)] on_pick: Callback<String>,
) -> impl IntoView {
    let options = move || {
        let current = current.get();
        let mut options: Vec<(String, String)> = choices
            .get()
            .map(|c| c.models.into_iter().map(|m| (m.key, m.label)).collect())
            .unwrap_or_default();
        if !current.is_empty() && !options.iter().any(|(key, _)| *key == current) {
            options.insert(0, (current.clone(), current.clone()));
        }
        options
            .into_iter()
            .map(|(key, label)| {
                let text = if label == key {
                    key.clone()
                } else {
                    format!("{label} · {key}")
                };
                let selected = key == current;
                view! { <option value=key selected=selected>{text}</option> }
            })
            .collect_view()
    };
    view! {
        <select
            class="model-select"
            aria-label="Model"
            prop:value=move || current.get()
            on:change=move |ev| on_pick.run(event_target_value(&ev))
        >
            {options}
        </select>
    }
    .into_any()
}

/// A `<select>` of the personas on offer, with "No persona" first
/// (`None`); `current` is shown even before the list arrives.
#[component]
pub fn PersonaSelect(
    choices: ReadSignal<Option<ModelChoices>>,
    #[prop(into)] current: Signal<Option<String>>,
    #[prop(into)] on_pick: Callback<Option<String>>,
) -> impl IntoView {
    let options = move || {
        let current = current.get().unwrap_or_default();
        let mut names: Vec<String> = choices
            .get()
            .map(|c| c.personas.into_iter().map(|p| p.name).collect())
            .unwrap_or_default();
        if !current.is_empty() && !names.contains(&current) {
            names.push(current.clone());
        }
        names
            .into_iter()
            .map(|name| {
                let selected = name == current;
                view! { <option value=name.clone() selected=selected>{name.clone()}</option> }
            })
            .collect_view()
    };
    view! {
        <select
            class="persona-select"
            aria-label="Persona"
            prop:value=move || current.get().unwrap_or_default()
            on:change=move |ev| {
                let name = event_target_value(&ev);
                on_pick.run((!name.is_empty()).then_some(name));
            }
        >
            <option value="">"No persona"</option>
            {options}
        </select>
    }
    .into_any()
}

/// Saves `settings` on the open conversation and shows the outcome.
fn save(state: ChatState, settings: ConversationSettings, hint: Option<RwSignal<Option<String>>>) {
    spawn_local(async move {
        let id = state.conversation_id.to_string();
        match set_generation_settings(id, settings.clone()).await {
            Ok(model) => {
                _ = state.settings.try_set(settings);
                _ = state.model.try_set(model);
                if let Some(hint) = hint {
                    _ = hint.try_set(Some("Saved: new replies use these values.".into()));
                }
            }
            Err(err) => match hint {
                Some(hint) => _ = hint.try_set(Some(err.to_string())),
                None => _ = state.error.try_set(Some(err.to_string())),
            },
        }
    });
}

/// Model picker, persona picker and the sampler panel toggle.
#[component]
pub fn GenerationSettings() -> impl IntoView {
    let state = use_chat();
    let choices = use_model_choices();
    let current_model = Signal::derive(move || state.model.get().key);
    let pick_model = move |key: String| {
        let mut settings = state.settings.get_untracked();
        settings.model = Some(key);
        save(state, settings, None);
    };
    let current_persona = Signal::derive(move || state.settings.get().persona);
    let pick_persona = move |persona: Option<String>| {
        let mut settings = state.settings.get_untracked();
        settings.persona = persona;
        // The persona's own model applies unless the user picks another.
        settings.model = None;
        save(state, settings, None);
    };
    let toggle_tools = move |ev: leptos::ev::Event| {
        let mut settings = state.settings.get_untracked();
        settings.tools = event_target_checked(&ev);
        save(state, settings, None);
    };
    let panel_open = RwSignal::new(false);
    view! {
        <div class="generation-settings">
            <span
                class="model-badge"
                class:offline=move || state.model.get().offline
                class:runs-here=move || state.model.get().runs_here
                title=move || state.model.get().badge().1
            >
                {move || state.model.get().badge().0}
            </span>
            <ModelSelect choices current=current_model on_pick=pick_model/>
            <PersonaSelect choices current=current_persona on_pick=pick_persona/>
            <button
                class="sampler-toggle"
                class:on=move || !state.settings.get().params.is_empty()
                aria-expanded=move || panel_open.get().to_string()
                on:click=move |_| panel_open.update(|open| *open = !*open)
            >
                "Sampler"
            </button>
            <label
                class="tools-switch"
                title="Let models that can call functions use Arbor's tools: list_conversations, message_history, current_time"
            >
                <input
                    type="checkbox"
                    prop:checked=move || state.settings.get().tools
                    on:change=toggle_tools
                />
                "Tools"
            </label>
        </div>
        <Show when=move || panel_open.get()>
            <SamplerPanel on_close=move || panel_open.set(false)/>
        </Show>
    }
    .into_any()
}

/// A form with one input per sampler field; blank fields are not sent.
#[component]
fn SamplerPanel(#[prop(into)] on_close: Callback<()>) -> impl IntoView {
    let state = use_chat();
    let hint = RwSignal::new(None::<String>);
    let start = state.settings.get_untracked().params;
    let inputs = sampler_inputs(&start);
    let fields = inputs.clone();
    let submit = move |_| match parse_sampler_inputs(&fields) {
        Ok(params) => {
            let mut settings = state.settings.get_untracked();
            settings.params = params;
            save(state, settings, Some(hint));
        }
        Err(err) => hint.set(Some(err.to_string())),
    };
    view! {
        <div class="sampler-panel" role="group" aria-label="Sampler settings">
            <p class="muted">
                "Blank fields use the persona's value, then the model's default, then the provider's. "
                "Fields a provider does not support are not sent. Stop: comma-separated."
            </p>
            <SamplerFields inputs/>
            <p class="hint" role="status">{move || hint.get()}</p>
            <div class="message-actions">
                <button class="save" on:click=submit>"Save"</button>
                <button class="cancel" on:click=move |_| on_close.run(())>"Close"</button>
            </div>
        </div>
    }
    .into_any()
}

/// One text input per sampler field.
pub type SamplerInputs = Vec<(SamplerField, RwSignal<String>)>;

/// The inputs, filled from `start`.
pub fn sampler_inputs(start: &SamplerParams) -> SamplerInputs {
    SamplerField::ALL
        .into_iter()
        .map(|field| (field, RwSignal::new(start.field_text(field))))
        .collect()
}

/// The values typed in, checked; blank fields are unset.
pub fn parse_sampler_inputs(inputs: &SamplerInputs) -> Result<SamplerParams, InvalidSampler> {
    let mut params = SamplerParams::default();
    inputs
        .iter()
        .try_for_each(|(field, text)| params.set_field(*field, &text.get_untracked()))
        .and_then(|()| params.validate())?;
    Ok(params)
}

/// A labelled input per sampler field.
#[component]
pub fn SamplerFields(inputs: SamplerInputs) -> impl IntoView {
    view! {
        <div class="sampler-fields">
            {inputs
                .into_iter()
                .map(|(field, text)| {
                    view! {
                        <label>
                            <span>{field.name()}</span>
                            <input
                                name=field.name()
                                prop:value=move || text.get()
                                on:input=move |ev| text.set(event_target_value(&ev))
                            />
                        </label>
                    }
                })
                .collect_view()}
        </div>
    }
    .into_any()
}
