//! The bar above the displayed branch: its name (rename it), whether it
//! is the main branch, its totals, and fork, replay and compare.

use crate::components::compare_view::branch_title;
use crate::domain::branches::{branch_label, BranchStats};
use crate::state::chat::{use_chat, ChatDialog};
use crate::state::conversation_list::use_conversation_list;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use uuid::Uuid;

/// Most branches offered for comparison in the picker.
const MAX_COMPARE_CHOICES: usize = 200;

/// The bar; nothing while the conversation is empty.
#[component]
pub fn BranchBar() -> impl IntoView {
    let state = use_chat();
    let list = use_conversation_list();
    let navigate = use_navigate();
    let path = Memo::new(move |_| state.path());
    // The deepest node of the branch with a name carries the branch's name.
    let label = Memo::new(move |_| {
        state
            .labels
            .with(|labels| path.with(|p| branch_label(p, labels).cloned()))
    });
    let name = move || label.with(|l| l.as_ref().map(|l| l.name.clone()));
    let main_on_path = move || {
        state
            .main_node
            .get()
            .filter(|m| path.with(|p| p.contains(m)))
    };
    // Role and usage only: the totals do not follow each streamed word.
    let stats = Memo::new(move |_| {
        BranchStats::of(
            path.get()
                .into_iter()
                .filter_map(|id| state.message(id).map(|m| (m.role, m.usage.get()))),
        )
    });
    let renaming = RwSignal::new(false);
    let draft = RwSignal::new(String::new());
    let start_rename = move |_| {
        draft.set(name().unwrap_or_default());
        renaming.set(true);
    };
    let save_name = move || {
        let target = label
            .with_untracked(|l| l.as_ref().map(|l| l.node_id))
            .or(state.active_leaf.get_untracked());
        let Some(target) = target else { return };
        let text = draft.get_untracked();
        renaming.set(false);
        state.spawn(async move { state.name_branch(target, text).await });
    };
    let toggle_main = move |_| {
        let next = match main_on_path() {
            Some(_) => None,
            None => state.active_leaf.get_untracked(),
        };
        state.spawn(async move { state.set_main_branch(next).await });
    };
    let fork = move |_| {
        let Some(leaf) = state.active_leaf.get_untracked() else {
            return;
        };
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match state.fork(leaf).await {
                Ok(summary) => {
                    list.refresh();
                    navigate(&format!("/c/{}", summary.id), Default::default());
                }
                Err(err) => state.error.set(Some(err.to_string())),
            }
        });
    };
    let compare_with = RwSignal::new(String::new());
    let choices = Memo::new(move |_| {
        let shown = state.active_leaf.get();
        let labels = state.labels.get();
        let mut choices: Vec<(Uuid, String)> = Vec::new();
        state.tree.with(|t| {
            for label in &labels {
                if let Some(leaf) = t.descend(Some(label.node_id)) {
                    if Some(leaf) != shown && !choices.iter().any(|(l, _)| *l == leaf) {
                        choices.push((leaf, label.name.clone()));
                    }
                }
            }
            for leaf in t.leaves() {
                if choices.len() >= MAX_COMPARE_CHOICES {
                    break;
                }
                if Some(leaf) != shown && !choices.iter().any(|(l, _)| *l == leaf) {
                    choices.push((leaf, branch_title(&state, leaf)));
                }
            }
        });
        choices
    });
    let compare = move |_| {
        let right = Uuid::parse_str(&compare_with.get_untracked())
            .ok()
            .or_else(|| choices.with_untracked(|c| c.first().map(|(l, _)| *l)));
        if let (Some(left), Some(right)) = (state.active_leaf.get_untracked(), right) {
            state.dialog.set(Some(ChatDialog::Compare { left, right }));
        }
    };

    view! {
        <Show when=move || !path.with(Vec::is_empty)>
            <div class="branch-bar" role="toolbar" aria-label="This branch">
                <Show
                    when=move || renaming.get()
                    fallback=move || {
                        view! {
                            <span class="branch-name" class:unnamed=move || name().is_none()>
                                {move || name().unwrap_or_else(|| "Unnamed branch".into())}
                            </span>
                            <Show when=move || main_on_path().is_some()>
                                <span class="main-badge" title="The main branch">"★ main"</span>
                            </Show>
                            <button class="rename-branch" on:click=start_rename>
                                {move || if name().is_some() { "Rename" } else { "Name branch" }}
                            </button>
                        }
                    }
                >
                    <form
                        class="branch-name-form"
                        on:submit=move |ev| {
                            ev.prevent_default();
                            save_name();
                        }
                    >
                        <input
                            class="branch-name-input"
                            aria-label="Branch name"
                            maxlength=crate::domain::branches::MAX_BRANCH_NAME_CHARS.to_string()
                            placeholder="Name this branch (empty removes the name)"
                            prop:value=move || draft.get()
                            on:input=move |ev| draft.set(event_target_value(&ev))
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                if ev.key() == "Escape" {
                                    renaming.set(false);
                                }
                            }
                        />
                        <button type="submit" class="save-branch-name">"Save"</button>
                        <button type="button" on:click=move |_| renaming.set(false)>"Cancel"</button>
                    </form>
                </Show>
                <button
                    class="toggle-main"
                    aria-pressed=move || main_on_path().is_some().to_string()
                    on:click=toggle_main
                >
                    {move || if main_on_path().is_some() { "Unmark main" } else { "Mark as main" }}
                </button>
                <button class="fork-branch" title="Copy this branch into a new conversation" on:click={
                    let fork = fork.clone();
                    move |ev| fork(ev)
                }>
                    "Fork"
                </button>
                <button
                    class="replay-branch"
                    title="Ask this branch's messages again with another model, persona or parameters"
                    on:click=move |_| {
                        if let Some(leaf) = state.active_leaf.get_untracked() {
                            state.dialog.set(Some(ChatDialog::Replay(leaf)));
                        }
                    }
                >
                    "Replay…"
                </button>
                <Show when=move || !choices.with(Vec::is_empty)>
                    <span class="compare-picker">
                        <select
                            class="compare-with"
                            aria-label="Branch to compare with"
                            on:change=move |ev| compare_with.set(event_target_value(&ev))
                        >
                            {move || {
                                choices
                                    .get()
                                    .into_iter()
                                    .map(|(leaf, title)| {
                                        view! { <option value=leaf.to_string()>{title}</option> }
                                    })
                                    .collect_view()
                            }}
                        </select>
                        <button class="compare-branches" on:click=compare>"Compare"</button>
                    </span>
                </Show>
                <span class="branch-stats" data-testid="branch-stats">
                    {move || {
                        let s = stats.get();
                        let about = if s.estimated { "≈" } else { "" };
                        format!(
                            "{} messages · {about}{} in → {about}{} out tokens · {:.1} s generating",
                            s.messages,
                            s.tokens_in,
                            s.tokens_out,
                            s.generation_ms as f64 / 1000.0,
                        )
                    }}
                </span>
            </div>
        </Show>
    }
    .into_any()
}
