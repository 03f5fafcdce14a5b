//! Settings for accounts, sessions and the limits that protect them, read
//! from environment variables (all optional).

use super::env::{env_value, parse, ConfigError};
use crate::secret::Secret;
use std::num::NonZeroU32;
use std::time::Duration;

/// How accounts, sessions and request limits behave.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessSettings {
    /// `ARBOR_SIGN_UP` = `open` | `closed` (default): whether anyone may
    /// create an account once the first (administrator) account exists.
    pub sign_up_open: bool,
    /// `ARBOR_SESSION_SECS`: how long a sign-in lasts (default 30 days).
    pub session_lifetime: Duration,
    /// `ARBOR_LOGINS_PER_MINUTE`: sign-in attempts per username (default 10).
    pub logins_per_minute_per_user: NonZeroU32,
    /// `ARBOR_LOGINS_PER_MINUTE_PER_IP`: sign-in and sign-up attempts per
    /// client address (default 30).
    pub logins_per_minute_per_ip: NonZeroU32,
    /// `ARBOR_SENDS_PER_MINUTE`: messages, regenerations and replays per
    /// user (default 30).
    pub sends_per_minute_per_user: NonZeroU32,
    /// `ARBOR_SENDS_PER_MINUTE_PER_IP`: the same per client address (default 120).
    pub sends_per_minute_per_ip: NonZeroU32,
    /// `ARBOR_MAX_REQUEST_BYTES`: largest request body (default 2 MiB).
    pub max_request_bytes: usize,
    /// `ARBOR_PASSWORD_HASHES_AT_ONCE`: password hashes computed at the same
    /// time (default: one per core); more requests wait their turn.
    pub password_hashes_at_once: usize,
    /// `ARBOR_TRUST_PROXY=true`: Arbor runs behind a reverse proxy, so the
    /// client address is the last `X-Forwarded-For` entry and
    /// `X-Forwarded-Proto: https` means the browser used TLS.
    pub trust_proxy: bool,
    /// `ARBOR_SECURE_COOKIES=true`: always mark the session cookie `Secure`
    /// (it is anyway when the request came over TLS).
    pub secure_cookies: bool,
    /// `ARBOR_METRICS_TOKEN`: lets a scraper read `/metrics` with
    /// `Authorization: Bearer <token>` (administrators' sessions always can).
    pub metrics_token: Secret,
}

impl AccessSettings {
    /// Reads the settings through `lookup` (name to value).
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let per_minute = |name: &'static str, default: u32| -> Result<NonZeroU32, ConfigError> {
            let value: u32 = parse(lookup, name, default)?;
            NonZeroU32::new(value).ok_or_else(|| ConfigError {
                name,
                value: value.to_string(),
                reason: "must be at least 1".into(),
            })
        };
        let sign_up = lookup("ARBOR_SIGN_UP").unwrap_or_default();
        let sign_up_open = match sign_up.trim() {
            "" | "closed" => false,
            "open" => true,
            _ => {
                return Err(ConfigError {
                    name: "ARBOR_SIGN_UP",
                    value: sign_up,
                    reason: "expected `open` or `closed`".into(),
                })
            }
        };
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(AccessSettings {
            sign_up_open,
            session_lifetime: Duration::from_secs(
                parse(lookup, "ARBOR_SESSION_SECS", 30 * 24 * 3600_u64)?.max(1),
            ),
            logins_per_minute_per_user: per_minute("ARBOR_LOGINS_PER_MINUTE", 10)?,
            logins_per_minute_per_ip: per_minute("ARBOR_LOGINS_PER_MINUTE_PER_IP", 30)?,
            sends_per_minute_per_user: per_minute("ARBOR_SENDS_PER_MINUTE", 30)?,
            sends_per_minute_per_ip: per_minute("ARBOR_SENDS_PER_MINUTE_PER_IP", 120)?,
            max_request_bytes: parse(lookup, "ARBOR_MAX_REQUEST_BYTES", 2 * 1024 * 1024)?,
            password_hashes_at_once: parse(lookup, "ARBOR_PASSWORD_HASHES_AT_ONCE", cores)?.max(1),
            trust_proxy: parse(lookup, "ARBOR_TRUST_PROXY", false)?,
            secure_cookies: parse(lookup, "ARBOR_SECURE_COOKIES", false)?,
            metrics_token: Secret(env_value(lookup, "ARBOR_METRICS_TOKEN").unwrap_or_default()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<AccessSettings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AccessSettings::from_lookup(&|name| vars.get(name).cloned())
    }

    #[test]
    fn sign_up_is_closed_and_limits_are_on_by_default() {
        let access = settings(&[]).expect("defaults are valid");
        assert!(!access.sign_up_open);
        assert_eq!(access.session_lifetime, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(access.logins_per_minute_per_user.get(), 10);
        assert_eq!(access.max_request_bytes, 2 * 1024 * 1024);
        assert!(access.metrics_token.0.is_empty());
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = settings(&[("ARBOR_SIGN_UP", "maybe")]).expect_err("invalid");
        assert_eq!(err.name, "ARBOR_SIGN_UP");
        let err = settings(&[("ARBOR_SENDS_PER_MINUTE", "0")]).expect_err("invalid");
        assert_eq!(err.name, "ARBOR_SENDS_PER_MINUTE");
        assert!(
            settings(&[("ARBOR_SIGN_UP", "open")])
                .expect("valid")
                .sign_up_open
        );
    }

    #[test]
    fn the_metrics_token_is_never_printed() {
        let access = settings(&[("ARBOR_METRICS_TOKEN", "s3cret-token")]).expect("valid");
        assert!(!format!("{access:?}").contains("s3cret-token"));
    }
}
