//! CSRF protection: a state-changing request (anything but GET, HEAD or
//! OPTIONS, server functions included) sent by a browser from another site
//! is refused with 403 before it reaches a handler.
//!
//! Browsers say where a request comes from: `Sec-Fetch-Site` (all current
//! browsers) or at least `Origin` (every browser on every POST). A request
//! with neither did not come from a browser page, so no cookie was lent to
//! a third party. This is the check Go's `net/http.CrossOriginProtection`
//! makes; together with the SameSite=Lax session cookie it leaves no
//! cross-site way to act as a signed-in user.

use crate::http::error::ApiError;
use app::domain::errors::AppError;
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether a browser sent this request from another site.
pub fn is_cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match text(header::ORIGIN.as_str()) {
        None => false,
        Some(origin) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
            Some(origin_host) != text(header::HOST.as_str())
        }
    }
}

/// The middleware.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    if is_cross_site(request.method(), request.headers()) {
        tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
        let error = AppError::Forbidden("Refused: this request came from another site.".into());
        return ApiError(error).into_response();
    }
    next.run(request).await
}

/// Headers from name and value pairs (for tests of the layers).
#[cfg(test)]
pub(crate) fn header_map(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, value.parse().expect("a header value"));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use header_map as headers;

    #[test]
    fn reads_are_never_refused() {
        let h = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(!is_cross_site(&Method::GET, &h));
        assert!(!is_cross_site(&Method::HEAD, &h));
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        for (site, refused) in [
            ("same-origin", false),
            ("none", false),
            ("same-site", true),
            ("cross-site", true),
        ] {
            let h = headers(&[("sec-fetch-site", site), ("host", "arbor.test")]);
            assert_eq!(is_cross_site(&Method::POST, &h), refused, "{site}");
        }
    }

    #[test]
    fn otherwise_the_origin_must_name_this_host() {
        let same = headers(&[
            ("origin", "http://arbor.test:3000"),
            ("host", "arbor.test:3000"),
        ]);
        assert!(!is_cross_site(&Method::POST, &same));
        let other = headers(&[
            ("origin", "https://evil.example"),
            ("host", "arbor.test:3000"),
        ]);
        assert!(is_cross_site(&Method::POST, &other));
        let null = headers(&[("origin", "null"), ("host", "arbor.test:3000")]);
        assert!(is_cross_site(&Method::DELETE, &null));
    }

    #[test]
    fn requests_without_browser_headers_are_not_cross_site() {
        assert!(!is_cross_site(
            &Method::POST,
            &headers(&[("host", "arbor.test")])
        ));
    }
}
