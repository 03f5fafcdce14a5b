//! The foot of the sidebar: who is signed in, the administrators' link,
//! and signing out.

use crate::functions::accounts::{current_account, LogOut};
use leptos::form::ActionForm;
use leptos::prelude::*;

/// Loads `path` as a whole new page, so every part of the app starts
/// again as whoever is now signed in (browser only).
pub fn load_page(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        _ = window().location().assign(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// The signed-in account and a "Sign out" button.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let account = Resource::new(|| (), |_| current_account());
    let log_out = ServerAction::<LogOut>::new();
    Effect::new(move |_| {
        if matches!(log_out.value().get(), Some(Ok(()))) {
            load_page("/login");
        }
    });
    view! {
        <div class="account-menu">
            <Suspense>
                {move || Suspend::new(async move {
                    account
                        .await
                        .ok()
                        .flatten()
                        .map(|account| {
                            view! {
                                <span class="account-name" data-testid="account-name">
                                    {account.username}
                                </span>
                                {account
                                    .is_admin
                                    .then(|| view! { <a class="admin-link" href="/admin">"Administration"</a> })}
                            }
                        })
                })}
            </Suspense>
            <ActionForm action=log_out attr:class="sign-out">
                <button type="submit">"Sign out"</button>
            </ActionForm>
        </div>
    }
    .into_any()
}
