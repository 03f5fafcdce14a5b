//! Session tokens and the cookie that carries them: a random 256-bit token
//! the browser keeps in an HttpOnly, SameSite=Lax cookie; the server keeps
//! only its SHA-256.

use app::domain::errors::AppError;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::time::Duration;

/// The cookie's name.
pub const COOKIE_NAME: &str = "arbor_session";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        _ = write!(out, "{b:02x}");
        out
    })
}

/// A new random token (64 hex digits).
pub fn new_token() -> Result<String, AppError> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(format!("no randomness for a session: {e}")))?;
    Ok(hex(&bytes))
}

/// What the database stores for `token`.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The `Set-Cookie` value that gives the browser `token` for `lifetime`.
pub fn session_cookie(token: &str, lifetime: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        lifetime.as_secs()
    )
}

/// The `Set-Cookie` value that makes the browser forget its token.
pub fn cleared_cookie(secure: bool) -> String {
    session_cookie("", Duration::ZERO, secure)
}

/// The session token in a request's `Cookie` headers, if any. Only a
/// well-formed token counts (64 hex digits), so junk never reaches SQL.
pub fn token_from_cookies<'a>(cookie_headers: impl Iterator<Item = &'a str>) -> Option<String> {
    cookie_headers
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_stored_hashed() {
        let a = new_token().expect("randomness");
        let b = new_token().expect("randomness");
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_over_tls() {
        let plain = session_cookie("abc", Duration::from_secs(60), false);
        assert_eq!(
            plain,
            "arbor_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        );
        assert!(session_cookie("abc", Duration::from_secs(60), true).ends_with("; Secure"));
        assert!(
            cleared_cookie(false).contains("arbor_session=; ")
                && cleared_cookie(false).contains("Max-Age=0")
        );
    }

    #[test]
    fn the_token_is_found_among_other_cookies_and_junk_is_ignored() {
        let token = "a".repeat(64);
        let header = format!("theme=dark; {COOKIE_NAME}={token}; other=1");
        assert_eq!(
            token_from_cookies([header.as_str()].into_iter()),
            Some(token)
        );
        assert_eq!(
            token_from_cookies(["arbor_session=' OR 1=1 --"].into_iter()),
            None
        );
        assert_eq!(token_from_cookies(["x=1", "y"].into_iter()), None);
    }
}
