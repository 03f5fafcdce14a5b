//! Full-page errors: a conversation that does not exist, a malformed link,
//! an unknown page. Each sets the HTTP status when rendered on the server.

use crate::domain::errors::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

/// Shows an error in place of a page.
#[component]
pub fn ErrorPage(error: AppError) -> impl IntoView {
    set_status(error.status_code());
    let (heading, detail) = match &error {
        AppError::NotFound(what) => (
            "Not found".to_string(),
            format!("This {what} does not exist, or it was deleted."),
        ),
        AppError::BadRequest(reason) => ("This link is not valid".to_string(), reason.clone()),
        other => ("Something went wrong".to_string(), other.to_string()),
    };
    view! {
        <Title text=heading.clone()/>
        <section class="error-page" role="alert">
            <h1>{heading}</h1>
            <p>{detail}</p>
            <a href="/">"Back to your conversations"</a>
        </section>
    }
}

/// The page for any path the router does not know.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! { <ErrorPage error=AppError::NotFound("page".into())/> }
}

#[cfg(feature = "ssr")]
fn set_status(code: u16) {
    if let (Some(response), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(code),
    ) {
        response.set_status(status);
    }
}

#[cfg(not(feature = "ssr"))]
fn set_status(_code: u16) {}
