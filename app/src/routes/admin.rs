//! The administrators' page: live figures of the server (from
//! `/api/admin/events`, a snapshot every half second), a form that
//! starts N test conversations on the offline model and broadcasts a
//! message to them, with the broadcast's progress, and the users.
//! The server lets only administrators in.

use crate::components::user_admin::UserAdmin;
use crate::domain::operations::{BroadcastProgress, DashboardSnapshot, MAX_TEST_CONVERSATIONS};
use crate::functions::operations::start_test_broadcast;
use crate::state::conversation_list::use_conversation_list;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;

/// The dashboard page.
#[component]
pub fn AdminPage() -> impl IntoView {
    let snapshot = RwSignal::new(None::<DashboardSnapshot>);
    let connected = RwSignal::new(false);
    follow_snapshots(snapshot, connected);
    // The sidebar lists the test conversations once a broadcast finishes.
    let list = use_conversation_list();
    let finished = Memo::new(move |_| {
        snapshot.with(|s| {
            s.as_ref()
                .and_then(|s| s.broadcast.as_ref())
                .is_some_and(|b| b.finished)
        })
    });
    Effect::new(move |_| {
        if finished.get() {
            list.refresh();
        }
    });
    view! {
        <Title text="Arbor · Operations"/>
        <section class="admin" data-testid="admin">
            <h1>"Operations"</h1>
            <p class="admin-connection" data-testid="admin-connection">
                {move || if connected.get() { "live" } else { "connecting…" }}
            </p>
            <Figures snapshot/>
            <BroadcastForm/>
            <Progress snapshot/>
            <ConversationTable snapshot/>
            <UserAdmin/>
            <section class="instance-backup">
                <h2>"Backup"</h2>
                <p>
                    <a class="instance-backup-link" href=crate::domain::transfer::INSTANCE_BACKUP_URL download="">
                        "Download every conversation of every user"
                    </a>
                    " (an Arbor archive; each conversation names its owner)."
                </p>
            </section>
        </section>
    }
    .into_any()
}

/// Keeps `snapshot` current from the server's event stream (browser only).
fn follow_snapshots(snapshot: RwSignal<Option<DashboardSnapshot>>, connected: RwSignal<bool>) {
    #[cfg(feature = "hydrate")]
    {
        use futures::future::{AbortHandle, Abortable};
        use futures::StreamExt;
        use gloo_net::eventsource::futures::EventSource;
        let (abort, registration) = AbortHandle::new_pair();
        spawn_local(async move {
            let listen = async move {
                let Ok(mut source) = EventSource::new("/api/admin/events") else {
                    return;
                };
                let Ok(mut events) = source.subscribe(crate::domain::operations::SNAPSHOT_EVENT)
                else {
                    return;
                };
                while let Some(item) = events.next().await {
                    let Ok((_, message)) = item else {
                        connected.set(false);
                        continue; // the browser reconnects by itself
                    };
                    let data = message.data().as_string().unwrap_or_default();
                    match serde_json::from_str::<DashboardSnapshot>(&data) {
                        Ok(next) => {
                            connected.set(true);
                            snapshot.set(Some(next));
                        }
                        Err(err) => leptos::logging::warn!("ignoring malformed snapshot: {err}"),
                    }
                }
                drop(source);
            };
            _ = Abortable::new(listen, registration).await;
        });
        on_cleanup(move || abort.abort());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (snapshot, connected);
}

#[component]
fn Figures(snapshot: RwSignal<Option<DashboardSnapshot>>) -> impl IntoView {
    let figure = move |pick: fn(&DashboardSnapshot) -> String| {
        move || snapshot.with(|s| s.as_ref().map(pick).unwrap_or_else(|| "–".into()))
    };
    view! {
        <dl class="admin-figures">
            <div>
                <dt>"Active conversations"</dt>
                <dd data-testid="active-conversations">
                    {figure(|s| s.active_conversations.to_string())}
                </dd>
            </div>
            <div>
                <dt>"Running generations"</dt>
                <dd data-testid="running-generations">
                    {figure(|s| s.running_generations.to_string())}
                </dd>
            </div>
            <div>
                <dt>"Tokens per second"</dt>
                <dd data-testid="tokens-per-second">
                    // Rounding a tiny or negative-zero rate must not print "-0".
                    {figure(|s| format!("{:.0}", s.tokens_per_second.max(0.0) + 0.0))}
                </dd>
            </div>
        </dl>
    }
    .into_any()
}

#[component]
fn BroadcastForm() -> impl IntoView {
    let count = RwSignal::new("100".to_string());
    let text = RwSignal::new("Hello from the operations dashboard".to_string());
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(n) = count.get_untracked().trim().parse::<u32>() else {
            error.set(Some(format!(
                "the number of conversations must be a whole number from 1 to {MAX_TEST_CONVERSATIONS}"
            )));
            return;
        };
        error.set(None);
        pending.set(true);
        let message = text.get_untracked();
        spawn_local(async move {
            if let Err(err) = start_test_broadcast(n, message).await {
                error.set(Some(err.to_string()));
            }
            pending.set(false);
        });
    };
    view! {
        <form class="admin-broadcast" on:submit=submit>
            <h2>"Test broadcast"</h2>
            <label>
                "Conversations (offline model)"
                <input
                    type="number"
                    min="1"
                    max=MAX_TEST_CONVERSATIONS
                    data-testid="broadcast-count"
                    prop:value=move || count.get()
                    on:input=move |ev| count.set(event_target_value(&ev))
                />
            </label>
            <label>
                "Message"
                <input
                    type="text"
                    data-testid="broadcast-text"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                />
            </label>
            <button type="submit" data-testid="broadcast-start" disabled=move || pending.get()>
                "Start and broadcast"
            </button>
            {move || {
                error
                    .get()
                    .map(|e| view! { <p class="error" role="alert" data-testid="broadcast-error">{e}</p> })
            }}
        </form>
    }
    .into_any()
}

