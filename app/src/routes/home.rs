//! The start page: a model picker and a composer that opens a new
//! conversation with its first message.

use crate::components::composer::Composer;
use crate::components::drawers::{Drawer, DrawerToggle};
use crate::components::generation_settings::{use_model_choices, ModelSelect};
use crate::domain::forms::NEW_CONVERSATION_URL;
use crate::domain::model::ConversationSettings;
use crate::domain::model::DEFAULT_MAX_MESSAGE_CHARS;
use crate::functions::conversations::{
    create_conversation, delete_conversation, set_generation_settings,
};
use crate::functions::messages::send_message;
use crate::state::conversation_list::use_conversation_list;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

/// The home page.
#[component]
pub fn HomePage() -> impl IntoView {
    let list = use_conversation_list();
    let navigate = use_navigate();
    let draft = RwSignal::new(String::new());
    let sending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let choices = use_model_choices();
    // `None`: the default model.
    let picked = RwSignal::new(None::<String>);
    let current_model = Signal::derive(move || {
        picked
            .get()
            .unwrap_or_else(|| choices.get().map(|c| c.default_model).unwrap_or_default())
    });
    let on_send = move |text: String| {
        let navigate = navigate.clone();
        sending.set(true);
        spawn_local(async move {
            let result = async {
                let conversation = create_conversation().await?;
                let id = conversation.id.to_string();
                let model = picked.get_untracked();
                let sent = async {
                    if model.is_some() {
                        let settings = ConversationSettings {
                            model,
                            ..Default::default()
                        };
                        set_generation_settings(id.clone(), settings).await?;
                    }
                    send_message(id.clone(), None, format!("first-{id}"), text).await
                }
                .await;
                if let Err(err) = sent {
                    // Leave no empty conversation behind a refused first message.
                    _ = delete_conversation(id).await;
                    return Err(err);
                }
                Ok::<_, crate::domain::errors::AppError>(conversation.id)
            }
            .await;
            sending.set(false);
            match result {
                Ok(id) => {
                    draft.set(String::new());
                    list.refresh();
                    navigate(&format!("/c/{id}"), Default::default());
                }
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    view! {
        <Title text="Arbor"/>
        <section class="home">
            <DrawerToggle drawer=Drawer::Conversations/>
            <h1>"What shall we explore?"</h1>
            <p class="muted">
                "Every edit and every regenerated reply becomes a branch you can come back to."
            </p>
            <p class="error" role="alert">{move || error.get()}</p>
            <label class="home-model">
                <span class="muted">"Model"</span>
                <ModelSelect choices current=current_model on_pick=move |key| picked.set(Some(key))/>
            </label>
            <Composer
                draft
                on_send
                streaming=Signal::derive(|| false)
                on_stop=|_| {}
                sending=sending
                max_chars=DEFAULT_MAX_MESSAGE_CHARS
                autofocus=true
                action=NEW_CONVERSATION_URL
            />
        </section>
    }
}
