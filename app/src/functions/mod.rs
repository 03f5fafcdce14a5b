//! Every `#[server]` function, grouped by resource. Each one parses its
//! arguments, asks the [`Backend`](crate::backend::Backend) and maps errors
//! to HTTP statuses in one place ([`run`]).

pub mod branches;
pub mod conversations;
pub mod messages;
pub mod operations;
pub mod search;

#[cfg(feature = "ssr")]
use crate::{
    backend::{CurrentUser, SharedBackend},
    errors::AppError,
};

/// Runs a server function body with the backend and the acting user, and
/// answers an error with its status code.
#[cfg(feature = "ssr")]
pub(crate) async fn run<T, F>(
    body: impl FnOnce(SharedBackend, uuid::Uuid) -> F,
) -> Result<T, AppError>
where
    F: std::future::Future<Output = Result<T, AppError>>,
{
    use leptos::prelude::use_context;
    let context = use_context::<SharedBackend>().zip(use_context::<CurrentUser>());
    let result = match context {
        Some((backend, user)) => body(backend, user.0).await,
        None => Err(AppError::Internal("the backend is not configured".into())),
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
