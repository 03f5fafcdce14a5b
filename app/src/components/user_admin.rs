//! The administrators' list of accounts and the form that creates one
//! (sign-up may be closed; this is how a team or family gets its accounts).

use crate::domain::accounts::{Account, MIN_PASSWORD_CHARS};
use crate::functions::accounts::{list_accounts, CreateAccount};
use leptos::prelude::*;

/// The "Users" section of the administration page.
#[component]
pub fn UserAdmin() -> impl IntoView {
    let create = ServerAction::<CreateAccount>::new();
    // Reloads after every account created.
    let accounts = Resource::new(move || create.version().get(), |_| list_accounts());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let is_admin = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateAccount {
            username: username.get_untracked(),
            password: password.get_untracked(),
            is_admin: is_admin.get_untracked(),
        });
    };
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_))) {
            username.set(String::new());
            password.set(String::new());
            is_admin.set(false);
        }
    });
    let outcome = move || {
        create.value().with(|v| match v {
            Some(Ok(account)) => view! {
                <p class="notice" role="status" data-testid="account-created">
                    {format!("Created the account `{}`.", account.username)}
                </p>
            }
            .into_any(),
            Some(Err(error)) => view! {
                <p class="error" role="alert">{error.to_string()}</p>
            }
            .into_any(),
            None => ().into_any(),
        })
    };
    view! {
        <section class="user-admin" aria-labelledby="users-heading">
            <h2 id="users-heading">"Users"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match accounts.await {
                        Ok(list) => view! { <AccountTable list/> }.into_any(),
                        Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <form class="create-account" aria-label="Create an account" on:submit=submit>
                <label>
                    "Username"
                    <input required maxlength="32" autocomplete="off" bind:value=username/>
                </label>
                <label>
                    "Password"
                    <input
                        type="password"
                        required
                        minlength=MIN_PASSWORD_CHARS.to_string()
                        autocomplete="new-password"
                        bind:value=password
                    />
                </label>
                <label class="inline">
                    <input type="checkbox" bind:checked=is_admin/>
                    "Administrator"
                </label>
                <button type="submit" disabled=move || create.pending().get()>"Create account"</button>
            </form>
            {outcome}
        </section>
    }
    .into_any()
}

#[component]
fn AccountTable(list: Vec<Account>) -> impl IntoView {
    view! {
        <table class="accounts" data-testid="accounts">
            <thead>
                <tr>
                    <th>"Username"</th>
                    <th>"Role"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|account| {
                        view! {
                            <tr>
                                <td>{account.username}</td>
                                <td>{if account.is_admin { "administrator" } else { "user" }}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
