//! The chat page `/c/<id>`: the displayed branch, the composer, and the tree
//! panel beside them.

use crate::components::branch_bar::BranchBar;
use crate::components::compare_view::CompareView;
use crate::components::composer::Composer;
use crate::components::context_view::ContextView;
use crate::components::drawers::{Drawer, DrawerToggle};
use crate::components::error_page::ErrorPage;
use crate::components::export_menu::ExportMenu;
use crate::components::generation_settings::GenerationSettings;
use crate::components::message::{scroll_message_into_view, MessageItem};
use crate::components::prune::{ConfirmPrune, UndoPruneNotice};
#[cfg(feature = "hydrate")]
use crate::components::reading_place::ReadingPlace;
use crate::components::replay::{ReplayDialog, ReplayNotices};
use crate::components::system_prompt::SystemPromptEditor;
use crate::components::tree_panel::TreePanel;
use crate::components::when_loaded::WhenLoaded;
use crate::domain::branches::Comparison;
use crate::domain::forms;
use crate::domain::model::ConversationView;
use crate::domain::reading_window;
use crate::functions::conversations::get_conversation;
use crate::state::chat::{ChatDialog, ChatState};
use crate::state::conversation_list::use_conversation_list;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// Loads the conversation named in the URL.
#[component]
pub fn ChatPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    // The page opens at `?node=` (a search result); moving to another
    // message of the same conversation is the running page's job.
    let conversation = Resource::new(
        move || id.get(),
        move |id| {
            // A malformed `?node=` opens the page as usual; the running
            // page then says the link is broken.
            let node = query.with_untracked(|q| q.get("node"));
            get_conversation(id, node.filter(|n| n.parse::<uuid::Uuid>().is_ok()))
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match conversation.await {
                    Ok(view) => view! { <Conversation view/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An open conversation.
#[component]
fn Conversation(view: ConversationView) -> impl IntoView {
    let state = ChatState::new(&view);
    provide_context(state);
    #[cfg(feature = "hydrate")]
    crate::stream::follow(state, view.cursor);

    let list = use_conversation_list();
    let facts = state.facts.get_value();
    let stored_title = facts.title.clone();
    let title = Memo::new(move |_| {
        list.title_of(state.conversation_id)
            .unwrap_or_else(|| stored_title.clone())
    });
    let path = Memo::new(move |_| state.path());
    // The newest messages of the branch; older ones as the reader scrolls up.
    let shown = Memo::new(move |_| {
        let window = state.window.get();
        path.with(|p| window.shown(p).to_vec())
    });
    let hidden = Memo::new(move |_| state.window.get().hidden(path.with(Vec::len)));
    let show_older = move || {
        if hidden.get_untracked().0 > 0 {
            state.window.update(|w| *w = w.older());
        }
    };
    let show_newer = move || {
        if hidden.get_untracked().1 > 0 {
            state.window.update(|w| *w = w.newer());
        }
    };
    // A big tree came with only what is shown: the rest follows.
    Effect::new(move |_| {
        if !state.outline_complete.get_untracked() {
            state.spawn(async move { state.complete_outline().await });
        }
    });
    Effect::new(move |_| {
        let ids = shown.get();
        if ids.iter().any(|id| !state.is_loaded(*id)) {
            state.spawn(async move { state.load(&ids).await });
        }
    });
    let streaming = Signal::derive(move || state.leaf_is_streaming());
    let draft = RwSignal::new(String::new());
    let sending = RwSignal::new(false);
    let list_ref = NodeRef::<leptos::html::Div>::new();
    follow_the_reply(list_ref, path, state);
    jump_to_linked_message(state);

    let on_send = move |text: String| {
        sending.set(true);
        leptos::task::spawn_local(async move {
            let parent = state.active_leaf.get_untracked();
            match state.send(parent, text.clone()).await {
                Ok(()) => {
                    // Whatever was typed while it was on its way stays.
                    draft.update(|draft| {
                        if *draft == text {
                            draft.clear();
                        }
                    });
                    list.refresh();
                }
                Err(err) => state.error.set(Some(err.to_string())),
            }
            sending.set(false);
        });
    };
    let on_stop = move |_| {
        if let Some(leaf) = state.active_leaf.get_untracked() {
            state.spawn(async move { state.stop(leaf).await });
        }
    };

    view! {
        // The document title outlives this page when another conversation
        // opens: read the memo only while it exists.
        <Title text=move || title.try_get().unwrap_or_default()/>
        <section class="chat">
            <header class="chat-header">
                <DrawerToggle drawer=Drawer::Conversations/>
                <h1 class="chat-title">{move || title.get()}</h1>
                {facts.forked_from.clone().map(|origin| {
                    let href = format!("/c/{}", origin.conversation_id);
                    match origin.title {
                        Some(title) => view! {
                            <p class="forked-from">"Forked from " <a href=href>{title}</a></p>
                        }
                        .into_any(),
                        None => view! {
                            <p class="forked-from muted">"Forked from a conversation that was deleted"</p>
                        }
                        .into_any(),
                    }
                })}
                <SystemPromptEditor/>
                <GenerationSettings/>
                <ExportMenu/>
                <DrawerToggle drawer=Drawer::Tree/>
            </header>
            <BranchBar/>
            <div
                class="messages"
                node_ref=list_ref
                on:click=copy_code
                on:scroll=move |_| {
                    let Some(list) = list_ref.get_untracked() else { return };
                    let (above, below) = scroll_room(&list);
                    if above < 400 {
                        show_older();
                    }
                    if below < 400 {
                        show_newer();
                    }
                }
            >
                // The list scrolls from its end (CSS `column-reverse`), so
                // the page opens on the newest message before any script runs.
                <div class="messages-inner">
                <Show when=move || path.with(Vec::is_empty)>
                    <p class="muted empty-chat">"Send a message to start this conversation."</p>
                </Show>
                <Show when=move || { hidden.get().0 > 0 }>
                    <button class="show-older" on:click=move |_| show_older()>
                        {move || format!("Show older messages ({} more above)", hidden.get().0)}
                    </button>
                </Show>
                <For each=move || shown.get() key=|id| *id let:id>
                    <MessageItem id/>
                </For>
                <Show when=move || { hidden.get().1 > 0 }>
                    <div class="newer-messages">
                        <button class="show-newer" on:click=move |_| show_newer()>
                            {move || format!("Show newer messages ({} more below)", hidden.get().1)}
                        </button>
                        <button
                            class="jump-to-newest"
                            on:click=move |_| state.window.set(reading_window::Window::NEWEST)
                        >
                            "Jump to the newest"
                        </button>
                    </div>
                </Show>
                </div>
            </div>
            <UndoPruneNotice/>
            <ReplayNotices/>
            <Show when=move || state.error.get().is_some()>
                <div class="error-banner" role="alert">
                    <span>{move || state.error.get()}</span>
                    <button aria-label="Dismiss" on:click=move |_| state.error.set(None)>"×"</button>
                </div>
            </Show>
            <Composer
                draft
                on_send
                streaming
                on_stop
                sending=sending
                max_chars=facts.max_message_chars
                autofocus=true
                action=forms::send_url(state.conversation_id)
                parent=Signal::derive(move || path.with(|p| p.last().copied()))
            />
        </section>
        <TreePanel/>
        {move || {
            state.dialog.get().map(|dialog| match dialog {
                ChatDialog::ConfirmPrune(node) => view! {
                    <WhenLoaded ids=vec![node]><ConfirmPrune node/></WhenLoaded>
                }
                .into_any(),
                ChatDialog::Context(reply) => {
                    let ids = state.tree.with_untracked(|t| t.path_to(reply));
                    view! { <WhenLoaded ids><ContextView reply/></WhenLoaded> }.into_any()
                }
                ChatDialog::Compare { left, right } => {
                    let ids = state.tree.with_untracked(|t| {
                        let rows = Comparison::of(t, left, right);
                        [left, right].into_iter().chain(rows.left).chain(rows.right).collect()
                    });
                    view! { <WhenLoaded ids><CompareView left right/></WhenLoaded> }.into_any()
                }
                ChatDialog::Replay(leaf) => view! { <ReplayDialog leaf/> }.into_any(),
            })
        }}
    }
}

/// Shows the branch of the message named by `?node=<id>` (a search result
/// links there), picks it and scrolls to it.
fn jump_to_linked_message(state: ChatState) {
    let query = use_query_map();
    Effect::new(move |_| {
        let Some(wanted) = query.read().get("node") else {
            return;
        };
        // A big tree's outline arrives after the page: wait for it.
        if !state.outline_complete.get() {
            return;
        }
        match wanted
            .parse()
            .ok()
            .filter(|id| state.message(*id).is_some())
        {
            Some(node) => {
                state.selected.set(Some(node));
                state.reveal(node);
                scroll_message_into_view(node);
            }
            None => state.error.set(Some(
                "The linked message is not in this conversation (it may have been pruned).".into(),
            )),
        }
    });
}

/// Copies a code block's text when its Copy button (made by the markdown
/// renderer) is clicked, and says whether it worked.
#[cfg(feature = "hydrate")]
fn copy_code(ev: leptos::ev::MouseEvent) {
    use wasm_bindgen::JsCast;
    let Some(button) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .filter(|e| e.class_name().split_whitespace().any(|c| c == "copy-code"))
    else {
        return;
    };
    let text = button
        .parent_element()
        .and_then(|block| block.query_selector("pre").ok().flatten())
        .and_then(|pre| pre.text_content())
        .unwrap_or_default();
    let written = window().navigator().clipboard().write_text(&text);
    leptos::task::spawn_local(async move {
        let copied = wasm_bindgen_futures::JsFuture::from(written).await.is_ok();
        button.set_text_content(Some(if copied { "Copied" } else { "Copy failed" }));
        set_timeout(
            move || button.set_text_content(Some("Copy")),
            std::time::Duration::from_secs(2),
        );
    });
}

#[cfg(not(feature = "hydrate"))]
fn copy_code(_: leptos::ev::MouseEvent) {}

/// Keeps the newest text in view: scrolls to the bottom when the branch
/// changes length, and while a reply streams if the reader is already near
/// the bottom (someone scrolled up to read is left alone).
#[cfg(feature = "hydrate")]
fn follow_the_reply(
    list: NodeRef<leptos::html::Div>,
    path: Memo<Vec<uuid::Uuid>>,
    state: ChatState,
) {
    // What the server rendered counts as seen: taking over the page does
    // not scroll (the reader may have scrolled already, or followed a link).
    let shown_len = StoredValue::new(path.with_untracked(Vec::len));
    let was_at_end = StoredValue::new(true);
    // Keeps the place of someone reading further up while the last message
    // changes height (made once the list is drawn).
    let reading_place = StoredValue::new_local(None::<ReadingPlace>);
    Effect::new(move |previous: Option<()>| {
        // The first run is the app taking over the page: where the reader
        // is (they may have scrolled already) stays.
        let taking_over = previous.is_none();
        let path = path.get();
        if let Some(leaf) = path.last().and_then(|id| state.message(*id)) {
            leaf.content.track();
        }
        // Reading older messages away from the end: nothing to follow.
        if state.window.get().below > 0 {
            was_at_end.set_value(false);
            return;
        }
        let returned = !was_at_end.get_value();
        was_at_end.set_value(true);
        let Some(list) = list.get() else { return };
        let changed = shown_len.get_value() != path.len();
        shown_len.set_value(path.len());
        let near_bottom = scroll_room(&list).1 < 160;
        let following = !taking_over && (changed || near_bottom || returned);
        if following {
            // 0 is the end of a `column-reverse` list.
            list.set_scroll_top(0);
        }
        // Once drawn, the shown branch's last message is the one to watch.
        let leaf = path.last().copied();
        request_animation_frame(move || {
            let message = leaf.and_then(|leaf| {
                list.query_selector(&format!("#{}", crate::components::message::anchor(leaf)))
                    .ok()
                    .flatten()
            });
            reading_place.update_value(|place| {
                if place.is_none() {
                    *place = ReadingPlace::new(list.clone().into());
                }
                if let Some(place) = place {
                    place.watch(message);
                }
            });
        });
    });
}

/// How far the message list can still scroll up and down, in pixels. The
/// list runs `column-reverse`: its scroll position is 0 at the newest
/// message and negative above it.
fn scroll_room(list: &leptos::web_sys::HtmlDivElement) -> (i32, i32) {
    let below = -list.scroll_top();
    let above = list.scroll_height() - list.client_height() - below;
    (above.max(0), below.max(0))
}

#[cfg(not(feature = "hydrate"))]
fn follow_the_reply(_: NodeRef<leptos::html::Div>, _: Memo<Vec<uuid::Uuid>>, _: ChatState) {}
