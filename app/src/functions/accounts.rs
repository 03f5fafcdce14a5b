//! Server functions on accounts: the first-run and sign-up state, signing
//! up, in and out, and the administrators' list of users. Signing in and up
//! take form-encoded arguments so their forms work before the page hydrates.

use crate::domain::accounts::{AccessState, Account};
use crate::domain::errors::AppError;
use leptos::prelude::*;
use server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::{
    domain::accounts::safe_next_path,
    domain::backend::SharedAccounts,
    functions::{caller, provided, run_admin, with_status},
};

/// Whether this Arbor has accounts yet, and whether anyone may sign up.
#[server(endpoint = "access_state", input = Json)]
pub async fn get_access_state() -> Result<AccessState, AppError> {
    with_status(
        async {
            provided::<SharedAccounts>("accounts backend")?
                .access_state()
                .await
        }
        .await,
    )
}

/// The signed-in account (none: nobody is signed in).
#[server(endpoint = "current_account", input = Json)]
pub async fn current_account() -> Result<Option<Account>, AppError> {
    with_status(caller().map(|caller| {
        caller.user.map(|user| Account {
            id: user.id,
            username: user.username,
            is_admin: user.is_admin,
            created_at: user.created_at,
        })
    }))
}

/// Creates an account and signs it in, then sends the browser to `next`.
#[server(endpoint = "sign_up")]
pub async fn sign_up(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<Account, AppError> {
    open_session(next, |accounts, caller| async move {
        accounts.sign_up(&caller, username, password).await
    })
    .await
}

/// Checks a username and password and opens a session, then sends the
/// browser to `next`.
#[server(endpoint = "log_in")]
pub async fn log_in(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<Account, AppError> {
    open_session(next, |accounts, caller| async move {
        accounts.log_in(&caller, username, password).await
    })
    .await
}

/// Runs a sign-up or sign-in `attempt`, then hands the browser its session
/// cookie and sends it to `next`.
#[cfg(feature = "ssr")]
async fn open_session<F>(
    next: Option<String>,
    attempt: impl FnOnce(SharedAccounts, crate::domain::backend::Caller) -> F,
) -> Result<Account, AppError>
where
    F: std::future::Future<Output = Result<crate::domain::backend::SignedIn, AppError>>,
{
    let result = async {
        let accounts = provided::<SharedAccounts>("accounts backend")?;
        let session = attempt(accounts, caller()?).await?;
        set_cookie(&session.set_cookie)?;
        leptos_axum::redirect(&safe_next_path(next.as_deref()));
        Ok(session.account)
    }
    .await;
    with_status(result)
}

#[cfg(feature = "ssr")]
fn set_cookie(value: &str) -> Result<(), AppError> {
    let response = provided::<leptos_axum::ResponseOptions>("response")?;
    let value = http::HeaderValue::from_str(value)
        .map_err(|_| AppError::Internal("the session cookie is not a valid header".into()))?;
    response.append_header(http::header::SET_COOKIE, value);
    Ok(())
}

/// Ends the session and clears its cookie.
#[server(endpoint = "log_out")]
pub async fn log_out() -> Result<(), AppError> {
    let result = async {
        let caller = caller()?;
        let cleared = provided::<SharedAccounts>("accounts backend")?
            .log_out(&caller)
            .await?;
        set_cookie(&cleared)?;
        leptos_axum::redirect("/login");
        Ok(())
    }
    .await;
    with_status(result)
}

/// Every account of this Arbor (administrators only).
#[server(endpoint = "list_accounts", input = Json)]
pub async fn list_accounts() -> Result<Vec<Account>, AppError> {
    run_admin(|admin| async move {
        provided::<SharedAccounts>("accounts backend")?
            .accounts(&admin)
            .await
    })
    .await
}

/// Creates an account for someone (administrators only).
#[server(endpoint = "create_account", input = Json)]
pub async fn create_account(
    username: String,
    password: String,
    is_admin: bool,
) -> Result<Account, AppError> {
    run_admin(|admin| async move {
        provided::<SharedAccounts>("accounts backend")?
            .create_account(&admin, username, password, is_admin)
            .await
    })
    .await
}
