//! Who may reach which route. Pages need a signed-in user (or send the
//! browser to sign in), the administrators' pages and streams need an
//! administrator, `/metrics` an administrator or the scrapers' token.
//! Server functions, the conversation stream and the composer's plain form
//! posts check the caller themselves (and answer 401), since each also
//! checks ownership; a refused post keeps its text (see `forms.rs`).

use crate::accounts::{session_cookie::token_hash, Accounts};
use crate::http::error::ApiError;
use app::domain::backend::Caller;
use app::domain::errors::AppError;
use app::domain::forms::NEW_CONVERSATION_URL;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// What a path requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Static files and the server functions (which check for themselves).
    Open,
    /// The sign-in and sign-up pages: a signed-in user goes home instead.
    SignInPage,
    /// A page of the app.
    Page,
    /// An administrators' page.
    AdminPage,
    /// An administrators' endpoint (JSON or a stream).
    AdminApi,
    /// `/metrics`.
    Metrics,
}

/// Whether `path` is in the static bundle (`/pkg/`: the WASM, JS and CSS),
/// which needs no session and may be cached.
pub fn is_bundle(path: &str) -> bool {
    path.starts_with("/pkg/")
}

/// Whether `path` takes a composer's plain form post.
fn is_form_post(path: &str) -> bool {
    path == NEW_CONVERSATION_URL || (path.starts_with("/c/") && path.ends_with("/send"))
}

/// The rule for `path`.
pub fn rule(path: &str) -> Rule {
    let last_segment = path.rsplit('/').next().unwrap_or("");
    if path.starts_with("/api/admin/") {
        Rule::AdminApi
    } else if path.starts_with("/api/")
        || is_bundle(path)
        || last_segment.contains('.')
        || is_form_post(path)
    {
        Rule::Open
    } else if path == "/metrics" {
        Rule::Metrics
    } else if path == "/login" || path == "/signup" {
        Rule::SignInPage
    } else if path == "/admin" || path.starts_with("/admin/") {
        Rule::AdminPage
    } else {
        Rule::Page
    }
}

/// Where an anonymous visitor of `path_and_query` is sent to sign in.
pub fn sign_in_location(first_run: bool, path_and_query: &str) -> String {
    if first_run {
        return "/signup".into();
    }
    if path_and_query == "/" {
        return "/login".into();
    }
    let next: String = path_and_query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    format!("/login?next={next}")
}

fn json_error(error: AppError) -> Response {
    ApiError(error).into_response()
}

fn not_an_admin() -> AppError {
    AppError::Forbidden("Only an administrator of this Arbor can open this.".into())
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The middleware (after [`crate::http::caller::identify_caller`]).
pub async fn guard_routes(
    State(accounts): State<Arc<Accounts>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let rule = rule(path);
    let user = request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.user.clone());
    let signed_in = user.is_some();
    let is_admin = user.as_ref().is_some_and(|u| u.is_admin);
    match rule {
        Rule::Open => {}
        Rule::SignInPage if signed_in => return Redirect::to("/").into_response(),
        Rule::SignInPage => {}
        Rule::Page | Rule::AdminPage if !signed_in => {
            let first_run = match accounts.has_accounts().await {
                Ok(has) => !has,
                Err(error) => {
                    tracing::error!(%error, "cannot tell whether accounts exist");
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the database is unavailable",
                    )
                        .into_response();
                }
            };
            let here = request.uri().path_and_query().map_or(path, |p| p.as_str());
            return Redirect::to(&sign_in_location(first_run, here)).into_response();
        }
        Rule::Page => {}
        Rule::AdminPage if !is_admin => {
            return (StatusCode::FORBIDDEN, not_an_admin().to_string()).into_response()
        }
        Rule::AdminPage => {}
        Rule::AdminApi if !signed_in => {
            return json_error(AppError::Unauthorized("Sign in first.".into()))
        }
        Rule::AdminApi if !is_admin => return json_error(not_an_admin()),
        Rule::AdminApi => {}
        Rule::Metrics => {
            let token = &accounts.settings().metrics_token.0;
            let token_ok = !token.is_empty()
                && bearer_token(request.headers())
                    .is_some_and(|sent| token_hash(sent) == token_hash(token));
            if !(is_admin || token_ok) {
                return (
                    StatusCode::UNAUTHORIZED,
                    "metrics need an administrator's session or ARBOR_METRICS_TOKEN",
                )
                    .into_response();
            }
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_path_gets_its_rule() {
        assert_eq!(rule("/"), Rule::Page);
        assert_eq!(rule("/c/0190-abc"), Rule::Page);
        assert_eq!(rule("/login"), Rule::SignInPage);
        assert_eq!(rule("/signup"), Rule::SignInPage);
        assert_eq!(rule("/admin"), Rule::AdminPage);
        assert_eq!(rule("/api/admin/events"), Rule::AdminApi);
        assert_eq!(rule("/api/send_message"), Rule::Open);
        assert_eq!(rule("/pkg/arbor.wasm"), Rule::Open);
        assert_eq!(rule("/favicon.svg"), Rule::Open);
        assert_eq!(rule("/metrics"), Rule::Metrics);
        assert_eq!(rule("/c/0190-abc/send"), Rule::Open);
        assert_eq!(rule("/new"), Rule::Open);
    }

    #[test]
    fn visitors_are_sent_to_sign_in_and_back() {
        assert_eq!(sign_in_location(true, "/c/1"), "/signup");
        assert_eq!(sign_in_location(false, "/"), "/login");
        assert_eq!(
            sign_in_location(false, "/c/1?x=a b"),
            "/login?next=/c/1%3Fx%3Da%20b"
        );
    }
}
