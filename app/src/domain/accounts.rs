//! Account rules shared by the sign-up forms and the server: what a
//! username and a password must be, and the account types both sides see.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Shortest accepted password (OWASP's minimum for single-factor sign-in).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password: long passphrases are welcome, but hashing an
/// unbounded input would let one request keep a core busy.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Shortest and longest usernames.
pub const MIN_USERNAME_CHARS: usize = 2;

/// What a visitor is told when only administrators create accounts.
pub const SIGN_UP_CLOSED: &str =
    "Sign-up is closed on this Arbor: ask an administrator for an account.";
pub const MAX_USERNAME_CHARS: usize = 32;

/// A user as the browser may see it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: Uuid,
    pub username: String,
    pub is_admin: bool,
    pub created_at: i64,
}

/// What the sign-in pages need to know before anyone is signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessState {
    /// No account exists yet: the next one created becomes the administrator.
    pub first_run: bool,
    /// Anyone may create an account (always true on the first run).
    pub sign_up_open: bool,
}

/// The username as stored (trimmed, lower case), or why it is refused.
pub fn normalize_username(text: &str) -> Result<String, String> {
    let name = text.trim().to_lowercase();
    let length = name.chars().count();
    if !(MIN_USERNAME_CHARS..=MAX_USERNAME_CHARS).contains(&length) {
        return Err(format!(
            "A username has {MIN_USERNAME_CHARS} to {MAX_USERNAME_CHARS} characters."
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("A username has only letters, digits, dots, dashes and underscores.".into());
    }
    Ok(name)
}

/// Why a new password is refused, if it is.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(format!(
            "A password has at least {MIN_PASSWORD_CHARS} characters."
        ));
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(format!(
            "A password has at most {MAX_PASSWORD_CHARS} characters."
        ));
    }
    Ok(())
}

/// Where to go after signing in: `next` if it is a path on this site,
/// otherwise the home page (so a link cannot send anyone elsewhere).
pub fn safe_next_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_username("  Alice.B-2 ").as_deref(),
            Ok("alice.b-2")
        );
    }

    #[test]
    fn usernames_with_spaces_symbols_or_bad_lengths_are_refused() {
        for bad in [
            "a",
            "",
            "with space",
            "semi;colon",
            "<script>",
            &"x".repeat(33),
        ] {
            assert!(normalize_username(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn passwords_need_eight_to_256_characters() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("eight ch").is_ok());
        assert!(check_new_password(&"p".repeat(256)).is_ok());
        assert!(check_new_password(&"p".repeat(257)).is_err());
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next_path(Some("/c/123")), "/c/123");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(safe_next_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next_path(None), "/");
    }
}
