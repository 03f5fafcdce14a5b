//! Every `#[server]` function, grouped by resource. Each one parses its
//! arguments, asks the [`Backend`](crate::domain::backend::Backend) and maps errors
//! to HTTP statuses in one place (`run`).

pub mod accounts;
pub mod branches;
pub mod conversations;
pub mod messages;
pub mod operations;
pub mod search;
pub mod transfer;

#[cfg(feature = "ssr")]
use crate::{
    domain::backend::{Caller, CurrentUser, SharedAccounts, SharedBackend},
    domain::errors::AppError,
};

/// Who sent the request being answered (set by the server's session layer).
#[cfg(feature = "ssr")]
pub(crate) fn caller() -> Result<Caller, AppError> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Caller>().cloned())
        .ok_or_else(|| AppError::Internal("the session layer is not installed".into()))
}

/// The signed-in user, or the error that asks the browser to sign in.
#[cfg(feature = "ssr")]
pub(crate) fn signed_in_user(caller: &Caller) -> Result<CurrentUser, AppError> {
    caller
        .user
        .clone()
        .ok_or_else(|| AppError::Unauthorized("Your session has ended: sign in again.".into()))
}

/// A context value the router provides.
#[cfg(feature = "ssr")]
pub(crate) fn provided<T: Clone + 'static>(what: &str) -> Result<T, AppError> {
    leptos::prelude::use_context::<T>()
        .ok_or_else(|| AppError::Internal(format!("the {what} is not configured")))
}

/// Runs a server function body with the backend and the signed-in user,
/// and answers an error with its status code.
#[cfg(feature = "ssr")]
pub(crate) async fn run<T, F>(
    body: impl FnOnce(SharedBackend, uuid::Uuid) -> F,
) -> Result<T, AppError>
where
    F: std::future::Future<Output = Result<T, AppError>>,
{
    let context = caller().and_then(|caller| {
        let user = signed_in_user(&caller)?;
        Ok((provided::<SharedBackend>("backend")?, user))
    });
    let result = match context {
        Ok((backend, user)) => body(backend, user.id).await,
        Err(error) => Err(error),
    };
    with_status(result)
}

/// Like `run` for a request that makes a model write (a message, a new
/// reply, a replay): counted against the sending rate limits first.
#[cfg(feature = "ssr")]
pub(crate) async fn run_sending<T, F>(
    body: impl FnOnce(SharedBackend, uuid::Uuid) -> F,
) -> Result<T, AppError>
where
    F: std::future::Future<Output = Result<T, AppError>>,
{
    let counted = caller().and_then(|caller| {
        let user = signed_in_user(&caller)?;
        provided::<SharedAccounts>("accounts backend")?.count_send(&caller, &user)
    });
    match counted {
        Ok(()) => run(body).await,
        Err(error) => with_status(Err(error)),
    }
}

/// Runs an administrators' server function body with the signed-in
/// administrator; anyone else is refused with 403.
#[cfg(feature = "ssr")]
pub(crate) async fn run_admin<T, F>(body: impl FnOnce(CurrentUser) -> F) -> Result<T, AppError>
where
    F: std::future::Future<Output = Result<T, AppError>>,
{
    let admin = caller().and_then(|caller| {
        let user = signed_in_user(&caller)?;
        if user.is_admin {
            Ok(user)
        } else {
            Err(AppError::Forbidden(
                "Only an administrator of this Arbor can do that.".into(),
            ))
        }
    });
    let result = match admin {
        Ok(admin) => body(admin).await,
        Err(error) => Err(error),
    };
    with_status(result)
}

/// Gives the response the status code of the error, if `result` is one.
#[cfg(feature = "ssr")]
pub(crate) fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    let response = leptos::prelude::use_context::<leptos_axum::ResponseOptions>();
    if let (Err(err), Some(response)) = (&result, response) {
        response.set_status(
            http::StatusCode::from_u16(err.status_code())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    result
}
