//! Two branches side by side from where they part: row by row, with the
//! words only one side has marked (a word-level diff, which the server
//! computes: the texts show plain until it answers).

use crate::components::modal::Modal;
use crate::domain::branches::{branch_label, Comparison};
use crate::state::chat::{use_chat, ChatState};
use crate::text::word_diff::{DiffRun, DiffSide};
#[cfg(feature = "hydrate")]
use crate::{
    domain::errors::AppError,
    functions::branches::{word_diffs, MAX_DIFF_PAIRS},
};
use leptos::prelude::*;
use uuid::Uuid;

/// What to call the branch ending at `leaf`: its name, else its last words.
pub fn branch_title(state: &ChatState, leaf: Uuid) -> String {
    let path = state.tree.with_untracked(|t| t.path_to(leaf));
    let named = state
        .labels
        .with_untracked(|labels| branch_label(&path, labels).map(|l| l.name.clone()));
    named.unwrap_or_else(|| {
        let text = state
            .message(leaf)
            .filter(|m| m.loaded.get_untracked())
            .map(|m| m.content.get_untracked());
        match text {
            Some(text) => format!("“{}”", crate::text::preview::preview(&text, 40)),
            None => format!("A branch of {} messages", path.len()),
        }
    })
}

/// The word diffs of `pairs` (left, right message), asked of the server
/// [`MAX_DIFF_PAIRS`] at a time.
#[cfg(feature = "hydrate")]
async fn diffs_of(
    conversation: Uuid,
    pairs: Vec<(Uuid, Uuid)>,
) -> Result<Vec<Vec<DiffRun>>, AppError> {
    let mut diffs = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(MAX_DIFF_PAIRS) {
        let chunk = chunk
            .iter()
            .map(|(left, right)| (left.to_string(), right.to_string()))
            .collect();
        diffs.extend(word_diffs(conversation.to_string(), chunk).await?);
    }
    Ok(diffs)
}

/// The comparison dialog.
#[component]
pub fn CompareView(left: Uuid, right: Uuid) -> impl IntoView {
    let state = use_chat();
    let comparison = state
        .tree
        .with_untracked(|t| Comparison::of(t, left, right));
    let text_of = move |id: Option<Uuid>| {
        id.and_then(|id| state.message(id))
            .map(|m| (m.role, m.content.get_untracked()))
    };
    // A signal, not a resource: a resource would suspend the page's
    // `Suspense` around the dialog (and remount it, losing its focus).
    // Empty until the server answers.
    let diffs = RwSignal::new(Vec::<Vec<DiffRun>>::new());
    #[cfg(feature = "hydrate")]
    {
        // The rows with a message on both sides, whose words are compared.
        let paired: Vec<(Uuid, Uuid)> = (0..comparison.rows())
            .filter_map(|i| Some((*comparison.left.get(i)?, *comparison.right.get(i)?)))
            .collect();
        let conversation = state.conversation_id;
        leptos::task::spawn_local(async move {
            match diffs_of(conversation, paired).await {
                // The dialog may be closed by now; then nobody wants them.
                Ok(answer) => _ = diffs.try_set(answer),
                Err(err) => leptos::logging::warn!("no word diffs: {err}"),
            }
        });
    }
    let shared = comparison.shared.len();
    let rows = move || {
        let diffs = diffs.get();
        let mut paired_row = 0;
        (0..comparison.rows())
            .map(|i| {
                let l = text_of(comparison.left.get(i).copied());
                let r = text_of(comparison.right.get(i).copied());
                let (left_cell, right_cell, same) = match (l, r) {
                    (Some((lrole, ltext)), Some((rrole, rtext))) => {
                        // Until the server answers, each side is one run of its own.
                        let runs = diffs.get(paired_row).cloned().unwrap_or_else(|| {
                            vec![
                                DiffRun {
                                    side: DiffSide::Removed,
                                    text: ltext,
                                },
                                DiffRun {
                                    side: DiffSide::Added,
                                    text: rtext,
                                },
                            ]
                        });
                        paired_row += 1;
                        let same = runs.iter().all(|run| run.side == DiffSide::Both);
                        let side = |keep: DiffSide, role: crate::domain::model::Role| {
                            let pieces = runs
                                .iter()
                                .filter(|run| run.side == DiffSide::Both || run.side == keep)
                                .map(|run| match run.side {
                                    DiffSide::Both => {
                                        view! { <span>{run.text.clone()}</span> }.into_any()
                                    }
                                    DiffSide::Removed => {
                                        view! { <del class="diff-removed">{run.text.clone()}</del> }
                                            .into_any()
                                    }
                                    DiffSide::Added => {
                                        view! { <ins class="diff-added">{run.text.clone()}</ins> }
                                            .into_any()
                                    }
                                })
                                .collect_view();
                            view! {
                                <div class=format!("compare-cell {}", role.as_str())>
                                    <span class="role">{role.as_str()}</span>
                                    <p class="compare-text">{pieces}</p>
                                </div>
                            }
                            .into_any()
                        };
                        (
                            side(DiffSide::Removed, lrole),
                            side(DiffSide::Added, rrole),
                            same,
                        )
                    }
                    (l, r) => {
                        let cell = |entry: Option<(crate::domain::model::Role, String)>| match entry
                        {
                            Some((role, text)) => view! {
                                <div class=format!("compare-cell only {}", role.as_str())>
                                    <span class="role">{role.as_str()}</span>
                                    <p class="compare-text">{text}</p>
                                </div>
                            }
                            .into_any(),
                            None => view! { <div class="compare-cell empty"></div> }.into_any(),
                        };
                        (cell(l), cell(r), false)
                    }
                };
                view! {
                    <div class="compare-row" class:same=same>
                        {left_cell}
                        {right_cell}
                    </div>
                }
            })
            .collect_view()
    };
    let left_title = branch_title(&state, left);
    let right_title = branch_title(&state, right);
    view! {
        <Modal title="Compare branches" class="compare-dialog" on_close=move |()| state.dialog.set(None)>
            <p class="muted compare-shared">
                {match shared {
                    0 => "The branches share no messages.".to_string(),
                    1 => "Both branches start with the same message; they differ after it.".into(),
                    n => format!("Both branches share the first {n} messages; they differ after that."),
                }}
            </p>
            <div class="compare-row compare-heads">
                <h3 class="compare-left-title">{left_title}</h3>
                <h3 class="compare-right-title">{right_title}</h3>
            </div>
            <div class="compare-rows">{rows}</div>
        </Modal>
    }
    .into_any()
}
