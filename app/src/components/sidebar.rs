//! The sidebar: a New chat button, the search box, and the user's
//! conversations, newest activity first, each with rename and delete (after
//! confirmation). While a search is typed its results replace the list.

use crate::components::account_menu::AccountMenu;
use crate::components::import_dialog::ImportButton;
use crate::components::search_box::SearchBox;
use crate::domain::model::ConversationSummary;
use crate::functions::conversations::{delete_conversation, rename_conversation};
use crate::state::conversation_list::use_conversation_list;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_location, use_navigate};

/// The conversation id in the current URL, if any.
fn current_conversation() -> Memo<Option<String>> {
    let location = use_location();
    Memo::new(move |_| {
        location
            .pathname
            .get()
            .strip_prefix("/c/")
            .map(|id| id.trim_end_matches('/').to_string())
    })
}

/// The sidebar.
#[component]
pub fn Sidebar() -> impl IntoView {
    let list = use_conversation_list();
    let current = current_conversation();
    let query = RwSignal::new(String::new());
    let searching = move || !query.with(|q| q.trim().is_empty());
    view! {
        <nav id="sidebar" class="sidebar" aria-label="Conversations">
            <a class="brand" href="/">"Arbor"</a>
            // A conversation is created by its first message, so unused
            // "new chats" never pile up in the list.
            <a class="new-chat" href="/">"+ New chat"</a>
            <ImportButton/>
            <SearchBox query/>
            <div class="conversation-list-area" hidden=searching>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.items.await {
                        Ok(items) if items.is_empty() => {
                            view! { <p class="muted empty-list">"No conversations yet."</p> }.into_any()
                        }
                        Ok(items) => {
                            view! {
                                <ul class="conversation-list">
                                    {items
                                        .into_iter()
                                        .map(|summary| view! { <ConversationItem summary current/> })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(err) => view! { <p class="error">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            </div>
            <AccountMenu/>
        </nav>
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Showing,
    Renaming,
    ConfirmingDelete,
}

/// One conversation in the list.
#[component]
fn ConversationItem(summary: ConversationSummary, current: Memo<Option<String>>) -> impl IntoView {
    let list = use_conversation_list();
    let navigate = use_navigate();
    let id = summary.id;
    let title = summary.display_title().to_string();
    let mode = RwSignal::new(Mode::Showing);
    let draft = RwSignal::new(summary.title.clone());
    let error = RwSignal::new(None::<String>);
    let is_current = move || current.get().as_deref() == Some(id.to_string().as_str());

    let save_title = move || {
        let title = draft.get_untracked();
        spawn_local(async move {
            match rename_conversation(id.to_string(), title).await {
                Ok(_) => {
                    mode.set(Mode::Showing);
                    list.refresh();
                }
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    let delete = move || {
        let navigate = navigate.clone();
        let was_current = is_current();
        spawn_local(async move {
            match delete_conversation(id.to_string()).await {
                Ok(()) => {
                    list.refresh();
                    if was_current {
                        navigate("/", Default::default());
                    }
                }
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };

    view! {
        <li class="conversation" class:current=is_current data-conversation-id=id.to_string()>
            {move || match mode.get() {
                Mode::Showing => {
                    view! {
                        <a class="conversation-link" href=format!("/c/{id}")>{title.clone()}</a>
                        <span class="conversation-actions">
                            <button class="rename" aria-label="Rename" title="Rename" on:click=move |_| mode.set(Mode::Renaming)>"✎"</button>
                            <button class="delete" aria-label="Delete" title="Delete" on:click=move |_| mode.set(Mode::ConfirmingDelete)>"×"</button>
                        </span>
                    }
                        .into_any()
                }
                Mode::Renaming => {
                    view! {
                        <form class="rename-form" on:submit=move |ev| {
                            ev.prevent_default();
                            save_title();
                        }>
                            <input
                                class="rename-input"
                                aria-label="New title"
                                maxlength="200"
                                prop:value=move || draft.get()
                                on:input=move |ev| draft.set(event_target_value(&ev))
                                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                    if ev.key() == "Escape" {
                                        mode.set(Mode::Showing);
                                    }
                                }
                            />
                            <button type="submit" class="save">"Save"</button>
                            <button type="button" class="cancel" on:click=move |_| mode.set(Mode::Showing)>"Cancel"</button>
                        </form>
                    }
                        .into_any()
                }
                Mode::ConfirmingDelete => {
                    let delete = delete.clone();
                    view! {
                        <div class="confirm-delete" role="alertdialog" aria-label="Confirm delete">
                            <span>"Delete this conversation and all its branches?"</span>
                            <button class="confirm danger" on:click=move |_| delete()>"Delete"</button>
                            <button class="cancel" on:click=move |_| mode.set(Mode::Showing)>"Cancel"</button>
                        </div>
                    }
                        .into_any()
                }
            }}
            <p class="error" role="alert">{move || error.get()}</p>
        </li>
    }
}
