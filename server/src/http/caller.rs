//! The first layer every request passes: finds out who sent it (the
//! session cookie's user, the client address, whether TLS was used) and
//! records that as an [`app::domain::backend::Caller`] in the request's extensions,
//! where handlers and server functions read it.

use crate::accounts::{session_cookie, Accounts};
use crate::http::error::ApiError;
use app::domain::backend::{Caller, CurrentUser};
use app::domain::errors::AppError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The client's address: the peer, or behind a trusted proxy the last
/// address it appended to `X-Forwarded-For`.
fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy: bool) -> IpAddr {
    let forwarded = trust_proxy
        .then(|| headers.get_all("x-forwarded-for").iter().next_back())
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|list| list.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok());
    forwarded
        .or(peer.map(|p| p.ip()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn over_tls(headers: &HeaderMap, trust_proxy: bool) -> bool {
    trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The signed-in user a plain HTTP handler acts for (401 without one).
pub fn signed_in(caller: &Caller) -> Result<CurrentUser, ApiError> {
    caller
        .user
        .clone()
        .ok_or_else(|| ApiError(AppError::Unauthorized("Sign in first.".into())))
}

/// The middleware.
pub async fn identify_caller(
    State(accounts): State<Arc<Accounts>>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let trust_proxy = accounts.settings().trust_proxy;
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let session_token = session_cookie::token_from_cookies(
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    // Static files need no user (and cost no database read).
    let is_static = crate::http::guard::is_bundle(request.uri().path());
    let user = match &session_token {
        _ if is_static => None,
        None => None,
        Some(token) => match accounts.user_for_token(token).await {
            Ok(user) => user,
            Err(error) => {
                tracing::error!(%error, "cannot look up a session");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable",
                )
                    .into_response();
            }
        },
    };
    let caller = Caller {
        user,
        session_token,
        ip: client_ip(headers, peer, trust_proxy),
        over_tls: over_tls(headers, trust_proxy),
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::cross_origin::header_map as headers;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let peer: SocketAddr = "10.0.0.9:5000".parse().expect("an address");
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 5.6.7.8")]);
        assert_eq!(client_ip(&h, Some(peer), false), peer.ip());
        assert_eq!(
            client_ip(&h, Some(peer), true),
            "5.6.7.8".parse::<IpAddr>().expect("ip")
        );
        let junk = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(client_ip(&junk, Some(peer), true), peer.ip());
    }

    #[test]
    fn tls_is_believed_only_from_a_trusted_proxy() {
        let h = headers(&[("x-forwarded-proto", "https")]);
        assert!(over_tls(&h, true));
        assert!(!over_tls(&h, false));
        assert!(!over_tls(&headers(&[("x-forwarded-proto", "http")]), true));
    }
}
