//! Rate limits on signing in and on sending, per user and per client
//! address (keyed GCRA limiters from `governor`): each allows a burst of
//! its per-minute figure, then one more every 60/N seconds.

use crate::config::AccessSettings;
use app::domain::errors::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use uuid::Uuid;

/// Above this many remembered keys a limiter forgets the ones that are
/// back to a full allowance.
const FORGET_ABOVE: usize = 10_000;

/// The four limiters.
pub struct RateLimits {
    logins_per_user: DefaultKeyedRateLimiter<String>,
    logins_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    sends_per_user: DefaultKeyedRateLimiter<Uuid>,
    sends_per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

fn limiter<K: Hash + Eq + Clone>(per_minute: NonZeroU32) -> DefaultKeyedRateLimiter<K> {
    RateLimiter::keyed(Quota::per_minute(per_minute))
}

/// Counts one attempt for `key`; refused with how long to wait.
fn count<K: Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    what: &str,
) -> Result<(), AppError> {
    if limiter.len() > FORGET_ABOVE {
        limiter.retain_recent();
    }
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        AppError::TooManyRequests(format!(
            "Slow down: too many {what} in a short time. Try again in {seconds} s."
        ))
    })
}

impl RateLimits {
    pub fn new(settings: &AccessSettings) -> Self {
        RateLimits {
            logins_per_user: limiter(settings.logins_per_minute_per_user),
            logins_per_ip: limiter(settings.logins_per_minute_per_ip),
            sends_per_user: limiter(settings.sends_per_minute_per_user),
            sends_per_ip: limiter(settings.sends_per_minute_per_ip),
        }
    }

    /// One sign-in attempt (or sign-up, with no username to count).
    pub fn count_login(&self, ip: IpAddr, username: Option<&str>) -> Result<(), AppError> {
        count(&self.logins_per_ip, &ip, "sign-in attempts")?;
        match username {
            Some(name) => count(&self.logins_per_user, &name.to_string(), "sign-in attempts"),
            None => Ok(()),
        }
    }

    /// One message sent or reply asked for.
    pub fn count_send(&self, ip: IpAddr, user: Uuid) -> Result<(), AppError> {
        count(&self.sends_per_user, &user, "messages")?;
        count(&self.sends_per_ip, &ip, "messages")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(per_minute: u32) -> AccessSettings {
        let mut settings = AccessSettings::from_lookup(&|_| None).expect("defaults");
        let n = NonZeroU32::new(per_minute).expect("positive");
        settings.logins_per_minute_per_user = n;
        settings.logins_per_minute_per_ip = n.saturating_add(2);
        settings.sends_per_minute_per_user = n;
        settings.sends_per_minute_per_ip = n.saturating_add(2);
        settings
    }

    #[test]
    fn a_burst_past_the_limit_is_told_to_slow_down() {
        let limits = RateLimits::new(&settings(3));
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            limits
                .count_login(ip, Some("alice"))
                .expect("within the limit");
        }
        let refused = limits
            .count_login(ip, Some("alice"))
            .expect_err("over the limit");
        assert_eq!(refused.status_code(), 429);
        assert!(refused.to_string().starts_with("Slow down"), "{refused}");
        // Another username from the same address still has its own allowance...
        limits
            .count_login(ip, Some("bob"))
            .expect("bob is counted apart");
        // ...until the address itself is over its limit (3 + 2).
        assert!(limits.count_login(ip, Some("carol")).is_err());
    }

    #[test]
    fn sends_are_counted_per_user_and_per_address() {
        let limits = RateLimits::new(&settings(2));
        let ip: IpAddr = [10, 0, 0, 2].into();
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        limits.count_send(ip, alice).expect("1");
        limits.count_send(ip, alice).expect("2");
        assert!(limits.count_send(ip, alice).is_err());
        limits
            .count_send(ip, bob)
            .expect("bob has his own allowance");
    }
}
