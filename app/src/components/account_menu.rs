//! The foot of the sidebar: who is signed in, the administrators' link,
//! and signing out.

use crate::domain::transfer::BACKUP_URL;
use crate::functions::accounts::{current_account, LogOut};
use leptos::form::ActionForm;
use leptos::prelude::*;

/// The signed-in account and a "Sign out" button.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let account = Resource::new(|| (), |_| current_account());
    // The server sends the browser to /login (a redirect the router follows).
    let log_out = ServerAction::<LogOut>::new();
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
                                <a class="backup-link" href=BACKUP_URL download="">"Back up my conversations"</a>
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