#[component]
fn Progress(snapshot: RwSignal<Option<DashboardSnapshot>>) -> impl IntoView {
    let progress = move || snapshot.with(|s| s.as_ref().and_then(|s| s.broadcast.clone()));
    move || {
        {
            progress().map(|p: BroadcastProgress| {
                let done = p.completed + p.failed;
                let state = match (&p.error, p.finished) {
                    (Some(error), _) => format!("stopped: {error}"),
                    (None, true) => "finished".to_string(),
                    (None, false) if p.started < p.total => "starting conversations".to_string(),
                    (None, false) => "waiting for replies".to_string(),
                };
                view! {
                    <div class="admin-progress" data-testid="broadcast-progress">
                        <progress max=p.total value=done></progress>
                        <p>
                            <span data-testid="broadcast-state">{state}</span>
                            " · started "
                            <span data-testid="broadcast-started">{p.started}</span>
                            " · complete "
                            <span data-testid="broadcast-completed">{p.completed}</span>
                            " · failed "
                            <span data-testid="broadcast-failed">{p.failed}</span>
                            " of "
                            <span data-testid="broadcast-total">{p.total}</span>
                            {format!(" · {:.1} s", p.elapsed_ms as f64 / 1000.0)}
                        </p>
                    </div>
                }
            })
        }
        .into_any()
    }
}

#[component]
fn ConversationTable(snapshot: RwSignal<Option<DashboardSnapshot>>) -> impl IntoView {
    let rows = move || {
        snapshot.with(|s| {
            s.as_ref()
                .map(|s| s.conversations.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <table class="admin-conversations" data-testid="admin-conversations">
            <thead>
                <tr>
                    <th>"Conversation"</th>
                    <th>"Status"</th>
                    <th>"Messages"</th>
                    <th>"Tokens/s"</th>
                </tr>
            </thead>
            // Every figure of a row changes with each snapshot: rows are
            // drawn anew (at most MAX_LISTED_CONVERSATIONS of them).
            <tbody>
                {move || {
                    rows()
                        .into_iter()
                        .map(|c| {
                            view! {
                                <tr data-testid="admin-conversation">
                                    <td>
                                        <a href=format!("/c/{}", c.id)>{c.id.to_string()}</a>
                                    </td>
                                    <td data-testid="conversation-status">
                                        {if c.running > 0 {
                                            format!("busy ({})", c.running)
                                        } else {
                                            "idle".to_string()
                                        }}
                                    </td>
                                    <td>{c.messages}</td>
                                    <td data-testid="conversation-tokens-per-second">
                                        {format!("{:.0}", c.tokens_per_second)}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()
                }}
            </tbody>
        </table>
    }
    .into_any()
}
