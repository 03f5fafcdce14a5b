//! The search box at the top of the sidebar: typing searches every
//! conversation's title and every message of every branch; while there is
//! a query its results take the place of the conversation list, and each
//! message result opens its conversation on that message's branch.

use crate::components::message::anchor;
use crate::components::typed_text::keep_typed_text;
use crate::domain::model::display_title;
use crate::domain::search::{snippet_pieces, MessageHit, SearchResults};
use crate::functions::search::search;
use leptos::prelude::*;

/// How long typing must pause before a search is sent.
const PAUSE_MS: u64 = 250;

/// What the results area shows.
#[derive(Clone, PartialEq)]
enum Found {
    Searching,
    Results(SearchResults),
    Failed(String),
}

/// The box; `query` is what it holds (empty: no search).
#[component]
pub fn SearchBox(query: RwSignal<String>) -> impl IntoView {
    let found = RwSignal::new(Found::Results(SearchResults::default()));
    // Each keystroke bumps the generation; only the newest search's answer is shown.
    let generation = StoredValue::new(0u64);
    // Searches for `text` once typing pauses; a later call wins.
    let search_for = move |text: String| {
        let ticket = generation.get_value() + 1;
        generation.set_value(ticket);
        if text.trim().is_empty() {
            return;
        }
        found.set(Found::Searching);
        set_timeout(
            move || {
                if generation.try_get_value() != Some(ticket) {
                    return;
                }
                leptos::task::spawn_local(async move {
                    let answer = search(text).await;
                    if generation.try_get_value() == Some(ticket) {
                        found.set(match answer {
                            Ok(results) => Found::Results(results),
                            Err(err) => Found::Failed(err.to_string()),
                        });
                    }
                });
            },
            std::time::Duration::from_millis(PAUSE_MS),
        );
    };
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        query.set(text.clone());
        search_for(text);
    };
    let field = NodeRef::<leptos::html::Input>::new();
    // A query typed before the app took over is searched for as if just typed.
    keep_typed_text(field, query, search_for);
    let clear = move || {
        generation.update_value(|g| *g += 1);
        query.set(String::new());
    };
    view! {
        <div class="search" role="search">
            <input
                type="search"
                class="search-input"
                placeholder="Search all conversations"
                aria-label="Search all conversations"
                node_ref=field
                on:input=on_input
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        clear();
                    }
                }
            />
        </div>
        <Show when=move || !query.with(|q| q.trim().is_empty())>
            <section class="search-results" aria-label="Search results" aria-live="polite">
                {move || match found.get() {
                    Found::Searching => view! { <p class="muted">"Searching…"</p> }.into_any(),
                    Found::Failed(error) => view! { <p class="error">{error}</p> }.into_any(),
                    Found::Results(results) => view! { <ResultList results/> }.into_any(),
                }}
            </section>
        </Show>
    }
    .into_any()
}

/// Title matches, then message matches.
#[component]
fn ResultList(results: SearchResults) -> impl IntoView {
    if results.conversations.is_empty() && results.messages.is_empty() {
        return view! { <p class="muted no-results">"Nothing matches."</p> }.into_any();
    }
    let titles = (!results.conversations.is_empty()).then(|| {
        view! {
            <h3>"Conversations"</h3>
            <ul class="search-titles">
                {results
                    .conversations
                    .into_iter()
                    .map(|c| {
                        let title = c.display_title().to_string();
                        view! { <li><a href=format!("/c/{}", c.id)>{title}</a></li> }
                    })
                    .collect_view()}
            </ul>
        }
    });
    let hits = (!results.messages.is_empty()).then(|| {
        view! {
            <h3>"Messages"</h3>
            <ul class="search-hits">
                {results.messages.into_iter().map(|hit| view! { <Hit hit/> }).collect_view()}
            </ul>
        }
    });
    view! {
        {titles}
        {hits}
    }
    .into_any()
}

/// One matching message: where it is, who wrote it, and the words around the match.
#[component]
fn Hit(hit: MessageHit) -> impl IntoView {
    let title = display_title(&hit.conversation_title).to_string();
    let pieces = snippet_pieces(&hit.snippet)
        .into_iter()
        .map(|(text, matched)| {
            if matched {
                view! { <mark>{text}</mark> }.into_any()
            } else {
                text.into_any()
            }
        })
        .collect_view();
    view! {
        <li>
            <a
                class="search-hit"
                href=format!(
                    "/c/{}?node={}#{}",
                    hit.conversation_id,
                    hit.message_id,
                    anchor(hit.message_id)
                )
                data-message-id=hit.message_id.to_string()
            >
                <span class="hit-where">
                    <span class="hit-title">{title}</span>
                    " · "
                    <span class="hit-role">{hit.role.as_str()}</span>
                </span>
                <span class="hit-snippet">{pieces}</span>
            </a>
        </li>
    }
    .into_any()
}
