//! Security headers on every response: the Content-Security-Policy (pages
//! get one naming the nonce of their own scripts, see
//! [`page_policy`]), `X-Content-Type-Options`, `Referrer-Policy`, framing
//! refused, no caching of anything but the static files, and a year's
//! caching of the bundle's files named after their content.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of an HTML page. Scripts run only from this origin or with
/// the page's nonce (Leptos' hydration script), WebAssembly may compile,
/// styles come only from the style sheet (no inline `<style>` or `style=`),
/// images from here or `data:` (so a model's markdown cannot fetch a
/// tracking pixel), connections only back here, and no page may frame us.
pub fn page_policy(nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{nonce}; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy of every response that is not a page (it never changes).
static DEFAULT_POLICY: std::sync::LazyLock<Option<HeaderValue>> =
    std::sync::LazyLock::new(|| HeaderValue::from_str(&page_policy(None)).ok());

/// The middleware.
pub async fn add_security_headers(request: Request, next: Next) -> Response {
    let caching = caching_of(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Some(policy) = DEFAULT_POLICY.as_ref() {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
        }
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
    }
    response
}

/// The `Cache-Control` of a response to `path`.
fn caching_of(path: &str) -> &'static str {
    match () {
        _ if !crate::http::guard::is_bundle(path) => "no-store",
        _ if is_named_by_content(path) => "public, max-age=31536000, immutable",
        // The same name may hold a new build: ask each time (a 304 if not).
        _ => "no-cache",
    }
}

/// Whether a bundle file's name carries the hash of its content, as
/// cargo-leptos writes it with `hash-files`: `arbor.<22 base64url
/// characters>.wasm`. Such a file never changes under its name.
fn is_named_by_content(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[1].len() == 22
        && parts[1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_policy_allows_only_the_nonce_inline() {
        let policy = page_policy(Some("abc123"));
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval' 'nonce-abc123';"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!page_policy(None).contains("nonce"));
    }

    #[test]
    fn only_content_named_files_are_kept_for_a_year() {
        assert!(is_named_by_content(
            "/pkg/arbor.a1B2c3D4e5F6g7H8i9J0kL.wasm"
        ));
        assert!(is_named_by_content("/pkg/arbor.a1B2c3D4e5F6g7H8i9J0k_.js"));
        assert!(!is_named_by_content("/pkg/arbor.wasm"));
        assert!(!is_named_by_content("/pkg/arbor.css"));
        assert!(!is_named_by_content("/pkg/arbor.short.wasm"));
    }
}
