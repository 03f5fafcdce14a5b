//! The sign-in and sign-up pages (outside the app's layout). Their forms
//! post to the server functions directly, so they work before the page
//! hydrates; once signed in, the server's redirect takes the browser to the
//! page it came for (the router follows it; a plain form post gets a 302),
//! where the signed-in layout starts afresh.

use crate::domain::accounts::{safe_next_path, AccessState, Account, MIN_PASSWORD_CHARS};
use crate::domain::errors::AppError;
use crate::functions::accounts::{get_access_state, LogIn, SignUp};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Where to go once signed in (`?next=`, if it stays on this site).
fn next_path() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| safe_next_path(q.get("next").as_deref())))
}

/// The error of the last attempt, read out to screen readers.
#[component]
fn AttemptError(outcome: Signal<Option<Result<Account, AppError>>>) -> impl IntoView {
    move || {
        outcome.with(|o| match o {
            Some(Err(error)) => {
                view! { <p class="error" role="alert" data-testid="sign-in-error">{error.to_string()}</p> }
                    .into_any()
            }
            _ => ().into_any(),
        })
    }
}

/// Username and password inputs (a new password when signing up).
#[component]
fn CredentialFields(new_password: bool, next: Memo<String>) -> impl IntoView {
    view! {
        <input type="hidden" name="next" value=move || next.get()/>
        <label>
            "Username"
            <input
                name="username"
                autocomplete="username"
                required
                autocapitalize="none"
                spellcheck="false"
                maxlength="32"
            />
        </label>
        <label>
            "Password"
            <input
                type="password"
                name="password"
                required
                minlength=if new_password { MIN_PASSWORD_CHARS.to_string() } else { "1".into() }
                autocomplete=if new_password { "new-password" } else { "current-password" }
            />
        </label>
        {new_password
            .then(|| view! { <p class="hint">{format!("At least {MIN_PASSWORD_CHARS} characters.")}</p> })}
    }
    .into_any()
}

/// `/login`.
#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let next = next_path();
    let outcome = Signal::derive(move || action.value().get());
    let state = Resource::new(|| (), |_| get_access_state());
    let sign_up_link = move || {
        state
            .get()
            .and_then(Result::ok)
            .filter(|s| s.sign_up_open)
            .map(|_| {
                view! { <p>"No account yet? " <a href="/signup">"Create one"</a></p> }
            })
    };
    view! {
        <Title text="Arbor · Sign in"/>
        <main class="sign-in">
            <h1>"Sign in to Arbor"</h1>
            <ActionForm action attr:class="sign-in-form" attr:aria-label="Sign in">
                <CredentialFields new_password=false next/>
                <button type="submit" disabled=move || action.pending().get()>"Sign in"</button>
            </ActionForm>
            <AttemptError outcome/>
            <Suspense>{sign_up_link}</Suspense>
        </main>
    }
    .into_any()
}

/// What the sign-up page says above its form (or instead of it).
fn sign_up_notice(state: AccessState) -> impl IntoView {
    if state.first_run {
        view! {
            <p class="first-run" data-testid="first-run">
                "Welcome. This Arbor has no accounts yet: the account you create now "
                "will be its administrator, and it will own the conversations made "
                "before accounts existed."
            </p>
        }
        .into_any()
    } else if state.sign_up_open {
        ().into_any()
    } else {
        view! {
            <p class="error" role="alert" data-testid="sign-up-closed">
                {crate::domain::accounts::SIGN_UP_CLOSED}
            </p>
        }
        .into_any()
    }
}

/// `/signup` (the first-run page too).
#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let next = next_path();
    let outcome = Signal::derive(move || action.value().get());
    let state = Resource::new(|| (), |_| get_access_state());
    view! {
        <Title text="Arbor · Create an account"/>
        <main class="sign-in">
            <h1>"Create an account"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match state.await {
                        Ok(state) => {
                            view! {
                                {sign_up_notice(state)}
                                <Show when=move || state.sign_up_open>
                                    <ActionForm
                                        action
                                        attr:class="sign-in-form"
                                        attr:aria-label="Create an account"
                                    >
                                        <CredentialFields new_password=true next/>
                                        <button type="submit" disabled=move || action.pending().get()>
                                            "Create account"
                                        </button>
                                    </ActionForm>
                                </Show>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <AttemptError outcome/>
            <p>"Have an account? " <a href="/login">"Sign in"</a></p>
        </main>
    }
    .into_any()
}
